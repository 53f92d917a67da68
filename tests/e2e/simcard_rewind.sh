#!/bin/bash
# Rewinds on the simulated card: the WAV shows exactly what was heard.
# A rewind to MARGIN frames past the play position, on a card that fetches
# PREFETCH frames ahead, loses max(0, PREFETCH - MARGIN) frames of the
# rewritten audio; everything else is bit-exact. The event log agrees.
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/tests/simrewind"

check() {
	local margin=$1 prefetch=$2 out=$T/rw-$1-$2.wav line
	"$BUILD/tests/simrewind" "$(card "OUT=$out,PREFETCH=$prefetch")" \
		"$out" "$margin" "$prefetch" || fail "margin $margin, prefetch $prefetch"
	line=$(grep '^rewind' "$out.events") || fail "no rewind event logged"
	assert_near "$(kv late "$line")" \
		"$(( prefetch > margin ? prefetch - margin : 0 ))" 48 "logged late frames"
}

check 0 0
check 100 0
check 0 128
check 64 128
check 200 128
check 1000 4096

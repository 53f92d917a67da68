#!/bin/bash
# Smallest safe rewind margin over the card's own bit-exact loopback.
#   PREFETCH=128: margins below 128 lose 128 - m frames; the lead is found
#   within 112..160 frames, the safe margin within 128..192, and the
#   safeguard covers it. PREFETCH=0: safe at the first grid step or two.
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/lull-ptrtest"
need_cmd python3

# pt NAME ARGS...: lull-ptrtest --json ARGS; the report is kept in $T/NAME.json
pt() {
	local name=$1 rc=0
	shift
	"$BUILD/lull-ptrtest" --json "$@" >"$T/$name.json" 2>"$T/$name.err" || rc=$?
	[ "$rc" = 0 ] || fail "lull-ptrtest $* exited $rc: $(cat "$T/$name.err")"
	note "$name: $(j "$name" playback.verdict.watermark_ms) ms watermark," \
	     "$(j "$name" playback.verdict.safeguard_frames) frames safeguard"
}

# j NAME PATH: one value of report NAME, e.g. j g64 playback.granularity.frames
j() {
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' \
		"$T/$1.json" "$2"
}

# finding NAME KEY: the verdict of report NAME lists KEY (reason or note)
finding() {
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))["playback"]["verdict"]
sys.exit(0 if sys.argv[2] in [f["key"] for f in v["reasons"] + v["notes"]] else 1)' \
		"$T/$1.json" "$2"
}

loop=pt$$
pt pf128 -d 1 --loopback "lullsim:CAPTURE=loop,LOOP=$loop" "lullsim:LOOP=$loop,PREFETCH=128"
assert_eq "$(j pf128 playback.loopback.exact)" true "frame-exact markers"
assert_between "$(j pf128 playback.loopback.lead_frames)" 112 160 "PREFETCH=128 lead"
assert_between "$(j pf128 playback.loopback.safe_margin_frames)" 128 192 "PREFETCH=128 safe margin"
assert_between "$(j pf128 playback.loopback.trials.0.lost)" 120 160 "PREFETCH=128 loss at margin 0"
assert_ge "$(j pf128 playback.verdict.safeguard_frames)" 176 "safeguard over prefetch"
finding pf128 prefetch || fail "PREFETCH not noted"

pt pf0 -d 1 --loopback "lullsim:CAPTURE=loop,LOOP=$loop" "lullsim:LOOP=$loop"
assert_le "$(j pf0 playback.loopback.safe_margin_frames)" 32 "no prefetch: safe margin"
assert_le "$(j pf0 playback.loopback.lead_frames)" 8 "no prefetch: lead"
assert_le "$(j pf0 playback.verdict.safeguard_ms)" 2 "no prefetch: safeguard"

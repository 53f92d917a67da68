#!/bin/bash
# Bogus pointer reads and stalls.
#   JUMP=250: every 250 ms one read is two buffers ahead; most of them are
#   seen (some are absorbed inside alsa-lib), and the card is not fit.
#   STALL=50,STALL_EVERY=400: the pointer freezes 50 ms every 400 ms: about
#   4 stalls of 30..55 ms, and the watermark covers them (> 2 x 50 ms).
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/lull-ptrtest"
need_cmd python3

# pt NAME ARGS...: lull-ptrtest --json ARGS; the report is kept in
# $T/NAME.json and, flattened to "path=value" lines, in $T/NAME.kv
# (python3 starts slowly here: once per report, not once per value)
pt() {
	local name=$1 rc=0
	shift
	"$BUILD/lull-ptrtest" --json "$@" >"$T/$name.json" 2>"$T/$name.err" || rc=$?
	[ "$rc" = 0 ] || fail "lull-ptrtest $* exited $rc: $(cat "$T/$name.err")"
	python3 -c 'import json, sys
def walk(p, v):
    if isinstance(v, dict):
        for k in v:
            walk(p + [k], v[k])
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(p + [str(i)], x)
    else:
        print(".".join(p) + "=" + ("null" if v is None else
              str(v).lower() if isinstance(v, bool) else str(v)))
walk([], json.load(open(sys.argv[1])))' "$T/$name.json" >"$T/$name.kv" ||
		fail "$name: the JSON report does not parse"
	note "$name: $(j "$name" playback.verdict.watermark_ms) ms watermark," \
	     "$(j "$name" playback.verdict.safeguard_frames) frames safeguard"
}

# j NAME PATH: one value of report NAME, e.g. j g64 playback.granularity.frames
j() {
	awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2);
		found = 1; exit } END { exit !found }' "$T/$1.kv" ||
		fail "$1: no $2 in the report"
}

# finding NAME KEY: the verdict of report NAME lists KEY (reason or note)
finding() {
	grep -Eq "^playback\.verdict\.(reasons|notes)\.[0-9]+\.key=$2\$" "$T/$1.kv"
}

pt jump -d 2 lullsim:JUMP=250
jumps=$(( $(j jump playback.pointer.jumps) + $(j jump playback.pointer.delay_jumps) ))
assert_ge "$jumps" 2 "JUMP=250 bogus reads"
assert_ge "$(j jump playback.pointer.jump_max_frames)" 96000 "jump size"
assert_eq "$(j jump playback.verdict.timer_fit)" false "timer fit with jumps"
finding jump jumps || fail "JUMP not a reason"
assert_le "$(j jump playback.jitter.max_us)" 50 "jumps left out of the jitter"

pt stall -d 2 lullsim:STALL=50,STALL_EVERY=400
assert_between "$(j stall playback.pointer.stalls)" 2 5 "STALL count"
assert_between "$(j stall playback.pointer.stall_max_ms)" 30 55 "STALL length"
assert_ge "$(j stall playback.verdict.watermark_ms)" 64 "watermark over stalls"
assert_eq "$(j stall playback.verdict.timer_fit)" true "timer fit with short stalls"
finding stall stalls || fail "STALL not noted"

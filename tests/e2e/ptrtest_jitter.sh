#!/bin/bash
# A jittery pointer: JITTER=500 us is found within 300..800 us. The card's
# pointer never goes backwards, which hides part of the early side of the
# band, so the figure is the band actually seen (measured 480..630 us).
# JITTER=10000 raises the watermark above the 10 ms floor (its p99 alone,
# measured 2.2..2.7 ms, puts it at 13 ms or more).
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

pt j500 -d 2 lullsim:JITTER=500
assert_between "$(j j500 playback.jitter.max_us)" 300 800 "JITTER=500"
assert_eq "$(j j500 playback.granularity.frames)" 1 "granularity with jitter"
assert_between "$(j j500 playback.clock.drift_ppm)" -40 40 "drift with jitter"
assert_eq "$(j j500 playback.pointer.stalls)" 0 "stalls with jitter"
assert_eq "$(j j500 playback.verdict.timer_fit)" true "timer fit with jitter"

pt j10k -d 2 lullsim:JITTER=10000
assert_ge "$(j j10k playback.jitter.max_us)" 1500 "JITTER=10000"
assert_ge "$(j j10k playback.verdict.watermark_ms)" 12 "watermark raised"
assert_ge "$(j j10k playback.verdict.safeguard_frames)" 200 "safeguard raised"
assert_eq "$(j j10k playback.verdict.timer_fit)" true "timer fit with jitter"
finding j10k jitter || fail "JITTER=10000 not noted"

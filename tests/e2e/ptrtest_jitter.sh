#!/bin/bash
# A jittery pointer: JITTER=500 us is found within 300..800 us. The card's
# pointer never goes backwards, which hides part of the early side of the
# band, so the figure is the band actually seen (measured 480..630 us).
# JITTER=5000 raises the watermark above the 10 ms floor.
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

pt j500 -d 2 lullsim:JITTER=500
assert_between "$(j j500 playback.jitter.max_us)" 300 800 "JITTER=500"
assert_eq "$(j j500 playback.granularity.frames)" 1 "granularity with jitter"
assert_between "$(j j500 playback.clock.drift_ppm)" -40 40 "drift with jitter"
assert_eq "$(j j500 playback.pointer.stalls)" 0 "stalls with jitter"
assert_eq "$(j j500 playback.verdict.timer_fit)" true "timer fit with jitter"

pt j5000 -d 2 lullsim:JITTER=5000
assert_ge "$(j j5000 playback.jitter.max_us)" 1500 "JITTER=5000"
assert_ge "$(j j5000 playback.verdict.watermark_ms)" 14 "watermark raised"
assert_ge "$(j j5000 playback.verdict.safeguard_frames)" 200 "safeguard raised"
finding j5000 jitter || fail "JITTER=5000 not noted"

#!/bin/bash
# lull-ptrtest against a perfect simulated card, then with clock drift
# (and a FIFO): the figures it finds are the ones injected.
#   exact: granularity 1, no jitter (< 50 us), |drift| < 20 ppm, consistent
#          rewinds and stress, fit for timer scheduling, watermark 10 ms and
#          a small safeguard (<= 2 ms).
#   DRIFT=+300 / -500 ppm: found within 20 ppm.
#   FIFO=256: delay - (appl - hw) = 256 +- 4 frames.
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

pt exact -d 2 --stress 1 lullsim
assert_eq "$(j exact playback.granularity.frames)" 1 "granularity"
assert_le "$(j exact playback.jitter.max_us)" 50 "jitter"
assert_between "$(j exact playback.clock.drift_ppm)" -20 20 "drift"
assert_eq "$(j exact playback.pointer.backward)" 0 "backward moves"
assert_eq "$(j exact playback.pointer.jumps)" 0 "jumps"
assert_eq "$(j exact playback.pointer.stalls)" 0 "stalls"
assert_between "$(j exact playback.delay.extra_frames)" 0 0 "extra delay"
assert_ge "$(j exact playback.rewind.pairs)" 4 "rewind pairs"
assert_eq "$(j exact playback.rewind.short_returns)" 0 "short rewinds"
assert_eq "$(j exact playback.rewind.delay_mismatches)" 0 "rewind delay"
assert_eq "$(j exact playback.rewind.forward_not_restored)" 0 "forward restore"
assert_ge "$(j exact playback.stress.rewinds)" 100 "stress rewinds"
assert_eq "$(j exact playback.stress.inconsistencies)" 0 "stress inconsistencies"
assert_eq "$(j exact playback.verdict.timer_fit)" true "timer fit"
assert_eq "$(j exact playback.verdict.rewind_fit)" true "rewind fit"
assert_between "$(j exact playback.verdict.watermark_ms)" 10 10 "watermark"
assert_le "$(j exact playback.verdict.safeguard_ms)" 2 "safeguard"

pt up -d 2 lullsim:DRIFT=300,FIFO=256
assert_between "$(j up playback.clock.drift_ppm)" 280 320 "DRIFT=300"
assert_between "$(j up playback.delay.extra_frames)" 252 260 "FIFO=256"
assert_le "$(j up playback.jitter.max_us)" 50 "jitter with a FIFO"
pt down -d 2 lullsim:DRIFT=-500
assert_between "$(j down playback.clock.drift_ppm)" -520 -480 "DRIFT=-500"
assert_eq "$(j down playback.verdict.timer_fit)" true "timer fit with drift"

# the text report says the same
"$BUILD/lull-ptrtest" -d 1 lullsim >"$T/exact.txt"
assert_grep 'timer scheduling: FIT' "$T/exact.txt"
assert_grep 'granularity +1 frames' "$T/exact.txt"

#!/bin/bash
# Coarse pointers: GRANULARITY=64, 512 and one period (20 ms = 960 frames)
# are found exactly, with ~0 jitter (< 50 us: the jitter is measured on the
# edges, so a coarse but exact pointer is not called jittery); the
# watermark covers a granule.
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

pt g64 -d 2 lullsim:GRANULARITY=64
assert_eq "$(j g64 playback.granularity.frames)" 64 "GRANULARITY=64"
assert_eq "$(j g64 playback.granularity.quantum)" 64 "quantum 64"
assert_le "$(j g64 playback.jitter.max_us)" 50 "jitter at 64"
assert_between "$(j g64 playback.clock.drift_ppm)" -30 30 "drift at 64"
assert_eq "$(j g64 playback.verdict.timer_fit)" true "timer fit at 64"
finding g64 granular || fail "GRANULARITY=64 not noted"

pt g512 -d 2 lullsim:GRANULARITY=512
assert_eq "$(j g512 playback.granularity.frames)" 512 "GRANULARITY=512"
assert_le "$(j g512 playback.jitter.max_us)" 50 "jitter at 512"
# 2 * 10.7 ms + 4 ms
assert_ge "$(j g512 playback.verdict.watermark_ms)" 25 "watermark at 512"
assert_ge "$(j g512 playback.verdict.safeguard_frames)" 575 "safeguard at 512"

pt period -d 2 --period-ms 20 lullsim:GRANULARITY=period
per=$(j period playback.config.period_frames)
assert_eq "$(j period playback.granularity.frames)" "$per" "GRANULARITY=period"
assert_le "$(j period playback.jitter.max_us)" 50 "jitter at a period"
assert_eq "$(j period playback.pointer.stalls)" 0 "a period is not a stall"
assert_ge "$(j period playback.verdict.watermark_ms)" 44 "watermark at a period"

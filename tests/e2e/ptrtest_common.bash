# What the ptrtest_*.sh tests share; source it after lib.sh. It runs
# lull-ptrtest with --json and reads the report's values.
# shellcheck shell=bash

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

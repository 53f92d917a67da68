#!/bin/bash
# lull-ptrtest's command line: --help, bad options and values (exit 2 with
# a message), an unknown PCM (exit 1, one message with the cause), and a
# smoke run against ALSA's null PCM whose JSON must parse.
. "$(dirname "$0")/lib.sh"
need_file "$BUILD/lull-ptrtest"
need_cmd python3
PT=$BUILD/lull-ptrtest

"$PT" --help >"$T/help" || fail "--help exited $?"
assert_grep '^Usage: lull-ptrtest' "$T/help"
assert_grep 'loopback PCM' "$T/help"

# usage_error ARGS...: exit status 2 and a one-line message naming the tool
usage_error() {
	local rc=0
	"$PT" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || fail "'$*' exited $rc, expected 2"
	assert_grep '^lull-ptrtest: ' "$T/err" "'$*' gave no message"
	[ ! -s "$T/out" ] || fail "'$*' printed a report"
}
usage_error --bogus
usage_error -d
usage_error --duration abc
usage_error --duration 0
usage_error --rate 48k
usage_error --channels 0
usage_error --format S8
usage_error --interval-us -5
usage_error --capture-only --loopback null null
usage_error null extra

rc=0
"$PT" -d 0.2 lullsim_no_such_pcm >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "unknown PCM exit status"
assert_eq "$(wc -l <"$T/err")" 1 "error lines for an unknown PCM"
assert_grep '^lull-ptrtest: lullsim_no_such_pcm \(playback\): cannot open: ' "$T/err"

# ALSA's null PCM: its pointer only moves when written, so no verdict is
# checked, only that a run completes and the JSON is whole.
"$PT" -d 0.3 --json --stress 0.2 null >"$T/null.json" || fail "null run exited $?"
python3 - "$T/null.json" <<'PY' || fail "null PCM: bad JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tool"] == "lull-ptrtest" and d["version"] == 1
p = d["playback"]
for k in ("config", "hw", "sampling", "granularity", "pointer", "clock",
          "jitter", "delay", "timestamps", "rewind", "loopback", "stress",
          "verdict"):
    assert k in p, k
assert d["capture"] is None and p["loopback"] is None
assert p["stress"]["seconds"] > 0
assert isinstance(p["verdict"]["timer_fit"], bool)
PY
"$PT" -d 0.3 null >"$T/null.txt" || fail "null text run exited $?"
assert_grep '^verdict' "$T/null.txt"
assert_grep 'timer scheduling: ' "$T/null.txt"
note "cli ok"

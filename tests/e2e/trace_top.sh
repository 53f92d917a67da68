#!/bin/bash
# lull-top and the rest of lull-trace's command line.
#
#   lull-top -b -n 2: two plain frames (no escape codes), the card and one
#     row per stream with its name, rate, channels, latency, ring fill,
#     volume and state (playing / paused); wakeups per second in the
#     second frame, from lulld's counter.
#   lull-top on a terminal (a pty): draws in place, quits on q and on
#     Ctrl-C, leaving the terminal as it was; ends by itself when lulld
#     goes away.
#   lull-trace -d: ends after the duration; --from-now: no history;
#     with no lulld: exit 1 with the socket named; bad options: exit 2.
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/lulld" "$BUILD/lull-top" "$BUILD/lull-trace" "$BUILD/lull-play"
need_cmd python3

LULLD=$BUILD/lulld
TOP=$BUILD/lull-top
TRACE=$BUILD/lull-trace
PLAY=$BUILD/lull-play
LULLCLIENT=$BUILD/tests/lullclient
export LULL_SOCKET=$T/run/sock

# start_lulld [LULLD ARGS...]: lulld with a 200 ms buffer.
start_lulld() {
	rm -f "$LULL_SOCKET"
	bg "$LULLD" -b 200 -d "$(card "OUT=$T/card.wav")" "$@" 2>"$T/lulld.log"
	LULLD_PID=$BG_PID
	wait_for 10 test -S "$LULL_SOCKET" || fail "lulld did not create its socket"
}

stop_lulld() {
	kill -INT "$LULLD_PID"
	wait "$LULLD_PID" || fail "lulld exited with status $?"
}

# --- no lulld, bad usage -------------------------------------------------------------
rc=0
"$TOP" -b -n 1 >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "lull-top exit status without lulld"
assert_grep "cannot reach lulld at $LULL_SOCKET" "$T/err"
rc=0
"$TRACE" -d 1 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "lull-trace exit status without lulld"
assert_grep "cannot reach lulld at $LULL_SOCKET" "$T/err"
for bad in "-n 0" "-d x" "--bogus" "extra"; do
	rc=0
	# shellcheck disable=SC2086  # the options are meant to split
	"$TOP" $bad >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "lull-top $bad exit status"
done
for bad in "-d 0" "-d x" "--bogus" "extra"; do
	rc=0
	# shellcheck disable=SC2086
	"$TRACE" $bad >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "lull-trace $bad exit status"
done
rc=0
"$TRACE" --csv "$T/no/such/dir/x.csv" -d 1 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "lull-trace with an unwritable output"
assert_grep "cannot write $T/no/such/dir/x.csv" "$T/err"

# --- lull-top -b -n 2 --------------------------------------------------------------------
start_lulld
wavtool gen "$T/tone.wav" --rate 44100 --channels 1 --seconds 10 --freq 440
bg "$PLAY" -q --name "top tone" --latency-ms 300 --volume 0.5 "$T/tone.wav" 2>"$T/play.err"
NSTREAMS=1
if [ -x "$LULLCLIENT" ] && "$LULLCLIENT" --help 2>&1 | grep -q -- --pause-at; then
	bg "$LULLCLIENT" --name paused-one --seconds 30 --pause-at 0.2 2>"$T/client.err"
	NSTREAMS=2
fi
# Until lulld holds the streams (and the pause has happened).
have_streams() {
	"$TOP" -b -n 1 >"$T/one" 2>&1 &&
		grep -q "^streams   $NSTREAMS\$" "$T/one" &&
		{ [ "$NSTREAMS" = 1 ] || grep -q ' paused ' "$T/one"; }
}
wait_for 10 have_streams || fail "lull-top never showed $NSTREAMS streams: $(cat "$T/one")"

"$TOP" -b -n 2 -d 0.5 >"$T/top.txt" 2>"$T/top.err" || fail "lull-top -b -n 2 failed"
cat "$T/top.txt"
[ ! -s "$T/top.err" ] || fail "lull-top wrote to stderr: $(cat "$T/top.err")"
assert_eq "$(grep -c '^lull-top ' "$T/top.txt")" 2 "frames printed"
assert_no_grep $'\033' "$T/top.txt" "escape codes in batch mode"
assert_eq "$(grep -c '^format    48000 Hz  2 ch  .*buffer 9600 frames (200.0 ms)' "$T/top.txt")" 2 \
	"card line"
assert_eq "$(grep -c '^fill .* watermark 960 (20.0 ms)' "$T/top.txt")" 2 "fill line"
# A row: ID NAME... (the name may hold a space) RATE CH LATENCY ms FILL% VOLUME STATE
row_re=' top tone +[0-9]+ +44100 +1 +[0-9.]+ ms +[0-9.]+ +0\.500 +(playing|dry) +[0-9]+ +[0-9]+$'
assert_eq "$(grep -Ec "$row_re" "$T/top.txt")" 2 "rows for the playing stream"
if [ "$NSTREAMS" = 2 ]; then
	assert_eq "$(grep -Ec ' paused-one +[0-9]+ +48000 +2 +[0-9.]+ ms +[0-9.]+ +1\.000 +paused ' \
		"$T/top.txt")" 2 "rows for the paused stream"
fi
# The first frame has no rate yet; the second one has lulld's, about 1 per
# 180 ms of the 200 ms buffer less its 20 ms watermark, at the fill target
# the streams ask for: well above nothing, well below a busy loop.
assert_grep '^wakeups   -/s ' "$T/top.txt"
WPS=$(awk '$1 == "wakeups" && $2 != "-/s" { sub("/s", "", $2); print $2 }' "$T/top.txt")
note "wakeups per second: $WPS"
assert_between "$WPS" 2 500 "wakeups per second in the second frame"

# --- lull-top on a terminal: q, Ctrl-C, lulld going away ---------------------------------
# A pty: lull-top draws in place; each key below must end it within 3 s,
# exit 0, and restore the terminal (leave its own screen, show the cursor).
python3 - "$TOP" <<'EOF' || fail "lull-top on a terminal"
import os, pty, select, sys, time

def run(key):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1], "-d", "0.2"])
    out = b""
    def read_for(secs):
        nonlocal out
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return
    read_for(0.8)
    assert b"\033[?1049h" in out and b"\033[H" in out, "no in-place drawing: %r" % out[:200]
    assert b"paused-one" in out or b"top tone" in out, "no stream row"
    os.write(fd, key)
    end = time.time() + 3
    while time.time() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        read_for(0.05)
    else:
        os.kill(pid, 9)
        raise AssertionError("lull-top did not quit on %r" % key)
    read_for(0.1)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "status %r" % status
    assert out.rstrip().endswith(b"\033[?25h\033[?1049l"), "terminal not restored: %r" % out[-40:]
    print("# lull-top quit on %r" % key)

run(b"q")
run(b"\x03")
EOF

# Batch, endless: ends by itself when lulld goes.
bg "$TOP" -b -d 0.2 >"$T/endless.txt" 2>"$T/endless.err"
TOP_PID=$BG_PID
sleep 0.5
stop_lulld
wait_for 5 eval '! kill -0 "$TOP_PID" 2>/dev/null' ||
	fail "lull-top did not end when lulld went away"
wait "$TOP_PID" || fail "lull-top exited with status $? when lulld went away"
assert_grep 'lulld has gone' "$T/endless.err"

# --- lull-trace -d, --from-now, --quiet ------------------------------------------------
start_lulld --idle-ms 0	# never idle: it keeps waking
sleep 0.3
timed SECS "$TRACE" -d 1 --from-now --csv "$T/now.csv" >"$T/now.txt" 2>"$T/now.err" ||
	fail "lull-trace -d 1 failed: $(cat "$T/now.err")"
note "lull-trace -d 1 took $SECS s"
assert_between "$SECS" 0.9 5 "lull-trace -d 1 run time (s)"
assert_grep '^duration    1\.0[0-9]* s$|^duration    0\.99[0-9]* s$' "$T/now.txt"
assert_grep '^events +[0-9]+, from event [1-9][0-9]* on$' "$T/now.txt"
# Only what happened after it attached: lulld's first fill is not there.
assert_no_grep ',0$' "$T/now.csv" "event 0 in a --from-now trace"
# About 5.6 wakeups per second with no stream (200 ms buffer, 20 ms
# watermark): a 1 s recording has a few.
assert_between "$(awk '$1 == "wakeups" { print $2 }' "$T/now.txt")" 2 20 "wakeups in 1 s"

"$TRACE" -q -d 0.3 --json - >"$T/q.json" 2>"$T/q.err" || fail "lull-trace -q failed"
[ ! -s "$T/q.err" ] || fail "lull-trace -q wrote to stderr: $(cat "$T/q.err")"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/q.json" ||
	fail "--json - is not JSON"
stop_lulld

# --- an idle stop --------------------------------------------------------------------
# With no stream for 300 ms lulld stops the card and sleeps: the trace ends
# with the stop, the fill drops to nothing, and no wakeup follows.
start_lulld --idle-ms 300
"$TRACE" -d 1.5 --csv "$T/idle.csv" --json "$T/idle.json" --svg "$T/idle.svg" \
	>"$T/idle.txt" 2>/dev/null || fail "lull-trace of an idle lulld failed"
stop_lulld
cat "$T/idle.txt"
assert_grep '^idle        1 stops, [0-9.]+ s with the card stopped$' "$T/idle.txt"
assert_eq "$(tail -1 "$T/idle.csv" | cut -d, -f3-4)" "idle,1" "last event of an idle lulld"
python3 - "$T/idle.json" "$T/idle.svg" <<'EOF' || fail "idle in the JSON and SVG"
import json, sys, xml.etree.ElementTree as ET
ev = json.load(open(sys.argv[1]))["traceEvents"]
idle = [e for e in ev if e["name"] == "idle"]
assert len(idle) == 1 and idle[0]["args"]["stopped"] == 1, idle
fill = [e for e in ev if e["name"] == "fill (frames)"]
last = max(fill, key=lambda e: e["ts"])
assert last["args"]["fill"] == 0, "fill after the idle stop: %r" % last
root = ET.parse(sys.argv[2]).getroot()
assert [g for g in root.iter() if g.get("class") == "idle"], "no idle mark"
EOF

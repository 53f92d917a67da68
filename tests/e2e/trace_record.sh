#!/bin/bash
# lull-trace records a known scenario from lulld's start to its exit:
#
#   lulld (2 s buffer) on the simulated card, lull-trace attached right
#   after the socket appears; stream 1 (lull-play "first", a 4 s tone)
#   joins; once it plays, stream 2 (lullclient "second", 0.6 s of sine)
#   joins, pauses, resumes, changes its volume, drains and leaves while
#   stream 1 plays on; stream 1 drains and leaves; lulld stops, and
#   lull-trace ends by itself.
#
# The trace must tell exactly that story, in order: each join, pause,
# resume, volume change and leave followed by its rewind (reason join,
# pause, resume, volume, leave), every rewind by the top-up of its cycle.
# The order does not hang on timing: stream 2 starts once lull-top shows
# stream 1 playing (its join rewind done), and stream 2 is done long
# before stream 1's tone ends (checked too). Rewinds for late data and
# stream underruns depend on scheduling and are left out of the story
# (they are counted, below).
#
# "Matches lulld": lulld's trace ring holds 16384 events and lull-trace
# starts from the oldest one still there, so attached before the ring
# wrapped, it sees every event from lulld's first cycle (sequence 0) to
# the wakeup that stopped its audio thread. Its summary then says
# "complete since lulld started", and its counts equal lulld's own final
# counters exactly: wakeups (a wakeup is a wait that returned events;
# both count the same ones), rewinds that moved audio and their frames,
# stream underruns. No margin: these are counts, not timings.
#
# Without build/tests/lullclient (or one that cannot pause), stream 2 is
# a lull-play tone and the pause, resume and volume part is skipped.
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/lulld" "$BUILD/lull-play" "$BUILD/lull-trace" "$BUILD/lull-top"
need_cmd python3

LULLD=$BUILD/lulld
TRACE=$BUILD/lull-trace
TOP=$BUILD/lull-top
PLAY=$BUILD/lull-play
LULLCLIENT=$BUILD/tests/lullclient
export LULL_SOCKET=$T/run/sock

PAUSES=0
if [ -x "$LULLCLIENT" ] && "$LULLCLIENT" --help 2>&1 | grep -q -- --pause-at; then
	PAUSES=1
else
	note "no lullclient with --pause-at: the pause part is skipped"
fi

# stream_rewinds NAME: the rewinds lull-top shows stream NAME has caused
# (its last column), or nothing when lulld does not hold it.
stream_rewinds() {
	"$TOP" -b -n 1 2>/dev/null | awk -v n="$1" '$2 == n { print $NF }'
}

# --- the scenario ---------------------------------------------------------------
wavtool gen "$T/first.wav" --rate 44100 --channels 2 --seconds 4 --freq 440
wavtool gen "$T/second.wav" --rate 48000 --channels 2 --seconds 0.6 --freq 660

bg "$LULLD" -b 2000 -d "$(card "OUT=$T/card.wav")" 2>"$T/lulld.log"
LULLD_PID=$BG_PID
wait_for 10 test -S "$LULL_SOCKET" || fail "lulld did not create its socket"

bg "$TRACE" --csv "$T/trace.csv" --json "$T/trace.json" --svg "$T/trace.svg" \
	>"$T/summary.txt" 2>"$T/trace.log"
TRACE_PID=$BG_PID
wait_for 10 grep -q "recording lulld" "$T/trace.log" ||
	fail "lull-trace did not attach: $(cat "$T/trace.log")"

bg "$PLAY" -q --name first "$T/first.wav"
FIRST_PID=$BG_PID
# Its first rewind is its join: once lulld counts it, the rewind is done
# (or, asked for after a top-up, due at once).
first_plays() { [ "$(stream_rewinds first)" -ge 1 ] 2>/dev/null; }
wait_for 10 first_plays ||
	fail "stream 1 never played: $("$TOP" -b -n 1 2>&1); $(tail -3 "$T/lulld.log")"
sleep 0.1

# Stream 2's pause, resume and volume change come 0.2, 0.4 and 0.6 s
# after its first write.
if [ "$PAUSES" = 1 ]; then
	"$LULLCLIENT" --name second --seconds 0.6 --pause-at 0.2 --resume-at 0.4 \
		--volume-at 0.6:0.5 --drain >/dev/null || fail "lullclient (second) failed"
else
	"$PLAY" -q --name second "$T/second.wav" || fail "lull-play (second) failed"
fi
[ -n "$(stream_rewinds first)" ] ||
	fail "stream 1 ended before stream 2 did: the machine is too slow for this scenario"
wait "$FIRST_PID" || fail "lull-play (first) failed"

kill -INT "$LULLD_PID"
wait "$LULLD_PID" || fail "lulld exited with status $?"
# lull-trace sees lulld hang up and ends by itself.
wait_for 10 eval '! kill -0 "$TRACE_PID" 2>/dev/null' ||
	fail "lull-trace did not end when lulld exited"
wait "$TRACE_PID" || fail "lull-trace exited with status $?: $(cat "$T/trace.log")"
assert_grep 'lulld has exited' "$T/trace.log"
cat "$T/summary.txt"

# --- counts: the summary against lulld's own -------------------------------------
STATS=$(grep '^lulld: [0-9]* wakeups' "$T/lulld.log") || fail "lulld printed no counters"
read -r L_WAKE L_REW L_FRAMES L_XRUN L_UNDER < <(awk '{ gsub(/[(),]/, "");
	print $2, $4, $6, $8, $10 }' <<<"$STATS")
note "lulld: $L_WAKE wakeups, $L_REW rewinds ($L_FRAMES frames), $L_XRUN xruns, $L_UNDER underruns"
assert_grep '^events +[0-9]+, complete since lulld started$' "$T/summary.txt" \
	"the summary does not say the trace is complete"
S_WAKE=$(awk '$1 == "wakeups" { print $2 }' "$T/summary.txt")
assert_eq "$S_WAKE" "$L_WAKE" "wakeups: lull-trace's summary vs lulld's count"
read -r S_MOVED S_FRAMES < <(awk '$1 == "rewinds" { gsub(/[(),]/, "");
	print $3, $6 }' "$T/summary.txt")
assert_eq "$S_MOVED" "$L_REW" "rewinds that moved audio: summary vs lulld"
assert_eq "$S_FRAMES" "$L_FRAMES" "frames rewound: summary vs lulld"
assert_eq "$(awk '$1 == "xruns" { print $2 }' "$T/summary.txt")" "$L_XRUN" "xruns"
assert_eq "$(awk '$1 == "underruns" { print $2 }' "$T/summary.txt")" "$L_UNDER" \
	"stream underruns: summary vs lulld"

# Per-stream rows, from the status page: id, name, rate, latency.
awk '$1 == 1 && $2 == "first" && $4 == 44100 && $5 == 2 && $7 == "ms"' \
	"$T/summary.txt" | grep -q . || fail "no summary row for stream 1 (first, 44100 Hz)"
awk '$1 == 2 && $2 == "second" && $4 == 48000 && $5 == 2 && $7 == "ms"' \
	"$T/summary.txt" | grep -q . || fail "no summary row for stream 2 (second, 48000 Hz)"

# --- the CSV: every event, in order -------------------------------------------------
head -1 "$T/trace.csv" | grep -qx 't_ns,rel_s,type,a,b,c,detail,seq' ||
	fail "CSV header: $(head -1 "$T/trace.csv")"
# Sequence numbers 0, 1, 2... with none missing; times never go back.
awk -F, 'NR > 1 { if ($8 != NR - 2) { print "seq " $8 " at line " NR; exit 1 }
	if ($1 < t) { print "time goes back at line " NR; exit 1 } t = $1 }' \
	"$T/trace.csv" || fail "CSV events are not complete and in order"
N_WAKE=$(awk -F, '$3 == "wake" && $6 != 0' "$T/trace.csv" | wc -l)
assert_eq "$N_WAKE" "$L_WAKE" "wake events in the CSV vs lulld's count"
# lulld's first cycle fills the buffer before any wakeup (after setting
# the watermark its deep fill target calls for); its last event is the
# wakeup that stopped it.
assert_eq "$(awk -F, 'NR > 1 && $3 != "watermark" { print $3; exit }' "$T/trace.csv")" fill "first event"
assert_eq "$(tail -1 "$T/trace.csv" | cut -d, -f3)" wake "last event"

# Every rewind is followed by the top-up of its own cycle.
awk -F, 'NR > 1 { if ($3 == "rewind") open = NR; else if ($3 == "fill") open = 0;
	else if ($3 == "wake" && open) { print "rewind at line " open; exit 1 } }
	END { exit open != 0 }' "$T/trace.csv" ||
	fail "a rewind without the top-up of its cycle"

# The story: stream events and the rewinds they caused.
STORY=$(awk -F, 'NR > 1 {
	if ($3 == "join" || $3 == "leave" || $3 == "drained" || $3 == "volume")
		printf "%s:%s ", $3, $4
	else if ($3 == "pause")
		printf "%s:%s ", ($5 == 1 ? "pause" : "resume"), $4
	else if ($3 == "rewind") {
		split($7, f, /reason=/); sub(/".*/, "", f[2])
		if (f[2] != "late-data")
			printf "rewind:%s ", f[2]
	} }' "$T/trace.csv")
EXPECT="join:1 rewind:join join:2 rewind:join "
if [ "$PAUSES" = 1 ]; then
	EXPECT+="pause:2 rewind:pause resume:2 rewind:resume volume:2 rewind:volume "
fi
EXPECT+="drained:2 leave:2 drained:1 leave:1 "	# played out: nothing to rewind
note "story: $STORY"
if [ "$STORY" != "$EXPECT" ]; then
	# What lulld did, for whoever reads the log.
	grep -v ',fill,' "$T/trace.csv" | cut -d, -f2-8 >&2
	assert_eq "$STORY" "$EXPECT" "the trace's story"
fi
# Each rewind for a stream event moved audio: the 2 s buffer was full.
awk -F, '$3 == "rewind" && $7 !~ /late-data/ && $5 <= 0 { exit 1 }' "$T/trace.csv" ||
	fail "a stream event's rewind moved nothing"

# --- the JSON ------------------------------------------------------------------------
python3 - "$T/trace.json" "$L_WAKE" "$PAUSES" <<'EOF' || fail "trace JSON"
import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
names = {e["name"] for e in ev}
want = {"wake", "fill (frames)", "rewind", "join", "leave", "drained",
        "process_name", "thread_name"}
if sys.argv[3] == "1":
    want |= {"pause", "resume", "volume"}
missing = want - names
assert not missing, "missing event names: %s" % sorted(missing)
wakes = [e for e in ev if e["name"] == "wake"]
assert all(e["ph"] == "X" and e["dur"] >= 0 for e in wakes), "wake durations"
n = sum(1 for e in wakes if e["args"]["cause"] != "none")
assert n == int(sys.argv[2]), "%d wake events, lulld counted %s" % (n, sys.argv[2])
fill = [e for e in ev if e["name"] == "fill (frames)"]
assert all(e["ph"] == "C" and {"fill", "watermark", "target"} <= set(e["args"])
           for e in fill), "fill counter series"
assert max(e["args"]["fill"] for e in fill) == 96000, "a full 2 s buffer"
assert all(0 <= e["args"]["fill"] <= 96000 for e in fill), "fill within the buffer"
# The watermark adapts (it starts at 20 ms and never sits below twice
# lulld's own wakeup lateness), but stays within half the buffer.
assert all(0 <= e["args"]["watermark"] <= 48000 for e in fill), "watermark in range"
rw = [e["args"]["reason"] for e in ev if e["name"] == "rewind"]
# Both streams drain before they leave: nothing of theirs is left to rewind.
assert rw.count("join") == 2 and rw.count("leave") == 0, "rewind reasons %s" % rw
spans = sorted((e["ph"], e["id"]) for e in ev if e.get("cat") == "stream")
assert spans == [("b", 1), ("b", 2), ("e", 1), ("e", 2)], "stream spans %s" % spans
ts = [e["ts"] for e in ev if e["ph"] != "M"]
assert min(ts) >= 0, "timestamps from the start"
print("# JSON: %d events, %d wakes, %d fill samples" % (len(ev), n, len(fill)))
EOF

# --- the SVG -------------------------------------------------------------------------
python3 - "$T/trace.svg" "$T/trace.csv" <<'EOF' || fail "trace SVG"
import csv, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
rows = list(csv.DictReader(open(sys.argv[2])))
count = lambda t: sum(1 for r in rows if r["type"] == t)
def cls(el):
    return el.get("class", "").split()
def all_with(c, tag=None, under=None):
    return [e for e in (under if under is not None else root).iter()
            if c in cls(e) and (tag is None or e.tag == ns + tag)]
marks = all_with("events", "g")[0]	# the marks, not the legend
for c in ("fill", "target", "watermark"):
    assert all_with(c, "polyline"), "no %s line" % c
pts = all_with("fill", "polyline")[0].get("points").split()
assert len(pts) >= 2 * count("fill"), "fill line has %d points" % len(pts)
assert len(all_with("wake", "line", marks)) == count("wake"), "wake marks"
assert all_with("planned", "path"), "no planned wakeup marks"
assert len(all_with("rewind", "g")) == count("rewind"), "rewind marks"
assert len(all_with("join", "g")) == count("join") == 2, "join marks"
assert len(all_with("leave", "g")) == count("leave") == 2, "leave marks"
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
for label in ("time (s)", "fill (frames)", "wakeups", "events"):
    assert label in texts, "no axis label %r" % label
print("# SVG: %d fill points, %d wake marks" % (len(pts), count("wake")))
EOF

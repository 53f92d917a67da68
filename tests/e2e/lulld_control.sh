#!/bin/bash
# Changes are heard at once, although lulld keeps 2 s written ahead: pause,
# resume and a volume change are heard within 20 ms of the request, Ctrl-C
# of lull-play within 20 ms of the signal, and a drain returns within 20 ms
# of its stream's last frame being played (and never before).
#
# All the while a second stream A plays a per-frame pattern on the left
# channel; every one of those changes makes lulld rewind and re-mix the
# buffer, and A must come out bit-exact all the same. The changing stream
# plays a constant marker on the right, so each change shows on the card
# to the frame: where the marker stops, starts, or grows.
#
# How the delays are judged (see check_latency and check_median in
# lulld_common.bash): the part lulld decides exactly - from its rewind to
# the changed sound - must be within 20 ms every time; the whole delay,
# which includes a couple of thread wake-ups a loaded machine may hold back,
# within 20 ms in the median of several, and under 100 ms each time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
need_file "$BUILD/lull-play"
need_cmd perl
perl -MTime::HiRes -e 1 2>/dev/null || skip "perl has no Time::HiRes"

A_ARGS=(--signal pattern:2 --channel-only L --seconds 14)
MARKER=0.25
dump_wav a "${A_ARGS[@]}"
lc --signal marker --channel-only R --seconds 3 --dump "$T/marker.raw" ||
	fail "lullclient --dump"
LAT=()

# send_signal SIG PID: CLOCK_MONOTONIC ns just before kill(2).
send_signal() {
	perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e '
		my $t = clock_gettime(CLOCK_MONOTONIC);
		kill($ARGV[0], $ARGV[1]) or exit 1;
		printf "%.0f\n", $t * 1e9' "$1" "$2"
}

lulld_start control
lc "${A_ARGS[@]}" --drain & A_PID=$!
sleep 0.5

# Pause and resume three times, then the volume up and down three times.
lc --signal marker --channel-only R --seconds 5 --drain --print-times \
	--pause-at 0.5 --resume-at 0.9 --pause-at 1.3 --resume-at 1.7 \
	--pause-at 2.1 --resume-at 2.5 \
	--volume-at 2.9:2 --volume-at 3.3:1 --volume-at 3.7:2 --volume-at 4.1:1 \
	--volume-at 4.5:2 --volume-at 4.9:1 >"$T/c.times" || fail "client C failed"
# Three short streams, each drained.
for i in 1 2 3; do
	lc --signal marker --channel-only R --seconds 0.2 --drain --print-times \
		>"$T/d$i.times" || fail "client D$i failed"
	sleep 0.1
done
# lull-play, stopped with SIGINT half a second in, three times.
for i in 1 2 3; do
	"$BUILD/lull-play" -q --raw --rate 48000 --channels 2 --format float \
		"$T/marker.raw" & P=$!
	sleep 0.5
	kill -0 "$P" 2>/dev/null || fail "lull-play $i ended before the signal"
	send_signal INT "$P" >"$T/int$i.ns" || fail "cannot signal lull-play"
	rc=0
	wait "$P" || rc=$?
	assert_eq "$rc" 130 "lull-play $i exit status after SIGINT"
	echo "done_ns=$(perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e \
		'printf "%.0f", clock_gettime(CLOCK_MONOTONIC) * 1e9')" >>"$T/int$i.ns"
	sleep 0.2
done
wait "$A_PID" || fail "A failed"
lulld_stop
W=$T/control.wav
E=$W.events

same_channel "$T/a.wav" "$W" 0 "A, through every change of the other stream"

# --- pause and resume -------------------------------------------------------------
mapfile -t PAUSE < <(tvals "$T/c.times" pause_ns)
mapfile -t RESUME < <(tvals "$T/c.times" resume_ns)
mapfile -t VOLUME < <(tvals "$T/c.times" volume_ns)
assert_eq "${#PAUSE[@]} ${#RESUME[@]} ${#VOLUME[@]}" "3 3 6" "requests made"
for i in 0 1 2; do
	# The marker plays up to the pause: its last frame before the resume.
	last=$(last_heard "$W" 1 "$((PAUSE[i] - 300000000))" "${RESUME[i]}")
	[ "$last" != -1 ] || fail "pause $i: the marker was not playing"
	check_latency "pause $((i + 1))" "${PAUSE[i]}" \
		"$(card_time "$E" "$((last + 1))")" "$E"
done
check_median "pause"
for i in 0 1 2; do
	first=$(first_heard "$W" 1 "${RESUME[i]}")
	check_latency "resume $((i + 1))" "${RESUME[i]}" "$(card_time "$E" "$first")" "$E"
done
check_median "resume"

# --- volume: x2 at VOLUME[0], [2], [4]; the first frame above the marker --------
for i in 0 2 4; do
	first=$(first_heard "$W" 1 "${VOLUME[i]}" "$MARKER")
	[ "$first" != -1 ] || fail "volume $i: never louder"
	check_latency "volume up $((i / 2 + 1))" "${VOLUME[i]}" \
		"$(card_time "$E" "$first")" "$E"
	# After the 5 ms ramp it is exactly twice the marker.
	out=$(wavtool silence "$W" --channel 1 --threshold 0.4999 \
		--from "$(calc "($first + 480) / $RATE")" --to "$(calc "($first + 4800) / $RATE")")
	assert_eq "$(kv leading_silence "$out")" 0 "volume up $((i / 2 + 1)): level after the ramp"
done
check_median "volume"

# --- drain --------------------------------------------------------------------------
# drain_done_ns is read after the drain returned: it can only be later
# than the return. A drain returning before the end would show as < 0.
DRAIN=()
for f in "$T/c.times" "$T/d1.times" "$T/d2.times" "$T/d3.times"; do
	t_write=$(tval "$f" first_write_ns)
	t_done=$(tval "$f" drain_done_ns)
	last=$(last_heard "$W" 1 "$t_write" "$t_done")
	[ "$last" != -1 ] || fail "$(basename "$f"): nothing heard"
	t_end=$(card_time "$E" "$((last + 1))")
	late=$(ms "$t_done" "$t_end")
	note "drain $(basename "$f" .times): returned $late ms after the last frame was played"
	assert_ge "$late" 0 "drain returned before the last frame was played (ms)"
	assert_le "$late" 100 "drain return after the last frame (ms)"
	DRAIN+=("$late")
done
LAT=("${DRAIN[@]}")
check_median "drain"

# --- Ctrl-C of lull-play ----------------------------------------------------------------
for i in 1 2 3; do
	sig=$(head -n1 "$T/int$i.ns")
	done_ns=$(sed -n 's/^done_ns=//p' "$T/int$i.ns")
	last=$(last_heard "$W" 1 "$((sig - 300000000))" "$done_ns")
	[ "$last" != -1 ] || fail "SIGINT $i: lull-play was not playing"
	check_latency "SIGINT $i" "$sig" "$(card_time "$E" "$((last + 1))")" "$E"
done
check_median "SIGINT"

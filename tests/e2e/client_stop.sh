#!/bin/bash
# Ctrl-C stops lull-play's sound at once: within 20 ms of the signal, the
# simulated card plays no more of it, and lull-play exits 130. Checked
# while lull-play waits in a blocking write (small latency, long file),
# while it waits in the drain (everything already queued), and for
# SIGTERM.
#
# Timing method: the signal is sent by a one-line perl program that reads
# CLOCK_MONOTONIC just before kill(2); the card's event log stamps its
# start in CLOCK_MONOTONIC too (it is the card's own clock, no drift
# asked), so the last frame of the tone in the card's WAV converts to the
# CLOCK_MONOTONIC time it was heard. Both ends of the measurement are the
# same clock, read by the sender and by the "hardware"; nothing relies on
# lull-play's own view of time.
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/lulld" "$BUILD/lull-play"
need_cmd perl
perl -MTime::HiRes -e 1 2>/dev/null || skip "perl has no Time::HiRes"

LULLD=$BUILD/lulld
PLAY=$BUILD/lull-play
# lulld makes the directory, private (0700), as it insists.
export LULL_SOCKET=$T/run/sock
MARGIN_MS=20
LIMIT_MS=500	# any try: it stops at all
TRIES=3

start_lulld() {
	rm -f "$LULL_SOCKET"
	bg "$LULLD" -d "$(card "OUT=$T/$1.wav")" 2>"$T/$1.lulld.log"
	LULLD_PID=$BG_PID
	wait_for 10 test -S "$LULL_SOCKET" || fail "lulld did not create its socket"
}

stop_lulld() {
	kill -INT "$LULLD_PID"
	wait "$LULLD_PID" || fail "lulld exited with status $?"
}

# card_time EVENTS FRAME: CLOCK_MONOTONIC ns at which the card played
# FRAME of its WAV: from the last start (or resume) at or before it.
card_time() {
	awk -v f="$2" '
		$1 == "open" { for (i = 2; i <= NF; i++)
			if ($i ~ /^rate=/) rate = substr($i, 6) }
		$1 == "start" || $1 == "resume" {
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^t_ns=/) t = substr($i, 6)
				if ($i ~ /^frame=/) fr = substr($i, 7)
			}
			if (fr + 0 <= f + 0) { t0 = t; f0 = fr }
		}
		END { if (t0 == "" || !rate) exit 1
		      printf "%.0f\n", t0 + (f - f0) * 1e9 / rate }' "$1"
}

# send_signal SIG PID: prints CLOCK_MONOTONIC ns just before kill(2).
send_signal() {
	perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e '
		my $t = clock_gettime(CLOCK_MONOTONIC);
		kill($ARGV[0], $ARGV[1]) or exit 1;
		printf "%.0f\n", $t * 1e9' "$1" "$2"
}

# stop_try NAME SIG SECONDS_IN ARGS...: plays ARGS, sends SIG after
# SECONDS_IN, and sets LATE_MS: how long after the signal the tone was
# still heard on the card.
stop_try() {
	local name=$1 sig=$2 after=$3 pid rc=0 sig_ns stop_ns sil first last
	local first_ns rew_ms
	shift 3
	start_lulld "$name"
	"$PLAY" -q "$@" &
	pid=$!
	sleep "$after"
	kill -0 "$pid" 2>/dev/null || fail "$name: lull-play ended before the signal"
	sig_ns=$(send_signal "$sig" "$pid") || fail "$name: cannot signal lull-play"
	wait "$pid" || rc=$?
	assert_eq "$rc" 130 "$name: lull-play exit status after SIG$sig"
	# Let the card run on (silence) so that its WAV shows the stop.
	sleep 0.2
	stop_lulld

	sil=$(wavtool silence "$T/$name.wav")
	first=$(kv first_nonzero "$sil")
	last=$(kv last_nonzero "$sil")
	[ "$first" != -1 ] || fail "$name: the card played nothing"
	first_ns=$(card_time "$T/$name.wav.events" "$first")
	stop_ns=$(card_time "$T/$name.wav.events" "$((last + 1))")
	is "$first_ns < $sig_ns" || fail "$name: the tone started after the signal"
	LATE_MS=$(calc "($stop_ns - $sig_ns) / 1e6")
	# For the record: when lulld's first rewind after the signal was done.
	rew_ms=$(awk -v s="$sig_ns" '$1 == "rewind" { t = substr($2, 6)
		if (t + 0 >= s + 0) { printf "%.3f", (t - s) / 1e6; exit } }' \
		"$T/$name.wav.events")
	note "$name: SIG$sig $(calc "($sig_ns - $first_ns) / 1e9")s into the tone; heard until $LATE_MS ms after it (card rewound at +${rew_ms:-?} ms)"
	# The tone ran up to the signal: it was stopped, not cut short by
	# something else; and it did stop, if late.
	assert_ge "$LATE_MS" -1 "$name: tone end relative to the signal (ms)"
	assert_le "$LATE_MS" "$LIMIT_MS" "$name: tone end relative to the signal (ms)"
}

# stop_case NAME SIG SECONDS_IN ARGS...: the tone must stop within
# MARGIN_MS of the signal. Three normal-priority threads wake in turn
# (lull-play's signal thread, lulld's control thread, then its audio
# thread), so a machine busy with other work can delay one try past the
# margin: up to TRIES tries, one must make it. A stop that is slow by
# design (say, one that waited for a drain) fails them all.
stop_case() {
	local name=$1 i
	for i in $(seq "$TRIES"); do
		stop_try "$@"
		is "$LATE_MS <= $MARGIN_MS" && return 0
		note "$name: try $i over the margin of $MARGIN_MS ms"
	done
	fail "$name: the tone went on more than $MARGIN_MS ms after the signal in all $TRIES tries"
}

wavtool gen "$T/long.wav" --rate 48000 --channels 2 --seconds 20 --freq 440
wavtool gen "$T/short.wav" --rate 44100 --channels 2 --seconds 3 --freq 440

# Blocked in lull_stream_write: 20 s of audio, 200 ms of it queued at most.
stop_case write INT 1.0 --latency-ms 200 "$T/long.wav"
# Everything queued at once (lulld's default latency is deep) and waiting
# in lull_stream_drain; if lulld grants less, this is a write case again.
stop_case drain INT 1.5 "$T/short.wav"
stop_case term TERM 1.0 --latency-ms 200 "$T/long.wav"

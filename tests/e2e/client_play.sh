#!/bin/bash
# lull-play through lulld on the simulated card: a 1 s 440 Hz tone at
# 44100 Hz comes out of the 48 kHz card as 440 Hz for 1 s, and lull-play
# exits once its last frame has been heard, not before and not much after
# (from the card's event log: the timeline of what was heard, in
# CLOCK_MONOTONIC). The same tone as raw samples on standard input plays
# the same; --volume -6dB halves it; --volume 0 is silent.
. "$(dirname "$0")/lib.sh"
need_simcard
need_file "$BUILD/lulld" "$BUILD/lull-play"
need_cmd perl
perl -MTime::HiRes -e 1 2>/dev/null || skip "perl has no Time::HiRes"

LULLD=$BUILD/lulld
PLAY=$BUILD/lull-play
# lulld makes the directory, private (0700), as it insists.
export LULL_SOCKET=$T/run/sock

# start_lulld NAME: lulld on a card writing $T/NAME.wav (and .events).
start_lulld() {
	rm -f "$LULL_SOCKET"
	bg "$LULLD" -d "$(card "OUT=$T/$1.wav")" 2>"$T/$1.lulld.log"
	LULLD_PID=$BG_PID
	wait_for 10 test -S "$LULL_SOCKET" || fail "lulld did not create its socket"
}

# Stops lulld (SIGINT, exit 0), which closes the card's WAV.
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

# timed_play OUTVAR ARGS...: runs lull-play; OUTVAR gets the
# CLOCK_MONOTONIC ns at which it was seen to exit (perl's waitpid).
timed_play() {
	local -n timed_play_out=$1
	shift
	# shellcheck disable=SC2034  # a nameref: sets the caller's variable
	timed_play_out=$(perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e '
		system(@ARGV);
		my $t = clock_gettime(CLOCK_MONOTONIC);
		exit 1 if $? != 0;
		printf "%.0f\n", $t * 1e9' "$PLAY" "$@") ||
		fail "lull-play $* failed"
}

# check_tone NAME: the card WAV holds one 440 Hz tone of 1 s. Sets FIRST,
# LAST (frames of the card WAV) and PEAK.
check_tone() {
	local out=$T/$1.wav sil fq from to len
	sil=$(wavtool silence "$out")
	FIRST=$(kv first_nonzero "$sil")
	LAST=$(kv last_nonzero "$sil")
	[ "$FIRST" != -1 ] || fail "$1: the card played nothing"
	len=$(calc "($LAST - $FIRST + 1) / 48000")
	# Resampler edges blur the ends by well under a millisecond; a gap
	# (underrun) inside would make the tone longer.
	assert_near "$len" 1 0.005 "$1: seconds of tone on the card"
	from=$(calc "$FIRST / 48000 + 0.05")
	to=$(calc "$LAST / 48000 - 0.05")
	fq=$(wavtool freq "$out" --from "$from" --to "$to")
	# Played at the wrong rate it would be 440 * 48000 / 44100 = 479 Hz.
	assert_near "$(kv freq "$fq")" 440 0.5 "$1: tone frequency"
	PEAK=$(kv peak "$fq")
	note "$1: ${len}s of $(kv freq "$fq") Hz, peak $PEAK"
}

wavtool gen "$T/tone.wav" --rate 44100 --channels 2 --seconds 1 --freq 440

# --- a WAV file, and when lull-play exits ------------------------------------
# play_wav_timed: plays the tone, checks it, and sets LATE_MS: how long
# after its last frame was heard lull-play was seen to exit.
play_wav_timed() {
	local exit_ns end_ns
	start_lulld wav
	# Under SAN=1 the leak check at exit alone takes some 30 ms, which is
	# not lull-play's doing: off for this timed run (the runs below keep it).
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" timed_play exit_ns -q "$T/tone.wav"
	stop_lulld
	check_tone wav
	end_ns=$(card_time "$T/wav.wav.events" "$((LAST + 1))") ||
		fail "no start event before frame $LAST"
	LATE_MS=$(calc "($exit_ns - $end_ns) / 1e6")
	note "lull-play exited $LATE_MS ms after its last frame was heard"
	# The exit time is when perl saw it, a hair after the fact: exiting
	# even 1 ms before the end would show, in any try.
	assert_ge "$LATE_MS" 0 "lull-play exit after the end of its sound (ms)"
}

# Not much after the end either: within 50 ms. A machine busy with other
# work can delay the wakeups involved, so one of three tries must make it.
for try in 1 2 3; do
	play_wav_timed
	is "$LATE_MS <= 50" && break
	[ "$try" -lt 3 ] || fail "lull-play exited more than 50 ms after its sound ended, 3 times"
done

# --- raw samples from standard input -------------------------------------------
wavtool raw "$T/tone.wav" "$T/tone.raw"
start_lulld raw
"$PLAY" -q --raw --rate 44100 --channels 2 --format s16 - <"$T/tone.raw" ||
	fail "lull-play --raw - failed"
stop_lulld
check_tone raw
FULL_PEAK=$PEAK

# --- volume -----------------------------------------------------------------------
start_lulld vol
"$PLAY" -q --volume -6.0206dB "$T/tone.wav" || fail "lull-play --volume failed"
stop_lulld
check_tone vol
assert_near "$(calc "$PEAK / $FULL_PEAK")" 0.5 0.01 "peak ratio at -6 dB"

# --volume 0: not a sample of it is heard.
start_lulld mute
"$PLAY" -q --volume 0 "$T/tone.wav" || fail "lull-play --volume 0 failed"
stop_lulld
assert_eq "$(kv first_nonzero "$(wavtool silence "$T/mute.wav")")" -1 \
	"first sound on the card at volume 0"

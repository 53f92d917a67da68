#!/bin/bash
# The simulated card plays in real time: a 3 s file takes 3 s through aplay,
# and the card's event log puts start and stop the right distance apart.
# DRIFT=ppm makes the card clock run fast or slow by that much.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd aplay

SECS=3
RATE=48000
IN=$T/in.wav
wavtool gen "$IN" --rate $RATE --channels 2 --seconds $SECS --freq 440

# play DRIFT_PPM: plays IN, sets WALL (s), RUN (stop - start, s), FRAMES.
play() {
	local out=$T/card$1.wav
	timed WALL run_foreign aplay -q -D "$(card "OUT=$out,DRIFT=$1")" "$IN"
	[ "$(ev_count "$out.events" start)" = 1 ] || fail "drift $1: not one run"
	RUN=$(calc "($(ev "$out.events" stop t_ns) - $(ev "$out.events" start t_ns)) / 1e9")
	FRAMES=$(ev "$out.events" stop frame)
	assert_eq "$(ev "$out.events" stop drained)" 1 "drift $1: stopped by drain"
	assert_eq "$FRAMES" "$((SECS * RATE))" "drift $1: frames played"
	note "drift $1 ppm: aplay took ${WALL}s, card ran ${RUN}s for $FRAMES frames"
}

play 0
# The card cannot play faster than real time; on a loaded machine aplay may
# start and finish late, so the upper margin is generous.
assert_between "$WALL" 2.95 $((SECS + 3)) "aplay wall time for ${SECS}s"
# The card clock is CLOCK_MONOTONIC: start to stop is frames / rate, never
# less (give or take a frame); more only if the end of the drain was
# noticed late. And it lies inside aplay's lifetime.
assert_between "$RUN" "$(calc "$SECS - 0.001")" "$(calc "$SECS + 0.1")" \
	"card start-to-stop"
assert_le "$RUN" "$WALL" "card run inside aplay's lifetime"

# A card 5% slow takes 3 / 0.95 = 3.158 s for the same frames; 5% fast 2.857.
play -50000
want=$(calc "$SECS / 0.95")
assert_between "$RUN" "$(calc "$want - 0.001")" "$(calc "$want + 0.1")" \
	"slow card start-to-stop"
assert_between "$WALL" 3.1 $((SECS + 3)) "aplay wall time on a slow card"
play 50000
want=$(calc "$SECS / 1.05")
assert_between "$RUN" "$(calc "$want - 0.001")" "$(calc "$want + 0.1")" \
	"fast card start-to-stop"
assert_between "$WALL" 2.8 $((SECS + 3)) "aplay wall time on a fast card"

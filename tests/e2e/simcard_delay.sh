#!/bin/bash
# What aplay sees of the card's pointer, through aplay -v --test-position,
# which prints snd_pcm_avail_delay() before and after every write:
#  - FIFO=N: the output delay includes N frames past the DMA pointer, so
#    avail + delay = buffer + N (buffer alone without FIFO);
#  - GRANULARITY=N|period: the pointer moves in steps of N frames, so with
#    aplay writing whole periods every avail is a multiple of N.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd aplay

IN=$T/in.wav
wavtool gen "$IN" --rate 48000 --channels 2 --seconds 1 --freq 440

# probe ARGS: plays IN with aplay -v --test-position on the card with ARGS;
# sets BUFFER, PERIOD and PAIRS ("avail delay" per line, in $T/pairs).
probe() {
	local out=$T/card.wav log=$T/aplay.log
	rm -f "$out" "$out.events"
	run_foreign aplay -v --test-position -D "$(card "OUT=$out,$1")" "$IN" \
		>"$log" 2>&1 || { cat "$log"; fail "aplay failed with $1"; }
	assert_no_grep '^Suspicious' "$log" "aplay found the position suspicious with $1"
	BUFFER=$(ev "$out.events" open buffer)
	PERIOD=$(ev "$out.events" open period)
	sed -n 's/.*standalone avail=\([-0-9]*\) delay=\([-0-9]*\)).*/\1 \2/p' \
		"$log" >"$T/pairs"
	[ "$(wc -l <"$T/pairs")" -ge 4 ] || fail "too few position reports with $1"
}

# avail + delay = buffer + fifo. snd_pcm_avail_delay() reads the pointer
# twice (avail, then delay), as it does on a kernel driver, so the DMA may
# move between the two: on playback the sum can come out lower by what was
# played in between, never higher. Most reports are exact, so the median
# must be; every report must be within 50 ms (a preempted reader).
check_fifo() {
	local fifo=$1 want bad median
	probe "FIFO=$fifo"
	assert_eq "$(ev "$T/card.wav.events" open fifo)" "$fifo" "logged fifo"
	want=$((BUFFER + fifo))
	bad=$(awk -v w=$want '$1 + $2 > w || $1 + $2 < w - 2400' "$T/pairs")
	[ -z "$bad" ] || fail "FIFO=$fifo: avail + delay not in [$want - 2400, $want]: $bad"
	median=$(awk '{ print $1 + $2 }' "$T/pairs" | sort -n |
		 awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	assert_eq "$median" "$want" "FIFO=$fifo: median of avail + delay"
	note "FIFO=$fifo: avail + delay = $BUFFER + $fifo (median of $(wc -l <"$T/pairs") reports)"
}

check_fifo 0
check_fifo 480
check_fifo 4800
check_fifo 30000	# more than the whole buffer

# Every avail a multiple of the granularity.
check_gran() {
	local g=$1 step=$2 odd
	probe "GRANULARITY=$g"
	[ "$step" = period ] && step=$PERIOD
	odd=$(awk -v s="$step" '$1 % s != 0' "$T/pairs")
	[ -z "$odd" ] || fail "GRANULARITY=$g: avail not a multiple of $step: $odd"
	note "GRANULARITY=$g: every avail is a multiple of $step"
}

check_gran 1000 1000
check_gran period period
# With GRANULARITY=1 aplay reads the pointer some frames past a period
# boundary, so avail is usually not a round number -- shown, not asserted:
# a fast enough wakeup can land within one frame of the boundary.
probe GRANULARITY=1
note "GRANULARITY=1: avail values $(cut -d' ' -f1 "$T/pairs" | sort -un | tr '\n' ' ')"

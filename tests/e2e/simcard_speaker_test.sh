#!/bin/bash
# speaker-test plays a 440 Hz sine into one speaker of the simulated card:
# the card WAV has that tone, continuous, on that channel only.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd speaker-test

out=$T/card.wav
# -s 2: the right speaker only; -l 1: one round; small buffer so the round
# is short (speaker-test plays one speaker for 5 s).
timed WALL run_foreign speaker-test -D "$(card "OUT=$out")" -c 2 -r 48000 \
	-F S16_LE -t sine -f 440 -s 2 -l 1 -b 400000 -p 100000 >"$T/st.log" 2>&1 ||
	{ cat "$T/st.log"; fail "speaker-test failed"; }
note "speaker-test took ${WALL}s"
assert_le "$WALL" 15 "speaker-test duration"

info=$(wavtool info "$out")
assert_eq "$(kv format "$info")" S16_LE "card format"
assert_ge "$(kv seconds "$info")" 1 "seconds played"
left=$(wavtool freq "$out" --channel 0 || true)
right=$(wavtool freq "$out" --channel 1)
assert_eq "$(kv peak "$left")" 0.000000 "left channel is silent"
assert_near "$(kv freq "$right")" 440 0.5 "right channel frequency"
# speaker-test's generator keeps its phase across periods, so the tone has
# no gaps between its first and last sample.
first=$(kv first_nonzero "$(wavtool silence "$out")")
last=$(kv last_nonzero "$(wavtool silence "$out")")
wavtool raw "$out" "$T/all.raw"
frame_bytes=4
tail -c +$((first * frame_bytes + 1)) "$T/all.raw" |
	head -c $(((last - first + 1) * frame_bytes)) >"$T/tone.raw"
wavtool wrap "$T/tone.raw" "$T/tone.wav" --rate 48000 --channels 2 --format s16
wavtool gaps "$T/tone.wav" --freq 440 --channel 1 >"$T/gaps" ||
	fail "the tone has gaps: $(head -3 "$T/gaps")"

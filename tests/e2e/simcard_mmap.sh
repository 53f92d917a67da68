#!/bin/bash
# aplay -M writes through the mmap'ed ring (snd_pcm_mmap_begin/commit)
# instead of snd_pcm_writei: the card must play it bit for bit as well.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd aplay

for spec in "s16 2 48000" "s32 4 44100" "float 1 96000"; do
	set -- $spec
	in=$T/in-$1.wav out=$T/card-$1.wav
	wavtool gen "$in" --format "$1" --channels "$2" --rate "$3" \
		--pattern noise --seconds 0.5
	run_foreign aplay -q -M -D "$(card "OUT=$out")" "$in"
	frames=$(kv frames "$(wavtool info "$in")")
	cmp=$(wavtool cmp "$in" "$out" --frames "$frames") ||
		fail "$1 with mmap: card WAV differs: $cmp"
	assert_le "$(kv last_nonzero "$(wavtool silence "$out")")" \
		"$((frames - 1))" "$1 with mmap: last sound"
	note "$1 $2 ch $3 Hz with mmap: $frames frames bit-exact"
done

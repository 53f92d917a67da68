#!/bin/bash
# aplay -M writes through the mmap'ed ring (snd_pcm_mmap_begin/commit)
# instead of snd_pcm_writei: the card must play it bit for bit as well.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd aplay

for spec in "s16 2 48000" "s32 4 44100" "float 1 96000"; do
	read -r fmt ch rate <<<"$spec"
	in=$T/in-$fmt.wav out=$T/card-$fmt.wav
	wavtool gen "$in" --format "$fmt" --channels "$ch" --rate "$rate" \
		--pattern noise --seconds 0.5
	run_foreign aplay -q -M -D "$(card "OUT=$out")" "$in"
	frames=$(kv frames "$(wavtool info "$in")")
	cmp=$(wavtool cmp "$in" "$out" --frames "$frames") ||
		fail "$fmt with mmap: card WAV differs: $cmp"
	assert_le "$(kv last_nonzero "$(wavtool silence "$out")")" \
		"$((frames - 1))" "$fmt with mmap: last sound"
	note "$fmt $ch ch $rate Hz with mmap: $frames frames bit-exact"
done

#!/bin/bash
# Two clients at different rates into one 48 kHz card: A plays 440 Hz at
# 44100 Hz on the left only, B 1000 Hz at 48000 Hz on the right only,
# starting a second later (lulld rewinds to mix it in). On the card each
# channel holds its own tone at the right frequency and level, for as long
# as it was played, without a single discontinuity; B, which needs no
# resampling, is bit-exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"

dump_wav b --signal sine:1000 --channel-only R --seconds 3

lulld_start rates
lc --rate 44100 --signal sine:440 --channel-only L --seconds 3 --drain \
	>"$T/a.times" & A_PID=$!
sleep 1
lc --signal sine:1000 --channel-only R --seconds 3 --drain >"$T/b.times" ||
	fail "client B failed"
wait "$A_PID" || fail "client A failed"
lulld_stop
W=$T/rates.wav

# check_tone CH FREQ WHAT: one tone of 3 s at FREQ and amplitude 0.5 on CH.
check_tone() {
	local ch=$1 f=$2 what=$3 sil first last len from to out
	sil=$(wavtool silence "$W" --channel "$ch")
	first=$(kv first_nonzero "$sil")
	last=$(kv last_nonzero "$sil")
	[ "$first" != -1 ] || fail "$what: nothing on channel $ch"
	# The resampler's filter blurs the ends by under a millisecond; an
	# underrun inside would stretch the tone.
	len=$(calc "($last - $first + 1) / $RATE")
	assert_near "$len" 3 0.002 "$what: seconds of tone"
	from=$(calc "$first / $RATE + 0.05")
	to=$(calc "($last + 1) / $RATE - 0.05")
	out=$(wavtool freq "$W" --channel "$ch" --from "$from" --to "$to")
	# Played at the wrong rate, 440 Hz would come out as 479 Hz.
	assert_near "$(kv freq "$out")" "$f" 0.2 "$what: frequency"
	# A 0.5 sine: peak 0.5, rms 0.5/sqrt(2) = -9.03 dBFS.
	assert_near "$(kv peak "$out")" 0.5 0.005 "$what: peak"
	assert_near "$(kv rms_dbfs "$out")" -9.03 0.05 "$what: rms dBFS"
	# Continuity: the sine identity holds at every sample. The threshold
	# is above the resampler's own error (~1e-5) and far below what one
	# dropped, repeated or zeroed frame leaves (> 1e-3 at these tones).
	out=$(wavtool gaps "$W" --channel "$ch" --freq "$f" --from "$from" --to "$to" \
		--threshold 2e-4) || fail "$what: discontinuities: $out"
	note "$what: ${len}s, $(kv freq "$(wavtool freq "$W" --channel "$ch" \
		--from "$from" --to "$to")") Hz, max residual $(kv max_residual "$out")"
}

check_tone 0 440 "A (44100 Hz, left)"
check_tone 1 1000 "B (48000 Hz, right)"
same_channel "$T/b.wav" "$W" 1 "B (right)"
# Nothing of either leaked onto the other's channel: each channel's sound
# spans its own client's time only (checked above); and B's side of A's
# channel is exact zero (the right channel is bit-exact B, zeros included).

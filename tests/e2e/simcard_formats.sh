#!/bin/bash
# aplay through the simulated card, every sample format, several rates and
# channel counts: the card's WAV holds the input bit for bit, followed only
# by the silence aplay pads its last period with; the event log reports the
# format the stream was opened with.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd aplay

# The WAV writer stores S24 as 24 valid bits in a 32-bit container, which
# aplay reads as S32_LE; S24_LE is played from raw data instead.
play_s24_raw() {
	local in=$1 dev=$2 rate=$3 ch=$4
	wavtool raw "$in" "$in.raw"
	run_foreign aplay -q -t raw -f S24_LE -r "$rate" -c "$ch" -D "$dev" "$in.raw"
}

# check FORMAT CHANNELS RATE PATTERN SECONDS
check() {
	local fmt=$1 ch=$2 rate=$3 pattern=$4 secs=$5
	local name=$fmt-$ch-$rate-$pattern
	local in=$T/in-$name.wav out=$T/card-$name.wav info frames cmp alsa_fmt
	local dev

	dev=$(card "OUT=$out")
	wavtool gen "$in" --format "$fmt" --channels "$ch" --rate "$rate" \
		--pattern "$pattern" --seed "$ch$rate" --seconds "$secs"
	frames=$(kv frames "$(wavtool info "$in")")
	if [ "$fmt" = s24 ]; then
		play_s24_raw "$in" "$dev" "$rate" "$ch"
		alsa_fmt=S24_LE
	else
		run_foreign aplay -q -D "$dev" "$in"
		alsa_fmt=$(kv format "$(wavtool info "$in")")
	fi

	info=$(wavtool info "$out")
	assert_eq "$(kv rate "$info")" "$rate" "$name: card WAV rate"
	assert_eq "$(kv channels "$info")" "$ch" "$name: card WAV channels"
	assert_eq "$(kv format "$info")" "$alsa_fmt" "$name: card WAV format"
	assert_eq "$(ev "$out.events" open format)" "$alsa_fmt" "$name: logged format"
	assert_eq "$(ev "$out.events" open rate)" "$rate" "$name: logged rate"
	assert_eq "$(ev "$out.events" open channels)" "$ch" "$name: logged channels"

	cmp=$(wavtool cmp "$in" "$out" --frames "$frames") ||
		fail "$name: card WAV differs from the input: $cmp"
	# Anything after the input is aplay's padding of its last period.
	assert_le "$(kv last_nonzero "$(wavtool silence "$out")")" \
		"$((frames - 1))" "$name: last sound in the card WAV"
	assert_le "$(kv frames "$info")" \
		"$((frames + $(ev "$out.events" open period)))" "$name: card WAV frames"
	note "$name: $frames frames bit-exact"
}

check s16   2  48000 ramp  0.5
check s16   1   8000 noise 0.4
check s16   3  11025 ramp  0.3
check s24   2  96000 ramp  0.3
check s24   5  32000 noise 0.3
check s32   2  44100 ramp  0.3
check s32   6  44100 noise 0.3
check float 2  48000 noise 0.3
check float 8 192000 ramp  0.2
check float 1  22050 noise 0.3

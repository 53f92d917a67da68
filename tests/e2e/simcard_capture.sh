#!/bin/bash
# arecord from the simulated card: the capture sine has the asked frequency
# and level, no discontinuities, and is sample for sample the sine
# AMP*sin(2*pi*FREQ*k/rate) counted from card frame 0 -- in every format,
# with RW and MMAP access. CAPTURE=silence records digital silence.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd arecord

# record FORMAT CHANNELS RATE FREQ AMP [arecord options]: sets REC.
record() {
	local fmt=$1 ch=$2 rate=$3 freq=$4 amp=$5
	shift 5
	REC=$T/rec-$fmt-$ch-$rate-$freq.wav
	if [ "$fmt" = S24_LE ]; then
		# arecord writes S24_LE WAVs (24 bits in 4 bytes, no extensible
		# header) that core/wav does not read: go through raw data.
		run_foreign arecord -q -D "$(card "FREQ=$freq,AMP=$amp")" -t raw \
			-f "$fmt" -c "$ch" -r "$rate" -d 1 "$@" "$REC.raw"
		wavtool wrap "$REC.raw" "$REC" --rate "$rate" --channels "$ch" \
			--format "$fmt"
	else
		run_foreign arecord -q -D "$(card "FREQ=$freq,AMP=$amp")" \
			-f "$fmt" -c "$ch" -r "$rate" -d 1 "$@" "$REC"
	fi
}

# check FORMAT CHANNELS RATE FREQ AMP [arecord options]
check() {
	local fmt=$1 ch=$2 rate=$3 freq=$4 amp=$5 name="$*" m ref cmp c
	local want_db

	record "$@"
	assert_eq "$(kv frames "$(wavtool info "$REC")")" "$rate" "$name: frames in 1 s"
	want_db=$(calc "20 * log($amp / sqrt(2)) / log(10)")
	for ((c = 0; c < ch; c++)); do
		m=$(wavtool freq "$REC" --channel $c)
		assert_near "$(kv freq "$m")" "$freq" 0.05 "$name: channel $c frequency"
		assert_near "$(kv rms_dbfs "$m")" "$want_db" 0.05 "$name: channel $c level"
		wavtool gaps "$REC" --freq "$freq" --channel $c >"$T/gaps" ||
			fail "$name: channel $c has gaps: $(head -3 "$T/gaps")"
	done
	ref=$T/ref.wav
	wavtool gen "$ref" --format "$fmt" --channels "$ch" --rate "$rate" \
		--freq "$freq" --amp "$amp" --seconds 1
	cmp=$(wavtool cmp "$ref" "$REC") ||
		fail "$name: not the card's sine from frame 0: $cmp"
	note "$name: $(kv freq "$m") Hz, $(kv rms_dbfs "$m") dBFS, bit-exact"
}

check S16_LE   2 48000 1000 0.5
check S16_LE   1  8000  440 0.25
check S24_LE   2 96000  997 0.7
check S32_LE   4 44100 1234 0.5
check FLOAT_LE 2 48000  100 0.9
check S16_LE   2 48000 1000 0.5 -M
check FLOAT_LE 1 44100 3000 0.3 -M

# Silence source.
REC=$T/silence.wav
run_foreign arecord -q -D "$(card CAPTURE=silence)" -f S16_LE -c 2 -r 48000 \
	-d 1 "$REC"
assert_eq "$(kv first_nonzero "$(wavtool silence "$REC")")" -1 "CAPTURE=silence"

# Recording takes real time.
timed WALL run_foreign arecord -q -D "$(card FREQ=1000)" -f S16_LE -c 2 \
	-r 48000 -d 2 "$T/timed.wav"
assert_between "$WALL" 1.95 5 "arecord -d 2 wall time"

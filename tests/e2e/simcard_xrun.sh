#!/bin/bash
# XRUN=ms injects an xrun every ms of running. aplay and arecord see it as
# an ordinary underrun/overrun (-EPIPE), report it, prepare the card and go
# on. Playback: the card WAV is the input cut into runs, each run a
# bit-exact, later piece of the input. Capture: the recording has a
# discontinuity at each overrun and is a clean sine in between.
. "$(dirname "$0")/lib.sh"
need_simcard
need_cmd aplay arecord

XRUN_MS=700
IN=$T/in.wav OUT=$T/card.wav
wavtool gen "$IN" --rate 48000 --channels 2 --pattern noise --seconds 3
in_frames=$(kv frames "$(wavtool info "$IN")")

run_foreign aplay -D "$(card "OUT=$OUT,XRUN=$XRUN_MS")" "$IN" 2>"$T/aplay.err" ||
	{ cat "$T/aplay.err"; fail "aplay did not recover from the xruns"; }
cat "$T/aplay.err"
xruns=$(ev_count "$OUT.events" xrun)
starts=$(ev_count "$OUT.events" start)
underruns=$(grep -c 'underrun' "$T/aplay.err" || true)
# Each run plays 0.7 s and loses what was buffered (aplay's 0.5 s): 3 s of
# input make 2 xruns, more if aplay restarts with less than a full buffer.
assert_ge "$xruns" 2 "xruns logged"
assert_eq "$starts" $((xruns + 1)) "runs (starts) after $xruns xruns"
assert_eq "$underruns" "$xruns" "underruns aplay reported"

# Runs: WAV frames [start_i, start_i+1). The card stops at the xrun and
# restarts where the WAV ended.
mapfile -t run_start < <(ev_all "$OUT.events" start frame)
mapfile -t xrun_at < <(ev_all "$OUT.events" xrun frame)
for ((i = 0; i < xruns; i++)); do
	assert_eq "${run_start[i + 1]}" "${xrun_at[i]}" "run $((i + 1)) starts where xrun $i stopped"
done
card_frames=$(kv frames "$(wavtool info "$OUT")")
run_start+=("$card_frames")

# Each run is a piece of the input, later than the one before.
prev_end=0
for ((i = 0; i <= xruns; i++)); do
	len=$((run_start[i + 1] - run_start[i]))
	[ "$len" -gt 32 ] || fail "run $i has only $len frames"
	r=$(wavtool cmp "$OUT" "$IN" --skip-a "${run_start[i]}" --frames 32 --find) ||
		fail "run $i (WAV frame ${run_start[i]}) is not from the input: $r"
	off=$(kv offset_b "$r")
	assert_ge "$off" "$prev_end" "run $i starts in the input after run $((i - 1))"
	# The last run carries aplay's padding past the end of the input.
	((len > in_frames - off)) && len=$((in_frames - off))
	r=$(wavtool cmp "$OUT" "$IN" --skip-a "${run_start[i]}" --skip-b "$off" \
		--frames "$len") || fail "run $i differs from the input: $r"
	prev_end=$((off + len))
	note "run $i: card frames ${run_start[i]}+$len = input frames $off+$len"
done
assert_eq "$prev_end" "$in_frames" "the last run ends with the input"

# Capture.
REC=$T/rec.wav
run_foreign arecord -D "$(card "FREQ=1000,EVENTS=$T/rec.events,XRUN=300")" \
	-f S16_LE -c 1 -r 48000 -d 1 "$REC" 2>"$T/arecord.err" ||
	{ cat "$T/arecord.err"; fail "arecord did not recover from the xruns"; }
cat "$T/arecord.err"
xruns=$(ev_count "$T/rec.events" xrun)
overruns=$(grep -c 'overrun' "$T/arecord.err" || true)
assert_ge "$xruns" 2 "capture xruns logged"
# The card may log one last xrun that arecord, done, never read about.
assert_between "$overruns" $((xruns - 1)) "$xruns" "overruns arecord reported"
gaps=$(wavtool gaps "$REC" --freq 1000 | tail -1 || true)
# A restart that happens to land in phase with the sine (a whole number of
# its 48-frame periods later) is no discontinuity anyone can see.
assert_between "$(kv gaps "$gaps")" $((overruns - 1)) "$overruns" "discontinuities in the recording"

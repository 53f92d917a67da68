#!/bin/bash
# lull-rec through lulld on the simulated card, whose capture side plays a
# 1000 Hz sine: 1 s recorded at 16000, 44100 and 48000 Hz is a valid WAV
# of exactly 1 s, 1000 Hz within 0.1 %, without a gap; raw samples on
# standard output are the same sine; a lull-rec stopped by SIGINT exits 0
# and leaves a valid WAV, and so does one killed by SIGKILL (its header is
# kept valid while it records); with no lulld it fails, saying why, and
# leaves no file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
need_file "$BUILD/lull-rec"

REC=$BUILD/lull-rec

# check_sine WAV RATE WHAT: WAV is RATE Hz and holds the 1000 Hz sine,
# without a gap. Sets FRAMES. The first 10 ms are left out of the gap
# search: the resampler's start is no gap of lull-rec's.
check_sine() {
	local info fq
	info=$(wavtool info "$1") || fail "$3: not a readable WAV"
	assert_eq "$(kv rate "$info")" "$2" "$3: sample rate"
	FRAMES=$(kv frames "$info")
	fq=$(wavtool freq "$1" --from 0.01) || fail "$3: no tone"
	assert_near "$(kv freq "$fq")" 1000 1 "$3: frequency (Hz)"
	wavtool gaps "$1" --freq 1000 --from 0.01 >"$T/gaps" ||
		fail "$3: gaps in the sine: $(head -3 "$T/gaps")"
	note "$3: $FRAMES frames of $(kv freq "$fq") Hz, no gap"
}

# rec_killed SIGNAL NAME: lull-rec recording NAME.wav until SIGNAL, sent
# once it has recorded for about half a second. Sets RC.
rec_killed() {
	local pid
	"$REC" -q "$T/$2.wav" 2>"$T/$2.err" &
	pid=$!
	wait_for 10 test -s "$T/$2.wav" || fail "$2: lull-rec made no file"
	sleep 0.5
	kill "-$1" "$pid"
	RC=0
	wait "$pid" || RC=$?
}

lulld_start card

# --- 1 s at three rates -----------------------------------------------------
for rate in 16000 44100 48000; do
	"$REC" -r "$rate" -d 1 "$T/r$rate.wav" 2>"$T/r$rate.err" ||
		fail "lull-rec -r $rate: $(cat "$T/r$rate.err")"
	check_sine "$T/r$rate.wav" "$rate" "$rate Hz"
	assert_eq "$FRAMES" "$rate" "$rate Hz: frames in 1 s"
	grep -q "recorded $rate frames.*lost 0 frames" "$T/r$rate.err" ||
		fail "$rate Hz: lull-rec's report: $(cat "$T/r$rate.err")"
done

# --- raw samples on standard output -------------------------------------------
"$REC" -q -r 48000 -c 1 -f float -d 0.5 - >"$T/raw.raw" ||
	fail "lull-rec - failed"
assert_eq "$(stat -c %s "$T/raw.raw")" $((24000 * 4)) "bytes of 0.5 s mono float"
wavtool wrap "$T/raw.raw" "$T/raw.wav" --rate 48000 --channels 1 \
	--format float >/dev/null
check_sine "$T/raw.wav" 48000 "raw"

# --- stopped by SIGINT: a clean end -------------------------------------------
rec_killed INT int
assert_eq "$RC" 0 "exit status after SIGINT"
check_sine "$T/int.wav" 48000 "SIGINT"
assert_ge "$FRAMES" 12000 "SIGINT: frames recorded"

# --- killed outright: the header was valid all along ----------------------------
rec_killed KILL killed
assert_eq "$RC" 137 "exit status after SIGKILL"
check_sine "$T/killed.wav" 48000 "SIGKILL"
assert_ge "$FRAMES" 12000 "SIGKILL: frames recorded"

lulld_alive
lulld_stop

# --- no lulld -------------------------------------------------------------------
RC=0
"$REC" -d 1 "$T/none.wav" 2>"$T/none.err" || RC=$?
assert_eq "$RC" 1 "exit status without lulld"
grep -q "cannot connect" "$T/none.err" || fail "no lulld: $(cat "$T/none.err")"
[ ! -e "$T/none.wav" ] || fail "no lulld: lull-rec left a file"

# What the lulld_*.sh tests share; source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lulld_common.bash"
#
# Every time here is CLOCK_MONOTONIC in ns. The simulated card stamps its
# event log with that clock ("start t_ns=T frame=F": WAV frame F passed the
# DMA pointer at T, and frames follow at the card's rate, no drift asked),
# and lullclient --print-times prints it, so "when was X heard" and "when
# did the client ask for X" are two readings of one clock: no clock of
# lulld's own enters a measurement.
# shellcheck shell=bash

need_simcard
need_file "$BUILD/lulld" "$BUILD/tests/lullclient"

LULLD=$BUILD/lulld
LULLCLIENT=$BUILD/tests/lullclient
HOSTILE=$BUILD/tests/hostile
RATE=48000
export LULL_SOCKET=$T/run/sock

# lulld_start NAME [LULLD ARGS...]: lulld on a float card writing
# $T/NAME.wav and $T/NAME.wav.events; its stderr goes to $T/NAME.log.
lulld_start() {
	local name=$1
	shift
	rm -f "$LULL_SOCKET"
	bg "$LULLD" -vv -f float -d "$(card "OUT=$T/$name.wav")" "$@" 2>"$T/$name.log"
	LULLD_PID=$BG_PID
	LULLD_NAME=$name
	wait_for 10 test -S "$LULL_SOCKET" || fail "lulld did not create its socket"
}

# lulld_stop: SIGTERM; lulld must exit 0 within 10 s (else it is killed)
# and its log must show no sanitizer report (SAN=1) and no crash.
lulld_stop() {
	local rc=0 log=$T/$LULLD_NAME.log
	kill -TERM "$LULLD_PID"
	if ! wait_for 10 lulld_gone; then
		kill -KILL "$LULLD_PID"
		wait "$LULLD_PID" 2>/dev/null || true
		fail "lulld ($LULLD_NAME) did not exit within 10 s of SIGTERM"
	fi
	wait "$LULLD_PID" || rc=$?
	assert_no_grep 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
		"$log" "lulld ($LULLD_NAME) sanitizer report"
	assert_eq "$rc" 0 "lulld ($LULLD_NAME) exit status on SIGTERM"
}

# lulld_gone: true once lulld has exited (a zombie until waited for).
lulld_gone() {
	! kill -0 "$LULLD_PID" 2>/dev/null ||
		[ "$(awk '{ print $3 }' "/proc/$LULLD_PID/stat" 2>/dev/null)" = Z ]
}

# lulld_alive: fails unless lulld still runs.
lulld_alive() {
	kill -0 "$LULLD_PID" 2>/dev/null || fail "lulld ($LULLD_NAME) died: $(tail -3 "$T/$LULLD_NAME.log")"
}

# lc ARGS...: lullclient on our lulld. (In the background, run
# "$LULLCLIENT" itself: $! of a function is a subshell's pid.)
lc() { "$LULLCLIENT" "$@"; }

# tvals FILE KEY: every KEY=value of a lullclient --print-times output;
# tval FILE KEY: the first one.
tvals() { sed -n "s/^$2=//p" "$1"; }
tval() {
	local v
	v=$(tvals "$1" "$2" | head -n1)
	[ -n "$v" ] || fail "$1 has no $2"
	echo "$v"
}

# card_time EVENTS FRAME: when the card played WAV frame FRAME, from the
# last start (or resume) at or before it.
card_time() {
	awk -v f="$2" -v rate="$RATE" '
		$1 == "start" || $1 == "resume" {
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^t_ns=/) t = substr($i, 6)
				if ($i ~ /^frame=/) fr = substr($i, 7)
			}
			if (fr + 0 <= f + 0) { t0 = t; f0 = fr }
		}
		END { if (t0 == "") exit 1
		      printf "%.0f\n", t0 + (f - f0) * 1e9 / rate }' "$1" ||
		fail "$1: no start before frame $2"
}

# card_second EVENTS NS: the WAV position (seconds, for wavtool --from)
# that the card played at NS.
card_second() {
	awk -v t="$2" -v rate="$RATE" '
		$1 == "start" || $1 == "resume" {
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^t_ns=/) ts = substr($i, 6)
				if ($i ~ /^frame=/) fr = substr($i, 7)
			}
			if (ts + 0 <= t + 0) { t0 = ts; f0 = fr }
		}
		END { if (t0 == "") exit 1
		      printf "%.6f\n", (f0 + (t - t0) * rate / 1e9) / rate }' "$1" ||
		fail "$1: no start before $2 ns"
}

# first_heard WAV CHANNEL NS [THRESHOLD]: frame of the first sample of
# CHANNEL louder than THRESHOLD (default: nonzero) played at or after NS.
first_heard() {
	local s
	s=$(card_second "$1.events" "$3")
	kv first_nonzero "$(wavtool silence "$1" --channel "$2" --from "$s" \
		${4:+--threshold "$4"})"
}

# last_heard WAV CHANNEL FROM_NS TO_NS: last nonzero frame of CHANNEL
# between the two times (-1: none).
last_heard() {
	kv last_nonzero "$(wavtool silence "$1" --channel "$2" \
		--from "$(card_second "$1.events" "$3")" \
		--to "$(card_second "$1.events" "$4")")"
}

# ms NS_LATER NS_EARLIER: the difference in milliseconds.
ms() { calc "($1 - $2) / 1e6"; }

# median / maximum of numbers on standard input.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -g | tail -n1; }

# dump_wav NAME ARGS...: the signal lullclient ARGS would play, as a WAV,
# for bit-exact comparison with the card.
dump_wav() {
	local name=$1
	shift
	lc "$@" --dump "$T/$name.raw" || fail "lullclient --dump $*"
	wavtool wrap "$T/$name.raw" "$T/$name.wav" --rate "$RATE" --channels 2 \
		--format float >/dev/null
}

# same_as_reference REF_CARD CARD CH WHAT: channel CH of CARD holds what
# channel CH of the reference run's card did, bit for bit, over the range
# both have, lined up at the reference's first sound.
same_as_reference() {
	local first out
	first=$(kv first_nonzero "$(wavtool silence "$1" --channel "$3")")
	[ "$first" != -1 ] || fail "$4: the reference run played nothing"
	out=$(wavtool cmp "$1" "$2" --channel "$3" --skip-a "$first" --find) ||
		fail "$4: differs from the reference run: $out"
	note "$4: bit-exact with the reference run over $(kv compared "$out") frames"
}

# same_channel REF CARD CH WHAT: channel CH of CARD holds REF's channel CH
# bit for bit, wherever REF starts in it (REF must start with sound).
same_channel() {
	local out
	out=$(wavtool cmp "$1" "$2" --channel "$3" --find) ||
		fail "$4: not bit-exact: $out"
	note "$4: bit-exact over $(kv compared "$out") frames from card frame $(kv offset_b "$out")"
}

# rewind_after EVENTS NS: when the card saw lulld's first rewind at or
# after NS.
rewind_after() {
	awk -v t="$2" '$1 == "rewind" { sub("t_ns=", "", $2)
		if ($2 + 0 >= t + 0) { print $2; found = 1; exit } }
		END { exit !found }' "$1"
}

# check_latency WHAT ASKED_NS HEARD_NS EVENTS: one change asked for at
# ASKED_NS and heard at HEARD_NS (card time). Checks the part lulld decides
# exactly (from its rewind to the sound changing) against 20 ms, and the
# whole delay against 100 ms (a change left for lulld's next timer wake-up
# would take up to the whole 2 s buffer); adds the whole delay to LAT for
# the caller's median check.
check_latency() {
	local what=$1 lat t_rw rw
	lat=$(ms "$3" "$2")
	t_rw=$(rewind_after "$4" "$2") || fail "$what: no rewind on the card after the request"
	rw=$(ms "$3" "$t_rw")
	note "$what: heard $lat ms after the request ($rw ms after lulld's rewind)"
	assert_ge "$lat" 0 "$what: heard before the request (ms)"
	assert_le "$lat" 100 "$what: request to sound (ms)"
	assert_between "$rw" 0 20 "$what: rewind to sound (ms)"
	LAT+=("$lat")
}

# check_median WHAT: the median of LAT is within 20 ms; empties LAT. One
# wake-up of a busy 2-core machine can be 20 ms late; the median of a few
# is not, unless lulld itself is slow.
check_median() {
	local med
	med=$(printf '%s\n' "${LAT[@]}" | median)
	note "$1: median $med ms, max $(printf '%s\n' "${LAT[@]}" | maximum) ms over ${#LAT[@]}"
	assert_le "$med" 20 "$1: median delay (ms)"
	LAT=()
}

# b_joins N GAP [PREFIX]: B, a 0.3 s marker on the right channel, joins N
# times, GAP seconds apart, draining each time; its times go to
# $T/PREFIXb1.times ... $T/PREFIXbN.times.
b_joins() {
	local i
	for i in $(seq "$1"); do
		lc --signal marker --channel-only R --seconds 0.3 --drain --print-times \
			>"$T/${3:-}b$i.times" || fail "${3:-}B join $i failed"
		sleep "$2"
	done
}

# ramp_wav FILE: a counting ramp for the card's capture (CAPTURE=wav:FILE):
# 2^20 frames, mono float, frame k = k / 2^20, exact in float, so a
# recording at the card's rate shows any frame lost, doubled or reordered
# (needs python3).
ramp_wav() {
	python3 - "$1" <<'PY'
import struct, sys
n = 1 << 20
data = struct.pack('<%df' % n, *[k / n for k in range(n)])
hdr = b'RIFF' + struct.pack('<I', 36 + len(data)) + b'WAVE'
hdr += b'fmt ' + struct.pack('<IHHIIHH', 16, 3, 1, 48000, 4 * 48000, 4, 32)
open(sys.argv[1], 'wb').write(hdr + b'data' + struct.pack('<I', len(data)) + data)
PY
}

#!/bin/bash
# Clock drift soak: two lulld, on cards whose clocks run 500 ppm fast and
# 500 ppm slow (lullsim DRIFT=+500 / DRIFT=-500), each with one stream at
# the default latency (2 s buffer) for LULL_DRIFT_SECONDS (default 600, 60
# under SAN=1), side by side on private sockets. For each:
#
# - no xrun (card log, lulld's count) and no stream underrun;
# - wakeups on time: at its timer wakeups lulld finds the buffer at its
#   watermark, not drained by the card running fast nor still full from
#   it running slow: the median fill there is within [1/2, 2] watermarks,
#   the buffer never ran below 1/4 of one, and the median of (fill + what
#   the card played while the wakeup was late - watermark) is the same
#   on both cards within 24 frames (a clock model that missed the drift
#   would be 48 frames off per 2 s cycle, one way on the fast card and
#   the other on the slow one; what lulld does between waking and
#   reading the pointer counts on both alike), and within 150 frames;
#   the median lateness of those wakeups is below 5 ms (a loaded 2-core
#   machine makes single ones late by 20 ms or more);
# - lulld's drift estimate (the "clock" it prints at exit) is within 50 ppm
#   of the injected value.
#
# The whole test takes LULL_DRIFT_SECONDS plus about 10 s; it is cut to
# fit tests/run.sh's limit (LULL_TEST_TIMEOUT, default 900 s) when needed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"

if [ "$SAN" = 1 ]; then
	SECS=${LULL_DRIFT_SECONDS:-60}
else
	SECS=${LULL_DRIFT_SECONDS:-600}
fi
LIMIT=$((${LULL_TEST_TIMEOUT:-900} - 30))
if [ "$SECS" -gt "$LIMIT" ]; then
	note "playing $LIMIT s, not $SECS s: the runner stops a test after ${LULL_TEST_TIMEOUT:-900} s" \
		"(set LULL_TEST_TIMEOUT higher for the whole soak)"
	SECS=$LIMIT
fi
note "each stream plays $SECS s"

declare -A PID SOCK EMED
# drift_start NAME PPM: lulld on a card drifting PPM, no WAV (10 minutes
# of it would be 230 MB), its event log and -vv trace kept.
drift_start() {
	SOCK[$1]=$T/run/$1.sock
	bg "$LULLD" -vv -f float --socket "${SOCK[$1]}" -D none \
		-d "$(card "EVENTS=$T/$1.events,DRIFT=$2")" 2>"$T/$1.log"
	PID[$1]=$BG_PID
}

drift_stop() {
	local rc=0
	kill -TERM "${PID[$1]}"
	wait "${PID[$1]}" || rc=$?
	assert_eq "$rc" 0 "lulld ($1) exit status on SIGTERM"
	assert_no_grep 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
		"$T/$1.log" "lulld ($1) sanitizer report"
}

# check NAME PPM: everything above, from lulld's log and the card's.
check() {
	local name=$1 ppm=$2 log=$T/$1.log stats clock wm
	stats=$(grep -E '^lulld: [0-9]+ wakeups' "$log") || fail "$name: no final stats"
	note "$name: $stats"
	assert_eq "$(ev_count "$T/$name.events" xrun)" 0 "$name: card xruns"
	[[ $stats =~ ([0-9]+)\ xruns,\ ([0-9]+)\ stream\ underruns,\ clock\ ([-+0-9.]+)\ ppm ]] ||
		fail "$name: cannot read '$stats'"
	assert_eq "${BASH_REMATCH[1]}" 0 "$name: xruns"
	assert_eq "${BASH_REMATCH[2]}" 0 "$name: stream underruns"
	clock=${BASH_REMATCH[3]}
	assert_near "$clock" "$ppm" 50 "$name: drift estimate (ppm)"
	wm=$(sed -n 's/^lulld: watermark \([0-9]*\) frames.*/\1/p' "$log")
	# The fill lulld found at each timer wakeup (trace: wake with c odd
	# is the timer, b its lateness in ns; the fill that follows, a =
	# before), and its error: lulld plans to wake when the fill reaches
	# the watermark (trace: watermark a = new), so fill + what the card
	# played during the lateness - watermark is how far off its model of
	# the card's clock was (an unmodelled 500 ppm: 48 frames per 2 s).
	awk -v wm="$wm" -v r="$RATE" '$1 != "trace" { next }
	     $3 == "watermark" { wm = substr($4, 3); next }
	     $3 == "wake" { timer = substr($6, 3) % 2; late = substr($5, 3); next }
	     $3 == "fill" && timer { f = substr($4, 3)
		print f, late, f + late * r / 1e9 - wm, f / wm; timer = 0 }' \
		"$log" >"$T/$name.wakes"
	# the first cycles fill the buffer: leave out the first 10 s
	tail -n +6 "$T/$name.wakes" >"$T/$name.steady"
	[ "$(wc -l <"$T/$name.steady")" -ge $((SECS / 4)) ] ||
		fail "$name: only $(wc -l <"$T/$name.steady") timer wakeups in $SECS s"
	local fmed fmin rmed rmin lmed lmax emed
	fmed=$(awk '{ print $1 }' "$T/$name.steady" | median)
	fmin=$(awk '{ print $1 }' "$T/$name.steady" | sort -g | head -n1)
	# the same against the watermark of the moment (it adapts)
	rmed=$(awk '{ print $4 }' "$T/$name.steady" | median)
	rmin=$(awk '{ print $4 }' "$T/$name.steady" | sort -g | head -n1)
	lmed=$(awk '{ print $2 / 1e6 }' "$T/$name.steady" | median)
	lmax=$(awk '{ print $2 / 1e6 }' "$T/$name.steady" | maximum)
	emed=$(awk '{ print $3 }' "$T/$name.steady" | median)
	note "$name: clock $clock ppm; $(wc -l <"$T/$name.steady") timer wakeups: fill" \
		"median $fmed, min $fmin frames (watermark $wm at start); late median $lmed ms," \
		"max $lmax ms; clock model error median $emed frames"
	note "$name: fill at a timer wakeup in watermarks: median $rmed, lowest $rmin"
	awk -v r="$rmed" 'BEGIN { exit !(r >= 0.5 && r <= 2) }' ||
		fail "$name: median fill at a timer wakeup is $rmed watermarks, not within [1/2, 2]"
	awk -v r="$rmin" 'BEGIN { exit !(r >= 0.25) }' ||
		fail "$name: lowest fill at a timer wakeup is $rmin watermarks, below 1/4"
	assert_le "$lmed" 5 "$name: median lateness of timer wakeups (ms)"
	assert_between "$emed" -150 150 "$name: median wakeup error against the card's clock (frames)"
	EMED[$name]=$emed
}

mkdir -p "$T/run"
chmod 700 "$T/run"
drift_start fast +500
drift_start slow -500
wait_for 10 test -S "${SOCK[fast]}" -a -S "${SOCK[slow]}" || fail "lulld did not start"
"$LULLCLIENT" --socket "${SOCK[fast]}" --signal sine:440 --seconds "$SECS" --drain &
FAST=$!
LIB_PIDS+=("$FAST")
"$LULLCLIENT" --socket "${SOCK[slow]}" --signal sine:440 --seconds "$SECS" --drain &
SLOW=$!
LIB_PIDS+=("$SLOW")
wait "$FAST" || fail "the stream on the fast card failed"
wait "$SLOW" || fail "the stream on the slow card failed"
drift_stop fast
drift_stop slow
check fast 500
check slow -500
# What lulld does between waking and reading the pointer (more under the
# sanitizers) shows in both errors alike; a clock model that missed the
# drift would put the fast card 48 frames per 2 s cycle below it and the
# slow one as much above: 96 frames apart.
d=$(awk -v f="${EMED[fast]}" -v s="${EMED[slow]}" 'BEGIN { d = f - s; print d < 0 ? -d : d }')
note "wakeup error, fast card minus slow card: $d frames"
awk -v d="$d" 'BEGIN { exit !(d <= 24) }' ||
	fail "the clock model does not follow the drift: fast and slow cards wake $d frames apart"

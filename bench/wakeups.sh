#!/bin/bash
# Figures, not a test: how often lulld and one client wake up while a
# single stream plays at lulld's default latency on a 2 s buffer. The aim
# is about one wake-up per buffer (2 s buffer, 20 ms watermark: one every
# 1.98 s), i.e. at most 0.55 per second each for lulld and for the client.
#
#   make bench && bench/wakeups.sh [SECONDS]      (default: 20 s window)
#   BUILD=build/san bench/wakeups.sh              (another build)
#
# A wake-up is a context switch of any of the process's threads
# (voluntary + involuntary, from /proc/PID/task/*/status), counted over the
# window, after a 3 s settle once the client has started. Run once with
# lull-play playing a long WAV file and once with lullclient writing an
# endless tone.
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/lulld_common.bash"
need_file "$BUILD/lull-play"

WINDOW=${1:-20}
SETTLE=3

# ctxt PID: "TID COMM SWITCHES VOLUNTARY" for every thread of PID.
ctxt() {
	local st
	for st in /proc/"$1"/task/*/status; do
		awk -v tid="$(basename "$(dirname "$st")")" '
			/^Name:/ { name = $2 }
			/^voluntary_ctxt_switches:/ { v = $2 }
			/^nonvoluntary_ctxt_switches:/ { n = $2 }
			END { print tid, name, v + n, v }' "$st" 2>/dev/null || true
	done
}

# report WHO BEFORE AFTER: per thread and total switches per second.
report() {
	awk -v who="$1" -v secs="$WINDOW" '
		NR == FNR { before[$1] = $3; vbefore[$1] = $4; next }
		{ d = $3 - before[$1]; total += d
		  printf "    %-10s thread %-8s %-12s %5d switches (%d voluntary)  %.3f /s\n",
			who, $1, $2, d, $4 - vbefore[$1], d / secs }
		END { printf "  %-10s %.3f wake-ups/s (%d in %d s)\n", who, total / secs, total, secs }
	' "$2" "$3"
}

# measure NAME CLIENT...: lulld plus one client; prints the figures.
measure() {
	local name=$1 cpid
	shift
	lulld_start "$name" -b 2000
	"$@" >/dev/null 2>&1 & cpid=$!
	sleep "$SETTLE"
	ctxt "$LULLD_PID" >"$T/$name.lulld.0"
	ctxt "$cpid" >"$T/$name.client.0"
	sleep "$WINDOW"
	ctxt "$LULLD_PID" >"$T/$name.lulld.1"
	ctxt "$cpid" >"$T/$name.client.1"
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	lulld_stop
	echo "$name: one stream, default latency, 2 s buffer, ${WINDOW} s window"
	report lulld "$T/$name.lulld.0" "$T/$name.lulld.1"
	report client "$T/$name.client.0" "$T/$name.client.1"
	grep -E '^lulld: [0-9]+ wakeups' "$T/$name.log" | sed 's/^/  whole run: /'
}

SECS=$((SETTLE + WINDOW + 10))
wavtool gen "$T/tone.wav" --rate 48000 --channels 2 --seconds "$SECS" --freq 440
echo "target: <= 0.55 wake-ups/s for lulld and for the client"
measure lull-play "$BUILD/lull-play" -q "$T/tone.wav"
measure lullclient "$LULLCLIENT" --signal sine:440

#!/bin/bash
# Figures, not a test: lulld's wake-ups per second against the fill
# target. One client asks for a latency of 10 ms, 50 ms, 200 ms and 2 s in
# turn (one lulld each, 2 s buffer); lulld's fill target follows the
# lowest request (half of it in the card, never below two watermarks).
#
#   make bench && bench/targets.sh [SECONDS] [LATENCIES_MS...]
#                                        (default 20 s; 10 50 200 2000)
#
# For each: the latency granted and the fill target (lull-top), lulld's
# audio-thread wake-ups per second (its own counter, lull-top) and the
# context switches per second of all its threads and of the client's
# (/proc/PID/task/*/status), over the window after a 3 s settle; and what
# went wrong: xruns, underruns, the watermark at the end.
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/lulld_common.bash"
need_file "$BUILD/lull-top"

WINDOW=${1:-20}
shift || true
LATS=("$@")
[ ${#LATS[@]} -gt 0 ] || LATS=(10 50 200 2000)
SETTLE=3

# switches PID: context switches of every thread of PID, summed.
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null | awk '
		/^voluntary_ctxt_switches:|^nonvoluntary_ctxt_switches:/ { n += $2 }
		END { print n + 0 }'
}

# top_field TEXT PATTERN: the first number after PATTERN in lull-top's
# batch output.
top_field() {
	sed -n "s/.*$2 *\([-0-9.+]*\).*/\1/p" <<<"$1" | head -n1
}

# top_wakeups TEXT: lulld's wake-up counter in lull-top's batch output.
top_wakeups() {
	sed -n 's/^wakeups.*(\([0-9]*\) in all).*/\1/p' <<<"$1" | head -n1
}

# rate AFTER BEFORE SECONDS: per second, two decimals.
rate() { awk -v a="$1" -v b="$2" -v s="$3" 'BEGIN { printf "%.2f", (a - b) / s }'; }

printf '%-8s %-9s %-9s %-9s %-12s %-12s %-12s %s\n' asked granted target \
	watermark "lulld wk/s" "lulld cs/s" "client cs/s" "xruns/underruns"
for lat in "${LATS[@]}"; do
	lulld_start "t$lat" -b 2000
	"$LULLCLIENT" --signal sine:440 --latency-ms "$lat" >/dev/null 2>&1 & CPID=$!
	LIB_PIDS+=("$CPID")
	sleep "$SETTLE"
	s0=$(top_wakeups "$("$BUILD/lull-top" -b -n 1)")
	l0=$(switches "$LULLD_PID") c0=$(switches "$CPID") t0=$(now)
	sleep "$WINDOW"
	top=$("$BUILD/lull-top" -b -n 1)
	l1=$(switches "$LULLD_PID") c1=$(switches "$CPID") secs=$(elapsed "$t0")
	kill "$CPID" 2>/dev/null || true
	wait "$CPID" 2>/dev/null || true
	lulld_stop
	s1=$(top_wakeups "$top")
	granted=$(awk '$1 ~ /^[0-9]+$/ && $2 == "lullclient" { print $6 " ms"; exit }' <<<"$top")
	target=$(sed -n 's/.*target [0-9]* (\([0-9.]*\) ms).*/\1 ms/p' <<<"$top")
	wm=$(sed -n 's/.*watermark [0-9]* (\([0-9.]*\) ms).*/\1 ms/p' <<<"$top")
	bad="$(top_field "$top" 'xruns')/$(top_field "$top" 'underruns')"
	printf '%-8s %-9s %-9s %-9s %-12s %-12s %-12s %s\n' "$lat ms" "$granted" \
		"$target" "$wm" "$(rate "$s1" "$s0" "$secs")" \
		"$(rate "$l1" "$l0" "$secs")" "$(rate "$c1" "$c0" "$secs")" "$bad"
done
echo "(window ${WINDOW} s after a ${SETTLE} s settle; wk: lulld's audio-thread wake-ups," \
	"cs: context switches of all threads)"

#!/bin/bash
# Figures, not a test: the lowest latency an ordinary (not real-time)
# client holds for SECONDS with no underrun, on an idle machine and with
# both cores busy (two `yes >/dev/null`). It walks down a ladder of
# requested latencies, one fresh lulld per step (2 s buffer, default
# watermark), a tone client asking for the step's latency; a step holds
# when the card had no xrun and the stream no underrun. It stops at the
# first step that fails and says why.
#
#   make bench && bench/ladder.sh [SECONDS] [LATENCIES_MS...]
#                                      (default 60 s; 40 20 10 5 3)
#
# lulld grants a stream at least four watermarks (card part >= 2
# watermarks, ring part >= card part; see sched/stream.c), so the latency
# granted is printed next to the one asked for.
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/lulld_common.bash"
need_file "$BUILD/lull-top"

SECS=${1:-60}
shift || true
LADDER=("$@")
[ ${#LADDER[@]} -gt 0 ] || LADDER=(40 20 10 5 3)

# step NAME LAT: one rung; prints a line; returns 1 when it failed.
step() {
	local name=$1 lat=$2 top granted xr ur wm
	lulld_start "$name" -b 2000
	"$LULLCLIENT" --signal sine:440 --latency-ms "$lat" >/dev/null 2>"$T/$name.client" &
	CPID=$!
	LIB_PIDS+=("$CPID")
	sleep "$SECS"
	top=$("$BUILD/lull-top" -b -n 1 2>/dev/null || true)
	kill "$CPID" 2>/dev/null || true
	wait "$CPID" 2>/dev/null || true
	lulld_stop
	granted=$(awk '$1 ~ /^[0-9]+$/ && $2 == "lullclient" { print $6; exit }' <<<"$top")
	wm=$(sed -n 's/.*watermark [0-9]* (\([0-9.]*\) ms).*/\1/p' <<<"$top")
	local stats
	stats=$(grep -E '^lulld: [0-9]+ wakeups' "$T/$name.log")
	xr=$(sed -n 's/.* \([0-9]*\) xruns.*/\1/p' <<<"$stats")
	ur=$(sed -n 's/.* \([0-9]*\) stream underruns.*/\1/p' <<<"$stats")
	printf '  %4s ms asked, %6s ms granted: %3s xruns, %3s underruns, watermark %s ms at the end, %s\n' \
		"$lat" "${granted:-?}" "$xr" "$ur" "${wm:-?}" \
		"$( [ "$xr" = 0 ] && [ "$ur" = 0 ] && echo held || echo FAILED)"
	[ "$xr" = 0 ] && [ "$ur" = 0 ]
}

# ladder WHAT: walks down; prints the lowest that held and why the next
# failed.
ladder() {
	local what=$1 lat best=none why="every step held"
	echo "$what: $SECS s per step"
	for lat in "${LADDER[@]}"; do
		if step "$what-$lat" "$lat"; then
			best=$lat
		else
			why="$lat ms failed: $(grep -E '^lulld: [0-9]+ wakeups' "$T/$what-$lat.log" |
				sed 's/^lulld: //')"
			break
		fi
	done
	[ "$best" = none ] || best="$best ms"
	echo "  lowest that held: $best; $why"
}

ladder idle

BURN=()
for _ in 1 2; do
	yes >/dev/null &
	BURN+=("$!")
	LIB_PIDS+=("$!")
done
ladder busy
kill "${BURN[@]}" 2>/dev/null || true

#!/bin/bash
# Figures, not a test: how soon a joining stream is heard while another
# plays with the card's 2 s buffer full. A tone plays on the left; a
# client playing a constant marker on the right joins JOINS times (it plays
# 0.1 s, drains, leaves, and the next one starts 0.1-0.4 s later). For each
# join, its first sample on the card's timeline (the card's WAV and event
# log, CLOCK_MONOTONIC) is compared with
#   write  the client's first write (lullclient --print-times), and
#   exec   the moment just before its execve (stamped by a perl launcher:
#          process start, dynamic linking, connecting, creating the
#          stream all count);
# and with lulld's own rewind for that join (card event log), which is the
# part lulld decides: where in the buffer it puts the new stream.
#
# It does so on an exact card and on cards whose pointer moves in steps
# of 64 frames, 512 frames and whole periods (lullsim GRANULARITY): lulld's
# startup probe sizes its rewind safeguard from the granule, and a join
# can be no sooner than the safeguard.
#
#   make bench && bench/joinlat.sh [JOINS] [CARD...]
#       JOINS default 25; CARD: exact, 64, 512 or period (default all four)
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/lulld_common.bash"
need_cmd perl
perl -MTime::HiRes -e 1 2>/dev/null || skip "perl has no Time::HiRes"

JOINS=${1:-25}
shift || true
CARDS=("$@")
[ ${#CARDS[@]} -gt 0 ] || CARDS=(exact 64 512 period)

# launch ARGS...: prints exec_ns (CLOCK_MONOTONIC just before execve), then
# becomes ARGS.
launch() {
	perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e '
		$| = 1;
		printf "exec_ns=%.0f\n", clock_gettime(CLOCK_MONOTONIC) * 1e9;
		exec { $ARGV[0] } @ARGV or exit 127' "$@"
}

# card_start NAME CARD_ARGS: lulld_start with more card arguments; waits
# for its startup lines (the probe runs after the socket exists).
card_start() {
	rm -f "$LULL_SOCKET"
	bg "$LULLD" -vv -f float -b 2000 -d "$(card "OUT=$T/$1.wav$2")" 2>"$T/$1.log"
	LULLD_PID=$BG_PID
	LULLD_NAME=$1
	wait_for 10 grep -q '^lulld: watermark' "$T/$1.log" || fail "lulld did not start"
}

# stats COLUMN: min, median, p99 (nearest rank), max of a column of $T/lat
# (NA entries left out).
stats() {
	awk -v c="$1" '$c != "NA" { print $c }' "$T/lat" | sort -g | awk '
		{ v[NR] = $1 }
		END { if (!NR) { printf "none"; exit }
		      r = int(NR * 0.99 + 0.999); if (r > NR) r = NR
		      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "min %8.2f  median %8.2f  p99 %8.2f  max %8.2f ms", v[1], med, v[r], v[NR] }'
}

# measure NAME CARD_ARGS: the joins on one card, and their figures.
measure() {
	local name=$1 i f t_exec t_start t_conn t_write first t_heard t_rw rw W N LATE
	card_start "$name" "$2"
	"$LULLCLIENT" --signal sine:440 --channel-only L & TONE=$!
	sleep 2.5
	for i in $(seq "$JOINS"); do
		launch "$LULLCLIENT" --signal marker --channel-only R --seconds 0.1 --drain \
			--print-times >"$T/$name.j$i.times" || fail "join $i failed"
		sleep "0.$((RANDOM % 4 + 1))"
	done
	kill "$TONE"
	wait "$TONE" 2>/dev/null || true
	lulld_stop
	W=$T/$name.wav

	: >"$T/lat"
	for i in $(seq "$JOINS"); do
		f=$T/$name.j$i.times
		t_exec=$(tval "$f" exec_ns)
		t_start=$(tval "$f" start_ns)
		t_conn=$(tval "$f" connected_ns)
		t_write=$(tval "$f" first_write_ns)
		first=$(first_heard "$W" 1 "$t_write")
		if [ "$first" = -1 ]; then
			echo "join $i: never heard"
			continue
		fi
		t_heard=$(card_time "$W.events" "$first")
		# No rewind between the write and the sound: it was not put in by one.
		t_rw=$(rewind_after "$W.events" "$t_write" || echo "$t_heard")
		rw=NA
		is "$t_rw < $t_heard" && rw=$(ms "$t_heard" "$t_rw")
		echo "$(ms "$t_heard" "$t_write") $(ms "$t_heard" "$t_exec") $rw" \
			"$(ms "$t_start" "$t_exec") $(ms "$t_conn" "$t_start") $(ms "$t_write" "$t_conn")" \
			>>"$T/lat"
	done

	N=$(wc -l <"$T/lat")
	echo "card $name (lullsim${2:+ ${2#,}}): $N joins, tone playing, buffer 2 s full"
	grep -E '^lulld: probe ' "$T/$name.log" | sed 's/^lulld: /  /'
	sed -n 's/^lulld: watermark .*\(rewind safeguard [0-9]* frames ([0-9.]* ms)\).*/  \1/p' \
		"$T/$name.log"
	echo "  join latency to the first sample on the card:"
	echo "    from first write:      $(stats 1)"
	echo "    from exec:             $(stats 2)"
	echo "    lulld's rewind->sound: $(stats 3)"
	echo "  where the time from exec goes:"
	echo "    exec to main():        $(stats 4)"
	echo "    main() to connected:   $(stats 5)"
	echo "    connected to 1st write:$(stats 6)   (stream creation, first ring's worth)"
	LATE=$(awk '$1 > 100' "$T/lat" | wc -l)
	[ "$LATE" -eq 0 ] || echo "  $LATE join(s) heard more than 100 ms after the first write:" \
		"$(awk '$1 > 100 { printf "%s%.0f ms", sep, $1; sep = ", " }' "$T/lat")"
}

for c in "${CARDS[@]}"; do
	case $c in
	exact) measure exact "" ;;
	period) measure period ",GRANULARITY=period" ;;
	*) measure "g$c" ",GRANULARITY=$c" ;;
	esac
done

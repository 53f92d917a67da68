#!/bin/bash
# lulld measures the card's pointer at startup and sizes its rewind
# safeguard and watermark from it (sched/devprobe.h):
#
# - an exact pointer: the safeguard shrinks below PulseAudio's 1.33 ms;
# - GRANULARITY=512: the safeguard covers the granule (>= 512 frames) and
#   the watermark grows with it;
# - options win: --safeguard-us and --watermark-ms are used as given;
# - PREFETCH=128, declared (--prefetch) or measured through the card's
#   loopback (--probe-loopback): a stream joining a full buffer is heard
#   from its first sample; the card's log shows every join's rewind with
#   late=0 (no rewritten frame was already fetched by the DMA), and the
#   WAV holds every frame of the joining stream. With the old safeguard
#   forced (--safeguard-us 1330 --probe-ms 0) the same joins are late
#   (late > 0, frames lost): the check can fail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"

JOINS=3
B_FRAMES=14400		# 0.3 s

# probe_start NAME CARD_ARGS [LULLD ARGS...]: lulld_start with more card
# arguments; waits for the startup lines (the socket exists before the
# probe has run).
probe_start() {
	local name=$1 args=$2
	shift 2
	rm -f "$LULL_SOCKET"
	bg "$LULLD" -vv -f float -d "$(card "OUT=$T/$name.wav$args")" "$@" 2>"$T/$name.log"
	LULLD_PID=$BG_PID
	LULLD_NAME=$name
	wait_for 10 grep -q '^lulld: watermark' "$T/$name.log" ||
		fail "$name: lulld did not start: $(tail -3 "$T/$name.log")"
	grep -E '^lulld: (probe|prefetch|watermark)' "$T/$name.log" | sed 's/^/# /'
}

# safeguard NAME: "FRAMES MS" of the rewind safeguard, watermark NAME: its
# watermark in frames, from the startup line.
safeguard() {
	sed -n 's/^lulld: watermark .*rewind safeguard \([0-9]*\) frames (\([0-9.]*\) ms).*/\1 \2/p' \
		"$T/$1.log"
}
watermark() {
	sed -n 's/^lulld: watermark \([0-9]*\) frames.*/\1/p' "$T/$1.log"
}

# --- exact pointer ------------------------------------------------------------
probe_start exact ""
read -r sg_f sg_ms <<<"$(safeguard exact)"
lulld_stop
assert_grep '^lulld: probe 200 ms: pointer granularity 1 frames' "$T/exact.log" \
	"exact: the probe found an exact pointer"
assert_le "$sg_f" 63 "exact: safeguard (frames) below 1.33 ms"
assert_ge "$sg_f" 32 "exact: safeguard at least 256 bytes"
note "exact pointer: safeguard $sg_f frames ($sg_ms ms)"

# --- coarse pointer -------------------------------------------------------------
probe_start g512 ",GRANULARITY=512"
read -r sg_f sg_ms <<<"$(safeguard g512)"
wm=$(watermark g512)
lulld_stop
assert_grep '^lulld: probe 200 ms: pointer granularity 512 frames' "$T/g512.log" \
	"GRANULARITY=512: the probe found the granule"
assert_ge "$sg_f" 512 "GRANULARITY=512: safeguard (frames)"
assert_le "$sg_f" 1024 "GRANULARITY=512: safeguard (frames), not absurd"
assert_ge "$wm" 1024 "GRANULARITY=512: watermark (frames) above two granules"
note "GRANULARITY=512: safeguard $sg_f frames ($sg_ms ms), watermark $wm frames"

# --- options win over the probe ---------------------------------------------------
probe_start g512opt ",GRANULARITY=512" --safeguard-us 1330 --watermark-ms 50
read -r sg_f sg_ms <<<"$(safeguard g512opt)"
wm=$(watermark g512opt)
lulld_stop
assert_eq "$sg_f" 64 "--safeguard-us 1330 wins over the probe (frames)"
assert_eq "$wm" 2400 "--watermark-ms 50 wins over the probe (frames)"

# --- a prefetching DMA: is a joining stream's first sample heard? -----------------
# join_run NAME CARD_ARGS [LULLD ARGS...]: a tone on the left fills the
# 2 s buffer; a marker on the right joins JOINS times. Leaves in LATE the
# late= of each join's rewind and in HEARD the frames of each join heard.
join_run() {
	local name=$1 args=$2 i t_write t_done first last t_rw W
	shift 2
	probe_start "$name" "$args" "$@"
	"$LULLCLIENT" --signal sine:440 --channel-only L & TONE=$!
	LIB_PIDS+=("$TONE")
	sleep 2.5
	b_joins "$JOINS" 0.3 "$name."
	kill "$TONE"
	wait "$TONE" 2>/dev/null || true
	lulld_stop
	W=$T/$name.wav
	LATE=() HEARD=()
	for i in $(seq "$JOINS"); do
		t_write=$(tval "$T/$name.b$i.times" first_write_ns)
		t_done=$(tval "$T/$name.b$i.times" drain_done_ns)
		t_rw=$(rewind_after "$W.events" "$t_write") ||
			fail "$name: join $i: no rewind on the card"
		LATE+=("$(awk -v t="$t_rw" '$1 == "rewind" && $2 == "t_ns=" t {
			for (i = 3; i <= NF; i++) if ($i ~ /^late=/) print substr($i, 6) }' \
			"$W.events" | head -n1)")
		first=$(first_heard "$W" 1 "$t_write")
		[ "$first" != -1 ] || fail "$name: join $i: never heard"
		last=$(last_heard "$W" 1 "$t_write" "$t_done")
		HEARD+=("$((last - first + 1))")
	done
	note "$name: rewinds late=${LATE[*]}, frames heard ${HEARD[*]} of $B_FRAMES each"
}

# all_are VALUE WHAT ARRAY...: every element equals VALUE.
all_are() {
	local v=$1 what=$2 x
	shift 2
	for x in "$@"; do
		assert_eq "$x" "$v" "$what"
	done
}

join_run declared ",PREFETCH=128" --prefetch 128
read -r sg_f sg_ms <<<"$(safeguard declared)"
assert_ge "$sg_f" 176 "PREFETCH=128 declared: safeguard (frames) over prefetch + 1 ms"
all_are 0 "PREFETCH=128 declared: late= of a join's rewind" "${LATE[@]}"
all_are "$B_FRAMES" "PREFETCH=128 declared: frames of a joining stream heard" "${HEARD[@]}"

loop=lp$$
join_run measured ",PREFETCH=128,LOOP=$loop" -D none \
	--probe-loopback "$(card "CAPTURE=loop,LOOP=$loop")"
assert_grep '^lulld: prefetch 1[0-9][0-9] frames \(probe\)' "$T/measured.log" \
	"PREFETCH=128: prefetch measured through the loopback"
all_are 0 "PREFETCH=128 measured: late= of a join's rewind" "${LATE[@]}"
all_are "$B_FRAMES" "PREFETCH=128 measured: frames of a joining stream heard" "${HEARD[@]}"

# The old fixed safeguard loses the start of every join: proof that the
# checks above can fail.
join_run old ",PREFETCH=128" --safeguard-us 1330 --probe-ms 0
assert_grep '^lulld: probe off' "$T/old.log" "--probe-ms 0: no probe"
for i in $(seq 0 $((JOINS - 1))); do
	assert_ge "${LATE[$i]}" 1 "old safeguard: join $((i + 1)) late= (frames)"
	assert_le "${HEARD[$i]}" "$((B_FRAMES - 1))" "old safeguard: join $((i + 1)) frames heard"
done

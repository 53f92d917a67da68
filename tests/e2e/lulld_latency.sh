#!/bin/bash
# Per-client latency. A plays a per-frame pattern on the left at lulld's
# default latency, so the card's 2 s buffer is full. Then
#   C asks for 200 ms (it plays silence),
#   B asks for 10 ms and plays a marker on the right for 2 s, drains and
#     leaves; then C drains and leaves; A plays on.
#
# - B is heard at once: its first sample within 100 ms of its first write,
#   20 ms after lulld's rewind for it, and every frame of it is heard;
# - the lowest request rules: lulld's fill target (its -vv trace, TARGET
#   events) goes 2 s -> C's -> B's (the lowest) -> C's when B leaves ->
#   2 s when C leaves;
# - when B leaves, the target grows back without a rewind (none on the
#   card between B's drain and C's), and A's left channel is bit-exact
#   with what A wrote, start to end: no gap, no xrun, nothing lost across
#   the target shrinking and growing;
# - B's end-to-end delay (lull_stream_delay, sampled by B every 100 ms)
#   stays within what lulld granted it (+ 20 ms for a late wakeup).
#
# Not met yet, so checked only with LULL_LATENCY_STRICT=1: B asked for
# 10 ms and lulld grants 80 ms. A stream's card part is at least two
# watermarks (2 x 20 ms) and its ring part as large, and the watermark
# does not drop for a low-latency client: letting it (to 5 ms, for a
# 20 ms grant) works, but on a machine whose wakeups are now and then
# 17-19 ms late it underruns the card for every client.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"

A_ARGS=(--signal pattern:7 --channel-only L --seconds 11)
B_SECONDS=2
B_FRAMES=$((B_SECONDS * RATE))
dump_wav a "${A_ARGS[@]}"

lulld_start lat
"$LULLCLIENT" "${A_ARGS[@]}" --drain --print-times >"$T/a.times" & A_PID=$!
LIB_PIDS+=("$A_PID")
sleep 2.5
"$LULLCLIENT" --signal sine:440 --amp 0 --latency-ms 200 --seconds 6 --drain \
	--print-times >"$T/c.times" & C_PID=$!
LIB_PIDS+=("$C_PID")
sleep 1
lc --signal marker --channel-only R --latency-ms 10 --seconds "$B_SECONDS" --drain \
	--print-times --print-delay 0.1 >"$T/b.times" || fail "B (10 ms) failed"
wait "$C_PID" || fail "C (200 ms) failed"
wait "$A_PID" || fail "A failed"
lulld_stop
W=$T/lat.wav
LOG=$T/lat.log

# --- A: continuous through everything ----------------------------------------------
same_channel "$T/a.wav" "$W" 0 "A across B and C"
assert_eq "$(ev_count "$W.events" xrun)" 0 "card xruns"
assert_grep '^lulld: .* 0 xruns, 0 stream underruns' "$LOG" "lulld: no xrun, no underrun"

# --- B: heard at once, whole ---------------------------------------------------------
t_write=$(tval "$T/b.times" first_write_ns)
t_done=$(tval "$T/b.times" drain_done_ns)
first=$(first_heard "$W" 1 "$t_write")
[ "$first" != -1 ] || fail "B never heard"
last=$(last_heard "$W" 1 "$t_write" "$t_done")
assert_eq "$((last - first + 1))" "$B_FRAMES" "B: frames heard"
LAT=()
check_latency "B (10 ms) joining a full buffer" "$t_write" \
	"$(card_time "$W.events" "$first")" "$W.events"

# --- the lowest request rules; the target grows back ---------------------------------
# lulld's fill target, in frames, as it changed (trace: a = new, b = old)
targets=$(awk '$1 == "trace" && $3 == "target" { sub("a=", "", $4); printf "%s ", $4 }' "$LOG")
note "fill targets: $targets"
c_target=$(awk -v lat=200 -v r="$RATE" 'BEGIN { print lat / 2 * r / 1000 }')
b_target=$(sed -n 's/^latency_us=//p' "$T/b.times")
b_target=$((b_target * RATE / 2000000))
[[ " $targets" == *" 96000 $c_target $b_target $c_target 96000 "* ]] ||
	fail "fill target: expected ... 96000 $c_target $b_target $c_target 96000 ..., got $targets"

# No rewind from B's drain (it has left the buffer) to C's: B's leave and
# the target growing back only add to the buffer.
t_cdrain=$(tval "$T/c.times" drain_start_ns)
n=$(awk -v a="$t_done" -v b="$t_cdrain" '$1 == "rewind" { sub("t_ns=", "", $2)
	if ($2 + 0 > a + 0 && $2 + 0 < b + 0) n++ } END { print n + 0 }' "$W.events")
assert_eq "$n" 0 "rewinds on the card between B's drain and C's"

# --- B's delay --------------------------------------------------------------------------
granted=$(calc "$(sed -n 's/^latency_us=//p' "$T/b.times") / 1000")
tvals "$T/b.times" delay_ns | awk '{ print $1 / 1e6 }' >"$T/b.delays"
[ -s "$T/b.delays" ] || fail "B printed no delay"
med=$(median <"$T/b.delays")
max=$(maximum <"$T/b.delays")
e2e=$(ms "$t_done" "$(tval "$T/b.times" drain_start_ns)")
note "B asked for 10 ms, was granted $granted ms; delay median $med ms, max $max ms" \
	"over $(wc -l <"$T/b.delays") samples; last write to heard $e2e ms"
assert_le "$med" "$(calc "$granted + 20")" "B: median delay within its grant (ms)"
if [ "${LULL_LATENCY_STRICT:-0}" = 1 ]; then
	assert_le "$granted" 20 "B: latency granted for a 10 ms request (ms)"
	assert_le "$med" 20 "B: median delay for a 10 ms request (ms)"
fi

#!/bin/bash
# A card that cannot be trusted to rewind (NOREWIND=1: its DMA latches
# every frame as soon as it is written, so a rewind would never be heard)
# and lulld told so (--no-rewind, or no-rewind = yes in its config). lulld
#   - says so once at startup;
#   - never rewinds: no rewind on the card, none in its trace;
#   - keeps the buffer two watermarks full, so a stream joining a playing
#     one is still heard within two watermarks and a wake-up (instead of
#     rewinding, it waits for what is written to play out);
#   - plays the first stream bit-exact through the joins.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
. "$(dirname "$0")/lulld_robust_common.bash"

JOINS=5
A_ARGS=(--signal pattern:1 --channel-only L --seconds 5)
B_FRAMES=14400		# 0.3 s
dump_wav a "${A_ARGS[@]}"

robust_start norew NOREWIND=1 --no-rewind
lc "${A_ARGS[@]}" --drain & A_PID=$!
sleep 1
b_joins "$JOINS" 0.2
wait "$A_PID" || fail "A failed"
lulld_stop
W=$T/norew.wav L=$T/norew.log

assert_eq "$(grep -c '^lulld: rewinds are off (--no-rewind)' "$L")" 1 "startup lines saying rewinds are off"
assert_eq "$(ev_count "$W.events" rewind)" 0 "rewinds on the card"
assert_no_grep '^trace .* rewind ' "$L" "a rewind in lulld's trace"
same_channel "$T/a.wav" "$W" 0 "A with B joining"

# The bound: the buffer holds at most two watermarks (the watermark may
# have grown after a late wake-up: take the largest), and lulld wakes on
# the join's command; 60 ms for that wake-up and the client's on a loaded
# machine.
WM=$(sed -n 's/^lulld: watermark \([0-9]*\) frames.*/\1/p' "$L")
WM_MAX=$( (echo "$WM"; sed -n 's/^trace .* watermark *a=\([0-9]*\) .*/\1/p' "$L") | maximum)
BOUND=$(calc "2 * $WM_MAX * 1000 / $RATE + 60")
note "watermark $WM frames, at most $WM_MAX: a join must be heard within $BOUND ms"
LAT=()
for i in $(seq "$JOINS"); do
	t_write=$(tval "$T/b$i.times" first_write_ns)
	t_done=$(tval "$T/b$i.times" drain_done_ns)
	first=$(first_heard "$W" 1 "$t_write")
	[ "$first" != -1 ] || fail "B join $i: never heard"
	last=$(last_heard "$W" 1 "$t_write" "$t_done")
	assert_eq "$((last - first + 1))" "$B_FRAMES" "B join $i: frames heard"
	lat=$(ms "$(card_time "$W.events" "$first")" "$t_write")
	note "B join $i: heard $lat ms after its first write"
	assert_between "$lat" 0 "$BOUND" "B join $i: first write to first sound (ms)"
	LAT+=("$lat")
done
note "joins without rewinds: median $(printf '%s\n' "${LAT[@]}" | median) ms, max $(printf '%s\n' "${LAT[@]}" | maximum) ms"

# The same from the config file.
printf '[lulld]\nno-rewind = yes\n' >"$T/lulld.ini"
robust_start conf NOREWIND=1 -C "$T/lulld.ini"
lc --signal sine:440 --seconds 0.5 --drain || fail "a client on the config's lulld"
lulld_stop
assert_eq "$(grep -c '^lulld: rewinds are off' "$T/conf.log")" 1 "config: startup lines saying rewinds are off"
assert_eq "$(ev_count "$T/conf.wav.events" rewind)" 0 "config: rewinds on the card"

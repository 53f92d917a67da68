#!/bin/bash
# Clients that go wrong hurt only themselves. While stream A plays a
# per-frame pattern on the left channel:
#   kill   client B (a 44.1 kHz tone on the right) dies of SIGKILL mid-stream;
#   stall  client B stops writing and holds its stream open (it runs dry);
# and in each case A stays bit-exact (against the samples it wrote and
# against a run of A alone), a new client is served and heard afterwards,
# and lulld exits 0 on SIGTERM without a sanitizer report. A dead client's
# unplayed audio is taken out of the buffer: its tone stops on the card
# soon after the kill, not 2 s later.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"

A_ARGS=(--signal pattern:3 --channel-only L --seconds 5)
dump_wav a "${A_ARGS[@]}"

lulld_start ref
lc "${A_ARGS[@]}" --drain || fail "A (alone) failed"
lulld_stop
same_channel "$T/a.wav" "$T/ref.wav" 0 "A alone"

# newcomer NAME: a new client plays 0.2 s of marker on the right; it must
# be served, and heard whole.
newcomer() {
	lc --signal marker --channel-only R --seconds 0.2 --drain --print-times \
		>"$T/$1.new.times" || fail "$1: a new client was not served"
}

check_newcomer() {
	local f=$T/$1.new.times w=$T/$1.wav first last
	first=$(first_heard "$w" 1 "$(tval "$f" first_write_ns)")
	last=$(last_heard "$w" 1 "$(tval "$f" first_write_ns)" "$(tval "$f" drain_done_ns)")
	[ "$first" != -1 ] || fail "$1: the new client was not heard"
	assert_eq "$((last - first + 1))" 9600 "$1: frames of the new client heard"
}

check_a() {
	same_channel "$T/a.wav" "$T/$1.wav" 0 "$1: A"
	same_as_reference "$T/ref.wav" "$T/$1.wav" 0 "$1: A"
}

# --- kill ----------------------------------------------------------------------------
lulld_start kill
lc "${A_ARGS[@]}" --drain & A_PID=$!
sleep 0.5
"$LULLCLIENT" --rate 44100 --signal sine:1000 --channel-only R --print-times \
	>"$T/b.times" &
B_PID=$!
sleep 1
KILL_NS=$(perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e '
	my $t = clock_gettime(CLOCK_MONOTONIC);
	kill("KILL", $ARGV[0]) or exit 1;
	printf "%.0f\n", $t * 1e9' "$B_PID") || fail "cannot kill B"
{ wait "$B_PID"; } 2>/dev/null || true
sleep 0.3
lulld_alive
newcomer kill
wait "$A_PID" || fail "A failed"
lulld_stop
check_a kill
check_newcomer kill
LAST=$(last_heard "$T/kill.wav" 1 "$((KILL_NS - 100000000))" \
	"$(tval "$T/kill.new.times" first_write_ns)")
[ "$LAST" != -1 ] || fail "kill: B was not playing when killed"
GONE_MS=$(ms "$(card_time "$T/kill.wav.events" "$((LAST + 1))")" "$KILL_NS")
note "kill: B's tone stopped $GONE_MS ms after SIGKILL"
# Its hangup goes through lulld's control thread and then a rewind: two
# wake-ups, well inside 100 ms even on a loaded machine; not rewinding it
# away would leave up to 2 s of it playing.
assert_between "$GONE_MS" 0 100 "kill: B heard after SIGKILL (ms)"

# --- stall -----------------------------------------------------------------------------
lulld_start stall
lc "${A_ARGS[@]}" --drain & A_PID=$!
sleep 0.5
"$LULLCLIENT" --signal sine:1000 --channel-only R --latency-ms 100 --stop-writing-at 0.5 \
	--print-times >"$T/stall.b.times" & B_PID=$!
sleep 1.5
lulld_alive
kill -0 "$B_PID" 2>/dev/null || fail "stall: B did not hold its stream"
newcomer stall
kill -TERM "$B_PID"
{ wait "$B_PID"; } 2>/dev/null || true
wait "$A_PID" || fail "A failed"
lulld_stop
check_a stall
check_newcomer stall
grep -Eq '^trace .* underrun +a=[0-9]+' "$T/stall.log" ||
	fail "stall: lulld never saw B run dry"

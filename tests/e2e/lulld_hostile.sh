#!/bin/bash
# A hostile client (tests/hostile, on the raw protocol) hurts only itself.
# While stream A plays a per-frame pattern on the left, the hostile client
# attacks for 2 s in one way per case (see tests/hostile.c):
#   default   scribbles over all its shared memory, floods its server
#             eventfd, sends malformed packets and requests on other
#             clients' stream ids, holds a second stream and never writes
#   storm     legal pause/resume/volume requests, non-stop
#   monitor   reopens the read-only monitor memfd read-write, scribbles it
#   nan       float samples that are NaN, infinite or 1e30, at volume 0:
#             nothing of them may be heard
#   eventfd   clears O_NONBLOCK on the eventfds it shares with lulld and
#             fills the counter lulld writes to
#   hog       opens streams until lulld refuses
# In every case: A is bit-exact (against what it wrote and against a run
# of A alone), a new client is served and heard whole during the attack
# and after it, no request on a stream id that is not the hostile's own
# succeeds, and lulld exits 0 on SIGTERM without a sanitizer report.
#
# Every case runs to the end and the test fails at the end with the list
# of the attacks that hurt someone else, so one run shows them all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
need_file "$HOSTILE"

A_ARGS=(--signal pattern:4 --channel-only L --seconds 4)
dump_wav a "${A_ARGS[@]}"
lulld_start ref
lc "${A_ARGS[@]}" --drain || fail "A (alone) failed"
lulld_stop
same_channel "$T/a.wav" "$T/ref.wav" 0 "A alone"

HURT=()

# soft WHAT CMD...: runs the check CMD (which may fail) in a subshell and
# remembers WHAT when it fails, instead of ending the test.
soft() {
	local what=$1
	shift
	if ! ("$@"); then
		HURT+=("$what")
	fi
}

# A newcomer plays 0.2 s of marker on the right: served, and heard whole.
newcomer() {
	timeout 10 "$LULLCLIENT" --signal marker --channel-only R --seconds 0.2 \
		--drain --print-times >"$T/$1.times"
}

heard_whole() {
	local f=$T/$1.times w=$T/$2.wav first last
	first=$(first_heard "$w" 1 "$(tval "$f" first_write_ns)")
	last=$(last_heard "$w" 1 "$(tval "$f" first_write_ns)" "$(tval "$f" drain_done_ns)")
	[ "$first" != -1 ] || fail "$1: not heard"
	assert_eq "$((last - first + 1))" 9600 "$1: frames heard"
}

# stop_soft NAME: lulld_stop that records instead of failing.
stop_soft() {
	local rc=0
	kill -TERM "$LULLD_PID"
	if ! wait_for 10 lulld_gone; then
		HURT+=("$1: lulld did not exit within 10 s of SIGTERM (killed)")
		kill -KILL "$LULLD_PID"
	fi
	wait "$LULLD_PID" || rc=$?
	[ "$rc" = 0 ] || HURT+=("$1: lulld exit status $rc")
	if grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
		"$T/$1.log"; then
		HURT+=("$1: sanitizer report in lulld's log")
	fi
}

# run_case NAME HOSTILE-ARGS...
run_case() {
	local name=$1 a_pid h_pid rc
	shift
	lulld_start "$name"
	timeout 20 "$LULLCLIENT" "${A_ARGS[@]}" --drain & a_pid=$!
	sleep 0.5
	timeout 30 "$HOSTILE" --seconds 2 "$@" >"$T/$name.hostile" 2>&1 & h_pid=$!
	sleep 1
	newcomer "$name.during" || HURT+=("$name: no new client served during the attack")
	rc=0
	wait "$h_pid" || rc=$?
	[ "$rc" = 0 ] || HURT+=("$name: hostile itself failed ($rc): $(tail -1 "$T/$name.hostile")")
	newcomer "$name.after" || HURT+=("$name: no new client served after the attack")
	lulld_gone && HURT+=("$name: lulld died")
	rc=0
	wait "$a_pid" || rc=$?
	[ "$rc" = 0 ] || HURT+=("$name: A did not play to its end (exit $rc)")
	stop_soft "$name"
	note "$name: $(grep -h 'rounds=' "$T/$name.hostile" || echo 'hostile printed nothing')"
	soft "$name: A not bit-exact" same_channel "$T/a.wav" "$T/$name.wav" 0 "$name: A"
	soft "$name: A differs from the run of A alone" \
		same_as_reference "$T/ref.wav" "$T/$name.wav" 0 "$name: A"
	for when in during after; do
		grep -q drain_done_ns "$T/$name.$when.times" || continue
		soft "$name: new client ($when) not heard whole" \
			heard_whole "$name.$when" "$name"
	done
	if grep -q 'foreign_ok=[1-9]' "$T/$name.hostile"; then
		HURT+=("$name: lulld accepted a request on another client's stream")
	fi
	if grep -q 'truncate=ALLOWED' "$T/$name.hostile"; then
		HURT+=("$name: the stream memory could be truncated")
	fi
	return 0
}

run_case default
run_case storm --do storm
run_case monitor --do monitor
run_case nan --do nan
run_case eventfd --do eventfd
run_case hog --do hog

if [ "${#HURT[@]}" -gt 0 ]; then
	printf 'HURT: %s\n' "${HURT[@]}" >&2
	fail "${#HURT[@]} check(s) show a hostile client hurting others (listed above)"
fi

#!/bin/bash
# The card fails under lulld: FAIL=1500 makes every handle of the simulated
# card fail for good 1.5 s after it first started (-ENODEV, disconnected;
# then -EIO, with FAILERR=io); a new handle works (APPEND=1: it carries on
# in the same WAV). A client plays a pattern on the left channel through
# several failures. lulld
#   - logs each loss and each reopen, once, and says how long it took;
#   - keeps the client's stream: the client plays to its end and drains;
#   - resumes it on the new card: the WAV receives the client's audio after
#     each failure, every run a later piece of it, never a repeat;
#   - exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
. "$(dirname "$0")/lulld_robust_common.bash"

C_ARGS=(--signal pattern:5 --channel-only L --seconds 5)
dump_wav ref "${C_ARGS[@]}"

for err in nodev io; do
	robust_start "$err" "FAIL=1500,FAILERR=$err,APPEND=1"
	timeout 30 "$LULLCLIENT" "${C_ARGS[@]}" --drain --print-times >"$T/$err.times" ||
		fail "$err: the client did not play through the failures"
	lulld_alive
	lulld_stop
	W=$T/$err.wav L=$T/$err.log
	fails=$(ev_count "$W.events" fail)
	lost=$(grep -c '^lulld: lost the card' "$L" || true)
	back=$(grep -c '^lulld: the card .* is back after' "$L" || true)
	note "$err: the card failed $fails times; lulld logged $lost losses, $back reopens"
	assert_ge "$fails" 2 "$err: failures during the client's 5 s"
	# The last handle may fail after the client is gone, before SIGTERM.
	assert_between "$lost" $((fails - 1)) "$fails" "$err: losses logged"
	assert_between "$back" $((lost - 1)) "$lost" "$err: reopens logged"
	want=$([ "$err" = nodev ] && echo "No such device" || echo "Input/output error")
	assert_grep "^lulld: lost the card .*: $want" "$L" "$err: the cause is logged"
	grep -o 'back after [0-9]* ms' "$L" | sed "s/^/# $err: /"
	# Each failure to the client's audio on the next handle.
	mapfile -t f_ns < <(ev_all "$W.events" fail t_ns)
	mapfile -t s_ns < <(ev_all "$W.events" start t_ns)
	for t in "${f_ns[@]}"; do
		next=$(printf '%s\n' "${s_ns[@]}" | awk -v t="$t" '$1 > t { print; exit }')
		[ -n "$next" ] || continue
		ms_back=$(ms "$next" "$t")
		note "$err: card restarted $ms_back ms after failing"
		# lulld notices at its next wake-up (at most a buffer, 2 s), then
		# reopens after 50 ms.
		assert_le "$ms_back" 3000 "$err: failure to restart (ms)"
	done
	runs=$(check_runs "$W" "$T/ref.wav" "$err")
	assert_ge "$runs" 2 "$err: runs of the client's audio (before and after a failure)"
	assert_grep '^lulld: card trouble: [0-9]+ suspends, [1-9][0-9]* failures' "$L" \
		"$err: failures counted"
done

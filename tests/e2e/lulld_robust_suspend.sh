#!/bin/bash
# The card is suspended under lulld (SUSPEND=700: every 0.7 s of running;
# delay and the transfer calls answer -ESTRPIPE). With RESUME=yes it can
# resume where it stopped: lulld resumes it and the client's audio goes on
# seamlessly, bit-exact. With RESUME=no it cannot (snd_pcm_resume leaves
# it suspended): lulld prepares it again, and the client's audio goes on
# after a skip, never repeating. Either way lulld counts the suspends, the
# client plays to its end, and lulld exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
. "$(dirname "$0")/lulld_robust_common.bash"

C_ARGS=(--signal pattern:7 --channel-only L --seconds 4)
dump_wav ref "${C_ARGS[@]}"

for resume in yes no; do
	n=resume_$resume
	robust_start "$n" "SUSPEND=700,RESUME=$resume"
	timeout 30 "$LULLCLIENT" "${C_ARGS[@]}" --drain ||
		fail "$n: the client did not play through the suspends"
	lulld_alive
	lulld_stop
	W=$T/$n.wav
	susp=$(ev_count "$W.events" suspend)
	counted=$(sed -n 's/^lulld: card trouble: \([0-9]*\) suspends.*/\1/p' "$T/$n.log")
	note "$n: the card was suspended $susp times; lulld counted $counted"
	assert_ge "$susp" 2 "$n: suspends during the client's 4 s"
	# The last may come after the client left, unnoticed before SIGTERM.
	assert_between "$counted" $((susp - 1)) "$susp" "$n: suspends lulld counted"
	runs=$(check_runs "$W" "$T/ref.wav" "$n")
	if [ "$resume" = yes ]; then
		assert_eq "$(ev_count "$W.events" resume)" "$counted" "$n: resumes"
		assert_eq "$runs" 1 "$n: runs (resumed, not restarted)"
		same_channel "$T/ref.wav" "$W" 0 "$n: the client's audio"
	else
		assert_eq "$(ev_count "$W.events" resume)" 0 "$n: resumes"
		assert_ge "$runs" 2 "$n: runs of the client's audio"
	fi
done

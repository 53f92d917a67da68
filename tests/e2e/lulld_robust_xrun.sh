#!/bin/bash
# xruns under lulld (XRUN=500: the card stops with -EPIPE every 0.5 s of
# running, its buffer lost). lulld prepares it again, counts each xrun, and
# the client's audio goes on: each run of the card a later piece of it,
# never replaying what was lost or already heard. The client plays to its
# end; lulld exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
. "$(dirname "$0")/lulld_robust_common.bash"

C_ARGS=(--signal pattern:9 --channel-only L --seconds 4)
dump_wav ref "${C_ARGS[@]}"

robust_start xrun XRUN=500
timeout 30 "$LULLCLIENT" "${C_ARGS[@]}" --drain || fail "the client did not play through the xruns"
lulld_alive
lulld_stop
W=$T/xrun.wav
xruns=$(ev_count "$W.events" xrun)
counted=$(sed -n 's/^lulld: [0-9]* wakeups, .* \([0-9]*\) xruns,.*/\1/p' "$T/xrun.log")
note "the card had $xruns xruns; lulld counted $counted"
assert_ge "$xruns" 2 "xruns during the client's 4 s"
# The last may come after the client left, unnoticed before SIGTERM.
assert_between "$counted" $((xruns - 1)) "$xruns" "xruns lulld counted"
assert_eq "$(grep -Ec '^trace .* xrun +a=-32 ' "$T/xrun.log")" "$counted" "xruns traced"
runs=$(check_runs "$W" "$T/ref.wav" xrun)
assert_ge "$runs" 2 "runs of the client's audio"

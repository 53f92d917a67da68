#!/bin/bash
# Smallest safe rewind margin over the card's own bit-exact loopback.
#   PREFETCH=128: margins below 128 lose 128 - m frames; the lead is found
#   within 112..160 frames, the safe margin within 128..192, and the
#   safeguard covers it. PREFETCH=0: safe at the first grid step or two.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ptrtest_common.bash"

loop=pt$$
pt pf128 -d 1 --loopback "lullsim:CAPTURE=loop,LOOP=$loop" "lullsim:LOOP=$loop,PREFETCH=128"
assert_eq "$(j pf128 playback.loopback.exact)" true "frame-exact markers"
assert_between "$(j pf128 playback.loopback.lead_frames)" 112 160 "PREFETCH=128 lead"
assert_between "$(j pf128 playback.loopback.safe_margin_frames)" 128 192 "PREFETCH=128 safe margin"
assert_between "$(j pf128 playback.loopback.trials.0.lost)" 120 160 "PREFETCH=128 loss at margin 0"
assert_ge "$(j pf128 playback.verdict.safeguard_frames)" 176 "safeguard over prefetch"
finding pf128 prefetch || fail "PREFETCH not noted"

pt pf0 -d 1 --loopback "lullsim:CAPTURE=loop,LOOP=$loop" "lullsim:LOOP=$loop"
assert_le "$(j pf0 playback.loopback.safe_margin_frames)" 32 "no prefetch: safe margin"
assert_le "$(j pf0 playback.loopback.lead_frames)" 8 "no prefetch: lead"
assert_le "$(j pf0 playback.verdict.safeguard_ms)" 2 "no prefetch: safeguard"

#!/bin/bash
# A jittery pointer: JITTER=500 us is found within 300..800 us. The card's
# pointer never goes backwards, which hides part of the early side of the
# band, so the figure is the band actually seen (measured 480..630 us).
# JITTER=10000 raises the watermark above the 10 ms floor (its p99 alone,
# measured 2.2..2.7 ms, puts it at 13 ms or more).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ptrtest_common.bash"

pt j500 -d 2 lullsim:JITTER=500
assert_between "$(j j500 playback.jitter.max_us)" 300 800 "JITTER=500"
assert_eq "$(j j500 playback.granularity.frames)" 1 "granularity with jitter"
assert_between "$(j j500 playback.clock.drift_ppm)" -40 40 "drift with jitter"
assert_eq "$(j j500 playback.pointer.stalls)" 0 "stalls with jitter"
assert_eq "$(j j500 playback.verdict.timer_fit)" true "timer fit with jitter"

pt j10k -d 2 lullsim:JITTER=10000
assert_ge "$(j j10k playback.jitter.max_us)" 1500 "JITTER=10000"
assert_ge "$(j j10k playback.verdict.watermark_ms)" 12 "watermark raised"
assert_ge "$(j j10k playback.verdict.safeguard_frames)" 200 "safeguard raised"
assert_eq "$(j j10k playback.verdict.timer_fit)" true "timer fit with jitter"
finding j10k jitter || fail "JITTER=10000 not noted"

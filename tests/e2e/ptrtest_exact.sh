#!/bin/bash
# lull-ptrtest against a perfect simulated card, then with clock drift
# (and a FIFO): the figures it finds are the ones injected.
#   exact: granularity 1, no jitter (< 50 us), |drift| < 20 ppm, consistent
#          rewinds and stress, fit for timer scheduling, watermark 10 ms and
#          a small safeguard (<= 2 ms).
#   DRIFT=+300 / -500 ppm: found within 20 ppm.
#   FIFO=256: delay - (appl - hw) = 256 +- 4 frames.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ptrtest_common.bash"

pt exact -d 2 --stress 1 lullsim
assert_eq "$(j exact playback.granularity.frames)" 1 "granularity"
assert_le "$(j exact playback.jitter.max_us)" 50 "jitter"
assert_between "$(j exact playback.clock.drift_ppm)" -20 20 "drift"
assert_eq "$(j exact playback.pointer.backward)" 0 "backward moves"
assert_eq "$(j exact playback.pointer.jumps)" 0 "jumps"
assert_eq "$(j exact playback.pointer.stalls)" 0 "stalls"
assert_between "$(j exact playback.delay.extra_frames)" 0 0 "extra delay"
assert_ge "$(j exact playback.rewind.pairs)" 4 "rewind pairs"
assert_eq "$(j exact playback.rewind.short_returns)" 0 "short rewinds"
assert_eq "$(j exact playback.rewind.delay_mismatches)" 0 "rewind delay"
assert_eq "$(j exact playback.rewind.forward_not_restored)" 0 "forward restore"
assert_ge "$(j exact playback.stress.rewinds)" 100 "stress rewinds"
assert_eq "$(j exact playback.stress.inconsistencies)" 0 "stress inconsistencies"
assert_eq "$(j exact playback.verdict.timer_fit)" true "timer fit"
assert_eq "$(j exact playback.verdict.rewind_fit)" true "rewind fit"
assert_between "$(j exact playback.verdict.watermark_ms)" 10 10 "watermark"
assert_le "$(j exact playback.verdict.safeguard_ms)" 2 "safeguard"

pt up -d 2 lullsim:DRIFT=300,FIFO=256
assert_between "$(j up playback.clock.drift_ppm)" 280 320 "DRIFT=300"
assert_between "$(j up playback.delay.extra_frames)" 252 260 "FIFO=256"
assert_le "$(j up playback.jitter.max_us)" 50 "jitter with a FIFO"
pt down -d 2 lullsim:DRIFT=-500
assert_between "$(j down playback.clock.drift_ppm)" -520 -480 "DRIFT=-500"
assert_eq "$(j down playback.verdict.timer_fit)" true "timer fit with drift"

# the text report says the same
"$BUILD/lull-ptrtest" -d 1 lullsim >"$T/exact.txt"
assert_grep 'timer scheduling: FIT' "$T/exact.txt"
assert_grep 'granularity +1 frames' "$T/exact.txt"

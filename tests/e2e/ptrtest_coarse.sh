#!/bin/bash
# Coarse pointers: GRANULARITY=64, 512 and one period (20 ms = 960 frames)
# are found exactly, with ~0 jitter (< 50 us: the jitter is measured on the
# edges, so a coarse but exact pointer is not called jittery); the
# watermark covers a granule.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ptrtest_common.bash"

pt g64 -d 2 lullsim:GRANULARITY=64
assert_eq "$(j g64 playback.granularity.frames)" 64 "GRANULARITY=64"
assert_eq "$(j g64 playback.granularity.quantum)" 64 "quantum 64"
assert_le "$(j g64 playback.jitter.max_us)" 50 "jitter at 64"
assert_between "$(j g64 playback.clock.drift_ppm)" -30 30 "drift at 64"
assert_eq "$(j g64 playback.verdict.timer_fit)" true "timer fit at 64"
finding g64 granular || fail "GRANULARITY=64 not noted"

pt g512 -d 2 lullsim:GRANULARITY=512
assert_eq "$(j g512 playback.granularity.frames)" 512 "GRANULARITY=512"
assert_le "$(j g512 playback.jitter.max_us)" 50 "jitter at 512"
# 2 * 10.7 ms + 4 ms
assert_ge "$(j g512 playback.verdict.watermark_ms)" 25 "watermark at 512"
assert_ge "$(j g512 playback.verdict.safeguard_frames)" 575 "safeguard at 512"

pt period -d 2 --period-ms 20 lullsim:GRANULARITY=period
per=$(j period playback.config.period_frames)
assert_eq "$(j period playback.granularity.frames)" "$per" "GRANULARITY=period"
assert_le "$(j period playback.jitter.max_us)" 50 "jitter at a period"
assert_eq "$(j period playback.pointer.stalls)" 0 "a period is not a stall"
assert_ge "$(j period playback.verdict.watermark_ms)" 44 "watermark at a period"

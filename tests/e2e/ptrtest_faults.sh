#!/bin/bash
# Bogus pointer reads and stalls.
#   JUMP=250: every 250 ms one read is two buffers ahead; most of them are
#   seen (some are absorbed inside alsa-lib), and the card is not fit.
#   STALL=50,STALL_EVERY=400: the pointer freezes 50 ms every 400 ms: about
#   4 stalls of 30..55 ms, and the watermark covers them (> 2 x 50 ms).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ptrtest_common.bash"

pt jump -d 2 lullsim:JUMP=250
jumps=$(( $(j jump playback.pointer.jumps) + $(j jump playback.pointer.delay_jumps) ))
assert_ge "$jumps" 2 "JUMP=250 bogus reads"
assert_ge "$(j jump playback.pointer.jump_max_frames)" 96000 "jump size"
assert_eq "$(j jump playback.verdict.timer_fit)" false "timer fit with jumps"
finding jump jumps || fail "JUMP not a reason"
assert_le "$(j jump playback.jitter.max_us)" 50 "jumps left out of the jitter"

pt stall -d 2 lullsim:STALL=50,STALL_EVERY=400
assert_between "$(j stall playback.pointer.stalls)" 2 5 "STALL count"
assert_between "$(j stall playback.pointer.stall_max_ms)" 30 55 "STALL length"
assert_ge "$(j stall playback.verdict.watermark_ms)" 64 "watermark over stalls"
assert_eq "$(j stall playback.verdict.timer_fit)" true "timer fit with short stalls"
finding stall stalls || fail "STALL not noted"

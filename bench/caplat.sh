#!/bin/bash
# Figures, not a test: how late recorded audio reaches a client, and how
# often lulld and the client wake up to get it there.
#
#   make bench && bench/caplat.sh [SECONDS]      (default 10 s per run)
#
# The simulated card captures a counting ramp (frame k has the value
# k / 2^20), so every callback of tests/recclient tells exactly which card
# frames it was given; the card's capture event log says when its capture
# started on CLOCK_MONOTONIC, so card frame k was sampled at
# start + (k - start_frame) / rate. The latency of a callback is the time
# it ran minus the time its newest frame (and its oldest frame) was
# sampled. One client at a time records 48000 Hz float stereo (no
# conversion, so the ramp arrives exact), at lulld's default latency and
# at 5 and 100 ms; wake-ups are lulld's capture thread's (its own count)
# and the client's callbacks, per second.
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/lulld_common.bash"
need_file "$BUILD/tests/recclient"
need_cmd python3

SECONDS_RUN=${1:-10}

ramp_wav "$T/ramp.wav"

# run NAME LATENCY_MS: one recording; prints the figures.
run() {
	local name=$1 lat=$2 args=()
	[ "$lat" = default ] || args=(--latency-ms "$lat")
	lulld_start "$name" -d "$(card "OUT=$T/$name.wav,CAPTURE=wav:$T/ramp.wav")"
	"$BUILD/tests/recclient" rec --seconds "$SECONDS_RUN" --print-times "${args[@]}" \
		>"$T/$name.txt" || fail "recclient failed"
	lulld_stop
	python3 - "$T/$name.txt" "$T/$name.wav.capture.events" "$T/$name.log" \
		"$name" "$lat" "$SECONDS_RUN" <<'PY'
import re, sys
txt, events, log, name, lat, secs = sys.argv[1:7]
secs = float(secs)
start = [l.split() for l in open(events) if l.startswith('start ')]
kv = dict(f.split('=') for f in start[-1][1:])
t0, f0, rate = int(kv['t_ns']), int(kv['frame']), 48000
n = 1 << 20
old, new = [], []
for l in open(txt):
    if not l.startswith('cb '):
        continue
    f = dict(x.split('=') for x in l.split()[1:])
    t, cnt = int(f['t_ns']), int(f['n'])
    kl = round(float(f['vl']) * n)
    # the ramp wraps every 2^20 frames: the newest frame is the one whose
    # sampling time lies just before the callback
    k = kl + ((t - t0) * rate // 10**9 + f0 - kl) // n * n
    if k > (t - t0) * rate / 1e9 + f0:
        k -= n
    new.append((t - (t0 + (k - f0) * 1e9 / rate)) / 1e6)
    old.append(new[-1] + (cnt - 1) * 1e3 / rate)
new = sorted(new[5:]); old = sorted(old[5:])
pick = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
m = re.search(r'capture: (\d+) wakeups', open(log).read())
wk = int(m.group(1)) if m else -1
print('%s (latency %s): %d callbacks (%.1f/s); lulld capture thread %.1f wake-ups/s' %
      (name, lat if lat == 'default' else lat + ' ms', len(new) + 5, (len(new) + 5) / secs, wk / secs))
print('  newest frame sampled -> callback: min %.2f  median %.2f  p99 %.2f  max %.2f ms' %
      (new[0], pick(new, .5), pick(new, .99), new[-1]))
print('  oldest frame sampled -> callback: min %.2f  median %.2f  p99 %.2f  max %.2f ms' %
      (old[0], pick(old, .5), pick(old, .99), old[-1]))
PY
}

run default default
run lat5 5
run lat100 100

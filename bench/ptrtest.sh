#!/bin/bash
# Figures, not a test: what lull-ptrtest finds on the simulated card for
# each injected imperfection (injected value -> found value), and the
# margins it recommends.
#
#   BUILD=build bench/ptrtest.sh [SECONDS]      (default 3 s per run)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SECS=${1:-3}
PT=$BUILD/lull-ptrtest
export ALSA_CONFIG_PATH=$BUILD/lullsim.conf
for f in "$PT" "$BUILD/libasound_module_pcm_lullsim.so" "$ALSA_CONFIG_PATH"; do
	[ -e "$f" ] || { echo "bench/ptrtest.sh: $f is not built" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "bench/ptrtest.sh: needs python3" >&2; exit 1; }
OUT=$(mktemp -d "${TMPDIR:-/tmp}/ptrtest-bench.XXXXXX") || exit 1
trap 'rm -rf "$OUT"' EXIT

# row LABEL INJECTED FIELD ARGS...: one run, one line of the table; FIELD
# is a python expression over p (the playback report).
row() {
	local label=$1 injected=$2 field=$3
	shift 3
	if ! "$PT" --json -d "$SECS" "$@" >"$OUT/r.json" 2>"$OUT/r.err"; then
		printf '%-26s %-12s run failed: %s\n' "$label" "$injected" "$(cat "$OUT/r.err")"
		return
	fi
	python3 - "$OUT/r.json" "$label" "$injected" "$field" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["playback"]
v = p["verdict"]
found = eval(sys.argv[4], {"p": p})
print("%-26s %-12s %-26s %-5s %6.0f ms %6d fr" % (sys.argv[2], sys.argv[3],
      found, "fit" if v["timer_fit"] else "UNFIT", v["watermark_ms"],
      v["safeguard_frames"]))
PY
}

L=bench$$
printf '%-26s %-12s %-26s %-5s %9s %9s\n' imperfection injected found verdict watermark safeguard
row "exact card" "-" '"gran %d, jitter %.0f us" % (p["granularity"]["frames"], p["jitter"]["max_us"])' lullsim
row "GRANULARITY=64" 64 '"%d frames" % p["granularity"]["frames"]' lullsim:GRANULARITY=64
row "GRANULARITY=512" 512 '"%d frames" % p["granularity"]["frames"]' lullsim:GRANULARITY=512
row "GRANULARITY=period 20ms" 960 '"%d frames" % p["granularity"]["frames"]' --period-ms 20 lullsim:GRANULARITY=period
row "JITTER=500" "500 us" '"max %.0f p99 %.0f p50 %.0f us" % (p["jitter"]["max_us"], p["jitter"]["p99_us"], p["jitter"]["p50_us"])' lullsim:JITTER=500
row "JITTER=5000" "5000 us" '"max %.0f p99 %.0f p50 %.0f us" % (p["jitter"]["max_us"], p["jitter"]["p99_us"], p["jitter"]["p50_us"])' lullsim:JITTER=5000
row "DRIFT=300" "+300 ppm" '"%+.1f ppm" % p["clock"]["drift_ppm"]' lullsim:DRIFT=300
row "DRIFT=-500" "-500 ppm" '"%+.1f ppm" % p["clock"]["drift_ppm"]' lullsim:DRIFT=-500
row "DRIFT=300,GRANULARITY=64" "+300 ppm" '"%+.1f ppm" % p["clock"]["drift_ppm"]' lullsim:DRIFT=300,GRANULARITY=64
row "FIFO=256" "256 frames" '"%.0f frames" % p["delay"]["extra_frames"]' lullsim:FIFO=256
row "PREFETCH=128 (loopback)" "128 frames" '"lead %d, safe margin %d" % (p["loopback"]["lead_frames"], p["loopback"]["safe_margin_frames"])' --loopback "lullsim:CAPTURE=loop,LOOP=$L" "lullsim:LOOP=$L,PREFETCH=128"
row "PREFETCH=1000 (loopback)" "1000 frames" '"lead %d, safe margin %d" % (p["loopback"]["lead_frames"], p["loopback"]["safe_margin_frames"])' --loopback "lullsim:CAPTURE=loop,LOOP=$L" "lullsim:LOOP=$L,PREFETCH=1000"
row "JUMP=250" "every 250 ms" '"%d + %d bogus reads" % (p["pointer"]["jumps"], p["pointer"]["delay_jumps"])' lullsim:JUMP=250
row "STALL=50,STALL_EVERY=400" "50 ms" '"%d stalls, longest %.1f ms" % (p["pointer"]["stalls"], p["pointer"]["stall_max_ms"])' lullsim:STALL=50,STALL_EVERY=400
row "stress 1 s, exact card" "-" '"%d inconsistencies / %d ops" % (p["stress"]["inconsistencies"], p["stress"]["queries"])' --stress 1 lullsim

#!/bin/bash
# lull demo (make demo): lulld on the simulated sound card.
#
# lulld starts on the card "lullsim" with a 2 s buffer. Client A plays a
# 440 Hz tone on the left channel for 8 s; a second later client B joins
# with a 660 Hz tone on the right channel for 3 s, while the card's buffer
# is full of A. Meanwhile lull-rec records 2 s of the card's input (an
# 880 Hz sine) at 44100 Hz. Then the card's WAV and event log say what was
# heard and when, the recording what was recorded, and /proc how often
# each process woke up.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$BUILD/demo
RATE=48000
WAVTOOL=$BUILD/tests/wavtool
CLIENT=$BUILD/tests/lullclient
export ALSA_CONFIG_PATH=$BUILD/lullsim.conf
export LULL_SOCKET=$OUT/run/sock

for f in "$BUILD/lulld" "$BUILD/lull-rec" "$CLIENT" "$WAVTOOL" "$ALSA_CONFIG_PATH"; do
	[ -e "$f" ] || { echo "demo: ${f#"$ROOT"/} is missing; run make first" >&2; exit 1; }
done

# field KEY TEXT: value of KEY=value in TEXT.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }

# switches PID: context switches of all its threads so far (each one is a
# wakeup: the thread slept and something woke it, or it was preempted).
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/ctxt_switches/ { n += $2 } END { print n + 0 }'
}

# card_ns FRAME: CLOCK_MONOTONIC ns at which the card played WAV frame
# FRAME, from the last start at or before it.
card_ns() {
	awk -v f="$1" -v rate=$RATE '$1 == "start" {
		split($2, t, "="); split($3, s, "=");
		if (s[2] + 0 <= f) { t0 = t[2]; f0 = s[2] } }
		END { printf "%.0f\n", t0 + (f - f0) * 1e9 / rate }' "$OUT/card.wav.events"
}

rm -rf "$OUT"
mkdir -p -m 700 "$OUT" "$OUT/run"
echo "== lulld on the simulated card (2 s buffer)"
"$BUILD/lulld" -b 2000 -f float -d "lullsim:OUT=$OUT/card.wav,FREQ=880" 2>"$OUT/lulld.log" &
LULLD=$!
trap 'kill $LULLD 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$LULL_SOCKET" ] && break; sleep 0.05; done
sed 's/^/   /' "$OUT/lulld.log"
d0=$(switches $LULLD)
t0=$(date +%s.%N)

echo "== A: 440 Hz on the left for 8 s; B joins 1 s later: 660 Hz on the right for 3 s"
"$CLIENT" --name A --channel-only L --signal sine:440 --seconds 8 --drain \
	--print-times >"$OUT/a.times" &
A=$!
sleep 1
"$CLIENT" --name B --channel-only R --signal sine:660 --seconds 3 --drain \
	--print-times >"$OUT/b.times" &
B=$!
echo "== C: lull-rec records 2 s of the card's input at 44100 Hz"
"$BUILD/lull-rec" -r 44100 -c 1 -d 2 "$OUT/rec.wav" 2>"$OUT/rec.log" &
C=$!
sleep 2
a1=$(switches $A)
sleep 4
a2=$(switches $A)
wait $B
wait $C
wait $A
d1=$(switches $LULLD)
t1=$(date +%s.%N)
kill -TERM $LULLD
wait $LULLD || true
trap - EXIT

echo "== what the card heard"
first_b=$(field first_nonzero "$("$WAVTOOL" silence "$OUT/card.wav" --channel 1)")
b_write=$(sed -n 's/^first_write_ns=//p' "$OUT/b.times" | head -1)
b_start=$(sed -n 's/^start_ns=//p' "$OUT/b.times" | head -1)
b_heard=$(card_ns "$first_b")
echo "   left  (A): $(field freq "$("$WAVTOOL" freq "$OUT/card.wav" --channel 0)") Hz"
echo "   right (B): $(field freq "$("$WAVTOOL" freq "$OUT/card.wav" --channel 1 --from 2 --to 4)") Hz"
awk -v w="$b_write" -v s="$b_start" -v h="$b_heard" 'BEGIN {
	printf "   B joined: first sample at the card %.2f ms after its first write, %.2f ms after it started\n",
		(h - w) / 1e6, (h - s) / 1e6 }'
echo "== what was recorded"
echo "   $(sed 's/^lull-rec: //' "$OUT/rec.log" | tr '\n' ' ')"
echo "   $(field freq "$("$WAVTOOL" freq "$OUT/rec.wav")") Hz at 44100 Hz ($(field frames "$("$WAVTOOL" info "$OUT/rec.wav")") frames)"
echo "== how often each process woke up"
awk -v d="$((d1 - d0))" -v t0="$t0" -v t1="$t1" 'BEGIN {
	printf "   lulld: %d wakeups in %.1f s (%.2f/s), joins and drains included\n", d, t1 - t0, d / (t1 - t0) }'
echo "   A, while playing steadily: $((a2 - a1)) wakeups in 4 s ($(awk -v n=$((a2 - a1)) 'BEGIN { printf "%.2f", n / 4 }')/s)"
sed -n 's/^lulld: \([0-9]* wakeups, .*\)/   lulld says: \1/p' "$OUT/lulld.log"
echo "== files"
echo "   $OUT/card.wav          what the card played (listen to it)"
echo "   $OUT/card.wav.events   when it played it"
echo "   $OUT/rec.wav           what lull-rec recorded"

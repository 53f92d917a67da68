#!/bin/bash
# lull demo on the simulated sound card (make demo):
#   1. aplay plays a 2 s 440 Hz tone into the card, which writes what its
#      DAC played to a WAV file and logs when it started and stopped;
#   2. arecord records 1 s of the card's 1 kHz capture sine;
#   3. lull-ptrtest measures how the card's hardware pointer behaves;
# then it measures the results and says where the files are.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WAVTOOL=$BUILD/tests/wavtool
PTRTEST=$BUILD/lull-ptrtest
SO=$BUILD/libasound_module_pcm_lullsim.so
OUT=$BUILD/demo
export ALSA_CONFIG_PATH=$BUILD/lullsim.conf

for f in "$SO" "$ALSA_CONFIG_PATH" "$WAVTOOL"; do
	[ -e "$f" ] || { echo "demo: ${f#"$ROOT"/} is missing; run make first" >&2; exit 1; }
done
for c in aplay arecord; do
	command -v "$c" >/dev/null ||
		{ echo "demo: $c is missing; run scripts/deps.sh" >&2; exit 1; }
done

# A sanitizer build of the card needs its runtime loaded first in aplay.
foreign() {
	if ldd "$SO" 2>/dev/null | grep -q libasan; then
		env LD_PRELOAD="$("${CC:-cc}" -print-file-name=libasan.so)" \
		    ASAN_OPTIONS=detect_leaks=0 "$@"
	else
		"$@"
	fi
}

# field KEY TEXT: value of KEY=value in TEXT (the tools print key=value).
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -1; }
# event FILE EVENT KEY: KEY of the first EVENT line of a card event log.
event() { awk -v e="$2" -v k="$3" '$1 == e { for (i = 2; i <= NF; i++)
	if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' "$1"; }

rm -rf "$OUT"
mkdir -p "$OUT"
echo "Every ALSA program below runs with ALSA_CONFIG_PATH=${ALSA_CONFIG_PATH#"$ROOT"/},"
echo "which adds the simulated card \"lullsim\" to the system's devices."
echo

echo "== 1. aplay: a 2 s 440 Hz tone through the simulated card"
"$WAVTOOL" gen "$OUT/tone.wav" --rate 48000 --channels 2 --seconds 2 \
	--freq 440 --amp 0.5
echo "   aplay -D lullsim:OUT=$OUT/played.wav tone.wav"
foreign aplay -q -D "lullsim:OUT=$OUT/played.wav" "$OUT/tone.wav"
played=$("$WAVTOOL" info "$OUT/played.wav")
t0=$(event "$OUT/played.wav.events" start t_ns)
t1=$(event "$OUT/played.wav.events" stop t_ns)
tone=$("$WAVTOOL" freq "$OUT/played.wav")

echo "== 2. arecord: 1 s of the card's 1 kHz capture sine"
echo "   arecord -D lullsim:FREQ=1000 -f S16_LE -r 48000 -c 2 -d 1 recorded.wav"
foreign arecord -q -D lullsim:FREQ=1000 -f S16_LE -r 48000 -c 2 -d 1 \
	"$OUT/recorded.wav"
rec=$("$WAVTOOL" freq "$OUT/recorded.wav")
gaps=$("$WAVTOOL" gaps "$OUT/recorded.wav" --freq 1000 | tail -1 || true)

echo "== 3. lull-ptrtest: the card's hardware pointer for 3 s"
verdict="not run"
if [ -x "$PTRTEST" ]; then
	echo "   lull-ptrtest -D lullsim -d 3"
	rc=0
	foreign "$PTRTEST" -D lullsim -d 3 >"$OUT/ptrtest.txt" 2>&1 || rc=$?
	sed 's/^/   /' "$OUT/ptrtest.txt"
	verdict=$(sed -n 's/^ *timer scheduling: *//p' "$OUT/ptrtest.txt" | head -1)
	[ "$rc" = 0 ] || verdict="lull-ptrtest exited with status $rc"
else
	echo "   ${PTRTEST#"$ROOT"/} is not built; skipped"
fi

echo
echo "== Summary"
printf '   played   %s frames (%s s of audio), the card ran %s s by its event log\n' \
	"$(field frames "$played")" "$(field seconds "$played")" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
printf '            tone measured at %s Hz, %s dBFS RMS\n' \
	"$(field freq "$tone")" "$(field rms_dbfs "$tone")"
printf '   recorded %s frames at %s Hz, %s dBFS RMS, %s discontinuities\n' \
	"$(field frames "$rec")" "$(field freq "$rec")" "$(field rms_dbfs "$rec")" \
	"$(field gaps "$gaps")"
echo "   pointer  timer scheduling on this card: ${verdict:-see above}"
echo "   files    ${OUT#"$ROOT"/}/played.wav (what the card's DAC played)"
echo "            ${OUT#"$ROOT"/}/played.wav.events (the card's event log)"
echo "            ${OUT#"$ROOT"/}/recorded.wav (what arecord captured)"
[ -e "$OUT/ptrtest.txt" ] &&
	echo "            ${OUT#"$ROOT"/}/ptrtest.txt (lull-ptrtest's report)"
exit 0

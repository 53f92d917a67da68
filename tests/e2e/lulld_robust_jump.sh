#!/bin/bash
# The card's pointer lies (JUMP=50: every 50 ms it reads, for 2 ms, two
# buffers ahead: avail far beyond the buffer). A client asking for 20 ms
# makes lulld read the pointer every few ms, so it meets many lies. lulld
# clamps each, logs the first once ("impossible position"), counts them,
# traces them, and plays on: the client's tone is on the card to its end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"
. "$(dirname "$0")/lulld_robust_common.bash"

robust_start jump JUMP=50
timeout 30 "$LULLCLIENT" --signal sine:440 --latency-ms 20 --seconds 3 --drain ||
	fail "the client did not play through the jumps"
lulld_alive
lulld_stop
W=$T/jump.wav L=$T/jump.log

assert_eq "$(grep -c '^lulld: the card reported an impossible position ([0-9]* frames beyond the buffer); clamped' "$L")" 1 \
	"log lines about impossible positions"
clamps=$(sed -n 's/^lulld: card trouble: .* failures, \([0-9]*\) impossible.*/\1/p' "$L")
traced=$(grep -Ec '^trace .* xrun +a=-34 ' "$L" || true)
note "lulld clamped $clamps impossible positions ($traced traced)"
assert_ge "$clamps" 1 "impossible positions counted"
assert_eq "$traced" "$clamps" "impossible positions traced"
assert_eq "$(ev_count "$W.events" xrun)" 0 "xruns on the card"
# The tone from its first sound to its end, in quarter seconds: 440 Hz
# in each (a lie may cost a glitch where lulld believed it, no more).
first=$(kv first_nonzero "$(wavtool silence "$W")")
last=$(kv last_nonzero "$(wavtool silence "$W")")
heard=$(calc "($last - $first + 1) / $RATE")
note "the tone was heard for $heard s, with $(kv gaps "$(wavtool gaps "$W" --freq 440 || true)") glitches"
assert_between "$heard" 2.8 3.3 "seconds of the tone on the card"
bad=0
for ((q = first; q + RATE / 4 <= last; q += RATE / 4)); do
	f=$(kv freq "$(wavtool freq "$W" --from "$(calc "$q / $RATE")" \
		--to "$(calc "($q + $RATE / 4) / $RATE")")")
	is "$f > 430 && $f < 450" || bad=$((bad + 1))
done
note "quarter seconds without a clean 440 Hz: $bad"
assert_le "$bad" 2 "quarter seconds without the tone"

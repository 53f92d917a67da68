#!/bin/bash
# Recording through lulld on the simulated card.
#
# 1. The card captures a counting ramp (frame k has the value k / 2^20,
#    exact in float), so a recording at the card's rate and format shows
#    any lost, doubled or reordered frame. Two clients record it while
#    playback streams join, pause, resume, change volume and leave, each
#    of which makes lulld rewind the playback buffer: both recordings are
#    unbroken.
# 2. One of two recorders stops reading for 3 s (its callback blocks),
#    longer than its 2 s ring: it loses its own frames, counted and
#    reported to it; the other loses nothing.
# 3. Three clients record the card's 1000 Hz sine at once, at 16000 Hz
#    mono, 44100 Hz stereo and 48000 Hz stereo: each gets 1000 Hz within
#    0.1 %, with no gap.
# 5. The card overruns every 700 ms: lulld recovers each time and the
#    recording goes on; each gap is reported to the client as lost frames.
# 4. Duplex through the card's loopback: a client echoes its input to its
#    output and adds one impulse, which then comes round once per round
#    trip; the spacing of the impulses in what the card played is the
#    round trip on the card's timeline, and liblull's reported round trip
#    must match it within 1 ms.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lulld_common.bash"

need_file "$BUILD/tests/recclient"
need_cmd python3
RC=$BUILD/tests/recclient

# ramp_check RAW CHANNELS: prints "frames=N breaks=B": B = places where a
# frame is not the one after the previous (on the card's 2^20 wrap too).
ramp_check() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
ch = int(sys.argv[2])
d = open(sys.argv[1], 'rb').read()
x = struct.unpack('<%df' % (len(d) // 4), d)[::ch]
n = 1 << 20
k = [round(v * n) for v in x]
breaks = sum(1 for a, b in zip(k, k[1:]) if (b - a) % n != 1)
print('frames=%d breaks=%d' % (len(k), breaks))
PY
}

# --- 1: playback rewinds do not disturb recording -------------------------------
ramp_wav "$T/ramp.wav"
lulld_start rewinds -d "$(card "OUT=$T/rewinds.wav,CAPTURE=wav:$T/ramp.wav")"
"$RC" rec --seconds 6 --out "$T/r1.raw" >"$T/r1.txt" & R1=$!
"$RC" rec --seconds 6 --latency-ms 5 --out "$T/r2.raw" >"$T/r2.txt" & R2=$!
sleep 0.5
lc --seconds 4 --signal sine:440 --pause-at 1 --resume-at 1.5 \
	--volume-at 2:0.5 --volume-at 2.2:1 --drain & P1=$!
sleep 1
for i in 1 2 3; do
	lc --seconds 0.3 --signal sine:880 --drain || fail "joining stream $i failed"
	sleep 0.2
done
wait "$P1" || fail "playing stream failed"
wait "$R1" || fail "recorder 1 failed"
wait "$R2" || fail "recorder 2 failed"
lulld_stop
rewinds=$(sed -n 's/.* \([0-9]*\) rewinds (.*/\1/p' "$T/rewinds.log")
note "lulld rewound its playback buffer $rewinds times"
[ "${rewinds:-0}" -ge 5 ] || fail "lulld rewound $rewinds times: the test proves nothing"
for r in r1 r2; do
	res=$(ramp_check "$T/$r.raw" 2)
	note "$r: $res, $(cat "$T/$r.txt")"
	frames=$(kv frames "$res")
	[ "$frames" -gt $((48000 * 5)) ] || fail "$r recorded only $frames frames"
	assert_eq "$(kv breaks "$res")" 0 "$r: breaks in the recorded ramp"
	assert_eq "$(kv overruns "$(cat "$T/$r.txt")")" 0 "$r: overruns"
done

# --- 2: a recorder that stops reading loses only its own audio ----------------------
lulld_start slow -d "$(card "OUT=$T/slow.wav,CAPTURE=wav:$T/ramp.wav")"
"$RC" rec --seconds 6 --out "$T/fast.raw" >"$T/fast.txt" & FAST=$!
"$RC" rec --seconds 6 --stall-at 1:3 --out "$T/slow.raw" >"$T/slow.txt" & SLOW=$!
wait "$FAST" || fail "the fast recorder failed"
wait "$SLOW" || fail "the slow recorder failed"
lulld_stop
res=$(ramp_check "$T/fast.raw" 2)
note "fast: $res, $(cat "$T/fast.txt")"
assert_eq "$(kv breaks "$res")" 0 "fast recorder: breaks"
assert_eq "$(kv overruns "$(cat "$T/fast.txt")")" 0 "fast recorder: overruns"
res=$(ramp_check "$T/slow.raw" 2)
lost=$(kv overruns "$(cat "$T/slow.txt")")
note "slow: $res, $(cat "$T/slow.txt")"
[ "$lost" -gt 24000 ] || fail "the stopped recorder lost only $lost frames"
[ "$(kv breaks "$res")" -ge 1 ] || fail "the stopped recorder's audio has no gap"

# --- 3: several rates and layouts at once -------------------------------------------
lulld_start rates -d "$(card "OUT=$T/rates.wav")"
"$RC" rec --seconds 3 --rate 16000 --channels 1 --out "$T/16k.raw" >/dev/null & A=$!
"$RC" rec --seconds 3 --rate 44100 --channels 2 --out "$T/44k.raw" >/dev/null & B=$!
"$RC" rec --seconds 3 --rate 48000 --channels 2 --latency-ms 50 --out "$T/48k.raw" >/dev/null & C=$!
wait "$A" && wait "$B" && wait "$C" || fail "a recorder failed"
lulld_stop
for spec in 16k:16000:1 44k:44100:2 48k:48000:2; do
	IFS=: read -r name rate ch <<<"$spec"
	wavtool wrap "$T/$name.raw" "$T/$name.wav" --rate "$rate" --channels "$ch" --format float
	f=$(wavtool freq "$T/$name.wav" --from 0.1)
	note "$name: $f"
	hz=$(kv freq "$f")
	awk -v f="$hz" 'BEGIN { exit !(f > 999 && f < 1001) }' ||
		fail "$name: recorded $hz Hz, not 1000 Hz within 0.1 %"
	wavtool gaps "$T/$name.wav" --freq 1000 --from 0.1 >/dev/null ||
		fail "$name: the recorded sine has a gap"
done

# --- 4: duplex round trip through the loopback ---------------------------------------
lulld_start duplex -d "$(card "OUT=$T/duplex.wav,LOOP=lulltest$$,CAPTURE=loop")"
# (200 ms: well clear of lulld's watermark on a loaded machine, where an
# underrun would move the round trip in mid-run.)
"$RC" duplex --seconds 6 --block 256 --latency-ms 200 >"$T/duplex.txt" ||
	fail "the duplex client failed"
lulld_stop
rt=$(kv roundtrip_median_ns "$(cat "$T/duplex.txt")")
spacing=$(python3 - "$T/duplex.wav" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'data')
n = (len(d) - i - 8) // 8
x = struct.unpack('<%df' % (2 * n), d[i + 8:i + 8 + 8 * n])
imp = [k for k in range(n) if abs(x[2 * k]) > 0.25]
gaps = sorted(b - a for a, b in zip(imp, imp[1:]))
print(gaps[len(gaps) // 2] if len(gaps) >= 5 else 0)
PY
)
note "duplex: impulses every $spacing frames on the card, liblull says $rt ns; $(cat "$T/duplex.txt" | tr '\n' ' ')"
[ "$spacing" -gt 0 ] || fail "the impulse did not come round on the card"
awk -v s="$spacing" -v rt="$rt" 'BEGIN { d = s / 48000 * 1e9 - rt; if (d < 0) d = -d; exit !(d < 1e6) }' ||
	fail "round trip: card $spacing frames, liblull $rt ns: more than 1 ms apart"

# --- 5: the card overruns; recording goes on -------------------------------------------
lulld_start xrun -d "$(card "OUT=$T/xrun.wav,CAPTURE=wav:$T/ramp.wav,XRUN=700")"
"$RC" rec --seconds 4 --out "$T/x.raw" >"$T/x.txt" || fail "the recorder failed"
lulld_stop
res=$(ramp_check "$T/x.raw" 2)
note "xrun: $res, $(cat "$T/x.txt"), lulld: $(grep 'capture:' "$T/xrun.log")"
xruns=$(sed -n 's/.*frames, \([0-9]*\) overruns.*/\1/p' "$T/xrun.log")
[ "${xruns:-0}" -ge 3 ] || fail "the card overran $xruns times, expected several"
frames=$(kv frames "$res")
[ "$frames" -gt $((48000 * 3)) ] || fail "recorded only $frames frames through the overruns"
lost=$(kv overruns "$(cat "$T/x.txt")")
[ "$(kv breaks "$res")" -ge 1 ] || fail "no gap in a recording through overruns"
[ "$lost" -gt 0 ] || fail "the gaps were not reported as lost frames"

#!/bin/bash
# wavtool checks the card for every other test, so check wavtool first:
# each measurement must find what was put there on purpose -- a changed
# sample, a shifted start, a dropped frame, a frequency, leading silence.
. "$(dirname "$0")/lib.sh"
need_file "$WAVTOOL"

# cut_raw IN OUT SKIP_BYTES [COUNT_BYTES]: bytes of IN from SKIP on, to
# OUT or, when OUT is -, to stdout.
cut_raw() {
	local of=()
	[ "$2" = - ] || of=(of="$2")
	dd if="$1" "${of[@]}" bs=64K iflag=skip_bytes,count_bytes skip="$3" \
	   ${4:+count="$4"} status=none
}

# --- gen and info ------------------------------------------------------------
wavtool gen "$T/r16.wav" --format s16 --channels 1 --rate 8000 --pattern ramp --seconds 1
info=$(wavtool info "$T/r16.wav")
assert_eq "$(kv rate "$info")" 8000 "info rate"
assert_eq "$(kv channels "$info")" 1 "info channels"
assert_eq "$(kv format "$info")" S16_LE "info format"
assert_eq "$(kv frames "$info")" 8000 "info frames"
wavtool raw "$T/r16.wav" "$T/r16.raw"
assert_eq "$(od -An -td2 -N8 "$T/r16.raw" | xargs)" "1 2 3 4" "s16 ramp starts 1 2 3 4"
wavtool gen "$T/r24.wav" --format s24 --channels 2 --pattern ramp --seconds 0.1
wavtool raw "$T/r24.wav" "$T/r24.raw"
assert_eq "$(od -An -td4 -N12 "$T/r24.raw" | xargs)" "1 258 515" "s24 ramp steps by 257"
wavtool gen "$T/n1.wav" --format float --pattern noise --seed 5 --seconds 0.1
wavtool gen "$T/n2.wav" --format float --pattern noise --seed 5 --seconds 0.1
cmp -s "$T/n1.wav" "$T/n2.wav" || fail "noise with one seed differs between runs"

# --- cmp -----------------------------------------------------------------------
wavtool gen "$T/a.wav" --format s16 --channels 2 --pattern noise --seconds 1
wavtool cmp "$T/a.wav" "$T/a.wav" >/dev/null || fail "a file differs from itself"
wavtool raw "$T/a.wav" "$T/a.raw"
# Change one byte of frame 1000, channel 1 (bytes 4000 + 2).
cp "$T/a.raw" "$T/b.raw"
printf '\x5a' | dd of="$T/b.raw" bs=1 seek=4002 conv=notrunc status=none
wavtool wrap "$T/b.raw" "$T/b.wav" --rate 48000 --channels 2 --format s16
rc=0; out=$(wavtool cmp "$T/a.wav" "$T/b.wav") || rc=$?
assert_eq "$rc" 1 "cmp exit status on a difference"
assert_eq "$(kv mismatches "$out")" 1 "mismatching frames"
assert_eq "$(kv a_frame "$out")" 1000 "first mismatching frame"
assert_eq "$(kv channel "$out")" 1 "first mismatching channel"
wavtool cmp "$T/a.wav" "$T/b.wav" --frames 1000 >/dev/null ||
	fail "cmp over the frames before the change"
# Frames missing from B count as mismatches when --frames asks for them.
rc=0; out=$(wavtool cmp "$T/a.wav" "$T/a.wav" --skip-b 10 --frames 48000) || rc=$?
assert_eq "$rc" 1 "cmp with B too short"
# Offsets and alignment: B is A without its first 777 frames.
cut_raw "$T/a.raw" "$T/c.raw" $((777 * 4))
wavtool wrap "$T/c.raw" "$T/c.wav" --rate 48000 --channels 2 --format s16
wavtool cmp "$T/a.wav" "$T/c.wav" --skip-a 777 >/dev/null || fail "cmp --skip-a"
out=$(wavtool cmp "$T/c.wav" "$T/a.wav" --find) || fail "cmp --find: $out"
assert_eq "$(kv offset_b "$out")" 777 "offset found by --find"
rc=0; wavtool cmp "$T/a.wav" "$T/c.wav" --find >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "--find of data that is not there"
# Integer formats compare by value: S16 data widened into S32 is equal.
od -An -v -td2 -w2 "$T/a.raw" | LC_ALL=C awk '{ v = $1 * 65536;
	if (v < 0) v += 4294967296
	printf "%c%c%c%c", 0, 0, int(v / 65536) % 256, int(v / 16777216) }' >"$T/w.raw"
wavtool wrap "$T/w.raw" "$T/w.wav" --rate 48000 --channels 2 --format s32
wavtool cmp "$T/a.wav" "$T/w.wav" >/dev/null || fail "S16 against the same values in S32"

# --- freq ----------------------------------------------------------------------
wavtool gen "$T/s.wav" --format s16 --channels 2 --freq 1234.5,300 --amp 0.5 --seconds 1
out=$(wavtool freq "$T/s.wav")
assert_near "$(kv freq "$out")" 1234.5 0.01 "measured frequency"
assert_near "$(kv rms_dbfs "$out")" -9.03 0.02 "measured level of a 0.5 sine"
out=$(wavtool freq "$T/s.wav" --channel 1 --from 0.25 --to 0.75)
assert_near "$(kv freq "$out")" 300 0.01 "frequency of channel 1"
assert_eq "$(kv frames "$out")" 24000 "frames between --from and --to"

# --- gaps ----------------------------------------------------------------------
wavtool gen "$T/m.wav" --format s16 --channels 1 --freq 1000 --amp 0.5 --seconds 1
wavtool gaps "$T/m.wav" --freq 1000 >/dev/null || fail "gaps in a clean sine"
wavtool raw "$T/m.wav" "$T/m.raw"
# Drop frame 10000; then 4000 zero bytes (2000 frames) after frame 30000.
{ cut_raw "$T/m.raw" - 0 20000; cut_raw "$T/m.raw" - 20002 40000
  cut_raw /dev/zero - 0 4000; cut_raw "$T/m.raw" - 60002; } >"$T/g.raw"
wavtool wrap "$T/g.raw" "$T/g.wav" --rate 48000 --channels 1 --format s16
rc=0; out=$(wavtool gaps "$T/g.wav" --freq 1000) || rc=$?
assert_eq "$rc" 1 "gaps exit status"
assert_eq "$(kv gaps "$(tail -1 <<<"$out")")" 3 "gaps found"
assert_eq "$(kv frame "$(sed -n 1p <<<"$out")")" 10000 "first gap"
assert_eq "$(kv frame "$(sed -n 2p <<<"$out")")" 30000 "silence starts"
assert_eq "$(kv frame "$(sed -n 3p <<<"$out")")" 32000 "silence ends"

# --- silence -------------------------------------------------------------------
{ cut_raw /dev/zero - 0 960; cat "$T/r16.raw"
  cut_raw /dev/zero - 0 100; } >"$T/z.raw"
wavtool wrap "$T/z.raw" "$T/z.wav" --rate 8000 --channels 1 --format s16
out=$(wavtool silence "$T/z.wav")
assert_eq "$(kv leading_silence "$out")" 480 "leading silence"
assert_eq "$(kv first_nonzero "$out")" 480 "first sound"
assert_eq "$(kv last_nonzero "$out")" $((480 + 8000 - 1)) "last sound"
assert_eq "$(kv trailing_silence "$out")" 50 "trailing silence"

# --- errors ----------------------------------------------------------------------
cut_raw /dev/urandom "$T/junk.wav" 0 100
for args in "info $T/junk.wav" "info $T/none.wav" "cmp $T/a.wav" \
	    "freq $T/a.wav --bogus 1" "gen $T/x.wav --format u8" "gaps $T/a.wav" \
	    "cmp $T/a.wav $T/m.wav" "nonsense"; do
	rc=0
	# shellcheck disable=SC2086
	wavtool $args >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "exit status of 'wavtool $args'"
done

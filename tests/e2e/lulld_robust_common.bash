# What the lulld_robust_*.sh tests share (bad hardware on the simulated
# card); source it after lib.sh and lulld_common.bash.
# shellcheck shell=bash

# robust_start NAME CARD_ARGS [LULLD ARGS...]: lulld on a float card with
# extra lullsim arguments (OUT is $T/NAME.wav), no capture side, so the
# card's event log holds only the playback handles.
robust_start() {
	local name=$1 args=$2
	shift 2
	lulld_start "$name" -D none -d "$(card "OUT=$T/$name.wav,$args")" "$@"
}

# sec_up FRAME / sec_down FRAME: FRAME in seconds for wavtool's --from
# and --to, rounded so as to stay inside the frames named (and the file).
sec_up() { awk -v f="$1" -v r="$RATE" 'BEGIN { printf "%.6f", int(f / r * 1e6 + 0.999) / 1e6 }'; }
sec_down() { awk -v f="$1" -v r="$RATE" 'BEGIN { printf "%.6f", int(f / r * 1e6) / 1e6 }'; }

# check_runs WAV REF WHAT: the card's WAV is cut into runs by its start
# lines (each start or restart of the card, on any handle). The left
# channel of each run is a piece of REF (the client's pattern), each later
# in REF than all of the run before: audio may be skipped where the card
# stopped, never played twice. Prints the number of runs that carry audio.
check_runs() {
	local wav=$1 ref=$2 what=$3 total i from to first len r off prev_end=0 n=0
	local -a starts
	mapfile -t starts < <(ev_all "$wav.events" start frame)
	total=$(kv frames "$(wavtool info "$wav")")
	starts+=("$total")
	for ((i = 0; i + 1 < ${#starts[@]}; i++)); do
		from=${starts[i]} to=${starts[i + 1]}
		((to - from > 64)) || continue
		first=$(kv first_nonzero "$(wavtool silence "$wav" --channel 0 \
			--from "$(sec_up "$from")" --to "$(sec_down "$to")")")
		[ "$first" != -1 ] || continue
		((to - first > 64)) || continue
		r=$(wavtool cmp "$wav" "$ref" --channel 0 --skip-a "$first" --frames 32 \
			--find) || fail "$what: run $i (card frame $first) is not the client's audio: $r"
		off=$(kv offset_b "$r")
		assert_ge "$off" "$prev_end" "$what: run $i starts in the client's audio after run $((i - 1)) ended (no repeat)"
		len=$(kv last_nonzero "$(wavtool silence "$wav" --channel 0 \
			--from "$(sec_up "$first")" --to "$(sec_down "$to")")")
		len=$((len - first + 1))
		r=$(wavtool cmp "$wav" "$ref" --channel 0 --skip-a "$first" \
			--skip-b "$off" --frames "$len") ||
			fail "$what: run $i differs from the client's audio: $r"
		prev_end=$((off + len))
		n=$((n + 1))
		note "$what: run $i: card frames $first+$len = client frames $off+$len" >&2
	done
	echo "$n"
}

# Helpers for end-to-end tests; source it first thing:
#
#   . "$(dirname "$0")/lib.sh"
#
# It sets: ROOT (repository), BUILD (absolute), SAN (0/1), T (a private
# empty directory, removed at exit unless the runner owns it), WAVTOOL,
# LULLSIM_SO, and exports ALSA_CONFIG_PATH=$BUILD/lullsim.conf so every
# ALSA program started from the test sees the simulated card `lullsim`.
#
# A test exits 0 to pass, 77 to skip (skip "why"), other to fail
# (fail "why"); any failing command fails the test and names its line.
# shellcheck shell=bash

set -eEuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SAN=${SAN:-0}
WAVTOOL=$BUILD/tests/wavtool
LULLSIM_SO=$BUILD/libasound_module_pcm_lullsim.so
export ALSA_CONFIG_PATH=$BUILD/lullsim.conf
TEST_NAME=$(basename "$0" .sh)
LIB_PIDS=()

if [ -n "${TEST_TMPDIR:-}" ]; then
	T=$TEST_TMPDIR
	LIB_OWN_T=0
else
	T=$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX")
	LIB_OWN_T=1
fi

# --- outcome -------------------------------------------------------------

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "# $*"; }

lib_on_err() {
	echo "FAIL: $TEST_NAME line $1: '$2' exited with status $3" >&2
}
trap 'lib_on_err "$LINENO" "$BASH_COMMAND" "$?"' ERR

# Stops what the test started in the background (by pid), then tidies up.
lib_on_exit() {
	local pid
	for pid in "${LIB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${LIB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$LIB_OWN_T" = 1 ]; then
		rm -rf "$T"
	fi
}
trap lib_on_exit EXIT

# bg CMD...: starts CMD in the background, remembers its pid in BG_PID so
# it is stopped when the test ends.
bg() {
	"$@" &
	BG_PID=$!
	LIB_PIDS+=("$BG_PID")
}

# --- requirements ----------------------------------------------------------

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
}

need_file() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || skip "${f#"$ROOT"/} is not built"
	done
}

# The simulated card and the tools every card test uses.
need_simcard() {
	need_file "$LULLSIM_SO" "$ALSA_CONFIG_PATH" "$WAVTOOL"
}

# --- running programs ------------------------------------------------------

# run_foreign CMD...: runs a program lull did not build (aplay, arecord,
# speaker-test). Under SAN=1 the plugin it loads is instrumented, and the
# ASan runtime must be the first library in the process, so it is
# preloaded; alsa-lib's own allocations are not ours to judge, so leak
# checking is off there.
run_foreign() {
	if [ "$SAN" = 1 ]; then
		env LD_PRELOAD="${LULL_LIBASAN:?}${LULL_LIBUBSAN:+:$LULL_LIBUBSAN}${LD_PRELOAD:+:$LD_PRELOAD}" \
		    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:strict_string_checks=0" \
		    "$@"
	else
		"$@"
	fi
}

# Runs SAN=1 setup when a test is started by hand rather than by run.sh.
if [ "$SAN" = 1 ] && [ -z "${LULL_LIBASAN:-}" ]; then
	LULL_LIBASAN=$("${CC:-cc}" -print-file-name=libasan.so)
	LULL_LIBUBSAN=$("${CC:-cc}" -print-file-name=libubsan.so)
	export LULL_LIBASAN LULL_LIBUBSAN
fi

wavtool() { "$WAVTOOL" "$@"; }

# card ARGS: the ALSA device name of the simulated card with arguments,
# e.g. card "OUT=$T/c.wav,FIFO=480" -> lullsim:OUT=...,FIFO=480
card() { echo "lullsim:$1"; }

# --- numbers and fields ----------------------------------------------------

# kv KEY TEXT: the value of the first KEY=value field in TEXT.
kv() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {
		print substr($i, length(k) + 2); found = 1; exit } }
		END { exit !found }' <<<"$2"
}

# calc EXPR: floating point arithmetic, e.g. calc "3 * 48000 / 1000".
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }

# is TRUE-EXPR: awk comparison, e.g. is "$f > 439.5 && $f < 440.5".
is() { awk "BEGIN { exit !($*) }"; }

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: got '$1', expected '$2'"
}

# assert_between VALUE LOW HIGH WHAT (inclusive, floating point)
assert_between() {
	is "$1 >= $2 && $1 <= $3" ||
		fail "${4:-value}: $1 is outside [$2, $3]"
}

# assert_near VALUE EXPECTED MARGIN WHAT
assert_near() {
	is "$1 >= $2 - $3 && $1 <= $2 + $3" ||
		fail "${4:-value}: $1 is not within $2 +- $3"
}

assert_ge() { is "$1 >= $2" || fail "${3:-value}: $1 < $2"; }
assert_le() { is "$1 <= $2" || fail "${3:-value}: $1 > $2"; }

# assert_grep PATTERN FILE WHAT: FILE has a line matching the ERE.
assert_grep() {
	grep -Eq -- "$1" "$2" || fail "${3:-$2 has no line matching '$1'}"
}

assert_no_grep() {
	if grep -Eq -- "$1" "$2"; then
		fail "${3:-$2 has a line matching '$1'}: $(grep -Em1 -- "$1" "$2")"
	fi
}

# --- the card's event log --------------------------------------------------

# ev FILE EVENT KEY [N]: KEY of the Nth (default first) EVENT line.
ev() {
	awk -v e="$2" -v k="$3" -v n="${4:-1}" '
		$1 == e && ++seen == n { for (i = 2; i <= NF; i++)
			if (index($i, k "=") == 1) { print substr($i, length(k) + 2);
				found = 1; exit } }
		END { exit !found }' "$1" || fail "$1: no $3= in $2 line ${4:-1}"
}

# ev_count FILE EVENT: how many EVENT lines.
ev_count() { awk -v e="$2" '$1 == e { n++ } END { print n + 0 }' "$1"; }

# ev_all FILE EVENT KEY: KEY of every EVENT line, one per line.
ev_all() {
	awk -v e="$2" -v k="$3" '$1 == e { for (i = 2; i <= NF; i++)
		if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$1"
}

# --- time ------------------------------------------------------------------

# now: wall-clock seconds with microseconds; elapsed T0: seconds since T0.
now() { echo "$EPOCHREALTIME"; }
elapsed() { calc "$(now) - $1"; }

# timed VAR CMD...: runs CMD, stores its duration in seconds in VAR; keeps
# CMD's exit status.
timed() {
	local -n lib_timed_out=$1
	local t0 rc=0
	shift
	t0=$(now)
	"$@" || rc=$?
	# shellcheck disable=SC2034  # a nameref: sets the caller's VAR
	lib_timed_out=$(elapsed "$t0")
	return "$rc"
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds.
wait_for() {
	local deadline
	deadline=$(calc "$(now) + $1")
	shift
	until "$@"; do
		is "$(now) > $deadline" && return 1
		sleep 0.05
	done
}

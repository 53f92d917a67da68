#!/bin/bash
# Runs lull's tests: every unit test binary $BUILD/tests/test_* (cmocka) and
# every end-to-end script tests/e2e/*.sh, one after another (the end-to-end
# tests measure time, so they do not share the machine with each other).
#
#   BUILD=build SAN=0 tests/run.sh [NAME...]     (make check does this)
#
# NAME picks tests whose name contains it, e.g. `tests/run.sh simcard_fifo`.
# An end-to-end script exits 0 to pass, 77 to skip, anything else to fail;
# it gets BUILD, SAN and a private empty directory in TEST_TMPDIR (also
# TMPDIR). Logs are kept in $BUILD/test-logs/.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
SAN=${SAN:-0}
[ "$SAN" = 1 ] || SAN=0
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD SAN

# Seconds for one test: the clock-drift soak plays for 10 minutes.
TIMEOUT=${LULL_TEST_TIMEOUT:-900}
export LULL_TEST_TIMEOUT=$TIMEOUT
LOGS=$BUILD/test-logs
TOP=$(mktemp -d "${TMPDIR:-/tmp}/lull-tests.XXXXXX") || exit 2
# Each test overwrites its own log; the directory is never emptied, so two
# runs sharing a build directory do not delete each other's logs.
mkdir -p "$LOGS" || exit 2

# Sanitizers. Our programs are linked with ASan/UBSan; alsa-lib keeps its
# parsed configuration for the life of the process, which LeakSanitizer
# would report, so leaks from inside libasound are suppressed. Programs we
# did not build (aplay...) go through run_foreign in tests/e2e/lib.sh, which
# preloads the runtime the instrumented plugin needs.
setup_san() {
	local cc=${CC:-cc}

	printf 'leak:libasound.so\n' > "$TOP/lsan.supp"
	export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
	export LSAN_OPTIONS="suppressions=$TOP/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	LULL_LIBASAN=$("$cc" -print-file-name=libasan.so)
	LULL_LIBUBSAN=$("$cc" -print-file-name=libubsan.so)
	export LULL_LIBASAN LULL_LIBUBSAN
	if [ ! -e "$LULL_LIBASAN" ]; then
		echo "run.sh: $cc has no libasan.so; cannot run foreign programs under SAN=1" >&2
		exit 2
	fi
}
[ "$SAN" = 1 ] && setup_san

now() { echo "${EPOCHREALTIME/[.,]/}"; }	# microseconds

# wanted NAME: true when no filter was given or NAME matches one.
wanted() {
	local f
	[ $# -gt 1 ] || return 0
	for f in "${@:2}"; do
		[[ $1 == *"$f"* ]] && return 0
	done
	return 1
}

pass=0 fail=0 skip=0
failed_names=()

# run_one NAME LOG CMD...: runs a test in its own empty directory with a
# time limit (timeout puts it in its own process group and kills all of it).
run_one() {
	local name=$1 log=$2 t0 t1 rc secs dir reason
	shift 2
	dir=$TOP/${name//\//_}
	mkdir -p "$dir"
	t0=$(now)
	TEST_TMPDIR=$dir TMPDIR=$dir timeout -k 10 "$TIMEOUT" "$@" \
		</dev/null >"$log" 2>&1
	rc=$?
	t1=$(now)
	secs=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')
	case $rc in
	0)
		printf 'PASS  %-40s %6ss\n' "$name" "$secs"
		pass=$((pass + 1))
		rm -rf "$dir"
		;;
	77)
		reason=$(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: *//')
		printf 'SKIP  %-40s %6ss  %s\n' "$name" "$secs" "$reason"
		skip=$((skip + 1))
		rm -rf "$dir"
		;;
	*)
		[ $rc = 124 ] && echo "run.sh: killed after ${TIMEOUT}s" >>"$log"
		printf 'FAIL  %-40s %6ss  (exit %s)\n' "$name" "$secs" "$rc"
		fail=$((fail + 1))
		failed_names+=("$name")
		show_log "$log"
		echo "      files kept in $dir"
		;;
	esac
}

show_log() {
	local lines
	[ -f "$1" ] || { echo "      (no log: $1 is gone)"; return; }
	lines=$(wc -l <"$1")
	echo "      ---- $1 ($lines lines$([ "$lines" -gt 200 ] && echo ', last 200'))"
	tail -n 200 "$1" | sed 's/^/      | /'
	echo "      ----"
}

echo "lull tests: BUILD=${BUILD#"$ROOT"/} SAN=$SAN"
shopt -s nullglob
for bin in "$BUILD"/tests/test_*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	name=unit/${bin##*/}
	wanted "$name" "$@" || continue
	run_one "$name" "$LOGS/${bin##*/}.log" "$bin"
done
for script in tests/e2e/*.sh; do
	[ "${script##*/}" = lib.sh ] && continue
	base=${script##*/}
	name=e2e/${base%.sh}
	wanted "$name" "$@" || continue
	run_one "$name" "$LOGS/e2e_${base%.sh}.log" bash "$script"
done

# Keep the directories of failed tests for inspection; drop the rest.
rmdir "$TOP"/* 2>/dev/null
[ "$fail" -eq 0 ] && rm -rf "$TOP"

echo
[ "$fail" -gt 0 ] && echo "failed: ${failed_names[*]}"
summary="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && summary="$summary, $skip skipped"
echo "$summary"
[ "$fail" -eq 0 ]

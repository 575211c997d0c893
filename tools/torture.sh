#!/usr/bin/env bash
# Allocation-failure torture of the unit tests, as curl's: each test runs
# once to count its allocations (tests/unit/torture.c counts them), then
# once per N with the Nth allocation failed. A test may fail under an
# injected failure (that is expected); it may not crash, trip a sanitizer,
# or leak. A leak after a failed assertion is only counted, not an error:
# cmocka leaves a failed test by longjmp, skipping the test's own cleanup;
# so is a NULL our code returned reaching cmocka's assert_string_equal().
#
#   tools/torture.sh [-d BUILD_DIR] [-m MAX_RUNS] [test...]
#     BUILD_DIR  default build-asan (ASan+UBSan: tools/build.sh asan)
#     MAX_RUNS   runs per test at the most (default 100): when a test makes
#                more allocations, every k-th one is failed (k printed)
#     test       names as in tests/unit (util, config...); default: all
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-asan
max=100
while getopts d:m: o; do
	case $o in
	d) dir=$OPTARG ;;
	m) max=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
tests=("$@")
[ "${#tests[@]}" -gt 0 ] ||
	mapfile -t tests < <(ls tests/unit/*_test.c | sed 's|.*/||; s|_test\.c$||')
[ -x "$dir/util_test" ] || { echo "torture: no $dir/util_test (tools/build.sh asan)"; exit 2; }

# ASan reports a SEGV itself, rather than leave it to cmocka's handler.
# Stacks are symbolised only when a bad run is run again to be shown:
# symbolising every expected leak report would take most of the time.
asan=detect_leaks=1:halt_on_error=1:allow_user_segv_handler=0:exitcode=99
export ASAN_OPTIONS=$asan:symbolize=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0:exitcode=99
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run failing allocation $2 of test $1; prints a verdict line:
# "ok", "leak-after-failure" or "BAD <what>" (the log is kept then).
run_one() {
	local t=$1 n=$2 log=$work/$1.$2.log rc=0
	SK_TORTURE_FAIL=$n timeout 60 "$dir/${t}_test" >"$log" 2>&1 || rc=$?
	if grep -q 'ERROR: AddressSanitizer: SEGV' "$log" &&
		grep -E '^ +#[01] ' "$log" | grep -q libcmocka; then
		# cmocka's assert_string_equal() reads the NULL our code
		# returned under the injected failure: a failed assertion.
		echo "assert-on-null $t $n"; rm -f "$log"
	elif grep -q -E 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:' "$log"; then
		echo "BAD $t $n sanitizer"
	elif grep -q 'Test failed with exception' "$log" ||
		{ [ "$rc" -ge 124 ] && [ "$rc" -ne 99 ]; }; then
		echo "BAD $t $n $([ "$rc" = 124 ] && echo "hang (timeout)" || echo "crash (exit $rc)")"
	elif grep -q 'ERROR: LeakSanitizer' "$log"; then
		if grep -q -E '\[  FAILED  \]|\[  ERROR   \]' "$log"; then
			echo "leak-after-failure $t $n"; rm -f "$log"
		else
			echo "BAD $t $n leak"
		fi
	else
		echo "ok $t $n"; rm -f "$log"
	fi
}
export -f run_one
export dir work

status=0
start=$(date +%s)
for t in "${tests[@]}"; do
	SK_TORTURE_COUNT=$work/count "$dir/${t}_test" >"$work/plain.log" 2>&1 ||
		{ cat "$work/plain.log"; echo "torture: $t fails without injection"; status=1; continue; }
	count=$(cat "$work/count")
	step=$(( (count + max - 1) / max ))
	[ "$step" -ge 1 ] || step=1
	t0=$(date +%s)
	seq 1 "$step" "$count" | xargs -P "$(nproc)" -I{} bash -c 'run_one "$0" "$1"' "$t" {} \
		>"$work/verdicts"
	runs=$(wc -l <"$work/verdicts")
	bad=$(grep -c '^BAD' "$work/verdicts" || true)
	lf=$(grep -c -E '^(leak-after-failure|assert-on-null)' "$work/verdicts" || true)
	echo "torture: $t: $count allocations, $runs runs (step ${step})," \
		"$bad bad, $lf failed assertions that leaked or read NULL," \
		"$(( $(date +%s) - t0 ))s"
	if [ "$bad" -gt 0 ]; then
		status=1
		grep '^BAD' "$work/verdicts" | sort -k3 -n | awk 'NR <= 5' | while read -r _ bt bn what; do
			echo "== $bt, allocation $bn failed: $what"
			SK_TORTURE_FAIL=$bn ASAN_OPTIONS=$asan timeout 60 "$dir/${bt}_test" 2>&1 |
				grep -E -A25 'ERROR: |runtime error:|exception' | head -40 || true
		done
	fi
done
echo "torture: done in $(( $(date +%s) - start ))s: $([ $status = 0 ] && echo PASS || echo FAIL)"
exit $status

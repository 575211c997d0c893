#!/usr/bin/env bash
# The whole test suite: unit tests (ctest) and the end-to-end suites (real
# redis-server, the oidc-provider test IdP, nginx, Chromium), on three
# builds: gcov coverage (the whole suite's line coverage, against the floor
# in tests/coverage-floor), AddressSanitizer + UBSan, and ThreadSanitizer.
# Around them: banned functions, clang-format, clang-tidy, the unit tests
# on the normal build, allocation-failure torture (ASan), and the demo.
#   tools/test.sh           everything (CI: .ci/run)
#   tools/test.sh quick     the normal build only: unit and end to end
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
start=$(date +%s)

tools/deps.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
# TSan reports go to files (the harness keeps the daemon's stderr); any
# file there fails the run. tests/tsan.supp: library reports, with reasons.
tsan_logs=$(mktemp -d)
trap 'rm -rf "$tsan_logs"' EXIT
tsan_options="halt_on_error=0 second_deadlock_stack=1 report_signal_unsafe=0 \
suppressions=$PWD/tests/tsan.supp log_path=$tsan_logs/sk"

status=0
t0=$start
phase() { # name: prints the time the previous phase took
	local now
	now=$(date +%s)
	[ "$t0" = "$start" ] || echo "   ($(( now - t0 ))s)"
	t0=$now
	echo "== $*"
}
e2e() { # build dir: the end-to-end suites against its daemon
	local sanitized=0
	case $1 in build-asan | build-tsan) sanitized=1 ;; esac
	SEKISHO_BIN="$PWD/$1/sekisho" SEKISHO_SANITIZED=$sanitized \
		node --test --test-concurrency=1 tests/integration/ tests/browser/
}

phase "banned functions"
tools/check-banned.sh || status=1
phase "clang-format"
# Report-only until the tree has been reformatted once: then the file
# .format-enforced is committed and a difference fails the run.
if [ -f .format-enforced ]; then
	tools/format.sh --check || status=1
else
	tools/format.sh --check | tail -1 ||
		echo "format: not enforced yet (no .format-enforced)"
fi
phase "test IdP self-test"
node --test tests/idp/selftest.mjs || status=1
phase "build (normal)"
tools/build.sh normal
phase "unit tests (normal)"
ctest --test-dir build --output-on-failure || status=1
if [ "$mode" = quick ]; then
	phase "end-to-end tests (normal)"
	e2e build || status=1
else
	phase "builds (coverage, asan)"
	tools/build.sh coverage
	tools/build.sh asan
	phase "unit tests (coverage, asan)"
	lcov --quiet --zerocounters --directory build-cov
	ctest --test-dir build-cov --output-on-failure || status=1
	ctest --test-dir build-asan --output-on-failure || status=1
	# The CPU-bound checks run niced in the background while the
	# coverage build's end-to-end suite (mostly waiting on its servers)
	# runs: clang-tidy, allocation-failure torture (ASan), the TSan build.
	bg=$(mktemp -d)
	nice -n 19 bash -c 'for job in "tidy.sh" "torture.sh -d build-asan" "build.sh tsan"; do
		name=${job%%.sh*}
		tools/$job >"$1/$name.log" 2>&1; echo $? >"$1/$name.rc"
	done' _ "$bg" &
	bg_pid=$!
	# The coverage build (-O0, gcov) stands in for the normal one in the
	# end-to-end run, so the whole suite's coverage costs no run of its own.
	phase "end-to-end tests (coverage)"
	e2e build-cov || status=1
	# The two sanitized suites run side by side, each in the background
	# with its output kept for the end: they spend most of their time
	# waiting on their servers (ports are random, nothing is shared).
	# ASan's starts now; TSan's once the background has built it. The
	# coverage report (lcov, one CPU for minutes) runs niced beside them:
	# nothing writes build-cov/ any more.
	logs=$(mktemp -d)
	nice -n 19 tools/coverage.sh --report >"$logs/coverage" 2>&1 &
	cov_pid=$!
	e2e build-asan >"$logs/asan" 2>&1 &
	asan_pid=$!
	wait "$bg_pid" || true
	for name in tidy torture build; do
		phase "$name (ran in the background)"
		cat "$bg/$name.log"
		[ "$(cat "$bg/$name.rc" 2>/dev/null)" = 0 ] || status=1
	done
	rm -rf "$bg"
	phase "unit tests (tsan)"
	TSAN_OPTIONS=$tsan_options ctest --test-dir build-tsan --output-on-failure || status=1
	phase "end-to-end tests (asan and tsan, side by side)"
	TSAN_OPTIONS=$tsan_options e2e build-tsan >"$logs/tsan" 2>&1 &
	tsan_pid=$!
	wait "$asan_pid" && asan_rc=0 || asan_rc=$?
	wait "$tsan_pid" && tsan_rc=0 || tsan_rc=$?
	for name in asan tsan; do
		echo "-- end-to-end tests ($name)"
		cat "$logs/$name"
	done
	phase "line coverage of the whole suite (unit + end to end + browser; reported beside the sanitized suites)"
	wait "$cov_pid" || status=1
	cat "$logs/coverage"
	rm -rf "$logs"
	[ "$asan_rc" = 0 ] || { echo "end-to-end tests (asan): FAIL"; status=1; }
	[ "$tsan_rc" = 0 ] || { echo "end-to-end tests (tsan): FAIL"; status=1; }
	if [ -n "$(ls -A "$tsan_logs")" ]; then
		cat "$tsan_logs"/*
		echo "tsan: $(ls "$tsan_logs" | wc -l) processes reported (above)"
		status=1
	fi
fi
phase "the demo (README's first command), driven by Chromium"
demo_log=$(mktemp)
setsid tools/demo.sh >"$demo_log" 2>&1 &
demo_pid=$!
for _ in $(seq 120); do
	grep -q "Sekisho is running" "$demo_log" && break
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.5
done
if grep -q "Sekisho is running" "$demo_log"; then
	SEKISHO_DEMO_RUNNING=1 node --test tests/browser/demo.test.mjs || status=1
else
	echo "demo did not start:"; tail -20 "$demo_log"; status=1
fi
kill -TERM -- -"$demo_pid" 2>/dev/null || true
wait "$demo_pid" 2>/dev/null || true
rm -f "$demo_log"

phase "done in $(( $(date +%s) - start ))s: $([ $status = 0 ] && echo PASS || echo FAIL)"
exit $status

#!/usr/bin/env bash
# The whole test suite: unit tests (ctest) and the end-to-end suites (real
# redis-server, the oidc-provider test IdP, nginx, Chromium), once on the
# normal build and once on the AddressSanitizer + UBSan build.
#   tools/test.sh           everything
#   tools/test.sh quick     normal build only
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
start=$(date +%s)

tools/deps.sh
builds=(normal)
[ "$mode" = quick ] || builds+=(asan)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

status=0
echo "== banned functions"
tools/check-banned.sh || status=1
echo "== test IdP self-test"
node --test tests/idp/selftest.mjs || status=1
for b in "${builds[@]}"; do
	dir=build
	[ "$b" = asan ] && dir=build-asan
	echo "== build ($b)"
	tools/build.sh "$b"
	echo "== unit tests ($b)"
	ctest --test-dir "$dir" --output-on-failure || status=1
	echo "== end-to-end tests ($b)"
	SEKISHO_BIN="$PWD/$dir/sekisho" SEKISHO_SANITIZED=$([ "$b" = asan ] && echo 1 || echo 0) \
		node --test --test-concurrency=1 tests/integration/ tests/browser/ || status=1
done
echo "== the demo (README's first command), driven by Chromium"
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

echo "== done in $(( $(date +%s) - start ))s: $([ $status = 0 ] && echo PASS || echo FAIL)"
exit $status

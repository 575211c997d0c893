#!/usr/bin/env bash
# Line coverage of the whole suite, unit and end to end (real Redis, the
# test IdP, nginx, Chromium), on a gcov build in build-cov/:
#   tools/coverage.sh            prints the total and the weakest files
#   tools/coverage.sh --html     also writes build-cov/html/index.html
# The daemons the tests start write their counters when they exit (SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
command -v lcov >/dev/null || { echo "coverage: needs lcov (apt-get install lcov)"; exit 2; }
tools/build.sh coverage >/dev/null
lcov --quiet --zerocounters --directory build-cov
status=0
ctest --test-dir build-cov --output-on-failure >/dev/null || status=1
SEKISHO_BIN="$PWD/build-cov/sekisho" SEKISHO_SANITIZED=0 \
	node --test --test-concurrency=1 tests/integration/ tests/browser/ >/dev/null || status=1
info=build-cov/coverage.info
lcov --quiet --capture --directory build-cov --output-file "$info.all" 2>/dev/null
lcov --quiet --extract "$info.all" "$PWD/broker/*" "$PWD/common/*" "$PWD/providers/*" \
	"$PWD/session/*" "$PWD/tools/*" --output-file "$info" 2>/dev/null
echo "== weakest files (lines covered)"
lcov --list "$info" 2>/dev/null | grep -E '\|' | grep -v -E '^\s*\[|Filename|Total' |
	sort -t'|' -k2 -n | head -12
echo "== whole suite"
lcov --summary "$info" 2>&1 | grep -E 'lines|functions'
[ "${1:-}" = --html ] && genhtml --quiet "$info" --output-directory build-cov/html
[ $status = 0 ] || echo "coverage: some tests failed (the figures count what ran)"
exit $status

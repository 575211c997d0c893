#!/usr/bin/env bash
# Line coverage of the whole suite, unit and end to end (real Redis, the
# test IdP, nginx, Chromium), on a gcov build in build-cov/:
#   tools/coverage.sh            runs the suite, prints the total and the
#                                weakest files
#   tools/coverage.sh --html     also writes build-cov/html/index.html
#   tools/coverage.sh --report   runs nothing: reports the counters the
#                                last run left in build-cov/ (tools/test.sh
#                                runs the suite on build-cov/ itself)
# Fails when the line coverage is below the floor in tests/coverage-floor
# (its first line, a percentage).
# The daemons the tests start write their counters when they exit (SIGTERM).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
command -v lcov >/dev/null || { echo "coverage: needs lcov (apt-get install lcov)"; exit 2; }
status=0
if [ "$mode" != --report ]; then
	tools/deps.sh
	tools/build.sh coverage >/dev/null
	lcov --quiet --zerocounters --directory build-cov
	ctest --test-dir build-cov --output-on-failure >/dev/null || status=1
	SEKISHO_BIN="$PWD/build-cov/sekisho" SEKISHO_SANITIZED=0 \
		node --test --test-concurrency=1 tests/integration/ tests/browser/ >/dev/null || status=1
fi
info=build-cov/coverage.info
lcov --quiet --capture --directory build-cov --output-file "$info.all" 2>/dev/null
lcov --quiet --extract "$info.all" "$PWD/broker/*" "$PWD/common/*" "$PWD/config/*" \
	"$PWD/providers/*" "$PWD/session/*" "$PWD/tokens/*" "$PWD/tools/*" \
	"$PWD/audit/*" "$PWD/hooks/*" "$PWD/web/*" \
	--output-file "$info" 2>/dev/null
# awk, not head: head leaving early can kill sort with SIGPIPE, and
# under pipefail that would end this script before its verdict.
echo "== weakest files (lines covered)"
lcov --list "$info" 2>/dev/null | grep -E '\|' | grep -v -E '^\s*\[|Filename|Total|\|Lines' |
	sort -t'|' -k2 -n | awk 'NR <= 12'
echo "== whole suite"
summary=$(lcov --summary "$info" 2>&1)
echo "$summary" | grep -E 'lines|functions'
[ "$mode" = --html ] && genhtml --quiet "$info" --output-directory build-cov/html
pct=$(echo "$summary" | sed -n 's/^ *lines\.*: *\([0-9.]*\)%.*/\1/p')
floor=$(grep -E -o -m1 '^[0-9.]+' tests/coverage-floor)
if [ -z "$pct" ] || awk -v p="$pct" -v f="$floor" 'BEGIN { exit !(p < f) }'; then
	echo "coverage: ${pct:-?}% of lines is below the floor of $floor% (tests/coverage-floor)"
	status=1
else
	echo "coverage: ${pct}% of lines (floor $floor%, tests/coverage-floor)"
fi
[ $status = 0 ] || [ "$mode" = --report ] || echo "coverage: some tests failed (the figures count what ran)"
exit $status

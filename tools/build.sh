#!/usr/bin/env bash
# Builds Sekisho: build/ (normal) or, with "asan", build-asan/ with
# AddressSanitizer + UndefinedBehaviorSanitizer, or, with "coverage",
# build-cov/ with gcov line coverage (tools/coverage.sh), or, with "tsan",
# build-tsan/ with ThreadSanitizer (suppressions: tests/tsan.supp; README).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-normal}
case "$kind" in
normal) dir=build; opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
asan) dir=build-asan; opts=(-DCMAKE_BUILD_TYPE=Debug -DSEKISHO_SANITIZE=ON) ;;
tsan) dir=build-tsan; opts=(-DCMAKE_BUILD_TYPE=Debug -DSEKISHO_TSAN=ON) ;;
coverage) dir=build-cov; opts=(-DCMAKE_BUILD_TYPE=Debug -DSEKISHO_COVERAGE=ON) ;;
*) echo "usage: tools/build.sh [normal|asan|tsan|coverage]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"

#!/usr/bin/env bash
# Builds Sekisho: build/ (normal) or, with "asan", build-asan/ with
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-normal}
case "$kind" in
normal) dir=build; opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
asan) dir=build-asan; opts=(-DCMAKE_BUILD_TYPE=Debug -DSEKISHO_SANITIZE=ON) ;;
*) echo "usage: tools/build.sh [normal|asan]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${opts[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"

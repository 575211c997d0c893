#!/usr/bin/env bash
# Fuzzes each untrusted-input parser with libFuzzer (clang) for a while:
#   tools/fuzz.sh [seconds per target, default 60]
# New interesting inputs land in tests/fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang libclang-rt-14-dev)"; exit 2; }
CC=clang cmake -S . -B build-fuzz -DSEKISHO_LIBFUZZER=ON -DSEKISHO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_redirect fuzz_form fuzz_config fuzz_jwt fuzz_jwks
for t in redirect form config jwt jwks; do
	echo "== fuzz_$t for ${secs}s"
	build-fuzz/fuzz_$t -max_total_time="$secs" -max_len=4096 tests/fuzz/corpus/$t
done

#!/usr/bin/env bash
# Fuzzes each untrusted-input parser with libFuzzer (clang). The library is
# built with coverage instrumentation (-fsanitize=fuzzer-no-link), so the
# fuzzer is guided by the edges of the parsers themselves.
#
#   tools/fuzz.sh [round seconds, default 60] [max rounds, default 5] [target...]
#
# Each target runs in rounds until a round adds no covered edge (or the
# round limit is reached); the covered edges at the start and at the end
# are printed. New interesting inputs are merged into tests/fuzz/corpus/<t>/
# and the corpus is minimised (commit it: CI replays every corpus on the
# normal and ASan builds).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
rounds=${2:-5}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(redirect form config jwt jwks discovery idtoken ghtoken policy cidr device)
command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang libclang-rt-14-dev)"; exit 2; }
CC=clang cmake -S . -B build-fuzz -DSEKISHO_LIBFUZZER=ON -DSEKISHO_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# "cov: N" of libFuzzer's INITED or DONE line: the edges covered.
cov() { grep -Eo "#[0-9]+[[:space:]]+$1[[:space:]]+cov: [0-9]+" "$log" | tail -1 | awk '{print $NF}'; }

for t in "${targets[@]}"; do
	corpus=tests/fuzz/corpus/$t
	mkdir -p "$corpus"
	first="" last=0
	for r in $(seq "$rounds"); do
		build-fuzz/fuzz_$t -max_total_time="$secs" -max_len=4096 \
			-print_final_stats=1 "$corpus" >"$log" 2>&1 ||
			{ tail -40 "$log"; echo "fuzz_$t: crash or leak (above)"; exit 1; }
		[ -n "$first" ] || first=$(cov INITED)
		now=$(cov DONE)
		echo "fuzz_$t round $r: edges $(cov INITED) -> $now"
		[ "${now:-0}" -gt "$last" ] || break
		last=${now:-0}
	done
	# Keep the corpus small: the hand-written seeds (named, not by hash)
	# stay, and of the rest only inputs that add coverage to them.
	min=$(mktemp -d)
	find "$corpus" -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp {} "$min"/ \;
	build-fuzz/fuzz_$t -merge=1 "$min" "$corpus" >"$log" 2>&1
	rm -f "$corpus"/*
	cp "$min"/* "$corpus"/ 2>/dev/null || true
	rm -rf "$min"
	echo "== fuzz_$t: edges covered ${first:-?} at the start, $last at the end;" \
		"$(ls "$corpus" | wc -l) inputs kept"
done

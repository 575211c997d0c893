#!/usr/bin/env bash
# Runs clang-tidy (checks: .clang-tidy) over every .c file of the build, in
# parallel (at most one job per core), with build/compile_commands.json.
# Any finding of an enabled check fails (WarningsAsErrors: every check).
#   tools/tidy.sh [FILE.c...]     default: every .c in the compile database
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-tidy >/dev/null || { echo "tidy: needs clang-tidy (apt-get install clang-tidy)"; exit 2; }
db=build/compile_commands.json
[ -f "$db" ] || tools/build.sh normal >/dev/null
if [ $# -gt 0 ]; then
	files=("$@")
else
	mapfile -t files < <(python3 -c 'import json,sys
for e in json.load(open(sys.argv[1])): print(e["file"])' "$db" | sort -u)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# One log per file, so that parallel output does not interleave. gcc-only
# flags in the database are dropped: clang does not know them.
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -I{} sh -c \
	'f="$1"; clang-tidy -p build --quiet --warnings-as-errors="*" \
		--extra-arg=-Wno-unknown-warning-option "$f" \
		>"$2/$(echo "$f" | tr / _).log" 2>&1 || echo "$f" >>"$2/failed"' _ {} "$out"
status=0
if [ -s "$out/failed" ]; then
	for f in $(sort "$out/failed"); do
		cat "$out/$(echo "$f" | tr / _).log"
	done | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated|^Suppressed|^Use -header-filter|^Error while processing'
	echo "tidy: findings in $(wc -l <"$out/failed") of ${#files[@]} files"
	status=1
else
	echo "tidy: ${#files[@]} files, no finding"
fi
exit $status

#!/usr/bin/env bash
# clang-format (style: .clang-format) over every tracked .c/.h file except
# the fuzz corpora.
#   tools/format.sh            reformats the files in place
#   tools/format.sh --check    changes nothing; lists each file that is not
#                              formatted and fails (what tools/test.sh runs)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: needs clang-format (apt-get install clang-format)"; exit 2; }
mapfile -t files < <(git ls-files -- '*.c' '*.h' ':!:tests/fuzz/corpus/**')
if [ "${1:-}" != --check ]; then
	clang-format -i "${files[@]}"
	exit 0
fi
bad=()
for f in "${files[@]}"; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -gt 0 ]; then
	printf 'format: not formatted: %s\n' "${bad[@]}"
	echo "format: ${#bad[@]} of ${#files[@]} files differ (tools/format.sh fixes them)"
	exit 1
fi
echo "format: ${#files[@]} files formatted"

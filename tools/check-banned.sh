#!/usr/bin/env bash
# Refuses functions that are easy to misuse (the curl / OpenSSH list):
# unbounded copies and formats, locale- or state-dependent parsers, and
# memset for wiping (use sk_memzero: the compiler may drop a memset).
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atof|rand|srand|tmpnam|mktemp)\s*\('
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/' || true)
hits=$(grep -nE "$pattern" $files | grep -v 'banned-ok' || true)
if [ -n "$hits" ]; then
	echo "banned functions used (see tools/check-banned.sh):"
	echo "$hits"
	exit 1
fi
echo "check-banned: ok ($(echo "$files" | wc -w) files)"

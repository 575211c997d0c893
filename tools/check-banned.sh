#!/usr/bin/env bash
# Refuses functions that are easy to misuse (the curl / OpenSSH list):
# unbounded copies and formats, unchecked or state-dependent parsers, weak
# randomness. (Wiping secrets with sk_memzero rather than memset is a review
# rule: a script cannot tell a wipe from an initialisation.)
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

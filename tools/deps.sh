#!/usr/bin/env bash
# Installs what building and testing Sekisho needs on Debian 12: the C
# libraries, redis-server, nginx, caddy, oathtool, Chromium, Node.js, the
# checkers (clang-format, clang-tidy, lcov), and the npm test tools from the
# committed lock file. Installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(build-essential cmake pkg-config git curl ca-certificates
      libmicrohttpd-dev libhiredis-dev libssl-dev libjwt-dev liboath-dev
      liboauth2-dev libcjose-dev libjansson-dev libcurl4-openssl-dev
      libyaml-dev libqrencode-dev libcmocka-dev gettext
      redis-server redis-tools nginx caddy oathtool chromium
      clang-format clang-tidy lcov)

missing=()
for p in "${DEBS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
# Node.js may come from elsewhere than Debian (its npm is then built in).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian enables and starts these services on install; Sekisho's scripts run
# their own private instances, so the system ones are left alone.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "deps: npm ci"
	npm ci --no-audit --no-fund --loglevel=error
fi

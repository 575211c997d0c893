#!/usr/bin/env bash
# Runs Sekisho's main job locally: a private redis-server, the test OpenID
# provider standing in for Google, Sekisho itself, and nginx protecting a
# small app with auth_request. Open the printed URL and sign in as
# alice / alice-password. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
run=/tmp/sekisho-demo        # conf/sekisho.local.yaml points here

tools/deps.sh
tools/build.sh normal >/dev/null

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -f "$run/redis.pid" ] && kill "$(cat "$run/redis.pid")" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT INT TERM

rm -rf "$run"
mkdir -p "$run/nginx"
chmod 700 "$run"
# The client secret shared by Sekisho and the local IdP, made fresh per run.
(umask 077 && openssl rand -hex 24 > "$run/idp-client.secret")
# Sekisho's master key (seals its signing keys in Redis), also per run.
(umask 077 && openssl rand -hex 32 > "$run/master.key")

wait_for() { # wait_for URL SECONDS
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "demo: $1 did not come up; see $run/*.log" >&2
	return 1
}

# Persistence on and no eviction: Sekisho refuses a Redis that may drop
# second factors (README, Redis).
redis-server --port 0 --unixsocket "$run/redis.sock" --unixsocketperm 700 \
	--save '' --appendonly yes --dir "$run" --maxmemory-policy noeviction \
	--daemonize yes \
	--pidfile "$run/redis.pid" --logfile "$run/redis.log"

node tests/idp/server.mjs --port 9400 --client-id sekisho-local \
	--client-secret-file "$run/idp-client.secret" \
	--redirect-uri http://127.0.0.1:8080/callback/google >"$run/idp.log" 2>&1 &
pids+=($!)
node tests/echo/server.mjs --port 9500 >"$run/echo.log" 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:9400/.well-known/openid-configuration 20

build/sekisho -c conf/sekisho.local.yaml > >(tee "$run/sekisho.log") 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:8080/readyz 10

sed -e "s#@RUN@#$run#g" conf/nginx.local.conf >"$run/nginx/nginx.conf"
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -e "$run/nginx/error.log" &
pids+=($!)
wait_for http://127.0.0.1:9080/healthz 10 || true

cat <<MSG

  Sekisho is running.
    Protected app (nginx auth_request):  http://127.0.0.1:9080/
    Sekisho itself:                      http://127.0.0.1:8080/
    Sign in as alice / alice-password (or bob / bob-password).
  Logs in $run. Ctrl-C to stop.

MSG
wait "${pids[2]}"

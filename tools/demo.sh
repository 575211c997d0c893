#!/usr/bin/env bash
# Runs Sekisho's main job locally: a private redis-server, the test OpenID
# provider standing in for Google, Sekisho itself, and nginx protecting two
# small apps on their own hosts with one sign-in (conf/nginx.example.conf on
# *.sekisho.localhost names, which browsers resolve to this machine). Open
# the printed URL and sign in as alice / alice-password. Ctrl-C stops
# everything.
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
# The client secret shared by Sekisho and the local IdP, made fresh per run
# (mode 0600, 48 characters).
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
	--save '' --appendonly yes --appendfsync everysec --dir "$run" --maxmemory-policy noeviction \
	--daemonize yes \
	--pidfile "$run/redis.pid" --logfile "$run/redis.log"

node tests/idp/server.mjs --port 9400 --client-id sekisho-local \
	--client-secret-file "$run/idp-client.secret" \
	--redirect-uri http://login.sekisho.localhost:9080/callback/google \
	>"$run/idp.log" 2>&1 &
pids+=($!)
node tests/echo/server.mjs --port 9500 >"$run/echo.log" 2>&1 &
pids+=($!)
node tests/echo/server.mjs --port 9501 >"$run/echo-admin.log" 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:9400/.well-known/openid-configuration 20

build/sekisho -c conf/sekisho.local.yaml > >(tee "$run/sekisho.log") 2>&1 &
pids+=($!)
sekisho_pid=$!
wait_for http://127.0.0.1:8080/healthz 10

sed -e "s#@RUN@#$run#g" conf/nginx.local.conf >"$run/nginx/nginx.conf"
sed -e "s#example\.com#sekisho.localhost#g" \
	-e "s#listen 80;#listen 127.0.0.1:9080;#" \
	-e "s#/var/log/nginx/#$run/nginx/#" \
	conf/nginx.example.conf >"$run/nginx/site.conf"
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" -e "$run/nginx/error.log" &
pids+=($!)
# curl, like browsers, resolves *.localhost to this machine.
wait_for http://login.sekisho.localhost:9080/readyz 10 || true

cat <<MSG

  Sekisho is running: one sign-in for two apps on their own hosts.
    An app (nginx auth_request):   http://app.sekisho.localhost:9080/
    Another app, same sign-in:     http://admin.sekisho.localhost:9080/
    Sekisho's pages:               http://login.sekisho.localhost:9080/
    Sign in as alice / alice-password (or bob / bob-password).
  Logs in $run. Ctrl-C to stop.

MSG
wait "$sekisho_pid"

#!/usr/bin/env bash
# Sekisho benchmarks, each printed as a ratio against a baseline measured in
# the same run on the same machine (the machine is shared and noisy: each
# figure is the median of RUNS runs; the HTTP series take turns, one run of
# each per round, so that drift hits them alike):
#   - token issuance: signs/s on one core vs `openssl speed ecdsap256`
#   - GET /healthz, GET /auth/verify with a valid session and POST
#     /oauth2/introspect with a valid token: requests/s and p99 at 64
#     connections (wrk) vs nginx answering a fixed `return 200`
#   - IP allowlist lookups/s with 10 and 100,000 prefixes (no baseline)
#   - GET /auth/verify again while 20 sign-ins wait on a provider whose
#     token endpoint never answers, vs /auth/verify without them
#   - full federated sign-ins (test IdP; no TOTP enrolled) per second of
#     Sekisho's own CPU time (/proc/PID/stat)
#   - resident memory at idle; Redis used_memory per session
# Redis runs durable, as customers run it: AOF, appendfsync everysec.
# Targets: issue 13. At the end the figures are printed again as the
# Markdown table of the README's performance section.
# Everything listens on 127.0.0.1 only; every load run is bounded in time
# (wrk -d) or in count and time (sign-ins).
#   bench/run.sh [seconds per run, default 5] [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
runs=${2:-3}
conns=64

command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)"; exit 2; }
tools/build.sh normal >/dev/null
cmake --build build --target sign_bench session_bench ipset_bench >/dev/null

dir=$(mktemp -d /tmp/sekisho-bench-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_url() {
	for _ in $(seq 100); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
	echo "bench: $1 did not come up" >&2; return 1
}

# wrk_run URL [wrk args...] -> "rps p99_ms"
wrk_run() {
	local url=$1; shift
	wrk -t2 -c$conns -d"${secs}s" --latency "$@" "$url" | awk '
		/Requests\/sec/ {rps=$2}
		/^ +99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
		/Non-2xx/ {bad=$NF}
		END {if (bad) {print "bench: non-2xx answers: " bad > "/dev/stderr"; exit 1}; print rps, p99}'
}

series() { # series NAME URL [wrk args] -> prints "median_rps median_p99"
	local name=$1 url=$2; shift 2
	local i out rpss=() p99s=()
	for ((i = 0; i < runs; i++)); do
		out=$(wrk_run "$url" "$@")
		rpss+=("${out% *}")
		p99s+=("${out#* }")
	done
	echo "$(printf '%s\n' "${rpss[@]}" | median) $(printf '%s\n' "${p99s[@]}" | median)"
}

echo "== token issuance (one core)"
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt >"$dir/sign.pem" 2>/dev/null
ours=(); base=()
for ((i = 0; i < runs; i++)); do
	ours+=("$(build/sign_bench "$dir/sign.pem" "$secs" | awk '{print $2}')")
	base+=("$(openssl speed -seconds "$secs" ecdsap256 2>/dev/null | awk '/nistp256/ {print $(NF-1)}')")
done
o=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${base[@]}" | median)
printf "sekisho signs/s %.0f   openssl ecdsap256 sign/s %.0f   ratio %.2fx (target >= 0.50x)\n" "$o" "$b" "$(echo "$o / $b" | bc -l)"

echo "== IP allowlist lookups (one core; median of $runs runs)"
build/ipset_bench 1 "$runs"

echo "== HTTP at $conns connections, ${secs}s x $runs runs"
np=$(port); ip=$(port); sp=$(port)
mkdir -p "$dir/nginx"
cat >"$dir/nginx/nginx.conf" <<NGX
daemon off; master_process on; worker_processes auto; user root;
pid $dir/nginx/nginx.pid; error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $dir/nginx;
  server { listen 127.0.0.1:$np; location / { return 200 "ok"; } } }
NGX
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" & pids+=($!)
# Redis on a Unix socket, as the brief recommends for production, with
# persistence on (AOF, fsync every second: the brief's benchmark setting)
# and no eviction (Sekisho refuses to start otherwise).
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save '' \
	--appendonly yes --appendfsync everysec --dir "$dir" --maxmemory-policy noeviction \
	--loglevel warning --logfile "$dir/redis.log" & pids+=($!)
# Secret files readable by their owner only (sekisho refuses others).
(umask 077 && openssl rand -hex 24 >"$dir/idp.secret" &&
	openssl rand -hex 32 >"$dir/master.key" &&
	echo "bench-client-secret-0123456789abcdef" >"$dir/client.secret")
node tests/idp/server.mjs --port "$ip" --client-id bench --client-secret-file "$dir/idp.secret" \
	--redirect-uri "http://127.0.0.1:$sp/callback/idp" >"$dir/idp.log" 2>&1 & pids+=($!)
cat >"$dir/sekisho.yaml" <<YAML
listen: "127.0.0.1:$sp"
public_url: "http://127.0.0.1:$sp"
redis: { url: "unix://$dir/redis.sock" }
cookie: { secure: false }
# wrk opens all its connections from one address: lift the per-address cap
http: { max_connections_per_ip: 4096 }
log_level: warn
keys: { master_key_file: $dir/master.key }
# All the load comes from one address: the rate limits are lifted.
tenants: [{ id: default, providers: [idp],
            rate_limits: { login: 100000000, mfa: 100000000, oauth: 100000000 } }]
providers:
  - { id: idp, type: oidc, client_id: bench, client_secret_file: $dir/idp.secret, issuer: "http://127.0.0.1:$ip",
      http_timeout: 120s, max_concurrent: 32 }  # the hang outlasts the runs; all 20 admitted
clients:
  - { client_id: bench-api, client_secret_file: $dir/client.secret, tenants: [default] }
YAML
wait_url "http://127.0.0.1:$ip/.well-known/openid-configuration"
# Access log to /dev/null so the disk does not join the measurement (one
# writer thread batches the lines, as in production).
build/sekisho -c "$dir/sekisho.yaml" 2>/dev/null & pids+=($!)
wait_url "http://127.0.0.1:$sp/readyz"
rss_of() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$(pgrep -f "sekisho -c $dir/sekisho.yaml" | head -1)/status"; }
idle_rss=$(rss_of)
wait_url "http://127.0.0.1:$np/"
cookie=$(node bench/signin.mjs "http://127.0.0.1:$sp")
token=$(curl -fs -D - -o /dev/null -H "Cookie: $cookie" "http://127.0.0.1:$sp/auth/verify" |
	awk 'tolower($1) == "x-auth-request-access-token:" {print $2}' | tr -d '\r')
[ -n "$token" ] || { echo "bench: no access token" >&2; exit 1; }
cat >"$dir/introspect.lua" <<LUA
wrk.method = "POST"
wrk.body = "token=$token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf 'bench-api:bench-client-secret-0123456789abcdef' | base64 -w0)"
LUA

# CPU time (user + system, all threads) of processes, in clock ticks: what
# a request costs the server, which other load on a shared machine
# disturbs less than requests/s. nginx: its workers; Sekisho: the daemon
# (not Redis).
spid=$(pgrep -f "sekisho -c $dir/sekisho.yaml" | head -1)
ngx_pids=$(pgrep -P "$(pgrep -f "nginx -p $dir/nginx" | head -1)" | tr '\n' ' ')
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
# One round: a run of each series in turn; medians over the rounds.
declare -A rps p99 cpu
for ((i = 0; i < runs; i++)); do
	for k in nginx healthz verify introspect; do
		# shellcheck disable=SC2086 # a list of pids
		if [ $k = nginx ]; then t0=$(ticks $ngx_pids); else t0=$(ticks "$spid"); fi
		case $k in
		nginx) out=$(wrk_run "http://127.0.0.1:$np/") ;;
		healthz) out=$(wrk_run "http://127.0.0.1:$sp/healthz") ;;
		verify) out=$(wrk_run "http://127.0.0.1:$sp/auth/verify" -H "Cookie: $cookie") ;;
		introspect) out=$(wrk_run "http://127.0.0.1:$sp/oauth2/introspect" -s "$dir/introspect.lua") ;;
		esac
		# shellcheck disable=SC2086
		if [ $k = nginx ]; then t1=$(ticks $ngx_pids); else t1=$(ticks "$spid"); fi
		rps[$k]+="${out% *} "
		p99[$k]+="${out#* } "
		cpu[$k]+="$(echo "($t1 - $t0) * 1000000 / $(getconf CLK_TCK) / (${out% *} * $secs)" | bc -l) "
	done
done
med() { printf '%s\n' $1 | median; }
for k in nginx healthz verify introspect; do
	printf -v "${k}_rps" %s "$(med "${rps[$k]}")"
	printf -v "${k}_p99" %s "$(med "${p99[$k]}")"
	printf -v "${k}_cpu" %s "$(med "${cpu[$k]}")"
done
# Full sign-ins, 200 a run, 8 at a time: how many per second of Sekisho's
# CPU time (all its threads; the IdP's and the client's are not counted).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
sin=(); for ((i = 0; i < runs; i++)); do
	t0=$(cpu_ticks)
	read -r _ done_n _ < <(timeout 180 node bench/signins.mjs "http://127.0.0.1:$sp" 200 8 120)
	t1=$(cpu_ticks)
	[ -n "$done_n" ] && [ "$t1" -gt "$t0" ] || { echo "bench: sign-ins failed" >&2; exit 1; }
	sin+=("$(echo "$done_n * $(getconf CLK_TCK) / ($t1 - $t0)" | bc -l)")
done
signins=$(printf '%s\n' "${sin[@]}" | median)
# 20 sign-ins hung at the token endpoint (test IdP mode token_hang), as in
# issue 8: they wait on Sekisho's upstream threads, not its HTTP workers.
node bench/hang.mjs "http://127.0.0.1:$sp" "http://127.0.0.1:$ip" 20 >"$dir/hang.out" 2>&1 & pids+=($!)
hang_pid=$!
for _ in $(seq 300); do grep -q '^hung' "$dir/hang.out" && break; sleep 0.1; done
grep -q '^hung' "$dir/hang.out" || { echo "bench: sign-ins did not hang: $(cat "$dir/hang.out")" >&2; exit 1; }
read -r h_rps h_p99 < <(series verify-hang "http://127.0.0.1:$sp/auth/verify" -H "Cookie: $cookie")
kill "$hang_pid"
after_rss=$(rss_of)
per_session=$(build/session_bench "unix://$dir/redis.sock" 5000 | awk '{print $2}')

ratio() { echo "$1 / $2" | bc -l; }
verdict() { # verdict OK_EXPR -> "met" / "not met"
	if [ "$(echo "$1" | bc -l)" = 1 ]; then echo met; else echo "not met"; fi
}
hr=$(ratio "$healthz_rps" "$nginx_rps"); vr=$(ratio "$verify_rps" "$nginx_rps"); ir=$(ratio "$introspect_rps" "$nginx_rps")
hv=$(ratio "$h_p99" "$verify_p99")
printf "nginx return 200       %9.0f req/s  p99 %6.2f ms\n" "$nginx_rps" "$nginx_p99"
printf "/healthz               %9.0f req/s  p99 %6.2f ms  ratio %.2fx (target >= 0.80x)\n" "$healthz_rps" "$healthz_p99" "$hr"
printf "/auth/verify           %9.0f req/s  p99 %6.2f ms  ratio %.2fx (target >= 0.50x, p99 < 2 ms)\n" "$verify_rps" "$verify_p99" "$vr"
printf "/oauth2/introspect     %9.0f req/s  p99 %6.2f ms  ratio %.2fx (target >= 0.50x, p99 < 2 ms)\n" "$introspect_rps" "$introspect_p99" "$ir"
printf "/auth/verify, IdP hung %9.0f req/s  p99 %6.2f ms  p99 %.2fx of /auth/verify (20 sign-ins waiting on the IdP; target: unchanged)\n" "$h_rps" "$h_p99" "$hv"
printf "CPU per request: nginx %.1f us; sekisho /healthz %.1f us (%.2fx), /auth/verify %.1f us, /oauth2/introspect %.1f us (Redis not counted)\n" "$nginx_cpu" "$healthz_cpu" "$(ratio "$healthz_cpu" "$nginx_cpu")" "$verify_cpu" "$introspect_cpu"
printf "sign-ins per CPU-second of sekisho: %.0f (target >= 1000 per core)\n" "$signins"
echo "sekisho resident memory: ${idle_rss} MB at idle (target < 20 MB), ${after_rss} MB after the runs"
echo "redis memory per session: ${per_session} bytes (target < 1024; one user per session, the worst case)"

f0() { printf "%'.0f" "$1"; }
f1() { printf "%.1f" "$1"; }
f2() { printf "%.2f" "$1"; }
cat <<TABLE

$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), median of $runs runs of ${secs} s, $conns connections, Redis AOF everysec on a Unix socket:

| what | Sekisho | baseline | ratio | target | |
|---|---|---|---|---|---|
| access-token signs/s, one core | $(f0 "$o") | \`openssl speed ecdsap256\` $(f0 "$b") | $(f2 "$(ratio "$o" "$b")")x | >= 0.5x | $(verdict "$o >= 0.5 * $b") |
| \`GET /healthz\` | $(f0 "$healthz_rps") req/s, p99 $(f2 "$healthz_p99") ms | nginx \`return 200\`: $(f0 "$nginx_rps") req/s, p99 $(f2 "$nginx_p99") ms | $(f2 "$hr")x | >= 0.8x | $(verdict "$hr >= 0.8") |
| \`GET /auth/verify\`, valid session | $(f0 "$verify_rps") req/s, p99 $(f2 "$verify_p99") ms | same | $(f2 "$vr")x | >= 0.5x, p99 < 2 ms | $(verdict "$vr >= 0.5 && $verify_p99 < 2") |
| \`POST /oauth2/introspect\`, valid token | $(f0 "$introspect_rps") req/s, p99 $(f2 "$introspect_p99") ms | same | $(f2 "$ir")x | >= 0.5x, p99 < 2 ms | $(verdict "$ir >= 0.5 && $introspect_p99 < 2") |
| \`GET /auth/verify\` while 20 sign-ins wait on a hung token endpoint | $(f0 "$h_rps") req/s, p99 $(f2 "$h_p99") ms | \`/auth/verify\` without them | p99 $(f2 "$hv")x | unchanged (within 20%) | $(verdict "$hv <= 1.2") |
| CPU time per request (server only, not Redis) | \`/healthz\` $(f1 "$healthz_cpu") µs, \`/auth/verify\` $(f1 "$verify_cpu") µs, introspect $(f1 "$introspect_cpu") µs | nginx \`return 200\` $(f1 "$nginx_cpu") µs | \`/healthz\` $(f2 "$(ratio "$healthz_cpu" "$nginx_cpu")")x | | |
| full sign-ins per second of Sekisho CPU | $(f0 "$signins") | | | >= 1,000 per core | $(verdict "$signins >= 1000") |
| resident memory at idle | ${idle_rss} MB (${after_rss} MB after the runs) | | | < 20 MB | $(verdict "$idle_rss < 20") |
| Redis memory per session | ${per_session} bytes | | | < 1 KB | $(verdict "$per_session < 1024") |
TABLE

// Integration-test harness: starts and stops the real processes a test needs
// (redis-server, the test IdP, the echo upstream, nginx, sekisho) on
// 127.0.0.1 only, with bounded waits everywhere.
//
//   import { startStack } from './harness.mjs';
//   let stack;
//   before(async () => { stack = await startStack({ nginx: true }); });
//   after(async () => { await stack?.stop(); });
//
// Every child process is also killed (SIGKILL) when the test process exits,
// as a safety net for a test that throws before its after() runs.
//
// Environment: SEKISHO_BIN (default <repo>/build/sekisho); TEST_SERVER_LOGS=1
// copies children's stderr to ours.

import { spawn, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { CookieJar, follow, signInAtIdp, setIdpMode } from '../lib/idp-login.mjs';

export { CookieJar, follow, signInAtIdp, setIdpMode };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const SEKISHO_BIN = process.env.SEKISHO_BIN || path.join(REPO, 'build', 'sekisho');
export const CLIENT_ID = 'sekisho-test';
export const CLIENT_SECRET = 'sekisho-integration-test-secret-0123456789';

const live = new Set();
function killAll() {
  for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } }
}
process.on('exit', killAll);
// A test file process stopped by a signal (Ctrl-C, the runner) takes its
// children with it; the exit code is the usual 128 + signal.
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(sig, () => { killAll(); process.exit(128 + n); });
}

const logChildren = !!process.env.TEST_SERVER_LOGS;

export function tmpDir(prefix = 'sekisho-it-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves true once something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** An error that stops waitFor() at once (e.g. the process being waited for exited). */
export function fatal(message) {
  return Object.assign(new Error(message), { fatal: true });
}

/**
 * Polls `fn` (async, truthy = done) every `intervalMs` until `timeoutMs`.
 * Errors thrown by `fn` count as "not yet", except fatal() ones.
 */
export async function waitFor(fn, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (err.fatal) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Spawns a child process, tracking it for cleanup. Returns
 * { proc, exited (promise of {code, signal}), output() (stdout+stderr so far),
 *   stop(signal, graceMs) }.
 */
export function spawnTracked(cmd, args, { name, env, cwd } = {}) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env, cwd });
  live.add(proc);
  let out = '';
  let err = '';
  const errChunks = []; // raw bytes, to check what the child really wrote
  const outDec = new StringDecoder('utf8');
  const errDec = new StringDecoder('utf8');
  proc.stdout.on('data', (b) => { const d = outDec.write(b); out += d; if (logChildren) process.stderr.write(`[${name}] ${d}`); });
  proc.stderr.on('data', (b) => { errChunks.push(b); const d = errDec.write(b); err += d; if (logChildren) process.stderr.write(`[${name}] ${d}`); });
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => { live.delete(proc); resolve({ code, signal }); });
    proc.once('error', (e) => { live.delete(proc); err += `spawn error: ${e.message}\n`; resolve({ code: -1, signal: null, error: e }); });
  });
  const running = () => proc.exitCode === null && proc.signalCode === null && live.has(proc);
  const stop = async (signal = 'SIGTERM', graceMs = 5000) => {
    if (!running()) return exited;
    proc.kill(signal);
    const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, graceMs);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  return {
    proc, exited, stop, running, stdout: () => out, stderr: () => err, stderrBytes: () => Buffer.concat(errChunks),
  };
}

// ------------------------------------------------------------------ redis

/**
 * redis-server on 127.0.0.1:port (free port by default), no persistence
 * (sekisho's configs say redis.require_persistence: false), never evicting
 * (sekisho refuses a Redis that evicts). `args` are appended to the
 * command line. kill() stops it (SIGKILL), restart() starts it again on
 * the same port.
 */
export async function startRedis({ port, args = [] } = {}) {
  port ??= await freePort();
  const dir = tmpDir('sekisho-it-redis-');
  let child;

  const launch = async () => {
    child = spawnTracked('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--unixsocket', '', '--protected-mode', 'yes', '--loglevel', 'warning',
      '--maxmemory-policy', 'noeviction', ...args,
    ], { name: 'redis' });
    const c = child;
    await waitFor(async () => {
      if (!c.running()) throw fatal(`redis-server exited: ${c.stderr()}${c.stdout()}`);
      return (await redisCli(port, 'PING').catch(() => '')).trim() === 'PONG';
    }, { timeoutMs: 10_000, what: `redis on port ${port}` });
  };
  await launch();

  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    cli: (...args) => redisCli(port, ...args),
    /** Number of keys matching a pattern (SCAN, so safe on a live server). */
    async count(pattern) {
      const out = await redisCli(port, '--scan', '--pattern', pattern);
      return out.split('\n').filter((l) => l.trim() !== '').length;
    },
    async kill() {
      await child.stop('SIGKILL', 1000);
      await waitFor(async () => !(await canConnect(port)), { timeoutMs: 5000, what: 'redis port to close' });
    },
    /** SIGSTOP / SIGCONT: Redis accepts connections but never answers. */
    pause() { child.proc.kill('SIGSTOP'); },
    resume() { child.proc.kill('SIGCONT'); },
    async restart() {
      if (child.running()) await child.stop('SIGKILL', 1000);
      await launch();
    },
    async stop() {
      if (child?.running()) child.proc.kill('SIGCONT');
      if (child) await child.stop('SIGTERM', 3000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function redisCli(port, ...args) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: 5000 }, (err, stdout, stderr) => {
        if (err) { err.message += `\n${stderr}`; reject(err); } else resolve(stdout);
      });
  });
}

// ------------------------------------------------------------------ node test servers

// tests/idp/spawn.mjs is not used: its startNodeServer() removes every 'exit'
// listener once the server is ready, including the one its stop() awaits, so
// stop() never resolves. These wrappers do the same job with spawnTracked().

async function startNodeServer(script, args, { ready, name, timeoutMs = 15_000 }) {
  const child = spawnTracked(process.execPath, [script, ...args], { name });
  const m = await waitFor(() => {
    if (!child.running()) throw fatal(`${name} exited early: ${child.stderr()}`);
    return ready.exec(child.stdout());
  }, { timeoutMs, what: `${name} ready line` }).catch((e) => { child.stop('SIGKILL'); throw e; });
  const base = m[1];
  return { base, port: Number(new URL(base).port), stderr: child.stderr, stop: () => child.stop('SIGTERM', 3000) };
}

/** tests/idp/server.mjs on a free port; secretFile holds the client secret. */
export async function startIdp({ clientId = CLIENT_ID, secretFile, redirectUris }) {
  const args = ['--port', '0', '--client-id', clientId, '--client-secret-file', secretFile];
  for (const u of redirectUris) args.push('--redirect-uri', u);
  return startNodeServer(path.join(REPO, 'tests', 'idp', 'server.mjs'), args, {
    ready: /^idp listening on (http:\/\/\S+)$/m, name: 'idp',
  });
}

/** tests/echo/server.mjs on a free port. */
export function startEcho() {
  return startNodeServer(path.join(REPO, 'tests', 'echo', 'server.mjs'), ['--port', '0'], {
    ready: /^echo listening on (http:\/\/\S+)$/m, name: 'echo',
  });
}

// ------------------------------------------------------------------ sekisho

/**
 * The YAML config the tests use; `extra` is appended verbatim (top-level
 * keys); `redisYaml` replaces `url: redisUrl` inside redis: { ... }.
 */
export function sekishoConfig({
  port, publicUrl, redisUrl, idpBase, secretFile, allowedHosts = [],
  idleTimeout = '36h', absoluteTimeout = '7d', secure = false, extra = '',
  providerIds = ['google'], tenantsYaml, extraProvidersYaml = '', httpYaml = '', requirePersistence = false,
  maxPendingPerIp, redisYaml, sessionYaml = '',
}) {
  tenantsYaml ??= `  - id: default
    display_name: "Test Office"
    providers: [${providerIds.join(', ')}]
`;
  const providers = providerIds.map((id) => `  - id: ${id}
    type: oidc
    client_id: ${CLIENT_ID}
    client_secret_file: ${secretFile}
    issuer: "${idpBase}"
`).join('');
  return `# generated by tests/integration/harness.mjs
listen: "127.0.0.1:${port}"
public_url: "${publicUrl}"
redis: { ${redisYaml ?? `url: "${redisUrl}"`}, require_persistence: ${requirePersistence} }
cookie: { secure: ${secure} }
session: { idle_timeout: ${idleTimeout}, absolute_timeout: ${absoluteTimeout}${maxPendingPerIp !== undefined ? `, max_pending_logins_per_ip: ${maxPendingPerIp}` : ''}${sessionYaml ? `, ${sessionYaml}` : ''} }
http: { threads: 2${httpYaml ? `, ${httpYaml}` : ''} }
allowed_redirect_hosts: [${allowedHosts.map((h) => JSON.stringify(h)).join(', ')}]
tenants:
${tenantsYaml}providers:
${providers}${extraProvidersYaml}${extra}`;
}

let masterKey;
/** The test process's master key file (created on first use, removed at exit). */
export function masterKeyFile() {
  if (!masterKey) {
    const d = tmpDir('sekisho-it-mk-');
    masterKey = path.join(d, 'master.key');
    fs.writeFileSync(masterKey, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
    process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  }
  return masterKey;
}

/**
 * Starts sekisho with a generated config. Resolves once /healthz answers.
 * The returned object has base, port, stderr() (everything sekisho wrote),
 * accessLog() (parsed JSON access lines), stop(signal) -> {code, signal}.
 */
export async function startSekisho(opts) {
  const dir = opts.dir ?? tmpDir('sekisho-it-sk-');
  const port = opts.port ?? await freePort();
  const cfgFile = path.join(dir, 'sekisho.yaml');
  // Every instance needs a master key, and instances sharing a Redis must
  // share it (Sekisho refuses a different one): one per test process.
  // Tests that manage keys themselves pass their own keys: in `extra`.
  let extra = opts.extra ?? '';
  if (!/^keys:/m.test(extra)) extra = `keys:\n  master_key_file: ${masterKeyFile()}\n${extra}`;
  fs.writeFileSync(cfgFile, sekishoConfig({ ...opts, port, extra }));
  if (!fs.existsSync(SEKISHO_BIN)) throw new Error(`sekisho binary not found at ${SEKISHO_BIN} (set SEKISHO_BIN)`);
  const child = spawnTracked(SEKISHO_BIN, ['-c', cfgFile], { name: 'sekisho' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (!child.running()) throw fatal(`sekisho exited early:\n${child.stderr()}`);
    const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
    return r.status === 200;
  }, { timeoutMs: 10_000, what: 'sekisho /healthz' }).catch((e) => {
    child.stop('SIGKILL');
    e.message += `\nsekisho stderr:\n${child.stderr()}`;
    throw e;
  });
  return {
    port,
    base,
    cfgFile,
    proc: child.proc,
    running: child.running,
    exited: child.exited,
    stderr: child.stderr,
    stderrBytes: child.stderrBytes,
    accessLog() {
      return child.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => {
        try { return JSON.parse(l); } catch { return undefined; }
      }).filter((o) => o && o.type === 'access');
    },
    stop: (signal = 'SIGTERM', graceMs = 5000) => child.stop(signal, graceMs),
  };
}

// ------------------------------------------------------------------ nginx

export function nginxConfig({ dir, port, sekishoPort, appPort }) {
  // Modelled on conf/nginx.example.conf (the app host's part: identity
  // headers from Sekisho's answer only, Sekisho's cookies stripped, the
  // sign-in URL from Sekisho, its page when Redis is down), with Sekisho's
  // pages on the same host and no path prefix; paths kept inside `dir`.
  return nginxMain(dir, `
    upstream sekisho {
        server 127.0.0.1:${sekishoPort};
        keepalive 8;
    }
    upstream app {
        server 127.0.0.1:${appPort};
    }
    log_format sekisho_noquery '$remote_addr [$time_local] "$request_method $uri $server_protocol" $status';
${nginxCookieMaps()}
    server {
        listen 127.0.0.1:${port};
        server_name _;

        location = /_sekisho/verify {
            internal;
            proxy_pass http://sekisho/auth/verify;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Uri $request_uri;
        }

        location ~ ^/(login|callback|logout|mfa|oauth2|static|lang)(/|$) {
            proxy_pass http://sekisho;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
        location ^~ /callback/ {
            access_log ${dir}/access.log sekisho_noquery;
            proxy_pass http://sekisho;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
        location ~ ^/(jwks\.json|\.well-known/openid-configuration)$ {
            proxy_pass http://sekisho;
            proxy_set_header Host $http_host;
        }

        location / {
            auth_request /_sekisho/verify;
            auth_request_set $auth_user   $upstream_http_x_auth_request_user;
            auth_request_set $auth_email  $upstream_http_x_auth_request_email;
            auth_request_set $auth_tenant $upstream_http_x_auth_request_tenant;
            auth_request_set $auth_roles  $upstream_http_x_auth_request_roles;
            auth_request_set $auth_token  $upstream_http_x_auth_request_access_token;
            auth_request_set $auth_signin $upstream_http_x_sekisho_signin;
            error_page 401 = @signin;
            error_page 403 500 = @sekisho_page;

            proxy_pass http://app;
            proxy_set_header X-Auth-Request-User         $auth_user;
            proxy_set_header X-Auth-Request-Email        $auth_email;
            proxy_set_header X-Auth-Request-Tenant       $auth_tenant;
            proxy_set_header X-Auth-Request-Roles        $auth_roles;
            proxy_set_header X-Auth-Request-Access-Token $auth_token;
            proxy_set_header Cookie $app_cookie;
        }

        location @signin {
            if ($auth_signin = "") {
                return 403;
            }
            return 302 $auth_signin;
        }

        location @sekisho_page {
            rewrite ^ /auth/verify?rd= break;
            proxy_pass http://sekisho;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Uri $request_uri;
        }
    }
`);
}

/**
 * A whole nginx.conf (foreground, no master, every file inside `dir`)
 * around `httpBlocks` (what goes inside http {}, e.g. an example site file).
 */
export function nginxMain(dir, httpBlocks) {
  return `# generated by tests/integration/harness.mjs
daemon off;
master_process off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${httpBlocks}
}
`;
}

/** The Cookie-stripping maps of conf/nginx.example.conf ($http_cookie -> $app_cookie). */
export function nginxCookieMaps() {
  const text = fs.readFileSync(path.join(REPO, 'conf', 'nginx.example.conf'), 'utf8');
  const m = /^map \$http_cookie[\s\S]*?^map \$sekisho_cookie_2 \$app_cookie \{[\s\S]*?^\}$/m.exec(text);
  if (!m) throw new Error('conf/nginx.example.conf: cookie maps not found');
  return m[0];
}

/** nginx in the foreground (daemon off, no master) with all its files in a temp dir. */
export async function startNginx({ port, sekishoPort, appPort, config }) {
  const dir = tmpDir('sekisho-it-nginx-');
  port ??= await freePort();
  const conf = path.join(dir, 'nginx.conf');
  // config(dir): a whole nginx.conf of the caller's (e.g. nginxMain() around an example file).
  fs.writeFileSync(conf, config ? config(dir) : nginxConfig({ dir, port, sekishoPort, appPort }));
  const bin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  const child = spawnTracked(bin, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { name: 'nginx' });
  await waitFor(async () => {
    if (!child.running()) {
      const log = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
      throw fatal(`nginx exited early: ${child.stderr()}\n${log}`);
    }
    return canConnect(port);
  }, { timeoutMs: 10_000, what: `nginx on port ${port}` });
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    errorLog: () => fs.readFileSync(path.join(dir, 'error.log'), 'utf8'),
    accessLog: () => (fs.existsSync(path.join(dir, 'access.log')) ? fs.readFileSync(path.join(dir, 'access.log'), 'utf8') : ''),
    async stop() {
      await child.stop('SIGTERM', 3000); // SIGTERM = fast shutdown
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ the whole stack

/**
 * Starts redis, the test IdP, optionally the echo upstream and nginx, and
 * sekisho. Options: nginx (bool), idleTimeout, absoluteTimeout, secure
 * (cookie.secure), extraConfig (YAML appended verbatim), providerIds (oidc
 * providers, all served by the one test IdP; default ['google']), httpYaml
 * (more keys of the http: flow mapping, e.g. `request_timeout: 2s`), tenantsYaml
 * (the items of `tenants:`, indented two spaces; default one tenant
 * "default" offering every provider), redisArgs (more redis-server
 * arguments), maxPendingPerIp (session.max_pending_logins_per_ip).
 * Returns { redis, idp, echo, nginx, sekisho, base (where browsers go, always
 * http), publicUrl (= base, or its https form with secure), sekishoBase
 * (sekisho directly), stop() }.
 */
export async function startStack({
  nginx = false, idleTimeout, absoluteTimeout, secure = false, extraConfig = '',
  providerIds = ['google'], tenantsYaml, httpYaml, redisArgs, maxPendingPerIp, sessionYaml,
} = {}) {
  const dir = tmpDir();
  const stack = { dir, stopped: false };
  const stoppers = [];
  stack.stop = async () => {
    if (stack.stopped) return;
    stack.stopped = true;
    for (const s of stoppers.reverse()) {
      try { await s(); } catch (err) { process.stderr.write(`harness: stop: ${err.message}\n`); }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sekishoPort = await freePort();
    const nginxPort = nginx ? await freePort() : undefined;
    const publicPort = nginx ? nginxPort : sekishoPort;
    // With cookie.secure, sekisho wants an https public_url: it is then
    // assumed to sit behind a TLS terminator, and the tests talk plain http
    // to it on loopback (stack.base), where Secure cookies still flow.
    const publicUrl = `${secure ? 'https' : 'http'}://127.0.0.1:${publicPort}`;

    stack.redis = await startRedis({ args: redisArgs });
    stoppers.push(() => stack.redis.stop());

    const secretFile = path.join(dir, 'idp-client.secret');
    fs.writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    stack.idp = await startIdp({
      secretFile, redirectUris: providerIds.map((id) => `${publicUrl}/callback/${id}`),
    });
    stoppers.push(() => stack.idp.stop());

    const allowedHosts = [`127.0.0.1:${publicPort}`];
    if (nginx) {
      stack.echo = await startEcho();
      stoppers.push(() => stack.echo.stop());
    }
    stack.sekisho = await startSekisho({
      dir, port: sekishoPort, publicUrl, redisUrl: stack.redis.url, idpBase: stack.idp.base,
      secretFile, allowedHosts, idleTimeout, absoluteTimeout, secure, extra: extraConfig,
      providerIds, tenantsYaml, httpYaml, maxPendingPerIp, sessionYaml,
    });
    stoppers.push(() => stack.sekisho.stop('SIGTERM', 5000));
    if (nginx) {
      stack.nginx = await startNginx({ port: nginxPort, sekishoPort, appPort: stack.echo.port });
      stoppers.push(() => stack.nginx.stop());
    }
    stack.publicUrl = publicUrl;
    stack.base = `http://127.0.0.1:${publicPort}`;
    stack.sekishoBase = stack.sekisho.base;
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

// ------------------------------------------------------------------ flows

/** GET/POST through a jar (no redirects followed). Re-exported shape of follow(). */
export function req(jar, url, opts) {
  return follow(jar ?? new CookieJar(), url, opts);
}

/**
 * Full sign-in: /login (or /login/{provider}) at `base` (with rd if given)
 * -> IdP form -> callback.
 * Returns { callbackUrl, res } where res is sekisho's answer to the callback.
 */
export async function signIn(jar, base, { login = 'alice', password = 'alice-password', rd, provider } = {}) {
  const start = new URL(provider ? `/login/${provider}` : '/login', base);
  if (rd !== undefined) start.searchParams.set('rd', rd);
  const callbackUrl = await signInAtIdp(jar, start.href, login, password);
  const res = await follow(jar, callbackUrl);
  return { callbackUrl, res };
}

/** Starts a sign-in and stops at the callback URL (not requested). */
export async function startSignIn(jar, base, { login = 'alice', password = 'alice-password' } = {}) {
  return signInAtIdp(jar, new URL('/login', base).href, login, password);
}

/** Parses a Prometheus text body into [{name, labels, value}]. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of a metric's samples whose labels include `labels`. */
export async function metric(base, name, labels = {}) {
  const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
  const all = parseMetrics(await r.text());
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** Raw HTTP/1.1 exchange over a socket (for requests fetch refuses to send). */
export function rawHttp(port, request, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); resolve({ raw: Buffer.concat(chunks).toString('latin1'), timedOut: true, ...parseRaw(Buffer.concat(chunks)) }); }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => {
      // A server may reset after answering an oversized request: keep what came.
      clearTimeout(timer);
      if (chunks.length) resolve({ raw: Buffer.concat(chunks).toString('latin1'), ...parseRaw(Buffer.concat(chunks)) });
      else reject(e);
    });
    sock.on('end', () => { clearTimeout(timer); resolve({ raw: Buffer.concat(chunks).toString('latin1'), ...parseRaw(Buffer.concat(chunks)) }); });
    sock.on('connect', () => { sock.write(request); });
  });
}

function parseRaw(buf) {
  const s = buf.toString('latin1');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(s);
  const headEnd = s.indexOf('\r\n\r\n');
  const headers = {};
  if (headEnd > 0) {
    for (const line of s.slice(0, headEnd).split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
  }
  return { status: m ? Number(m[1]) : undefined, headers, body: headEnd > 0 ? s.slice(headEnd + 4) : '' };
}

/**
 * One GET on a new TCP connection (no keep-alive pool), so successive calls
 * may land on different sekisho worker threads; from localAddress (any of
 * loopback's 127/8) when given. Returns {status, headers, body}.
 */
export function freshGet(url, headers = {}, { timeoutMs = 5000, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const r = http.get(url, { agent: false, localAddress, headers: { connection: 'close', ...headers }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`GET ${url}: timeout`)));
    r.on('error', reject);
  });
}

/**
 * Waits (bounded) until `n` fresh connections in a row get /readyz 200, so
 * that every worker thread has its Redis connection back.
 */
export function waitReady(sekishoBase, { n = 8, timeoutMs = 15_000 } = {}) {
  return waitFor(async () => {
    for (let i = 0; i < n; i += 1) {
      if ((await freshGet(`${sekishoBase}/readyz`)).status !== 200) return false;
    }
    return true;
  }, { timeoutMs, intervalMs: 200, what: `/readyz 200 on ${n} fresh connections in a row` });
}

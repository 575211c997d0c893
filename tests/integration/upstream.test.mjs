// Calls to identity providers run off the HTTP workers (issue 8, item 9):
// a provider that hangs must not stop /auth/verify. Covers:
//   - 24 sign-ins waiting on a token endpoint that never answers (test IdP
//     mode token_hang), with http.threads 2: /auth/verify with a valid
//     session answers at least 15% as many requests in a fixed window as
//     the same measurement without the hang (same test, same client; the
//     window and the request count are both bounded)
//   - those sign-ins end with a readable 502 or 504 page once http_timeout
//     has passed (never sooner), create no session, and the pool is empty
//     again afterwards (sekisho_upstream_jobs)
//   - while one provider hangs (3 sign-ins on the pool's 4 threads, more
//     queued), a sign-in with another provider (a second IdP) completes
//   - providers[].max_concurrent: past it a callback is answered 503
//     "Sign-in busy" with Retry-After while the others still wait; the
//     refused callback did not spend its state (it succeeds later)
//   - /login/{provider} with the discovery document not cached yet and the
//     discovery endpoint hanging (mode discovery_hang): verify goes on; the
//     logins end with a 502/504 page
//   - clients that disconnect while their callback waits on the pool: no
//     crash, the pool empties, the daemon goes on serving
//   - SIGTERM with callbacks waiting on a hung provider: each is answered
//     (502/504, not a reset), then exit 0 (under ASan: no leak either)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import {
  CLIENT_SECRET, CookieJar, follow, freePort, metric, setIdpMode, signInAtIdp, startIdp,
  startRedis, startSekisho, tmpDir, waitFor,
} from './harness.mjs';

// Before provider calls left the HTTP workers the rate during a hang was 0;
// working, it is 70-110% on an idle machine. The bar is low because the
// ASan build on a shared 2-core machine measured 27% once: the test must
// tell "stopped" from "served", and bench/run.sh reports the figure.
const MIN_RATIO = 0.15;

const HTTP_TIMEOUT_S = 4;
const WINDOW_MS = 1500;

let dir;
let redis;
let idp;
let idp2; // a second, healthy provider
let sekisho;
let base;
let cookie; // a signed-in session for /auth/verify
let baseline; // verifies in WINDOW_MS with no provider hanging

const providerYaml = (id, secretFile, idpBase, extra) => `  - id: ${id}
    type: oidc
    client_id: sekisho-test
    client_secret_file: ${secretFile}
    issuer: "${idpBase}"
    http_timeout: ${HTTP_TIMEOUT_S}s
${extra}`;

before(async () => {
  dir = tmpDir();
  redis = await startRedis();
  const secretFile = path.join(dir, 'idp-client.secret');
  fs.writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const ids = ['slow', 'tight', 'fresh'];
  idp = await startIdp({ secretFile, redirectUris: ids.map((id) => `${base}/callback/${id}`) });
  idp2 = await startIdp({ secretFile, redirectUris: [`${base}/callback/other`] });
  sekisho = await startSekisho({
    dir,
    port,
    publicUrl: base,
    redisUrl: redis.url,
    idpBase: idp.base,
    secretFile,
    allowedHosts: [`127.0.0.1:${port}`],
    // Dozens of sign-ins from 127.0.0.1 hang at once: above the default
    // cap of pending sign-ins per address (durability.test.mjs tests it).
    maxPendingPerIp: 500,
    // ... and with the verify load, more connections from one address
    // than the per-address cap allows (http-hardening.test.mjs tests it).
    httpYaml: 'max_connections_per_ip: 1000',
    providerIds: [],
    tenantsYaml: `  - id: default\n    providers: [${ids.join(', ')}, other]\n`,
    extraProvidersYaml: providerYaml('slow', secretFile, idp.base, '    max_concurrent: 32\n')
      + providerYaml('tight', secretFile, idp.base, '    max_concurrent: 2\n')
      + providerYaml('fresh', secretFile, idp.base, '')
      + providerYaml('other', secretFile, idp2.base, ''),
  });
  const jar = new CookieJar();
  const res = await follow(jar, await signInAtIdp(jar, `${base}/login/slow`, 'alice', 'alice-password'));
  assert.equal(res.status, 302, `sign-in for the verify session: ${res.status} ${res.body.slice(0, 200)}`);
  cookie = jar.header(`${base}/auth/verify`);
});

after(async () => {
  await sekisho?.stop('SIGKILL');
  await idp?.stop();
  await idp2?.stop();
  await redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * GET /auth/verify from `conns` keep-alive connections, each looping until
 * `ms` have passed or `cap` requests were sent in all. Returns the number
 * of 200s and of anything else (errors, timeouts included).
 */
async function verifyRate({ ms = WINDOW_MS, conns = 16, cap = 500_000 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const url = new URL('/auth/verify', base);
  const deadline = Date.now() + ms;
  let ok = 0;
  let other = 0;
  let sent = 0;
  const one = () => new Promise((resolve) => {
    const r = http.get(url, { agent, headers: { cookie }, timeout: ms + 2000 }, (res) => {
      res.resume();
      res.on('end', () => { if (res.statusCode === 200) ok += 1; else other += 1; resolve(); });
      res.on('error', () => { other += 1; resolve(); });
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', () => { other += 1; resolve(); });
  });
  const loop = async () => {
    while (Date.now() < deadline && sent < cap) {
      sent += 1;
      await one();
    }
  };
  await Promise.all(Array.from({ length: conns }, loop));
  agent.destroy();
  return { ok, other };
}

const jobs = (provider) => metric(base, 'sekisho_upstream_jobs', { provider });
const sessionKeys = () => redis.count('sk:{s:*');

/** n browsers signed in at the IdP for `provider`, stopped at the callback. */
async function atCallback(provider, n) {
  await setIdpMode(idp.base, 'normal');
  // Discovery first, alone: n logins at once before it is cached would all
  // wait on the pool, and past max_concurrent be refused.
  const first = await follow(new CookieJar(), `${base}/login/${provider}`);
  assert.equal(first.status, 302, `/login/${provider}: ${first.status} ${first.body.slice(0, 200)}`);
  const jars = Array.from({ length: n }, () => new CookieJar());
  const urls = await Promise.all(jars.map((j) => signInAtIdp(j, `${base}/login/${provider}`, 'alice', 'alice-password')));
  return jars.map((jar, i) => ({ jar, url: urls[i] }));
}

/** Requests each callback; resolves to {status, body, headers, ms} or {error, ms}. */
function sendCallbacks(list, t0, opts = {}) {
  const tracked = list.map(({ jar, url }) => {
    const p = follow(jar, url, { timeoutMs: 30_000, ...opts })
      .then((r) => ({ ...r, ms: Date.now() - t0 }), (error) => ({ error, ms: Date.now() - t0 }));
    const t = { promise: p, settled: false };
    p.then(() => { t.settled = true; });
    return t;
  });
  return tracked;
}

function assertProviderPage(r, what) {
  assert.ok(!r.error, `${what}: ${r.error?.message}`);
  assert.ok([502, 504].includes(r.status), `${what}: HTTP ${r.status} ${r.body?.slice(0, 200)}`);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.body, /Sign-in provider (unavailable|not answering)/);
}

describe('upstream calls off the HTTP workers', () => {
  test('24 sign-ins hung at the token endpoint: /auth/verify keeps its throughput', async (t) => {
    await verifyRate({ ms: 300 }); // warm-up: connections, JIT
    baseline = await verifyRate();
    assert.equal(baseline.other, 0, 'baseline: every verify answered 200');
    assert.ok(baseline.ok > 0);

    const list = await atCallback('slow', 24);
    const keys = await sessionKeys();
    await setIdpMode(idp.base, 'token_hang');
    const t0 = Date.now();
    const pending = sendCallbacks(list, t0);
    await waitFor(async () => (await jobs('slow')) === 24, { timeoutMs: 5000, what: '24 sign-ins on the pool' });

    const during = await verifyRate();
    const stillWaiting = pending.filter((p) => !p.settled).length;
    assert.equal(stillWaiting, 24, 'all 24 sign-ins were still waiting during the measurement');
    assert.equal(during.other, 0, 'every verify answered 200 while the provider hung');

    const results = await Promise.all(pending.map((p) => p.promise));
    // The machine is shared: measure the baseline again once the hang is
    // over and hold the hang to the better of the two.
    const after = await verifyRate();
    assert.equal(after.other, 0);
    if (after.ok > baseline.ok) baseline = after;
    const ratio = during.ok / baseline.ok;
    t.diagnostic(`verify in ${WINDOW_MS} ms at 16 connections: ${baseline.ok} without a hang (best of `
      + `before and after), ${during.ok} with 24 sign-ins hung (${(ratio * 100).toFixed(0)}%)`);
    assert.ok(ratio >= MIN_RATIO, `verify kept >= ${MIN_RATIO * 100}% of its throughput: ${during.ok} vs ${baseline.ok}`);

    const statuses = {};
    for (const r of results) {
      assertProviderPage(r, 'hung sign-in');
      assert.ok(r.ms >= HTTP_TIMEOUT_S * 1000 - 250, `ended only after http_timeout: ${r.ms} ms`);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
    const slowest = Math.max(...results.map((r) => r.ms));
    t.diagnostic(`hung sign-ins answered ${JSON.stringify(statuses)}, the last after ${slowest} ms`);
    assert.equal(await sessionKeys(), keys, 'no session created');
    assert.equal(await jobs('slow'), 0, 'the pool is empty again');
  });

  test('while one provider hangs, a sign-in with another one completes', async () => {
    const list = await atCallback('slow', 6);
    await setIdpMode(idp.base, 'token_hang');
    const pending = sendCallbacks(list, Date.now());
    await waitFor(async () => (await jobs('slow')) === 6, { timeoutMs: 5000, what: '6 sign-ins on the pool' });
    // One provider runs on at most upstream_threads - 1 (3) threads: the
    // fourth is free for the others, even with slow's sign-ins queued.
    const jar = new CookieJar();
    const res = await follow(jar, await signInAtIdp(jar, `${base}/login/other`, 'bob', 'bob-password'));
    assert.equal(res.status, 302, `sign-in with the other provider: ${res.status} ${res.body.slice(0, 200)}`);
    assert.equal(pending.filter((p) => p.settled).length, 0, 'while the hung sign-ins still waited');
    for (const r of await Promise.all(pending.map((p) => p.promise))) assertProviderPage(r, 'hung sign-in');
  });

  test('past providers[].max_concurrent: 503 "Sign-in busy" at once; the state is not spent', async () => {
    const list = await atCallback('tight', 3);
    await setIdpMode(idp.base, 'token_hang');
    const t0 = Date.now();
    const held = sendCallbacks(list.slice(0, 2), t0);
    await waitFor(async () => (await jobs('tight')) === 2, { timeoutMs: 5000, what: '2 sign-ins on the pool' });
    const refused = await metric(base, 'sekisho_upstream_refused_total', { provider: 'tight' });

    const r = await follow(list[2].jar, list[2].url, { timeoutMs: 10_000 });
    assert.equal(r.status, 503, r.body.slice(0, 200));
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.match(r.body, /Sign-in busy/);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.ok(r.headers.get('x-request-id'));
    assert.equal(held.filter((p) => p.settled).length, 0, 'answered while the two admitted still wait');
    assert.equal(await metric(base, 'sekisho_upstream_refused_total', { provider: 'tight' }), refused + 1);

    for (const res of await Promise.all(held.map((p) => p.promise))) assertProviderPage(res, 'held sign-in');
    // The refusal came before the handler: the browser can try again.
    await setIdpMode(idp.base, 'normal');
    const again = await follow(list[2].jar, list[2].url);
    assert.equal(again.status, 302, `retried callback signs in: ${again.status} ${again.body.slice(0, 200)}`);
  });

  test('/login/{provider} with discovery not cached and hanging: verify goes on', async () => {
    await setIdpMode(idp.base, 'discovery_hang');
    const t0 = Date.now();
    const logins = sendCallbacks([1, 2, 3].map(() => ({ jar: new CookieJar(), url: `${base}/login/fresh` })), t0);
    await waitFor(async () => (await jobs('fresh')) === 3, { timeoutMs: 5000, what: '3 logins on the pool' });
    const during = await verifyRate();
    assert.equal(logins.filter((p) => p.settled).length, 0, 'the logins were still waiting');
    assert.equal(during.other, 0);
    assert.ok(during.ok >= MIN_RATIO * baseline.ok, `verify during the discovery hang: ${during.ok} vs ${baseline.ok}`);
    for (const r of await Promise.all(logins.map((p) => p.promise))) assertProviderPage(r, 'login');
    await setIdpMode(idp.base, 'normal');
  });

  test('clients leaving while their callback waits on the pool: no crash, the pool empties', async () => {
    const list = await atCallback('slow', 4);
    await setIdpMode(idp.base, 'token_hang');
    const controllers = list.map(() => new AbortController());
    const gone = list.map(({ jar, url }, i) => fetch(url, {
      headers: { cookie: jar.header(url) }, redirect: 'manual', signal: controllers[i].signal,
    }).catch(() => 'aborted'));
    await waitFor(async () => (await jobs('slow')) === 4, { timeoutMs: 5000, what: '4 sign-ins on the pool' });
    for (const c of controllers) c.abort();
    assert.deepEqual(await Promise.all(gone), ['aborted', 'aborted', 'aborted', 'aborted']);
    await waitFor(async () => (await jobs('slow')) === 0, {
      timeoutMs: HTTP_TIMEOUT_S * 3000 + 5000, what: 'the abandoned sign-ins to end',
    });
    assert.ok(sekisho.running());
    assert.equal((await follow(new CookieJar(), `${base}/healthz`)).status, 200);
    assert.equal((await follow(new CookieJar(), `${base}/auth/verify`, { headers: { cookie } })).status, 200);
  });

  test('SIGTERM with sign-ins waiting on a hung provider: each answered, then exit 0 (last)', async (t) => {
    const list = await atCallback('slow', 5);
    await setIdpMode(idp.base, 'token_hang');
    const t0 = Date.now();
    const pending = sendCallbacks(list, t0);
    await waitFor(async () => (await jobs('slow')) === 5, { timeoutMs: 5000, what: '5 sign-ins on the pool' });
    const tTerm = Date.now();
    sekisho.proc.kill('SIGTERM');
    for (const r of await Promise.all(pending.map((p) => p.promise))) assertProviderPage(r, 'sign-in at SIGTERM');
    let timer;
    const exit = await Promise.race([
      sekisho.exited,
      new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 20_000); }),
    ]);
    clearTimeout(timer);
    t.diagnostic(`exit ${Date.now() - tTerm} ms after SIGTERM`);
    assert.deepEqual(exit, { code: 0, signal: null }, `clean exit:\n${sekisho.stderr().slice(-800)}`);
    assert.doesNotMatch(sekisho.stderr(), /Sanitizer|runtime error/);
  });
});

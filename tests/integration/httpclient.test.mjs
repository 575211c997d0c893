// The outbound HTTP client (providers/http.c) against a misbehaving IdP
// (tests/idp/server.mjs modes). Covers:
//   - token endpoint answering 307 and 308 to another host (a recorder on
//     127.0.0.2): the callback gets a readable 502 page, no session, and the
//     recorder receives nothing (no code, no PKCE verifier, no credentials)
//   - the JWKS answering 302 to the recorder: 502, no session, nothing sent
//   - the discovery document answering 302 to the recorder: /login/{p} gets
//     the "provider unavailable" page, nothing sent
//   - an answer over 1 MiB from the token endpoint or the JWKS: refused
//     (502, no session), sekisho still running
//   - the refusals are logged without the code
//   - back to normal: sign-in works (the refusals were the modes')
// Each case that needs a cold cache uses its own provider id (the IdP serves
// them all), since discovery and JWKS are cached per provider.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { CookieJar, follow, setIdpMode, signIn, signInAtIdp, startStack } from './harness.mjs';

let stack;
let base;
let recorder;
const received = [];

function startRecorder() {
  return new Promise((resolve, reject) => {
    const srv = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"recorder"}');
      });
    });
    srv.once('error', reject);
    // Another host than the IdP's 127.0.0.1 (still loopback, so http).
    srv.listen(0, '127.0.0.2', () => resolve(srv));
  });
}

async function setMode(mode, target) {
  const r = await fetch(new URL('/__test/mode', stack.idp.base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(target ? { mode, target } : { mode }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(r.status, 200, `IdP mode ${mode}`);
}

const recorderUrl = (path) => `http://127.0.0.2:${recorder.address().port}${path}`;
const sessionKeys = () => stack.redis.count('sk:{u:*}:s:*');

async function assertNoSession(jar, res) {
  assert.ok(!res.headers.getSetCookie().some((c) => /^sekisho=[^;]/.test(c)),
    `no session cookie: ${res.headers.getSetCookie()}`);
  assert.equal((await follow(jar, `${base}/auth/verify`)).status, 401);
}

// Signs in at the IdP (mode normal) through /login/{provider}, then turns on
// `mode` and hands the callback to sekisho.
async function callbackUnder(provider, mode, target) {
  const jar = new CookieJar();
  const callbackUrl = await signInAtIdp(jar, `${base}/login/${provider}`, 'alice', 'alice-password');
  const code = new URL(callbackUrl).searchParams.get('code');
  assert.ok(code, `IdP issued a code: ${callbackUrl}`);
  await setMode(mode, target);
  const keys = await sessionKeys();
  const res = await follow(jar, callbackUrl, { timeoutMs: 20_000 });
  return { jar, res, code, keys };
}

async function assertRefused({ jar, res, code, keys }, what) {
  assert.equal(res.status, 502, `${what}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  assert.match(res.headers.get('content-type'), /text\/html/);
  assert.match(res.body, /<h1>/, 'a readable page');
  await assertNoSession(jar, res);
  assert.equal(await sessionKeys(), keys, 'no session record in Redis');
  assert.ok(stack.sekisho.running(), 'sekisho still running');
  assert.ok(!stack.sekisho.stderr().includes(code), 'code not logged');
}

before(async () => {
  recorder = await startRecorder();
  stack = await startStack({ providerIds: ['google', 'jwksredir', 'discredir', 'jwksbig', 'tokbig'] });
  base = stack.base;
});
afterEach(async () => { if (stack) await setIdpMode(stack.idp.base, 'normal').catch(() => {}); });
after(async () => {
  await stack?.stop();
  await new Promise((r) => { if (recorder) recorder.close(r); else r(); });
});

describe('outbound HTTP client', () => {
  for (const mode of ['token_redirect', 'token_redirect_308']) {
    test(`${mode}: not followed; 502, no session, nothing reaches the other host`, async () => {
      received.length = 0;
      const r = await callbackUnder('google', mode, recorderUrl('/steal-token'));
      await assertRefused(r, mode);
      assert.match(r.res.body, /HTTP 30[78]|provider|unavailable|failed/i);
      assert.deepEqual(received, [], `the other host received: ${JSON.stringify(received)}`);
    });
  }

  test('jwks_redirect: not followed; 502, no session, nothing reaches the other host', async () => {
    received.length = 0;
    const r = await callbackUnder('jwksredir', 'jwks_redirect', recorderUrl('/steal-jwks'));
    await assertRefused(r, 'jwks_redirect');
    assert.deepEqual(received, [], `the other host received: ${JSON.stringify(received)}`);
  });

  test('discovery_redirect: not followed; provider unavailable page, nothing sent', async () => {
    received.length = 0;
    await setMode('discovery_redirect', recorderUrl('/steal-discovery'));
    const jar = new CookieJar();
    const res = await follow(jar, `${base}/login/discredir`, { timeoutMs: 20_000 });
    assert.equal(res.status, 502, `HTTP ${res.status} ${res.body.slice(0, 200)}`);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(res.body, /unavailable/i);
    assert.deepEqual(received, [], `the other host received: ${JSON.stringify(received)}`);
    assert.match(stack.sekisho.stderr(), /discovery/);
  });

  test('token endpoint answer over 1 MiB: refused, 502, no session', async () => {
    const r = await callbackUnder('tokbig', 'token_huge');
    await assertRefused(r, 'token_huge');
  });

  test('JWKS over 1 MiB: refused, 502, no session', async () => {
    const r = await callbackUnder('jwksbig', 'jwks_huge');
    await assertRefused(r, 'jwks_huge');
  });

  test('back to normal: sign-in works', async () => {
    const jar = new CookieJar();
    const { res } = await signIn(jar, base, { provider: 'google' });
    assert.equal(res.status, 302, `HTTP ${res.status} ${res.body?.slice(0, 200)}`);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
  });
});

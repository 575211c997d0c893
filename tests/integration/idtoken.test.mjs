// id_token verification against a misbehaving IdP (tests/idp/server.mjs test
// modes). Covers:
//   - control: mode normal signs in (so the refusals below are the modes')
//   - each bad token (wrong_aud, wrong_iss, expired, bad_sig, alg_none,
//     hs256_pubkey, nonce_mismatch, unknown_kid) -> 401 page "Sign-in failed",
//     no session cookie, /auth/verify stays 401, the number of `sk:{u:*}:s:*`
//     keys in Redis is unchanged, sekisho_logins_total{result="failure"} +1
//   - the refusal does not leak the code or any JWT into sekisho's log
//   - access_denied at the IdP -> 401 page "Sign-in cancelled"
//   - token endpoint error (token_error) -> 502 page, no session
//   - after going back to normal, sign-in works again
//   - the IdP gone while a sign-in is at the callback -> 502 page, no session

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CookieJar, follow, metric, setIdpMode, signIn, startSignIn, startStack } from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack();
  base = stack.base;
});
afterEach(async () => { if (stack) await setIdpMode(stack.idp.base, 'normal').catch(() => {}); });
after(async () => { await stack?.stop(); });

const sessionKeys = () => stack.redis.count('sk:{u:*}:s:*');
const failures = () => metric(base, 'sekisho_logins_total', { result: 'failure' });
const successes = () => metric(base, 'sekisho_logins_total', { result: 'success' });

async function assertNoSession(jar, res) {
  assert.ok(!res.headers.getSetCookie().some((c) => /^sekisho=[^;]/.test(c)),
    `no session cookie: ${res.headers.getSetCookie()}`);
  assert.equal(jar.get(base, 'sekisho'), undefined);
  assert.equal((await follow(jar, `${base}/auth/verify`)).status, 401);
}

describe('id_token verification', () => {
  test('control: mode normal signs in', async () => {
    const ok = await successes();
    const jar = new CookieJar();
    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
    assert.equal(await successes(), ok + 1);
  });

  const badModes = [
    'wrong_aud', 'wrong_iss', 'expired', 'bad_sig', 'alg_none',
    'hs256_pubkey', 'nonce_mismatch', 'unknown_kid',
  ];
  for (const mode of badModes) {
    test(`${mode}: refused with 401 "Sign-in failed", no session`, async () => {
      await setIdpMode(stack.idp.base, mode);
      const keys = await sessionKeys();
      const fails = await failures();
      const oks = await successes();
      const jar = new CookieJar();
      const callbackUrl = await startSignIn(jar, base);
      const code = new URL(callbackUrl).searchParams.get('code');
      assert.ok(code, `IdP issued a code: ${callbackUrl}`);
      const res = await follow(jar, callbackUrl);
      assert.equal(res.status, 401, `${mode}: HTTP ${res.status} ${res.location ?? ''} ${res.body.slice(0, 200)}`);
      assert.match(res.body, /Sign-in failed/);
      await assertNoSession(jar, res);
      assert.equal(await sessionKeys(), keys, 'no session record in Redis');
      assert.equal(await failures(), fails + 1, 'failure counted');
      assert.equal(await successes(), oks);
      const log = stack.sekisho.stderr();
      assert.ok(!log.includes(code), 'code not logged');
      assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{10,}\./, 'no JWT in the log');
    });
  }

  test('access_denied at the IdP -> 401 "Sign-in cancelled"', async () => {
    await setIdpMode(stack.idp.base, 'access_denied');
    const keys = await sessionKeys();
    const fails = await failures();
    const jar = new CookieJar();
    const callbackUrl = await startSignIn(jar, base);
    assert.equal(new URL(callbackUrl).searchParams.get('error'), 'access_denied');
    const res = await follow(jar, callbackUrl);
    assert.equal(res.status, 401);
    assert.match(res.body, /Sign-in cancelled/);
    assert.match(res.body, /access_denied/);
    await assertNoSession(jar, res);
    assert.equal(await sessionKeys(), keys);
    assert.equal(await failures(), fails + 1);
  });

  test('token endpoint error -> 502 page, no session', async () => {
    await setIdpMode(stack.idp.base, 'token_error');
    const keys = await sessionKeys();
    const fails = await failures();
    const jar = new CookieJar();
    const callbackUrl = await startSignIn(jar, base);
    const res = await follow(jar, callbackUrl);
    assert.equal(res.status, 502);
    assert.match(res.headers.get('content-type'), /text\/html/);
    await assertNoSession(jar, res);
    assert.equal(await sessionKeys(), keys);
    assert.equal(await failures(), fails + 1);
  });

  test('back to normal: sign-in works again', async () => {
    const jar = new CookieJar();
    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
  });

  test('IdP unreachable at the token exchange -> 502, no session (last: stops the IdP)', async () => {
    const jar = new CookieJar();
    const callbackUrl = await startSignIn(jar, base);
    const keys = await sessionKeys();
    await stack.idp.stop();
    const res = await follow(jar, callbackUrl, { timeoutMs: 20_000 });
    assert.equal(res.status, 502);
    await assertNoSession(jar, res);
    assert.equal(await sessionKeys(), keys);
    assert.ok(stack.sekisho.running());
  });
});

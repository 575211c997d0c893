// Self-test of the test IdP, the echo upstream and the flow helpers.
//   node --test tests/idp/selftest.mjs
// Starts the IdP (and the echo server) as child processes on free ports and
// acts as the relying party would: authorization code + PKCE S256, token
// exchange with client_secret_basic/post, id_token verification with jose.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import * as jose from 'jose';

import {
  CookieJar, follow, getIdpMode, rotateIdpKeys, setIdpMode, signInAtIdp,
} from '../lib/idp-login.mjs';
import { startEcho, startIdp } from './spawn.mjs';

const REDIRECT_URI = 'http://127.0.0.1:8080/callback/google'; // never requested
const CLIENT_ID = 'sekisho-local';
const CLIENT_SECRET = `selftest-${crypto.randomBytes(8).toString('hex')}`;
const T = { timeout: 30_000 };

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const fetchT = (url, init = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });

let idp;
let discovery;

before(async () => {
  idp = await startIdp({
    clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI], timeoutMs: 15_000,
  });
  discovery = await (await fetchT(`${idp.base}/.well-known/openid-configuration`)).json();
});

after(async () => {
  await idp?.stop();
});

async function jwks() {
  return (await fetchT(discovery.jwks_uri)).json();
}

/** Builds an authorization request like Sekisho does. */
function authorizeRequest({ pkce = true, scope = 'openid email profile' } = {}) {
  const state = b64u(crypto.randomBytes(16));
  const nonce = b64u(crypto.randomBytes(16));
  const verifier = b64u(crypto.randomBytes(32));
  const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT_URI, scope, state, nonce,
    ...(pkce ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  });
  return { url: url.href, state, nonce, verifier };
}

async function exchange(code, verifier, { auth = 'basic' } = {}) {
  const form = new URLSearchParams({
    grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier,
  });
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth === 'basic') {
    // RFC 6749 §2.3.1: form-urlencode id and secret before base64.
    const enc = (s) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(CLIENT_ID)}:${enc(CLIENT_SECRET)}`).toString('base64')}`;
  } else {
    form.set('client_id', CLIENT_ID);
    form.set('client_secret', CLIENT_SECRET);
  }
  const res = await fetchT(discovery.token_endpoint, { method: 'POST', headers, body: form });
  return { status: res.status, body: await res.json() };
}

/** Full flow: sign in, check the callback, exchange the code. */
async function codeFlow({ login = 'alice', password = 'alice-password', auth, jar = new CookieJar() } = {}) {
  const req = authorizeRequest();
  const callback = new URL(await signInAtIdp(jar, req.url, login, password));
  assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URI);
  assert.equal(callback.searchParams.get('state'), req.state);
  assert.equal(callback.searchParams.get('iss'), discovery.issuer); // RFC 9207
  const code = callback.searchParams.get('code');
  assert.ok(code, `no code in ${callback}`);
  const token = await exchange(code, req.verifier, { auth });
  return { ...req, token, jar };
}

async function verify(idToken, nonce, extra = {}) {
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jose.createLocalJWKSet(await jwks()), {
    issuer: discovery.issuer, audience: CLIENT_ID, algorithms: ['ES256'], ...extra,
  });
  if (nonce !== undefined) assert.equal(payload.nonce, nonce, 'nonce');
  return { payload, protectedHeader };
}

/** Runs a flow with the IdP in `mode` (only for the token exchange); returns the token response. */
async function flowInMode(mode) {
  const req = authorizeRequest();
  const callback = new URL(await signInAtIdp(new CookieJar(), req.url, 'alice', 'alice-password'));
  await setIdpMode(idp.base, mode);
  try {
    return { ...req, token: await exchange(callback.searchParams.get('code'), req.verifier) };
  } finally {
    await setIdpMode(idp.base, 'normal');
  }
}

describe('discovery', T, () => {
  test('metadata', () => {
    assert.equal(discovery.issuer, idp.base);
    assert.match(idp.base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['ES256']);
    assert.ok(discovery.code_challenge_methods_supported.includes('S256'));
    assert.deepEqual(discovery.response_types_supported, ['code']);
    for (const m of ['client_secret_basic', 'client_secret_post']) {
      assert.ok(discovery.token_endpoint_auth_methods_supported.includes(m), m);
    }
    for (const s of ['openid', 'email', 'profile']) assert.ok(discovery.scopes_supported.includes(s), s);
  });

  test('jwks has one ES256 public key', async () => {
    const { keys } = await jwks();
    assert.equal(keys.length, 1);
    assert.equal(keys[0].kty, 'EC');
    assert.equal(keys[0].crv, 'P-256');
    assert.equal(keys[0].alg, 'ES256');
    assert.ok(keys[0].kid);
    assert.equal(keys[0].d, undefined, 'no private part');
  });
});

describe('code flow', T, () => {
  test('alice: PKCE S256, client_secret_basic, verified id_token', async () => {
    const { token, nonce } = await codeFlow();
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.body.token_type, 'Bearer');
    const { payload, protectedHeader } = await verify(token.body.id_token, nonce);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, 'alice-sub-0001');
    assert.equal(payload.email, 'alice@example.com');
    assert.equal(payload.email_verified, true);
    assert.equal(payload.name, 'Alice Example');
    // userinfo agrees
    const ui = await (await fetchT(discovery.userinfo_endpoint, {
      headers: { authorization: `Bearer ${token.body.access_token}` },
    })).json();
    assert.equal(ui.sub, 'alice-sub-0001');
    assert.equal(ui.email, 'alice@example.com');
  });

  test('bob: client_secret_post, email not verified', async () => {
    const { token, nonce } = await codeFlow({ login: 'bob', password: 'bob-password', auth: 'post' });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const { payload } = await verify(token.body.id_token, nonce);
    assert.equal(payload.sub, 'bob-sub-0002');
    assert.equal(payload.email, 'bob@example.org');
    assert.equal(payload.email_verified, false);
    assert.equal(payload.name, 'Bob Example');
  });

  test('existing IdP session: second sign-in skips the form', async () => {
    const jar = new CookieJar();
    await codeFlow({ jar });
    const { token, nonce } = await codeFlow({ jar, password: 'ignored-because-no-form' });
    assert.equal(token.status, 200);
    assert.equal((await verify(token.body.id_token, nonce)).payload.sub, 'alice-sub-0001');
  });

  test('code is single-use and bound to the PKCE verifier', async () => {
    const req = authorizeRequest();
    const cb = new URL(await signInAtIdp(new CookieJar(), req.url, 'alice', 'alice-password'));
    const code = cb.searchParams.get('code');
    const wrong = await exchange(code, b64u(crypto.randomBytes(32)));
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
  });

  test('PKCE is required', async () => {
    const req = authorizeRequest({ pkce: false });
    const cb = new URL(await signInAtIdp(new CookieJar(), req.url, 'alice', 'alice-password'));
    assert.equal(cb.searchParams.get('error'), 'invalid_request');
    assert.match(cb.searchParams.get('error_description'), /PKCE/);
    assert.equal(cb.searchParams.get('state'), req.state);
  });

  test('wrong client secret is rejected', async () => {
    const req = authorizeRequest();
    const cb = new URL(await signInAtIdp(new CookieJar(), req.url, 'alice', 'alice-password'));
    const res = await fetchT(discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:nope`).toString('base64')}` },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: REDIRECT_URI, code_verifier: req.verifier,
      }),
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, 'invalid_client');
  });

  test('wrong password re-shows the form with an error', async () => {
    const jar = new CookieJar();
    const req = authorizeRequest();
    await assert.rejects(signInAtIdp(jar, req.url, 'alice', 'bob-password'), (err) => {
      assert.equal(err.status, 401);
      assert.match(err.body, /id="error"[^>]*>Invalid username or password/);
      assert.match(err.body, /<input id="login" name="login" value="alice"/);
      assert.match(err.body, /<button id="submit"/);
      return true;
    });
    await assert.rejects(signInAtIdp(new CookieJar(), authorizeRequest().url, 'mallory', 'x'), /Invalid username or password/);
  });

  test('unregistered redirect_uri is not redirected to', async () => {
    const url = new URL(authorizeRequest().url);
    url.searchParams.set('redirect_uri', 'http://127.0.0.1:8080/evil');
    const res = await follow(new CookieJar(), url.href);
    assert.equal(res.status, 400);
    assert.match(res.body, /redirect_uri/);
  });
});

describe('test modes', T, () => {
  test('GET/POST /__test/mode', async () => {
    assert.equal(await getIdpMode(idp.base), 'normal');
    assert.equal(await setIdpMode(idp.base, 'wrong_aud'), 'wrong_aud');
    assert.equal(await getIdpMode(idp.base), 'wrong_aud');
    assert.equal(await setIdpMode(idp.base, 'normal'), 'normal');
    await assert.rejects(setIdpMode(idp.base, 'no-such-mode'), /HTTP 400/);
    assert.equal(await getIdpMode(idp.base), 'normal');
  });

  test('wrong_aud', async () => {
    const { token, nonce } = await flowInMode('wrong_aud');
    await assert.rejects(verify(token.body.id_token, nonce), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    const { payload, protectedHeader } = await verify(token.body.id_token, nonce, { audience: 'someone-else' });
    assert.equal(payload.aud, 'someone-else');
    assert.equal(protectedHeader.kid, (await jwks()).keys[0].kid);
  });

  test('wrong_iss', async () => {
    const { token, nonce } = await flowInMode('wrong_iss');
    await assert.rejects(verify(token.body.id_token, nonce), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
    const { payload } = await verify(token.body.id_token, nonce, { issuer: 'http://127.0.0.1:1/evil' });
    assert.equal(payload.iss, 'http://127.0.0.1:1/evil');
  });

  test('expired', async () => {
    const { token, nonce } = await flowInMode('expired');
    await assert.rejects(verify(token.body.id_token, nonce), { code: 'ERR_JWT_EXPIRED' });
    const now = Math.floor(Date.now() / 1000);
    const { payload } = await verify(token.body.id_token, nonce, { currentDate: new Date((now - 1000) * 1000) });
    assert.ok(payload.exp <= now - 590 && payload.iat <= now - 1190);
  });

  test('bad_sig', async () => {
    const { token, nonce } = await flowInMode('bad_sig');
    await assert.rejects(verify(token.body.id_token, nonce), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const [, , sig] = token.body.id_token.split('.');
    assert.equal(Buffer.from(sig, 'base64url').length, 64, 'signature keeps its ES256 length');
    assert.equal(jose.decodeJwt(token.body.id_token).nonce, nonce, 'claims untouched');
  });

  test('alg_none', async () => {
    const { token, nonce } = await flowInMode('alg_none');
    const jwt = token.body.id_token;
    assert.ok(jwt.endsWith('.'), 'empty signature');
    assert.deepEqual(jose.decodeProtectedHeader(jwt), { alg: 'none', typ: 'JWT' });
    assert.equal(jose.decodeJwt(jwt).nonce, nonce);
    await assert.rejects(verify(jwt, nonce));
  });

  test('hs256_pubkey: HMAC keyed with the SPKI PEM of the real key', async () => {
    const { token, nonce } = await flowInMode('hs256_pubkey');
    const jwt = token.body.id_token;
    const [h, p, s] = jwt.split('.');
    const realJwk = (await jwks()).keys[0];
    assert.deepEqual(jose.decodeProtectedHeader(jwt), { alg: 'HS256', typ: 'JWT', kid: realJwk.kid });
    // OpenSSL-style SPKI PEM, trailing newline included.
    const pem = crypto.createPublicKey({ key: realJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    assert.ok(pem.endsWith('-----END PUBLIC KEY-----\n'));
    assert.equal(crypto.createHmac('sha256', pem).update(`${h}.${p}`).digest('base64url'), s);
    await assert.rejects(verify(jwt, nonce));
  });

  test('nonce_mismatch', async () => {
    const { token, nonce } = await flowInMode('nonce_mismatch');
    await assert.rejects(verify(token.body.id_token, nonce), /nonce/);
    assert.equal((await verify(token.body.id_token)).payload.nonce, 'not-the-nonce');
  });

  test('unknown_kid', async () => {
    const { token, nonce } = await flowInMode('unknown_kid');
    const { kid, alg } = jose.decodeProtectedHeader(token.body.id_token);
    assert.equal(alg, 'ES256');
    assert.ok(!(await jwks()).keys.some((k) => k.kid === kid));
    await assert.rejects(verify(token.body.id_token, nonce), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  test('token_error', async () => {
    const { token } = await flowInMode('token_error');
    assert.equal(token.status, 400);
    assert.equal(token.body.error, 'invalid_grant');
  });

  test('access_denied', async () => {
    await setIdpMode(idp.base, 'access_denied');
    try {
      const req = authorizeRequest();
      const cb = new URL(await signInAtIdp(new CookieJar(), req.url, 'alice', 'alice-password'));
      assert.equal(`${cb.origin}${cb.pathname}`, REDIRECT_URI);
      assert.equal(cb.searchParams.get('error'), 'access_denied');
      assert.ok(cb.searchParams.get('error_description'));
      assert.equal(cb.searchParams.get('state'), req.state);
      assert.equal(cb.searchParams.get('code'), null);
    } finally {
      await setIdpMode(idp.base, 'normal');
    }
  });

  test('rotate-keys', async () => {
    const before = (await jwks()).keys.map((k) => k.kid);
    const jar = new CookieJar();
    await codeFlow({ jar }); // an IdP session made before the rotation...
    const { old_kid: oldKid, kid } = await rotateIdpKeys(idp.base);
    assert.deepEqual(before, [oldKid]);
    assert.deepEqual((await jwks()).keys.map((k) => k.kid), [kid]);
    const { token, nonce } = await codeFlow({ jar, password: 'no-form-expected' }); // ...survives it
    const { protectedHeader } = await verify(token.body.id_token, nonce);
    assert.equal(protectedHeader.kid, kid);
  });
});

describe('CookieJar', T, () => {
  test('paths, deletion, prefixes, ports', () => {
    const jar = new CookieJar();
    const base = 'http://127.0.0.1:8080';
    jar.setCookie(`${base}/a/b`, 'root=1; Path=/; HttpOnly');
    jar.setCookie(`${base}/a/b`, 'dflt=2'); // default path /a
    jar.setCookie(`${base}/`, 'deep=3; Path=/a/b');
    jar.setCookie(`${base}/`, '__Host-s=4; Path=/; Secure; HttpOnly; SameSite=Lax');
    jar.setCookie(`${base}/`, '__Host-bad=5; Path=/x; Secure');
    jar.setCookie(`${base}/`, '__Host-bad2=6; Path=/');
    jar.setCookie('https://example.test/', '__Host-dom=7; Path=/; Secure; Domain=example.test');
    assert.equal(jar.header(`${base}/`), 'root=1; __Host-s=4');
    assert.equal(jar.header(`${base}/a/b/c?x=1`), 'deep=3; dflt=2; root=1; __Host-s=4');
    assert.equal(jar.header(`${base}/ab`), 'root=1; __Host-s=4');
    assert.equal(jar.header('http://127.0.0.1:9400/'), '', 'separate per port');
    assert.equal(jar.header('https://example.test/'), '');
    assert.equal(jar.get(`${base}/`, '__Host-s'), '4');
    jar.setCookie(`${base}/`, 'root=; Path=/; Max-Age=0');
    jar.setCookie(`${base}/`, '__Host-s=; Path=/; Secure; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
    assert.equal(jar.header(`${base}/a/x`), 'dflt=2');
    jar.setCookie('http://example.test/', 'sec=1; Secure; Path=/');
    assert.equal(jar.header('http://example.test/'), '', 'Secure refused over non-loopback http');
  });
});

describe('echo server', T, () => {
  let echo;
  before(async () => { echo = await startEcho({ timeoutMs: 10_000 }); });
  after(async () => { await echo?.stop(); });

  test('echoes method, url and lower-cased headers', async () => {
    const res = await fetchT(`${echo.base}/some/path?q=1`, {
      method: 'POST', headers: { 'X-Auth-Request-Email': 'alice@example.com', 'Content-Type': 'text/plain' }, body: 'hi',
    });
    assert.equal(res.status, 200);
    const j = await res.json();
    assert.equal(j.method, 'POST');
    assert.equal(j.url, '/some/path?q=1');
    assert.equal(j.headers['x-auth-request-email'], 'alice@example.com');
    assert.equal(j.headers.host, new URL(echo.base).host);
    assert.equal(j.body, 'hi');
  });
});

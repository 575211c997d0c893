// Sekisho's own tokens, end to end against the real daemon:
// - /auth/verify hands out an ES256 access token that node `jose` verifies
//   against /jwks.json (issuer, audience, algorithm pinned), reused while
//   fresh; discovery document shape
// - RFC 7662 introspection: client authentication required (401), active
//   token fields, and inactive for garbage, logged-out, revoked, expired,
//   wrong-audience (signed with our own key), unknown-tenant and
//   disabled-user tokens; malformed bodies get 400 RFC 6749-style errors
// - RFC 7009 revocation of access and refresh tokens
// - app sessions: authorization code + PKCE for a public client, refresh
//   rotation, reuse detection ending the family, code replay refused
// - key rotation while two instances share Redis, verification never fails
//   (sekishoctl keys rotate --delay 10s)
// - sekishoctl keys list with keys.signing_key_files; keys rotate refused
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import {
  startStack, startSekisho, signIn, CookieJar, follow, REPO, SEKISHO_BIN,
} from './harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');
const BACKEND = { id: 'billing-api', secret: 'billing-api-secret-0123456789abcdef' };
const APP = { id: 'com.example.app', redirect: 'http://127.0.0.1:9/cb' };

function keysConfig(dir, { ttl = '5m', rotation = '5m', keyFile } = {}) {
  const master = path.join(dir, 'master.key');
  if (!fs.existsSync(master)) fs.writeFileSync(master, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  const secret = path.join(dir, 'billing.secret');
  fs.writeFileSync(secret, BACKEND.secret, { mode: 0o600 });
  return `keys:
  master_key_file: ${master}
  rotation_delay: ${rotation}
${keyFile ? `  signing_key_files: [${keyFile}]\n` : ''}tokens:
  access_token_ttl: ${ttl}
clients:
  - client_id: ${BACKEND.id}
    client_secret_file: ${secret}
    tenants: [default]
  - client_id: ${APP.id}
    public: true
    first_party: true
    tenants: [default]
    redirect_uris: ["${APP.redirect}"]
`;
}

function tmp() { return fs.mkdtempSync(path.join('/tmp', 'sekisho-tok-')); }

async function accessToken(base, jar) {
  const r = await follow(jar, `${base}/auth/verify`);
  assert.equal(r.status, 200);
  const t = r.headers.get('x-auth-request-access-token');
  assert.ok(t, 'access token header present');
  return t;
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function introspect(base, token, auth = basic(BACKEND.id, BACKEND.secret)) {
  const r = await fetch(`${base}/oauth2/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
    body: new URLSearchParams({ token }).toString(),
  });
  return { status: r.status, headers: r.headers, body: await r.json() };
}

async function post(base, p, params, headers = {}) {
  const r = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof params === 'string' ? params : new URLSearchParams(params).toString(),
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, headers: r.headers, body };
}

describe('access tokens and introspection', () => {
  let stack; let dir; let keyPem;
  before(async () => {
    dir = tmp();
    // File keys: the test holds the private key, so it can forge tokens
    // that are correctly signed but wrong in one claim.
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    const keyFile = path.join(dir, 'signing.pem');
    fs.writeFileSync(keyFile, keyPem, { mode: 0o600 });
    stack = await startStack({ extraConfig: keysConfig(dir, { keyFile }) });
  });
  after(async () => { await stack?.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

  test('verify gives a token that jose verifies against the JWKS', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const t = await accessToken(stack.base, jar);
    const jwks = jose.createRemoteJWKSet(new URL(`${stack.base}/jwks.json`));
    const { payload, protectedHeader } = await jose.jwtVerify(t, jwks, {
      issuer: stack.base, audience: `${stack.base}/tenants/default`, algorithms: ['ES256'], typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(protectedHeader.kid);
    assert.match(payload.sub, /^u_/);
    assert.equal(payload.tenant, 'default');
    assert.equal(payload.email, 'alice@example.com');
    assert.match(payload.sid, /^s_[0-9a-f]{64}$/);
    assert.ok(payload.jti);
    assert.deepEqual(payload.roles, ['viewer']);
    assert.ok(Array.isArray(payload.amr));
    assert.equal(payload.exp - payload.iat, 300);
    // reused while more than half its life is left
    assert.equal(await accessToken(stack.base, jar), t);
    const jwksRes = await fetch(`${stack.base}/jwks.json`);
    assert.match(jwksRes.headers.get('cache-control'), /max-age=60/);
    const disc = await (await fetch(`${stack.base}/.well-known/openid-configuration`)).json();
    assert.equal(disc.issuer, stack.base);
    assert.equal(disc.jwks_uri, `${stack.base}/jwks.json`);
    assert.equal(disc.introspection_endpoint, `${stack.base}/oauth2/introspect`);
  });

  test('sekishoctl keys list shows keys from signing_key_files', async () => {
    const { stdout } = await run(CTL, ['keys', 'list', '-c', stack.sekisho.cfgFile]);
    const kids = (await (await fetch(`${stack.base}/jwks.json`)).json()).keys.map((k) => k.kid);
    assert.equal(kids.length, 1);
    assert.match(stdout, new RegExp(`^${kids[0]} ES256 active `, 'm'));
    await assert.rejects(run(CTL, ['keys', 'rotate', '-c', stack.sekisho.cfgFile]),
      /keys come from keys\.signing_key_files: rotate by editing that list/);
  });

  test('introspection needs client authentication', async () => {
    const r1 = await introspect(stack.base, 'x', null);
    assert.equal(r1.status, 401);
    assert.equal(r1.body.error, 'invalid_client');
    assert.match(r1.headers.get('www-authenticate'), /^Basic/);
    const r2 = await introspect(stack.base, 'x', basic(BACKEND.id, 'wrong'));
    assert.equal(r2.status, 401);
    const r3 = await introspect(stack.base, 'x', basic('nobody', BACKEND.secret));
    assert.equal(r3.status, 401);
    const r4 = await introspect(stack.base, 'x', 'Basic !!!notbase64');
    assert.equal(r4.status, 401);
  });

  test('malformed introspection bodies get 400 invalid_request', async () => {
    const auth = { authorization: basic(BACKEND.id, BACKEND.secret) };
    const cases = [
      await post(stack.base, '/oauth2/introspect', 'token=a&token=b', auth),
      await post(stack.base, '/oauth2/introspect', 'nothing=here', auth),
      await post(stack.base, '/oauth2/introspect', 'token=%zz', auth),
      await (async () => {
        const r = await fetch(`${stack.base}/oauth2/introspect`, {
          method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{"token":"x"}',
        });
        return { status: r.status, body: await r.json() };
      })(),
    ];
    for (const c of cases) {
      assert.equal(c.status, 400);
      assert.equal(c.body.error, 'invalid_request');
      assert.ok(c.body.error_description);
    }
  });

  test('active token fields; garbage, logout and revocation make it inactive', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const t = await accessToken(stack.base, jar);
    const a = await introspect(stack.base, t);
    assert.equal(a.status, 200);
    assert.equal(a.body.active, true);
    assert.equal(a.body.iss, stack.base);
    assert.equal(a.body.tenant, 'default');
    assert.equal(a.body.token_type, 'Bearer');
    assert.equal(a.body.email, 'alice@example.com');
    for (const g of ['garbage', 'a.b.c', `${t}x`, t.replace(/\.[^.]+$/, '.AAAA'), '']) {
      const r = g === '' ? await post(stack.base, '/oauth2/introspect', 'token=', { authorization: basic(BACKEND.id, BACKEND.secret) }) : await introspect(stack.base, g);
      if (r.status === 200) assert.deepEqual(r.body, { active: false }, `garbage ${g.slice(0, 20)}`);
      else assert.equal(r.status, 400);
    }
    // revocation (RFC 7009) of this one token
    const rv = await post(stack.base, '/oauth2/revoke', { token: t }, { authorization: basic(BACKEND.id, BACKEND.secret) });
    assert.equal(rv.status, 200);
    assert.equal((await introspect(stack.base, t)).body.active, false);
    // the session lives on and gets a fresh token
    const t2 = await accessToken(stack.base, jar);
    assert.notEqual(t2, t);
    assert.equal((await introspect(stack.base, t2)).body.active, true);
    // logout ends it
    const lo = await follow(jar, `${stack.base}/logout`, { method: 'POST' });
    assert.equal(lo.status, 200);
    assert.equal((await introspect(stack.base, t2)).body.active, false);
  });

  test('correctly signed tokens with a wrong claim are inactive', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const good = jose.decodeJwt(await accessToken(stack.base, jar));
    const key = crypto.createPrivateKey(keyPem);
    const kid = jose.decodeProtectedHeader(await accessToken(stack.base, jar)).kid;
    const sign = (claims, header = {}) => new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header }).sign(key);
    // control: our own re-signed copy is active, so the key is right
    assert.equal((await introspect(stack.base, await sign({ ...good }))).body.active, true);
    const now = Math.floor(Date.now() / 1000);
    const bad = {
      'wrong audience': { ...good, aud: 'https://other.example' },
      // the shared audience of old (before per-tenant audiences)
      'shared audience': { ...good, aud: stack.base },
      'wrong issuer': { ...good, iss: 'https://evil.example' },
      expired: { ...good, iat: now - 900, exp: now - 600 },
      'unknown tenant': { ...good, tenant: 'nope' },
      'unknown session': { ...good, sid: `s_${'0'.repeat(64)}` },
      'no sid': (({ sid, ...rest }) => rest)(good),
    };
    for (const [what, claims] of Object.entries(bad)) {
      const r = await introspect(stack.base, await sign(claims));
      assert.deepEqual(r.body, { active: false }, what);
    }
    // a different key under our kid, and alg confusion, are refused
    const { privateKey: other } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new jose.SignJWT(good).setProtectedHeader({ alg: 'ES256', kid }).sign(other);
    assert.deepEqual((await introspect(stack.base, forged)).body, { active: false });
    const hs = await new jose.SignJWT(good).setProtectedHeader({ alg: 'HS256', kid })
      .sign(new TextEncoder().encode(keyPem));
    assert.deepEqual((await introspect(stack.base, hs)).body, { active: false });
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`;
    assert.deepEqual((await introspect(stack.base, none)).body, { active: false });
  });

  test('a disabled user loses every session and token at once', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const t = await accessToken(stack.base, jar);
    const sub = jose.decodeJwt(t).sub;
    const { stdout } = await run(CTL, ['users', 'disable', '-c', stack.sekisho.cfgFile, sub]);
    assert.match(stdout, /disabled/);
    assert.equal((await introspect(stack.base, t)).body.active, false);
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401);
    // and cannot sign in again
    const again = await signIn(new CookieJar(), stack.base);
    assert.equal(again.res.status, 403);
    await run(CTL, ['users', 'enable', '-c', stack.sekisho.cfgFile, sub]);
    const back = await signIn(new CookieJar(), stack.base);
    assert.equal(back.res.status, 302);
  });
});

describe('expiry', () => {
  let stack; let dir;
  before(async () => {
    dir = tmp();
    stack = await startStack({ extraConfig: keysConfig(dir, { ttl: '2s' }) });
  });
  after(async () => { await stack?.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

  test('an expired access token is inactive', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const t = await accessToken(stack.base, jar);
    assert.equal((await introspect(stack.base, t)).body.active, true);
    await sleep(3100);
    assert.deepEqual((await introspect(stack.base, t)).body, { active: false });
  });
});

describe('app sessions: authorization code + PKCE, refresh rotation', () => {
  let stack; let dir;
  before(async () => {
    dir = tmp();
    stack = await startStack({ extraConfig: keysConfig(dir) });
  });
  after(async () => { await stack?.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

  async function authorize(jar, { redirect = APP.redirect, verifier } = {}) {
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    const u = new URL(`${stack.base}/oauth2/authorize`);
    u.search = new URLSearchParams({
      response_type: 'code', client_id: APP.id, redirect_uri: redirect, state: 'st-1',
      code_challenge: challenge, code_challenge_method: 'S256',
    }).toString();
    return follow(jar, u.href);
  }

  test('the full app flow, rotation and reuse detection', async () => {
    const jar = new CookieJar();
    const verifier = crypto.randomBytes(32).toString('base64url');
    // without a session: sent to sign in, and back here afterwards
    const first = await authorize(jar, { verifier });
    assert.equal(first.status, 302);
    assert.match(first.headers.get('location'), /^\/login\?rd=%2Foauth2%2Fauthorize/);
    await signIn(jar, stack.base);
    const r = await authorize(jar, { verifier });
    assert.equal(r.status, 302);
    const back = new URL(r.headers.get('location'));
    assert.equal(`${back.origin}${back.pathname}`, APP.redirect);
    assert.equal(back.searchParams.get('state'), 'st-1');
    assert.equal(back.searchParams.get('iss'), stack.base);
    const code = back.searchParams.get('code');

    const bad = await post(stack.base, '/oauth2/token', {
      grant_type: 'authorization_code', client_id: APP.id, code, redirect_uri: APP.redirect,
      code_verifier: crypto.randomBytes(32).toString('base64url'),
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_grant');
    // the failed attempt spent the code (single use), so start again
    const r2 = await authorize(jar, { verifier });
    const code2 = new URL(r2.headers.get('location')).searchParams.get('code');
    const tok = await post(stack.base, '/oauth2/token', {
      grant_type: 'authorization_code', client_id: APP.id, code: code2, redirect_uri: APP.redirect, code_verifier: verifier,
    });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.equal(tok.headers.get('cache-control'), 'no-store');
    assert.equal(tok.body.token_type, 'Bearer');
    assert.match(tok.body.refresh_token, /^skr\./);
    const at = jose.decodeJwt(tok.body.access_token);
    assert.equal(at.client_id, APP.id);
    assert.match(at.sid, /^a_/);
    assert.equal((await introspect(stack.base, tok.body.access_token)).body.active, true);
    const replay = await post(stack.base, '/oauth2/token', {
      grant_type: 'authorization_code', client_id: APP.id, code: code2, redirect_uri: APP.redirect, code_verifier: verifier,
    });
    assert.equal(replay.body.error, 'invalid_grant');

    // rotation
    const ref1 = await post(stack.base, '/oauth2/token', { grant_type: 'refresh_token', client_id: APP.id, refresh_token: tok.body.refresh_token });
    assert.equal(ref1.status, 200);
    assert.notEqual(ref1.body.refresh_token, tok.body.refresh_token);
    const ri = await introspect(stack.base, ref1.body.refresh_token);
    assert.equal(ri.body.active, true);
    assert.equal(ri.body.token_type, 'refresh_token');
    assert.equal(ri.body.client_id, APP.id);
    assert.equal((await introspect(stack.base, tok.body.refresh_token)).body.active, false);
    // reuse of the old one ends the family: the newest is dead too
    const reuse = await post(stack.base, '/oauth2/token', { grant_type: 'refresh_token', client_id: APP.id, refresh_token: tok.body.refresh_token });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    const after = await post(stack.base, '/oauth2/token', { grant_type: 'refresh_token', client_id: APP.id, refresh_token: ref1.body.refresh_token });
    assert.equal(after.body.error, 'invalid_grant');
    assert.equal((await introspect(stack.base, ref1.body.access_token)).body.active, false);
  });

  test('refresh token revocation and token endpoint errors', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const r = await authorize(jar, { verifier });
    const code = new URL(r.headers.get('location')).searchParams.get('code');
    const tok = await post(stack.base, '/oauth2/token', {
      grant_type: 'authorization_code', client_id: APP.id, code, redirect_uri: APP.redirect, code_verifier: verifier,
    });
    const rv = await post(stack.base, '/oauth2/revoke', { client_id: APP.id, token: tok.body.refresh_token });
    assert.equal(rv.status, 200);
    assert.equal((await introspect(stack.base, tok.body.refresh_token)).body.active, false);
    assert.equal((await introspect(stack.base, tok.body.access_token)).body.active, false);

    const unsupported = await post(stack.base, '/oauth2/token', { grant_type: 'password', client_id: APP.id });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.error, 'unsupported_grant_type');
    const noclient = await post(stack.base, '/oauth2/token', { grant_type: 'refresh_token', refresh_token: 'x' });
    assert.equal(noclient.status, 400);
    const unknown = await post(stack.base, '/oauth2/token', { grant_type: 'refresh_token', client_id: 'who', refresh_token: 'x' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'invalid_client');
    const forged = await post(stack.base, '/oauth2/token', { grant_type: 'refresh_token', client_id: APP.id, refresh_token: tok.body.refresh_token.replace(/.$/, 'A') });
    assert.equal(forged.body.error, 'invalid_grant');
    const unreg = await authorize(jar, { verifier, redirect: 'https://evil.example/cb' });
    assert.equal(unreg.status, 400);
    assert.equal(unreg.headers.get('location'), null, 'never redirects to an unregistered URI');
    const get = await fetch(`${stack.base}/oauth2/token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });
});

describe('key rotation with two instances sharing Redis', () => {
  let stack; let dir; let second;
  before(async () => {
    dir = tmp();
    // keys.rotation_delay must exceed 65 s; the test rotates with a
    // one-off --delay instead (it fetches the JWKS afresh every time).
    const extra = keysConfig(dir, { ttl: '4s' });
    stack = await startStack({ extraConfig: extra });
    // A second instance: same Redis, same issuer (public URL), own port.
    second = await startSekisho({
      dir: fs.mkdtempSync(path.join('/tmp', 'sekisho-tok2-')), publicUrl: stack.base,
      redisUrl: stack.redis.url, idpBase: stack.idp.base,
      secretFile: path.join(stack.dir, 'idp-client.secret'),
      allowedHosts: [new URL(stack.base).host], extra,
    });
  });
  after(async () => {
    await second?.stop();
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('no verification fails across a rotation', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const cookie = jar.header(`${stack.base}/auth/verify`);
    const instances = [stack.base, second.base];
    const kidsBefore = new Set((await (await fetch(`${stack.base}/jwks.json`)).json()).keys.map((k) => k.kid));
    let rotated = false; let checks = 0; const seenKids = new Set();
    const deadline = Date.now() + 24_000;
    for (let i = 0; Date.now() < deadline && i < 400; i++) {
      if (!rotated && i === 5) {
        const { stdout, stderr } = await run(CTL, ['keys', 'rotate', '-c', stack.sekisho.cfgFile, '--delay', '10s']);
        assert.match(stdout, /added \S+: published now, signs in 10s/);
        assert.match(stderr, /warning: --delay 10s: verifiers that cached the JWKS/);
        rotated = true;
      }
      const from = instances[i % 2]; const to = instances[(i + 1) % 2];
      const v = await fetch(`${from}/auth/verify`, { headers: { cookie } });
      assert.equal(v.status, 200);
      const t = v.headers.get('x-auth-request-access-token');
      // verify with the OTHER instance's JWKS, fetched fresh every time
      const jwks = jose.createLocalJWKSet(await (await fetch(`${to}/jwks.json`)).json());
      await jose.jwtVerify(t, jwks, { issuer: stack.base, audience: `${stack.base}/tenants/default`, algorithms: ['ES256'] });
      const intro = await introspect(to, t);
      assert.equal(intro.body.active, true, `introspection at the other instance (check ${checks})`);
      seenKids.add(jose.decodeProtectedHeader(t).kid);
      checks++;
      await sleep(50);
    }
    const newKids = [...seenKids].filter((k) => !kidsBefore.has(k));
    assert.equal(newKids.length, 1, `tokens signed with the new key were seen (${checks} checks)`);
  });
});

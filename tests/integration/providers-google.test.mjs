// Sign-in with Google (type google) against the Google-shaped stand-in
// (tests/providers/google.mjs, on oidc-provider), real redis-server and
// sekisho. Covers:
//   - a Workspace account whose hd is in allowed_hd signs in; the user's
//     issuer is the configured issuer
//   - the legacy issuer form (no scheme) is accepted and maps to the same
//     user; any other issuer is refused
//   - refusals by allowed_hd, each a clear page with no session: another
//     Workspace domain; a consumer account without hd
//   - without allowed_hd, a consumer account signs in
//   - email_verified counts only as the JSON boolean true (the string
//     "true" is "not verified")

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, tmpDir } from './harness.mjs';
import {
  CookieJar, follow, planSekisho, redisHash, refusalShape, sessionCount, signInVia, startSekishoWith, whoami,
  writeSecret,
} from './providers-harness.mjs';
import { startGoogle } from '../providers/google.mjs';

const USERS = {
  alice: { sub: '100000000000000000001', email: 'alice@acme.example', email_verified: true, hd: 'acme.example', name: 'Alice Acme' },
  mallory: { sub: '100000000000000000002', email: 'mallory@other.example', email_verified: true, hd: 'other.example', name: 'Mallory' },
  carol: { sub: '100000000000000000003', email: 'carol@gmail.com', email_verified: true, name: 'Carol' },
};

let redis;
let google;
let acme;
let open;
const dir = tmpDir('sekisho-pg-');

before(async () => {
  redis = await startRedis();
  const p1 = await planSekisho();
  const p2 = await planSekisho();
  google = await startGoogle({
    clientId: '1234-test.apps.googleusercontent.com',
    clientSecret: 'google-test-secret-0123456789',
    redirectUris: [`${p1.base}/callback/google`, `${p2.base}/callback/google`],
    users: USERS,
  });
  const provider = {
    id: 'google', type: 'google', client_id: '1234-test.apps.googleusercontent.com',
    client_secret_file: writeSecret(dir, 'g', 'google-test-secret-0123456789'), issuer: google.base,
  };
  acme = await startSekishoWith({
    plan: p1, redisUrl: redis.url, providers: [provider],
    tenants: [{ id: 'acme', providers: ['google'], allowed_hd: ['acme.example'] }],
  });
  open = await startSekishoWith({
    plan: p2, redisUrl: redis.url, providers: [provider],
    tenants: [{ id: 'open', providers: ['google'] }],
  });
});
afterEach(() => { if (google) google.mode = 'normal'; });
after(async () => {
  await acme?.stop();
  await open?.stop();
  await google?.stop();
  await redis?.stop();
});

async function refused(base, login, status, text) {
  const before = await sessionCount(redis.port);
  const jar = new CookieJar();
  const { res } = await signInVia(jar, base, 'google', login);
  const r = refusalShape(res);
  assert.equal(r.status, status, res.body);
  assert.ok(r.html);
  assert.match(r.body, text);
  assert.equal(r.sessionCookie, false);
  assert.equal((await whoami(jar, base)).status, 401);
  assert.equal(await sessionCount(redis.port), before);
}

describe('Google', () => {
  test('a Workspace account of an allowed domain signs in', async () => {
    const r = await follow(new CookieJar(), `${acme.base}/login/google`);
    assert.equal(new URL(r.location).origin, google.base);
    const jar = new CookieJar();
    const { res } = await signInVia(jar, acme.base, 'google', 'alice');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, acme.base);
    assert.equal(me.status, 200);
    assert.equal(me.email, 'alice@acme.example');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.issuer, google.base);
    assert.equal(u.subject, USERS.alice.sub);
    assert.equal(u.email_verified, '1');
  });

  test('the legacy issuer form (no scheme) is the same issuer', async () => {
    const j1 = new CookieJar();
    assert.equal((await signInVia(j1, acme.base, 'google', 'alice')).res.status, 302);
    google.mode = 'legacy_iss';
    const j2 = new CookieJar();
    const { res } = await signInVia(j2, acme.base, 'google', 'alice');
    assert.equal(res.status, 302, res.body);
    assert.equal((await whoami(j2, acme.base)).user, (await whoami(j1, acme.base)).user);
  });

  test('refused: any other issuer', async () => {
    google.mode = 'wrong_iss';
    await refused(acme.base, 'alice', 401, /could not be verified/);
  });

  test('refused: hd of another Workspace domain', async () => {
    await refused(acme.base, 'mallory', 403, /not part of a Workspace domain this organisation accepts/);
  });

  test('refused: a consumer account (no hd) where allowed_hd is set', async () => {
    await refused(acme.base, 'carol', 403, /not part of a Workspace domain/);
  });

  test('without allowed_hd a consumer account signs in', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, open.base, 'google', 'carol');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, open.base);
    assert.equal(me.tenant, 'open');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.email_verified, '1');
  });

  test('email_verified as the string "true" does not count as verified', async () => {
    google.mode = 'email_verified_string';
    const jar = new CookieJar();
    const { res } = await signInVia(jar, open.base, 'google', 'carol');
    assert.equal(res.status, 302, res.body);
    const u = await redisHash(redis.port, `sk:{u:${(await whoami(jar, open.base)).user}}`);
    assert.equal(u.email_verified, '0');
  });
});

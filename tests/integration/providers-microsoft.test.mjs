// Sign-in with Microsoft Entra ID (type microsoft) against the Entra-shaped
// stand-in (tests/providers/entra.mjs), real redis-server and sekisho.
// Covers:
//   - multi-tenant (organizations / common): discovery issuer template
//     {base}/{tenantid}/v2.0; a token whose iss is the template filled with
//     its own tid and whose tid is in allowed_tid signs in
//   - users keyed by (iss, oid): the same account through two app
//     registrations (different pairwise sub) is one user; the user's issuer
//     names the directory
//   - email is unverified unless trust_email
//   - refusals, each a clear page with no session: a tid not in allowed_tid
//     (403); iss naming another directory than the token's tid (401); no
//     tid (401); no oid (401); a personal account through `organizations`
//     (401); a token of another directory on a single-directory provider
//     (401)
//   - single directory (tenant: GUID) with trust_email: email verified

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, tmpDir } from './harness.mjs';
import {
  CookieJar, follow, planSekisho, redisHash, refusalShape, sessionCount, signInVia, startSekishoWith, whoami, writeSecret,
} from './providers-harness.mjs';
import { CONSUMERS_TID, startEntra } from '../providers/entra.mjs';

const TID_A = 'aaaaaaaa-0000-4000-8000-00000000000a';
const TID_B = 'bbbbbbbb-0000-4000-8000-00000000000b';
const USERS = {
  alice: { tid: TID_A, oid: '11111111-aaaa-4aaa-8aaa-000000000001', name: 'Alice A', email: 'alice@contoso.example' },
  eve: { tid: TID_B, oid: '22222222-bbbb-4bbb-8bbb-000000000002', name: 'Eve B', email: 'alice@contoso.example' },
  pat: { tid: CONSUMERS_TID, oid: '00000000-0000-0000-1234-567890abcdef', name: 'Pat Personal', email: 'pat@outlook.example' },
};

let redis;
let entra;
let multi;
let single;
const dir = tmpDir('sekisho-pms-');

before(async () => {
  redis = await startRedis();
  const p1 = await planSekisho();
  const p2 = await planSekisho();
  entra = await startEntra({
    clients: [
      { client_id: 'ms-app-1', client_secret: 'ms-secret-1', redirect_uris: [`${p1.base}/callback/ms`] },
      { client_id: 'ms-app-2', client_secret: 'ms-secret-2', redirect_uris: [`${p1.base}/callback/ms2`] },
      { client_id: 'ms-app-3', client_secret: 'ms-secret-3', redirect_uris: [`${p2.base}/callback/ms-single`] },
    ],
    users: USERS,
  });
  multi = await startSekishoWith({
    plan: p1,
    redisUrl: redis.url,
    tenants: [{ id: 'contoso', providers: ['ms', 'ms2'], allowed_tid: [TID_A] }],
    providers: [
      { id: 'ms', type: 'microsoft', client_id: 'ms-app-1', client_secret_file: writeSecret(dir, 's1', 'ms-secret-1'), issuer: entra.base },
      { id: 'ms2', type: 'microsoft', tenant: 'common', client_id: 'ms-app-2', client_secret_file: writeSecret(dir, 's2', 'ms-secret-2'), issuer: entra.base },
    ],
  });
  single = await startSekishoWith({
    plan: p2,
    redisUrl: redis.url,
    tenants: [{ id: 'contoso-single', providers: ['ms-single'] }],
    providers: [
      {
        id: 'ms-single', type: 'microsoft', tenant: TID_A, trust_email: true, client_id: 'ms-app-3',
        client_secret_file: writeSecret(dir, 's3', 'ms-secret-3'), issuer: entra.base,
      },
    ],
  });
});
afterEach(() => { if (entra) entra.mode = 'normal'; });
after(async () => {
  await multi?.stop();
  await single?.stop();
  await entra?.stop();
  await redis?.stop();
});

async function refused(base, pid, login, status, text) {
  const before = await sessionCount(redis.port);
  const jar = new CookieJar();
  const { res } = await signInVia(jar, base, pid, login);
  const r = refusalShape(res);
  assert.equal(r.status, status, res.body);
  assert.ok(r.html, 'a page, not JSON');
  assert.match(r.body, text);
  assert.equal(r.sessionCookie, false, 'no session cookie');
  assert.equal((await whoami(jar, base)).status, 401);
  assert.equal(await sessionCount(redis.port), before, 'no session in Redis');
}

describe('Microsoft Entra ID, multi-tenant', () => {
  test('the authorize request goes to {issuer}/organizations/oauth2/v2.0/authorize', async () => {
    const jar = new CookieJar();
    const r = await follow(jar, `${multi.base}/login/ms`);
    assert.equal(r.status, 302);
    const u = new URL(r.location);
    assert.equal(`${u.origin}${u.pathname}`, `${entra.base}/organizations/oauth2/v2.0/authorize`);
    assert.equal(u.searchParams.get('client_id'), 'ms-app-1');
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(u.searchParams.get('nonce'));
  });

  test('a directory in allowed_tid signs in; the user is keyed by (iss, oid); email unverified', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, multi.base, 'ms', 'alice');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, multi.base);
    assert.equal(me.status, 200);
    assert.equal(me.tenant, 'contoso');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.issuer, `${entra.base}/${TID_A}/v2.0`);
    assert.equal(u.subject, USERS.alice.oid);
    assert.equal(u.email, 'alice@contoso.example');
    assert.equal(u.email_verified, '0', 'Entra e-mail is not verified without trust_email');
  });

  test('the same account through another app registration (other pairwise sub) is the same user', async () => {
    const j1 = new CookieJar();
    assert.equal((await signInVia(j1, multi.base, 'ms', 'alice')).res.status, 302);
    const j2 = new CookieJar();
    assert.equal((await signInVia(j2, multi.base, 'ms2', 'alice')).res.status, 302);
    const a = await whoami(j1, multi.base);
    const b = await whoami(j2, multi.base);
    assert.ok(a.user);
    assert.equal(a.user, b.user);
  });

  test('refused: a directory not in allowed_tid', async () => {
    await refused(multi.base, 'ms', 'eve', 403, /not in a directory this organisation accepts/);
  });

  test('refused: iss names another directory than the token\'s tid', async () => {
    entra.mode = 'iss_other_tid';
    await refused(multi.base, 'ms', 'alice', 401, /could not be verified/);
    assert.match(multi.stderr(), /iss does not match its tid/);
  });

  test('refused: no tid claim', async () => {
    entra.mode = 'tid_missing';
    await refused(multi.base, 'ms', 'alice', 401, /could not be verified/);
  });

  test('refused: no oid claim (no stable key)', async () => {
    entra.mode = 'no_oid';
    await refused(multi.base, 'ms', 'alice', 401, /could not be verified/);
  });

  test('refused: a personal account through tenant organizations; through common it meets allowed_tid', async () => {
    await refused(multi.base, 'ms', 'pat', 401, /could not be verified/);
    assert.match(multi.stderr(), /personal Microsoft account/);
    await refused(multi.base, 'ms2', 'pat', 403, /not in a directory this organisation accepts/);
  });
});

describe('Microsoft Entra ID, one directory with trust_email', () => {
  test('its own directory signs in with a verified e-mail', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, single.base, 'ms-single', 'alice');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, single.base);
    assert.equal(me.status, 200);
    assert.equal(me.email, 'alice@contoso.example');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.email_verified, '1');
    assert.equal(u.tenant, 'contoso-single');
  });

  test('refused: a token from another directory', async () => {
    await refused(single.base, 'ms-single', 'eve', 401, /could not be verified/);
  });
});

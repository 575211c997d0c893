// Tenant rules across providers, and linking a new identity to an existing
// user, against the Google, Entra ID and GitHub stand-ins (tests/providers),
// real redis-server and sekisho. Covers:
//   - the sign-in page lists the tenant's providers as each brand's button ("Sign in
//     with Google", ...) with ids provider-<id>
//   - allowed_hd binds Google identities only: a Microsoft or GitHub
//     identity of a tenant with allowed_hd is not refused for lacking hd
//   - with link_by_verified_email: a new identity whose address is trusted
//     (Google Workspace account of that domain; Entra ID with trust_email
//     on the tenant's own directory) joins the user holding that address,
//     case-insensitively; the e-mail index key is hash-tagged per tenant
//   - refusals, each a clear page with no session: a new identity claiming
//     an existing user's address without having it verified (Google
//     email_verified false), or verified by a provider that is not
//     authoritative for the domain (GitHub)
//   - without link_by_verified_email (another tenant, same Redis): users are
//     per tenant, and the same address never links

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { redisCli, startRedis, tmpDir } from './harness.mjs';
import {
  CookieJar, follow, planSekisho, refusalShape, sessionCount, signInVia, startSekishoWith, whoami, writeSecret,
} from './providers-harness.mjs';
import { startEntra } from '../providers/entra.mjs';
import { startGitHub } from '../providers/github.mjs';
import { startGoogle } from '../providers/google.mjs';

const TID = 'aaaaaaaa-0000-4000-8000-00000000000a';
const G_USERS = {
  alice: { sub: '200000000000000000001', email: 'alice@acme.example', email_verified: true, hd: 'acme.example', name: 'Alice' },
  // a consumer Google account that typed alice's address and never verified it
  dave: { sub: '200000000000000000004', email: 'alice@acme.example', email_verified: false, name: 'Dave' },
  carol: { sub: '200000000000000000003', email: 'carol@gmail.com', email_verified: true, name: 'Carol' },
};
const MS_USERS = {
  alice: { tid: TID, oid: '33333333-aaaa-4aaa-8aaa-000000000001', name: 'Alice (Entra)', email: 'Alice@ACME.example' },
};
const GH_USERS = {
  alice: {
    id: 4242, login: 'alice-gh', name: 'Alice GH',
    emails: [{ email: 'alice@acme.example', primary: true, verified: true, visibility: null }],
  },
};

let redis;
let google;
let entra;
let gh;
let law;
let nolink;
const dir = tmpDir('sekisho-plink-');

before(async () => {
  redis = await startRedis();
  const pl = await planSekisho();
  const pn = await planSekisho();
  const cb = (pid) => [`${pl.base}/callback/${pid}`, `${pn.base}/callback/${pid}`];
  google = await startGoogle({
    clientId: 'g-client', clientSecret: 'g-secret-0123456789', redirectUris: cb('google'), users: G_USERS,
  });
  entra = await startEntra({
    clients: [{ client_id: 'ms-client', client_secret: 'ms-secret-0123456789', redirect_uris: cb('ms') }],
    users: MS_USERS,
  });
  gh = await startGitHub({
    clientId: 'gh-client', clientSecret: 'gh-secret-0123456789', redirectUris: cb('github'), users: GH_USERS,
  });
  const providers = [
    { id: 'google', type: 'google', client_id: 'g-client', client_secret_file: writeSecret(dir, 'g', 'g-secret-0123456789'), issuer: google.base },
    {
      id: 'ms', type: 'microsoft', tenant: TID, trust_email: true, client_id: 'ms-client',
      client_secret_file: writeSecret(dir, 'ms', 'ms-secret-0123456789'), issuer: entra.base,
    },
    { id: 'github', type: 'github', client_id: 'gh-client', client_secret_file: writeSecret(dir, 'gh', 'gh-secret-0123456789'), issuer: gh.base },
  ];
  const offered = ['google', 'ms', 'github'];
  law = await startSekishoWith({
    plan: pl, redisUrl: redis.url, providers,
    tenants: [{ id: 'law', display_name: 'Acme Law', providers: offered, allowed_tid: [TID], link_by_verified_email: true }],
  });
  nolink = await startSekishoWith({
    plan: pn, redisUrl: redis.url, providers,
    tenants: [{ id: 'nolink', providers: offered, allowed_hd: ['acme.example'], allowed_tid: [TID] }],
  });
});
after(async () => {
  await law?.stop();
  await nolink?.stop();
  await google?.stop();
  await entra?.stop();
  await gh?.stop();
  await redis?.stop();
});

async function signedIn(base, pid, login) {
  const jar = new CookieJar();
  const { res } = await signInVia(jar, base, pid, login);
  assert.equal(res.status, 302, `${pid}/${login}: ${res.body}`);
  const me = await whoami(jar, base);
  assert.equal(me.status, 200);
  return me.user;
}

async function notLinked(base, pid, login) {
  const before = await sessionCount(redis.port);
  const jar = new CookieJar();
  const { res } = await signInVia(jar, base, pid, login);
  const r = refusalShape(res);
  assert.equal(r.status, 403, res.body);
  assert.ok(r.html);
  assert.match(r.body, /Account not linked/);
  assert.match(r.body, /already exists here/);
  assert.equal(r.sessionCookie, false);
  assert.equal((await whoami(jar, base)).status, 401);
  assert.equal(await sessionCount(redis.port), before);
}

const emailKey = (tenant, email) => `sk:{t:${tenant}}:eml:${crypto.createHash('sha256').update(email.toLowerCase()).digest('hex')}`;

describe('tenant rules and linking', () => {
  let alice;

  test('the sign-in page lists the providers by name', async () => {
    const r = await follow(new CookieJar(), `${law.base}/login`);
    assert.equal(r.status, 200);
    assert.match(r.body, /Sign in to Acme Law/);
    // Each brand's button: its type's look and mark, its own wording.
    const button = (id, type, label) => new RegExp(`<a class="provider provider-${type}" id="provider-${id}" `
      + `href="/login/${id}"><span class="mark" aria-hidden="true"><svg [^]*?</svg></span>`
      + `<span class="label">${label}</span></a>`);
    assert.match(r.body, button('google', 'google', 'Sign in with Google'));
    assert.match(r.body, button('ms', 'microsoft', 'Sign in with Microsoft'));
    assert.match(r.body, button('github', 'github', 'Sign in with GitHub'));
  });

  test('a trusted Google Workspace address creates the user and its e-mail index entry', async () => {
    alice = await signedIn(law.base, 'google', 'alice');
    assert.equal((await redisCli(redis.port, 'GET', emailKey('law', 'alice@acme.example'))).trim(), alice);
  });

  test('a new Entra ID identity with the same trusted address (other case) joins that user', async () => {
    assert.ok(alice);
    assert.equal(await signedIn(law.base, 'ms', 'alice'), alice);
  });

  test('refused: the same address, not verified (Google email_verified false)', async () => {
    await notLinked(law.base, 'google', 'dave');
    // The event names the address as a claim, never as its user's.
    const out = await redisCli(redis.port, 'XREVRANGE', 'sk:{t:law}:ev', '+', '-', 'COUNT', '1');
    const ev = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1));
    assert.equal(ev.type, 'login_failed');
    assert.equal(ev.details.reason, 'not_linked');
    assert.equal(ev.details.claimed_email, 'alice@acme.example');
    assert.ok(!ev.user?.email, JSON.stringify(ev.user));
  });

  test('refused: the same address, verified by a provider not authoritative for it (GitHub)', async () => {
    await notLinked(law.base, 'github', 'alice');
  });

  test('an unrelated trusted address is a new user', async () => {
    const c = await signedIn(law.base, 'google', 'carol');
    assert.notEqual(c, alice);
  });

  test('without link_by_verified_email the same identities are separate users of that tenant', async () => {
    const g = await signedIn(nolink.base, 'google', 'alice');
    assert.notEqual(g, alice, 'users are per tenant');
    const m = await signedIn(nolink.base, 'ms', 'alice');
    assert.notEqual(m, g, 'no linking by e-mail unless the tenant enables it');
    const h = await signedIn(nolink.base, 'github', 'alice');
    assert.notEqual(h, g);
    assert.notEqual(h, m);
  });

  test('allowed_hd binds Google identities only (Microsoft and GitHub above were not refused for lacking hd)', async () => {
    for (const login of ['dave', 'carol']) {
      const before = await sessionCount(redis.port);
      const { res } = await signInVia(new CookieJar(), nolink.base, 'google', login);
      assert.equal(res.status, 403);
      assert.match(res.body, /not part of a Workspace domain/);
      assert.equal(await sessionCount(redis.port), before);
    }
  });
});

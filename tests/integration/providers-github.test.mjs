// Sign-in with GitHub (type github, OAuth 2 without id_token) against the
// GitHub-shaped stand-in (tests/providers/github.mjs), real redis-server
// and sekisho. Covers:
//   - the authorization request: {issuer}/login/oauth/authorize with
//     state, PKCE S256 and the default scopes read:user user:email
//   - the token request: Accept: application/json, client credentials,
//     code and code_verifier in the body (the stand-in checks PKCE)
//   - GET /user and /user/emails with the bearer token and a User-Agent
//   - the numeric id is the subject: a renamed login is the same user
//   - the address is the primary + verified one; a primary that is not
//     verified gives no address
//   - a refused code (HTTP 200 with "error", as GitHub does) -> 502 page,
//     no session

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, tmpDir } from './harness.mjs';
import {
  CookieJar, follow, planSekisho, redisHash, refusalShape, sessionCount, signInVia, startSekishoWith, whoami,
  writeSecret,
} from './providers-harness.mjs';
import { startGitHub } from '../providers/github.mjs';

const USERS = {
  octo: {
    id: 583231, login: 'octocat', name: 'The Octocat', email: 'octo-public@example.com',
    emails: [
      { email: 'other@example.org', primary: false, verified: true, visibility: null },
      { email: 'octo@example.com', primary: true, verified: true, visibility: 'public' },
    ],
  },
  newbie: {
    id: 1001, login: 'newbie', name: null,
    emails: [
      { email: 'newbie@example.com', primary: true, verified: false, visibility: 'private' },
      { email: 'newbie2@example.com', primary: false, verified: true, visibility: null },
    ],
  },
};

let redis;
let gh;
let sk;
const dir = tmpDir('sekisho-pgh-');

before(async () => {
  redis = await startRedis();
  const plan = await planSekisho();
  gh = await startGitHub({
    clientId: 'Iv1.0123456789abcdef',
    clientSecret: 'gh-client-secret-0123456789',
    redirectUris: [`${plan.base}/callback/github`],
    users: USERS,
  });
  sk = await startSekishoWith({
    plan,
    redisUrl: redis.url,
    tenants: [{ id: 'dev', providers: ['github'] }],
    providers: [{
      id: 'github', type: 'github', client_id: 'Iv1.0123456789abcdef',
      client_secret_file: writeSecret(dir, 'gh', 'gh-client-secret-0123456789'), issuer: gh.base,
    }],
  });
});
afterEach(() => { if (gh) gh.mode = 'normal'; });
after(async () => {
  await sk?.stop();
  await gh?.stop();
  await redis?.stop();
});

describe('GitHub', () => {
  test('the authorization request: GitHub endpoint, state, PKCE S256, default scopes, no nonce', async () => {
    const jar = new CookieJar();
    const r1 = await follow(jar, `${sk.base}/login`);
    assert.equal(r1.status, 302);
    assert.equal(new URL(r1.location).pathname, '/login/github');
    const r = await follow(jar, r1.location);
    assert.equal(r.status, 302);
    const u = new URL(r.location);
    assert.equal(`${u.origin}${u.pathname}`, `${gh.base}/login/oauth/authorize`);
    assert.equal(u.searchParams.get('client_id'), 'Iv1.0123456789abcdef');
    assert.equal(u.searchParams.get('scope'), 'read:user user:email');
    assert.equal(u.searchParams.get('redirect_uri'), `${sk.base}/callback/github`);
    assert.match(u.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(u.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(u.searchParams.get('nonce'), null);
  });

  test('signs in: numeric id as subject, primary verified address, the calls GitHub expects', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, sk.base, 'github', 'octo');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, sk.base);
    assert.equal(me.status, 200);
    assert.equal(me.email, 'octo@example.com');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.issuer, gh.base);
    assert.equal(u.subject, '583231');
    assert.equal(u.email_verified, '1');
    assert.equal(u.name, 'The Octocat');

    const tok = gh.requests.filter((q) => q.path === '/login/oauth/access_token').at(-1);
    assert.match(tok.headers.accept, /application\/json/);
    const form = new URLSearchParams(tok.body);
    assert.equal(form.get('client_id'), 'Iv1.0123456789abcdef');
    assert.ok(form.get('code_verifier'), 'PKCE verifier sent');
    for (const p of ['/user', '/user/emails']) {
      const q = gh.requests.filter((x) => x.path === p).at(-1);
      assert.match(q.headers['user-agent'] ?? '', /^sekisho\//, `${p} has a User-Agent`);
      assert.match(q.headers.authorization ?? '', /^Bearer gho_/);
    }
  });

  test('a renamed login is the same user (the id is the key)', async () => {
    const j1 = new CookieJar();
    assert.equal((await signInVia(j1, sk.base, 'github', 'octo')).res.status, 302);
    const before = await whoami(j1, sk.base);
    USERS.octo.login = 'octocat-renamed';
    USERS.octo.name = null;
    const j2 = new CookieJar();
    assert.equal((await signInVia(j2, sk.base, 'github', 'octo')).res.status, 302);
    const afterRename = await whoami(j2, sk.base);
    assert.equal(afterRename.user, before.user);
    const u = await redisHash(redis.port, `sk:{u:${afterRename.user}}`);
    assert.equal(u.name, 'octocat-renamed', 'the login stands in for a missing name');
  });

  test('a primary address that is not verified gives no address', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, sk.base, 'github', 'newbie');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, sk.base);
    assert.equal(me.email ?? '', '');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.subject, '1001');
    assert.equal(u.email, '');
    assert.equal(u.email_verified, '0');
  });

  test('refused: the code is refused (HTTP 200 with "error")', async () => {
    gh.mode = 'token_error';
    const before = await sessionCount(redis.port);
    const jar = new CookieJar();
    const { res } = await signInVia(jar, sk.base, 'github', 'octo');
    const r = refusalShape(res);
    assert.equal(r.status, 502);
    assert.ok(r.html);
    assert.match(r.body, /could not complete the sign-in/);
    assert.equal(r.sessionCookie, false);
    assert.equal(await sessionCount(redis.port), before);
    assert.match(sk.stderr(), /bad_verification_code/);
  });
});

// Sign-in with LINE Login v2.1 (type line) against the LINE-shaped stand-in
// (tests/providers/line.mjs), real redis-server and sekisho. Covers:
//   - the authorization request: LINE's endpoint, state, nonce, PKCE S256,
//     bot_prompt when configured
//   - web login: HS256 id_token keyed with the channel secret, no kid,
//     client credentials in the token request body (the stand-in refuses
//     Basic, as LINE); amr kept; email taken from the id_token and never
//     counted as verified; no email when the user has none
//   - native shape: ES256 with a JWKS key on a provider configured
//     id_token_algs: [ES256]
//   - refusals, each a clear page with no session: HS256 signed with another
//     secret; HS256 on a provider configured for ES256 (also HS256 keyed with
//     the JWKS public key and its kid); ES256 on the default HS256-only
//     provider; a callback without state

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { startRedis, tmpDir } from './harness.mjs';
import {
  CookieJar, follow, planSekisho, redisHash, refusalShape, sessionCount, signInVia, startSekishoWith, whoami,
  writeSecret,
} from './providers-harness.mjs';
import { startLine } from '../providers/line.mjs';

const CHANNEL_ID = '1234567890';
const CHANNEL_SECRET = '0123456789abcdef0123456789abcdef';
const USERS = {
  sato: { sub: 'U0123456789abcdef0123456789abcdef', name: '佐藤 花子', email: 'hanako@line-user.example', amr: ['linesso'] },
  kato: { sub: 'Ufedcba9876543210fedcba9876543210', name: '加藤', amr: ['pwd', 'mfa'] },
};

let redis;
let line;
let sk;
const dir = tmpDir('sekisho-pline-');

before(async () => {
  redis = await startRedis();
  const plan = await planSekisho();
  line = await startLine({
    channelId: CHANNEL_ID,
    channelSecret: CHANNEL_SECRET,
    redirectUris: [`${plan.base}/callback/line`, `${plan.base}/callback/line-native`],
    users: USERS,
  });
  const secret = writeSecret(dir, 'line', CHANNEL_SECRET);
  sk = await startSekishoWith({
    plan,
    redisUrl: redis.url,
    tenants: [{ id: 'shop', providers: ['line', 'line-native'] }],
    providers: [
      {
        id: 'line', type: 'line', client_id: CHANNEL_ID, client_secret_file: secret, issuer: line.base,
        scopes: ['openid', 'profile', 'email'], bot_prompt: 'aggressive',
      },
      {
        id: 'line-native', type: 'line', client_id: CHANNEL_ID, client_secret_file: secret, issuer: line.base,
        id_token_algs: ['ES256'],
      },
    ],
  });
});
afterEach(() => { if (line) line.mode = 'normal'; });
after(async () => {
  await sk?.stop();
  await line?.stop();
  await redis?.stop();
});

async function refused(pid, login, status, text) {
  const before = await sessionCount(redis.port);
  const jar = new CookieJar();
  const { res } = await signInVia(jar, sk.base, pid, login);
  const r = refusalShape(res);
  assert.equal(r.status, status, res.body);
  assert.ok(r.html);
  assert.match(r.body, text);
  assert.equal(r.sessionCookie, false);
  assert.equal((await whoami(jar, sk.base)).status, 401);
  assert.equal(await sessionCount(redis.port), before);
}

describe('LINE Login', () => {
  test('the sign-in page names the provider; the authorization request carries bot_prompt', async () => {
    const page = await follow(new CookieJar(), `${sk.base}/login`);
    assert.equal(page.status, 200);
    // LINE's own wording ("Log in with LINE") and its green mark.
    assert.match(page.body, /class="provider provider-line" id="provider-line"[^>]*>[^]*?#06C755[^]*?<span class="label">Log in with LINE<\/span>/);
    const r = await follow(new CookieJar(), `${sk.base}/login/line`);
    assert.equal(r.status, 302);
    const u = new URL(r.location);
    assert.equal(`${u.origin}${u.pathname}`, `${line.base}/oauth2/v2.1/authorize`);
    assert.equal(u.searchParams.get('bot_prompt'), 'aggressive');
    assert.equal(u.searchParams.get('scope'), 'openid profile email');
    assert.match(u.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(u.searchParams.get('nonce'));
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    const n = await follow(new CookieJar(), `${sk.base}/login/line-native`);
    assert.equal(new URL(n.location).searchParams.get('bot_prompt'), null);
  });

  test('web login: HS256 keyed with the channel secret; amr kept; email unverified', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, sk.base, 'line', 'sato');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, sk.base);
    assert.equal(me.status, 200);
    assert.equal(me.email, 'hanako@line-user.example');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.subject, USERS.sato.sub);
    assert.equal(u.issuer, line.base);
    assert.equal(u.amr, 'linesso');
    assert.equal(u.email_verified, '0');
    const tok = line.requests.filter((q) => q.path === '/oauth2/v2.1/token').at(-1);
    assert.equal(tok.headers.authorization, undefined, 'no HTTP Basic: LINE takes the body');
    assert.match(tok.body, /client_secret=/);
  });

  test('no email in the id_token: none in the session', async () => {
    const jar = new CookieJar();
    const { res } = await signInVia(jar, sk.base, 'line', 'kato');
    assert.equal(res.status, 302, res.body);
    const me = await whoami(jar, sk.base);
    assert.equal(me.email ?? '', '');
    const u = await redisHash(redis.port, `sk:{u:${me.user}}`);
    assert.equal(u.email, '');
    assert.equal(u.amr, 'pwd mfa');
  });

  test('native shape: ES256 from the JWKS on a provider configured for ES256', async () => {
    line.mode = 'es256';
    const jar = new CookieJar();
    const { res } = await signInVia(jar, sk.base, 'line-native', 'sato');
    assert.equal(res.status, 302, res.body);
    assert.equal((await whoami(jar, sk.base)).status, 200);
  });

  test('refused: HS256 signed with another secret', async () => {
    line.mode = 'hs256_wrong_secret';
    await refused('line', 'sato', 401, /could not be verified/);
    assert.match(sk.stderr(), /bad signature \(HS256\)/);
  });

  test('refused: HS256 where ES256 is configured', async () => {
    await refused('line-native', 'sato', 401, /could not be verified/);
    assert.match(sk.stderr(), /algorithm HS256 not allowed/);
  });

  test('refused: HS256 keyed with the JWKS public key where ES256 is configured', async () => {
    line.mode = 'hs256_pubkey';
    await refused('line-native', 'sato', 401, /could not be verified/);
  });

  test('refused: ES256 on the default (HS256 only) provider', async () => {
    line.mode = 'es256';
    await refused('line', 'sato', 401, /could not be verified/);
    assert.match(sk.stderr(), /algorithm ES256 not allowed/);
  });

  test('refused: a callback without state', async () => {
    const jar = new CookieJar();
    const r = await follow(jar, `${sk.base}/callback/line?code=abc`);
    assert.equal(r.status, 400);
    assert.match(r.body, /lacks its state/);
    assert.equal(refusalShape(r).sessionCookie, false);
  });
});

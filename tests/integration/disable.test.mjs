// Disabling a user, and signing out everywhere, cannot be escaped:
// - `sekishoctl users disable` racing 50 sign-ins (callbacks), 50 code
//   exchanges and 50 refreshes of the same user leaves nothing alive: no
//   session verifies, no refresh or code works, no token introspects
//   active, and Redis holds no session, app session or code of the user
// - a code minted before the disable cannot be redeemed after it
// - `POST /logout` with scope=all ("sign out everywhere", a button on the
//   logout page) ends the user's other browser sessions, app sessions
//   (refresh and access tokens) and outstanding codes, and nothing of
//   other users
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startStack, signIn, startSignIn, CookieJar, follow, SEKISHO_BIN,
} from './harness.mjs';
import {
  appClients, exchange as exchangeAt, introspect as introspectAt, mintCode as mintCodeAt,
  refresh as refreshAt,
} from './app-harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');
const N = 50;

describe('disable and sign out everywhere', () => {
  let stack; let dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join('/tmp', 'sekisho-disable-'));
    // 150 requests from one address at once (50 sign-ins among them):
    // above the default caps of pending sign-ins and of connections per
    // address (durability.test.mjs and http-hardening.test.mjs test them).
    stack = await startStack({
      extraConfig: appClients(dir), maxPendingPerIp: 200, httpYaml: 'max_connections_per_ip: 1000',
    });
  });
  after(async () => { await stack?.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

  const verify = async (jar) => (await follow(jar, `${stack.base}/auth/verify`)).status;
  const introspect = (token) => introspectAt(stack.base, token);
  const refresh = (token) => refreshAt(stack.base, token);
  const exchange = (c) => exchangeAt(stack.base, c);
  const mintCode = (jar) => mintCodeAt(stack.base, jar);
  const ctl = (verb, uid) => run(CTL, ['users', verb, '-c', stack.sekisho.cfgFile, uid]);

  async function userKeys(uid) {
    const out = await stack.redis.cli('--scan', '--pattern', `sk:{u:${uid}}*`);
    return out.split('\n').filter(Boolean).sort();
  }
  // The user's history, which grants nothing: the lockout's counts and
  // the device registry.
  const history = (uid) => ['lk', 'dev', 'devs', 'devn'].map((k) => `sk:{u:${uid}}:${k}`);

  test('a disable racing sign-ins, code exchanges and refreshes leaves nothing alive', async (t) => {
    const jar0 = new CookieJar();
    await signIn(jar0, stack.base);
    const uid = (await follow(jar0, `${stack.base}/auth/verify`)).headers.get('x-auth-request-user');
    assert.match(uid, /^u_/);
    // Ready to race: N sign-ins stopped just before their callback, N
    // codes, and N app sessions (refresh tokens).
    const signins = [];
    for (let i = 0; i < N; i++) {
      const jar = new CookieJar();
      signins.push({ jar, callback: await startSignIn(jar, stack.base) });
    }
    const codes = [];
    for (let i = 0; i < N; i++) codes.push(await mintCode(jar0));
    const apps = [];
    for (let i = 0; i < N; i++) {
      const t = await exchange(await mintCode(jar0));
      assert.equal(t.status, 200, JSON.stringify(t.body));
      apps.push(t.body);
    }
    // Everything a racer gets is kept, to be checked afterwards.
    const jars = [jar0]; const refreshTokens = apps.map((a) => a.refresh_token);
    const accessTokens = apps.map((a) => a.access_token);
    const stats = { signin: 0, exchange: 0, refresh: 0, refused: 0 };
    const spread = (i) => sleep((i * 19) % 1000); // start times over 1 s
    const racers = [
      ...signins.map(async ({ jar, callback }, i) => {
        await spread(i);
        const r = await follow(jar, callback);
        jars.push(jar);
        if (r.status === 302) stats.signin++; else stats.refused++;
      }),
      ...codes.map(async (c, i) => {
        await spread(i + 1);
        const r = await exchange(c);
        if (r.status === 200) {
          stats.exchange++;
          refreshTokens.push(r.body.refresh_token);
          accessTokens.push(r.body.access_token);
        } else stats.refused++;
      }),
      ...apps.map(async (a, i) => {
        await spread(i + 2);
        const r = await refresh(a.refresh_token);
        if (r.status === 200) {
          stats.refresh++;
          refreshTokens.push(r.body.refresh_token);
          accessTokens.push(r.body.access_token);
        } else stats.refused++;
      }),
    ];
    const disabled = (async () => {
      await sleep(350);
      const { stdout } = await ctl('disable', uid);
      assert.match(stdout, /disabled/);
    })();
    await Promise.all([...racers, disabled]);
    // Granted before the disable (and then ended) or refused after it.
    t.diagnostic(`granted ${JSON.stringify(stats)}`);
    // Nothing granted before, during or after the disable survives it.
    for (const jar of jars) assert.equal(await verify(jar), 401, 'no browser session verifies');
    for (const t of refreshTokens) {
      const r = await refresh(t);
      assert.equal(r.status, 400, 'no refresh token works');
      assert.equal(r.body.error, 'invalid_grant');
    }
    for (const t of accessTokens) assert.deepEqual(await introspect(t), { active: false });
    for (const c of codes) assert.equal((await exchange(c)).status, 400, 'no code redeems');
    // In Redis: the user record (disabled) and nothing to sign in with
    // (the lockout's count of the refused sign-ins and the registry of
    // the devices signed in from are no grant: docs/lockout.md,
    // docs/devices.md).
    assert.deepEqual((await userKeys(uid)).filter((k) => !history(uid).includes(k)), [`sk:{u:${uid}}`],
      `stats ${JSON.stringify(stats)}`);
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${uid}}`, 'disabled')).trim(), '1');
    // and a new sign-in is refused
    assert.equal((await signIn(new CookieJar(), stack.base)).res.status, 403);
    await ctl('enable', uid);
    assert.equal((await signIn(new CookieJar(), stack.base)).res.status, 302);
  });

  test('a code minted before a disable cannot be redeemed after it', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base, { login: 'bob', password: 'bob-password' });
    const uid = (await follow(jar, `${stack.base}/auth/verify`)).headers.get('x-auth-request-user');
    const c = await mintCode(jar);
    await ctl('disable', uid);
    const r = await exchange(c);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_grant');
    // enabling again does not bring the code back
    await ctl('enable', uid);
    assert.equal((await exchange(c)).status, 400);
    assert.deepEqual((await userKeys(uid)).filter((k) => !history(uid).includes(k)), [`sk:{u:${uid}}`]);
  });

  test('sign out everywhere ends the other browsers and the app sessions of the user', async () => {
    const page = await follow(new CookieJar(), `${stack.base}/logout`);
    assert.match(page.body, /name="scope" value="all"/);
    const a = new CookieJar(); const b = new CookieJar(); const other = new CookieJar();
    await signIn(a, stack.base);
    await signIn(b, stack.base);
    await signIn(other, stack.base, { login: 'bob', password: 'bob-password' });
    const app = (await exchange(await mintCode(a))).body;
    assert.ok(app.refresh_token);
    const pending = await mintCode(b);
    const otherApp = (await exchange(await mintCode(other))).body;
    assert.equal((await introspect(app.access_token)).active, true);

    const r = await follow(b, `${stack.base}/logout`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'scope=all',
    });
    assert.equal(r.status, 200);
    assert.match(r.body, /everywhere/);
    assert.equal(await verify(a), 401, 'the other browser is signed out');
    assert.equal(await verify(b), 401);
    assert.equal((await refresh(app.refresh_token)).body.error, 'invalid_grant', 'the app session is ended');
    assert.deepEqual(await introspect(app.access_token), { active: false });
    assert.equal((await exchange(pending)).status, 400, 'outstanding codes are gone');
    // another user is untouched, and this one is not disabled
    assert.equal(await verify(other), 200);
    assert.equal((await refresh(otherApp.refresh_token)).status, 200);
    assert.equal((await signIn(new CookieJar(), stack.base)).res.status, 302);
  });

  test('a plain logout ends only its own session', async () => {
    const a = new CookieJar(); const b = new CookieJar();
    await signIn(a, stack.base);
    await signIn(b, stack.base);
    const r = await follow(b, `${stack.base}/logout`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal(await verify(b), 401);
    assert.equal(await verify(a), 200);
  });

  test('the user index forgets sessions that expired once it has grown', async () => {
    const bob = { login: 'bob', password: 'bob-password' };
    const first = new CookieJar();
    await signIn(first, stack.base, bob);
    const uid = (await follow(first, `${stack.base}/auth/verify`)).headers.get('x-auth-request-user');
    const index = `sk:{u:${uid}}:sess`;
    for (let i = 0; i < 34; i += 1) await signIn(new CookieJar(), stack.base, bob);
    assert.ok(Number(await stack.redis.cli('SCARD', index)) >= 35);
    // Expiry, as Redis would do it: every session of bob's goes.
    const sessions = (await stack.redis.cli('--scan', '--pattern', `sk:{u:${uid}}:s:*`)).split('\n').filter(Boolean);
    assert.ok(sessions.length >= 35);
    for (const k of sessions) await stack.redis.cli('DEL', k);
    assert.equal(await verify(first), 401, 'the first session is gone too');
    const last = new CookieJar();
    await signIn(last, stack.base, bob);
    assert.equal(await verify(last), 200);
    // What stays listed is alive: the new session, and bob's app session
    // from the test before (app sessions are listed too).
    const left = (await stack.redis.cli('SMEMBERS', index)).split('\n').filter(Boolean);
    assert.ok(left.length <= 2, `left: ${left}`);
    for (const m of left) {
      const key = m.startsWith('a:') ? `sk:{u:${uid}}:a:${m.slice(2)}` : `sk:{u:${uid}}:s:${m}`;
      assert.equal((await stack.redis.cli('EXISTS', key)).trim(), '1', `${m} is alive`);
    }
    assert.equal(left.filter((m) => !m.startsWith('a:')).length, 1, 'one browser session listed');
    // sign out everywhere still finds it through the index
    const r = await follow(last, `${stack.base}/logout`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'scope=all',
    });
    assert.equal(r.status, 200);
    assert.equal(await verify(last), 401);
  });
});

// The device registry and the sign-in events (docs/devices.md,
// docs/events.md), against real redis-server, the test IdP and sekisho.
// Tenant law (open; alice an admin through admin_emails, so mfa: admins
// asks her for a second factor) and shop. Covers:
//   - the first sign-in of a browser raises login_succeeded (provider,
//     mfa, new_device, lang from Accept-Language) and new_device
//     (network /24, user-agent summary, lang, notify), read through
//     GET /admin/v1/tenants/{t}/events; the same browser again raises no
//     new_device; a second browser does
//   - a forged (well-formed, never issued) device cookie counts as new; a
//     garbage one counts as new and is replaced by a well-formed one
//   - past 5 new devices in an hour, new_device says "notify": false
//   - with a second factor: nothing at the callback, login_succeeded at
//     enrolment or /mfa (mfa_method totp / recovery_code); mfa_enrolled,
//     recovery_code_used; a wrong code is login_failed (mfa_code_refused)
//   - login_failed when the provider refuses after the state checked out;
//     a flood at /login and /auth/verify raises no event
//   - the admin API: list a user's devices, forget one (device_forgotten
//     with the actor; its next sign-in is new again); another tenant's
//     admin gets 403, another tenant's path 404
//   - sekishoctl users devices / forget-device; keys rotate records
//     key_rotated in every tenant
//   - no event holds a session cookie, device cookie value, code, state
//     or token (the raw JSON searched)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { follow, setIdpMode, startSignIn } from './harness.mjs';
import { challenge, enrol, nextCode, totp, midStepTime } from './mfa-harness.mjs';
import { CookieJar, OPS, startUsersStack } from './users-harness.mjs';

const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
  + 'Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 '
  + '(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';
const HEX64 = /^[0-9a-f]{64}$/;

let s;
const seen = new Set(); // event ids already looked at
const secrets = []; // values no event may hold
const alice = {};
const bob = {};

/** The events of tenant raised since the last call, oldest first. */
async function fresh(tenant = 'law') {
  const all = await s.events(tenant);
  const out = all.filter((e) => !seen.has(e.id)).reverse();
  for (const e of all) seen.add(e.id);
  return out;
}

/** The device cookie's name and value in jar for base. */
function deviceCookie(jar, base) {
  for (const kv of jar.header(base).split('; ')) {
    const i = kv.indexOf('=');
    if (kv.slice(0, i).endsWith('_dev')) return { name: kv.slice(0, i), value: kv.slice(i + 1) };
  }
  return undefined;
}

/**
 * Signs login in through jar, the callback (the request that completes
 * the sign-in) sent with headers; remembers the state, code and cookies
 * as secrets. Returns the callback's answer.
 */
async function signInWith(jar, login, headers = {}) {
  const cb = await startSignIn(jar, s.law, { login, password: `${login}-password` });
  const q = new URL(cb).searchParams;
  secrets.push(q.get('code'), q.get('state'));
  const res = await follow(jar, cb, { headers });
  const dev = deviceCookie(jar, s.law);
  if (dev) secrets.push(dev.value);
  const sid = jar.get(s.law, 'sekisho');
  if (sid) secrets.push(sid);
  return res;
}

before(async () => {
  s = await startUsersStack({ adminEmails: ['alice@example.com'], mfa: 'admins' });
  await fresh();
  await fresh('shop');
});
after(async () => { await s?.stop(); });

describe('new devices', () => {
  test('a first sign-in raises login_succeeded and new_device; the same browser again does not', async () => {
    bob.jar = new CookieJar();
    const res = await signInWith(bob.jar, 'bob', { 'user-agent': CHROME_WIN, 'accept-language': 'ja-JP,ja;q=0.9,en;q=0.8' });
    assert.equal(res.status, 302);
    bob.id = (await s.verify(bob.jar, s.law)).user;
    bob.dev = deviceCookie(bob.jar, s.law);
    assert.ok(bob.dev, 'the device cookie was set before the callback');

    const ev = await fresh();
    assert.deepEqual(ev.map((e) => e.type), ['login_succeeded', 'new_device']);
    const [ok, nd] = ev;
    for (const e of ev) {
      assert.equal(e.user.id, bob.id);
      assert.equal(e.user.email, 'bob@example.org');
      assert.equal(e.ip, '127.0.0.1');
      assert.equal(e.user_agent, CHROME_WIN);
      assert.match(e.device, HEX64);
      assert.notEqual(e.device, bob.dev.value);
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.deepEqual(ok.details, { provider: 'google', mfa: false, mfa_method: null, new_device: true, lang: 'ja' });
    assert.deepEqual(nd.details, {
      network: '127.0.0.0/24', user_agent: 'Chrome 131 on Windows', lang: 'ja', notify: true, provider: 'google',
    });
    bob.devId = nd.device;

    const again = await signInWith(bob.jar, 'bob', { 'user-agent': CHROME_WIN, 'accept-language': 'en-US,en;q=0.9,ja;q=0.5' });
    assert.equal(again.status, 302);
    const ev2 = await fresh();
    assert.deepEqual(ev2.map((e) => e.type), ['login_succeeded']);
    assert.equal(ev2[0].details.new_device, false);
    assert.equal(ev2[0].details.lang, 'en');
    assert.equal(ev2[0].device, bob.devId);
    assert.equal(deviceCookie(bob.jar, s.law).value, bob.dev.value, 'the cookie is kept');
  });

  test('a second browser is a new device; no lang when neither is acceptable', async () => {
    const jar = new CookieJar();
    assert.equal((await signInWith(jar, 'bob', { 'user-agent': SAFARI_IOS, 'accept-language': 'fr-FR, de;q=0.5' })).status, 302);
    const ev = await fresh();
    assert.deepEqual(ev.map((e) => e.type), ['login_succeeded', 'new_device']);
    assert.equal(ev[1].details.user_agent, 'Safari 17 on iOS');
    assert.equal(ev[1].details.lang, undefined);
    assert.equal(ev[0].details.lang, undefined);
    assert.notEqual(ev[1].device, bob.devId);
  });

  test('a forged device cookie counts as new; a garbage one too, and is replaced', async () => {
    const forged = new CookieJar();
    forged.setCookie(s.law, `${bob.dev.name}=AAAAAAAAAAAAAAAAAAAAAA; Path=/`);
    assert.equal((await signInWith(forged, 'bob')).status, 302);
    let ev = await fresh();
    assert.deepEqual(ev.map((e) => e.type), ['login_succeeded', 'new_device']);

    const garbage = new CookieJar();
    garbage.setCookie(s.law, `${bob.dev.name}=not-a-device-cookie!; Path=/`);
    assert.equal((await signInWith(garbage, 'bob')).status, 302);
    ev = await fresh();
    assert.deepEqual(ev.map((e) => e.type), ['login_succeeded', 'new_device']);
    const now = deviceCookie(garbage, s.law).value;
    assert.match(now, /^[A-Za-z0-9_-]{22}$/, 'replaced by a well-formed one');

    // Set between /login and the callback: replaced at the callback.
    const late = new CookieJar();
    const cb = await startSignIn(late, s.law, { login: 'bob', password: 'bob-password' });
    late.setCookie(s.law, `${bob.dev.name}=garbage; Path=/`);
    const res = await follow(late, cb);
    assert.equal(res.status, 302);
    assert.match(deviceCookie(late, s.law).value, /^[A-Za-z0-9_-]{22}$/);
    secrets.push(deviceCookie(late, s.law).value, new URL(cb).searchParams.get('code'));
    ev = await fresh();
    assert.deepEqual(ev.map((e) => e.type), ['login_succeeded', 'new_device']);
    // The same browser again is known.
    assert.equal((await signInWith(late, 'bob')).status, 302);
    assert.deepEqual((await fresh()).map((e) => e.type), ['login_succeeded']);
  });

  test('past 5 new devices in an hour, new_device is recorded with notify false', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await signInWith(new CookieJar(), 'bob')).status, 302);
    const nd = (await s.events('law')).filter((e) => e.type === 'new_device' && e.user.id === bob.id).reverse();
    assert.equal(nd.length, 8);
    assert.deepEqual(nd.map((e) => e.details.notify), [true, true, true, true, true, false, false, false]);
    await fresh();
  });
});

describe('with a second factor', () => {
  test('the sign-in completes at enrolment, then at /mfa; wrong codes and recovery codes recorded', async () => {
    alice.jar = new CookieJar();
    const first = await signInWith(alice.jar, 'alice', { 'accept-language': 'ja' });
    assert.equal(new URL(first.location).pathname, '/mfa/enroll');
    assert.deepEqual(await fresh(), [], 'nothing at the callback: the second factor is due');
    const e = await enrol({ base: s.law, redis: s.redis }, alice.jar);
    assert.equal(e.res.status, 200);
    alice.secret = e.secret;
    secrets.push(...e.codes);
    const va = await s.verify(alice.jar, s.law);
    alice.id = va.user;
    alice.bearer = `Bearer ${va.token}`;
    secrets.push(va.token);
    let ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['mfa_enrolled', 'login_succeeded', 'new_device']);
    assert.deepEqual(ev[0].details, { factor: 'totp', replaced: false });
    assert.equal(ev[1].details.mfa, true);
    assert.equal(ev[1].details.mfa_method, 'totp');

    // Again on the same browser: a wrong code, then the right one.
    const again = await signInWith(alice.jar, 'alice');
    assert.equal(new URL(again.location).pathname, '/mfa');
    assert.deepEqual(await fresh(), []);
    const t = await midStepTime(s.redis);
    const wrong = await totp(alice.secret, t + 30 * 20);
    secrets.push(wrong);
    assert.equal((await challenge({ base: s.law }, alice.jar, wrong)).res.status, 401);
    ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['login_failed']);
    assert.equal(ev[0].user.id, alice.id);
    assert.deepEqual(ev[0].details, { reason: 'mfa_code_refused', factor: 'totp', stage: 'signin', locked: false });
    const { code } = await nextCode(s.redis, alice.secret, e.step);
    secrets.push(code);
    assert.equal((await challenge({ base: s.law }, alice.jar, code)).res.status, 302);
    ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['login_succeeded']);
    assert.equal(ev[0].details.new_device, false);
    assert.equal(ev[0].details.mfa_method, 'totp');

    // A new browser with a recovery code.
    const other = new CookieJar();
    assert.equal(new URL((await signInWith(other, 'alice')).location).pathname, '/mfa');
    const rc = await challenge({ base: s.law }, other, { recovery: e.codes[0] });
    assert.equal(rc.res.status, 200);
    ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['recovery_code_used', 'login_succeeded', 'new_device']);
    assert.deepEqual(ev[0].details, { remaining: e.codes.length - 1, stage: 'signin' });
    assert.equal(ev[1].details.mfa_method, 'recovery_code');
  });

  test('the provider refusing after the state checked out is login_failed; floods raise nothing', async () => {
    await setIdpMode(s.idp.base, 'access_denied');
    try {
      const jar = new CookieJar();
      const cb = await startSignIn(jar, s.law, { login: 'bob', password: 'bob-password' });
      assert.equal(new URL(cb).searchParams.get('error'), 'access_denied');
      assert.ok((await follow(jar, cb)).status >= 400);
    } finally {
      await setIdpMode(s.idp.base, 'normal');
    }
    const ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['login_failed']);
    assert.deepEqual(ev[0].details, { reason: 'provider_refused', provider: 'google' });
    assert.equal(ev[0].user.id, null);

    const jar = new CookieJar();
    for (let i = 0; i < 10; i++) {
      await follow(jar, `${s.law}/login`);
      await follow(jar, `${s.law}/auth/verify`);
      await follow(new CookieJar(), `${s.law}/callback/google?state=short&code=x`);
    }
    assert.deepEqual(await fresh(), [], 'no event per request that writes nothing');
  });
});

describe('admin API and sekishoctl', () => {
  test('list and forget; the next sign-in from it is new again', async () => {
    const list = await s.admin('GET', 'law', `users/${bob.id}/devices`);
    assert.equal(list.status, 200);
    assert.equal(list.json.length, 8);
    const d = list.json.find((x) => x.id === bob.devId);
    assert.equal(d.user_agent, 'Chrome 131 on Windows');
    assert.equal(d.network, '127.0.0.0/24');
    assert.match(d.first_seen, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(d.last_seen >= d.first_seen);
    assert.ok(list.json.every((x, i) => i === 0 || list.json[i - 1].last_seen >= x.last_seen), 'newest first');

    const del = await s.admin('DELETE', 'law', `users/${bob.id}/devices/${bob.devId}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.id, bob.devId);
    let ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['device_forgotten']);
    assert.equal(ev[0].user.id, bob.id);
    assert.equal(ev[0].details.device.id, bob.devId);
    assert.deepEqual(ev[0].details.actor, { type: 'client', id: OPS.id });
    assert.equal((await s.admin('DELETE', 'law', `users/${bob.id}/devices/${bob.devId}`)).status, 404);
    assert.equal((await s.admin('DELETE', 'law', `users/${bob.id}/devices/nothex`)).status, 400);
    assert.equal((await s.admin('POST', 'law', `users/${bob.id}/devices`)).status, 405);

    assert.equal((await signInWith(bob.jar, 'bob', { 'user-agent': CHROME_WIN })).status, 302);
    ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['login_succeeded', 'new_device']);
    assert.equal(ev[1].device, bob.devId, 'the same browser, forgotten, is new again');
  });

  test('sekishoctl users devices and forget-device', async () => {
    const list = await s.ctl('users', 'devices', bob.id, '--json');
    assert.equal(list.code, 0, list.stderr);
    // Newest first; bob's browser among them (another device may share
    // its last-seen time, and then either comes first).
    assert.ok(list.json.some((x) => x.id === bob.devId), 'the signed-in browser is listed');
    assert.ok(list.json.every((x, i) => i === 0 || list.json[i - 1].last_seen >= x.last_seen), 'newest first');
    const table = await s.ctl('users', 'devices', bob.id);
    assert.match(table.stdout, /^DEVICE\s+LAST SEEN\s+FIRST SEEN\s+NETWORK\s+BROWSER/m);
    assert.match(table.stdout, /Chrome 131 on Windows/);

    const gone = await s.ctl('users', 'forget-device', bob.id, bob.devId);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /forgotten/);
    const ev = await fresh();
    assert.deepEqual(ev.map((x) => x.type), ['device_forgotten']);
    assert.equal(ev[0].details.actor.type, 'sekishoctl');
    assert.equal((await s.ctl('users', 'forget-device', bob.id, bob.devId)).code, 1);
    const bad = await s.ctl('users', 'forget-device', bob.id, 'xyz');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a device id/);
    assert.equal((await s.ctl('users', 'devices', '-t', 'shop', bob.id)).code, 1, 'not a user of shop');
  });

  test('another tenant cannot see or forget them', async () => {
    // law's user on shop's path: no such user there.
    assert.equal((await s.admin('GET', 'shop', `users/${bob.id}/devices`)).status, 404);
    assert.equal((await s.admin('DELETE', 'shop', `users/${bob.id}/devices/${'0'.repeat(64)}`)).status, 404);
    // law's administrator on shop: refused.
    const bobShop = new CookieJar();
    const cb = await startSignIn(bobShop, s.shop, { login: 'bob', password: 'bob-password' });
    assert.equal((await follow(bobShop, cb)).status, 302);
    const shopId = (await s.verify(bobShop, s.shop)).user;
    const r = await s.admin('GET', 'shop', `users/${shopId}/devices`, { auth: alice.bearer });
    assert.equal(r.status, 403);
    assert.ok(!r.text.includes('user_agent'));
    assert.equal((await s.admin('DELETE', 'shop', `users/${shopId}/devices/${'0'.repeat(64)}`, { auth: alice.bearer })).status, 403);
    // shop's own record of its sign-in.
    const ev = await fresh('shop');
    assert.deepEqual(ev.map((x) => x.type), ['login_succeeded', 'new_device']);
  });

  test('sekishoctl keys rotate records key_rotated in every tenant', async () => {
    const r = await s.ctl('keys', 'rotate', '--delay', '1h');
    assert.equal(r.code, 0, r.stderr);
    const kid = /^added (\S+):/m.exec(r.stdout)[1];
    for (const t of ['law', 'shop']) {
      const ev = await fresh(t);
      assert.deepEqual(ev.map((x) => x.type), ['key_rotated'], t);
      assert.equal(ev[0].details.key, 'signing');
      assert.equal(ev[0].details.kid, kid);
      assert.equal(ev[0].details.activates_in, 3600);
      assert.equal(ev[0].details.actor.type, 'sekishoctl');
      assert.equal(ev[0].user.id, null);
    }
  });

  test('no event holds a cookie value, code, state or token', async () => {
    const raw = [(await s.admin('GET', 'law', 'events?limit=1000')).text,
      (await s.admin('GET', 'shop', 'events?limit=1000')).text].join('\n');
    assert.ok(secrets.length > 40);
    for (const v of secrets.filter(Boolean)) assert.ok(!raw.includes(v), `an event holds a secret (${v.slice(0, 4)}...)`);
    assert.ok(!raw.includes(alice.secret), 'no TOTP secret');
    assert.doesNotMatch(raw, /eyJ[A-Za-z0-9_-]{10,}\./, 'no token');
  });
});

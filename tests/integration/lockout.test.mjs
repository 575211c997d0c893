// The lockout end to end (docs/lockout.md), against the real daemon, Redis
// and the test IdP, with TOTP codes made by oathtool. The tenant locks a
// (user, browser) after 3 wrong codes, the user after 10, an address after
// 20 failures (under the rate limit of 30 failed client authentications a
// minute, so that the lockout is what answers), for 3 s, doubled per lock in a row. X-Forwarded-For from the
// trusted loopback proxy gives the address tests their own addresses.
// Covers:
//   - 50 wrong codes at once: exactly 3 compared (401), 47 refused (429)
//     before any comparison, with Retry-After and a page that says until
//     when; the right code is refused while locked and accepted once the
//     lock has ended, on time
//   - escalation: the second lock in a row lasts twice as long
//   - a stranger holding the upstream password, on other browsers, locks
//     only their own browsers: the user on their own browser still gets
//     in, until the stranger reaches the user-wide threshold
//   - an address locked by bad states at /callback, and one locked by
//     failed client authentication at /oauth2/introspect (429 JSON); other
//     addresses unaffected; the page names no user
//   - sekishoctl users unlock and unlock-ip end a lock at once; so does
//     POST /admin/v1/tenants/{t}/users/{id}/unlock (404 for no such user,
//     405 for another method), recorded with who did it
//   - lockout and unlock events recorded, with no code in them
//   - 1200 authenticated introspections read the locked addresses at most
//     once a second and count nothing (no Redis call per request)
//   - the device cookie: set at /login, HttpOnly, SameSite=Lax, ~400 days
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { SEKISHO_BIN, signIn, tmpDir } from './harness.mjs';
import {
  CookieJar, challenge, clearFailures, csrfOf, enrol, follow, formAction, midStepTime, nextCode,
  postForm, startMfaStack, totp, userIdOf,
} from './mfa-harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

let stack;
const alice = { jar: new CookieJar(), lastStep: -1 };
const codesSent = [];
// The operator's automation (clients[].admin) for the admin API.
const OPS = { id: 'ops-automation', secret: crypto.randomBytes(24).toString('hex') };
const secretDir = tmpDir('sekisho-it-lockout-');
const opsSecretFile = path.join(secretDir, 'ops.secret');
fs.writeFileSync(opsSecretFile, OPS.secret, { mode: 0o600 });
// A resource server that introspects tokens.
const API = { id: 'lockout-api', secret: crypto.randomBytes(24).toString('hex') };
const apiSecretFile = path.join(secretDir, 'api.secret');
fs.writeFileSync(apiSecretFile, API.secret, { mode: 0o600 });

before(async () => {
  stack = await startMfaStack({
    moreClients: `  - client_id: ${OPS.id}
    client_secret_file: ${opsSecretFile}
    admin: true
    tenants: [default]
  - client_id: ${API.id}
    client_secret_file: ${apiSecretFile}
    tenants: [default]
`,
    mfa: 'required',
    lockout: '{max_failures: 3, user_max_failures: 10, ip_max_failures: 20, window: 5m, '
      + 'duration: 3s, max_duration: 30s}',
    httpYaml: 'trusted_proxies: [127.0.0.0/8]',
  });
  await signIn(alice.jar, stack.base);
  const e = await enrol(stack, alice.jar);
  assert.equal(e.res.status, 200, 'enrolled');
  alice.secret = e.secret;
  alice.lastStep = e.step;
  alice.uid = await userIdOf(stack, alice.jar);
  assert.match(alice.uid, /^u_/);
});
after(async () => {
  await stack?.stop();
  fs.rmSync(secretDir, { recursive: true, force: true });
});

/** Forgets alice's failures and the loopback address's. */
async function clearAll() {
  await clearFailures(stack, alice.uid);
  await stack.redis.cli('DEL', 'sk:{la:127.0.0.1}', 'sk:{lka}');
  await sleep(1100); // every instance's copy of the locked addresses
}

/** Codes that are none of the three valid ones at Redis TIME t. */
async function wrongCodes(t, n) {
  const valid = new Set([await totp(alice.secret, t - 30), await totp(alice.secret, t),
    await totp(alice.secret, t + 30)]);
  const out = [];
  while (out.length < n) {
    const c = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    if (!valid.has(c)) out.push(c);
  }
  codesSent.push(...out);
  return out;
}

/** A session of alice waiting at /mfa in jar; returns its form's csrf. */
async function pending(jar) {
  await signIn(jar, stack.base);
  const page = await follow(jar, `${stack.base}/mfa`);
  assert.equal(page.status, 200);
  return csrfOf(page.body);
}

const post = (jar, csrf, code) => postForm(jar, `${stack.base}/mfa`, { csrf, code });

function deviceHash(jar) {
  const v = jar.get(stack.base, 'sekisho_dev');
  assert.match(v, /^[A-Za-z0-9_-]{22}$/, 'a device cookie');
  return crypto.createHash('sha256').update(v).digest('hex');
}

async function events(type) {
  const out = await stack.redis.cli('XRANGE', 'sk:{t:default}:ev', '-', '+');
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    .filter((e) => !type || e.type === type);
}

describe('the device cookie', () => {
  test('set at /login when absent: HttpOnly, SameSite=Lax, 400 days; kept after', async () => {
    const r = await fetch(`${stack.base}/login`, { redirect: 'manual' });
    const c = r.headers.getSetCookie().find((s) => s.startsWith('sekisho_dev='));
    assert.ok(c, 'device cookie set');
    assert.match(c, /HttpOnly/);
    assert.match(c, /SameSite=Lax/);
    assert.match(c, /Max-Age=34560000/);
    const again = await fetch(`${stack.base}/login`, {
      redirect: 'manual', headers: { cookie: c.split(';')[0] },
    });
    assert.ok(!again.headers.getSetCookie().some((s) => s.startsWith('sekisho_dev=')));
  });
});

describe('the user on a browser', () => {
  test('50 wrong codes at once: 3 compared, 47 refused before comparison; the lock ends on time', async () => {
    await clearAll();
    const jar = new CookieJar();
    const csrf = await pending(jar);
    const t = await midStepTime(stack.redis);
    const wrong = await wrongCodes(t, 50);
    const results = await Promise.all(wrong.map((code) => post(jar, csrf, code)));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, 3, `statuses: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 47, `statuses: ${statuses}`);
    const dev = deviceHash(jar);
    const lk = `sk:{u:${alice.uid}}:lk`;
    assert.equal((await stack.redis.cli('HGET', lk, `b:${dev}:k`)).trim(), '1', 'one lock');
    assert.equal((await stack.redis.cli('HGET', lk, 'u:n')).trim(), '3', 'only 3 counted');
    const locked = results.find((r) => r.status === 429);
    assert.match(locked.body, /Too many wrong codes\. .*try again in 1 minute \(after \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC\)/);
    const ra = Number(locked.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 3, `Retry-After ${ra}`);
    const until = Number((await stack.redis.cli('HGET', lk, `b:${dev}:l`)).trim());

    // The right code waits too (it is not even compared) ...
    const { code, step } = await nextCode(stack.redis, alice.secret, alice.lastStep);
    const [s, us] = (await stack.redis.cli('TIME')).trim().split(/\s+/).map(Number);
    const nowMs = s * 1000 + Math.floor(us / 1000);
    if (nowMs < until - 300) assert.equal((await post(jar, csrf, code)).status, 429);
    // ... and is accepted once the lock has ended.
    await sleep(Math.max(0, until - nowMs) + 300);
    const ok = await post(jar, csrf, code);
    assert.equal(ok.status, 302, 'accepted after the lock');
    alice.lastStep = step;
  });

  test('escalation: the second lock in a row lasts twice as long', async () => {
    await clearAll();
    const jar = new CookieJar();
    const csrf = await pending(jar);
    const t = await midStepTime(stack.redis);
    const wrong = await wrongCodes(t, 7);
    for (const c of wrong.slice(0, 3)) assert.equal((await post(jar, csrf, c)).status, 401);
    const first = await post(jar, csrf, wrong[3]);
    assert.equal(first.status, 429);
    const ra1 = Number(first.headers.get('retry-after'));
    assert.ok(ra1 >= 1 && ra1 <= 3, `first lock: Retry-After ${ra1}`);
    await sleep(ra1 * 1000 + 300);
    for (const c of wrong.slice(4, 6)) assert.equal((await post(jar, csrf, c)).status, 401);
    const third = await post(jar, csrf, wrong[6]);
    assert.equal(third.status, 401, 'compared: it sets the second lock');
    const second = await post(jar, csrf, '000000');
    assert.equal(second.status, 429);
    const ra2 = Number(second.headers.get('retry-after'));
    assert.ok(ra2 > 3 && ra2 <= 6, `second lock: Retry-After ${ra2}`);
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${alice.uid}}:lk`, `b:${deviceHash(jar)}:k`)).trim(), '2');
  });

  test("a stranger's failures on other browsers do not lock the user out of their own, until the user-wide threshold", async () => {
    await clearAll();
    const t = await midStepTime(stack.redis);
    const wrong = await wrongCodes(t, 12);
    let n = 0;
    // The stranger holds alice's upstream password but not her factor:
    // three browsers, three wrong codes each, each browser then locked.
    for (let b = 0; b < 3; b++) {
      const jar = new CookieJar();
      const csrf = await pending(jar);
      for (let i = 0; i < 3; i++) assert.equal((await post(jar, csrf, wrong[n++])).status, 401);
      assert.equal((await post(jar, csrf, wrong[n])).status, 429, 'that browser is locked');
    }
    // Alice on her own browser is not locked (9 failures < 10).
    const mine = new CookieJar();
    mine.setCookie(stack.base, `sekisho_dev=${alice.jar.get(stack.base, 'sekisho_dev')}; Path=/; Max-Age=3600`);
    const csrf = await pending(mine);
    const { code, step } = await nextCode(stack.redis, alice.secret, alice.lastStep);
    // (Checked with a wrong code first: compared, 401, not 429.)
    assert.equal((await post(mine, csrf, wrong[n++])).status, 401, 'alice is not locked out');
    // That was the 10th failure of alice: now the user as a whole is locked.
    const r = await post(mine, csrf, code);
    assert.equal(r.status, 429, 'the user-wide threshold locks every browser');
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${alice.uid}}:lk`, 'u:k')).trim(), '1');
    // An unlock by the operator lets her in at once.
    const { stdout } = await run(CTL, ['users', 'unlock', '-c', stack.sekisho.cfgFile, alice.uid]);
    assert.match(stdout, new RegExp(`${alice.uid} unlocked`));
    assert.equal((await stack.redis.cli('EXISTS', `sk:{u:${alice.uid}}:lk`)).trim(), '0');
    assert.equal((await post(mine, csrf, code)).status, 302, 'in after the unlock');
    alice.lastStep = step;
  });

  test('the admin API unlocks a user of its tenant only', async () => {
    await clearAll();
    const jar = new CookieJar();
    const csrf = await pending(jar);
    const t = await midStepTime(stack.redis);
    for (const c of await wrongCodes(t, 3)) assert.equal((await post(jar, csrf, c)).status, 401);
    assert.equal((await post(jar, csrf, '000000')).status, 429, 'locked');
    const auth = { authorization: `Basic ${Buffer.from(`${OPS.id}:${OPS.secret}`).toString('base64')}` };
    const unlock = (tenant, uid, method = 'POST') => fetch(
      `${stack.base}/admin/v1/tenants/${tenant}/users/${uid}/unlock`, { method, headers: auth },
    );
    assert.equal((await unlock('default', 'u_nosuchuserxxxxxxxxxx')).status, 404);
    assert.equal((await unlock('default', alice.uid, 'GET')).status, 405);
    const r = await unlock('default', alice.uid);
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { user: alice.uid, unlocked: true });
    const { code, step } = await nextCode(stack.redis, alice.secret, alice.lastStep);
    assert.equal((await post(jar, csrf, code)).status, 302, 'in after the unlock');
    alice.lastStep = step;
    const ev = (await events('unlock')).filter((e) => e.details.by === `client:${OPS.id}`);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].user.id, alice.uid);
  });

  test('lockout and unlock events, with no code in them', async () => {
    const lockouts = await events('lockout');
    assert.ok(lockouts.length >= 4, `lockout events: ${lockouts.length}`);
    const kinds = new Set(lockouts.map((e) => e.details.key));
    assert.ok(kinds.has('user_browser') && kinds.has('user'), [...kinds].join());
    for (const e of lockouts.filter((x) => x.details.key !== 'address')) {
      assert.equal(e.user.id, alice.uid);
      assert.match(e.details.until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(e.details.seconds >= 1);
      assert.match(e.device, /^[0-9a-f]{64}$/);
    }
    const unlocks = await events('unlock');
    assert.ok(unlocks.some((e) => e.user.id === alice.uid && e.details.by === 'sekishoctl'));
    const all = (await stack.redis.cli('XRANGE', 'sk:{t:default}:ev', '-', '+'));
    for (const c of codesSent) assert.ok(!all.includes(`"${c}"`), 'no code in an event');
  });
});

describe('the client address', () => {
  const from = (ip) => ({ 'x-forwarded-for': ip });

  test('bad states at /callback lock the address; other addresses go on; the lock ends', async () => {
    const ip = '203.0.113.10';
    const cb = () => fetch(`${stack.base}/callback/google?code=x&state=${crypto.randomBytes(32).toString('base64url')}`,
      { redirect: 'manual', headers: from(ip) });
    for (let i = 0; i < 20; i++) assert.equal((await cb()).status, 400, `bad state ${i}`);
    const r = await cb();
    assert.equal(r.status, 429);
    const body = await r.text();
    assert.match(body, /Too many failed attempts came from your network\. .*after \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC/);
    assert.doesNotMatch(body, /alice|wrong code/i, 'nothing about any user');
    const ra = Number(r.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 3, `Retry-After ${ra}`);
    assert.equal((await fetch(`${stack.base}/login`, { redirect: 'manual', headers: from(ip) })).status, 429);
    assert.equal((await fetch(`${stack.base}/login`, { redirect: 'manual', headers: from('203.0.113.11') })).status, 302);
    const ev = (await events('lockout')).filter((e) => e.details.key === 'address' && e.ip === ip);
    assert.equal(ev.length, 1);
    await sleep(ra * 1000 + 300);
    assert.equal((await fetch(`${stack.base}/login`, { redirect: 'manual', headers: from(ip) })).status, 302,
      'the lock ended');
  });

  test('failed client authentication at introspection locks the address (429 JSON); unlock-ip ends it', async () => {
    const ip = '2001:db8:5::7';
    const bad = `Basic ${Buffer.from('no-such-client:guess').toString('base64')}`;
    const intro = (addr) => fetch(`${stack.base}/oauth2/introspect`, {
      method: 'POST',
      headers: { ...from(addr), authorization: bad, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=x',
    });
    for (let i = 0; i < 20; i++) assert.equal((await intro(ip)).status, 401, `guess ${i}`);
    const r = await intro(ip);
    assert.equal(r.status, 429);
    const j = await r.json();
    assert.equal(j.error, 'too_many_requests');
    assert.match(j.error_description, /retry after \d{4}-\d\d-\d\dT/);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    // Its /64 is one address; another /64 is not locked.
    assert.equal((await intro('2001:db8:5::99')).status, 429);
    assert.equal((await intro('2001:db8:6::7')).status, 401);
    const { stdout } = await run(CTL, ['unlock-ip', '-c', stack.sekisho.cfgFile, ip]);
    assert.match(stdout, /unlocked/);
    await sleep(1200); // the instance's copy is read again within a second
    assert.equal((await intro(ip)).status, 401, 'unlocked');
  });

  test('an authenticated introspection costs no Redis call for the lockout (at most one a second per instance)', async (t) => {
    const auth = `Basic ${Buffer.from(`${API.id}:${API.secret}`).toString('base64')}`;
    const stat = async (cmd) => {
      const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(await stack.redis.cli('INFO', 'commandstats'));
      return m ? Number(m[1]) : 0;
    };
    const reads0 = await stat('zrangebyscore');
    const fails0 = await stat('hset');
    const t0 = Date.now();
    let n = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 150; i++) {
        const r = await fetch(`${stack.base}/oauth2/introspect`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'token=not-a-token',
        });
        assert.equal(r.status, 200);
        assert.equal((await r.json()).active, false);
        n++;
      }
    }));
    const secs = (Date.now() - t0) / 1000;
    const reads = (await stat('zrangebyscore')) - reads0;
    assert.equal(n, 1200);
    t.diagnostic(`${n} introspections in ${secs.toFixed(2)} s: ${reads} reads of the locked addresses`);
    // One read of the locked addresses a second, whatever the traffic.
    assert.ok(reads <= Math.ceil(secs) + 1, `${reads} reads in ${secs} s for ${n} requests`);
    assert.equal((await stat('hset')) - fails0, 0, 'nothing counted');
  });
});

// The TOTP second factor end to end, against the real daemon, Redis and the
// test IdP, with codes made by oathtool (an independent implementation) at
// times taken from Redis TIME. Tenant policy "mfa: required". Covers:
//   - the first sign-in stops at enrolment: the pending session is not
//     signed in (/auth/verify 401, GET / and /oauth2/authorize go to /mfa)
//   - the enrolment page: 160-bit base32 secret, otpauth:// URI (issuer =
//     display name, label = e-mail, percent-encoded), inline SVG QR code,
//     no external resource, CSP; a wrong code keeps the factor inactive;
//     the right one shows ten recovery codes and completes the sign-in
//     (amr otp+mfa in the access token)
//   - the Redis data (every value, and an uncompressed RDB dump) holds
//     neither the seed (base32 or raw bytes) nor any recovery code
//   - the next sign-in asks for a code: codes of Redis TIME -30 s, 0 and
//     +30 s are accepted, -60 s and +60 s refused, a used code (and an
//     older one) refused; success and failure are logged with the client
//     IP and the request id
//   - a recovery code works once (typed in upper case with spaces too)
//   - CSRF: missing, wrong or another session's token, cross-site
//     Sec-Fetch-Site and a foreign Origin are refused with 403
//   - tampered ciphertext, and another user's sealed seed, are refused
//   - step-up: with a stale second factor, new recovery codes and
//     re-enrolment ask for a code first; a pending session cannot
//     re-enrol; after re-enrolment only the new secret works
//   - 20 wrong codes in parallel: exactly 5 evaluated, 15 refused with 429,
//     a clear message and Retry-After; then even the right code waits
//   - start-up: a config with mfa: required and no master key is refused
//     with its line; a wrong master key stops start-up (also when signing
//     keys come from files); master key rotation with sekishoctl keeps
//     every factor working (a data key missing from the index is found
//     with SCAN and listed) and the old key no longer starts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as jose from 'jose';

import { SEKISHO_BIN, signIn, startSekisho, CLIENT_ID } from './harness.mjs';
import {
  APP_CLIENT, CookieJar, base32Decode, challenge, clearFailures, codesOf, csrfOf, enrol, follow,
  formAction, midStepTime, mfaExtraConfig, mfaTenantYaml, nextCode, postForm, redisTime, secretOf,
  sessionKeyOf, startMfaStack, totp, userIdOf, waitForStepAfter, writeKeyFile,
} from './mfa-harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

let stack;
const alice = { jar: new CookieJar() };
const bob = { jar: new CookieJar() };

before(async () => { stack = await startMfaStack({ mfa: 'required' }); });
after(async () => { await stack?.stop(); });

async function accessClaims(jar) {
  const r = await follow(jar, `${stack.base}/auth/verify`);
  assert.equal(r.status, 200);
  return jose.decodeJwt(r.headers.get('x-auth-request-access-token'));
}

async function pendingUserId(jar) {
  return (await stack.redis.cli('HGET', sessionKeyOf(stack, jar), 'user')).trim();
}

/** Codes that are none of the three valid ones at Redis TIME t. */
async function wrongCodes(secret, t, n) {
  const valid = new Set([await totp(secret, t - 30), await totp(secret, t), await totp(secret, t + 30)]);
  const out = [];
  while (out.length < n) {
    const c = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    if (!valid.has(c)) out.push(c);
  }
  return out;
}

describe('enrolment', () => {
  test('the first sign-in stops at enrolment; the pending session is not signed in', async () => {
    const { res } = await signIn(alice.jar, stack.base, { rd: '/after?x=1' });
    assert.equal(res.status, 302);
    const loc = new URL(res.location, stack.base);
    assert.equal(loc.pathname, '/mfa/enroll');
    assert.equal(loc.searchParams.get('rd'), '/after?x=1');
    assert.ok(alice.jar.get(stack.base, 'sekisho'), 'a (pending) session cookie is set');

    assert.equal((await follow(alice.jar, `${stack.base}/auth/verify`)).status, 401);
    const home = await follow(alice.jar, `${stack.base}/`);
    assert.equal(home.status, 302);
    assert.equal(new URL(home.location).pathname, '/mfa');
    const az = new URL('/oauth2/authorize', stack.base);
    az.search = new URLSearchParams({
      response_type: 'code', client_id: APP_CLIENT.id, redirect_uri: APP_CLIENT.redirect,
      code_challenge: 'a'.repeat(43), code_challenge_method: 'S256',
    }).toString();
    const a = await follow(alice.jar, az.href);
    assert.equal(a.status, 302);
    assert.equal(new URL(a.location).pathname, '/mfa', 'no code for a pending session');
    // The pending session has a short life in Redis.
    const ttl = Number(await stack.redis.cli('TTL', sessionKeyOf(stack, alice.jar)));
    assert.ok(ttl > 0 && ttl <= 900, `pending TTL ${ttl}`);
    // /mfa without a factor goes to enrolment.
    const m = await follow(alice.jar, `${stack.base}/mfa`);
    assert.equal(m.status, 302);
    assert.equal(new URL(m.location).pathname, '/mfa/enroll');
  });

  test('the enrolment page: secret, otpauth URI, inline SVG QR code', async () => {
    const page = await follow(alice.jar, `${stack.base}/mfa/enroll?rd=${encodeURIComponent('/after?x=1')}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    const secret = secretOf(page.body);
    assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits in base32');
    assert.equal(base32Decode(secret).length, 20);
    const href = /<a id="otpauth" href="([^"]+)"/.exec(page.body)[1].replace(/&amp;/g, '&');
    assert.equal(href, `otpauth://totp/Test%20Office:alice%40example.com?secret=${secret}`
      + '&issuer=Test%20Office&algorithm=SHA1&digits=6&period=30');
    assert.match(page.body, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" id="qr" role="img"/);
    assert.match(page.body, /<path fill="#000" d="M\d+ \d+h\d+v1h-\d+z/);
    assert.doesNotMatch(page.body, /\bsrc=|<script|<img/i, 'no external resource');
    const links = [...page.body.matchAll(/<link\b[^>]*>/gi)].map((m) => m[0]);
    assert.ok(links.length >= 1);
    for (const l of links) assert.match(l, /href="\/static\/sekisho[a-z-]*\.css\?/, `our own stylesheet only: ${l}`);
    assert.ok(csrfOf(page.body));
    for (const id of ['code', 'submit']) assert.match(page.body, new RegExp(`id="${id}"`));
    // A reload shows the same secret (the enrolment in progress is kept).
    const again = await follow(alice.jar, `${stack.base}/mfa/enroll`);
    assert.equal(secretOf(again.body), secret);
    alice.secret = secret;
  });

  test('a wrong code keeps the factor off; the right one completes the sign-in', async () => {
    const page = await follow(alice.jar, `${stack.base}/mfa/enroll?rd=${encodeURIComponent('/after?x=1')}`);
    const action = new URL(formAction(page.body, 'enrol-form'), stack.base).href;
    const t = await midStepTime(stack.redis);
    const [bad] = await wrongCodes(alice.secret, t, 1);
    const wrong = await postForm(alice.jar, action, { csrf: csrfOf(page.body), code: bad });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /id="error"[^>]*>That code is not right/);
    assert.equal(secretOf(wrong.body), alice.secret, 'same secret offered again');
    assert.equal(await stack.redis.cli('HEXISTS', `sk:{u:${await pendingUserId(alice.jar)}}:totp`, 'seed'), '0\n');
    assert.equal((await follow(alice.jar, `${stack.base}/auth/verify`)).status, 401);

    // The code of the previous step (accepted in the window) turns it on.
    const ok = await postForm(alice.jar, action, { csrf: csrfOf(page.body), code: await totp(alice.secret, t - 30) });
    assert.equal(ok.status, 200, ok.body.slice(0, 300));
    alice.enrolStep = Math.floor(t / 30) - 1;
    alice.codes = codesOf(ok.body);
    assert.equal(alice.codes.length, 10);
    assert.equal(new Set(alice.codes).size, 10);
    for (const c of alice.codes) assert.match(c, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    assert.match(ok.body, /<a id="continue" href="\/after\?x=1">/);

    const claims = await accessClaims(alice.jar);
    assert.deepEqual(claims.amr, ['otp', 'mfa']);
    assert.deepEqual(claims.roles, ['viewer']);
    alice.uid = claims.sub;
    const sess = await stack.redis.cli('HGET', sessionKeyOf(stack, alice.jar), 'mfa_at');
    assert.ok(Math.abs(Number(sess) - await redisTime(stack.redis)) < 5, 'time of the factor recorded');
    const home = await follow(alice.jar, `${stack.base}/`);
    assert.equal(home.status, 200);
    // The recovery page counts the codes.
    const rp = await follow(alice.jar, `${stack.base}/mfa/recovery`);
    assert.match(rp.body, /<strong id="remaining">10<\/strong>/);
  });

  test('bob enrols too', async () => {
    const { res } = await signIn(bob.jar, stack.base, { login: 'bob', password: 'bob-password' });
    assert.equal(new URL(res.location, stack.base).pathname, '/mfa/enroll');
    const e = await enrol(stack, bob.jar);
    assert.equal(e.res.status, 200);
    bob.secret = e.secret;
    bob.codes = e.codes;
    bob.enrolStep = e.step;
    bob.uid = await userIdOf(stack, bob.jar);
    assert.ok(bob.uid);
  });
});

describe('secrets at rest', () => {
  test('no seed and no recovery code anywhere in Redis', async () => {
    const needles = [];
    for (const u of [alice, bob]) {
      const raw = base32Decode(u.secret);
      needles.push(Buffer.from(u.secret), Buffer.from(u.secret.toLowerCase()), raw,
        Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('base64').replace(/=+$/, '')),
        Buffer.from(raw.toString('base64url')));
      for (const c of u.codes) needles.push(Buffer.from(c), Buffer.from(c.replace('-', '')));
    }
    // Every value, read in plain form.
    const keys = (await stack.redis.cli('--scan')).split('\n').filter(Boolean);
    assert.ok(keys.some((k) => k.endsWith(':totp')), 'the factors are in this Redis');
    let text = '';
    for (const k of keys) {
      const type = (await stack.redis.cli('TYPE', k)).trim();
      const cmd = {
        string: ['GET', k], hash: ['HGETALL', k], set: ['SMEMBERS', k], zset: ['ZRANGE', k, '0', '-1'],
        stream: ['XRANGE', k, '-', '+'],
      }[type];
      assert.ok(cmd, `unexpected type ${type} of ${k}`);
      text += `${k}\n${await stack.redis.cli(...cmd)}\n`;
    }
    // And a dump, uncompressed so that nothing hides inside LZF.
    await stack.redis.cli('CONFIG', 'SET', 'rdbcompression', 'no');
    await stack.redis.cli('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    const rdb = path.join(stack.keyDir, 'dump.rdb');
    await stack.redis.cli('--rdb', rdb);
    const dump = fs.readFileSync(rdb);
    assert.ok(dump.length > 100);
    for (const n of needles) {
      assert.equal(Buffer.from(text).indexOf(n), -1, `a secret (${n.length} bytes) is readable in Redis`);
      assert.equal(dump.indexOf(n), -1, `a secret (${n.length} bytes) is in the RDB dump`);
    }
    // What is there: sealed seeds and 64-hex HMACs.
    const h = await stack.redis.cli('HGETALL', `sk:{u:${alice.uid}}:totp`);
    assert.match(h, /^seed\n[A-Za-z0-9_-]{66}\n/m);
    const rc = (await stack.redis.cli('SMEMBERS', `sk:{u:${alice.uid}}:rc`)).split('\n').filter(Boolean);
    assert.equal(rc.length, 10);
    for (const x of rc) assert.match(x, /^[0-9a-f]{64}$/);
  });

  test('tampered ciphertext and another user\'s sealed seed are refused', async () => {
    const key = `sk:{u:${bob.uid}}:totp`;
    const orig = (await stack.redis.cli('HGET', key, 'seed')).trim();
    const aliceSeed = (await stack.redis.cli('HGET', `sk:{u:${alice.uid}}:totp`, 'seed')).trim();
    const i = Math.floor(orig.length / 2);
    const flipped = orig.slice(0, i) + (orig[i] === 'A' ? 'B' : 'A') + orig.slice(i + 1);
    try {
      for (const bad of [flipped, aliceSeed]) {
        await stack.redis.cli('HSET', key, 'seed', bad);
        const jar = new CookieJar();
        await signIn(jar, stack.base, { login: 'bob', password: 'bob-password' });
        const t = await midStepTime(stack.redis);
        const { res } = await challenge(stack, jar, await totp(bob.secret, t + 30));
        assert.equal(res.status, 500, res.body.slice(0, 200));
        assert.match(res.body, /could not be checked/);
        assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401);
      }
    } finally {
      await stack.redis.cli('HSET', key, 'seed', orig);
      await clearFailures(stack, bob.uid);
    }
    assert.match(stack.sekisho.stderr(), /mfa: the totp-seed of user u_[A-Za-z0-9_-]+ does not open/);
  });
});

describe('challenge', () => {
  test('codes at -30 s, 0 and +30 s are accepted; -60 s, +60 s and replays refused', async () => {
    // Every accepted code must be newer than the enrolment code.
    const t = await waitForStepAfter(stack.redis, alice.enrolStep + 1);
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base, { rd: '/back' });
    const loc = new URL(res.location, stack.base);
    assert.equal(loc.pathname, '/mfa', 'an enrolled user is challenged');
    assert.equal(loc.searchParams.get('rd'), '/back');
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401);

    for (const off of [-60, 60]) {
      const { res: r } = await challenge(stack, jar, await totp(alice.secret, t + off));
      assert.equal(r.status, 401, `code at ${off} s refused`);
      assert.match(r.body, /That code is not right/);
      // The failure is logged with the client's address and the request id.
      assert.match(stack.sekisho.stderr(), new RegExp(`mfa: user u_[A-Za-z0-9_-]+: wrong code \\(ip 127\\.0\\.0\\.1, request_id ${r.headers.get('x-request-id')}\\)`));
    }
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401);

    const { page, res: r1 } = await challenge(stack, jar, await totp(alice.secret, t - 30), { rd: '/back' });
    assert.match(page.body, /<input id="code"/);
    assert.equal(r1.status, 302, 'code at -30 s accepted');
    assert.match(stack.sekisho.stderr(), new RegExp(`mfa: user u_[A-Za-z0-9_-]+ passed the second factor \\(totp\\) \\(ip 127\\.0\\.0\\.1, request_id ${r1.headers.get('x-request-id')}\\)`));
    assert.equal(new URL(r1.location, stack.base).pathname, '/back');
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 200);
    // Now a signed-in session: /mfa is step-up, same rules.
    const { page: p2, res: r2 } = await challenge(stack, jar, await totp(alice.secret, t));
    assert.match(p2.body, /Confirm it/);
    assert.equal(r2.status, 302, 'code at 0 s accepted');
    const { res: r3 } = await challenge(stack, jar, await totp(alice.secret, t + 30));
    assert.equal(r3.status, 302, 'code at +30 s accepted');
    const { res: r4 } = await challenge(stack, jar, await totp(alice.secret, t + 30));
    assert.equal(r4.status, 401, 'the same code again is refused');
    const { res: r5 } = await challenge(stack, jar, await totp(alice.secret, t));
    assert.equal(r5.status, 401, 'an older code after a newer one is refused');
    const last = Number(await stack.redis.cli('HGET', `sk:{u:${alice.uid}}:totp`, 'last_step'));
    assert.equal(last, Math.floor(t / 30) + 1);
    await clearFailures(stack, alice.uid);
  });

  test('malformed codes get a 400 and count nothing', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    for (const code of ['12345', 'abcdef', '1234567', '']) {
      const { res } = await challenge(stack, jar, code);
      assert.equal(res.status, 400);
      assert.match(res.body, /Enter the 6-digit code/);
    }
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${alice.uid}}:lk`, 'u:n')).trim(), '');
  });

  test('a recovery code works once', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base, { rd: '/r' });
    const { res } = await challenge(stack, jar, { recovery: alice.codes[0] }, { rd: '/r' });
    assert.equal(res.status, 200, res.body.slice(0, 300));
    assert.match(res.body, /<strong id="remaining">9<\/strong>/);
    assert.match(res.body, /<a id="continue" href="\/r">/);
    assert.deepEqual((await accessClaims(jar)).amr, ['otp', 'mfa']);

    const jar2 = new CookieJar();
    await signIn(jar2, stack.base);
    const { res: again } = await challenge(stack, jar2, { recovery: alice.codes[0] });
    assert.equal(again.status, 401);
    assert.match(again.body, /recovery code is not right, or it was already used/);
    assert.equal((await follow(jar2, `${stack.base}/auth/verify`)).status, 401);
    // Typed differently: upper case, spaces instead of the dash.
    const typed = alice.codes[1].toUpperCase().replace('-', ' ');
    const { res: ok } = await challenge(stack, jar2, { recovery: typed });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /<strong id="remaining">8<\/strong>/);
    assert.equal((await follow(jar2, `${stack.base}/auth/verify`)).status, 200);
    await clearFailures(stack, alice.uid);
  });

  test('forms need the session\'s CSRF token and a same-site request', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    const page = await follow(jar, `${stack.base}/mfa`);
    const csrf = csrfOf(page.body);
    const other = csrfOf((await follow(alice.jar, `${stack.base}/mfa/recovery`)).body);
    assert.ok(csrf && other && csrf !== other, 'per-session tokens');
    const t = await midStepTime(stack.redis);
    const code = await totp(alice.secret, t + 30);
    const url = `${stack.base}/mfa`;
    const cases = [
      [{ code }, {}],
      [{ code, csrf: 'x'.repeat(43) }, {}],
      [{ code, csrf: other }, {}],
      [{ code, csrf }, { 'sec-fetch-site': 'cross-site' }],
      [{ code, csrf }, { origin: 'http://evil.example' }],
    ];
    for (const [fields, headers] of cases) {
      const r = await postForm(jar, url, fields, headers);
      assert.equal(r.status, 403, JSON.stringify([Object.keys(fields), headers]));
    }
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401);
    // The enrolment and recovery forms are guarded the same way.
    assert.equal((await postForm(alice.jar, `${stack.base}/mfa/recovery`, {})).status, 403);
    assert.equal((await postForm(alice.jar, `${stack.base}/mfa/enroll`, { code: '123456' })).status, 403);
  });
});

describe('self-service and step-up', () => {
  test('a pending session cannot re-enrol or see recovery codes', async () => {
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    for (const p of ['/mfa/enroll', '/mfa/recovery']) {
      const r = await follow(jar, `${stack.base}${p}`);
      assert.equal(r.status, 302, p);
      const loc = new URL(r.location, stack.base);
      assert.equal(loc.pathname, '/mfa');
      assert.equal(loc.searchParams.get('rd'), p);
    }
  });

  test('stale second factor: new codes and re-enrolment ask for a code first', async () => {
    await stack.redis.cli('HSET', sessionKeyOf(stack, alice.jar), 'mfa_at', String(await redisTime(stack.redis) - 901));
    const rp = await follow(alice.jar, `${stack.base}/mfa/recovery`);
    assert.equal(rp.status, 200, 'the status page needs no step-up');
    const regen = await postForm(alice.jar, `${stack.base}/mfa/recovery`, { csrf: csrfOf(rp.body) });
    assert.equal(regen.status, 302);
    assert.equal(regen.location, `${stack.base}/mfa?rd=%2Fmfa%2Frecovery`);
    const en = await follow(alice.jar, `${stack.base}/mfa/enroll`);
    assert.equal(en.status, 302);
    assert.equal(new URL(en.location).pathname, '/mfa');

    // Step up with a recovery code, then regenerate.
    const { res } = await challenge(stack, alice.jar, { recovery: alice.codes[2] }, { rd: '/mfa/recovery' });
    assert.equal(res.status, 200);
    const rp2 = await follow(alice.jar, `${stack.base}/mfa/recovery`);
    assert.match(rp2.body, /<strong id="remaining">7<\/strong>/);
    const fresh = await postForm(alice.jar, `${stack.base}/mfa/recovery`, { csrf: csrfOf(rp2.body) });
    assert.equal(fresh.status, 200);
    const codes = codesOf(fresh.body);
    assert.equal(codes.length, 10);
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    assert.equal((await challenge(stack, jar, { recovery: alice.codes[3] })).res.status, 401, 'old codes are gone');
    assert.equal((await challenge(stack, jar, { recovery: codes[0] })).res.status, 200, 'new codes work');
    alice.codes = codes.slice(1);
    await clearFailures(stack, alice.uid);
  });

  test('re-enrolment replaces the secret', async () => {
    // alice.jar has a fresh factor from the step above.
    const e = await enrol(stack, alice.jar);
    assert.equal(e.res.status, 200, e.res.body.slice(0, 300));
    assert.notEqual(e.secret, alice.secret);
    assert.equal(e.codes.length, 10);
    const old = alice.secret;
    alice.secret = e.secret;
    alice.codes = e.codes;
    alice.enrolStep = e.step;
    const t = await waitForStepAfter(stack.redis, e.step); // at once: e.step is the step before now
    const jar = new CookieJar();
    await signIn(jar, stack.base);
    assert.equal((await challenge(stack, jar, await totp(old, t))).res.status, 401, 'old secret refused');
    assert.equal((await challenge(stack, jar, await totp(alice.secret, t))).res.status, 302, 'new secret works');
    await clearFailures(stack, alice.uid);
  });
});

describe('failed-code limit', () => {
  test('20 wrong codes at once: 5 evaluated, the rest refused until the window ends', async () => {
    await clearFailures(stack, bob.uid);
    const jar = new CookieJar();
    await signIn(jar, stack.base, { login: 'bob', password: 'bob-password' });
    const page = await follow(jar, `${stack.base}/mfa`);
    const csrf = csrfOf(page.body);
    const t = await midStepTime(stack.redis);
    const wrong = await wrongCodes(bob.secret, t, 20);
    const results = await Promise.all(wrong.map((code) => postForm(jar, `${stack.base}/mfa`, { csrf, code })));
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 401).length, 5, `statuses: ${statuses}`);
    assert.equal(statuses.filter((s) => s === 429).length, 15, `statuses: ${statuses}`);
    // The fifth wrong code locked bob on this browser (docs/lockout.md).
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${bob.uid}}:lk`, 'u:n')).trim(), '5');
    const locked = results.find((r) => r.status === 429);
    assert.match(locked.body, /Too many wrong codes\. .*try again in 15 minutes \(after \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC\)/);
    const ra = Number(locked.headers.get('retry-after'));
    assert.ok(ra > 800 && ra <= 900, `Retry-After ${ra}`);

    // Even the right code (and a recovery code) waits now.
    const good = await postForm(jar, `${stack.base}/mfa`, { csrf, code: await totp(bob.secret, t + 30) });
    assert.equal(good.status, 429);
    const rec = await postForm(jar, `${stack.base}/mfa`, { csrf, recovery: bob.codes[0] });
    assert.equal(rec.status, 429);
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401);
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${bob.uid}}:lk`, 'u:n')).trim(), '5');
    // When the window has passed, the right code works again.
    await clearFailures(stack, bob.uid);
    const ok = await postForm(jar, `${stack.base}/mfa`, { csrf, code: await totp(bob.secret, t + 30) });
    assert.equal(ok.status, 302);
  });
});

describe('start-up and master key', () => {
  const cfgWith = (extra, tenants) => [
    'listen: "127.0.0.1:1"', 'public_url: "http://127.0.0.1:1"', `redis: { url: "${stack.redis.url}" }`,
    'cookie: { secure: false }', 'tenants:', tenants.trimEnd(), 'providers:', '  - id: google',
    '    type: oidc', `    client_id: ${CLIENT_ID}`, `    client_secret_file: ${stack.dir}/idp-client.secret`,
    `    issuer: "${stack.idp.base}"`, extra,
  ].join('\n');

  test('mfa: required without a master key is a config error with its line', async () => {
    const f = path.join(stack.keyDir, 'nokey.yaml');
    fs.writeFileSync(f, cfgWith('', mfaTenantYaml({ mfa: 'required' })));
    const err = await run(SEKISHO_BIN, ['-t', '-c', f]).then(() => null, (e) => e);
    assert.ok(err, 'refused');
    assert.equal(err.code, 1);
    assert.match(err.stderr, /nokey\.yaml:\d+: tenants\[0\]\.mfa: required needs keys\.master_key_file/);
    fs.writeFileSync(f, cfgWith('', mfaTenantYaml({ mfa: 'admins' })));
    const err2 = await run(SEKISHO_BIN, ['-t', '-c', f]).then(() => null, (e) => e);
    assert.match(err2.stderr, /tenants\[0\]\.mfa: admins needs keys\.master_key_file/);
  });

  test('a wrong master key stops start-up', async () => {
    const wrongKey = writeKeyFile(stack.keyDir, 'wrong.key');
    const pem = path.join(stack.keyDir, 'sign.pem');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', pem]);
    for (const signingKeyFile of [undefined, pem]) {
      const err = await startSekisho({
        publicUrl: 'http://127.0.0.1:1', redisUrl: stack.redis.url, idpBase: stack.idp.base,
        secretFile: path.join(stack.dir, 'idp-client.secret'), tenantsYaml: stack.tenantsYaml,
        extra: mfaExtraConfig(wrongKey, { signingKeyFile }),
      }).then(async (s) => { await s.stop(); return null; }, (e) => e);
      assert.ok(err, 'did not start');
      assert.match(err.message, /sekisho exited early/);
      assert.match(err.message, signingKeyFile
        ? /mfa: the data key of tenant default does not open with the master key[\s\S]*refusing to start/
        : /master key .* is not the one this Redis data was sealed with; refusing to start/);
    }
    // Nothing was replaced.
    assert.equal(await stack.redis.cli('EXISTS', 'sk:{t:default}:dk'), '1\n');
  });

  test('master key rotation re-wraps the data keys; factors keep working', async () => {
    const before = (await stack.redis.cli('GET', 'sk:{t:default}:dk')).trim();
    // As if stored by a version before the index sk:{mk}:dks: SCAN finds it.
    assert.equal((await stack.redis.cli('SREM', 'sk:{mk}:dks', 'default')).trim(), '1');
    const newKey = writeKeyFile(stack.keyDir, 'new.key');
    const { stdout } = await run(CTL, ['master-key', 'rewrap', '-c', stack.sekisho.cfgFile, '--new-key', newKey]);
    assert.match(stdout, /re-sealed \d+ records under the new master key \(0 already were\)/);
    assert.notEqual((await stack.redis.cli('GET', 'sk:{t:default}:dk')).trim(), before);
    assert.equal((await stack.redis.cli('SISMEMBER', 'sk:{mk}:dks', 'default')).trim(), '1', 'listed now');
    // Running it again finds everything done.
    const { stdout: again } = await run(CTL, ['master-key', 'rewrap', '-c', stack.sekisho.cfgFile, '--new-key', newKey]);
    assert.match(again, /re-sealed 0 records .* \(\d+ already were\)/);

    // Restart on the new key (same port: the IdP knows that callback).
    await stack.sekisho.stop();
    const port = stack.sekisho.port;
    const sk = await startSekisho({
      port, publicUrl: stack.publicUrl, redisUrl: stack.redis.url, idpBase: stack.idp.base,
      secretFile: path.join(stack.dir, 'idp-client.secret'), allowedHosts: [`127.0.0.1:${port}`],
      tenantsYaml: stack.tenantsYaml, extra: mfaExtraConfig(newKey),
    });
    try {
      assert.match(fs.readFileSync(sk.cfgFile, 'utf8'), /new\.key/);
      const last = Number(await stack.redis.cli('HGET', `sk:{u:${alice.uid}}:totp`, 'last_step'));
      const { code } = await nextCode(stack.redis, alice.secret, last);
      const jar = new CookieJar();
      await signIn(jar, stack.base);
      assert.equal((await challenge(stack, jar, code)).res.status, 302);
      assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 200);
      const jar2 = new CookieJar();
      await signIn(jar2, stack.base, { login: 'bob', password: 'bob-password' });
      assert.equal((await challenge(stack, jar2, { recovery: bob.codes[1] })).res.status, 200);
    } finally {
      await sk.stop();
    }
    // The old key no longer starts.
    const err = await startSekisho({
      publicUrl: 'http://127.0.0.1:1', redisUrl: stack.redis.url, idpBase: stack.idp.base,
      secretFile: path.join(stack.dir, 'idp-client.secret'), tenantsYaml: stack.tenantsYaml,
      extra: mfaExtraConfig(stack.masterKeyFile),
    }).then(async (s) => { await s.stop(); return null; }, (e) => e);
    assert.ok(err, 'the old key is refused');
  });
});

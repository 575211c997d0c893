// Security state in Redis must not be lost, shared or flooded (issue 8,
// items 5, 6 and 13), against the real daemon, redis-server, the test IdP
// and oathtool. Covers:
//   - pending sign-ins are capped per client address: 40 concurrent
//     GET /login/google from 127.0.0.2 give exactly 20 redirects and 20
//     429 pages with Retry-After, and store no more state; 127.0.0.1 still
//     signs in; a finished sign-in gives its slot back; a sign-in that
//     fails at /login (the provider's discovery cannot be fetched) keeps
//     neither its slot nor its state
//   - a Redis whose maxmemory-policy evicts (allkeys-lru) stops start-up
//     with a message naming the setting, before anything is stored;
//     noeviction starts; a policy changed at run time turns /readyz 503
//     naming it, and back
//   - persistence: no AOF and no save schedule stops start-up unless
//     redis.require_persistence: false (then a warning); AOF on starts;
//     with CONFIG disabled (as on managed services) INFO is used: AOF on
//     starts, AOF off cannot be verified and is refused
//   - an enrolment in progress belongs to its session: a second session of
//     the same user gets its own secret; an attacker's session that opened
//     /mfa/enroll first cannot activate the victim's secret, and the
//     secret it saw never passes /mfa
//   - step-up (stale factor) keeps the caller's rd through /mfa and back
//   - master-key rewrap re-seals every tenant's data key from the index
//     sk:{mk}:dks when SCAN is unavailable (what a Cluster proxy gives:
//     SCAN sees one node); every tenant's factor works on the new key
//   - a tenant data key deleted after enrolment: after a restart, MFA pages
//     answer 503 (not 500 after a correct code), no new data key is made,
//     and restoring the key brings the factors back
//   - an enrolled user's factor record deleted: the sign-in ends on a 503
//     page with no session (never a sign-in without the factor, nor a new
//     enrolment on the upstream account alone); restored, it is asked for
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';

import {
  SEKISHO_BIN, freshGet, signIn, startRedis, startSekisho, startStack, waitFor,
} from './harness.mjs';
import {
  CookieJar, challenge, clearFailures, codesOf, csrfOf, enrol, follow, formAction, midStepTime,
  mfaExtraConfig, nextCode, postForm, redisTime, secretOf, sessionKeyOf, totp, userIdOf, writeKeyFile,
} from './mfa-harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

/** GET on a fresh connection whose source address is `from` (loopback /8). */
function getFrom(from, url) {
  return new Promise((resolve, reject) => {
    const r = http.get(url, { agent: false, localAddress: from, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
  });
}

describe('pending sign-ins per client address', () => {
  let stack;
  before(async () => { stack = await startStack(); });
  after(async () => { await stack?.stop(); });

  test('a flood from one address stops at the cap; another address signs in', async () => {
    const url = `${stack.base}/login/google`;
    // Discovery cached first: until it is, /login/{provider} waits on the
    // upstream pool, whose per-provider bound (upstream.test.mjs) would
    // answer part of the flood 503 before this cap is reached.
    assert.equal((await signIn(new CookieJar(), stack.base)).res.status, 302);
    const rs = await Promise.all(Array.from({ length: 40 }, () => getFrom('127.0.0.2', url)));
    const ok = rs.filter((r) => r.status === 302);
    const refused = rs.filter((r) => r.status === 429);
    assert.equal(ok.length, 20, `statuses: ${rs.map((r) => r.status)}`);
    assert.equal(refused.length, 20);
    const ra = Number(refused[0].headers['retry-after']);
    assert.ok(ra >= 1 && ra <= 600, `Retry-After ${ra}`);
    assert.match(refused[0].headers['content-type'], /text\/html/);
    assert.match(refused[0].body, /お使いのネットワークから開始されたまま完了していないサインインが多すぎます/);
    assert.ok(!refused[0].headers['set-cookie'], 'no binding cookie for a refused sign-in');
    assert.equal(await stack.redis.count('sk:{st:*}'), 20, 'no state stored past the cap');
    assert.equal((await getFrom('127.0.0.2', url)).status, 429, 'still refused');

    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base);
    assert.equal(res.status, 302, 'another address signs in');
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 200);
  });

  test('a finished sign-in gives its slot back', async () => {
    for (let i = 0; i < 22; i += 1) {
      const { res } = await signIn(new CookieJar(), stack.base);
      assert.equal(res.status, 302, `sign-in #${i}`);
    }
    assert.equal((await stack.redis.cli('ZCARD', 'sk:{pl:127.0.0.1}')).trim(), '0');
  });
});

describe('a sign-in that fails at /login is not pending', () => {
  let stack;
  let sk;
  before(async () => { stack = await startStack(); });
  after(async () => { await sk?.stop(); await stack?.stop(); });

  test('502 at /login leaves no state and no slot; the address still signs in', async () => {
    // A provider whose discovery cannot be fetched: nothing listens there.
    const dead = await new Promise((resolve) => {
      const srv = http.createServer();
      srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    });
    const secretFile = path.join(stack.dir, 'idp-client.secret');
    sk = await startSekisho({
      publicUrl: 'http://127.0.0.1:1', redisUrl: stack.redis.url, idpBase: stack.idp.base, secretFile,
      maxPendingPerIp: 2,
      tenantsYaml: '  - id: default\n    providers: [google, dead]\n',
      extraProvidersYaml: `  - id: dead\n    type: oidc\n    client_id: x\n    client_secret_file: ${secretFile}\n`
        + `    issuer: "http://127.0.0.1:${dead}"\n`,
    });
    for (let i = 0; i < 3; i += 1) {
      const r = await getFrom('127.0.0.3', `${sk.base}/login/dead`);
      assert.equal(r.status, 502, `try #${i}: ${r.status}`);
    }
    assert.equal(await stack.redis.count('sk:{st:*}'), 0, 'no state kept for a failed start');
    assert.equal((await stack.redis.cli('ZCARD', 'sk:{pl:127.0.0.3}')).trim(), '0', 'no slot held');
    const ok = await getFrom('127.0.0.3', `${sk.base}/login/google`);
    assert.equal(ok.status, 302, 'the address is not refused for the failed tries');
  });
});

describe('Redis must keep what is stored', () => {
  let stack; // an IdP and a secret file to point sekisho at
  const redises = [];
  before(async () => { stack = await startStack(); });
  after(async () => {
    for (const r of redises) await r.stop();
    await stack?.stop();
  });

  async function redisWith(args) {
    const r = await startRedis({ args });
    redises.push(r);
    return r;
  }
  /** Starts sekisho on redis: { sk } or { err }. */
  async function tryStart(redis, { requirePersistence = false } = {}) {
    try {
      const sk = await startSekisho({
        publicUrl: 'http://127.0.0.1:1', redisUrl: redis.url, idpBase: stack.idp.base,
        secretFile: path.join(stack.dir, 'idp-client.secret'), requirePersistence,
      });
      return { sk };
    } catch (err) {
      return { err };
    }
  }

  test('an evicting Redis stops start-up, naming the setting; noeviction starts', async () => {
    const lru = await redisWith(['--maxmemory-policy', 'allkeys-lru']);
    const { err } = await tryStart(lru);
    assert.ok(err, 'refused');
    assert.match(err.message, /sekisho exited early/);
    assert.match(err.message, /redis: maxmemory-policy is allkeys-lru: .*set maxmemory-policy noeviction; refusing to start/);
    assert.equal((await lru.cli('DBSIZE')).trim(), '0', 'nothing stored');

    const good = await redisWith([]);
    const { sk, err: e2 } = await tryStart(good);
    assert.ifError(e2);
    try {
      assert.equal((await freshGet(`${sk.base}/readyz`)).status, 200);
      // Changed at run time: not ready, saying why; and back.
      await good.cli('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru');
      const r = await freshGet(`${sk.base}/readyz`);
      assert.equal(r.status, 503);
      const j = JSON.parse(r.body);
      assert.equal(j.error, 'temporarily_unavailable');
      assert.match(j.error_description, /maxmemory-policy is volatile-lru/);
      await good.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      assert.equal((await freshGet(`${sk.base}/readyz`)).status, 200);
      assert.match(sk.stderr(), /append-only file is off and persistence is not required/);
    } finally {
      await sk.stop();
    }
  });

  test('persistence is required unless redis.require_persistence: false', async () => {
    const none = await redisWith([]);
    const { err } = await tryStart(none, { requirePersistence: true });
    assert.ok(err, 'refused without persistence');
    assert.match(err.message, /redis: persistence is off \(appendonly no, no save schedule\).*; refusing to start/);

    const rdb = await redisWith(['--save', '3600 1']);
    const a = await tryStart(rdb, { requirePersistence: true });
    assert.ifError(a.err);
    await a.sk.stop();

    const aof = await redisWith(['--appendonly', 'yes']);
    const b = await tryStart(aof, { requirePersistence: true });
    assert.ifError(b.err);
    assert.equal((await freshGet(`${b.sk.base}/readyz`)).status, 200);
    await b.sk.stop();
  });

  test('with CONFIG disabled, INFO decides', async () => {
    const noConfigAof = await redisWith(['--rename-command', 'CONFIG', '', '--appendonly', 'yes']);
    const a = await tryStart(noConfigAof, { requirePersistence: true });
    assert.ifError(a.err);
    assert.equal((await freshGet(`${a.sk.base}/readyz`)).status, 200);
    await a.sk.stop();

    const noConfig = await redisWith(['--rename-command', 'CONFIG', '', '--save', '3600 1']);
    const { err } = await tryStart(noConfig, { requirePersistence: true });
    assert.ok(err, 'refused: persistence cannot be verified');
    assert.match(err.message, /persistence cannot be verified .*redis\.require_persistence: false/);
  });
});

describe('second factor state', () => {
  let stack;
  let sk; // the sekisho currently running (restarted below)
  let masterKey;
  const bob = { login: 'bob', password: 'bob-password' };
  const alice = { login: 'alice', password: 'alice-password' };
  const tenantsYaml = `  - id: law
    display_name: "Law Office"
    hostnames: ["law.test"]
    providers: [google]
    mfa: required
  - id: default
    display_name: "Test Office"
    providers: [google]
    mfa: required
`;

  before(async () => {
    // SCAN disabled: a stand-in for a Cluster, where SCAN sees one node.
    const keyDir = fs.mkdtempSync('/tmp/sekisho-it-dur-');
    masterKey = writeKeyFile(keyDir);
    stack = await startStack({
      tenantsYaml, extraConfig: mfaExtraConfig(masterKey), redisArgs: ['--rename-command', 'SCAN', ''],
    });
    stack.keyDir = keyDir;
    sk = stack.sekisho;
  });
  after(async () => {
    await sk?.stop();
    await stack?.stop();
    if (stack?.keyDir) fs.rmSync(stack.keyDir, { recursive: true, force: true });
  });

  async function restart(keyFile) {
    await sk.stop();
    const port = stack.sekisho.port;
    sk = await startSekisho({
      port, publicUrl: stack.publicUrl, redisUrl: stack.redis.url, idpBase: stack.idp.base,
      secretFile: path.join(stack.dir, 'idp-client.secret'), allowedHosts: [`127.0.0.1:${port}`],
      tenantsYaml, extra: mfaExtraConfig(keyFile),
    });
  }

  test('an enrolment in progress belongs to the session that started it', async () => {
    const attacker = new CookieJar();
    assert.match((await signIn(attacker, stack.base, bob)).res.location, /\/mfa\/enroll$/);
    const pa = await follow(attacker, `${stack.base}/mfa/enroll`);
    const secretA = secretOf(pa.body);
    assert.ok(secretA);
    assert.equal(secretOf((await follow(attacker, `${stack.base}/mfa/enroll`)).body), secretA,
      'a reload shows the same secret');

    const victim = new CookieJar();
    await signIn(victim, stack.base, bob);
    const pv = await follow(victim, `${stack.base}/mfa/enroll`);
    const secretV = secretOf(pv.body);
    assert.notEqual(secretV, secretA, 'a second session gets its own secret');

    // The attacker cannot activate the victim's secret in its session.
    const t = await midStepTime(stack.redis);
    const r1 = await postForm(attacker, `${stack.base}/mfa/enroll`,
      { csrf: csrfOf(pa.body), code: await totp(secretV, t) });
    assert.equal(r1.status, 401);

    const e = await enrol(stack, victim);
    assert.equal(e.res.status, 200, e.res.body.slice(0, 300));
    assert.equal(e.secret, secretV);
    bob.secret = secretV;
    bob.uid = await userIdOf(stack, victim);
    bob.jar = victim;

    // The secret the attacker saw never becomes the factor...
    const r2 = await postForm(attacker, `${stack.base}/mfa/enroll`,
      { csrf: csrfOf(pa.body), code: await totp(secretA, t) });
    assert.notEqual(r2.status, 200);
    assert.equal(codesOf(r2.body).length, 0);
    // ...and does not pass /mfa.
    const later = new CookieJar();
    await signIn(later, stack.base, bob);
    const { res } = await challenge(stack, later, await totp(secretA, t));
    assert.equal(res.status, 401, 'the attacker\'s secret is refused');
    assert.equal((await follow(later, `${stack.base}/auth/verify`)).status, 401);
    await clearFailures(stack, bob.uid);
  });

  test('step-up keeps the caller\'s rd', async () => {
    if (!bob.jar) { // the test above failed: enrol here
      bob.jar = new CookieJar();
      await signIn(bob.jar, stack.base, bob);
      const e = await enrol(stack, bob.jar);
      Object.assign(bob, { secret: e.secret, uid: await userIdOf(stack, bob.jar) });
    }
    const rd = `${stack.base}/app/page?x=1`;
    await stack.redis.cli('HSET', sessionKeyOf(stack, bob.jar), 'mfa_at', String(await redisTime(stack.redis) - 901));
    const en = await follow(bob.jar, `${stack.base}/mfa/enroll?rd=${encodeURIComponent(rd)}`);
    assert.equal(en.status, 302);
    const loc = new URL(en.location);
    assert.equal(loc.pathname, '/mfa');
    const back = loc.searchParams.get('rd');
    assert.equal(back, `/mfa/enroll?rd=${encodeURIComponent(rd)}`);

    const rp = await follow(bob.jar, `${stack.base}/mfa/recovery?rd=${encodeURIComponent(rd)}`);
    const regen = await postForm(bob.jar, new URL(formAction(rp.body, 'regenerate-form'), stack.base).href,
      { csrf: csrfOf(rp.body) });
    assert.equal(regen.status, 302);
    assert.equal(new URL(regen.location).searchParams.get('rd'), `/mfa/recovery?rd=${encodeURIComponent(rd)}`);

    const last = Number(await stack.redis.cli('HGET', `sk:{u:${bob.uid}}:totp`, 'last_step'));
    const { code } = await nextCode(stack.redis, bob.secret, last);
    const { res } = await challenge(stack, bob.jar, code, { rd: back });
    assert.equal(res.status, 302);
    assert.equal(res.location, `${stack.base}${back}`);
    const e = await enrol(stack, bob.jar, { path: back });
    assert.equal(e.res.status, 200, e.res.body.slice(0, 300));
    assert.equal(/<a id="continue" href="([^"]*)"/.exec(e.res.body)?.[1], rd, 'on to the caller\'s rd');
    bob.secret = e.secret;
  });

  test('master-key rewrap covers every tenant from the index, without SCAN', async () => {
    const before = {
      default: (await stack.redis.cli('GET', 'sk:{t:default}:dk')).trim(),
      law: (await stack.redis.cli('GET', 'sk:{t:law}:dk')).trim(),
    };
    const newKey = writeKeyFile(stack.keyDir, 'new.key');
    const { stdout } = await run(CTL, ['master-key', 'rewrap', '-c', sk.cfgFile, '--new-key', newKey]);
    assert.match(stdout, /re-sealed \d+ records under the new master key \(0 already were\)/);
    const members = (await stack.redis.cli('SMEMBERS', 'sk:{mk}:dks')).trim().split('\n').sort();
    assert.deepEqual(members, ['default', 'law'], 'the index');
    for (const t of ['default', 'law']) {
      assert.notEqual((await stack.redis.cli('GET', `sk:{t:${t}}:dk`)).trim(), before[t], `${t} re-sealed`);
    }
    // Every tenant's data key opens with the new key (start-up opens them all).
    await restart(newKey);
    masterKey = newKey;
    const last = Number(await stack.redis.cli('HGET', `sk:{u:${bob.uid}}:totp`, 'last_step'));
    const { code } = await nextCode(stack.redis, bob.secret, last);
    const jar = new CookieJar();
    await signIn(jar, stack.base, bob);
    assert.equal((await challenge(stack, jar, code)).res.status, 302);
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 200);
  });

  test('a lost tenant data key fails closed with 503; none is made over it', async () => {
    const saved = (await stack.redis.cli('GET', 'sk:{t:default}:dk')).trim();
    await sk.stop();
    await stack.redis.cli('DEL', 'sk:{t:default}:dk');
    await restart(masterKey);
    assert.match(sk.stderr(), /the data key of tenant default is missing from Redis, but one was stored before/);
    assert.equal((await stack.redis.cli('EXISTS', 'sk:{t:default}:dk')).trim(), '0', 'not re-created at start');
    assert.equal((await freshGet(`${sk.base}/readyz`)).status, 200, 'other tenants still work');

    // An enrolled user: a correct code is answered 503, not 500.
    const last = Number(await stack.redis.cli('HGET', `sk:{u:${bob.uid}}:totp`, 'last_step'));
    const { code } = await nextCode(stack.redis, bob.secret, last);
    const jar = new CookieJar();
    await signIn(jar, stack.base, bob);
    const { res } = await challenge(stack, jar, code);
    assert.equal(res.status, 503);
    assert.match(res.body, /Two-step verification cannot be checked right now/);
    assert.equal((await follow(jar, `${stack.base}/auth/verify`)).status, 401, 'not signed in');
    // A new user cannot enrol either (that would make a key).
    const ajar = new CookieJar();
    await signIn(ajar, stack.base, alice);
    const en = await follow(ajar, `${stack.base}/mfa/enroll`);
    assert.equal(en.status, 503);
    assert.equal((await stack.redis.cli('EXISTS', 'sk:{t:default}:dk')).trim(), '0', 'no new data key');

    // Restored from a backup: the factor works again.
    await stack.redis.cli('SET', 'sk:{t:default}:dk', saved);
    await clearFailures(stack, bob.uid);
    const again = await challenge(stack, jar, code);
    assert.equal(again.res.status, 302);
    await waitFor(async () => (await follow(jar, `${stack.base}/auth/verify`)).status === 200,
      { timeoutMs: 2000, what: 'signed in' });
  });

  test('an enrolled user whose factor record is lost cannot sign in (503), nor enrol again', async () => {
    const key = `sk:{u:${bob.uid}}:totp`;
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${bob.uid}}`, 'totp')).trim(), '1', 'marked');
    const saved = (await stack.redis.cli('HGETALL', key)).trim().split('\n');
    await stack.redis.cli('DEL', key);
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base, bob);
    assert.equal(res.status, 503);
    assert.match(res.body, /Two-step verification unavailable/);
    assert.equal(jar.get(stack.base, 'sekisho'), undefined, 'no session');
    assert.match(sk.stderr(), /mfa: user \S+ enrolled a TOTP factor, but its record .* is missing from Redis/);
    // Restored from a backup: the next sign-in asks for the code again.
    await stack.redis.cli('HSET', key, ...saved);
    const again = new CookieJar();
    assert.match((await signIn(again, stack.base, bob)).res.location, /\/mfa$/);
  });
});

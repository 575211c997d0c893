// The tamper-evident audit log (docs/audit.md) end to end: real
// redis-server, the test IdP, sekisho with audit.dir, sekishoctl audit.
// Tenants "law" (127.0.0.1) and "shop" (localhost); checkpoints every 5
// entries. Events of past days are put in law's stream before sekisho
// starts (XADD with explicit ids: Redis's clock is the event's time), so
// the real writer writes them into past days' files. Covers:
// - every event of the stream (old days', a sign-in, policy PATCH through
//   the admin API, sekishoctl policy patch, a role change) in the day files, in
//   stream order, each day's first entry chaining to the previous file's
//   last; signed checkpoints; /metrics (entries, lag, writing)
// - audit verify passes on the untouched log (keys from Redis, or
//   --jwks with the published /jwks.json) and names the entry for one
//   changed byte, a removed line, an inserted line and two swapped lines
//   (exit 1); a checkpoint re-signed with a generated key under the same
//   kid fails, and so does a JWKS without the key
// - kill -9 of the writer while it writes thousands of events, and a torn
//   last line: after a restart every stream entry is in the files exactly
//   once (no duplicate, no gap), the torn bytes kept aside, verify passes
// - Redis hanging (SIGSTOP) for seconds: the writer waits it out, then
//   files what follows, no duplicate, no gap, verify passes
// - a stream trimmed past the writer: a gap entry and a loud log line
// - retention: the old days' files removed, the removal recorded (and
//   signed), verify passes after
// - two instances on one directory: one writes, the other stands by and
//   takes over when the first is killed
// - export gives the events of a range of days
// - no line of any file holds the session cookie, an access token, a
//   client secret or the master key
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as jose from 'jose';

import {
  CLIENT_SECRET, SEKISHO_BIN, follow, freePort, masterKeyFile, metric, spawnTracked, tmpDir, waitFor,
} from './harness.mjs';
import {
  BACKEND, CookieJar, OPS, signIn, startUsersStack,
} from './users-harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');
const DAY = 86_400_000;
const STREAM = (t) => `sk:{t:${t}}:ev`;

let s; // startUsersStack()'s, with auditDir and current (the running sekisho)
const bob = { jar: new CookieJar() };
const secrets = [];

const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const oldDays = [day(Date.now() - 5 * DAY), day(Date.now() - 4 * DAY)];

/** sekishoctl with -c; { code, stdout, stderr } (never rejects). */
async function ctl(...args) {
  try {
    const { stdout, stderr } = await run(CTL, [...args, '-c', s.cfgFile], { timeout: 60_000, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const admin = (method, tenant, p, body) => s.admin(method, tenant, p, { body });

/** Every line of a tenant's day files, in order: { file, no, text, entry }. */
function lines(tenant = 'law', dir = s.auditDir) {
  const d = path.join(dir, tenant);
  if (!fs.existsSync(d)) return [];
  const out = [];
  for (const f of fs.readdirSync(d).filter((n) => /^\d{4}-\d\d-\d\d\.jsonl$/.test(n)).sort()) {
    const text = fs.readFileSync(path.join(d, f), 'utf8');
    text.split('\n').forEach((t, i) => {
      if (t !== '') out.push({ file: f, no: i + 1, text: t, entry: JSON.parse(t) });
    });
  }
  return out;
}

/** The ids of every entry of a tenant's stream, oldest first. */
async function streamIds(tenant = 'law') {
  const out = await s.redis.cli('XRANGE', STREAM(tenant), '-', '+');
  return out.split('\n').filter((l) => /^\d+-\d+$/.test(l));
}

/** Waits until every stream entry of the tenant is in its files. */
async function caughtUp(tenant = 'law', timeoutMs = 30_000) {
  await waitFor(async () => {
    const ids = await streamIds(tenant);
    const have = lines(tenant).filter((l) => l.entry.kind === 'event').map((l) => l.entry.cursor);
    return ids.length > 0 && have.length >= ids.length && have.at(-1) === ids.at(-1);
  }, { timeoutMs, intervalMs: 100, what: `${tenant}'s events in the audit files` });
}

const sha256 = (t) => crypto.createHash('sha256').update(t).digest('hex');

function oldEvent(i, ms) {
  return JSON.stringify({
    id: `old-${i}`, type: 'policy_changed', tenant: 'law', user: { id: null, email: null }, ip: '192.0.2.1',
    user_agent: null, device: null, details: { note: `event of ${day(ms)}` },
  });
}

/** Starts (another) sekisho on the same configuration and port. */
async function startAgain(cfgFile = s.cfgFile, base = s.law) {
  const child = spawnTracked(SEKISHO_BIN, ['-c', cfgFile], { name: 'sekisho-audit' });
  await waitFor(async () => {
    if (!child.running()) throw new Error(`sekisho exited: ${child.stderr()}`);
    return (await fetch(`${base}/healthz`).catch(() => ({ status: 0 }))).status === 200;
  }, { what: 'sekisho again' });
  return { stop: (sig = 'SIGTERM') => child.stop(sig, 5000), stderr: child.stderr, running: child.running };
}

/** A copy of the audit directory to tamper with. */
function copyAudit() {
  const d = tmpDir('sekisho-it-audit-copy-');
  fs.cpSync(s.auditDir, d, { recursive: true });
  return d;
}

function rewrite(dir, file, fn) {
  const p = path.join(dir, 'law', file);
  const ls = fs.readFileSync(p, 'utf8').split('\n');
  ls.pop(); // after the last newline
  fs.writeFileSync(p, `${fn(ls).join('\n')}\n`);
}

before(async () => {
  const auditDir = path.join(tmpDir('sekisho-it-audit-'), 'audit');
  s = await startUsersStack({
    extraConfig: `audit:
  dir: ${auditDir}
  checkpoint_every: 5
  checkpoint_interval: 2s
`,
    // Events of two past days, before anything else is in the stream.
    beforeSekisho: async (redis) => {
      let i = 0;
      for (const [n, ago] of [[2, 5], [3, 4]]) {
        for (let k = 0; k < n; k++) {
          const ms = Date.now() - ago * DAY + k * 1000;
          await redis.cli('XADD', STREAM('law'), `${ms}-0`, 'e', oldEvent(i++, ms));
        }
      }
    },
  });
  s.auditDir = auditDir;
  secrets.push(OPS.secret, BACKEND.secret, CLIENT_SECRET, fs.readFileSync(masterKeyFile(), 'utf8').trim());
});

after(async () => {
  await s?.current?.stop('SIGTERM');
  await s?.stop();
  if (s?.auditDir) fs.rmSync(path.dirname(s.auditDir), { recursive: true, force: true });
});

describe('audit log', () => {
  test('admin changes and past days reach the day files in stream order, days chained, checkpoints signed', async () => {
    // A sign-in (for the secrets search), policy changes through the
    // admin API and sekishoctl, a role change.
    assert.equal((await signIn(bob.jar, s.law, { login: 'bob', password: 'bob-password' })).res.status, 302);
    const v = await follow(bob.jar, `${s.law}/auth/verify`);
    assert.equal(v.status, 200);
    bob.id = v.headers.get('x-auth-request-user');
    secrets.push(v.headers.get('x-auth-request-access-token'));
    for (const kv of (bob.jar.header(s.law) ?? '').split('; ')) secrets.push(kv.slice(kv.indexOf('=') + 1));
    for (const ttl of ['30m', '45m', '50m']) {
      const r = await admin('PATCH', 'law', 'policy', { session: { idle_timeout: ttl } });
      assert.equal(r.status, 200, r.text);
    }
    const pf = path.join(s.dir, 'patch.json');
    fs.writeFileSync(pf, JSON.stringify({ session: { idle_timeout: '55m' } }));
    const p = await ctl('policy', 'patch', '--tenant', 'law', pf);
    assert.equal(p.code, 0, p.stderr);
    const role = await ctl('users', 'role', '-t', 'law', bob.id, 'editor');
    assert.equal(role.code, 0, role.stderr);
    const shop = await admin('PATCH', 'shop', 'policy', { session: { idle_timeout: '20m' } });
    assert.equal(shop.status, 200, shop.text);

    await caughtUp('law');
    await caughtUp('shop');
    const ls = lines('law');
    const ids = await streamIds('law');
    assert.deepEqual(ls.filter((l) => l.entry.kind === 'event').map((l) => l.entry.cursor), ids,
      'every stream entry once, in order');
    const types = ls.filter((l) => l.entry.kind === 'event').map((l) => l.entry.event.type);
    assert.ok(types.includes('role_changed'), types.join());
    assert.ok(types.includes('login_succeeded') && types.includes('new_device'), `bob's sign-in: ${types.join()}`);
    assert.ok(types.filter((t) => t === 'policy_changed').length >= 9, types.join());
    // Chain: seq 1.., prev = SHA-256 of the line before, across files.
    ls.forEach((l, k) => {
      assert.equal(l.entry.seq, k + 1);
      assert.equal(l.entry.prev, k === 0 ? '0'.repeat(64) : sha256(ls[k - 1].text), `${l.file}:${l.no}`);
      assert.equal(l.entry.time.slice(0, 10), l.file.slice(0, 10));
    });
    const files = [...new Set(ls.map((l) => l.file))];
    assert.deepEqual(files.slice(0, 2), oldDays.map((d) => `${d}.jsonl`), 'the past days have their files');
    assert.ok(files.length >= 3);
    // The events carry their Redis time and cursor.
    const first = ls[0].entry.event;
    assert.equal(first.id, 'old-0');
    assert.equal(first.time.slice(0, 10), oldDays[0]);
    assert.equal(first.cursor, ids[0]);
    // Checkpoints: JWS over the head, verifiable with /jwks.json.
    const cps = ls.filter((l) => l.entry.kind === 'checkpoint');
    assert.ok(cps.length >= 2, 'checkpoints every 5 entries');
    const jwks = jose.createLocalJWKSet(await (await fetch(`${s.law}/jwks.json`)).json());
    const cp = cps[0];
    const { payload, protectedHeader } = await jose.jwtVerify(cp.entry.jws, jwks);
    assert.equal(protectedHeader.typ, 'sekisho-audit-checkpoint+jwt');
    assert.equal(payload.tenant, 'law');
    assert.equal(payload.seq, cp.entry.seq - 1);
    assert.equal(payload.head, cp.entry.prev);
    // shop has its own chain.
    assert.ok(lines('shop').some((l) => l.entry.kind === 'event' && l.entry.event.tenant === 'shop'));
    assert.ok(!lines('shop').some((l) => l.entry.kind === 'event' && l.entry.event.tenant !== 'shop'));
    // Metrics.
    assert.ok(await metric(s.law, 'sekisho_audit_entries_total', { tenant: 'law' }) >= ls.length - 1);
    assert.equal(await metric(s.law, 'sekisho_audit_lag_events', { tenant: 'law' }), 0);
    assert.equal(await metric(s.law, 'sekisho_audit_writing', { tenant: 'law' }), 1);
  });

  test('audit verify passes on the untouched log (keys from Redis, or --jwks FILE)', async () => {
    const r = await ctl('audit', 'verify');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^law: ok: \d+ entries in \d+ files, \d+ checkpoints verified/m);
    assert.match(r.stdout, /^shop: ok: /m);
    const jf = path.join(s.dir, 'jwks.json');
    fs.writeFileSync(jf, await (await fetch(`${s.law}/jwks.json`)).text());
    const j = await ctl('audit', 'verify', '--tenant', 'law', '--jwks', jf);
    assert.equal(j.code, 0, j.stdout + j.stderr);
    const from = await ctl('audit', 'verify', '--tenant', 'law', '--from', oldDays[1]);
    assert.equal(from.code, 0, from.stdout + from.stderr);
    // Usage and I/O problems are 2, not 1.
    assert.equal((await ctl('audit', 'verify', '--from', 'yesterday')).code, 2);
    assert.equal((await ctl('audit', 'verify', '--tenant', 'nobody')).code, 2);
    assert.equal((await ctl('audit', 'frobnicate')).code, 2);
  });

  test('Redis hanging for 4 s: the writer waits, then files what follows, with no duplicate and no gap', async () => {
    const before = lines('law').length;
    s.redis.pause();
    try {
      await new Promise((r) => setTimeout(r, 4000));
      const h = await fetch(`${s.law}/healthz`, { signal: AbortSignal.timeout(5000) });
      assert.equal(h.status, 200, 'the daemon answers while Redis hangs');
    } finally {
      s.redis.resume();
    }
    await waitFor(async () => (await fetch(`${s.law}/readyz`)).status === 200, { what: 'ready again' });
    const r = await admin('PATCH', 'law', 'policy', { session: { idle_timeout: '7h' } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await caughtUp('law');
    const after = lines('law');
    assert.ok(after.length > before);
    const cursors = after.filter((l) => l.entry.kind === 'event').map((l) => l.entry.cursor);
    assert.equal(new Set(cursors).size, cursors.length, 'no entry filed twice');
    assert.deepEqual(cursors.slice(-(await streamIds('law')).length), await streamIds('law'), 'no gap');
    const v = await ctl('audit', 'verify', '--tenant', 'law');
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  test('verify names the entry for a changed byte, a removed, an inserted and two swapped lines', async () => {
    const today = lines('law').at(-1).file;
    const todays = lines('law').filter((l) => l.file === today);
    const n = todays.find((l) => l.no >= 3 && l.entry.kind === 'event' && l.no + 2 <= todays.length).no;
    const verify = async (dir) => ctl('audit', 'verify', '--tenant', 'law', '--dir', dir);
    const cases = [
      ['one changed byte', (ls) => { ls[n - 1] = ls[n - 1].replace('"type":"', '"type":"X'); return ls; },
        new RegExp(`law/${today}:${n}: CHANGED: seq`)],
      ['a removed line', (ls) => { ls.splice(n - 1, 1); return ls; },
        new RegExp(`law/${today}:${n}: REMOVED: seq ${todays[n - 1].entry.seq} to ${todays[n - 1].entry.seq}`)],
      ['an inserted line', (ls) => { ls.splice(n - 1, 0, ls[n - 3]); return ls; },
        new RegExp(`law/${today}:${n}: (INSERTED|REORDERED)`)],
      ['two swapped lines', (ls) => { [ls[n - 1], ls[n]] = [ls[n], ls[n - 1]]; return ls; },
        new RegExp(`law/${today}:${n}: REORDERED: seq ${todays[n].entry.seq} comes before seq ${todays[n - 1].entry.seq}`)],
    ];
    for (const [what, fn, re] of cases) {
      const d = copyAudit();
      rewrite(d, today, fn);
      const r = await verify(d);
      assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, re, what);
      fs.rmSync(d, { recursive: true, force: true });
    }
    // A forged line that chains (seq and prev right) before the real one.
    const d = copyAudit();
    rewrite(d, today, (ls) => {
      const orig = JSON.parse(ls[n - 1]);
      orig.event.id = 'forged';
      ls.splice(n - 1, 0, JSON.stringify(orig));
      return ls;
    });
    const r = await verify(d);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`law/${today}:${n}: INSERTED`), r.stdout);
    fs.rmSync(d, { recursive: true, force: true });
  });

  test('a checkpoint signed with the wrong key fails', async () => {
    const ls = lines('law');
    const cp = ls.filter((l) => l.entry.kind === 'checkpoint').at(-1);
    const { kid } = jose.decodeProtectedHeader(cp.entry.jws);
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
    const d = copyAudit();
    // The log cut after that checkpoint (as if it were the head), which
    // is re-signed by another key under the published kid.
    for (const f of fs.readdirSync(path.join(d, 'law')).filter((x) => x > cp.file)) fs.rmSync(path.join(d, 'law', f));
    rewrite(d, cp.file, (xs) => {
      const e = JSON.parse(xs[cp.no - 1]);
      return xs.slice(0, cp.no - 1).concat([JSON.stringify({ ...e, jws: 'PLACEHOLDER' })]);
    });
    const forged = await new jose.SignJWT(jose.decodeJwt(cp.entry.jws))
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'sekisho-audit-checkpoint+jwt' }).sign(privateKey);
    const p = path.join(d, 'law', cp.file);
    fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace('PLACEHOLDER', forged));
    let r = await ctl('audit', 'verify', '--tenant', 'law', '--dir', d);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, new RegExp(`law/${cp.file}:${cp.no}: BAD CHECKPOINT: .*does not verify`));
    // The untouched copy with a JWKS holding only another key.
    fs.rmSync(d, { recursive: true, force: true });
    const jf = path.join(s.dir, 'other-jwks.json');
    fs.writeFileSync(jf, JSON.stringify({ keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'other', alg: 'ES256' }] }));
    r = await ctl('audit', 'verify', '--tenant', 'law', '--jwks', jf);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /BAD CHECKPOINT: .*not in the keys given/);
  });

  test('kill -9 while writing, and a torn last line: resumed with no duplicate and no gap', async () => {
    // The stack's own instance stops cleanly first (what it ran is
    // counted, coverage included); the one killed is a fresh one.
    await s.sekisho.stop('SIGTERM');
    s.current = await startAgain();
    // 3,000 events in one go, the writer killed while it copies them.
    const body = JSON.stringify({ id: 'bulk', type: 'policy_changed', tenant: 'law', user: { id: null, email: null },
      ip: null, user_agent: null, device: null, details: {} });
    await s.redis.cli('EVAL', "for i=1,3000 do redis.call('XADD', KEYS[1], '*', 'e', ARGV[1]) end", '1', STREAM('law'), body);
    await waitFor(() => lines('law').length > 0 && fs.readdirSync(path.join(s.auditDir, 'law')).length > 0
      && lines('law').filter((l) => l.entry.event?.id === 'bulk').length > 50, { timeoutMs: 20_000, intervalMs: 5, what: 'bulk writing under way' });
    await s.current.stop('SIGKILL');
    const before = lines('law').filter((l) => l.entry.event?.id === 'bulk').length;
    // A write that never completed.
    const newest = path.join(s.auditDir, 'law', lines('law').at(-1).file);
    fs.appendFileSync(newest, '{"seq":99999,"prev":"00');
    s.current = await startAgain();
    await caughtUp('law', 60_000);
    const ls = lines('law');
    const ids = await streamIds('law');
    const have = ls.filter((l) => l.entry.kind === 'event').map((l) => l.entry.cursor);
    assert.equal(have.length, ids.length, `events ${have.length} vs stream ${ids.length} (${before} bulk before the kill)`);
    assert.deepEqual(have, ids, 'no duplicate, no gap');
    const torn = fs.readdirSync(path.join(s.auditDir, 'law')).filter((f) => f.includes('.torn-'));
    assert.equal(torn.length, 1, 'the torn bytes kept aside');
    assert.match(s.current.stderr(), /torn last line/);
    const r = await ctl('audit', 'verify', '--tenant', 'law');
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test('a stream trimmed past the writer: a gap entry, logged loudly', async () => {
    await s.current.stop();
    const ev = JSON.stringify({ id: 'lost', type: 'lockout', tenant: 'shop', user: { id: null, email: null },
      ip: null, user_agent: null, device: null, details: {} });
    for (let i = 0; i < 3; i++) await s.redis.cli('XADD', STREAM('shop'), '*', 'e', ev);
    await s.redis.cli('XTRIM', STREAM('shop'), 'MAXLEN', '1');
    s.current = await startAgain();
    await caughtUp('shop');
    const gap = lines('shop').find((l) => l.entry.kind === 'gap');
    assert.ok(gap, 'a gap entry');
    assert.equal(gap.entry.lost, 2, 'two of the three new events were trimmed unwritten');
    const kept = lines('shop').filter((l) => l.entry.kind === 'event');
    assert.equal(kept.at(-1).entry.cursor, (await streamIds('shop')).at(-1));
    assert.equal(kept.at(-1).entry.n, 4, 'the fourth event ever added');
    assert.match(s.current.stderr(), /audit: shop: GAP: 2 events after stream entry \d+-\d+ were trimmed from Redis/);
    assert.ok(await metric(s.law, 'sekisho_audit_gaps_total', { tenant: 'shop' }) >= 1);
    const r = await ctl('audit', 'verify', '--tenant', 'shop');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /GAP recorded by the writer/);
  });

  test('two instances on one directory: one writes, the other takes over', async () => {
    const port = await freePort();
    const cfg2 = path.join(s.dir, 'second.yaml');
    fs.writeFileSync(cfg2, fs.readFileSync(s.cfgFile, 'utf8').replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`));
    const base2 = `http://127.0.0.1:${port}`;
    const second = await startAgain(cfg2, base2);
    try {
      await waitFor(async () => await metric(base2, 'sekisho_audit_writing', { tenant: 'law' }) === 0
        && await metric(s.law, 'sekisho_audit_writing', { tenant: 'law' }) === 1, { what: 'one writer' });
      await s.current.stop('SIGKILL');
      s.current = undefined;
      await waitFor(async () => await metric(base2, 'sekisho_audit_writing', { tenant: 'law' }) === 1,
        { timeoutMs: 20_000, what: 'the second instance takes over' });
      const r = await fetch(`${base2}/admin/v1/tenants/law/policy`, {
        method: 'PATCH',
        headers: { authorization: `Basic ${Buffer.from(`${OPS.id}:${OPS.secret}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ session: { idle_timeout: '40m' } }),
      });
      assert.equal(r.status, 200);
      await caughtUp('law');
      assert.deepEqual(lines('law').filter((l) => l.entry.kind === 'event').map((l) => l.entry.cursor), await streamIds('law'));
    } finally {
      await second.stop();
    }
    const v = await ctl('audit', 'verify');
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  test('export gives the events of a range of days', async () => {
    const r = await ctl('audit', 'export', '--tenant', 'law', '--from', oldDays[0], '--to', oldDays[1]);
    assert.equal(r.code, 0, r.stderr);
    const evs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(evs.map((e) => e.id), ['old-0', 'old-1', 'old-2', 'old-3', 'old-4']);
    assert.ok(evs.every((e) => e.time && e.cursor && e.tenant === 'law'));
    const t = await ctl('audit', 'export', '--tenant', 'law', '--from', day(Date.now()));
    assert.equal(t.code, 0, t.stderr);
    assert.ok(!t.stdout.includes('"old-'));
    assert.ok(t.stdout.includes('"role_changed"'));
    assert.equal((await ctl('audit', 'export')).code, 2, 'export needs --tenant');
  });

  test('retention removes the old days, records it, and verify passes after', async () => {
    const cfg = fs.readFileSync(s.cfgFile, 'utf8').replace('  checkpoint_every: 5\n', '  checkpoint_every: 5\n  retention: 1d\n');
    fs.writeFileSync(s.cfgFile, cfg);
    s.current = await startAgain();
    await waitFor(() => /retention: removed 2 day files/.test(s.current.stderr()), { what: 'retention at start' });
    const files = fs.readdirSync(path.join(s.auditDir, 'law')).filter((f) => f.endsWith('.jsonl'));
    for (const d of oldDays) assert.ok(!files.includes(`${d}.jsonl`), `${d} removed`);
    const rec = lines('law').find((l) => l.entry.kind === 'retention').entry;
    assert.deepEqual(rec.removed, oldDays.map((d) => `${d}.jsonl`));
    assert.equal(rec.first.file, lines('law')[0].file);
    assert.equal(rec.first.prev, lines('law')[0].entry.prev);
    const r = await ctl('audit', 'verify');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /retention removed 2 files/);
  });

  test('no line holds a token, a cookie, a client secret or the master key', async () => {
    assert.ok(secrets.length >= 4, 'secrets collected');
    for (const t of ['law', 'shop']) {
      const d = path.join(s.auditDir, t);
      for (const f of fs.readdirSync(d)) {
        const text = fs.readFileSync(path.join(d, f), 'utf8');
        for (const sec of secrets.filter((x) => x && x.length >= 16)) {
          assert.ok(!text.includes(sec), `${t}/${f} holds a secret (${sec.slice(0, 6)}...)`);
        }
      }
    }
  });
});

// The admin API (/admin/v1) and the runtime tenant policy in Redis (issue
// 11), end to end: real redis-server, the test IdP, two sekisho instances
// on one Redis. Tenant "default" (mfa: admins, alice is an admin) and
// tenant "other"; http.trusted_proxies: 127.0.0.1, so X-Forwarded-For
// presents other client addresses. Covers:
// - who may call it: no credentials (401), a non-admin's token, an admin
//   whose second factor is older than mfa_max_age, a disabled admin's
//   unexpired token, an admin from outside
//   the admin allowlist, an admin of another tenant (403); a client
//   without admin: true, an admin client of another tenant (403), a wrong
//   client secret (401); an admin client and a fresh admin are let in
// - an invalid policy (bad CIDR, unknown key, bad duration) refused with
//   every problem named, the stored policy unchanged
// - GET / PUT / PATCH round trip (merge patch; null goes back to the
//   file's value); durations canonical
// - new sessions take the tenant's session lifetimes from the policy
// - a change that would lock the calling admin out refused (409) unless
//   ?force=true
// - a change seen by the second instance within a second (its
//   sekisho_policy_version, then its sign-in behaviour: mfa: required)
// - requests served while snapshots are replaced under them (for ASan and
//   TSan runs)
// - events: policy_changed with actor, address, before and after, and no
//   secret; GET .../events pages
// - malformed JSON, a wrong content type, a huge body: refused
// - sekishoctl policy get|set|patch: the same checks and event; exit codes
// - Redis stopped: the admin API answers 503, the daemon keeps serving
//   with the last policy (sekisho_policy_stale 1)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';

import {
  SEKISHO_BIN, signIn, spawnTracked, startStack, waitFor, metric, masterKeyFile, freePort,
} from './harness.mjs';
import { CookieJar, enrol, follow, sessionKeyOf, redisTime } from './mfa-harness.mjs';

const OPS = { id: 'ops', secret: 'ops-admin-secret-0123456789abcdef-0123456789' };
const OPS_OTHER = { id: 'ops-other', secret: 'ops-other-secret-0123456789abcdef-012345678' };
const REPORTER = { id: 'reporter', secret: 'reporter-secret-0123456789abcdef-0123456789' };

let stack;
let second; // { base, stop }
const alice = { jar: new CookieJar() };
const bob = { jar: new CookieJar() };

function basic(c) {
  return `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
}

async function api(method, p, { auth, body, ip, base = stack.sekishoBase, type = 'application/json', raw } = {}) {
  const headers = {};
  if (auth) headers.authorization = auth;
  if (ip) headers['x-forwarded-for'] = ip;
  if (body !== undefined || raw !== undefined) headers['content-type'] = type;
  const r = await fetch(`${base}/admin/v1${p}`, {
    method, headers, body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text, headers: r.headers };
}

/** The access token /auth/verify hands the jar's session, from ip (the
 * admin allowlist binds /auth/verify too). */
async function tokenOf(jar, ip) {
  const headers = ip ? { 'x-forwarded-for': ip } : {};
  const r = await follow(jar, `${stack.base}/auth/verify`, { headers });
  assert.equal(r.status, 200, 'signed in');
  return r.headers.get('x-auth-request-access-token');
}

const policy = (t = 'default') => `/tenants/${t}/policy`;

/** Waits until an instance has the tenant's stored version in force. */
function inForce(base, version, tenant = 'default') {
  return waitFor(async () => await metric(base, 'sekisho_policy_version', { tenant }) === version,
    { timeoutMs: 3000, intervalMs: 20, what: `policy version ${version} in force at ${base}` });
}

before(async () => {
  const dir = fs.mkdtempSync('/tmp/sekisho-it-admin-');
  const secret = (c) => {
    const f = path.join(dir, `${c.id}.secret`);
    fs.writeFileSync(f, `${c.secret}\n`, { mode: 0o600 });
    return f;
  };
  const tenantsYaml = `  - id: default
    display_name: "Test Office"
    providers: [google]
    mfa: admins
    admin_emails: ["alice@example.com"]
  - id: other
    display_name: "Other Office"
    hostnames: ["other.example"]
    providers: [google]
    admin_emails: ["alice@example.com"]
`;
  const extraConfig = `keys:
  master_key_file: ${masterKeyFile()}
clients:
  - client_id: ${OPS.id}
    client_secret_file: ${secret(OPS)}
    tenants: [default]
    admin: true
  - client_id: ${OPS_OTHER.id}
    client_secret_file: ${secret(OPS_OTHER)}
    tenants: [other]
    admin: true
  - client_id: ${REPORTER.id}
    client_secret_file: ${secret(REPORTER)}
    tenants: all
`;
  stack = await startStack({ tenantsYaml, extraConfig, httpYaml: 'trusted_proxies: ["127.0.0.1/32"]' });
  // The second instance: the same configuration on another port.
  const port = await freePort();
  const cfg = fs.readFileSync(stack.sekisho.cfgFile, 'utf8')
    .replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`);
  const cfgFile = path.join(dir, 'second.yaml');
  fs.writeFileSync(cfgFile, cfg);
  const child = spawnTracked(SEKISHO_BIN, ['-c', cfgFile], { name: 'sekisho-2' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (!child.running()) throw new Error(`second sekisho exited: ${child.stderr()}`);
    return (await fetch(`${base}/healthz`).catch(() => ({ status: 0 }))).status === 200;
  }, { what: 'second sekisho' });
  second = { base, stop: () => child.stop('SIGTERM', 5000), stderr: child.stderr, running: child.running };

  // alice: an admin with her second factor; bob: a member.
  await signIn(alice.jar, stack.base);
  const e = await enrol(stack, alice.jar);
  assert.equal(e.res.status, 200, 'enrolled');
  const { res } = await signIn(bob.jar, stack.base, { login: 'bob', password: 'bob-password' });
  assert.equal(res.status, 302);
});

after(async () => {
  await second?.stop();
  await stack?.stop();
});

describe('admin API: who may call it', () => {
  test('no credentials: 401 with both schemes offered', async () => {
    const r = await api('GET', policy());
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'unauthorized');
    assert.match(r.headers.get('www-authenticate'), /Bearer/);
    assert.match(r.headers.get('www-authenticate'), /Basic/);
    const g = await api('GET', policy(), { auth: 'Bearer not-a-token' });
    assert.equal(g.status, 401);
    assert.equal(g.json.error, 'invalid_token');
  });

  test('an admin with a recent second factor is let in', async () => {
    const tok = await tokenOf(alice.jar);
    const claims = jose.decodeJwt(tok);
    assert.deepEqual(claims.roles, ['admin']);
    assert.equal(typeof claims.mfa_time, 'number');
    const r = await api('GET', policy(), { auth: `Bearer ${tok}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tenant, 'default');
    assert.equal(r.json.policy.mfa, 'admins');
    assert.deepEqual(r.json.overrides, {});
  });

  test('a member without the admin role: 403', async () => {
    const tok = await tokenOf(bob.jar);
    const r = await api('GET', policy(), { auth: `Bearer ${tok}` });
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'forbidden');
  });

  test('an admin of another tenant: 403, whatever the Host', async () => {
    const tok = await tokenOf(alice.jar);
    const r = await api('GET', policy('other'), { auth: `Bearer ${tok}` });
    assert.equal(r.status, 403);
    const u = await api('GET', policy('nosuch'), { auth: `Bearer ${tok}` });
    assert.equal(u.status, 404);
  });

  test('an admin whose second factor is older than mfa_max_age: 403 mfa_required', async () => {
    const key = sessionKeyOf(stack, alice.jar);
    const was = (await stack.redis.cli('HGET', key, 'mfa_at')).trim();
    const now = await redisTime(stack.redis);
    await stack.redis.cli('HSET', key, 'mfa_at', String(now - 3600));
    try {
      const tok = await tokenOf(alice.jar);
      const r = await api('GET', policy(), { auth: `Bearer ${tok}` });
      assert.equal(r.status, 403);
      assert.equal(r.json.error, 'mfa_required');
    } finally {
      await stack.redis.cli('HSET', key, 'mfa_at', was);
    }
    const ok = await api('GET', policy(), { auth: `Bearer ${await tokenOf(alice.jar)}` });
    assert.equal(ok.status, 200);
  });

  test('clients: admin: true for its tenants only', async () => {
    assert.equal((await api('GET', policy(), { auth: basic(OPS) })).status, 200);
    const rep = await api('GET', policy(), { auth: basic(REPORTER) });
    assert.equal(rep.status, 403, 'a client without admin: true');
    const oth = await api('GET', policy(), { auth: basic(OPS_OTHER) });
    assert.equal(oth.status, 403, 'an admin client of another tenant');
    assert.equal((await api('GET', policy('other'), { auth: basic(OPS_OTHER) })).status, 200);
    const bad = await api('GET', policy(), { auth: basic({ id: OPS.id, secret: `${OPS.secret}x` }) });
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error, 'invalid_client');
  });

  test('an admin from outside the admin allowlist: 403; inside: 200', async () => {
    const set = await api('PATCH', `${policy()}`, {
      auth: basic(OPS), body: { admin_ip_allowlist: ['10.9.0.0/16', '2001:db8::/32'] },
    });
    assert.equal(set.status, 200, set.text);
    await inForce(stack.sekishoBase, set.json.version);
    const tok = await tokenOf(alice.jar, '10.9.1.1');
    const out = await api('GET', policy(), { auth: `Bearer ${tok}`, ip: '10.8.0.1' });
    assert.equal(out.status, 403);
    assert.equal(out.json.error, 'ip_not_allowed');
    // The rightmost untrusted address counts, not a spoofed leftmost one.
    const spoof = await api('GET', policy(), { auth: `Bearer ${tok}`, ip: '10.9.0.1, 10.8.0.1' });
    assert.equal(spoof.status, 403);
    assert.equal((await api('GET', policy(), { auth: `Bearer ${tok}`, ip: '10.9.1.1' })).status, 200);
    assert.equal((await api('GET', policy(), { auth: `Bearer ${tok}`, ip: '2001:db8::5' })).status, 200);
    // From the socket's own address (no forwarded header), not allowed.
    assert.equal((await api('GET', policy(), { auth: `Bearer ${tok}` })).status, 403);
  });

  test('a change that would lock the admin out: 409 unless ?force=true', async () => {
    const tok = await tokenOf(alice.jar, '10.9.1.1');
    const body = { admin_ip_allowlist: ['10.10.0.0/16'] };
    const r = await api('PATCH', policy(), { auth: `Bearer ${tok}`, ip: '10.9.1.1', body });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error, 'would_lock_out');
    const still = await api('GET', policy(), { auth: basic(OPS) });
    assert.deepEqual(still.json.overrides.admin_ip_allowlist, ['10.9.0.0/16', '2001:db8::/32']);
    const f = await api('PATCH', `${policy()}?force=true`, { auth: `Bearer ${tok}`, ip: '10.9.1.1', body });
    assert.equal(f.status, 200, f.text);
    assert.deepEqual(f.json.policy.admin_ip_allowlist, ['10.10.0.0/16']);
    await inForce(stack.sekishoBase, f.json.version);
    assert.equal((await api('GET', policy(), { auth: `Bearer ${tok}`, ip: '10.9.1.1' })).status, 403);
    // The operator's client restores it (allowlists do not bind it).
    const back = await api('PATCH', policy(), { auth: basic(OPS), body: { admin_ip_allowlist: null } });
    assert.equal(back.status, 200);
    assert.deepEqual(back.json.policy.admin_ip_allowlist, []);
    await inForce(stack.sekishoBase, back.json.version);
    assert.equal((await api('GET', policy(), { auth: `Bearer ${tok}` })).status, 200);
  });
});

describe('policy documents', () => {
  test('an invalid policy: every problem named, nothing stored', async () => {
    const before = await api('GET', policy(), { auth: basic(OPS) });
    const r = await api('PUT', policy(), {
      auth: basic(OPS),
      body: {
        ip_allowlist: ['10.0.0.0/8', '300.1.1.1/8', '10.0.0.1/8'],
        bogus: 1,
        lockout: { window: '15x', max_failures: 0, nope: 1 },
        session: { idle_timeout: 'soon' },
        mfa: 'sometimes',
        providers: ['google', 'github'],
      },
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, 'invalid_request');
    assert.ok(r.json.error_description);
    const fields = r.json.fields.map((f) => f.field).sort();
    assert.deepEqual(fields, [
      'bogus', 'ip_allowlist[1]', 'ip_allowlist[2]', 'lockout.max_failures', 'lockout.nope',
      'lockout.window', 'mfa', 'session.idle_timeout',
    ].sort());
    for (const f of r.json.fields) assert.ok(f.problem.length > 5, `${f.field} explained`);
    const after = await api('GET', policy(), { auth: basic(OPS) });
    assert.deepEqual(after.json, before.json, 'unchanged');
    // providers: only the tenant's configured ones (checked once the rest is valid).
    const p = await api('PATCH', policy(), { auth: basic(OPS), body: { providers: ['github'] } });
    assert.equal(p.status, 400);
    assert.deepEqual(p.json.fields.map((f) => f.field), ['providers[0]']);
  });

  test('PUT, PATCH and GET round trip', async () => {
    const put = await api('PUT', policy(), {
      auth: basic(OPS),
      body: {
        ip_allowlist: ['10.0.0.0/8', '2001:DB8::/32'],
        lockout: { window: 600, max_failures: 7 },
        session: { idle_timeout: '120m' },
        membership: 'open',
      },
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json.overrides, {
      ip_allowlist: ['10.0.0.0/8', '2001:DB8::/32'],
      lockout: { max_failures: 7, window: '10m' },
      membership: 'open',
      session: { idle_timeout: '2h' },
    });
    assert.equal(put.json.policy.session.idle_timeout, '2h');
    assert.equal(put.json.policy.session.absolute_timeout, '7d', 'from the file');
    assert.equal(put.json.policy.lockout.duration, '15m', 'from the file');
    const v1 = put.json.version;
    const patch = await api('PATCH', policy(), {
      auth: basic(OPS), type: 'application/merge-patch+json',
      raw: JSON.stringify({ session: { idle_timeout: null }, lockout: { window: '5m' }, ip_allowlist: null }),
    });
    assert.equal(patch.status, 200, patch.text);
    assert.ok(patch.json.version > v1);
    assert.deepEqual(patch.json.overrides, { lockout: { max_failures: 7, window: '5m' }, membership: 'open' });
    assert.equal(patch.json.policy.session.idle_timeout, '36h', 'back to the file');
    assert.deepEqual(patch.json.policy.ip_allowlist, []);
    const get = await api('GET', policy(), { auth: basic(OPS) });
    assert.deepEqual(get.json, patch.json);
    // The same again changes nothing (no new version, no event).
    const same = await api('PATCH', policy(), { auth: basic(OPS), body: { membership: 'open' } });
    assert.equal(same.json.version, patch.json.version);
    const reset = await api('PUT', policy(), { auth: basic(OPS), body: {} });
    assert.deepEqual(reset.json.overrides, {});
  });

  test("new sessions take the tenant's session lifetimes", async () => {
    const r = await api('PATCH', policy(), {
      auth: basic(OPS), body: { session: { idle_timeout: '2h', absolute_timeout: '1d' } },
    });
    assert.equal(r.status, 200, r.text);
    await inForce(stack.sekishoBase, r.json.version);
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base, { login: 'bob', password: 'bob-password' });
    assert.equal(res.status, 302);
    const key = sessionKeyOf(stack, jar);
    assert.equal((await stack.redis.cli('HGET', key, 'idle')).trim(), '7200');
    const ttl = Number((await stack.redis.cli('TTL', key)).trim());
    assert.ok(ttl > 7000 && ttl <= 7200, `ttl ${ttl}`);
    const back = await api('PATCH', policy(), { auth: basic(OPS), body: { session: null } });
    assert.equal(back.json.policy.session.idle_timeout, '36h');
  });

  test('malformed JSON, wrong content type, a huge body, an unknown path', async () => {
    const bad = await api('PUT', policy(), { auth: basic(OPS), raw: '{"mfa":' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_request');
    const dup = await api('PUT', policy(), { auth: basic(OPS), raw: '{"mfa":"optional","mfa":"required"}' });
    assert.equal(dup.status, 400);
    const notObj = await api('PUT', policy(), { auth: basic(OPS), body: ['x'] });
    assert.equal(notObj.status, 400);
    const ct = await api('PUT', policy(), { auth: basic(OPS), type: 'text/plain', raw: '{}' });
    assert.equal(ct.status, 415);
    const ct2 = await api('PUT', policy(), { auth: basic(OPS), type: 'application/jsonx', raw: '{}' });
    assert.equal(ct2.status, 415);
    const ct3 = await api('PUT', policy(), { auth: basic(OPS), type: 'application/json; charset=utf-8', raw: '{}' });
    assert.equal(ct3.status, 200);
    const huge = await api('PUT', policy(), {
      auth: basic(OPS), raw: JSON.stringify({ ip_allowlist: Array(20000).fill('10.0.0.0/8') }),
    }).catch((e) => ({ status: 413, e }));
    assert.equal(huge.status, 413);
    assert.equal((await api('GET', '/tenants/default/nothing', { auth: basic(OPS) })).status, 404);
    assert.equal((await api('DELETE', policy(), { auth: basic(OPS) })).status, 405);
  });
});

describe('propagation and events', () => {
  test('a change is in force on the second instance within a second', async () => {
    const before = await api('GET', policy(), { auth: basic(OPS) });
    const t0 = Date.now();
    const r = await api('PATCH', policy(), { auth: basic(OPS), body: { mfa: 'required' } });
    assert.equal(r.status, 200, r.text);
    const version = r.json.version;
    assert.ok(version > before.json.version);
    let seen;
    await waitFor(async () => {
      if (await metric(second.base, 'sekisho_policy_version', { tenant: 'default' }) === version) {
        seen = Date.now() - t0;
        return true;
      }
      return false;
    }, { timeoutMs: 5000, intervalMs: 20, what: 'the second instance to apply the policy' });
    process.stderr.write(`# policy propagation to the second instance: ${seen} ms\n`);
    assert.ok(seen < 1000, `applied after ${seen} ms`);
    // And it acts on it: bob (no factor) must now enrol on the second instance.
    const jar = new CookieJar();
    const { res } = await signIn(jar, second.base, { login: 'bob', password: 'bob-password' });
    assert.equal(new URL(res.location, second.base).pathname, '/mfa/enroll');
    const back = await api('PATCH', policy(), { auth: basic(OPS), body: { mfa: null } });
    assert.equal(back.json.policy.mfa, 'admins');
  });

  test('requests keep being served while snapshots are replaced', async () => {
    let stop = false;
    let served = 0;
    const load = async () => {
      while (!stop) {
        const r = await fetch(`${second.base}/healthz`);
        await r.arrayBuffer();
        assert.equal(r.status, 200);
        served++;
      }
    };
    const workers = Array.from({ length: 8 }, load);
    let last;
    for (let i = 0; i < 12; i++) {
      last = await api('PATCH', policy(), { auth: basic(OPS), body: { rate_limits: { login: 1000 + i } } });
      assert.equal(last.status, 200);
      await sleep(60);
    }
    await inForce(second.base, last.json.version);
    stop = true;
    await Promise.all(workers);
    assert.ok(served > 20, `served ${served}`);
    await api('PATCH', policy(), { auth: basic(OPS), body: { rate_limits: null } });
  });

  test('events: who, from where, before and after, no secret', async () => {
    const tok = await tokenOf(alice.jar);
    const ch = await api('PATCH', policy(), { auth: `Bearer ${tok}`, ip: '192.0.2.7', body: { membership: 'invite_only' } });
    assert.equal(ch.status, 200, ch.text);
    const ev = await api('GET', '/tenants/default/events?limit=5', { auth: `Bearer ${tok}` });
    assert.equal(ev.status, 200, ev.text);
    const e = ev.json.events[0];
    assert.equal(e.type, 'policy_changed');
    assert.equal(e.ip, '192.0.2.7');
    assert.equal(e.details.actor.type, 'user');
    assert.equal(e.details.actor.id, jose.decodeJwt(tok).sub);
    assert.equal(e.details.actor.email, 'alice@example.com');
    assert.equal(e.details.via, 'admin_api');
    assert.equal(e.details.after.membership, 'invite_only');
    assert.equal(e.details.before.membership, undefined);
    assert.equal(e.details.version, ch.json.version);
    const byClient = ev.json.events.find((x) => x.details.actor.type === 'client');
    assert.equal(byClient.details.actor.id, 'ops');
    for (const s of [tok, OPS.secret, alice.jar.get(stack.base, 'sekisho')]) {
      assert.ok(!ev.text.includes(s), 'no secret in events');
    }
    // Paging.
    const p1 = await api('GET', '/tenants/default/events?limit=2', { auth: basic(OPS) });
    assert.equal(p1.json.events.length, 2);
    const p2 = await api('GET', `/tenants/default/events?limit=2&before=${p1.json.next_before}`, { auth: basic(OPS) });
    assert.equal(p2.status, 200);
    assert.notEqual(p2.json.events[0].id, p1.json.events[0].id);
    assert.equal((await api('GET', '/tenants/default/events?limit=0', { auth: basic(OPS) })).status, 400);
    assert.equal((await api('GET', '/tenants/default/events?before=x', { auth: basic(OPS) })).status, 400);
    // Another tenant's admin client sees nothing of this tenant's.
    assert.equal((await api('GET', '/tenants/default/events', { auth: basic(OPS_OTHER) })).status, 403);
    await api('PUT', policy(), { auth: basic(OPS), body: {} });
  });

  test('sekishoctl policy get|set|patch', () => {
    const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');
    const ctl = (args, input) => spawnSync(CTL, args, { input, encoding: 'utf8', timeout: 30_000 });
    const c = ['-c', stack.sekisho.cfgFile, '--tenant', 'default'];
    const g = ctl(['policy', 'get', ...c, '--json']);
    assert.equal(g.status, 0, g.stderr);
    assert.equal(JSON.parse(g.stdout).tenant, 'default');
    const t = ctl(['policy', 'get', ...c]);
    assert.equal(t.status, 0);
    assert.match(t.stdout, /mfa\s+admins\s+\(file\)/);
    const bad = ctl(['policy', 'set', ...c, '-'], JSON.stringify({ ip_allowlist: ['10.0.0.0/33'], lockout: { duration: 'x' } }));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /ip_allowlist\[0\]: /);
    assert.match(bad.stderr, /lockout\.duration: /);
    const v0 = JSON.parse(g.stdout).version;
    assert.equal(JSON.parse(ctl(['policy', 'get', ...c, '--json']).stdout).version, v0, 'unchanged');
    const p = ctl(['policy', 'patch', ...c, '--json'], JSON.stringify({ rate_limits: { login: 120 } }));
    assert.equal(p.status, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).policy.rate_limits.login, 120);
    assert.match(ctl(['policy', 'get', ...c]).stdout, /rate_limits\.login\s+120\s+\(redis\)/);
    assert.equal(ctl(['policy', 'get', '-c', stack.sekisho.cfgFile]).status, 2, 'no --tenant');
    assert.equal(ctl(['policy', 'frob', ...c]).status, 2);
    assert.equal(ctl(['policy', 'get', '-c', stack.sekisho.cfgFile, '--tenant', 'nosuch']).status, 1);
  });

  test('the sekishoctl change is an event with its actor', async () => {
    const ev = await api('GET', '/tenants/default/events?limit=1', { auth: basic(OPS) });
    const e = ev.json.events[0];
    assert.equal(e.type, 'policy_changed');
    assert.equal(e.details.via, 'sekishoctl');
    assert.equal(e.details.actor.type, 'sekishoctl');
    assert.match(e.details.actor.id, /^sekishoctl:/);
    assert.deepEqual(e.details.after, { rate_limits: { login: 120 } });
  });

  test("a disabled administrator's unexpired token is refused at once", async () => {
    const tok = await tokenOf(alice.jar);
    assert.equal((await api('GET', policy(), { auth: `Bearer ${tok}` })).status, 200);
    const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');
    const d = spawnSync(CTL, ['users', 'disable', '-c', stack.sekisho.cfgFile, jose.decodeJwt(tok).sub],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(d.status, 0, d.stderr);
    const r = await api('GET', policy(), { auth: `Bearer ${tok}` });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_token');
  });

  test('Redis down: 503 from the admin API, the last policy still in force', async () => {
    const r = await api('PATCH', policy(), { auth: basic(OPS), body: { session: { idle_timeout: '3h' } } });
    assert.equal(r.status, 200);
    await inForce(stack.sekishoBase, r.json.version);
    await stack.redis.kill();
    try {
      const g = await api('GET', policy(), { auth: basic(OPS) });
      assert.equal(g.status, 503);
      assert.equal(g.json.error, 'temporarily_unavailable');
      const t = await api('GET', policy(), { auth: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.x' });
      assert.ok([401, 503].includes(t.status));
      await waitFor(async () => await metric(stack.sekishoBase, 'sekisho_policy_stale') === 1,
        { timeoutMs: 3000, what: 'stale' });
      assert.equal(await metric(stack.sekishoBase, 'sekisho_policy_version', { tenant: 'default' }), r.json.version);
      assert.equal((await fetch(`${stack.sekishoBase}/healthz`)).status, 200);
      await sleep(300);
      assert.ok(stack.sekisho.running(), 'still running');
    } finally {
      await stack.redis.restart();
    }
    // An empty Redis: back to the file's values.
    await waitFor(async () => await metric(stack.sekishoBase, 'sekisho_policy_version', { tenant: 'default' }) === 0
      && await metric(stack.sekishoBase, 'sekisho_policy_stale') === 0, { timeoutMs: 5000, what: 'reloaded' });
  });

  test('the second instance stops cleanly (no leak of snapshots under ASan)', async () => {
    assert.ok(second.running());
    const { code } = await second.stop();
    assert.equal(code, 0, second.stderr());
    assert.doesNotMatch(second.stderr(), /Sanitizer|runtime error/);
  });
});

// Hooks (issue 12; docs/hooks.md), end to end: real redis-server, the
// daemon, node HTTP receivers on loopback; events raised by existing paths
// (an admin policy PATCH raises policy_changed, an invitation
// user_invited). Covers:
// - a webhook's signature verified by a receiver with the docs' algorithm;
//   X-Sekisho-Event and X-Sekisho-Delivery; the body is the event with
//   its time
// - Slack's {"text"} and Teams' Adaptive Card message, parsed by receivers
// - a receiver that is down and comes back gets every event, each
//   delivery id processed once (the admin API showed them retrying)
// - a 302 to another host is a failure, never followed
// - an answer without end (2xx) is cut at 64 KiB and counts as delivered
// - retry_for: 5s: the delivery becomes a dead letter, the admin API and
//   sekishoctl show it, a retry delivers it once the receiver is up
// - tenants: another tenant's hook never gets this tenant's events; its
//   admin never sees this tenant's hooks, nor ours its
// - a hanging receiver does not slow the request that raised the event,
//   nor a sign-in (its login_succeeded and new_device go to a hanging hook)
//   (figures against a tenant without hooks, a generous bound)
// - /metrics: deliveries and queue depth
// - no log line, header, body or event holds the hook secret or the
//   secret parts of the Slack and Teams URLs
// - Redis hanging (SIGSTOP) and Redis killed and started again: the
//   daemon stays up, a delivery queued before is delivered after, once,
//   and so are events raised after
// - kill -9 of an instance that took deliveries: a second instance
//   delivers them after their lease
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  SEKISHO_BIN, spawnTracked, startStack, waitFor, metric, freePort, signIn, CookieJar,
} from './harness.mjs';

const SECRET = 'whsec-hooks-test-5f1c0e9a7b3d4c2e8a6b';
const SLACK_SECRET = 'SLACKSECRETPATHb7e1';
const TEAMS_SECRET = 'TEAMSSECRETPATHc9d2';
const OPS = { id: 'ops', secret: 'ops-admin-secret-0123456789abcdef-0123456789' };
const OPS_OTHER = { id: 'ops-other', secret: 'ops-other-secret-0123456789abcdef-012345678' };
const SEKISHOCTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

/** The receiver's check, as docs/hooks.md shows it. */
function verify(secret, header, rawBody, toleranceS = 300) {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  if (Math.abs(Date.now() / 1000 - Number(m[1])) > toleranceS) return false;
  const want = crypto.createHmac('sha256', secret).update(`${m[1]}.${rawBody}`).digest();
  return crypto.timingSafeEqual(want, Buffer.from(m[2], 'hex'));
}

/**
 * A receiver on host:port. mode: ok (204), fail (500), hang (never
 * answers), redirect (302 to location). Records every request; processed
 * holds each delivery id once (a receiver de-duplicates on it), dups
 * counts the repeats.
 */
async function receiver({ host = '127.0.0.1', mode = 'ok', location } = {}) {
  const r = {
    host, mode, location, requests: [], processed: new Map(), dups: 0, sockets: new Set(), hanging: [],
  };
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const rec = { headers: req.headers, raw, path: req.url, at: Date.now() };
      r.requests.push(rec);
      if (r.mode === 'hang') { r.hanging.push(res); return; }
      if (r.mode === 'fail') { res.writeHead(500).end('nope'); return; }
      if (r.mode === 'redirect') { res.writeHead(302, { location: r.location }).end(); return; }
      if (r.mode === 'huge') {
        // 2xx, then a body without end (bounded: 256 MiB at most).
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        r.sent = 0;
        const pump = () => {
          while (!res.destroyed && r.sent < 256 * 1024 * 1024) {
            r.sent += chunk.length;
            if (!res.write(chunk)) { res.once('drain', pump); return; }
          }
          res.end();
        };
        res.on('close', () => { r.closedAt = Date.now(); });
        pump();
        return;
      }
      const id = req.headers['x-sekisho-delivery'] ?? JSON.parse(raw).id ?? raw;
      if (r.processed.has(id)) r.dups++;
      else r.processed.set(id, rec);
      res.writeHead(204).end();
    });
  };
  r.port = await freePort();
  r.up = () => new Promise((resolve, reject) => {
    r.server = http.createServer(handler);
    r.server.on('connection', (s) => { r.sockets.add(s); s.on('close', () => r.sockets.delete(s)); });
    r.server.once('error', reject);
    r.server.listen(r.port, host, resolve);
  });
  r.down = () => new Promise((resolve) => {
    for (const s of r.sockets) s.destroy();
    r.hanging = [];
    r.server.close(() => resolve());
  });
  r.url = (p) => `http://${host}:${r.port}${p}`;
  await r.up();
  return r;
}

let stack;
let dir;
const rx = {};
let second;

function basic(c) {
  return `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
}

async function api(method, p, { auth = basic(OPS), body, base = stack.sekishoBase } = {}) {
  const headers = { authorization: auth };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${base}/admin/v1${p}`, {
    method, headers, body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text };
}

let idle = 1;
/** A policy change in tenant t: raises policy_changed. Returns its event id. */
async function policyChange(t = 'default', base) {
  idle += 1;
  const r = await api('PATCH', `/tenants/${t}/policy`, { body: { session: { idle_timeout: `${idle}h` } }, base });
  assert.equal(r.status, 200, r.text);
  const ev = await api('GET', `/tenants/${t}/events?limit=5`, { base });
  const e = ev.json.events.find((x) => x.type === 'policy_changed');
  assert.ok(e, 'policy_changed recorded');
  return e.id;
}

function hooksOf(t = 'default', auth) {
  return api('GET', `/tenants/${t}/hooks`, { auth });
}

before(async () => {
  dir = fs.mkdtempSync('/tmp/sekisho-it-hooks-');
  const secret = (name, value) => {
    const f = path.join(dir, `${name}.secret`);
    fs.writeFileSync(f, `${value}\n`, { mode: 0o600 });
    return f;
  };
  rx.wh = await receiver();
  rx.slack = await receiver();
  rx.teams = await receiver();
  rx.other = await receiver();
  rx.dead = await receiver({ mode: 'fail' });
  rx.hang = await receiver({ mode: 'hang' });
  rx.signin = await receiver();
  // The redirect's target: another host (127.0.0.2) that must never be
  // reached.
  rx.elsewhere = await receiver({ host: '127.0.0.2' });
  rx.redir = await receiver({ mode: 'redirect', location: rx.elsewhere.url('/stolen') });
  rx.huge = await receiver({ mode: 'huge' });
  const whSecret = secret('wh', SECRET);
  const hooksYaml = `hooks:
  - id: wh
    type: webhook
    url: "${rx.wh.url('/in')}"
    secret_file: ${whSecret}
    tenants: [default]
    timeout: 2s
  - id: chat
    type: slack
    url: "${rx.slack.url(`/services/T0/B0/${SLACK_SECRET}`)}"
    tenants: [default]
    events: [policy_changed]
  - id: msteams
    type: teams
    url: "${rx.teams.url(`/webhookb2/${TEAMS_SECRET}`)}"
    tenants: [default]
    events: [policy_changed]
  - id: redir
    type: webhook
    url: "${rx.redir.url('/in')}"
    secret_file: ${whSecret}
    tenants: [default]
    events: [policy_changed]
  - id: dead
    type: webhook
    url: "${rx.dead.url('/in')}"
    secret_file: ${whSecret}
    tenants: [default]
    events: [user_invited]
    retry_for: 5s
    timeout: 1s
  - id: other
    type: webhook
    url: "${rx.other.url('/in')}"
    secret_file: ${whSecret}
    tenants: [other]
  - id: hang
    type: webhook
    url: "${rx.hang.url('/in')}"
    secret_file: ${whSecret}
    tenants: [slow]
    timeout: 3s
  - id: huge
    type: webhook
    url: "${rx.huge.url('/in')}"
    secret_file: ${whSecret}
    tenants: [endless]
    events: [policy_changed]
    timeout: 20s
  - id: signin
    type: webhook
    url: "${rx.signin.url('/in')}"
    secret_file: ${whSecret}
    tenants: [default]
    events: [login_succeeded, new_device]
    timeout: 3s
`;
  const tenantsYaml = `  - id: default
    display_name: "Test Office"
    providers: [google]
  - id: other
    hostnames: ["other.example"]
    providers: [google]
  - id: slow
    hostnames: ["slow.example"]
    providers: [google]
  - id: quiet
    hostnames: ["quiet.example"]
    providers: [google]
  - id: endless
    hostnames: ["endless.example"]
    providers: [google]
`;
  const extraConfig = `clients:
  - client_id: ${OPS.id}
    client_secret_file: ${secret('ops', OPS.secret)}
    tenants: all
    admin: true
  - client_id: ${OPS_OTHER.id}
    client_secret_file: ${secret('ops-other', OPS_OTHER.secret)}
    tenants: [other]
    admin: true
${hooksYaml}`;
  // AOF fsync'd on every write: Redis killed and started again (below)
  // comes back with everything it had acknowledged.
  stack = await startStack({
    tenantsYaml, extraConfig, redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always'],
  });
});

after(async () => {
  await second?.stop('SIGTERM', 5000);
  await stack?.stop();
  for (const r of Object.values(rx)) await r.down().catch(() => {});
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('hooks: delivery', () => {
  test('a webhook: the event signed, the receiver verifies it', async () => {
    const id = await policyChange();
    await waitFor(() => rx.wh.processed.has(id), { timeoutMs: 10_000, what: 'webhook delivery' });
    const rec = rx.wh.processed.get(id);
    assert.equal(rec.headers['x-sekisho-event'], 'policy_changed');
    assert.equal(rec.headers['x-sekisho-delivery'], id);
    assert.equal(rec.headers['content-type'], 'application/json');
    assert.ok(verify(SECRET, rec.headers['x-sekisho-signature'], rec.raw), 'signature verifies');
    assert.ok(!verify(`${SECRET}x`, rec.headers['x-sekisho-signature'], rec.raw), 'not under another secret');
    assert.ok(!verify(SECRET, rec.headers['x-sekisho-signature'], `${rec.raw} `), 'not for another body');
    // The shell receiver of docs/hooks.md, as written there.
    const doc = fs.readFileSync(new URL('../../docs/hooks.md', import.meta.url), 'utf8');
    const snippet = /```sh\n([\s\S]*?)```/.exec(doc)[1];
    const wd = fs.mkdtempSync(path.join(dir, 'sh-'));
    fs.writeFileSync(path.join(wd, 'body.json'), rec.raw);
    fs.writeFileSync(path.join(wd, 'ops-hook.secret'), `${SECRET}\n`);
    const sh = (sig) => spawnSync('sh', ['-c', snippet], { cwd: wd, env: { ...process.env, SIG: sig }, encoding: 'utf8' });
    assert.equal(sh(rec.headers['x-sekisho-signature']).stdout.trim(), 'verified');
    const sig = rec.headers['x-sekisho-signature'];
    assert.equal(sh(`${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`).stdout.trim(), '', 'one digit changed');
    const ev = JSON.parse(rec.raw);
    assert.equal(ev.id, id);
    assert.equal(ev.type, 'policy_changed');
    assert.equal(ev.tenant, 'default');
    assert.match(ev.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(ev.cursor, undefined);
  });

  test('Slack and Teams: their own message formats', async () => {
    const id = await policyChange();
    await waitFor(() => rx.slack.requests.length > 0 && rx.teams.requests.length > 0,
      { timeoutMs: 10_000, what: 'slack and teams deliveries' });
    const s = JSON.parse(rx.slack.requests.at(-1).raw);
    assert.equal(typeof s.text, 'string');
    assert.match(s.text, /policy_changed in default/);
    assert.match(s.text, /By: ops/);
    assert.equal(rx.slack.requests.at(-1).headers['content-type'], 'application/json');
    const t = JSON.parse(rx.teams.requests.at(-1).raw);
    assert.equal(t.type, 'message');
    assert.equal(t.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    const card = t.attachments[0].content;
    assert.equal(card.type, 'AdaptiveCard');
    assert.equal(card.body[0].type, 'TextBlock');
    assert.match(card.body[0].text, /policy_changed/);
    const facts = Object.fromEntries(card.body[1].facts.map((f) => [f.title, f.value]));
    assert.equal(facts.Tenant, 'default');
    assert.equal(facts.Event, 'policy_changed');
    // Neither carries the signature headers of a webhook.
    assert.equal(rx.slack.requests.at(-1).headers['x-sekisho-signature'], undefined);
    assert.ok(id);
  });

  test('a receiver down then back gets every event, each once', async () => {
    await rx.wh.down();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await policyChange());
    // The admin API shows them failing and waiting for their retry.
    await waitFor(async () => {
      const h = (await hooksOf()).json.hooks.find((x) => x.id === 'wh');
      return h.state.retrying >= 3;
    }, { timeoutMs: 10_000, what: 'three deliveries retrying' });
    const h = (await hooksOf()).json.hooks.find((x) => x.id === 'wh');
    assert.ok(h.state.queued >= 3);
    assert.ok(h.state.last_failure);
    assert.match(h.state.last_error, /connect/i);
    await rx.wh.up();
    await waitFor(() => ids.every((id) => rx.wh.processed.has(id)),
      { timeoutMs: 40_000, intervalMs: 200, what: 'every event after the receiver came back' });
    for (const id of ids) {
      assert.ok(verify(SECRET, rx.wh.processed.get(id).headers['x-sekisho-signature'], rx.wh.processed.get(id).raw));
    }
    await waitFor(async () => (await hooksOf()).json.hooks.find((x) => x.id === 'wh').state.queued === 0,
      { timeoutMs: 5000, what: 'queue empty' });
    const after2 = (await hooksOf()).json.hooks.find((x) => x.id === 'wh');
    assert.equal(after2.state.retrying, 0);
    assert.ok(after2.state.last_success);
    process.stderr.write(`# hooks: down/up: ${ids.length} events, ${rx.wh.dups} duplicate deliveries\n`);
  });

  test('an answer without end is cut at 64 KiB; its 2xx still counts', async () => {
    const t0 = Date.now();
    await policyChange('endless');
    await waitFor(async () => (await hooksOf('endless')).json.hooks.find((x) => x.id === 'huge')?.state.last_success,
      { timeoutMs: 15_000, what: 'the delivery to the endless receiver recorded' });
    const h = (await hooksOf('endless')).json.hooks.find((x) => x.id === 'huge');
    assert.equal(h.state.queued, 0);
    assert.equal(h.state.retrying, 0);
    await waitFor(() => rx.huge.closedAt, { timeoutMs: 5000, what: 'the connection cut' });
    // Cut long before the 20 s timeout, after little more than 64 KiB
    // (kernel socket buffers hold some megabytes of what was written).
    assert.ok(rx.huge.closedAt - t0 < 10_000, `cut after ${rx.huge.closedAt - t0} ms`);
    assert.ok(rx.huge.sent < 64 * 1024 * 1024, `the receiver wrote ${rx.huge.sent} bytes`);
    process.stderr.write(`# hooks: endless answer cut after ${rx.huge.closedAt - t0} ms, ${(rx.huge.sent / 1048576).toFixed(1)} MiB written by the receiver\n`);
  });

  test('a 302 to another host is not followed', async () => {
    await waitFor(() => rx.redir.requests.length > 0, { timeoutMs: 10_000, what: 'the redirecting receiver asked' });
    await sleep(500);
    assert.equal(rx.elsewhere.requests.length, 0, 'the other host never reached');
    await waitFor(async () => {
      const h = (await hooksOf()).json.hooks.find((x) => x.id === 'redir');
      return /HTTP 302/.test(h.state.last_error ?? '');
    }, { timeoutMs: 5000, what: 'the 302 recorded as a failure' });
  });
});

describe('hooks: dead letters', () => {
  test('retry_for 5s: dead-lettered, shown, retried once the receiver is up', async () => {
    const inv = await api('POST', '/tenants/default/invitations', { body: { email: 'dana@example.com' } });
    assert.equal(inv.status, 201, inv.text);
    let dl;
    await waitFor(async () => {
      dl = await api('GET', '/tenants/default/hooks/dead/dead');
      return dl.status === 200 && dl.json.total >= 1;
    }, { timeoutMs: 30_000, intervalMs: 250, what: 'a dead letter' });
    const d = dl.json.dead[0];
    assert.equal(d.type, 'user_invited');
    assert.equal(d.event.type, 'user_invited');
    assert.ok(d.attempts >= 1);
    assert.match(d.last_error, /HTTP 500/);
    assert.ok(d.dead_at && d.first_attempt);
    assert.ok(Date.parse(d.dead_at) - Date.parse(d.first_attempt) >= 4900, 'dead after retry_for');
    assert.ok(rx.dead.requests.length >= d.attempts);
    const h = (await hooksOf()).json.hooks.find((x) => x.id === 'dead');
    assert.equal(h.state.dead, 1);
    assert.equal(h.type, 'webhook');
    assert.equal(h.target, '127.0.0.1');
    assert.deepEqual(h.events, ['user_invited']);
    // sekishoctl shows it too.
    const ctl = spawnSync(SEKISHOCTL, ['hooks', 'dead', '-c', stack.sekisho.cfgFile, '-t', 'default', 'dead', '--json'],
      { encoding: 'utf8' });
    assert.equal(ctl.status, 0, ctl.stderr);
    assert.equal(JSON.parse(ctl.stdout).dead[0].delivery, d.delivery);
    const list = spawnSync(SEKISHOCTL, ['hooks', 'list', '-c', stack.sekisho.cfgFile, '-t', 'default'], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^dead\s+webhook\s+127\.0\.0\.1\s+queued 0, retrying 0, dead 1$/m);
    const ctlRetry = (...a) => spawnSync(SEKISHOCTL, ['hooks', 'retry', '-c', stack.sekisho.cfgFile, '-t', 'default', ...a],
      { encoding: 'utf8' });
    let c = ctlRetry('dead', 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(c.status, 1);
    assert.match(c.stderr, /no such dead letter/);
    assert.equal(ctlRetry('dead').status, 2, 'usage: a delivery or --all');
    c = ctlRetry('wh-nope', '--all');
    assert.equal(c.status, 1);
    assert.match(c.stderr, /no hook wh-nope/);
    // Not a delivery id: 400; not a dead letter: 404.
    assert.equal((await api('POST', '/tenants/default/hooks/dead/dead/no%20such/retry')).status, 400);
    assert.equal((await api('POST', '/tenants/default/hooks/dead/dead/AAAAAAAAAAAAAAAAAAAAAA/retry')).status, 404);
    assert.equal((await api('GET', '/tenants/default/hooks/dead/dead/retry')).status, 405);
    rx.dead.mode = 'ok';
    const rt = await api('POST', `/tenants/default/hooks/dead/dead/${d.delivery}/retry`);
    assert.equal(rt.status, 200, rt.text);
    assert.equal(rt.json.queued, 1);
    await waitFor(() => rx.dead.processed.has(d.delivery), { timeoutMs: 10_000, what: 'the retried delivery' });
    assert.ok(verify(SECRET, rx.dead.processed.get(d.delivery).headers['x-sekisho-signature'],
      rx.dead.processed.get(d.delivery).raw));
    assert.equal((await api('GET', '/tenants/default/hooks/dead/dead')).json.total, 0);
    assert.equal((await api('POST', `/tenants/default/hooks/dead/dead/${d.delivery}/retry`)).status, 404);
    // Retry all of none: 0.
    assert.equal((await api('POST', '/tenants/default/hooks/dead/dead/retry')).json.queued, 0);
    // events: filters: the chat hooks took policy_changed only, the dead
    // hook user_invited only; wh (every event) took the invitation too.
    for (const r of [...rx.slack.requests, ...rx.teams.requests]) assert.match(r.raw, /policy_changed/);
    for (const r of rx.dead.requests) assert.equal(JSON.parse(r.raw).type, 'user_invited');
    await waitFor(() => [...rx.wh.processed.values()].some((r) => JSON.parse(r.raw).type === 'user_invited'),
      { timeoutMs: 10_000, what: 'the invitation at the hook of every event' });
  });
});

describe('hooks: tenants never cross', () => {
  test("another tenant's hook never receives this tenant's events", async () => {
    assert.ok(rx.wh.processed.size > 0);
    assert.equal(rx.other.requests.length, 0);
    const inv = await api('POST', '/tenants/other/invitations', { body: { email: 'erin@example.com' } });
    assert.equal(inv.status, 201, inv.text);
    await waitFor(() => rx.other.requests.length > 0, { timeoutMs: 10_000, what: "other's delivery" });
    for (const r of rx.other.requests) assert.equal(JSON.parse(r.raw).tenant, 'other');
    await sleep(500);
    for (const r of [...rx.wh.requests, ...rx.slack.requests, ...rx.teams.requests, ...rx.dead.requests]) {
      assert.doesNotMatch(r.raw, /"tenant":"other"|in other\b/);
    }
  });

  test("another tenant's admin cannot see this tenant's hooks", async () => {
    assert.equal((await hooksOf('default', basic(OPS_OTHER))).status, 403);
    assert.equal((await api('GET', '/tenants/default/hooks/dead/dead', { auth: basic(OPS_OTHER) })).status, 403);
    assert.equal((await api('POST', '/tenants/default/hooks/dead/dead/retry', { auth: basic(OPS_OTHER) })).status, 403);
    const mine = await hooksOf('other', basic(OPS_OTHER));
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.json.hooks.map((h) => h.id), ['other']);
    assert.doesNotMatch(mine.text, /default/);
    // A hook of another tenant does not exist here.
    assert.equal((await api('GET', '/tenants/other/hooks/wh/dead', { auth: basic(OPS_OTHER) })).status, 404);
    assert.equal((await api('POST', '/tenants/other/hooks/dead/dead/retry', { auth: basic(OPS_OTHER) })).status, 404);
    assert.deepEqual((await hooksOf('quiet')).json.hooks, []);
    const q = spawnSync(SEKISHOCTL, ['hooks', 'list', '-c', stack.sekisho.cfgFile, '-t', 'quiet'], { encoding: 'utf8' });
    assert.equal(q.status, 0, q.stderr);
    assert.equal(q.stdout, "no hook delivers tenant quiet's events\n");
    const d = await hooksOf('default');
    assert.deepEqual(d.json.hooks.map((h) => h.id).sort(), ['chat', 'dead', 'msteams', 'redir', 'signin', 'wh']);
    // The host only: never the URL's path, where Slack and Teams keep
    // their secret.
    assert.equal(d.json.hooks.find((h) => h.id === 'chat').target, '127.0.0.1');
    assert.doesNotMatch(d.text, new RegExp(`${SLACK_SECRET}|${TEAMS_SECRET}|${SECRET}|127\\.0\\.0\\.1:\\d+/`));
  });
});

describe('hooks: never on the request path', () => {
  test('a hanging receiver does not slow the request that raised the event', async () => {
    await policyChange('slow');
    await waitFor(() => rx.hang.requests.length > 0, { timeoutMs: 10_000, what: 'the hanging receiver asked' });
    const time = async (t) => {
      const s = process.hrtime.bigint();
      await policyChange(t);
      return Number(process.hrtime.bigint() - s) / 1e6;
    };
    const slow = [];
    const quiet = [];
    // Alternating which goes first, so neither pays for the other.
    for (let i = 0; i < 10; i++) {
      if (i % 2) {
        slow.push(await time('slow'));
        quiet.push(await time('quiet'));
      } else {
        quiet.push(await time('quiet'));
        slow.push(await time('slow'));
      }
    }
    const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    process.stderr.write(`# hooks: policy PATCH + events read, median ms: receiver hanging ${med(slow).toFixed(1)}, `
      + `no hooks ${med(quiet).toFixed(1)}; max ${Math.max(...slow).toFixed(1)} / ${Math.max(...quiet).toFixed(1)}\n`);
    assert.ok(rx.hang.hanging.length > 0, 'the receiver was hanging meanwhile');
    // Generous: the hook's timeout is 3 s; a request waiting on it would
    // take that long.
    assert.ok(med(slow) < med(quiet) + 500, 'not slowed');
    assert.ok(Math.max(...slow) < 2500, 'no request waited for the receiver');
  });
});

describe('hooks: a sign-in never waits for a receiver', () => {
  test('sign-ins while the receiver hangs take as long as while it answers', async () => {
    const time = async () => {
      const s = process.hrtime.bigint();
      await signIn(new CookieJar(), stack.base);
      return Number(process.hrtime.bigint() - s) / 1e6;
    };
    const answering = [];
    const hanging = [];
    await time(); // warm: the first sign-in pays for connections
    for (let i = 0; i < 4; i++) answering.push(await time());
    await waitFor(() => rx.signin.processed.size > 0, { timeoutMs: 10_000, what: 'the receiver answered' });
    rx.signin.mode = 'hang';
    try {
      for (let i = 0; i < 4; i++) hanging.push(await time());
      await waitFor(() => rx.signin.hanging.length > 0, { timeoutMs: 10_000, what: 'the receiver hung on a delivery' });
    } finally {
      rx.signin.mode = 'ok';
    }
    const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    process.stderr.write(`# hooks: sign-in median ms: receiver hanging ${med(hanging).toFixed(1)}, `
      + `answering ${med(answering).toFixed(1)}; max ${Math.max(...hanging).toFixed(1)} / ${Math.max(...answering).toFixed(1)}\n`);
    // Generous: the hook's timeout is 3 s; a sign-in waiting on it would
    // take that long.
    assert.ok(med(hanging) < med(answering) + 500, 'not slowed');
    assert.ok(Math.max(...hanging) < 2500, 'no sign-in waited for the receiver');
  });
});

describe('hooks: metrics and secrets', () => {
  test('/metrics: deliveries and queue depth', async () => {
    assert.ok(await metric(stack.sekishoBase, 'sekisho_hook_deliveries_total', { hook: 'wh', result: 'ok' }) >= 4);
    assert.ok(await metric(stack.sekishoBase, 'sekisho_hook_deliveries_total', { hook: 'wh', result: 'failed' }) >= 3);
    assert.ok(await metric(stack.sekishoBase, 'sekisho_hook_deliveries_total', { hook: 'dead', result: 'dead' }) >= 1);
    await waitFor(async () => await metric(stack.sekishoBase, 'sekisho_hook_queue_depth', { hook: 'hang' }) >= 1,
      { timeoutMs: 10_000, what: 'queue depth of the hanging hook' });
  });

  test('no log line, request or event holds a hook secret', async () => {
    const log = stack.sekisho.stderr();
    assert.match(log, /hook wh: tenant default: delivery \S+ to 127\.0\.0\.1: delivered/);
    const urls = Object.values(rx).map((r) => `${r.host}:${r.port}/`);
    for (const s of [SECRET, SLACK_SECRET, TEAMS_SECRET, ...urls]) {
      assert.ok(!log.includes(s), `the log holds ${s}`);
    }
    for (const r of Object.values(rx)) {
      for (const q of r.requests) {
        assert.ok(!q.raw.includes(SECRET), 'a body holds the secret');
        assert.ok(!JSON.stringify(q.headers).includes(SECRET), 'a header holds the secret');
        assert.ok(!q.raw.includes(SLACK_SECRET) && !q.raw.includes(TEAMS_SECRET));
      }
    }
    for (const t of ['default', 'other', 'slow']) {
      const ev = await api('GET', `/tenants/${t}/events?limit=100`);
      assert.ok(!ev.text.includes(SECRET));
    }
  });
});

describe('hooks: Redis hanging, then killed and back', () => {
  const alive = async () => (await fetch(`${stack.sekishoBase}/healthz`,
    { signal: AbortSignal.timeout(5000) })).status === 200;

  test('the engine waits it out; nothing queued is lost or sent twice', async () => {
    const dups0 = rx.wh.dups;
    // A delivery owed to a receiver that is down, queued in Redis.
    await rx.wh.down();
    const before = await policyChange();
    await waitFor(async () => (await hooksOf()).json.hooks.find((x) => x.id === 'wh').state.retrying >= 1,
      { timeoutMs: 10_000, what: 'the delivery retrying' });
    // Redis takes connections and never answers, for 4 s.
    stack.redis.pause();
    await sleep(4000);
    assert.ok(await alive(), 'the daemon answers /healthz while Redis hangs');
    stack.redis.resume();
    // Redis killed, down for 3 s, started again on its AOF.
    await stack.redis.kill();
    await sleep(3000);
    assert.ok(await alive(), 'the daemon answers /healthz while Redis is down');
    await stack.redis.restart();
    await waitFor(async () => (await fetch(`${stack.sekishoBase}/readyz`)).status === 200,
      { timeoutMs: 20_000, what: 'ready again' });
    await rx.wh.up();
    const after = await policyChange();
    await waitFor(() => rx.wh.processed.has(before) && rx.wh.processed.has(after),
      { timeoutMs: 40_000, intervalMs: 200, what: 'both events delivered after Redis came back' });
    for (const id of [before, after]) {
      const rec = rx.wh.processed.get(id);
      assert.ok(verify(SECRET, rec.headers['x-sekisho-signature'], rec.raw));
    }
    await sleep(1000);
    for (const id of [before, after]) {
      assert.equal(rx.wh.requests.filter((r) => r.headers['x-sekisho-delivery'] === id).length, 1,
        `${id} delivered once`);
    }
    assert.equal(rx.wh.dups, dups0);
    assert.ok(stack.sekisho.running(), 'the daemon kept running');
  });
});

describe('hooks: a crashed instance', () => {
  test('kill -9 with deliveries taken: a second instance delivers them', async () => {
    // The stack's own instance stops cleanly (so what it ran is counted,
    // coverage included); a first extra instance takes the delivery and
    // is killed; a second one must deliver it.
    const { code } = await stack.sekisho.stop('SIGTERM', 10_000);
    assert.equal(code, 0);
    const instance = async (name) => {
      const port = await freePort();
      const cfg = fs.readFileSync(stack.sekisho.cfgFile, 'utf8').replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`);
      const cfgFile = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(cfgFile, cfg);
      const child = spawnTracked(SEKISHO_BIN, ['-c', cfgFile], { name: `sekisho-${name}` });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => {
        if (!child.running()) throw new Error(`${name} sekisho exited: ${child.stderr()}`);
        return (await fetch(`${base}/healthz`).catch(() => ({ status: 0 }))).status === 200;
      }, { what: `${name} sekisho` });
      return { ...child, base };
    };
    const first = await instance('first');
    rx.wh.mode = 'hang';
    const id = await policyChange('default', first.base);
    await waitFor(() => rx.wh.requests.some((r) => r.headers['x-sekisho-delivery'] === id),
      { timeoutMs: 10_000, what: 'the first instance took the delivery' });
    const killedAt = Date.now();
    first.proc.kill('SIGKILL');
    await first.exited;
    for (const res of rx.wh.hanging) res.destroy();
    rx.wh.hanging = [];
    rx.wh.mode = 'ok';
    assert.ok(!rx.wh.processed.has(id));
    second = await instance('second');
    await waitFor(() => rx.wh.processed.has(id), { timeoutMs: 30_000, intervalMs: 200, what: 'the second instance delivered' });
    const took = (rx.wh.processed.get(id).at - killedAt) / 1000;
    process.stderr.write(`# hooks: delivered by the second instance ${took.toFixed(1)} s after the kill (lease: timeout 2 s + 5 s)\n`);
    assert.ok(verify(SECRET, rx.wh.processed.get(id).headers['x-sekisho-signature'], rx.wh.processed.get(id).raw));
    assert.match(second.stderr(), new RegExp(`hook wh: tenant default: delivery ${id} to 127\\.0\\.0\\.1: delivered`));
  });

  test('a clean stop hands attempts under way back, and exits cleanly', async () => {
    // The hanging receiver of tenant slow holds attempts of this instance.
    const before = rx.hang.requests.length;
    await policyChange('slow', second.base);
    await waitFor(() => rx.hang.requests.length > before, { timeoutMs: 15_000, what: 'an attempt under way' });
    const { code, signal } = await second.stop('SIGTERM', 10_000);
    assert.equal(signal, null);
    assert.equal(code, 0, second.stderr());
    assert.doesNotMatch(second.stderr(), /Sanitizer|runtime error/);
    // Still owed: queued, due now, for whichever instance runs next.
    const ctl = spawnSync(SEKISHOCTL, ['hooks', 'list', '-c', stack.sekisho.cfgFile, '-t', 'slow', '--json'],
      { encoding: 'utf8' });
    assert.equal(ctl.status, 0, ctl.stderr);
    assert.ok(JSON.parse(ctl.stdout)[0].state.queued >= 1);
  });
});

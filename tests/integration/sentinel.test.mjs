// Redis Sentinel: Sekisho finds the master through the sentinels and follows
// a failover without a restart. Real processes: a master and a replica
// redis-server, three sentinels (Debian's redis-server run with --sentinel,
// quorum 2, down-after 1 s), the test IdP, Sekisho. Covers:
//   - sign-in and /auth/verify through the sentinels (redis.sentinels +
//     redis.master_name, with the sentinels' requirepass read from
//     redis.sentinel_password_file); /readyz 200; the start-up
//     durability check reads the master found (refused without persistence)
//   - a sentinel that names a replica (a fake sentinel answering with the
//     replica's address; the replica answers ROLE "slave"): never used —
//     alone it leaves verify 503 (never 200) and /readyz 503 with the
//     refusal logged; listed before a real sentinel, the real one's
//     master is used
//   - failover: the master killed with SIGKILL while /auth/verify is polled
//     continuously (bounded in time and count) on fresh connections:
//       * a session logged out before the kill (its DEL replicated first)
//         never answers 200, nor a made-up cookie
//       * a replicated live session answers only 200 or 503 (never 401:
//         nothing replicated is lost), and 200 again on every worker thread
//         within a few seconds of the promotion (the recovery time is
//         printed as a test diagnostic)
//       * a session created right before the kill, without waiting for
//         replication, may be lost (replication is asynchronous): it may
//         end 200 or 401, but once 401 after the promotion it never
//         turns 200 again
//     then /readyz 200, the sentinels name the old replica, a new sign-in
//     and a logout work on the new master; Sekisho never restarted;
//     sekishoctl (check-config, keys list) works through the sentinels
//   - the new master demoted by hand (REPLICAOF) with Sekisho's connections
//     left open: verify not 200 from it past the ROLE recheck bound (a
//     kept connection's ROLE is asked again once a second; today READONLY
//     refuses at once, and the 200s seen are printed); promoted again,
//     found again

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import {
  CLIENT_SECRET, CookieJar, SEKISHO_BIN, fatal, follow, freePort, freshGet, redisCli, signIn, spawnTracked,
  startIdp, startRedis, startSekisho, tmpDir, waitFor, waitReady,
} from './harness.mjs';

const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');
const ctl = (...args) => promisify(execFile)(CTL, args, { timeout: 10_000 });

const MASTER = 'sekisho-it';
const SENTINEL_PASS = 'sentinel-test-password-0123456789';
const N = 8; // fresh connections per check, to reach both worker threads

/** A sentinel: redis-server --sentinel with its own (rewritten) config. */
async function startSentinel(dir, masterPort) {
  const port = await freePort();
  const conf = path.join(dir, `sentinel-${port}.conf`);
  fs.writeFileSync(conf, `port ${port}
bind 127.0.0.1
daemonize no
protected-mode yes
dir ${dir}
requirepass ${SENTINEL_PASS}
sentinel sentinel-pass ${SENTINEL_PASS}
sentinel monitor ${MASTER} 127.0.0.1 ${masterPort} 2
sentinel down-after-milliseconds ${MASTER} 1000
sentinel failover-timeout ${MASTER} 5000
sentinel parallel-syncs ${MASTER} 1
`);
  const child = spawnTracked('redis-server', [conf, '--sentinel'], { name: `sentinel-${port}` });
  const cli = (...args) => redisCli(port, '--no-auth-warning', '-a', SENTINEL_PASS, ...args);
  await waitFor(async () => {
    if (!child.running()) throw fatal(`sentinel exited: ${child.stderr()}${child.stdout()}`);
    return (await cli('PING').catch(() => '')).trim() === 'PONG';
  }, { timeoutMs: 10_000, what: `sentinel on port ${port}` });
  return { port, cli, stop: () => child.stop('SIGTERM', 3000) };
}

/** The fields of SENTINEL MASTER (alternate name/value lines). */
async function sentinelMaster(s) {
  const lines = (await s.cli('SENTINEL', 'MASTER', MASTER)).split('\n').map((l) => l.trim());
  const o = {};
  for (let i = 0; i + 1 < lines.length; i += 2) o[lines[i]] = lines[i + 1];
  return o;
}

async function masterAddr(s) {
  const [host, port] = (await s.cli('SENTINEL', 'get-master-addr-by-name', MASTER)).trim().split('\n');
  return `${host}:${port}`;
}

/** INFO replication field of a redis-server. */
async function replInfo(port, field) {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(await redisCli(port, 'INFO', 'replication'));
  return m ? m[1].trim() : undefined;
}

/** Resolves once the replica has everything the master wrote so far. */
async function replicated(masterPort, replicaPort) {
  const want = Number(await replInfo(masterPort, 'master_repl_offset'));
  await waitFor(async () => Number(await replInfo(replicaPort, 'slave_repl_offset')) >= want,
    { timeoutMs: 5000, intervalMs: 20, what: 'the replica to catch up' });
}

/**
 * A fake sentinel: answers SENTINEL get-master-addr-by-name with `addr`
 * (and OK to AUTH), an error to anything else. RESP arrays only.
 */
function fakeSentinel(addr) {
  const [host, port] = addr.split(':');
  const bulk = (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  const asked = [];
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const args = [];
        let p = 0;
        const line = () => {
          const e = buf.indexOf('\r\n', p);
          if (e < 0) return undefined;
          const l = buf.subarray(p, e).toString('latin1');
          p = e + 2;
          return l;
        };
        const head = line();
        if (head === undefined || head[0] !== '*') return;
        const n = Number(head.slice(1));
        for (let i = 0; i < n; i += 1) {
          const h = line();
          if (h === undefined) return;
          const len = Number(h.slice(1));
          if (buf.length < p + len + 2) return;
          args.push(buf.subarray(p, p + len).toString('latin1'));
          p += len + 2;
        }
        buf = buf.subarray(p);
        const cmd = args.map((a) => a.toLowerCase());
        asked.push(cmd[0]);
        if (cmd[0] === 'auth') sock.write('+OK\r\n');
        else if (cmd[0] === 'sentinel' && cmd[1] === 'get-master-addr-by-name') sock.write(`*2\r\n${bulk(host)}${bulk(port)}`);
        else sock.write('-ERR unknown command\r\n');
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      port: server.address().port,
      asked,
      stop: () => new Promise((r) => { server.close(() => r()); }),
    }));
  });
}

let dir;
let master;
let replica;
let sentinels = [];
let idp;
let secretFile;
let sekisho;
let base;
const stoppers = [];

function sentinelYaml(ports) {
  return `sentinels: [${ports.map((p) => `"127.0.0.1:${p}"`).join(', ')}], master_name: ${MASTER}, `
    + `sentinel_password_file: ${path.join(dir, 'sentinel.password')}`;
}

/** Another Sekisho on its own port using the sentinels at `ports`. */
async function sekishoWith(ports, { sub, requirePersistence = false }) {
  const port = await freePort();
  const sdir = fs.mkdtempSync(path.join(dir, `${sub}-`));
  const publicUrl = `http://127.0.0.1:${port}`;
  // Only verified against, never signed in to: the IdP needs no callback.
  const sk = await startSekisho({
    dir: sdir, port, publicUrl, idpBase: idp.base, secretFile, allowedHosts: [`127.0.0.1:${port}`],
    redisYaml: sentinelYaml(ports), requirePersistence,
  });
  stoppers.push(() => sk.stop('SIGTERM', 5000));
  return sk;
}

before(async () => {
  dir = tmpDir('sekisho-it-sentinel-');
  stoppers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  secretFile = path.join(dir, 'idp-client.secret');
  fs.writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'sentinel.password'), `${SENTINEL_PASS}\n`, { mode: 0o600 });

  master = await startRedis();
  stoppers.push(() => master.stop());
  replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  stoppers.push(() => replica.stop());
  await waitFor(async () => (await replInfo(replica.port, 'master_link_status')) === 'up',
    { timeoutMs: 10_000, what: 'the replica to sync' });

  for (let i = 0; i < 3; i += 1) {
    const s = await startSentinel(dir, master.port);
    sentinels.push(s);
    stoppers.push(() => s.stop());
  }
  // Each sentinel must know the replica and the two other sentinels (hello
  // messages every 2 s) before a failover can be agreed on.
  await waitFor(async () => {
    for (const s of sentinels) {
      const m = await sentinelMaster(s);
      if (Number(m['num-slaves']) < 1 || Number(m['num-other-sentinels']) < 2) return false;
    }
    return true;
  }, { timeoutMs: 15_000, intervalMs: 200, what: 'the sentinels to see the replica and each other' });

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await startIdp({ secretFile, redirectUris: [`${base}/callback/google`] });
  stoppers.push(() => idp.stop());
  sekisho = await startSekisho({
    dir, port, publicUrl: base, idpBase: idp.base, secretFile, allowedHosts: [`127.0.0.1:${port}`],
    redisYaml: sentinelYaml(sentinels.map((s) => s.port)),
  });
  stoppers.push(() => sekisho.stop('SIGTERM', 5000));
});

after(async () => {
  for (const s of stoppers.reverse()) {
    try { await s(); } catch (err) { process.stderr.write(`sentinel test: stop: ${err.message}\n`); }
  }
});

async function verify(sid) {
  return (await freshGet(`${base}/auth/verify`, sid ? { cookie: `sekisho=${sid}` } : {})).status;
}

async function newSession() {
  const jar = new CookieJar();
  const { res } = await signIn(jar, base);
  assert.equal(res.status, 302);
  const sid = jar.get(base, 'sekisho');
  assert.ok(sid);
  return { jar, sid };
}

describe('redis sentinel', () => {
  test('sign-in and verify through the sentinels', async () => {
    await waitReady(base, { n: N });
    const { sid } = await newSession();
    for (let i = 0; i < N; i += 1) assert.equal(await verify(sid), 200);
    assert.match(sekisho.stderr(), new RegExp(`redis: master ${MASTER} is at 127\\.0\\.0\\.1:${master.port}`));
  });

  test('the start-up durability check runs on the master found', async () => {
    // The test Redis has no persistence: required, start-up is refused.
    await assert.rejects(sekishoWith(sentinels.map((s) => s.port), { sub: 'durable', requirePersistence: true }),
      /redis: persistence is off \(appendonly no, no save schedule\)[^\n]*refusing to start/);
  });

  test('a sentinel naming a replica is never used', async () => {
    const fake = await fakeSentinel(`127.0.0.1:${replica.port}`);
    stoppers.push(() => fake.stop());
    assert.equal((await redisCli(replica.port, 'ROLE')).split('\n')[0].trim(), 'slave');
    const { sid } = await newSession();
    await replicated(master.port, replica.port); // the replica holds it too

    // Alone: nothing to answer from.
    const only = await sekishoWith([fake.port], { sub: 'fake' });
    try {
      for (let i = 0; i < N; i += 1) {
        const r = await freshGet(`${only.base}/auth/verify`, { cookie: `sekisho=${sid}` });
        assert.equal(r.status, 503, `verify through a sentinel naming a replica #${i}: ${r.status}`);
        assert.equal((await freshGet(`${only.base}/readyz`)).status, 503);
      }
      assert.ok(fake.asked.includes('sentinel'), 'the fake sentinel was asked');
      assert.match(only.stderr(), new RegExp(`127\\.0\\.0\\.1:${replica.port}, named by sentinel 127\\.0\\.0\\.1:${fake.port}, is not a master \\(ROLE\\)`));
    } finally {
      await only.stop('SIGTERM', 5000);
    }

    // First in the list, then a real sentinel: the real master is used.
    const both = await sekishoWith([fake.port, sentinels[0].port], { sub: 'both' });
    try {
      await waitReady(both.base, { n: N });
      for (let i = 0; i < N; i += 1) {
        assert.equal((await freshGet(`${both.base}/auth/verify`, { cookie: `sekisho=${sid}` })).status, 200);
      }
      assert.match(both.stderr(), new RegExp(`redis: master ${MASTER} is at 127\\.0\\.0\\.1:${master.port}`));
      assert.doesNotMatch(both.stderr(), new RegExp(`master ${MASTER} is at 127\\.0\\.0\\.1:${replica.port}`));
    } finally {
      await both.stop('SIGTERM', 5000);
    }
  });

  test('failover: followed without a restart, nothing answers 200 that should not', async (t) => {
    const live = await newSession();
    const ended = await newSession();
    const out = await follow(ended.jar, `${base}/logout`, { method: 'POST', headers: { origin: base } });
    assert.ok([200, 302, 303].includes(out.status), `logout: ${out.status}`);
    assert.equal(await verify(ended.sid), 401);
    assert.equal(await verify(live.sid), 200);
    // Both the live session and the logout are on the replica before the
    // kill; only then is "never 200 again" a promise Redis can keep.
    await replicated(master.port, replica.port);
    // Not waited for: may or may not reach the replica.
    const late = await newSession();

    const pid = sekisho.proc.pid;
    const t0 = Date.now();
    await master.kill();

    // When the sentinels first name the replica (for the report only).
    let promotedMs;
    const watch = (async () => {
      while (promotedMs === undefined && Date.now() < t0 + 20_000) {
        if (await masterAddr(sentinels[1]).catch(() => '') === `127.0.0.1:${replica.port}`) promotedMs = Date.now() - t0;
        else await sleep(20);
      }
    })();
    const seen = { live: {}, ended: {}, late: {}, none: {} };
    const bump = (k, s) => { seen[k][s] = (seen[k][s] ?? 0) + 1; };
    let inARow = 0;
    let recoveredMs;
    let lateLostAt;
    let polls = 0;
    const deadline = t0 + 20_000;
    while (Date.now() < deadline && polls < 3000) {
      polls += 1;
      const [a, b, c, d] = await Promise.all([verify(live.sid), verify(ended.sid), verify(late.sid), verify('x'.repeat(43))]);
      bump('live', a); bump('ended', b); bump('late', c); bump('none', d);
      assert.notEqual(b, 200, `a logged-out session answered 200 ${Date.now() - t0} ms after the kill`);
      assert.notEqual(d, 200, 'a made-up cookie answered 200');
      assert.ok([200, 503].includes(a), `the replicated live session answered ${a}`);
      if (c === 401 && lateLostAt === undefined) lateLostAt = Date.now();
      if (lateLostAt !== undefined) assert.notEqual(c, 200, 'a lost session came back');
      if (a === 200 && seen.live[503]) {
        inARow += 1;
        if (inARow === 1) recoveredMs = Date.now() - t0;
        if (inARow >= N) break;
      } else if (a !== 200) {
        inARow = 0;
      }
      await sleep(10);
    }
    await watch;
    t.diagnostic(`polls: ${polls}; statuses: ${JSON.stringify(seen)}`);
    assert.ok(seen.live[503] > 0, 'the failover was seen (503 while no master)');
    assert.ok(inARow >= N, `verify did not recover within 20 s: ${JSON.stringify(seen)}`);

    // Sekisho may have got there through the leader while another
    // sentinel still names the dead master (it then asks the next one).
    await waitFor(async () => {
      for (const s of sentinels) if (await masterAddr(s) !== `127.0.0.1:${replica.port}`) return false;
      return true;
    }, { timeoutMs: 10_000, intervalMs: 100, what: 'every sentinel to name the promoted replica' });
    t.diagnostic(`recovery: the sentinels named the new master ${promotedMs} ms after SIGKILL of the master; `
      + `the live session verified 200 again ${recoveredMs} ms after the kill `
      + `(${N} fresh connections in a row by ${Date.now() - t0} ms); the late session ended ${seen.late[401] ? 'lost (401)' : 'kept'}`);
    assert.ok(recoveredMs < 15_000);

    // Everything works on the new master, with the same process.
    assert.equal(sekisho.proc.pid, pid);
    assert.ok(sekisho.running());
    await waitReady(base, { n: N });
    assert.match(sekisho.stderr(), new RegExp(`redis: master ${MASTER} is at 127\\.0\\.0\\.1:${replica.port} \\(generation 2\\)`));
    for (let i = 0; i < N; i += 1) {
      assert.equal(await verify(live.sid), 200);
      assert.equal(await verify(ended.sid), 401);
    }
    const fresh = await newSession();
    assert.equal(await verify(fresh.sid), 200);
    const lo = await follow(fresh.jar, `${base}/logout`, { method: 'POST', headers: { origin: base } });
    assert.ok([200, 302, 303].includes(lo.status));
    for (let i = 0; i < N; i += 1) assert.equal(await verify(fresh.sid), 401);
    // sekishoctl finds the new master the same way.
    assert.match((await ctl('check-config', '-c', sekisho.cfgFile)).stdout, /: ok$/m);
    assert.match((await ctl('keys', 'list', '-c', sekisho.cfgFile)).stdout, /\S/);
  });

  test('a master demoted under open connections is left at once', async (t) => {
    // The promoted replica is the master now. Demoted by hand (REPLICAOF
    // of the dead old master: a replica with stale data that still serves
    // reads), with Sekisho's connections to it left open and the
    // sentinels not yet aware: nothing may come from it.
    const live = await newSession();
    for (let i = 0; i < N; i += 1) assert.equal(await verify(live.sid), 200);
    const t0 = Date.now();
    await redisCli(replica.port, 'REPLICAOF', '127.0.0.1', String(master.port));
    let polls = 0;
    const seen = {};
    while (Date.now() < t0 + 2500 && polls < 500) {
      polls += 1;
      const s = await verify(live.sid);
      const ms = Date.now() - t0;
      seen[s] = (seen[s] ?? 0) + 1;
      // Today every verify writes (its idle expiry), so READONLY refuses
      // at once; a read alone would be refused by the ROLE recheck, at
      // most a second after the demotion: the bound that is promised.
      if (ms > 1200) assert.notEqual(s, 200, `answered 200 ${ms} ms after the master was demoted`);
      await sleep(10);
    }
    t.diagnostic(`while demoted: ${JSON.stringify(seen)} in ${polls} polls (200s allowed only in the first 1.2 s)`);
    assert.match(sekisho.stderr(), /is not the master any more \(READONLY\)|the server is not a master \(ROLE\)/);
    // Promoted again: found again without a restart.
    await redisCli(replica.port, 'REPLICAOF', 'NO', 'ONE');
    await waitFor(async () => {
      for (let i = 0; i < N; i += 1) if (await verify(live.sid) !== 200) return false;
      return true;
    }, { timeoutMs: 10_000, intervalMs: 100, what: 'verify 200 again on every thread' });
  });

  test('SIGTERM: a clean exit (nothing leaked under ASan)', async () => {
    const { code, signal } = await sekisho.stop('SIGTERM', 5000);
    assert.equal(signal, null);
    assert.equal(code, 0, sekisho.stderr().slice(-2000));
  });
});

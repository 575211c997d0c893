// HTTP hardening (issue 8: items 1, 2, 8, 11, 12, 15), against the real
// daemon with redis-server, the test IdP and nginx. Covers:
//   - client IP: the TCP peer unless it is in http.trusted_proxies; then
//     X-Forwarded-For (or Forwarded with forwarded_header: forwarded) read
//     right to left; spoofed leftmost entries, untrusted peers and
//     X-Real-IP ignored; through nginx from another loopback address
//   - X-Forwarded-Host never picks the tenant, even from a trusted proxy
//   - Host normalised (case, one trailing dot, port) before matching:
//     "LAW.test.:8080" is tenant law, never the catch-all; malformed Host
//     (userinfo, spaces, paths, two Host lines) -> 400 before anything
//     reaches Location or the redirect_uri sent upstream; strict_hosts:
//     an unknown host is 421 (401 on /auth/verify) even with a catch-all;
//     public_url's host is the catch-all's; strict_hosts: false keeps the
//     old fallback
//   - the session cookie read case-sensitively from the raw Cookie
//     header(s); two different values -> 401 on /auth/verify, 400 page on
//     browser paths
//   - bodies: Content-Length over http.max_body_bytes -> 413 at once
//     (Connection: close, nothing read), a chunked body is cut with 413 as
//     soon as it passes the limit, a huge chunk size is answered, both
//     Content-Length and Transfer-Encoding / two different
//     Content-Lengths / a Transfer-Encoding other than chunked -> 400 with
//     Connection: close
//   - slow clients: http.max_connections_per_ip caps one address (100
//     slowloris connections from 127.0.0.3 leave real requests from
//     127.0.0.1 working); a head trickled past http.request_timeout is cut
//     with 408 although it never went idle; a body likewise; trusted
//     proxies are exempt from the cap
//   - Strict-Transport-Security on every answer when public_url is https
//     (refusals too), none on http

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CookieJar, freshGet, rawHttp, signIn, startStack, waitFor,
} from './harness.mjs';

const TENANTS = `  - id: law
    display_name: "Law Office"
    hostnames: ["law.test"]
    providers: [google]
  - id: default
    display_name: "Catch-all"
    providers: [google]
`;

/** Raw socket from a chosen local address; resolves with what came back. */
function rawFrom(port, request, { localAddress = '127.0.0.1', timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    const chunks = [];
    const done = () => {
      clearTimeout(timer);
      const s = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(s);
      resolve({ raw: s, status: m ? Number(m[1]) : undefined });
    };
    const timer = setTimeout(() => { sock.destroy(); done(); }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { if (chunks.length) done(); else { clearTimeout(timer); reject(e); } });
    sock.on('end', done);
    sock.on('connect', () => sock.write(request));
  });
}

const header = (raw, name) => {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(raw.split('\r\n\r\n')[0]);
  return m ? m[1].trim() : undefined;
};

function logFor(sk, rid) {
  return sk.accessLog().find((l) => l.request_id === rid);
}

describe('client IP and tenants (trusted_proxies: 127.0.0.1)', () => {
  let stack; let port; let base; let sid;

  before(async () => {
    stack = await startStack({
      nginx: true,
      tenantsYaml: TENANTS,
      httpYaml: 'trusted_proxies: ["127.0.0.1/32", "::1"]',
    });
    port = stack.sekisho.port;
    base = stack.sekishoBase;
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base);
    assert.equal(res.status, 302, res.body?.slice(0, 200));
    sid = jar.get(stack.base, 'sekisho');
    assert.ok(sid);
  });
  after(async () => { await stack?.stop(); });

  test('X-Forwarded-For from a trusted peer: read right to left', async () => {
    const cases = [
      ['198.51.100.7', '198.51.100.7'],
      ['6.6.6.6, 198.51.100.7', '198.51.100.7'], // forged leftmost ignored
      ['6.6.6.6, 198.51.100.7, 127.0.0.1', '198.51.100.7'], // trusted hop skipped
      ['198.51.100.7, garbage', '127.0.0.1'], // malformed: last trusted hop
      ['[2001:db8::7]:4711', '2001:db8::7'],
    ];
    for (const [xff, want] of cases) {
      const r = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: ${xff}\r\nX-Real-IP: 203.0.113.99\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 200);
      await waitFor(() => logFor(stack.sekisho, r.headers['x-request-id']), { timeoutMs: 2000, what: 'log line' });
      assert.equal(logFor(stack.sekisho, r.headers['x-request-id']).client_ip, want, `XFF ${xff}`);
    }
    // two header lines are one list, in order
    const r = await rawHttp(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-For: 198.51.100.8\r\nConnection: close\r\n\r\n');
    await waitFor(() => logFor(stack.sekisho, r.headers['x-request-id']), { timeoutMs: 2000, what: 'log line' });
    assert.equal(logFor(stack.sekisho, r.headers['x-request-id']).client_ip, '198.51.100.8');
  });

  test('an untrusted peer cannot choose its address', async () => {
    const r = await rawFrom(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 198.51.100.7\r\nX-Real-IP: 198.51.100.7\r\nForwarded: for=198.51.100.7\r\nConnection: close\r\n\r\n', { localAddress: '127.0.0.2' });
    assert.equal(r.status, 200);
    const rid = header(r.raw, 'X-Request-Id');
    await waitFor(() => logFor(stack.sekisho, rid), { timeoutMs: 2000, what: 'log line' });
    assert.equal(logFor(stack.sekisho, rid).client_ip, '127.0.0.2');
  });

  test('through nginx: the address nginx saw, not what the client claimed', async () => {
    const before = stack.sekisho.accessLog().length;
    const r = await rawFrom(stack.nginx.port, 'GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n', { localAddress: '127.0.0.2' });
    assert.ok(r.status === 302 || r.status === 200, r.raw.slice(0, 200));
    await waitFor(() => stack.sekisho.accessLog().slice(before).find((l) => l.path === '/login'), { timeoutMs: 2000, what: 'log line' });
    assert.equal(stack.sekisho.accessLog().slice(before).find((l) => l.path === '/login').client_ip, '127.0.0.2');
  });

  test('X-Forwarded-Host never picks the tenant, even from a trusted proxy', async () => {
    const cookie = `sekisho=${sid}`;
    assert.equal((await freshGet(`${base}/auth/verify`, { cookie })).status, 200, 'own tenant');
    const r = await freshGet(`${base}/auth/verify`, { cookie, host: 'law.test', 'x-forwarded-host': '127.0.0.1' });
    assert.equal(r.status, 401, 'catch-all session on law.test');
    assert.equal(r.headers['x-auth-request-user'], undefined);
    // and through nginx, which passes the client's header along
    const n = await freshGet(`${stack.nginx.base}/app`, { cookie, host: 'law.test', 'x-forwarded-host': `127.0.0.1:${stack.nginx.port}` });
    assert.notEqual(n.status, 200, 'nginx app on law.test with a catch-all session');
  });

  test('Host is normalised before matching: LAW.test.:8080 is law, not the catch-all', async () => {
    const cookie = `sekisho=${sid}`;
    for (const host of ['law.test.', 'LAW.test.', 'LAW.test.:8080', 'law.test:8080', 'Law.Test']) {
      const r = await freshGet(`${base}/auth/verify`, { cookie, host });
      assert.equal(r.status, 401, `catch-all session accepted on Host ${host}`);
      const l = await freshGet(`${base}/login`, { host });
      assert.equal(l.status, 302, `login on ${host}: ${l.status}`);
      const to = new URL(l.headers.location, 'http://x');
      assert.equal(to.pathname, '/login/google');
    }
    // the law tenant's sign-in goes upstream with the normalised host
    const p = await freshGet(`${base}/login/google`, { host: 'LAW.test.:8080' });
    assert.equal(p.status, 302);
    assert.equal(new URL(p.headers.location).searchParams.get('redirect_uri'), 'http://law.test:8080/callback/google');
  });

  test('a malformed Host is 400 and never reaches Location or redirect_uri', async () => {
    const hosts = ['law.test:@evil.example', 'law.test@evil.example', 'law.test/x', 'law.test:80:80',
      'law.test:', 'law..test', 'a b', 'law.test:99999', '[::1', 'law.test\t'];
    for (const h of hosts) {
      for (const path of ['/login', '/login/google', '/auth/verify', '/healthz', '/nope']) {
        const r = await rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: ${h}\r\nConnection: close\r\n\r\n`);
        assert.equal(r.status, 400, `Host ${JSON.stringify(h)} ${path}: ${r.status}`);
        assert.equal(r.headers.location, undefined);
        assert.ok(!r.raw.includes('evil'), 'host echoed');
      }
    }
    const page = await rawHttp(port, 'GET /login HTTP/1.1\r\nHost: law.test:@evil.example\r\nConnection: close\r\n\r\n');
    assert.match(page.headers['content-type'], /text\/html/);
    const api = await rawHttp(port, 'GET /auth/verify HTTP/1.1\r\nHost: law.test:@evil.example\r\nConnection: close\r\n\r\n');
    assert.match(api.headers['content-type'], /application\/json/);
    // two Host lines
    const two = await rawHttp(port, 'GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: law.test\r\nConnection: close\r\n\r\n');
    assert.equal(two.status, 400);
  });

  test('strict_hosts: an unknown host is refused even with a catch-all tenant', async () => {
    const cookie = `sekisho=${sid}`;
    const v = await freshGet(`${base}/auth/verify`, { cookie, host: 'other.test' });
    assert.equal(v.status, 401, 'catch-all session on an unknown host');
    const l = await freshGet(`${base}/login`, { host: 'other.test' });
    assert.equal(l.status, 421);
    assert.match(l.body, /不明なサイトです/, 'no tenant, no Accept-Language: Japanese');
    assert.equal(l.headers.location, undefined);
    // public_url's host is the catch-all's, on any port
    assert.equal((await freshGet(`${base}/auth/verify`, { cookie, host: '127.0.0.1:1' })).status, 200);
    // tenant-independent endpoints answer on any well-formed host
    assert.equal((await freshGet(`${base}/healthz`, { host: 'probe.internal' })).status, 200);
  });

  test('trusted proxies are exempt from the per-address cap', async () => {
    // 127.0.0.1 is trusted here: more than the default 64 at once is fine
    const socks = await Promise.all(Array.from({ length: 80 }, () => new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.on('error', reject);
    })));
    const r = await rawHttp(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 200);
    for (const s of socks) s.destroy();
  });
});

describe('Forwarded (RFC 7239) and strict_hosts: false', () => {
  let stack;
  before(async () => {
    stack = await startStack({
      tenantsYaml: TENANTS,
      httpYaml: 'trusted_proxies: ["127.0.0.0/8"], forwarded_header: forwarded',
      extraConfig: 'strict_hosts: false\n',
    });
  });
  after(async () => { await stack?.stop(); });

  test('Forwarded: for= read right to left; X-Forwarded-For then ignored', async () => {
    const port = stack.sekisho.port;
    const cases = [
      ['Forwarded: for=6.6.6.6, for="[2001:db8::9]:1234";proto=https', '2001:db8::9'],
      ['Forwarded: for=198.51.100.7\r\nX-Forwarded-For: 6.6.6.6', '198.51.100.7'],
      ['X-Forwarded-For: 6.6.6.6', '127.0.0.1'],
      ['Forwarded: for=unknown', '127.0.0.1'],
    ];
    for (const [h, want] of cases) {
      const r = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${h}\r\nConnection: close\r\n\r\n`);
      await waitFor(() => logFor(stack.sekisho, r.headers['x-request-id']), { timeoutMs: 2000, what: 'log line' });
      assert.equal(logFor(stack.sekisho, r.headers['x-request-id']).client_ip, want, h);
    }
  });

  test('strict_hosts: false keeps the catch-all for unknown hosts', async () => {
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base);
    assert.equal(res.status, 302);
    const cookie = `sekisho=${jar.get(stack.base, 'sekisho')}`;
    assert.equal((await freshGet(`${stack.base}/auth/verify`, { cookie, host: 'other.test' })).status, 200);
    // a known tenant's host is still that tenant, however written
    assert.equal((await freshGet(`${stack.base}/auth/verify`, { cookie, host: 'LAW.test.:8080' })).status, 401);
    // and malformed is still 400
    const r = await rawHttp(stack.sekisho.port, 'GET /auth/verify HTTP/1.1\r\nHost: law.test:@evil.example\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 400);
  });
});

describe('cookies, bodies, slow clients, HSTS', () => {
  let stack; let port; let base; let sid;

  before(async () => {
    stack = await startStack({
      httpYaml: 'max_connections: 60, max_connections_per_ip: 10, request_timeout: 3s',
    });
    port = stack.sekisho.port;
    base = stack.base;
    const jar = new CookieJar();
    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302, res.body?.slice(0, 200));
    sid = jar.get(base, 'sekisho');
    assert.ok(sid);
  });
  after(async () => { await stack?.stop(); });

  test('the session cookie name is case-sensitive', async () => {
    assert.equal((await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${sid}` })).status, 200);
    for (const name of ['SEKISHO', 'Sekisho', 'sekishO']) {
      const r = await freshGet(`${base}/auth/verify`, { cookie: `${name}=${sid}` });
      assert.equal(r.status, 401, `${name} accepted`);
    }
    // a tossed case-variant before the real one changes nothing
    const r = await freshGet(`${base}/auth/verify`, { cookie: `Sekisho=${'B'.repeat(43)}; sekisho=${sid}` });
    assert.equal(r.status, 200);
  });

  test('two different session cookies are refused', async () => {
    const other = 'B'.repeat(43);
    for (const cookie of [`sekisho=${other}; sekisho=${sid}`, `sekisho=${sid}; sekisho=${other}`]) {
      const r = await freshGet(`${base}/auth/verify`, { cookie });
      assert.equal(r.status, 401, cookie);
      assert.equal(r.headers['x-auth-request-user'], undefined);
      assert.match(r.body, /two different session cookies/);
      assert.match(r.headers["content-type"], /application\/json/);
      const p = await freshGet(`${base}/`, { cookie });
      assert.equal(p.status, 400);
      assert.match(p.body, /Cookie が重複しています/);
    }
    // two Cookie header lines count together
    const r = await rawHttp(port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sekisho=${sid}\r\nCookie: sekisho=${other}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 401);
    // the same value twice is one cookie
    const same = await rawHttp(port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sekisho=${sid}\r\nCookie: x=1; sekisho=${sid}\r\nConnection: close\r\n\r\n`);
    assert.equal(same.status, 200);
  });

  test('no Strict-Transport-Security when public_url is http', async () => {
    const r = await freshGet(`${base}/healthz`);
    assert.equal(r.headers['strict-transport-security'], undefined);
  });

  test('Content-Length over the limit: 413 at once, connection closed', async () => {
    const t0 = Date.now();
    const r = await rawHttp(port, 'POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3000000000\r\n\r\nabc', { timeoutMs: 3000 });
    assert.equal(r.status, 413, r.raw.slice(0, 200));
    assert.equal(r.timedOut, undefined, 'connection left open');
    assert.match(r.headers.connection ?? '', /close/i);
    assert.ok(Date.now() - t0 < 2000);
    const j = await rawHttp(port, `POST /oauth2/introspect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${64 * 1024 + 1}\r\n\r\n`, { timeoutMs: 3000 });
    assert.equal(j.status, 413);
    assert.match(j.body, /too large/);
  });

  test('a chunked body is cut with 413 as soon as it passes the limit', async () => {
    const r = await new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      const chunks = [];
      let sent = 0;
      let timer;
      const finish = () => { clearInterval(timer); resolve(Buffer.concat(chunks).toString('latin1')); };
      sock.on('data', (d) => chunks.push(d));
      sock.on('end', finish);
      sock.on('close', finish);
      sock.on('error', () => finish());
      sock.on('connect', () => {
        sock.write('POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n');
        const piece = `4000\r\n${'a'.repeat(0x4000)}\r\n`;
        timer = setInterval(() => {
          if (sock.destroyed || sent > 64 * 1024 * 1024) { clearInterval(timer); if (!sock.destroyed) sock.destroy(); return; }
          for (let i = 0; i < 8; i += 1) { sent += 0x4000; sock.write(piece); }
        }, 5);
      });
      setTimeout(() => { sock.destroy(); reject(new Error(`no answer after ${sent} bytes`)); }, 10_000);
    });
    assert.match(r, /^HTTP\/1\.1 413/, r.slice(0, 100));
    assert.match(r, /Connection: close/i);
  });

  test('a huge chunk size is answered', async () => {
    const t0 = Date.now();
    const r = await rawHttp(port, `POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n${'a'.repeat(70 * 1024)}`, { timeoutMs: 8000 });
    assert.equal(r.status, 413, r.raw.slice(0, 100));
    const r2 = await rawHttp(port, 'POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\nabc', { timeoutMs: 8000 });
    assert.ok(r2.status >= 400 && r2.status < 500, `overflowing chunk size: ${r2.status}`);
    // a huge chunk that then stalls is cut by request_timeout (3s here)
    const r3 = await rawHttp(port, 'POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\nabc', { timeoutMs: 8000 });
    assert.equal(r3.timedOut, undefined, 'connection still open');
    assert.ok(Date.now() - t0 < 16_000);
  });

  test('ambiguous framing is 400 with Connection: close', async () => {
    const shapes = [
      'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n',
      'Transfer-Encoding: chunked\r\nContent-Length: 3\r\n',
      'Content-Length: 3\r\nContent-Length: 4\r\n',
      'Transfer-Encoding: gzip, chunked\r\n',
      'Transfer-Encoding: identity\r\nContent-Length: 3\r\n',
    ];
    for (const h of shapes) {
      const r = await rawHttp(port, `POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\n${h}\r\n3\r\nabc\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { timeoutMs: 3000 });
      assert.equal(r.status, 400, `${JSON.stringify(h)}: ${r.raw.slice(0, 80)}`);
      assert.match(r.headers.connection ?? '', /close/i, h);
      assert.equal(r.timedOut, undefined, `${h}: connection kept open`);
      assert.equal((r.raw.match(/HTTP\/1\.1 /g) ?? []).length, 1, `${h}: a smuggled second request was answered`);
    }
    // the same length twice is one length
    const ok = await rawHttp(port, 'POST /oauth2/revoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
    assert.ok(ok.status >= 400 && ok.status < 500, ok.raw.slice(0, 100));
    assert.doesNotMatch(ok.body, /Content-Length/, 'refused for its framing');
  });

  test('a head trickled past request_timeout is cut with 408', async () => {
    const t0 = Date.now();
    const res = await new Promise((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      const chunks = [];
      let n = 0;
      const timer = setInterval(() => { if (!sock.destroyed) sock.write(`X-Slow-${n++}: a\r\n`); }, 500);
      const done = () => { clearInterval(timer); resolve(Buffer.concat(chunks).toString('latin1')); };
      sock.on('data', (d) => chunks.push(d));
      sock.on('close', done);
      sock.on('error', () => {});
      sock.on('connect', () => sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      setTimeout(() => sock.destroy(), 12_000);
    });
    const took = Date.now() - t0;
    assert.match(res, /^HTTP\/1\.1 408/, res.slice(0, 80));
    assert.ok(took >= 2500 && took < 6000, `cut after ${took} ms (request_timeout 3s; never idle 0.5 s)`);
  });

  test('a body trickled past request_timeout is cut', async () => {
    const t0 = Date.now();
    await new Promise((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      const timer = setInterval(() => { if (!sock.destroyed) sock.write('a'); }, 300);
      sock.on('close', () => { clearInterval(timer); resolve(); });
      sock.on('error', () => {});
      sock.on('connect', () => sock.write('POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n'));
      setTimeout(() => sock.destroy(), 12_000);
    });
    const took = Date.now() - t0;
    assert.ok(took >= 2500 && took < 6000, `cut after ${took} ms`);
  });

  test('100 slowloris connections from one address do not lock others out', async () => {
    const attackers = [];
    let refused = 0;
    for (let i = 0; i < 100; i += 1) {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
      s.on('error', () => {});
      s.on('close', () => { refused += 1; });
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      attackers.push(s);
    }
    try {
      await sleep(500);
      // http.max_connections is 60: without a per-address cap these 100
      // would hold every slot; with it, 90 are closed at once.
      assert.ok(refused >= 85, `only ${refused} of 100 refused`);
      for (let i = 0; i < 20; i += 1) {
        const r = await freshGet(`http://127.0.0.1:${port}/healthz`, {}, { timeoutMs: 2000 });
        assert.equal(r.status, 200);
      }
      // another address is capped separately
      const r = await rawFrom(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { localAddress: '127.0.0.4' });
      assert.equal(r.status, 200);
    } finally {
      for (const s of attackers) s.destroy();
    }
    // the refusals are on record, as a few lines, not one per refusal
    const lines = stack.sekisho.stderr().split('\n').filter((l) => /connection from 127\.0\.0\.3 refused/.test(l));
    assert.ok(lines.length >= 1 && lines.length <= 5, `${lines.length} log lines for the refusals`);
    assert.match(lines[0], /max_connections_per_ip \(10\)/);
    // once they are gone, 127.0.0.3 may connect again
    await waitFor(async () => (await rawFrom(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { localAddress: '127.0.0.3' }).catch(() => ({}))).status === 200,
      { timeoutMs: 5000, what: '127.0.0.3 admitted again' });
    assert.ok(stack.sekisho.running());
  });
});

describe('HSTS when public_url is https', () => {
  let stack;
  before(async () => { stack = await startStack({ secure: true }); });
  after(async () => { await stack?.stop(); });
  test('Strict-Transport-Security on every answer', async () => {
    for (const path of ['/healthz', '/login', '/nope', '/auth/verify']) {
      const r = await freshGet(`${stack.base}${path}`);
      assert.equal(r.headers['strict-transport-security'], 'max-age=31536000', path);
    }
    const r = await rawHttp(stack.sekisho.port, 'GET /login HTTP/1.1\r\nHost: law.test:@x\r\nConnection: close\r\n\r\n');
    assert.equal(r.status, 400);
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000', 'on refusals too');
  });
});


// Operations: health, metrics, request ids, the access log, secrets kept out
// of the log, config check, and shutdown. Covers:
//   - GET /healthz 200 JSON, GET /readyz 200 JSON (Redis up)
//   - GET /metrics: Prometheus text with sekisho_http_requests_total{route,
//     status}, the duration histogram (cumulative buckets, +Inf = count),
//     sekisho_logins_total{result="success"|"failure"} moving with sign-ins,
//     sekisho_redis_errors_total
//   - X-Request-Id on every answer of the daemon (200/302/400/401/403/404/
//     405/413), unique per request
//   - client_ip from the socket, spoofed X-Real-IP ignored (no trusted_proxies)
//   - stderr is JSON lines; one access line per request with request_id (=
//     X-Request-Id), method, path (no query), status, duration_ms, client_ip
//   - nothing secret in the log: session id, code, state, nonce, PKCE
//     challenge, binding cookie, client secret, query strings, cookie and
//     Authorization values never appear
//   - `sekisho -t -c` accepts the generated config, rejects a broken one;
//     refuses (exit 1, file:line: key: problem) a weak master key in a
//     mode-0666 file, an unreadable one, a mode-0644 secret file, a
//     1-character client secret, 365-day access tokens, a 10 s rotation
//     delay, and the daemon refuses them too; warns (exit 0) about listen
//     0.0.0.0 without a proxy, http on a real name, https without Secure
//     cookies, plain-TCP Redis elsewhere without a password, 10-year
//     sessions, and the daemon logs the warnings at start
//   - sign-in success and failure log lines carry the client IP and the
//     request id (= X-Request-Id)
//   - SIGTERM with a request in flight (slow upstream discovery): the request
//     is still answered, then exit 0
//   - SIGTERM (with an idle keep-alive connection open) -> exit 0 within 5 s
//   - hostile paths (CR/LF, quotes, control bytes) cannot forge log lines
//   - log lines stay valid UTF-8 for non-UTF-8 paths (U+FFFD)
//   - an oversized head gets Sekisho's own 431 with X-Request-Id and a log
//     line; heads too large for libmicrohttpd itself get its bare 4xx and a
//     warning (documented exception)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CLIENT_SECRET, CookieJar, SEKISHO_BIN, follow, freePort, metric, parseMetrics, rawHttp, setIdpMode,
  signIn, startSekisho, startStack, waitFor,
} from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack();
  base = stack.base;
});
after(async () => { await stack?.stop(); });

const logLines = () => stack.sekisho.stderr().split('\n').filter((l) => l !== '');
// Access lines leave through the log writer thread, a moment after the
// answer: wait for them (what is in them is what these tests check).
const accessFor = (ids) => waitFor(() => {
  const log = stack.sekisho.accessLog();
  return ids.every((id) => log.some((l) => l.request_id === id)) && log;
}, { timeoutMs: 2000, what: 'access lines' });

describe('health and metrics', () => {
  test('/healthz and /readyz answer 200 JSON', async () => {
    for (const p of ['/healthz', '/readyz']) {
      const r = await follow(new CookieJar(), `${base}${p}`);
      assert.equal(r.status, 200, p);
      assert.match(r.headers.get('content-type'), /application\/json/);
      assert.ok(JSON.parse(r.body).status, `${p}: ${r.body}`);
    }
    const h = await fetch(`${base}/healthz`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    assert.equal(h.status, 200, 'HEAD /healthz');
  });

  test('/metrics is Prometheus text with the expected families', async () => {
    await follow(new CookieJar(), `${base}/healthz`);
    await follow(new CookieJar(), `${base}/nope`);
    const r = await follow(new CookieJar(), `${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    const m = parseMetrics(r.body);
    const get = (name, labels = {}) => m.filter((s) => s.name === name
      && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.ok(get('sekisho_http_requests_total', { route: 'healthz', status: '200' })[0]?.value >= 1);
    assert.ok(get('sekisho_http_requests_total', { status: '404' })[0]?.value >= 1);
    assert.match(r.body, /# TYPE sekisho_http_requests_total counter/);
    assert.match(r.body, /# TYPE sekisho_http_request_duration_seconds histogram/);
    const buckets = get('sekisho_http_request_duration_seconds_bucket');
    assert.ok(buckets.length >= 2);
    for (let i = 1; i < buckets.length; i += 1) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative');
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    assert.ok(inf);
    assert.equal(inf.value, get('sekisho_http_request_duration_seconds_count')[0]?.value);
    assert.equal(get('sekisho_logins_total', { result: 'success' }).length, 1);
    assert.equal(get('sekisho_logins_total', { result: 'failure' }).length, 1);
    assert.equal(get('sekisho_redis_errors_total').length, 1);
    for (const s of m) assert.ok(Number.isFinite(s.value), `${s.name} ${JSON.stringify(s.labels)}`);
  });

  test('sekisho_logins_total counts successes and failures', async () => {
    const ok0 = await metric(base, 'sekisho_logins_total', { result: 'success' });
    const ko0 = await metric(base, 'sekisho_logins_total', { result: 'failure' });
    await signIn(new CookieJar(), base);
    assert.equal(await metric(base, 'sekisho_logins_total', { result: 'success' }), ok0 + 1);
    await setIdpMode(stack.idp.base, 'wrong_aud');
    try {
      const { res } = await signIn(new CookieJar(), base);
      assert.equal(res.status, 401);
    } finally {
      await setIdpMode(stack.idp.base, 'normal');
    }
    assert.equal(await metric(base, 'sekisho_logins_total', { result: 'failure' }), ko0 + 1);
    assert.equal(await metric(base, 'sekisho_logins_total', { result: 'success' }), ok0 + 1);
    const cb = await metric(base, 'sekisho_http_requests_total', { route: 'callback' });
    assert.ok(cb >= 2, 'callback requests counted by route');
  });
});

describe('request ids and the access log', () => {
  test('every answer carries a unique X-Request-Id, logged with the request', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const cases = [
      ['GET', '/healthz', 200, {}],
      ['GET', '/login?rd=%2Fsecret-rd-value', 302, {}],
      ['GET', '/login?rd=http%3A%2F%2Fevil.example%2F', 400, {}],
      ['GET', '/auth/verify', 200, { cookie: `sekisho=${jar.get(base, 'sekisho')}` }],
      ['GET', '/auth/verify?token=query-secret-value', 401, {}],
      ['POST', '/logout', 403, { origin: 'http://evil.example' }],
      ['GET', '/nope?code=zzz', 404, {}],
      ['DELETE', '/healthz', 405, {}],
      ['POST', '/logout', 413, { origin: base, body: 'x'.repeat(70 * 1024) }],
    ];
    const ids = new Set();
    const seen = [];
    for (const [method, p, status, { body, ...headers }] of cases) {
      const r = await follow(new CookieJar(), `${base}${p}`, { method, headers, body });
      assert.equal(r.status, status, `${method} ${p}`);
      const id = r.headers.get('x-request-id');
      assert.match(id ?? '', /^[0-9a-f]{8,64}$/, `${method} ${p}: X-Request-Id`);
      assert.ok(!ids.has(id), 'unique');
      ids.add(id);
      seen.push({ id, method, path: p.split('?')[0], status });
    }
    const log = await accessFor(seen.map((s) => s.id));
    for (const s of seen) {
      const line = log.find((l) => l.request_id === s.id);
      assert.ok(line, `access line for ${s.method} ${s.path} (${s.id})`);
      assert.equal(line.method, s.method);
      assert.equal(line.path, s.path, 'path without the query string');
      assert.equal(line.status, s.status);
      assert.equal(typeof line.duration_ms, 'number');
      assert.ok(line.duration_ms >= 0);
      assert.equal(line.client_ip, '127.0.0.1');
    }
  });

  test('client_ip is the peer address; X-Real-IP / X-Forwarded-For are not trusted by default', async () => {
    const r = await follow(new CookieJar(), `${base}/healthz`, { headers: { 'x-real-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.7' } });
    const line = (await accessFor([r.headers.get('x-request-id')])).find((l) => l.request_id === r.headers.get('x-request-id'));
    assert.ok(line);
    assert.equal(line.client_ip, '127.0.0.1');
  });

  test('stderr is JSON lines; access lines have the required fields and no query strings', async () => {
    const lines = logLines();
    assert.ok(lines.length > 5);
    for (const l of lines) {
      let o;
      assert.doesNotThrow(() => { o = JSON.parse(l); }, `not JSON: ${l}`);
      assert.equal(typeof o, 'object');
      if (o.type !== 'access') continue;
      for (const k of ['request_id', 'method', 'path', 'status', 'duration_ms', 'client_ip']) {
        assert.ok(k in o, `${k} in ${l}`);
      }
      assert.ok(!o.path.includes('?'), `query in path: ${l}`);
    }
  });

  test('hostile paths cannot forge or break access-log lines', async () => {
    const before = logLines().length;
    const paths = ['/x%0a%7b%22type%22:%22access%22,%22forged%22:1%7d', '/x%0d%0ay', '/x%22y%5cz', '/a%01b%1f', '/%e6%97%a5'];
    for (const p of paths) {
      const r = await rawHttp(stack.sekisho.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 404, p);
    }
    await waitFor(() => logLines().slice(before).filter((l) => l.includes('"type":"access"')).length >= paths.length,
      { timeoutMs: 2000, what: 'access lines' });
    const lines = logLines().slice(before);
    assert.equal(lines.filter((l) => l.includes('"type":"access"')).length, paths.length, 'one line per request');
    for (const l of lines) {
      const o = JSON.parse(l);
      assert.equal(o.forged, undefined);
    }
    assert.ok(lines.some((l) => JSON.parse(l).path === '/日'), 'UTF-8 path logged as such');
  });

  test('access-log lines are valid UTF-8 even for paths that are not', async () => {
    const start = stack.sekisho.stderrBytes().length;
    await rawHttp(stack.sekisho.port, Buffer.from('GET /%ff%fe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'latin1'));
    await rawHttp(stack.sekisho.port, Buffer.from('GET /\u00e9 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'latin1'));
    await waitFor(() => stack.sekisho.stderrBytes().subarray(start).toString('latin1').split('"type":"access"').length > 2,
      { timeoutMs: 2000, what: 'access lines' });
    const bytes = stack.sekisho.stderrBytes().subarray(start);
    assert.ok(bytes.length > 0);
    assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes), 'stderr is valid UTF-8');
  });

  test('no secrets in the log', async () => {
    // A full sign-in, a verify, a logout, plus markers in every place a
    // careless log could pick up.
    const jar = new CookieJar();
    const r1 = await follow(jar, `${base}/login/google?rd=%2Fmarker-rd-7f3a`);
    const az = new URL(r1.location);
    const state = az.searchParams.get('state');
    const nonce = az.searchParams.get('nonce');
    const challenge = az.searchParams.get('code_challenge');
    const bind = jar.get(base, 'sekisho_login');
    const { signInAtIdp } = await import('../lib/idp-login.mjs');
    const callbackUrl = await signInAtIdp(jar, r1.location, 'alice', 'alice-password');
    const code = new URL(callbackUrl).searchParams.get('code');
    const cb = await follow(jar, callbackUrl);
    assert.equal(cb.status, 302);
    const sid = jar.get(base, 'sekisho');
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
    await follow(jar, `${base}/`);
    await follow(jar, `${base}/callback/google?code=marker-code-91b2&state=${'M'.repeat(43)}`);
    await follow(new CookieJar(), `${base}/auth/verify`, {
      headers: { cookie: 'sekisho=marker-cookie-c0ffee; other=marker-other-cookie', authorization: 'Bearer marker-bearer-5e5e' },
    });
    await follow(new CookieJar(), `${base}/nope?access_token=marker-token-abcd`);
    await rawHttp(stack.sekisho.port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sekisho=marker-big-${'q'.repeat(20000)}\r\nConnection: close\r\n\r\n`);
    await follow(jar, `${base}/logout`, { method: 'POST', headers: { origin: base } });

    const log = stack.sekisho.stderr();
    const secrets = {
      sid, code, state, nonce, challenge, bind, client_secret: CLIENT_SECRET,
      password: 'alice-password',
      rd: 'marker-rd-7f3a', code_marker: 'marker-code-91b2', state_marker: 'M'.repeat(43),
      cookie_marker: 'marker-cookie-c0ffee', other_cookie: 'marker-other-cookie',
      bearer: 'marker-bearer-5e5e', token: 'marker-token-abcd', big_cookie: 'marker-big-',
    };
    for (const [what, v] of Object.entries(secrets)) {
      assert.ok(v && v.length >= 8, `have ${what}`);
      assert.ok(!log.includes(v), `${what} appears in sekisho's log`);
    }
    assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{10,}\./, 'no JWT in the log');
    assert.doesNotMatch(log, /alice@example\.com/, 'no e-mail address in the log');
  });

  test('sign-in log lines carry the client IP and the request id', async () => {
    const esc = (v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const at = (id) => esc(` (ip 127.0.0.1, request_id ${id})`);
    const { res } = await signIn(new CookieJar(), base);
    assert.equal(res.status, 302);
    const okId = res.headers.get('x-request-id');
    assert.match(stack.sekisho.stderr(), new RegExp(`sign-in: user u_[A-Za-z0-9_-]+ tenant default via google${at(okId)}`));

    await setIdpMode(stack.idp.base, 'wrong_aud');
    let bad;
    try {
      ({ res: bad } = await signIn(new CookieJar(), base));
    } finally {
      await setIdpMode(stack.idp.base, 'normal');
    }
    assert.equal(bad.status, 401);
    const badId = bad.headers.get('x-request-id');
    const log = stack.sekisho.stderr();
    assert.match(log, new RegExp(`callback google: sign-in refused: [^"]*${at(badId)}`));
    assert.match(log, new RegExp(`sign-in failed: 401 via google${at(badId)}`));

    const forged = await follow(new CookieJar(), `${base}/callback/google?code=x&state=short`);
    assert.equal(forged.status, 400);
    assert.match(stack.sekisho.stderr(), new RegExp(`sign-in failed: 400 via google: malformed callback${at(forged.headers.get('x-request-id'))}`));
  });

  test('an oversized head gets our 431 with X-Request-Id and a log line', async () => {
    const big = 'x'.repeat(20 * 1024);
    const r = await rawHttp(stack.sekisho.port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 431);
    assert.ok(r.headers['x-request-id'], `431 answer has X-Request-Id: ${r.raw.split('\r\n\r\n')[0]}`);
    await sleep(50);
    assert.ok(stack.sekisho.accessLog().some((l) => l.request_id === r.headers['x-request-id'] && l.status === 431));
  });

  test('requests libmicrohttpd rejects before parsing get a bare 4xx and a warning', async () => {
    // Documented exception (README): a head over 4x http.max_header_bytes
    // or an unparsable request line is answered inside libmicrohttpd,
    // which has no hook for headers; the daemon logs a warning.
    const huge = 'x'.repeat(64 * 1024);
    const r = await rawHttp(stack.sekisho.port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${huge}\r\nConnection: close\r\n\r\n`);
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    await sleep(50);
    assert.ok(logLines().some((l) => l.includes('"level":"warn"') && l.includes('http:')), 'warning logged');
    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
  });
});

describe('config check and shutdown', () => {
  const run = (args) => new Promise((resolve) => {
    execFile(SEKISHO_BIN, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });

  test('sekisho -t accepts the generated config and rejects a broken one', async () => {
    const good = await run(['-t', '-c', stack.sekisho.cfgFile]);
    assert.equal(good.code, 0, good.stderr);
    const bad = path.join(stack.dir, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(stack.sekisho.cfgFile, 'utf8')
      .replace(/^listen: .*$/m, 'listen: "not-an-address"')
      .replace(/idle_timeout: [^,}]+/, 'idle_timeout: banana'));
    const r = await run(['-t', '-c', bad]);
    assert.notEqual(r.code, 0, 'broken config refused');
    assert.ok(r.stderr.length > 0, 'with a message');
  });

  // A copy of the generated config with edits, in the stack's directory.
  const variant = (name, edit) => {
    const f = path.join(stack.dir, name);
    fs.writeFileSync(f, edit(fs.readFileSync(stack.sekisho.cfgFile, 'utf8')));
    return f;
  };
  const secretFile = (name, content, mode) => {
    const f = path.join(stack.dir, name);
    fs.writeFileSync(f, content);
    fs.chmodSync(f, mode); // not subject to the umask, unlike writeFileSync's mode
    return f;
  };

  test('sekisho -t refuses what is never right; so does the daemon', async () => {
    // An all-zero master key in a mode-0666 file: both problems, one run.
    const weak = secretFile('weak.key', `${'0'.repeat(64)}\n`, 0o666);
    const loose = secretFile('loose.secret', `${CLIENT_SECRET}\n`, 0o644);
    const short = secretFile('short.secret', 'x\n', 0o600);
    const bad = variant('refused.yaml', (y) => y
      .replace(/^(\s*master_key_file: ).*$/m, `$1${weak}\n  rotation_delay: 10s`)
      .replace(/^(\s*client_secret_file: ).*$/m, `$1${loose}`)
      .concat(`tokens: { access_token_ttl: 365d }\nclients:\n  - { client_id: ops, tenants: all, client_secret_file: ${short} }\n`));
    const r = await run(['-t', '-c', bad]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const expected = [
      new RegExp(`^${bad}:\\d+: keys\\.master_key_file: "${weak}": mode 0666 lets other users replace it \\(chmod 600, or 400\\)$`, 'm'),
      new RegExp(`^${bad}:\\d+: keys\\.master_key_file: "${weak}" holds a weak key .*\\(it must hold 32 random bytes as 64 hex characters: \`openssl rand -hex 32 > FILE\`\\)$`, 'm'),
      /:\d+: keys\.rotation_delay: 10s is too short \(more than 65s/,
      new RegExp(`:\\d+: providers\\[0\\]\\.client_secret_file: "${loose}": mode 0644 lets other users read it`),
      /:\d+: tokens\.access_token_ttl: 365d is longer than 1h/,
      /:\d+: clients\[0\]\.client_secret: shorter than 32 characters \(at least 128 bits/,
    ];
    for (const re of expected) assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, expected.length, r.stderr);
    // The daemon stops at the same place, before listening.
    const d = await run(['-c', bad]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /keys\.master_key_file: .* mode 0666/);

    // A master key that cannot be read: -t no longer says ok.
    const gone = variant('nokey.yaml', (y) => y.replace(/^(\s*master_key_file: ).*$/m, `$1${path.join(stack.dir, 'missing.key')}`));
    const g = await run(['-t', '-c', gone]);
    assert.equal(g.code, 1);
    assert.match(g.stderr, /keys\.master_key_file: cannot read ".*missing\.key": No such file or directory/);
  });

  test('sekisho -t prints warnings and exits 0; the daemon logs them at start', async () => {
    const risky = variant('risky.yaml', (y) => y
      .replace(/^listen: .*$/m, 'listen: "0.0.0.0:8080"')
      .replace(/^public_url: .*$/m, 'public_url: "http://login.example.test"')
      .replace(/^redis: .*$/m, 'redis: { url: "redis://10.9.8.7:6379/0" }')
      .replace(/absolute_timeout: [^,}]+/, 'absolute_timeout: 3650d'));
    const r = await run(['-t', '-c', risky]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${risky}: ok\n`);
    for (const re of [
      /:\d+: listen: warning: "0\.0\.0\.0" is not a loopback address and no proxy is configured/,
      /:\d+: public_url: warning: "http:\/\/login\.example\.test" is plain http on a host that is not loopback/,
      /:\d+: redis\.url: warning: plain TCP to "10\.9\.8\.7", which is not loopback, without a password/,
      /:\d+: session\.absolute_timeout: warning: 3650d is longer than 30d/,
    ]) assert.match(r.stderr, new RegExp(`^${risky}${re.source}`, 'm'));
    assert.equal(r.stderr.trim().split('\n').length, 4, r.stderr);

    const https = variant('https.yaml', (y) => y.replace(/^public_url: .*$/m, 'public_url: "https://login.example.test"'));
    const h = await run(['-t', '-c', https]);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stderr, /:\d+: cookie\.secure: warning: false while public_url is https/);

    // The daemon starts and logs each warning once.
    const port = await freePort();
    const sk = await startSekisho({
      dir: fs.mkdtempSync(path.join(stack.dir, 'warn-')), port, publicUrl: `http://127.0.0.1:${port}`,
      redisUrl: stack.redis.url, idpBase: stack.idp.base, secretFile: path.join(stack.dir, 'idp-client.secret'),
      absoluteTimeout: '40d',
    });
    try {
      const lines = sk.stderr().split('\n').filter((l) => l.includes('session.absolute_timeout: warning'));
      assert.equal(lines.length, 1, sk.stderr());
      assert.equal(JSON.parse(lines[0]).level, 'warn');
      assert.match(JSON.parse(lines[0]).msg, /^config: .*sekisho\.yaml:\d+: session\.absolute_timeout: warning: 40d is longer than 30d/);
    } finally {
      await sk.stop();
    }
  });

  test('SIGTERM while a request is in flight: the request is answered, then exit 0', async () => {
    // A provider whose discovery document takes 1.5 s: /login/slow is in
    // flight inside sekisho when SIGTERM arrives.
    const slow = http.createServer((req, res) => {
      setTimeout(() => {
        const iss = `http://127.0.0.1:${slow.address().port}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          issuer: iss,
          authorization_endpoint: `${iss}/auth`,
          token_endpoint: `${iss}/token`,
          jwks_uri: `${iss}/jwks`,
          id_token_signing_alg_values_supported: ['ES256'],
        }));
      }, 1500);
    });
    await new Promise((resolve) => { slow.listen(0, '127.0.0.1', resolve); });
    let sk;
    try {
      const port = await freePort();
      const slowIss = `http://127.0.0.1:${slow.address().port}`;
      sk = await startSekisho({
        dir: fs.mkdtempSync(path.join(stack.dir, 'drain-')),
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        redisUrl: stack.redis.url,
        idpBase: stack.idp.base,
        secretFile: path.join(stack.dir, 'idp-client.secret'),
        tenantsYaml: '  - id: default\n    providers: [google, slow]\n',
        extraProvidersYaml: `  - id: slow\n    type: oidc\n    client_id: x\n    client_secret_file: ${path.join(stack.dir, 'idp-client.secret')}\n    issuer: "${slowIss}"\n`,
      });
      const pending = follow(new CookieJar(), `${sk.base}/login/slow`, { timeoutMs: 10_000 });
      await sleep(400);
      const t0 = Date.now();
      sk.proc.kill('SIGTERM');
      const r = await pending;
      assert.equal(r.status, 302, `in-flight request answered: ${r.status}`);
      assert.ok(r.location.startsWith(`${slowIss}/auth?`));
      let timer;
      const res = await Promise.race([
        sk.exited,
        new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 5000); }),
      ]);
      clearTimeout(timer);
      assert.deepEqual(res, { code: 0, signal: null }, `exit after SIGTERM (${Date.now() - t0} ms)`);
    } finally {
      await sk?.stop('SIGKILL');
      slow.closeAllConnections();
      slow.close();
    }
  });

  test('SIGTERM with an idle keep-alive connection open: exit 0 within 5 s', async () => {
    // An idle keep-alive client must not hold the shutdown.
    const sock = net.connect({ host: '127.0.0.1', port: stack.sekisho.port });
    await new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.once('data', () => resolve());
      sock.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    sock.on('error', () => {});
    const t0 = Date.now();
    stack.sekisho.proc.kill('SIGTERM');
    let timer;
    const res = await Promise.race([
      stack.sekisho.exited,
      new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), 5000); }),
    ]);
    clearTimeout(timer);
    sock.destroy();
    assert.notEqual(res, 'timeout', `sekisho still running 5 s after SIGTERM:\n${stack.sekisho.stderr().slice(-500)}`);
    assert.deepEqual(res, { code: 0, signal: null }, 'clean exit');
    assert.ok(Date.now() - t0 < 5000);
    // the port is closed
    const closed = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: stack.sekisho.port });
      s.once('connect', () => { s.destroy(); resolve(false); });
      s.once('error', () => resolve(true));
    });
    assert.ok(closed, 'listening socket closed');
  });
});

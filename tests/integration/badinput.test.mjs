// Hostile and broken input; every answer must be 4xx (never 5xx, never a
// session) and the daemon must keep running. Covers:
//   - malformed session cookies (path traversal, very long, non-ASCII bytes,
//     wrong charset, right shape but unknown, empty, duplicated, Redis glob
//     characters) -> /auth/verify 401 JSON
//   - oversized request head (20 kB header, 20 kB URL) -> 4xx
//   - POST /logout with a body > 64 KiB -> 413 (also chunked), session kept
//   - garbage / missing / duplicated query parameters on /callback and /login
//   - unknown paths -> 404 JSON; wrong methods -> 405 with Allow
//   - broken request lines and headers over a raw socket (505 accepted only
//     for an unsupported HTTP version, as RFC 9110 says)
//   - a percent-encoded NUL in the path is kept encoded: 404, never routed
//   - /healthz still 200 afterwards, process still running

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CookieJar, follow, rawHttp, signIn, startStack } from './harness.mjs';

let stack;
let base;
let port;

before(async () => {
  stack = await startStack();
  base = stack.base;
  port = stack.sekisho.port;
});
after(async () => { await stack?.stop(); });

const is4xx = (s) => s >= 400 && s < 500;

async function alive() {
  const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200, 'daemon still answers /healthz');
  assert.ok(stack.sekisho.running(), 'daemon still running');
}

describe('bad input', () => {
  test('malformed session cookies -> 401', async () => {
    const cookies = [
      'sekisho=../../x',
      'sekisho=../../../../etc/passwd',
      `sekisho=${'A'.repeat(4000)}`,
      `sekisho=${'A'.repeat(44)}`,
      `sekisho=${'A'.repeat(42)}`,
      `sekisho=${'*'.repeat(43)}`,
      `sekisho=${'A'.repeat(41)}*?`,
      `sekisho=${'A'.repeat(43)}`,
      'sekisho=',
      'sekisho',
      '=;;;=;',
      'sekisho="quoted"',
      'sekisho=%00%01',
      `sekisho=${'A'.repeat(43)}; sekisho=${'B'.repeat(43)}`,
    ];
    for (const cookie of cookies) {
      const r = await follow(new CookieJar(), `${base}/auth/verify`, { headers: { cookie } });
      assert.equal(r.status, 401, `cookie ${cookie.slice(0, 60)}: ${r.status}`);
      assert.match(r.headers.get('content-type'), /application\/json/);
      assert.equal(r.headers.get('x-auth-request-user'), null);
    }
    // non-ASCII (raw UTF-8 and control bytes) over a raw socket
    for (const value of ['\u00e9\u00e8\u65e5\u672c', '\u{1F600}'.repeat(11), 'A'.repeat(20) + '\x01\x02' + 'A'.repeat(21)]) {
      const r = await rawHttp(port, Buffer.concat([
        Buffer.from('GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sekisho='),
        Buffer.from(value, 'utf8'),
        Buffer.from('\r\nConnection: close\r\n\r\n'),
      ]));
      assert.ok(r.status === 401 || r.status === 400, `non-ASCII cookie ${JSON.stringify(value)}: ${r.status}`);
    }
    await alive();
  });

  test('oversized headers and URLs -> 4xx', async () => {
    const big = 'x'.repeat(20 * 1024);
    const r1 = await rawHttp(port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big}\r\nConnection: close\r\n\r\n`);
    assert.ok(is4xx(r1.status), `20 kB header: ${r1.status} ${r1.raw.slice(0, 100)}`);
    const r2 = await rawHttp(port, `GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sekisho=${big}\r\nConnection: close\r\n\r\n`);
    assert.ok(is4xx(r2.status), `20 kB cookie: ${r2.status}`);
    const r3 = await rawHttp(port, `GET /login?rd=/${big} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    assert.ok(is4xx(r3.status), `20 kB URL: ${r3.status}`);
    // many small headers adding up
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(60)}\r\n`).join('');
    const r4 = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${many}Connection: close\r\n\r\n`);
    assert.ok(is4xx(r4.status), `400 headers: ${r4.status}`);
    // still fine just under the default limit (8 KiB of headers)
    const r5 = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Mid: ${'m'.repeat(4000)}\r\nConnection: close\r\n\r\n`);
    assert.equal(r5.status, 200, '4 kB header is accepted');
    await alive();
  });

  test('POST /logout with a body over 64 KiB -> 413, session kept', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const body = 'a='.concat('x'.repeat(70 * 1024));
    const r = await follow(jar, `${base}/logout`, {
      method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    });
    assert.equal(r.status, 413);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200, 'oversized logout did not act');
    // chunked, no Content-Length
    const chunk = 'y'.repeat(16 * 1024);
    let raw = `POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nCookie: sekisho=${jar.get(base, 'sekisho')}\r\nConnection: close\r\n\r\n`;
    for (let i = 0; i < 6; i += 1) raw += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    raw += '0\r\n\r\n';
    const r2 = await rawHttp(port, raw);
    assert.equal(r2.status, 413, `chunked 96 KiB: ${r2.status}`);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
    // a body on other routes is bounded too
    const r3 = await follow(new CookieJar(), `${base}/auth/verify`, { method: 'GET', headers: {} });
    assert.equal(r3.status, 401);
    await alive();
  });

  test('garbage, missing and duplicated query parameters on /callback -> 4xx', async () => {
    const s43 = 'A'.repeat(43);
    const queries = [
      '', '?', '?&&&', '?=', '?state', '?code', '?code=abc',
      `?state=${s43}`, `?state=${s43}&code=`, `?state=${s43}&state=${s43}&code=x`,
      `?state=${s43}&code=a&code=b`, `?state=${s43}&error=a&error=b`,
      '?state=%ZZ&code=%', '?state=%00&code=%00', `?state=${'A'.repeat(5000)}&code=x`,
      `?state=${s43}&code=${'c'.repeat(5000)}`, `?state=${encodeURIComponent('ä'.repeat(43))}`,
      `?state=${s43}&error=${encodeURIComponent('<script>alert(1)</script>')}`,
      `?state[]=x&code[]=y`, '?state=../../../etc/passwd&code=x',
    ];
    for (const q of queries) {
      const r = await follow(new CookieJar(), `${base}/callback/google${q}`);
      assert.ok(is4xx(r.status), `/callback/google${q.slice(0, 80)} -> ${r.status}`);
      assert.ok(!r.headers.getSetCookie().some((c) => /^sekisho=[^;]/.test(c)), 'no session');
      assert.doesNotMatch(r.body, /<script>alert/);
    }
    for (const p of ['/callback/', '/callback/google/extra', '/callback/..%2f..%2fetc', '/callback/%00']) {
      const r = await follow(new CookieJar(), `${base}${p}?state=${s43}&code=x`);
      assert.ok(is4xx(r.status), `${p} -> ${r.status}`);
    }
    await alive();
  });

  test('garbage, missing and duplicated query parameters on /login -> 4xx or the normal answer', async () => {
    const bad = ['?rd=a&rd=b', '?rd=/a&rd=/b', '?rd=', '?rd=%ZZ', '?rd=%00', `?rd=/${'a'.repeat(5000)}`,
      '?rd=http%3A%2F%2Fevil.example%2F', '?rd=%2F%2Fevil.example', '?rd=%2F%5Cevil.example', '?rd=%09/evil'];
    for (const q of bad) {
      for (const p of ['/login', '/login/google']) {
        const r = await follow(new CookieJar(), `${base}${p}${q}`);
        assert.ok(is4xx(r.status), `${p}${q.slice(0, 60)} -> ${r.status} ${r.location ?? ''}`);
      }
    }
    // unknown parameters are ignored
    const ok = await follow(new CookieJar(), `${base}/login?foo=bar&&x`);
    assert.equal(ok.status, 302);
    for (const p of ['/login/unknown', '/login/', '/login/google/x', '/login/%2e%2e', '/login/..', '/login/google/../google']) {
      // raw socket: fetch would normalise dot segments away
      const r = await rawHttp(port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.ok(is4xx(r.status), `${p} -> ${r.status}`);
    }
    await alive();
  });

  test('unknown paths -> 404 JSON', async () => {
    for (const p of ['/nope', '/administrators', '/healthz/', '/auth/verify/x', '/..%2f..%2fetc/passwd', '/metrics%2500', '/metrics.txt', '/LOGIN', `/${'z'.repeat(3000)}`]) {
      const r = await follow(new CookieJar(), `${base}${p}`);
      assert.equal(r.status, 404, `${p.slice(0, 60)} -> ${r.status}`);
      assert.match(r.headers.get('content-type'), /application\/json/);
      assert.equal(JSON.parse(r.body).error, 'not_found');
    }
    await alive();
  });

  test('a percent-encoded NUL does not truncate the path', async () => {
    for (const p of ['/%00', '/healthz%00x', '/auth/verify%00/../x', '/login/google%00x', '/callback/google%00x']) {
      const r = await rawHttp(port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.ok(r.status === 400 || r.status === 404, `${p} -> ${r.status} (expected 400 or 404)`);
    }
  });

  test('wrong methods -> 405 with Allow', async () => {
    const cases = [
      ['POST', '/healthz'], ['PUT', '/auth/verify'], ['DELETE', '/logout'], ['POST', '/login'],
      ['POST', '/login/google'], ['POST', '/callback/google'], ['PATCH', '/metrics'], ['PUT', '/'],
    ];
    for (const [method, p] of cases) {
      const r = await follow(new CookieJar(), `${base}${p}`, { method, body: method === 'DELETE' ? undefined : '' });
      assert.equal(r.status, 405, `${method} ${p} -> ${r.status}`);
      assert.ok(r.headers.get('allow'), `${method} ${p}: Allow header`);
    }
    const r = await rawHttp(port, 'BREW /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.ok(is4xx(r.status), `BREW /healthz -> ${r.status}`);
    await alive();
  });

  test('broken requests over a raw socket -> 4xx or closed, never 5xx', async () => {
    const reqs = [
      'GARBAGE\r\n\r\n',
      'GET\r\n\r\n',
      'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nNoColonHeader\r\nConnection: close\r\n\r\n',
      'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n',
      'POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\nConnection: close\r\n\r\n',
      'POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999999999\r\nConnection: close\r\n\r\n',
      'POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n',
      'GET /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: \r\nConnection: close\r\n\r\n',
      'GET /auth/verify HTTP/1.1\r\nHost: \u00ff\u00fe\r\nConnection: close\r\n\r\n',
      'GET /auth/verify?\u0000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    ];
    for (const q of reqs) {
      const r = await rawHttp(port, Buffer.from(q, 'latin1'), { timeoutMs: 3000 });
      if (r.status !== undefined && !(q.includes('HTTP/9.9') && r.status === 505)) {
        assert.ok(r.status < 500, `${JSON.stringify(q.slice(0, 60))} -> ${r.status}`);
      }
    }
    await alive();
  });

  test('after all that: the daemon is healthy and sign-in still works', async () => {
    await alive();
    const jar = new CookieJar();
    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
  });
});

// Real nginx (auth_request, config modelled on conf/nginx.example.conf) in
// front of the echo upstream, sekisho behind it (public_url = nginx).
// Covers:
//   - not signed in: the app URL answers 302 to /login?rd=<app URL>, and the
//     upstream is never reached (also when the client forges
//     X-Auth-Request-User)
//   - sign-in through nginx (/login, /callback proxied to sekisho) ends back
//     on the app URL; the upstream then receives X-Auth-Request-User/-Email/
//     -Tenant from sekisho's answer
//   - client-sent X-Auth-Request-User/-Email/-Tenant are overwritten
//   - POST /logout through nginx ends access to the app
//   - Redis down: a signed-in request never reaches the app (fail closed
//     end to end), and access comes back after Redis does

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CookieJar, follow, freshGet, signIn, startStack, waitReady } from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack({ nginx: true });
  base = stack.base;
});
after(async () => { await stack?.stop(); });

describe('nginx auth_request', () => {
  test('not signed in: 302 to /login with rd, upstream not reached', async () => {
    for (const headers of [{}, { 'x-auth-request-user': 'u_admin', 'x-auth-request-email': 'boss@example.com' }]) {
      const r = await follow(new CookieJar(), `${base}/app/page?q=1`, { headers });
      assert.equal(r.status, 302, `${JSON.stringify(headers)}: ${r.status} ${r.body.slice(0, 200)}`);
      const loc = new URL(r.location);
      assert.equal(loc.origin, base);
      assert.equal(loc.pathname, '/login');
      assert.equal(loc.searchParams.get('rd'), `${base}/app/page?q=1`);
      assert.doesNotMatch(r.body, /"headers"/, 'echo upstream did not answer');
    }
  });

  test('a malformed or unknown session cookie does not get through', async () => {
    for (const cookie of ['sekisho=../../etc/passwd', `sekisho=${'A'.repeat(43)}`, 'sekisho=']) {
      const r = await follow(new CookieJar(), `${base}/app/`, { headers: { cookie } });
      assert.equal(r.status, 302, cookie);
    }
  });

  test('sign-in through nginx returns to the app, which gets the identity headers', async () => {
    const jar = new CookieJar();
    const first = await follow(jar, `${base}/app/page?q=1`);
    assert.equal(first.status, 302);
    const { res } = await signIn(jar, base, { rd: `${base}/app/page?q=1` });
    assert.equal(res.status, 302, res.body.slice(0, 300));
    assert.equal(res.location, `${base}/app/page?q=1`);
    assert.ok(jar.get(base, 'sekisho'), 'session cookie set for the nginx origin');

    const r = await follow(jar, res.location);
    assert.equal(r.status, 200, r.body.slice(0, 300));
    const echo = JSON.parse(r.body);
    assert.equal(echo.url, '/app/page?q=1');
    assert.match(echo.headers['x-auth-request-user'] ?? '', /^u_[A-Za-z0-9_-]+$/);
    assert.equal(echo.headers['x-auth-request-email'], 'alice@example.com');
    assert.equal(echo.headers['x-auth-request-tenant'], 'default');

    // Sekisho says the same directly.
    const v = await follow(new CookieJar(), `${stack.sekishoBase}/auth/verify`, { headers: { cookie: `sekisho=${jar.get(base, 'sekisho')}` } });
    assert.equal(v.status, 200);
    assert.equal(v.headers.get('x-auth-request-user'), echo.headers['x-auth-request-user']);
  });

  test('client-sent X-Auth-Request-* headers are overwritten', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const r0 = await follow(jar, `${base}/app/who`);
    assert.equal(r0.status, 200);
    const realUser = JSON.parse(r0.body).headers['x-auth-request-user'];
    assert.ok(realUser);

    const r = await follow(jar, `${base}/app/who`, {
      headers: {
        'x-auth-request-user': 'u_forged_admin',
        'x-auth-request-email': 'ceo@evil.example',
        'x-auth-request-tenant': 'other-tenant',
      },
    });
    assert.equal(r.status, 200);
    const h = JSON.parse(r.body).headers;
    assert.equal(h['x-auth-request-user'], realUser);
    assert.equal(h['x-auth-request-email'], 'alice@example.com');
    assert.equal(h['x-auth-request-tenant'], 'default');
    assert.doesNotMatch(JSON.stringify(h), /forged|evil\.example|other-tenant/);
  });

  test('POST /logout through nginx ends access to the app', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const sid = jar.get(base, 'sekisho');
    assert.equal((await follow(jar, `${base}/app/`)).status, 200);

    const cross = await follow(jar, `${base}/logout`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    assert.equal(cross.status, 403);
    assert.equal((await follow(jar, `${base}/app/`)).status, 200);

    const out = await follow(jar, `${base}/logout`, { method: 'POST', headers: { origin: base } });
    assert.equal(out.status, 200);
    assert.equal((await follow(jar, `${base}/app/`)).status, 302);
    const replay = await follow(new CookieJar(), `${base}/app/`, { headers: { cookie: `sekisho=${sid}` } });
    assert.equal(replay.status, 302, 'old cookie replayed through nginx');
  });

  test('Redis down: the app is not reached; back when Redis is', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    assert.equal((await follow(jar, `${base}/app/`)).status, 200);
    await stack.redis.kill();
    try {
      for (let i = 0; i < 4; i += 1) {
        const r = await freshGet(`${base}/app/`, { cookie: jar.header(`${base}/app/`) });
        assert.notEqual(r.status, 200, `request #${i} reached the app while Redis is down`);
        assert.doesNotMatch(r.body, /"x-auth-request-user"/);
      }
    } finally {
      await stack.redis.restart();
    }
    // Redis came back empty: the old session is gone, a new sign-in works.
    const jar2 = new CookieJar();
    await waitReady(stack.sekishoBase);
    const { res } = await signIn(jar2, base);
    assert.equal(res.status, 302);
    assert.equal((await follow(jar2, `${base}/app/`)).status, 200);
  });
});

// Sign-in over HTTP against the real daemon, redis-server and the test IdP
// (no nginx: public_url is sekisho itself). Covers:
//   - /auth/verify 401 (JSON) before sign-in, 200 with X-Auth-Request-* after
//   - /login -> /login/google -> IdP authorize URL (state, nonce, PKCE S256,
//     redirect_uri) and the sekisho_login binding cookie
//   - callback sets `sekisho` (43 chars; Path=/; HttpOnly; SameSite=Lax; no
//     Secure with cookie.secure: false), clears the binding cookie, and
//     redirects to rd or public_url + "/"
//   - GET / "Signed in" page with name and e-mail; 302 /login without session
//   - the same IdP user twice -> same internal user id, different sessions;
//     another user -> another id
//   - rd validation at /login (allowed path / host accepted, others 400 page)
//   - logout: cross-site POST (Origin, Sec-Fetch-Site) refused with 403 and
//     the session kept; GET /logout page; POST ends the session, the cookie
//     is cleared and replaying the old cookie gives 401
//   - callback refusals: replayed callback ("Sign-in expired"), unknown state,
//     missing state, missing / foreign binding cookie; none creates a session
//   - races: concurrent first sign-ins of one IdP user get one user id; the
//     same callback fired twice at once succeeds at most once
//   - a session cookie planted before sign-in is replaced (no fixation)
//   - POST /logout?rd= follows the same redirect rules as /login
//   - cookie.secure: true (https public_url, plain http on loopback as behind
//     a TLS terminator) -> __Host-sekisho / __Host-sekisho_login with Secure

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { CookieJar, follow, signIn, startSignIn, startStack } from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack();
  base = stack.base;
});
after(async () => { await stack?.stop(); });

const sessionKeys = () => stack.redis.count('sk:{u:*}:s:*');

function sessionCookieHeader(res) {
  return res.headers.getSetCookie().find((c) => /^sekisho=/.test(c));
}

describe('sign-in', () => {
  test('/auth/verify is 401 JSON without a session', async () => {
    const r = await follow(new CookieJar(), `${base}/auth/verify`);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.equal(JSON.parse(r.body).error, 'unauthorized');
    assert.equal(r.headers.get('x-auth-request-user'), null);
  });

  test('GET / without a session redirects to /login', async () => {
    const r = await follow(new CookieJar(), `${base}/`);
    assert.equal(r.status, 302);
    assert.equal(new URL(r.location).pathname, '/login');
  });

  test('/login redirects to the only provider, which redirects to the IdP with state, nonce and PKCE', async () => {
    const jar = new CookieJar();
    const r1 = await follow(jar, `${base}/login?rd=%2Fafter`);
    assert.equal(r1.status, 302);
    const l1 = new URL(r1.location);
    assert.equal(l1.origin, base);
    assert.equal(l1.pathname, '/login/google');
    assert.equal(l1.searchParams.get('rd'), '/after');

    const r2 = await follow(jar, r1.location);
    assert.equal(r2.status, 302);
    const az = new URL(r2.location);
    assert.equal(az.origin, stack.idp.base);
    const q = az.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), 'sekisho-test');
    assert.equal(q.get('redirect_uri'), `${base}/callback/google`);
    assert.match(q.get('scope'), /\bopenid\b/);
    assert.match(q.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.get('nonce') ?? '', /^[A-Za-z0-9_-]{20,}$/);
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.get('code_challenge_method'), 'S256');

    const bind = r2.headers.getSetCookie().find((c) => c.startsWith('sekisho_login='));
    assert.ok(bind, `binding cookie set: ${r2.headers.getSetCookie()}`);
    assert.match(bind, /^sekisho_login=[A-Za-z0-9_-]{20,};/);
    assert.match(bind, /; HttpOnly/i);
    assert.match(bind, /; Path=\//);
    // state must not be guessable from the cookie and vice versa
    assert.ok(!bind.includes(q.get('state')));

    // Two starts give two different states.
    const r3 = await follow(new CookieJar(), r1.location);
    assert.notEqual(new URL(r3.location).searchParams.get('state'), q.get('state'));
  });

  test('full sign-in sets the session cookie and /auth/verify answers 200 with identity headers', async () => {
    const jar = new CookieJar();
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 401);
    const before = await sessionKeys();

    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    assert.equal(res.location, `${base}/`, 'no rd: back to public_url + "/"');
    const sc = sessionCookieHeader(res);
    assert.ok(sc, `session cookie set: ${res.headers.getSetCookie()}`);
    assert.match(sc, /^sekisho=u_[A-Za-z0-9_-]{20}[A-Za-z0-9_-]{43};/);
    assert.match(sc, /; Path=\/(;|$)/);
    assert.match(sc, /; HttpOnly(;|$)/i);
    assert.match(sc, /; SameSite=Lax(;|$)/i);
    assert.doesNotMatch(sc, /; Secure/i, 'cookie.secure: false');
    assert.doesNotMatch(sc, /; Domain=/i);
    // the binding cookie is spent
    assert.ok(res.headers.getSetCookie().some((c) => /^sekisho_login=;/.test(c) && /Max-Age=0/.test(c)));
    assert.equal(jar.get(base, 'sekisho_login'), undefined);
    assert.equal(await sessionKeys(), before + 1);

    const v = await follow(jar, `${base}/auth/verify`);
    assert.equal(v.status, 200);
    assert.match(v.headers.get('x-auth-request-user') ?? '', /^u_[A-Za-z0-9_-]+$/);
    assert.equal(v.headers.get('x-auth-request-email'), 'alice@example.com');
    assert.equal(v.headers.get('x-auth-request-tenant'), 'default');

    const home = await follow(jar, `${base}/`);
    assert.equal(home.status, 200);
    assert.match(home.body, /Signed in/);
    assert.match(home.body, /Alice Example/);
    assert.match(home.body, /alice@example\.com/);
  });

  test('the same IdP user signing in twice gets the same user id; another user another id', async () => {
    const a1 = new CookieJar();
    const a2 = new CookieJar();
    const b1 = new CookieJar();
    await signIn(a1, base);
    await signIn(a2, base);
    await signIn(b1, base, { login: 'bob', password: 'bob-password' });
    const [v1, v2, v3] = await Promise.all([a1, a2, b1].map((j) => follow(j, `${base}/auth/verify`)));
    for (const v of [v1, v2, v3]) assert.equal(v.status, 200);
    assert.equal(v1.headers.get('x-auth-request-user'), v2.headers.get('x-auth-request-user'));
    assert.notEqual(v1.headers.get('x-auth-request-user'), v3.headers.get('x-auth-request-user'));
    assert.notEqual(a1.get(base, 'sekisho'), a2.get(base, 'sekisho'), 'two sessions');
    assert.equal(v1.headers.get('x-auth-request-tenant'), 'default');
    assert.equal(v3.headers.get('x-auth-request-tenant'), 'default');
  });

  test('rd: a path on this site and an allowed host are honoured after sign-in', async () => {
    const j1 = new CookieJar();
    const { res: r1 } = await signIn(j1, base, { rd: '/somewhere?x=1' });
    assert.equal(r1.status, 302);
    assert.equal(r1.location, `${base}/somewhere?x=1`);

    const j2 = new CookieJar();
    const { res: r2 } = await signIn(j2, base, { rd: `${base}/app/page` });
    assert.equal(r2.status, 302);
    assert.equal(r2.location, `${base}/app/page`);
  });

  test('rd: foreign hosts and tricks are refused at /login with a 400 page', async () => {
    const bad = [
      'http://evil.example/',
      'https://evil.example/x',
      '//evil.example/',
      '/\\evil.example/',
      'javascript:alert(1)',
      `http://127.0.0.1:${stack.sekisho.port}@evil.example/`,
      `http://${new URL(base).host}.evil.example/`,
      'ftp://127.0.0.1/',
      '/x\r\nSet-Cookie: a=b',
    ];
    for (const rd of bad) {
      for (const path of ['/login', '/login/google']) {
        const r = await follow(new CookieJar(), `${base}${path}?rd=${encodeURIComponent(rd)}`);
        assert.equal(r.status, 400, `${path} rd=${JSON.stringify(rd)} -> ${r.status} ${r.location ?? ''}`);
        assert.match(r.headers.get('content-type'), /text\/html/);
        assert.equal(r.location, undefined);
        assert.ok(!r.headers.getSetCookie().some((c) => c.startsWith('sekisho_login=')), 'no sign-in started');
      }
    }
  });
});

describe('races and fixation', () => {
  test('concurrent first sign-ins of one IdP user get one user id', async () => {
    // Forget every identity link, so the next sign-ins are all "first".
    const links = (await stack.redis.cli('--scan', '--pattern', 'sk:{t:default}:idn:*')).split('\n').filter(Boolean);
    if (links.length) await stack.redis.cli('DEL', ...links);
    const jars = Array.from({ length: 6 }, () => new CookieJar());
    const urls = await Promise.all(jars.map((j) => startSignIn(j, base)));
    const res = await Promise.all(jars.map((j, i) => follow(j, urls[i])));
    for (const r of res) assert.equal(r.status, 302);
    const users = await Promise.all(jars.map(async (j) => (await follow(j, `${base}/auth/verify`)).headers.get('x-auth-request-user')));
    assert.equal(new Set(users).size, 1, `one user id: ${users}`);
    assert.match(users[0], /^u_/);
  });

  test('the same callback fired twice at once succeeds at most once', async () => {
    const jar = new CookieJar();
    const url = await startSignIn(jar, base);
    const cookie = jar.header(url);
    const keys = await sessionKeys();
    const res = await Promise.all([0, 1, 2, 3].map(() => follow(new CookieJar(), url, { headers: { cookie } })));
    const statuses = res.map((r) => r.status).sort();
    assert.deepEqual(statuses, [302, 400, 400, 400], `statuses ${statuses}`);
    assert.equal(await sessionKeys(), keys + 1);
  });

  test('a session cookie planted before sign-in is replaced', async () => {
    const planted = crypto.randomBytes(32).toString('base64url');
    const jar = new CookieJar();
    jar.setCookie(base, `sekisho=${planted}; Path=/`);
    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    const sid = jar.get(base, 'sekisho');
    assert.ok(sid && sid !== planted, 'new session id');
    const v = await follow(new CookieJar(), `${base}/auth/verify`, { headers: { cookie: `sekisho=${planted}` } });
    assert.equal(v.status, 401);
  });
});

describe('logout', () => {
  test('POST /logout?rd= follows the redirect rules', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const bad = await follow(jar, `${base}/logout?rd=${encodeURIComponent('http://evil.example/')}`, { method: 'POST', headers: { origin: base } });
    assert.equal(bad.status, 400);
    assert.equal(bad.location, undefined);
    const good = await follow(jar, `${base}/logout?rd=%2Fbye`, { method: 'POST', headers: { origin: base } });
    assert.equal(good.status, 302);
    assert.equal(good.location, `${base}/bye`);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 401);
  });

  test('cross-site POST /logout is refused with 403 and the session stays', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const sid = jar.get(base, 'sekisho');
    assert.ok(sid);
    const attempts = [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
      { origin: `http://127.0.0.1:${stack.sekisho.port}.evil.example` },
    ];
    for (const headers of attempts) {
      const r = await follow(jar, `${base}/logout`, { method: 'POST', headers });
      assert.equal(r.status, 403, `POST /logout ${JSON.stringify(headers)}`);
      assert.ok(!r.headers.getSetCookie().some((c) => c.startsWith('sekisho=')), 'cookie untouched');
      const v = await follow(jar, `${base}/auth/verify`);
      assert.equal(v.status, 200, `session survives ${JSON.stringify(headers)}`);
    }
  });

  test('GET /logout shows a page with a POST form and does not end the session', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const r = await follow(jar, `${base}/logout`);
    assert.equal(r.status, 200);
    assert.match(r.body, /<form[^>]*method="post"[^>]*action="\/logout"/i);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 200);
  });

  test('POST /logout ends the session; the old cookie replayed gets 401', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const sid = jar.get(base, 'sekisho');
    const keysBefore = await sessionKeys();
    const r = await follow(jar, `${base}/logout`, { method: 'POST', headers: { origin: base, 'sec-fetch-site': 'same-origin' } });
    assert.equal(r.status, 200);
    const clear = r.headers.getSetCookie().find((c) => c.startsWith('sekisho='));
    assert.ok(clear, 'session cookie cleared');
    assert.match(clear, /^sekisho=;/);
    assert.match(clear, /Max-Age=0/);
    assert.equal(jar.get(base, 'sekisho'), undefined);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 401);
    const replay = await follow(new CookieJar(), `${base}/auth/verify`, { headers: { cookie: `sekisho=${sid}` } });
    assert.equal(replay.status, 401, 'replayed cookie after logout');
    assert.equal(await sessionKeys(), keysBefore - 1, 'session record deleted');
    const home = await follow(new CookieJar(), `${base}/`, { headers: { cookie: `sekisho=${sid}` } });
    assert.equal(home.status, 302);
  });

  test('POST /logout without Origin (non-browser client) works too', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    const r = await follow(jar, `${base}/logout`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal((await follow(jar, `${base}/auth/verify`)).status, 401);
  });
});

describe('callback refusals', () => {
  test('a replayed callback URL is refused ("Sign-in expired") and creates no session', async () => {
    const jar = new CookieJar();
    const { callbackUrl, res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    const keys = await sessionKeys();
    // Replay with the same browser (its binding cookie is gone by now) ...
    const r1 = await follow(jar, callbackUrl);
    assert.equal(r1.status, 400);
    assert.match(r1.body, /Sign-in expired/);
    assert.ok(!r1.headers.getSetCookie().some((c) => /^sekisho=[^;]/.test(c)));
    // ... and from a fresh client
    const r2 = await follow(new CookieJar(), callbackUrl);
    assert.equal(r2.status, 400);
    assert.equal(await sessionKeys(), keys);
  });

  test('unknown state is refused with 400', async () => {
    const state = crypto.randomBytes(32).toString('base64url');
    const jar = new CookieJar();
    const r = await follow(jar, `${base}/callback/google?code=abc&state=${state}`);
    assert.equal(r.status, 400);
    assert.match(r.body, /Sign-in expired/);
    assert.equal(jar.get(base, 'sekisho'), undefined);
  });

  test('missing state is refused with 400', async () => {
    for (const q of ['?code=abc', '', '?state=', '?code=abc&state=short']) {
      const r = await follow(new CookieJar(), `${base}/callback/google${q}`);
      assert.equal(r.status, 400, `callback${q}`);
      assert.match(r.headers.get('content-type'), /text\/html/);
    }
  });

  test('a callback without the binding cookie is refused, no session, and the state is spent', async () => {
    const jar = new CookieJar();
    const callbackUrl = await startSignIn(jar, base);
    const keys = await sessionKeys();
    // Another browser (no binding cookie) follows the victim's callback link.
    const other = new CookieJar();
    const r = await follow(other, callbackUrl);
    assert.equal(r.status, 400);
    assert.match(r.body, /Sign-in failed/);
    assert.equal(other.get(base, 'sekisho'), undefined);
    assert.equal((await follow(other, `${base}/auth/verify`)).status, 401);
    // The state cannot be used again, not even by the right browser.
    const r2 = await follow(jar, callbackUrl);
    assert.equal(r2.status, 400);
    assert.equal(jar.get(base, 'sekisho'), undefined);
    assert.equal(await sessionKeys(), keys);
  });

  test('a callback with another sign-in\'s binding cookie is refused', async () => {
    const victim = new CookieJar();
    const callbackUrl = await startSignIn(victim, base);
    const attacker = new CookieJar();
    // The attacker has a binding cookie of its own (started its own sign-in).
    const s = await follow(attacker, `${base}/login/google`);
    assert.equal(s.status, 302);
    assert.ok(attacker.get(base, 'sekisho_login'));
    const keys = await sessionKeys();
    const r = await follow(attacker, callbackUrl);
    assert.equal(r.status, 400);
    assert.equal(attacker.get(base, 'sekisho'), undefined);
    assert.equal(await sessionKeys(), keys);
    // forged binding cookie value of the right shape
    const victim2 = new CookieJar();
    const cb2 = await startSignIn(victim2, base);
    const forged = crypto.randomBytes(32).toString('base64url');
    const r2 = await follow(new CookieJar(), cb2, { headers: { cookie: `sekisho_login=${forged}` } });
    assert.equal(r2.status, 400);
    assert.equal(await sessionKeys(), keys);
  });

  test('callback to an unknown provider is 404 and no session', async () => {
    const r = await follow(new CookieJar(), `${base}/callback/nope?code=a&state=${'a'.repeat(43)}`);
    assert.equal(r.status, 404);
  });
});

describe('cookie.secure: true', () => {
  let sstack;
  before(async () => { sstack = await startStack({ secure: true }); });
  after(async () => { await sstack?.stop(); });

  test('cookies are __Host- prefixed, Secure, Path=/, no Domain', async () => {
    const sbase = sstack.base;
    const jar = new CookieJar(); // accepts Secure cookies from loopback like a browser
    const r1 = await follow(jar, `${sbase}/login/google`);
    assert.equal(r1.status, 302);
    const bind = r1.headers.getSetCookie().find((c) => c.startsWith('__Host-sekisho_login='));
    assert.ok(bind, `binding cookie: ${r1.headers.getSetCookie()}`);
    assert.match(bind, /; Secure(;|$)/i);
    assert.match(bind, /; Path=\/(;|$)/);
    assert.doesNotMatch(bind, /Domain=/i);
    assert.ok(!r1.headers.getSetCookie().some((c) => c.startsWith('sekisho_login=')));

    assert.equal(new URL(r1.location).searchParams.get('redirect_uri'), `${sstack.publicUrl}/callback/google`);
    const { signInAtIdp } = await import('../lib/idp-login.mjs');
    const cb = new URL(await signInAtIdp(jar, r1.location, 'alice', 'alice-password'));
    assert.equal(cb.origin, sstack.publicUrl);
    cb.protocol = 'http:'; // the TLS terminator's job
    const res = await follow(jar, cb.href);
    assert.equal(res.status, 302, res.body.slice(0, 200));
    assert.equal(res.location, `${sstack.publicUrl}/`);
    const sc = res.headers.getSetCookie().find((c) => /^__Host-sekisho=[^;]/.test(c));
    assert.ok(sc, `session cookie: ${res.headers.getSetCookie()}`);
    assert.match(sc, /^__Host-sekisho=u_[A-Za-z0-9_-]{20}[A-Za-z0-9_-]{43};/);
    assert.match(sc, /; Secure(;|$)/i);
    assert.match(sc, /; HttpOnly(;|$)/i);
    assert.match(sc, /; SameSite=Lax(;|$)/i);
    assert.match(sc, /; Path=\/(;|$)/);
    assert.doesNotMatch(sc, /Domain=/i);
    assert.ok(!res.headers.getSetCookie().some((c) => /^sekisho=[^;]/.test(c)), 'no unprefixed session cookie');

    const v = await follow(jar, `${sbase}/auth/verify`);
    assert.equal(v.status, 200);
    // the unprefixed name is not accepted as a session cookie
    const sid = jar.get(sbase, '__Host-sekisho');
    const v2 = await follow(new CookieJar(), `${sbase}/auth/verify`, { headers: { cookie: `sekisho=${sid}` } });
    assert.equal(v2.status, 401);
  });
});

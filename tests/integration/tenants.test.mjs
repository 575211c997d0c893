// Tenants and providers. Two tenants found by Host: "office" (hostname
// 127.0.0.1, providers google and corp, both oidc on the test IdP) and
// "other" (hostname other.test, provider google). Covers:
//   - /login of a tenant with several providers: a 200 page linking each
//     provider (rd kept, HTML-escaped), no redirect
//   - /login/corp goes to the IdP with redirect_uri .../callback/corp, and a
//     full sign-in through the second provider works
//   - a provider the tenant does not offer: /login/{id} 404 page
//   - tenant isolation: a session made on "office" is 401 on "other"
//     (Host: other.test) and on an unknown host; the session's own host 200
//   - an unknown host: /login 421 "Unknown site" page, /auth/verify 401
//   - a sign-in started on one tenant cannot be finished on the other

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CookieJar, follow, freshGet, signIn, signInAtIdp, startStack } from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack({
    providerIds: ['google', 'corp'],
    tenantsYaml: `  - id: office
    display_name: "Office <&> Test"
    hostnames: ["127.0.0.1"]
    providers: [google, corp]
  - id: other
    display_name: "Other Office"
    hostnames: ["other.test"]
    providers: [google]
`,
  });
  base = stack.base;
});
after(async () => { await stack?.stop(); });

describe('tenants and providers', () => {
  test('/login with two providers shows a page linking both', async () => {
    const r = await follow(new CookieJar(), `${base}/login?rd=${encodeURIComponent('/app?a=1&b="x"')}`);
    assert.equal(r.status, 200);
    assert.equal(r.location, undefined);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(r.body, /Office &lt;&amp;&gt; Test/, 'display name escaped');
    const hrefs = [...r.body.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
    const google = hrefs.find((h) => h.startsWith('/login/google'));
    const corp = hrefs.find((h) => h.startsWith('/login/corp'));
    assert.ok(google && corp, `links: ${hrefs}`);
    assert.equal(new URL(google, base).searchParams.get('rd'), '/app?a=1&b="x"');
    assert.doesNotMatch(r.body, /b="x"/, 'rd not injected raw into the page');
  });

  test('sign-in through the second provider', async () => {
    const jar = new CookieJar();
    const r1 = await follow(jar, `${base}/login/corp`);
    assert.equal(r1.status, 302);
    assert.equal(new URL(r1.location).searchParams.get('redirect_uri'), `${base}/callback/corp`);
    const cb = await signInAtIdp(jar, r1.location, 'alice', 'alice-password');
    assert.equal(new URL(cb).pathname, '/callback/corp');
    const res = await follow(jar, cb);
    assert.equal(res.status, 302, res.body.slice(0, 200));
    const v = await follow(jar, `${base}/auth/verify`);
    assert.equal(v.status, 200);
    assert.equal(v.headers.get('x-auth-request-tenant'), 'office');
    assert.equal(v.headers.get('x-auth-request-email'), 'alice@example.com');
  });

  test('a provider the tenant does not offer is 404', async () => {
    const r = await freshGet(`${base}/login/corp`, { host: 'other.test' });
    assert.equal(r.status, 404);
    assert.equal(r.headers.location, undefined);
    const r2 = await freshGet(`${base}/login`, { host: 'other.test' });
    assert.equal(r2.status, 302, 'other has one provider: straight on');
    assert.match(r2.headers.location, /\/login\/google$/);
  });

  test('a session is only good on its own tenant', async () => {
    const jar = new CookieJar();
    const { res } = await signIn(jar, base, { provider: 'google' });
    assert.equal(res.status, 302, res.body.slice(0, 200));
    const sid = jar.get(base, 'sekisho');
    assert.ok(sid);
    const cookie = `sekisho=${sid}`;
    assert.equal((await freshGet(`${base}/auth/verify`, { cookie })).status, 200);
    assert.equal((await freshGet(`${base}/auth/verify`, { cookie, host: `127.0.0.1:${stack.sekisho.port}` })).status, 200);
    const other = await freshGet(`${base}/auth/verify`, { cookie, host: 'other.test' });
    assert.equal(other.status, 401, 'office session on other tenant');
    assert.equal(other.headers['x-auth-request-user'], undefined);
    const unknown = await freshGet(`${base}/auth/verify`, { cookie, host: 'unknown.test' });
    assert.equal(unknown.status, 401, 'office session on an unknown host');
  });

  test('an unknown host has no sign-in (strict_hosts: 421)', async () => {
    // No tenant, no Accept-Language: Japanese; the browser's choice wins.
    const r = await freshGet(`${base}/login`, { host: 'unknown.test' });
    assert.equal(r.status, 421);
    assert.match(r.body, /不明なサイトです/);
    const en = await freshGet(`${base}/login`, { host: 'unknown.test', 'accept-language': 'en-GB,en;q=0.8,ja;q=0.5' });
    assert.equal(en.status, 421);
    assert.match(en.body, /Unknown site/);
    assert.match(en.body, /<html lang="en">/);
    const r2 = await freshGet(`${base}/login/google`, { host: 'unknown.test' });
    assert.equal(r2.status, 421);
    assert.equal(r2.headers.location, undefined);
  });

  test('a sign-in started on one tenant cannot be finished on the other', async () => {
    const jar = new CookieJar();
    const r1 = await follow(jar, `${base}/login/google`);
    const cb = await signInAtIdp(jar, r1.location, 'alice', 'alice-password');
    const u = new URL(cb);
    const res = await freshGet(u.href, { host: 'other.test', cookie: jar.header(cb) });
    assert.equal(res.status, 400, `callback on the other tenant: ${res.status}`);
    assert.ok(!(res.headers['set-cookie'] ?? []).some((c) => /^sekisho=[^;]/.test(c)), 'no session');
  });
});

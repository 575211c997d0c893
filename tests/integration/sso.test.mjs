// Single sign-on across applications on their own hosts, through real
// nginx running the shipped examples (conf/nginx.example.conf and
// conf/nginx.per-app.example.conf with only names, ports and log paths
// changed), distinct hostnames (*.test, resolved to 127.0.0.1 by the
// client, as DNS would) and the real daemon, Redis and test IdP.
// Covers:
//   shared parent domain (tenant cookie_domain):
//   - one sign-in on the login host, started from an app host, then two
//     apps on two other hosts reached without signing in again; the
//     session cookie is a Domain cookie, the login-state cookie host-only
//   - rd with a query (/page?a=1&b=2) comes back whole
//   - the app gets User, Email, Tenant, Roles, Access-Token from Sekisho
//     only: forged X-Auth-Request-* (and other tools' names) never reach it,
//     signed in or not
//   - the app never sees Sekisho's cookies (its own cookies still pass)
//   - logout on the login host clears the Domain cookie and ends access to
//     both apps; the old cookie replayed gets nothing
//   - the callback's code and state are not in nginx's access log
//   - discovery and keys routed on the login host
//   - Redis down: Sekisho's "temporarily unavailable" page, not nginx's 500
//   - Traefik-style /auth/verify?rd=: 302 to the sign-in page with the
//     forwarded URL as rd (never an unlisted host); 200 when signed in
//   - a session waiting for its second factor is sent to /mfa with rd
//   - hostile: another tenant's session cookie, under either cookie name,
//     on this tenant's app host gets no access, and this tenant's cookie
//     nothing on the other's host
//   - cookie.secure: __Secure-{name}-{tenant} with Domain and Secure, the
//     login-state cookie __Host-
//   per-app-host (Sekisho under /sekisho/ of each app host):
//   - each app host signs in on its own host, under the prefix; callbacks
//     come back to that host; the cookie is host-only; rd survives
//   - pages and discovery carry the prefix; logout on one app leaves the
//     other signed in (each app has its own sign-in)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitReady } from './harness.mjs';
import { Browser, startSso } from './sso-harness.mjs';

const echoOf = (res) => JSON.parse(res.body);

describe('shared parent domain (cookie_domain)', () => {
  let s; let login; let app; let admin; let sek;

  before(async () => {
    s = await startSso({
      exampleFile: 'nginx.example.conf',
      pairs: () => [['example.com', 'sso.test']],
      publicUrl: (p) => `http://login.sso.test:${p.nginx}`,
      redirectUris: (p) => [`http://login.sso.test:${p.nginx}/callback/google`,
        `http://login.other.test:${p.sekisho}/callback/google`,
        `http://login.mfa.test:${p.sekisho}/callback/google`],
      tenants: (p) => `  - id: acme
    display_name: "Acme"
    cookie_domain: sso.test
    hostnames: ["login.sso.test:${p.nginx}", "app.sso.test:${p.nginx}", "admin.sso.test:${p.nginx}"]
    providers: [google]
  - id: other
    display_name: "Other"
    hostnames: ["login.other.test:${p.sekisho}"]
    providers: [google]
  - id: strict
    cookie_domain: mfa.test
    hostnames: ["login.mfa.test:${p.sekisho}", "app.mfa.test:${p.sekisho}"]
    providers: [google]
    mfa: required
`,
    });
    login = `http://login.sso.test:${s.ports.nginx}`;
    app = `http://app.sso.test:${s.ports.nginx}`;
    admin = `http://admin.sso.test:${s.ports.nginx}`;
    sek = `http://127.0.0.1:${s.ports.sekisho}`;
  });
  after(async () => { await s?.stop(); });

  test('one sign-in on the login host reaches two apps on two other hosts; rd keeps its query', async () => {
    const b = new Browser();
    const first = await b.get(`${app}/page?a=1&b=2`);
    assert.equal(first.status, 302, first.body);
    const loc = new URL(first.location);
    assert.equal(loc.origin, login, 'sent to the login host');
    assert.equal(loc.pathname, '/login');
    assert.equal(loc.searchParams.get('rd'), `${app}/page?a=1&b=2`);

    const end = await b.browse(`${app}/page?a=1&b=2`);
    assert.equal(end.status, 200, end.body.slice(0, 300));
    assert.equal(end.url, `${app}/page?a=1&b=2`, 'back on the page asked for, query whole');
    assert.ok(end.hops.some((h) => h.startsWith(`${login}/callback/google?`)), 'callback on the login host');
    const e = echoOf(end);
    assert.equal(e.url, '/page?a=1&b=2');
    assert.equal(e.headers['x-auth-request-email'], 'alice@example.com');
    assert.equal(e.headers['x-auth-request-tenant'], 'acme');
    assert.match(e.headers['x-auth-request-user'] ?? '', /^u_[A-Za-z0-9_-]+$/);
    assert.match(e.headers['x-auth-request-access-token'] ?? '', /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);

    const session = b.cookies.filter((c) => c.name === 'sekisho-acme');
    assert.equal(session.length, 1);
    assert.equal(session[0].domain, 'sso.test');
    assert.equal(session[0].hostOnly, false, 'a Domain cookie');
    assert.ok(b.cookies.every((c) => !c.name.includes('_login') || c.hostOnly), 'login-state cookie host-only');

    // The second app, on another host: no sign-in, straight through.
    const r2 = await b.get(`${admin}/settings?x=%2F`);
    assert.equal(r2.status, 200, r2.body.slice(0, 200));
    const e2 = echoOf(r2);
    assert.equal(e2.headers.host, `admin.sso.test`);
    assert.equal(e2.url, '/settings?x=%2F');
    assert.equal(e2.headers['x-auth-request-user'], e.headers['x-auth-request-user']);
    assert.equal((await b.get(`${app}/other`)).status, 200);
  });

  test('forged identity headers never reach the app; neither do Sekisho\'s cookies', async () => {
    const forged = {
      'x-auth-request-user': 'u_forged', 'x-auth-request-email': 'ceo@evil.example',
      'x-auth-request-tenant': 'other', 'x-auth-request-roles': 'superuser',
      'x-auth-request-access-token': 'forged.token.value', 'x-auth-request-groups': 'admins',
      'x-forwarded-user': 'root', 'remote-user': 'root', 'x-sekisho-signin': 'http://evil.example/',
    };
    // Not signed in: the app is not reached at all.
    const anon = await new Browser().get(`${app}/x`, forged);
    assert.equal(anon.status, 302);
    assert.doesNotMatch(anon.body, /"headers"/);

    const b = new Browser();
    await b.browse(`${app}/`);
    const r = await b.get(`${app}/who`, { ...forged, cookie: `theme=dark; ${b.cookieHeader(`${app}/`)}; lang=ja` });
    assert.equal(r.status, 200);
    const h = echoOf(r).headers;
    assert.equal(h['x-auth-request-email'], 'alice@example.com');
    assert.equal(h['x-auth-request-tenant'], 'acme');
    assert.equal(h['x-auth-request-roles'], 'viewer', 'her own role, not the forged one');
    assert.match(h['x-auth-request-access-token'], /^eyJ/);
    for (const k of ['x-auth-request-groups', 'x-forwarded-user', 'remote-user', 'x-sekisho-signin']) {
      assert.equal(h[k], undefined, k);
    }
    assert.doesNotMatch(JSON.stringify(h), /forged|evil\.example|superuser|u_forged|root/);
    assert.equal(h.cookie, 'theme=dark; lang=ja', 'app cookies pass, Sekisho\'s do not');
    assert.doesNotMatch(JSON.stringify(h), /sekisho/i);
  });

  test('logout on the login host ends access to both apps', async () => {
    const b = new Browser();
    await b.browse(`${app}/`);
    const sid = b.cookies.find((c) => c.name === 'sekisho-acme').value;
    assert.equal((await b.get(`${app}/`)).status, 200);
    assert.equal((await b.get(`${admin}/`)).status, 200);

    const out = await b.request(`${login}/logout?rd=${encodeURIComponent(`${app}/bye`)}`, {
      method: 'POST', headers: { origin: login, 'content-type': 'application/x-www-form-urlencoded' }, body: '',
    });
    assert.equal(out.status, 302, out.body);
    assert.equal(out.location, `${app}/bye`);
    assert.match(String(out.headers['set-cookie']), /sekisho-acme=;.*Domain=sso\.test.*Max-Age=0/);
    assert.equal(b.cookies.find((c) => c.name === 'sekisho-acme'), undefined, 'the browser dropped it');
    assert.equal((await b.get(`${app}/`)).status, 302);
    assert.equal((await b.get(`${admin}/`)).status, 302);
    const replay = await new Browser().get(`${admin}/`, { cookie: `sekisho-acme=${sid}` });
    assert.equal(replay.status, 302, 'the old cookie replayed');
  });

  test('the callback\'s code and state are not in nginx\'s access log', async () => {
    const b = new Browser();
    const end = await b.browse(`${app}/logged`);
    const cb = new URL(end.hops.find((h) => h.includes('/callback/google?')));
    const code = cb.searchParams.get('code');
    const state = cb.searchParams.get('state');
    assert.ok(code && state);
    const log = s.nginx.accessLog();
    assert.match(log, /GET \/callback\/google HTTP/);
    assert.ok(!log.includes(code), 'code in the access log');
    assert.ok(!log.includes(state), 'state in the access log');
  });

  test('discovery and keys are served on the login host', async () => {
    const b = new Browser();
    const d = await b.get(`${login}/.well-known/openid-configuration`);
    assert.equal(d.status, 200);
    const doc = JSON.parse(d.body);
    assert.equal(doc.issuer, login);
    const k = await b.get(doc.jwks_uri);
    assert.equal(k.status, 200);
    assert.ok(JSON.parse(k.body).keys.length >= 1);
  });

  test('Traefik-style /auth/verify?rd= answers 302 to the sign-in page, 200 when signed in', async () => {
    const b = new Browser();
    // Traefik's auth request: Host is the address it was given (a tenant
    // hostname), the original request in X-Forwarded-*.
    const fwd = {
      host: `login.sso.test:${s.ports.nginx}`, 'x-forwarded-proto': 'http',
      'x-forwarded-host': `admin.sso.test:${s.ports.nginx}`, 'x-forwarded-uri': '/page?a=1&b=2',
    };
    const r = await b.get(`${sek}/auth/verify?rd=`, fwd);
    assert.equal(r.status, 302, r.body);
    const loc = new URL(r.location);
    assert.equal(`${loc.origin}${loc.pathname}`, `${login}/login`);
    assert.equal(loc.searchParams.get('rd'), `${admin}/page?a=1&b=2`);

    // A forwarded host outside the domain never becomes the rd; the rd
    // given to /auth/verify is the fallback, itself checked.
    const evil = await b.get(`${sek}/auth/verify?rd=${encodeURIComponent(`${app}/home`)}`,
      { ...fwd, 'x-forwarded-host': 'evil.example' });
    assert.equal(new URL(evil.location).searchParams.get('rd'), `${app}/home`);
    const evil2 = await b.get(`${sek}/auth/verify?rd=${encodeURIComponent('http://evil.example/')}`,
      { host: fwd.host });
    assert.equal(evil2.status, 302);
    assert.equal(evil2.location, `${login}/login`);

    // Plain /auth/verify (nginx) stays 401, naming the same page.
    const plain = await b.get(`${sek}/auth/verify`, fwd);
    assert.equal(plain.status, 401);
    assert.equal(plain.headers['x-sekisho-signin'], r.location);

    // Follow the 302 like a browser: sign in, come back, then 200.
    const end = await b.browse(r.location);
    assert.equal(end.url, `${admin}/page?a=1&b=2`);
    const ok = await b.get(`${sek}/auth/verify?rd=`, { ...fwd, cookie: b.cookieHeader(`${admin}/`) });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-auth-request-tenant'], 'acme');
  });

  test('hostile: another tenant\'s session gets nothing on this tenant\'s app hosts', async () => {
    const other = `http://login.other.test:${s.ports.sekisho}`;
    const ob = new Browser();
    const end = await ob.browse(`${other}/login`);
    assert.equal(end.url, `${other}/`, end.hops.join('\n'));
    const osid = ob.cookies.find((c) => c.name === 'sekisho');
    assert.ok(osid, 'the other tenant has a host-only sekisho cookie');
    assert.equal(osid.hostOnly, true);
    assert.equal((await ob.get(`${other}/auth/verify`)).status, 200);

    for (const cookie of [`sekisho-acme=${osid.value}`, `sekisho=${osid.value}`]) {
      for (const url of [`${app}/`, `${admin}/`]) {
        const r = await new Browser().get(url, { cookie });
        assert.equal(r.status, 302, `${cookie} on ${url}`);
        assert.doesNotMatch(r.body, /"headers"/);
      }
    }
    // And the other way round: acme's session on the other tenant's host.
    const b = new Browser();
    await b.browse(`${app}/`);
    const asid = b.cookies.find((c) => c.name === 'sekisho-acme').value;
    for (const cookie of [`sekisho=${asid}`, `sekisho-acme=${asid}`]) {
      assert.equal((await new Browser().get(`${other}/auth/verify`, { cookie })).status, 401, cookie);
    }
  });

  test('a session still waiting for its second factor is sent to /mfa, not to a new sign-in', async () => {
    const mlogin = `http://login.mfa.test:${s.ports.sekisho}`;
    const mapp = `http://app.mfa.test:${s.ports.sekisho}`;
    const b = new Browser();
    const end = await b.browse(`${mlogin}/login`);
    assert.equal(new URL(end.url).pathname, '/mfa/enroll', end.hops.join('\n'));
    const fwd = { 'x-forwarded-proto': 'http', 'x-forwarded-uri': '/x?y=1' };
    const r = await b.get(`${mapp}/auth/verify?rd=`, fwd);
    assert.equal(r.status, 302);
    assert.equal(r.location, `${mlogin}/mfa?rd=${encodeURIComponent(`${mapp}/x?y=1`)}`);
    const plain = await b.get(`${mapp}/auth/verify`, fwd);
    assert.equal(plain.status, 401);
    assert.equal(plain.headers['x-sekisho-signin'], r.location);
  });

  test('Redis down: Sekisho\'s "temporarily unavailable" page, never the app, never nginx\'s 500', async () => {
    const b = new Browser();
    await b.browse(`${app}/`);
    assert.equal((await b.get(`${app}/`)).status, 200);
    await s.redis.kill();
    try {
      for (const url of [`${app}/x?y=1`, `${admin}/`]) {
        const r = await b.get(url);
        assert.equal(r.status, 503, `${url}: ${r.status} ${r.body.slice(0, 200)}`);
        // No Accept-Language from this client: the tenant's default, ja.
        assert.match(r.body, /一時的に利用できません/);
        assert.match(r.headers['content-type'], /text\/html/);
        assert.doesNotMatch(r.body, /"headers"|nginx/);
      }
      // The Traefik/Caddy mode shows the same page.
      const t = await b.get(`${sek}/auth/verify?rd=`, {
        host: `app.sso.test:${s.ports.nginx}`, cookie: b.cookieHeader(`${app}/`),
      });
      assert.equal(t.status, 503);
      assert.match(t.body, /一時的に利用できません/);
    } finally {
      await s.redis.restart();
    }
    await waitReady(sek);
  });

  test('cookie.secure: __Secure-sekisho-{tenant} with Domain and Secure; the login-state cookie __Host-', async () => {
    const sec = await startSso({
      proxy: null, secure: true,
      publicUrl: (p) => `https://login.sec.test:${p.sekisho}`,
      redirectUris: (p) => [`https://login.sec.test:${p.sekisho}/callback/google`],
      tenants: (p) => `  - id: sec
    cookie_domain: sec.test
    hostnames: ["login.sec.test:${p.sekisho}", "app.sec.test:${p.sekisho}"]
    providers: [google]
`,
    });
    try {
      const base = `https://login.sec.test:${sec.ports.sekisho}`;
      const b = new Browser({ secure: true });
      const start = await b.get(`${base}/login/google`);
      const set = [].concat(start.headers['set-cookie']);
      assert.match(set.find((c) => c.startsWith('__Host-sekisho_login=')),
        /^__Host-sekisho_login=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=\d+$/);
      // The browser's device cookie (docs/lockout.md) is host-only too.
      assert.match(set.find((c) => c.startsWith('__Host-sekisho_dev=')),
        /^__Host-sekisho_dev=[\w-]{22}; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=34560000$/);
      assert.equal(set.length, 2);
      const end = await b.browse(`${base}/login`);
      const cb = end.hops.findIndex((h) => h.includes('/callback/google?'));
      assert.ok(cb >= 0);
      const c = b.cookies.find((x) => x.name === 'sekisho-sec' || x.name === '__Secure-sekisho-sec');
      assert.equal(c?.name, '__Secure-sekisho-sec');
      assert.equal(c.domain, 'sec.test');
      assert.equal(c.secure, true);
      const v = await b.get(`https://app.sec.test:${sec.ports.sekisho}/auth/verify`);
      assert.equal(v.status, 200);
      assert.equal(v.headers['x-auth-request-tenant'], 'sec');
    } finally {
      await sec.stop();
    }
  });
});

describe('per-app-host: Sekisho under /sekisho/ of each app host', () => {
  let s; let wiki; let crm;

  before(async () => {
    s = await startSso({
      exampleFile: 'nginx.per-app.example.conf',
      pairs: () => [['wiki.example.org', 'wiki.org.test'], ['crm.example.net', 'crm.net.test']],
      publicUrl: (p) => `http://wiki.org.test:${p.nginx}/sekisho`,
      redirectUris: (p) => [`http://wiki.org.test:${p.nginx}/sekisho/callback/google`,
        `http://crm.net.test:${p.nginx}/sekisho/callback/google`],
      tenants: (p) => `  - id: apps
    hostnames: ["wiki.org.test:${p.nginx}", "crm.net.test:${p.nginx}"]
    providers: [google]
`,
    });
    wiki = `http://wiki.org.test:${s.ports.nginx}`;
    crm = `http://crm.net.test:${s.ports.nginx}`;
  });
  after(async () => { await s?.stop(); });

  test('each app host signs in on its own host, under the prefix', async () => {
    const b = new Browser();
    const first = await b.get(`${wiki}/page?a=1&b=2`);
    assert.equal(first.status, 302);
    const loc = new URL(first.location);
    assert.equal(`${loc.origin}${loc.pathname}`, `${wiki}/sekisho/login`);
    assert.equal(loc.searchParams.get('rd'), `${wiki}/page?a=1&b=2`);

    const end = await b.browse(`${wiki}/page?a=1&b=2`);
    assert.equal(end.status, 200, end.body.slice(0, 300));
    assert.equal(end.url, `${wiki}/page?a=1&b=2`);
    assert.ok(end.hops.some((h) => h.startsWith(`${wiki}/sekisho/login/google`)));
    assert.ok(end.hops.some((h) => h.startsWith(`${wiki}/sekisho/callback/google?`)), 'callback on this host');
    assert.equal(echoOf(end).headers['x-auth-request-email'], 'alice@example.com');
    const c = b.cookies.filter((x) => x.name === 'sekisho');
    assert.deepEqual(c.map((x) => [x.domain, x.hostOnly]), [['wiki.org.test', true]]);

    // The other app has its own sign-in, on its own host.
    const r = await b.get(`${crm}/deals?id=7`);
    assert.equal(r.status, 302);
    assert.equal(new URL(r.location).origin, crm);
    const end2 = await b.browse(`${crm}/deals?id=7`);
    assert.equal(end2.url, `${crm}/deals?id=7`);
    assert.ok(end2.hops.some((h) => h.startsWith(`${crm}/sekisho/callback/google?`)));
    assert.equal(b.cookies.filter((x) => x.name === 'sekisho').length, 2);

    // Each app has its own sign-in: signing out of one leaves the other.
    const home = await b.get(`${wiki}/sekisho/`);
    assert.equal(home.status, 200);
    assert.match(home.body, /href="\/sekisho\/mfa\/recovery"/);
    assert.match(home.body, /action="\/sekisho\/logout"/);
    const page = await b.get(`${wiki}/sekisho/logout`);
    assert.match(page.body, /action="\/sekisho\/logout"/);
    // An app's "sign out" link may say where to land; the form keeps it.
    const withRd = await b.get(`${wiki}/sekisho/logout?rd=${encodeURIComponent(`${wiki}/bye?x=1`)}`);
    assert.match(withRd.body, /action="\/sekisho\/logout\?rd=http%3A%2F%2Fwiki\.org\.test%3A\d+%2Fbye%3Fx%3D1"/);
    assert.equal((await b.get(`${wiki}/sekisho/logout?rd=${encodeURIComponent('https://evil.example/')}`)).status, 400);
    const out = await b.request(`${wiki}/sekisho/logout`, { method: 'POST', headers: { origin: wiki } });
    assert.equal(out.status, 200);
    assert.equal((await b.get(`${wiki}/page`)).status, 302);
    assert.equal((await b.get(`${crm}/deals`)).status, 200);
  });

  test('links, redirects and discovery carry the prefix', async () => {
    const b = new Browser();
    const l = await b.get(`${wiki}/sekisho/login?rd=%2Fx`);
    assert.equal(l.status, 302);
    assert.equal(l.location, `${wiki}/sekisho/login/google?rd=%2Fx`);
    const d = await b.get(`${wiki}/sekisho/.well-known/openid-configuration`);
    assert.equal(d.status, 200);
    const doc = JSON.parse(d.body);
    assert.equal(doc.jwks_uri, `${wiki}/sekisho/jwks.json`);
    assert.equal((await b.get(doc.jwks_uri)).status, 200);
    // Not signed in, Sekisho's home page sends to the sign-in under the prefix.
    const h = await b.get(`${crm}/sekisho/`);
    assert.equal(h.location, `${crm}/sekisho/login`);
    // The metrics are not public.
    assert.equal((await b.get(`${wiki}/sekisho/metrics`)).status, 403);
  });
});

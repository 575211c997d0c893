// Debian's caddy running conf/Caddyfile.example (names, ports and the log
// path changed) in front of the echo app, with the real daemon: Caddy's
// forward_auth and Sekisho's redirect mode (/auth/verify?rd=).
// Covers:
//   - not signed in: Caddy hands Sekisho's 302 to the browser, to the login
//     host with the original URL (query and all) as rd; the app is not reached
//   - one sign-in, then two apps on two hosts; the identity headers come
//     from Sekisho only (forged ones dropped), Sekisho's cookies never
//     reach the app, the app's own do
//   - logout ends access to both
//   - the login host's access log holds no code or state
//   - Redis down: Sekisho's "temporarily unavailable" page through Caddy
// Skipped when caddy is not installed (tools/deps.sh installs it).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

import { waitReady } from './harness.mjs';
import { Browser, startSso } from './sso-harness.mjs';

let haveCaddy = true;
try { execFileSync('caddy', ['version'], { stdio: 'ignore' }); } catch { haveCaddy = false; }

describe('Caddy forward_auth (conf/Caddyfile.example)', { skip: !haveCaddy && 'caddy is not installed' }, () => {
  let s; let login; let app; let admin;

  before(async () => {
    s = await startSso({
      proxy: 'caddy',
      exampleFile: 'Caddyfile.example',
      pairs: (p) => [
        ['login.example.com {', `http://login.sso.test:${p.proxy} {`],
        ['app.example.com {', `http://app.sso.test:${p.proxy} {`],
        ['admin.example.com {', `http://admin.sso.test:${p.proxy} {`],
      ],
      publicUrl: (p) => `http://login.sso.test:${p.proxy}`,
      redirectUris: (p) => [`http://login.sso.test:${p.proxy}/callback/google`],
      tenants: (p) => `  - id: acme
    cookie_domain: sso.test
    hostnames: ["login.sso.test:${p.proxy}", "app.sso.test:${p.proxy}", "admin.sso.test:${p.proxy}"]
    providers: [google]
`,
    });
    login = `http://login.sso.test:${s.ports.proxy}`;
    app = `http://app.sso.test:${s.ports.proxy}`;
    admin = `http://admin.sso.test:${s.ports.proxy}`;
  });
  after(async () => { await s?.stop(); });

  test('not signed in: 302 to the login host with the whole URL as rd; the app not reached', async () => {
    const r = await new Browser().get(`${app}/page?a=1&b=2`, { 'x-auth-request-user': 'u_forged' });
    assert.equal(r.status, 302, r.body.slice(0, 300));
    const loc = new URL(r.location);
    assert.equal(`${loc.origin}${loc.pathname}`, `${login}/login`);
    assert.equal(loc.searchParams.get('rd'), `${app}/page?a=1&b=2`);
    assert.doesNotMatch(r.body, /"headers"/);
  });

  test('one sign-in reaches both apps; identity from Sekisho only; no Sekisho cookie for the app', async () => {
    const b = new Browser();
    const end = await b.browse(`${app}/page?a=1&b=2`);
    assert.equal(end.status, 200, end.body.slice(0, 300));
    assert.equal(end.url, `${app}/page?a=1&b=2`);
    assert.equal(JSON.parse(end.body).url, '/page?a=1&b=2');

    const r = await b.get(`${admin}/who`, {
      'x-auth-request-roles': 'superuser', 'x-auth-request-access-token': 'forged.token.value',
      'x-auth-request-user': 'u_forged', 'x-auth-request-anything': 'x', 'remote-user': 'root',
      cookie: `theme=dark; ${b.cookieHeader(`${admin}/`)}; lang=ja`,
    });
    assert.equal(r.status, 200, r.body.slice(0, 300));
    const h = JSON.parse(r.body).headers;
    assert.equal(h.host, `admin.sso.test:${s.ports.proxy}`);
    assert.equal(h['x-auth-request-email'], 'alice@example.com');
    assert.equal(h['x-auth-request-tenant'], 'acme');
    assert.match(h['x-auth-request-user'], /^u_[A-Za-z0-9_-]+$/);
    assert.match(h['x-auth-request-access-token'], /^eyJ/);
    assert.equal(h['x-auth-request-roles'], 'viewer', 'alice\'s own role, never the forged value');
    assert.equal(h['x-auth-request-anything'], undefined);
    assert.equal(h['remote-user'], undefined);
    assert.doesNotMatch(JSON.stringify(h), /forged|superuser|root/);
    const cookies = h.cookie.split(';').map((c) => c.trim()).filter(Boolean);
    assert.deepEqual(cookies, ['theme=dark', 'lang=ja']);
  });

  test('logout ends access to both apps', async () => {
    const b = new Browser();
    await b.browse(`${app}/`);
    assert.equal((await b.get(`${admin}/`)).status, 200);
    const out = await b.request(`${login}/logout`, { method: 'POST', headers: { origin: login } });
    assert.equal(out.status, 200, out.body);
    assert.equal((await b.get(`${app}/`)).status, 302);
    assert.equal((await b.get(`${admin}/`)).status, 302);
  });

  test('the login host\'s access log holds no code or state', async () => {
    const b = new Browser();
    const end = await b.browse(`${app}/log`);
    const cb = new URL(end.hops.find((u) => u.includes('/callback/google?')));
    const log = s.caddy.accessLog();
    assert.match(log, /\/callback\/google/);
    assert.ok(!log.includes(cb.searchParams.get('code')), 'code logged');
    assert.ok(!log.includes(cb.searchParams.get('state')), 'state logged');
  });

  test('Redis down: Sekisho\'s "temporarily unavailable" page through Caddy', async () => {
    const b = new Browser();
    await b.browse(`${app}/`);
    await s.redis.kill();
    try {
      const r = await b.get(`${app}/x`);
      assert.equal(r.status, 503);
      assert.match(r.body, /一時的に利用できません/); // the tenant's default language
      assert.doesNotMatch(r.body, /"headers"/);
    } finally {
      await s.redis.restart();
    }
    await waitReady(`http://127.0.0.1:${s.ports.sekisho}`);
  });
});

// Tenant IP allowlists end to end: real nginx (auth_request, the harness's
// config modelled on conf/nginx.example.conf) in front of sekisho, which
// trusts 127.0.0.1 as a proxy (http.trusted_proxies). The test client
// plays an outer proxy on 127.0.0.1: the X-Forwarded-For it sends is the
// chain nginx appends to, so it presents other client addresses honestly
// (read right to left, the first untrusted entry is the client).
// Covers:
//   - X-Forwarded-For from an untrusted peer (127.0.0.2, straight to
//     sekisho) is ignored: the peer itself is the client, and refused
//   - from a trusted peer it is read right to left: the rightmost
//     untrusted entry is the client, a spoofed leftmost value is ignored
//   - IPv4, IPv6 and IPv4-mapped IPv6 addresses allowed and refused at
//     sign-in (/login: a 403 page naming the address, no state stored)
//     and at /auth/verify through nginx (403 with Sekisho's page naming
//     the address; sekisho itself answers 403 X-Auth-Request-Denied: ip)
//   - the admin allowlist is stricter than the member list: an admin is
//     refused at verify, and at the callback (no session cookie), from an
//     address members may use
//   - /oauth2/authorize (the browser's address) and /oauth2/token for a
//     public app client (the device's address): a code or a refresh
//     token used from outside the list is refused (403 JSON naming the
//     address); the refused code is spent, the refresh token not rotated
//   - /metrics only from http.metrics_allow (default loopback)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { CookieJar, follow, freshGet, signInAtIdp, startStack } from './harness.mjs';

let stack;
let base;

const OFFICE = '203.0.113.5';
const BOSS_DESK = '203.0.113.10';
const OUTSIDE = '198.51.100.7';
const APP = { id: 'com.example.app', redirect: 'http://127.0.0.1:9/cb' };

before(async () => {
  stack = await startStack({
    nginx: true,
    httpYaml: 'trusted_proxies: ["127.0.0.1/32"]',
    tenantsYaml: `  - id: default
    display_name: "Test Office"
    providers: [google]
    admin_emails: [alice@example.com]
    ip_allowlist: ["203.0.113.0/24", "2001:db8:10::/48"]
    admin_ip_allowlist: ["203.0.113.10/32", "2001:db8:10:1::/64"]
`,
    extraConfig: `clients:
  - client_id: ${APP.id}
    public: true
    first_party: true
    tenants: [default]
    redirect_uris: ["${APP.redirect}"]
`,
  });
  base = stack.base;
});
after(async () => { await stack?.stop(); });

const xff = (addr) => ({ 'x-forwarded-for': addr });

/** A GET from a chosen local address (loopback has all of 127/8). */
const getFrom = (localAddress, url, headers = {}) => freshGet(url, headers, { localAddress });

/** Sign-in through nginx with every request to it coming from `from`. */
async function signInFrom(jar, from, login = 'alice', password = 'alice-password') {
  const start = await follow(jar, `${base}/login/google`, { headers: xff(from) });
  if (start.status !== 302) return { res: start };
  const callbackUrl = await signInAtIdp(jar, start.location, login, password);
  const res = await follow(jar, callbackUrl, { headers: xff(from) });
  return { res };
}

// The page is in the request's language: English for fetch() (it sends
// "Accept-Language: *"), the tenant's default Japanese for a bare client.
function assertRefusedPage(r, addr) {
  assert.equal(r.status, 403, `${addr}: ${r.status} ${r.body.slice(0, 200)}`);
  if (r.body.includes('<html lang="ja">')) {
    assert.match(r.body, /このアドレスからは利用できません/);
    assert.ok(r.body.includes(`（${addr}）`), `page names ${addr}: ${r.body.slice(0, 400)}`);
  } else {
    assert.match(r.body, /Address not allowed/);
    assert.ok(r.body.includes(`(${addr})`), `page names ${addr}: ${r.body.slice(0, 400)}`);
  }
}

describe('client address', () => {
  test('X-Forwarded-For from an untrusted peer is ignored', async () => {
    const r = await getFrom('127.0.0.2', `${stack.sekishoBase}/login`, xff(OFFICE));
    assertRefusedPage(r, '127.0.0.2');
    // The same header from the trusted peer is read.
    const ok = await getFrom('127.0.0.1', `${stack.sekishoBase}/login`, xff(OFFICE));
    assert.equal(ok.status, 302, ok.body.slice(0, 200)); // on to the one provider
  });

  test('from a trusted proxy it is read right to left; a spoofed leftmost value is ignored', async () => {
    // The client (OUTSIDE) claims an office address in front of its own.
    const spoof = await follow(new CookieJar(), `${base}/login`, { headers: xff(`${OFFICE}, ${OUTSIDE}`) });
    assertRefusedPage(spoof, OUTSIDE);
    const real = await follow(new CookieJar(), `${base}/login`, { headers: xff(`${OUTSIDE}, ${OFFICE}`) });
    assert.equal(real.status, 302, real.body.slice(0, 200));
  });
});

describe('ip_allowlist', () => {
  test('sign-in: allowed from IPv4, IPv6 and mapped addresses in the list, refused outside with no state stored', async () => {
    for (const addr of ['198.51.100.7', '2001:db8:99::1', '::ffff:198.51.100.7']) {
      const jar = new CookieJar();
      const r = await follow(jar, `${base}/login/google`, { headers: xff(addr) });
      // sekisho formats a mapped address as dotted IPv4
      assertRefusedPage(r, addr.replace(/^::ffff:/, ''));
      assert.equal(r.headers.get('x-auth-request-denied'), 'ip');
      assert.equal(r.headers.get('set-cookie'), null, `${addr}: nothing stored, no state cookie`);
    }
    for (const addr of [OFFICE, '2001:db8:10::5', `::ffff:${OFFICE}`]) {
      const jar = new CookieJar();
      const { res } = await signInFrom(jar, addr, 'bob', 'bob-password');
      assert.equal(res.status, 302, `${addr}: ${res.status} ${res.body.slice(0, 200)}`);
      assert.ok(jar.get(base, 'sekisho'), `${addr}: signed in`);
    }
  });

  test('/auth/verify through nginx: 403 with the address outside the list, IPv4, IPv6 and mapped', async () => {
    const jar = new CookieJar();
    const { res } = await signInFrom(jar, OFFICE, 'bob', 'bob-password');
    assert.equal(res.status, 302);
    for (const addr of [OFFICE, '2001:db8:10:ffff::1', `::ffff:${OFFICE}`]) {
      const r = await follow(jar, `${base}/app/page`, { headers: xff(addr) });
      assert.equal(r.status, 200, `${addr}: ${r.status} ${r.body.slice(0, 200)}`);
      assert.match(JSON.parse(r.body).headers['x-auth-request-user'], /^u_/);
    }
    for (const addr of [OUTSIDE, '2001:db8:11::1', `::ffff:${OUTSIDE}`]) {
      const r = await follow(jar, `${base}/app/page`, { headers: xff(addr) });
      assertRefusedPage(r, addr.replace(/^::ffff:/, ''));
      assert.doesNotMatch(r.body, /"headers"/, 'the app was not reached');
    }
    // What nginx acts on: sekisho's own answer to the subrequest.
    const direct = await follow(jar, `${stack.sekishoBase}/auth/verify`, {
      headers: { ...xff(OUTSIDE), cookie: `sekisho=${jar.get(base, 'sekisho')}` },
    });
    assert.equal(direct.status, 403);
    assert.equal(direct.headers.get('x-auth-request-denied'), 'ip');
    assert.equal(direct.headers.get('x-auth-request-user'), null);
    assert.equal(JSON.parse(direct.body).error, 'access_denied');
    assert.match(JSON.parse(direct.body).error_description, new RegExp(OUTSIDE.replaceAll('.', '\\.')));
  });

  test('the admin list is stricter: an admin is refused where members are let in', async () => {
    // At the callback, once the user is known: no session is made.
    const refused = new CookieJar();
    const { res: cb } = await signInFrom(refused, OFFICE);
    assertRefusedPage(cb, OFFICE);
    assert.match(cb.body, /Administrators may not/);
    assert.equal(refused.get(base, 'sekisho'), undefined, 'no session cookie');

    const jar = new CookieJar();
    const { res } = await signInFrom(jar, BOSS_DESK);
    assert.equal(res.status, 302, res.body.slice(0, 200));
    const ok = await follow(jar, `${base}/app/`, { headers: xff(BOSS_DESK) });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).headers['x-auth-request-roles'], 'admin');
    // A member's address, not an admin's: refused at verify.
    const r = await follow(jar, `${base}/app/`, { headers: xff(OFFICE) });
    assertRefusedPage(r, OFFICE);
    assert.match(r.body, /Administrators may not/);
    const v6 = await follow(jar, `${base}/app/`, { headers: xff('2001:db8:10:1::77') });
    assert.equal(v6.status, 200);
  });

  test('/oauth2/authorize and a public client at /oauth2/token: the user\'s address', async () => {
    const jar = new CookieJar();
    assert.equal((await signInFrom(jar, OFFICE, 'bob', 'bob-password')).res.status, 302);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const authorize = (from) => {
      const u = new URL(`${base}/oauth2/authorize`);
      u.search = new URLSearchParams({
        response_type: 'code', client_id: APP.id, redirect_uri: APP.redirect, state: 's',
        code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      return follow(jar, u.href, { headers: xff(from) });
    };
    const token = async (from, params) => {
      const r = await fetch(`${base}/oauth2/token`, {
        method: 'POST',
        headers: { ...xff(from), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: APP.id, ...params }).toString(),
      });
      return { status: r.status, body: await r.json() };
    };
    const codeFrom = async (from) => new URL((await authorize(from)).location).searchParams.get('code');
    assertRefusedPage(await authorize(OUTSIDE), OUTSIDE);

    const exchange = (code) => ({ grant_type: 'authorization_code', code, redirect_uri: APP.redirect, code_verifier: verifier });
    const code = await codeFrom(OFFICE);
    const far = await token(OUTSIDE, exchange(code));
    assert.equal(far.status, 403);
    assert.equal(far.body.error, 'access_denied');
    assert.match(far.body.error_description, /198\.51\.100\.7/);
    assert.equal((await token(OFFICE, exchange(code))).status, 400, 'the refused code was spent');

    const tok = await token('2001:db8:10::9', exchange(await codeFrom(OFFICE)));
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const refresh = { grant_type: 'refresh_token', refresh_token: tok.body.refresh_token };
    assert.equal((await token('2001:db8:11::9', refresh)).status, 403);
    const again = await token(OFFICE, refresh);
    assert.equal(again.status, 200, `not rotated by the refusal: ${JSON.stringify(again.body)}`);
  });

  test('/metrics: loopback only (http.metrics_allow default)', async () => {
    const ok = await getFrom('127.0.0.1', `${stack.sekishoBase}/metrics`);
    assert.equal(ok.status, 200);
    // A client behind the trusted proxy is not loopback.
    for (const addr of [OFFICE, '2001:db8:10::5']) {
      const proxied = await getFrom('127.0.0.1', `${stack.sekishoBase}/metrics`, xff(addr));
      assert.equal(proxied.status, 403, addr);
      assert.equal(JSON.parse(proxied.body).error, 'access_denied');
    }
  });
});

// "My account" (/account, docs/account.md) over HTTP, against real
// redis-server, the test IdP and sekisho with two tenants (law on
// 127.0.0.1, shop on localhost; users-harness.mjs). Covers:
//   - the page lists the user's own browser sessions (this one marked),
//     devices (this one marked) and apps, nobody else's
//   - ending another session of one's own: its next request is signed
//     out; session_revoked with the user as the actor
//   - forgetting a device: device_forgotten with the user as the actor
//   - signing an app out: its refresh token fails at /oauth2/token
//   - "sign out everywhere else": every other browser session and app
//     session ends, this one stays; one session_revoked each
//   - hostile: another user's session / device / app id (404, nothing
//     changed), another tenant's cookie, no / wrong / another session's
//     CSRF token, cross-origin POSTs (Sec-Fetch-Site, Origin), malformed,
//     repeated and huge ids, unknown actions, GET on an action
//   - an administrator from outside admin_ip_allowlist: 403, the page and
//     the forms; a viewer from the same address is not affected
//   - ?done= shows only one of its fixed messages, nothing of its own
//   - Redis stopped: 503 pages, nothing let through
//   - no event holds a session cookie, CSRF token or refresh token
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { APP, exchange, mintCode, refresh } from './app-harness.mjs';
import { CookieJar, follow, signIn, startUsersStack } from './users-harness.mjs';

let s;
const secrets = [];

before(async () => {
  s = await startUsersStack({
    adminEmails: ['alice@example.com'],
    extraConfig: `  - client_id: ${APP.id}
    public: true
    tenants: [law]
    first_party: true
    display_name: "Example App"
    redirect_uris: ["${APP.redirect}"]
`,
  });
});

after(async () => {
  await s?.stop();
});

/** A signed-in jar for login at base (a browser of its own). */
async function browser(login, base = s.law, ua = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36') {
  const jar = new CookieJar();
  const { res } = await signIn(jar, base, { login, password: `${login}-password` });
  assert.ok(res.status >= 300 && res.status < 400, `${login} signed in (${res.status})`);
  jar.ua = ua;
  for (const v of jar.header(base).split('; ')) secrets.push(v.slice(v.indexOf('=') + 1));
  return jar;
}

/** The account page: { status, html, csrf, sessions, devices, apps, current, thisDevice }. */
async function page(jar, base = s.law) {
  const r = await follow(jar, `${base}/account`, { headers: { 'user-agent': jar.ua ?? '' } });
  const html = r.body;
  const ids = (list) => {
    const sec = new RegExp(`<ul class="rows" id="${list}">([\\s\\S]*?)</ul>`).exec(html)?.[1] ?? '';
    return [...sec.matchAll(/<li class="row" data-id="([^"]+)">([\s\S]*?)<\/li>/g)].map((m) => ({
      id: m[1], current: /class="tag current"/.test(m[2]),
    }));
  };
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (csrf) secrets.push(csrf);
  const sessions = ids('sessions');
  const devices = ids('devices');
  return {
    status: r.status, location: r.location, html, csrf, sessions, devices, apps: ids('apps'),
    current: sessions.find((x) => x.current)?.id, thisDevice: devices.find((x) => x.current)?.id,
  };
}

/** A form POST to an account action as a browser on the same origin would. */
function act(jar, action, params, { base = s.law, headers = {} } = {}) {
  return follow(jar, `${base}/account/${action}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin',
      'user-agent': jar.ua ?? '', ...headers,
    },
    body: new URLSearchParams(params).toString(),
  });
}

const signedIn = async (jar, base = s.law) => (await s.verify(jar, base)).status === 200;

/** An app session for the browser session in jar: its refresh token. */
async function appToken(jar) {
  const tok = await exchange(s.law, await mintCode(s.law, jar));
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  secrets.push(tok.body.refresh_token, tok.body.access_token);
  return tok.body.refresh_token;
}

let seen = new Set();
async function freshEvents() {
  const all = await s.events('law');
  const out = all.filter((e) => !seen.has(e.id)).reverse();
  for (const e of all) seen.add(e.id);
  return out;
}

test('the page shows one\'s own sessions, devices and apps, this one marked', async () => {
  const a1 = await browser('alice');
  const a2 = await browser('alice', s.law, 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) Version/17.6 Mobile/15E148 Safari/604.1');
  const b = await browser('bob');
  await appToken(a1);
  const p1 = await page(a1);
  assert.equal(p1.status, 200);
  assert.match(p1.html, /alice@example\.com/);
  assert.equal(p1.sessions.length, 2);
  assert.equal(p1.sessions.filter((x) => x.current).length, 1);
  assert.equal(p1.devices.length, 2);
  assert.ok(p1.thisDevice, 'this device marked');
  assert.equal(p1.apps.length, 1);
  assert.match(p1.html, /Example App/);
  const p2 = await page(a2);
  assert.notEqual(p2.current, p1.current);
  assert.deepEqual(new Set(p2.sessions.map((x) => x.id)), new Set(p1.sessions.map((x) => x.id)));
  const pb = await page(b);
  assert.equal(pb.sessions.length, 1);
  for (const x of pb.sessions) assert.ok(!p1.sessions.some((y) => y.id === x.id), 'no session of bob on alice\'s page');
  // The home page links here.
  const home = await follow(a1, `${s.law}/`);
  assert.match(home.body, /href="\/account"/);
  // Not signed in: to sign-in, and back here afterwards.
  const anon = await follow(new CookieJar(), `${s.law}/account`);
  assert.equal(anon.status, 302);
  assert.match(anon.location, /\/login\?rd=%2Faccount$/);
});

test('ending another session of one\'s own signs it out; recorded with the user as actor', async () => {
  const a1 = await browser('alice');
  const a2 = await browser('alice');
  const p1 = await page(a1);
  const p2 = await page(a2);
  await freshEvents();
  const r = await act(a1, 'sessions/end', { csrf: p1.csrf, id: p2.current });
  assert.equal(r.status, 302);
  assert.equal(new URL(r.location).pathname + new URL(r.location).search, '/account?done=session');
  const after1 = await follow(a1, r.location);
  assert.match(after1.body, /id="done"[^>]*>Session ended\./);
  assert.equal(await signedIn(a2), false, 'the other browser is signed out');
  assert.equal(await signedIn(a1), true, 'this one stays');
  const ev = (await freshEvents()).filter((e) => e.type === 'session_revoked');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].details.id, p2.current);
  assert.equal(ev[0].details.kind, 'browser');
  assert.deepEqual(ev[0].details.actor, { type: 'user', id: ev[0].user.id, email: 'alice@example.com' });
  assert.equal(ev[0].ip, '127.0.0.1');
  // Ending it again: gone, as one that never was.
  const again = await act(a1, 'sessions/end', { csrf: p1.csrf, id: p2.current });
  assert.equal(again.status, 404);
});

test('forgetting a device; signing an app out ends its refresh token', async () => {
  const a1 = await browser('alice');
  const a2 = await browser('alice', s.law, 'curl/8.5.0');
  const p2 = await page(a2);
  const before1 = new Set((await page(a1)).apps.map((x) => x.id));
  const rt = await appToken(a1);
  let p1 = await page(a1);
  await freshEvents();
  assert.ok(p1.devices.some((d) => d.id === p2.thisDevice));
  let r = await act(a1, 'devices/forget', { csrf: p1.csrf, id: p2.thisDevice });
  assert.equal(r.status, 302);
  assert.match(r.location, /done=device$/);
  p1 = await page(a1);
  assert.ok(!p1.devices.some((d) => d.id === p2.thisDevice), 'forgotten');
  let ev = (await freshEvents()).filter((e) => e.type === 'device_forgotten');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].details.device.id, p2.thisDevice);
  assert.equal(ev[0].details.actor.type, 'user');

  const app = p1.apps.find((x) => !before1.has(x.id));
  assert.ok(app, 'the new app listed');
  r = await act(a1, 'apps/revoke', { csrf: p1.csrf, id: app.id });
  assert.equal(r.status, 302);
  assert.match(r.location, /done=app$/);
  const ref = await refresh(s.law, rt);
  assert.equal(ref.status, 400);
  assert.equal(ref.body.error, 'invalid_grant');
  ev = (await freshEvents()).filter((e) => e.type === 'session_revoked');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].details.kind, 'app');
  assert.equal(ev[0].details.actor.type, 'user');
  // An app id in the session form (and the other way round) is nothing.
  p1 = await page(a1);
  assert.equal((await act(a1, 'sessions/end', { csrf: p1.csrf, id: app.id })).status, 404);
  assert.equal((await act(a1, 'apps/revoke', { csrf: p1.csrf, id: p1.current })).status, 404);
  assert.equal(await signedIn(a1), true);
});

test('sign out everywhere else: every other session and app ends, this one stays', async () => {
  const a1 = await browser('alice');
  const a2 = await browser('alice');
  const rt1 = await appToken(a1);
  const rt2 = await appToken(a2);
  const p1 = await page(a1);
  await freshEvents();
  const others = p1.sessions.length - 1 + p1.apps.length;
  assert.ok(others >= 3, `others: ${others}`);
  const r = await act(a1, 'sessions/others', { csrf: p1.csrf });
  assert.equal(r.status, 302);
  assert.match(r.location, /done=others$/);
  assert.equal(await signedIn(a2), false);
  assert.equal(await signedIn(a1), true);
  for (const rt of [rt1, rt2]) assert.equal((await refresh(s.law, rt)).status, 400);
  const after1 = await page(a1);
  assert.equal(after1.sessions.length, 1);
  assert.equal(after1.apps.length, 0);
  assert.match((await follow(a1, r.location)).body, /Signed out everywhere else\./);
  const ev = (await freshEvents()).filter((e) => e.type === 'session_revoked');
  assert.equal(ev.length, others);
  for (const e of ev) assert.equal(e.details.actor.type, 'user');
  assert.ok(!ev.some((e) => e.details.id === p1.current), 'this session is not among them');
});

test('hostile: another user\'s ids, another tenant\'s cookie, CSRF, origin, malformed ids', async () => {
  const a = await browser('alice');
  const b = await browser('bob');
  await appToken(b);
  const pa = await page(a);
  const pb = await page(b);
  const bobApp = pb.apps[0].id;
  const check = async (what, r, status) => {
    assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
    assert.equal(await signedIn(b), true, `${what}: bob still signed in`);
    const now = await page(b);
    assert.equal(now.sessions.length, pb.sessions.length, `${what}: bob's sessions`);
    assert.equal(now.devices.length, pb.devices.length, `${what}: bob's devices`);
    assert.equal(now.apps.length, pb.apps.length, `${what}: bob's apps`);
  };
  // Bob's ids in alice's forms, with alice's own valid token: as if absent.
  await check('bob session', await act(a, 'sessions/end', { csrf: pa.csrf, id: pb.current }), 404);
  await check('bob device', await act(a, 'devices/forget', { csrf: pa.csrf, id: pb.thisDevice }), 404);
  await check('bob app', await act(a, 'apps/revoke', { csrf: pa.csrf, id: bobApp }), 404);
  const nobody = await act(a, 'sessions/end', { csrf: pa.csrf, id: `${pa.current.slice(0, -4)}0000` });
  assert.equal(nobody.status, 404);
  // The two 404s read the same (no oracle for "exists, not yours").
  const strip = (h) => h.replace(/[0-9a-f]{16,}/g, '');
  assert.equal(strip((await act(a, 'sessions/end', { csrf: pa.csrf, id: pb.current })).body), strip(nobody.body));

  // CSRF: none, wrong, bob's token with alice's cookie.
  await check('no csrf', await act(a, 'sessions/end', { id: pb.current }), 403);
  await check('no csrf, own', await act(a, 'sessions/others', {}), 403);
  await check('wrong csrf', await act(a, 'sessions/others', { csrf: 'x'.repeat(43) }), 403);
  await check('bob csrf', await act(a, 'sessions/others', { csrf: pb.csrf }), 403);
  await check('two csrf', await follow(a, `${s.law}/account/sessions/others`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    body: `csrf=${pa.csrf}&csrf=${pa.csrf}`,
  }), 403);
  // Bob's own token, sent cross-site from a hostile page.
  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }]) {
    await check(`cross-origin ${JSON.stringify(headers)}`,
      await act(b, 'sessions/others', { csrf: pb.csrf }, { headers }), 403);
  }
  const evil = await follow(b, `${s.law}/account/sessions/others`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
    body: new URLSearchParams({ csrf: pb.csrf }).toString(),
  });
  await check('Origin evil', evil, 403);

  // Another tenant's cookie: alice of shop, her cookie sent to law.
  const shop = await browser('alice', s.shop);
  await browser('alice', s.shop); // a second session: the page then has forms
  const shopCookie = shop.header(s.shop);
  const asShop = { cookie: shopCookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' };
  const g = await fetch(`${s.law}/account`, { headers: { cookie: shopCookie }, redirect: 'manual' });
  assert.equal(g.status, 302);
  assert.match(g.headers.get('location'), /\/login\?rd=/);
  const ps = await page(shop, s.shop);
  assert.equal(ps.status, 200);
  assert.ok(ps.csrf);
  for (const [action, id] of [['sessions/end', pb.current], ['devices/forget', pb.thisDevice],
    ['apps/revoke', bobApp], ['sessions/others', undefined]]) {
    const body = new URLSearchParams({ csrf: ps.csrf, ...(id ? { id } : {}) }).toString();
    const r = await fetch(`${s.law}/account/${action}`, { method: 'POST', headers: asShop, body, redirect: 'manual' });
    await check(`shop cookie ${action}`, { status: r.status, body: await r.text() }, 302);
  }
  // Bob's ids at shop with shop alice's session: not in that tenant.
  await check('shop: bob session', await act(shop, 'sessions/end', { csrf: ps.csrf, id: pb.current }, { base: s.shop }), 404);
  await check('shop: bob app', await act(shop, 'apps/revoke', { csrf: ps.csrf, id: bobApp }, { base: s.shop }), 404);
  await check('shop: bob device', await act(shop, 'devices/forget', { csrf: ps.csrf, id: pb.thisDevice }, { base: s.shop }), 404);

  // Malformed, huge and repeated ids; unknown actions; GET on an action.
  const uid = pa.current.split('.')[0];
  for (const id of ['', '.', '..', `${uid}.`, `${uid}.s_`, `${uid}.s_${'z'.repeat(64)}`, `${uid}.x_abc`,
    `${uid}.s_${'0'.repeat(64)}/../x`, '%00', `${uid}\u0000.s_1`, 'u_'.repeat(60), 'A'.repeat(129),
    'a'.repeat(64).toUpperCase(), pb.thisDevice.slice(0, 63)]) {
    for (const action of ['sessions/end', 'devices/forget', 'apps/revoke']) {
      const r = await act(a, action, { csrf: pa.csrf, id });
      assert.equal(r.status, 404, `${action} ${JSON.stringify(id).slice(0, 40)}: ${r.status}`);
    }
  }
  const huge = await act(a, 'sessions/end', { csrf: pa.csrf, id: 'x'.repeat(200_000) });
  assert.ok([404, 413].includes(huge.status), `huge: ${huge.status}`);
  const twice = await follow(a, `${s.law}/account/sessions/end`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    body: `csrf=${pa.csrf}&id=${encodeURIComponent(pb.current)}&id=${encodeURIComponent(pa.current)}`,
  });
  assert.equal(twice.status, 404);
  for (const action of ['nope', 'sessions', 'sessions/end/x', 'sessions/end/', 'Sessions/End']) {
    assert.equal((await act(a, action, { csrf: pa.csrf })).status, 404, action);
  }
  const getAction = await follow(a, `${s.law}/account/sessions/others`);
  assert.ok([404, 405].includes(getAction.status), `GET action: ${getAction.status}`);
  assert.equal(await signedIn(a), true);
  await check('after all', { status: 200, body: '' }, 200);
});

test('?done= picks a fixed message or none', async () => {
  const a = await browser('alice');
  for (const q of ['done=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'done=session&done=app', 'done=', 'done=Session']) {
    const r = await follow(a, `${s.law}/account?${q}`);
    assert.equal(r.status, 200, q);
    assert.doesNotMatch(r.body, /id="done"/, q);
    assert.doesNotMatch(r.body, /<script>alert/, q);
  }
  const ok = await follow(a, `${s.law}/account?done=device`);
  assert.match(ok.body, /id="done"[^>]*>Device forgotten\./);
});

test('an administrator from outside the admin allowlist is refused', async () => {
  const a = await browser('alice'); // an admin through admin_emails
  const a2 = await browser('alice');
  const b = await browser('bob');
  const pa = await page(a);
  const p2 = await page(a2);
  assert.match(pa.html, /id="role">Administrator</);
  const set = await s.admin('PATCH', 'law', 'policy', { body: { admin_ip_allowlist: ['10.9.0.0/16'] } });
  assert.equal(set.status, 200, set.text);
  try {
    const g = await page(a);
    assert.equal(g.status, 403);
    assert.doesNotMatch(g.html, /data-id=/);
    const r = await act(a, 'sessions/end', { csrf: pa.csrf, id: p2.current });
    assert.equal(r.status, 403);
    assert.equal((await page(b)).status, 200, 'a viewer is not affected');
  } finally {
    const back = await s.admin('PATCH', 'law', 'policy', { body: { admin_ip_allowlist: null } });
    assert.equal(back.status, 200, back.text);
  }
  assert.equal(await signedIn(a2), true, 'nothing was ended');
});

test('no event holds a cookie, CSRF token or refresh token', async () => {
  const raw = JSON.stringify(await s.events('law'));
  for (const v of secrets) if (v && v.length >= 20) assert.ok(!raw.includes(v), 'a secret in an event');
});

test('Redis stopped: the page and the actions answer 503; nothing let through', async () => {
  const a1 = await browser('alice');
  const a2 = await browser('alice');
  const p1 = await page(a1);
  const p2 = await page(a2);
  await s.redis.kill();
  const g = await page(a1);
  assert.equal(g.status, 503);
  assert.match(g.html, /Temporarily unavailable/);
  assert.doesNotMatch(g.html, /data-id=/);
  for (const [action, id] of [['sessions/end', p2.current], ['sessions/others', undefined],
    ['devices/forget', p2.thisDevice]]) {
    const r = await act(a1, action, { csrf: p1.csrf, ...(id ? { id } : {}) });
    assert.equal(r.status, 503, action);
  }
});

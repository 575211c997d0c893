// The console's users pages (/admin/users, broker/console_users.c;
// docs/pages.md "Users in the console") in real Chromium, in Japanese and
// in English, on two tenants (law on 127.0.0.1, shop on localhost), the
// administrator alice (admin_emails, with her second factor) and target
// users whose names and e-mails carry markup (mallory in ja, eve in en):
// - an admin searches for a user, invites a user (the invitation shown),
//   changes a role, unlocks a user locked out by wrong codes (the page
//   says until when), resets their second factor, ends one of their
//   sessions, forgets a device, disables (after the confirmation step)
//   and enables them; each change confirmed on the page it changed
// - those changes found as events of the tenant (the admin API's events
//   endpoint and the console's audit view), each naming alice as actor
// - @axe-core/playwright: no serious or critical violation; no hostile
//   value unescaped, no script of them ran; no CSP violation
// - screenshots in ja and en at 1280 and 390 px under
//   test-artefacts/console-users/ (git-ignored)
// Hostile (plain HTTP, no browser):
// - a viewer and an editor get 403 on every page and form
// - a user, session, device and invitation of the other tenant is "not
//   found" (404) and untouched; a session of another user of this tenant
//   under the wrong user is 404; the other tenant's session cookie is no
//   session here (to sign-in)
// - an administrator cannot demote or disable themselves (409)
// - the list a page at a time (60 users seeded in the store), a foreign
//   cursor starting over
// - no CSRF token, a wrong one, a cross-site POST: 403, nothing changed
// - an invite with a malformed or huge e-mail: 400, the field named,
//   nothing stored; markup in it shown escaped
// - Redis stopped: a clear 503 page, nothing let through
// - no sanitizer report when the daemon stops (ASan/UBSan builds)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { VIEWPORTS, axeClean, screenshots } from './checks.mjs';

import { REPO } from '../integration/harness.mjs';
import { CookieJar, follow, signIn, startUsersStack } from '../integration/users-harness.mjs';
import { challenge, csrfOf, enrol, nextCode, postForm, totp, midStepTime } from '../integration/mfa-harness.mjs';

const ART = path.join(REPO, 'test-artefacts', 'console-users');
const RAW = ['<script>window.__pwned', '<img src=x', '<i>x</i>'];

let s;
let browser;
let mstack; // what the mfa helpers want: { base, redis }
const admin = { jar: new CookieJar() };
const users = {}; // login -> { jar, uid, secret, step }

/**
 * Signs login in on law with their second factor: enrolled when the
 * sign-in asks for it (the first time, or after a reset), else a code.
 */
async function signInWithFactor(login, jar = new CookieJar()) {
  const u = users[login] ?? (users[login] = {});
  const { res } = await signIn(jar, s.law, { login, password: `${login}-password` });
  if (/\/mfa\/enroll/.test(res.location ?? '')) {
    const e = await enrol(mstack, jar);
    assert.equal(e.res.status, 200, `${login} enrolled`);
    u.secret = e.secret;
    u.step = e.step;
  } else {
    const { code, step } = await nextCode(s.redis, u.secret, u.step);
    const r = await challenge(mstack, jar, code);
    assert.equal(r.res.status, 302, `${login} challenge`);
    u.step = step;
  }
  const v = await s.verify(jar, s.law);
  assert.equal(v.status, 200, `${login} signed in`);
  u.uid = v.user;
  u.jar = jar;
  return u;
}

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  s = await startUsersStack({ mfa: 'required', adminEmails: ['alice@example.com'] });
  mstack = { base: s.law, redis: s.redis };
  // Three wrong codes lock a user on a browser (the tenant's policy,
  // through the admin API as an operator would set it).
  const p = await s.admin('PATCH', 'law', 'policy', { body: { lockout: { max_failures: 3 } } });
  assert.equal(p.status, 200, p.text);
  await signInWithFactor('alice', admin.jar);
  for (const login of ['mallory', 'eve', 'bob']) await signInWithFactor(login);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await s?.stop();
});

/** The escaping checks, axe and screenshots at both sizes of one page. */
async function check(page, lang, name) {
  const html = await page.content();
  for (const raw of RAW) assert.ok(!html.includes(raw), `${lang}/${name}: unescaped ${raw}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, `${lang}/${name}: a hostile script ran`);
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${lang}/${name}: <html lang>`);
  await axeClean(page, `${lang}/${name}`);
  await screenshots(page, ART, name, lang);
}

/** The browser context of the administrator: alice's session cookie. */
async function adminContext(locale) {
  const context = await browser.newContext({ locale, viewport: VIEWPORTS.desktop });
  const sid = admin.jar.get(s.law, 'sekisho');
  assert.ok(sid, 'the admin has a session cookie');
  await context.addCookies([{ name: 'sekisho', value: sid, url: s.law, httpOnly: true, sameSite: 'Lax' }]);
  return context;
}

/** Clicks selector and waits for the confirmation of change key; its text. */
async function act(page, selector, key) {
  await Promise.all([page.waitForURL(new RegExp(`[?&]done=${key}$`)), page.click(selector)]);
  return page.textContent('#flash');
}

/** Wrong codes at /mfa for a new pending sign-in of login: locks them on that browser. */
async function lockOut(login) {
  const u = users[login];
  const jar = new CookieJar();
  await signIn(jar, s.law, { login, password: `${login}-password` });
  const t = await midStepTime(s.redis);
  const valid = new Set(await Promise.all([-30, 0, 30].map((d) => totp(u.secret, t + d))));
  let last;
  for (let i = 0; i < 4; i++) {
    let code;
    do code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0'); while (valid.has(code));
    const { res } = await challenge(mstack, jar, code);
    last = res.status;
  }
  assert.equal(last, 429, `${login} locked out`);
}

/** The tenant's events of a type about a user, by alice. */
async function eventsBy(type, uid) {
  const all = await s.events('law');
  return all.filter((e) => e.type === type && (uid === undefined || e.user?.id === uid)
    && e.details?.actor?.id === users.alice.uid);
}

for (const [lang, locale, login, words] of [
  ['ja', 'ja-JP', 'mallory', {
    users: /ユーザー/, invited: /招待を作成しました/, role: /ロールを変更しました/, locked: /ロックされています/, oneBrowser: /ほかのブラウザーからはサインインできます/,
    unlocked: /ロックを解除しました/, reset: /二段階認証をリセットしました/, ended: /セッションを終了しました/,
    forgotten: /登録を解除しました/, disabled: /無効にし/, enabled: /有効にしました/, badEmail: /メールアドレス/,
  }],
  ['en', 'en-US', 'eve', {
    users: /Users/, invited: /invitation was created/, role: /role was changed/, locked: /Locked out on one or more browsers/, oneBrowser: /Other browsers can still sign in/,
    unlocked: /was unlocked/, reset: /Two-step verification was reset/, ended: /session was ended/,
    forgotten: /device was forgotten/, disabled: /was disabled/, enabled: /was enabled/, badEmail: /E-mail address/,
  }],
]) {
  test(`an administrator manages users in ${lang}`, async () => {
    const target = users[login];
    const context = await adminContext(locale);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const csp = [];
    page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) csp.push(m.text()); });
    try {
      // The list, then a search that finds the target (markup in the
      // name and the address shown as text).
      await page.goto(`${s.law}/admin/users`);
      assert.match(await page.textContent('h1'), words.users);
      await check(page, lang, 'users');
      await page.fill('#q', login.slice(0, 3).toUpperCase());
      await page.click('#search');
      await page.waitForURL(/[?&]q=/);
      assert.equal(await page.locator('#users tbody tr').count(), 1, 'one user found');
      const row = page.locator(`#user-${target.uid}`);
      assert.match(await row.textContent(), login === 'mallory' ? /<script>window.__pwned=1<\/script>/ : /onmouseover/);
      await check(page, lang, 'users-search');

      // An invitation: confirmed, then listed.
      const invitee = `new-${lang}@example.com`;
      await page.goto(`${s.law}/admin/users`);
      await page.fill('#invite-email', invitee);
      await page.selectOption('#invite-role', 'editor');
      await page.selectOption('#invite-days', '14');
      assert.match(await act(page, '#invite', 'invited'), words.invited);
      assert.match(await page.textContent('#invitations'), new RegExp(invitee.replace('.', '\\.')));
      await check(page, lang, 'users-invited');

      // A malformed address: the field named, nothing stored.
      const before = (await s.admin('GET', 'law', 'invitations')).json.length;
      await page.fill('#invite-email', 'x<i>x</i>@');
      await page.click('#invite');
      await page.waitForSelector('#invite-email-problem');
      assert.match(await page.textContent('#invite-email-problem'), words.badEmail);
      assert.equal(await page.getAttribute('#invite-email', 'aria-invalid'), 'true');
      assert.equal(await page.inputValue('#invite-email'), 'x<i>x</i>@', 'the value kept, as text');
      assert.equal((await s.admin('GET', 'law', 'invitations')).json.length, before, 'nothing stored');
      await check(page, lang, 'users-invite-error');

      // The user's page: change the role.
      await page.goto(`${s.law}/admin/users?q=${encodeURIComponent(login)}`);
      await page.click(`#user-${target.uid} .user-link`);
      await page.waitForURL(`${s.law}/admin/users/${target.uid}`);
      await check(page, lang, 'user');
      await page.selectOption('#role', 'editor');
      assert.match(await act(page, '#change-role', 'role'), words.role);
      assert.equal((await s.admin('GET', 'law', `users/${target.uid}`)).json.role, 'editor');

      // Locked out by wrong codes: shown with until when, then unlocked.
      await lockOut(login);
      await page.reload();
      assert.match(await page.textContent('#locked-until'), words.locked);
      assert.match(await page.textContent('#locked-until'), words.oneBrowser);
      assert.match(await page.textContent('#locked-until'), lang === 'ja' ? /JST/ : /UTC/);
      await check(page, lang, 'user-locked');
      assert.match(await act(page, '#unlock', 'unlocked'), words.unlocked);
      assert.equal(await page.locator('#locked-until').count(), 0, 'no longer locked');
      assert.equal(await s.redis.cli('EXISTS', `sk:{u:${target.uid}}:lk`).then((x) => x.trim()), '0');

      // Reset the second factor.
      assert.match(await act(page, '#mfa-reset', 'mfa_reset'), words.reset);
      assert.ok(await page.isVisible('#mfa-off'));
      assert.equal((await s.admin('GET', 'law', `users/${target.uid}`)).json.mfa.totp, false);

      // End a session: the target's signed-in browser is signed out.
      const sessions = (await s.admin('GET', 'law', `users/${target.uid}/sessions`)).json;
      const n = await page.locator('#sessions .session').count();
      assert.equal(n, sessions.length);
      assert.ok(n >= 1, 'the target has a session');
      assert.match(await act(page, '#sessions .end-session >> nth=0', 'session_ended'), words.ended);
      assert.equal(await page.locator('#sessions .session').count(), n - 1);

      // Forget a device.
      const d = await page.locator('#devices .device').count();
      assert.ok(d >= 1, 'the target has a device');
      assert.match(await act(page, '#devices .forget-device >> nth=0', 'device_forgotten'), words.forgotten);
      assert.equal(await page.locator('#devices .device').count(), d - 1);

      // Disable, through the confirmation step; then enable.
      await page.click('#disable');
      await page.waitForSelector('#confirm-disable');
      await check(page, lang, 'user-disable');
      assert.match(await act(page, '#confirm-disable', 'disabled'), words.disabled);
      assert.equal((await s.admin('GET', 'law', `users/${target.uid}`)).json.disabled, true);
      assert.equal((await s.verify(target.jar, s.law)).status, 401, 'every session ended');
      await check(page, lang, 'user-disabled');
      assert.match(await act(page, '#enable', 'enabled'), words.enabled);
      assert.equal((await s.admin('GET', 'law', `users/${target.uid}`)).json.disabled, false);

      // Every change is an event naming alice.
      for (const type of ['role_changed', 'unlock', 'mfa_reset', 'session_revoked', 'device_forgotten',
        'user_disabled', 'user_enabled']) {
        assert.equal((await eventsBy(type, target.uid)).length >= 1, true, `${lang}: ${type} by alice`);
      }
      const inv = (await eventsBy('user_invited')).filter((e) => e.user?.email === invitee);
      assert.equal(inv.length, 1, 'user_invited by alice');
      // ... and in the console's audit view (recent events: this stack
      // keeps no audit files).
      await page.goto(`${s.law}/admin/audit`);
      const rows = await page.locator('#audit-entries tbody tr').allTextContents();
      for (const type of ['role_changed', 'unlock', 'mfa_reset', 'session_revoked', 'user_disabled', 'user_invited']) {
        assert.ok(rows.some((r) => r.includes(type) && r.includes('alice@example.com')), `audit view: ${type} by alice`);
      }

      // Withdraw the invitation.
      await page.goto(`${s.law}/admin/users`);
      const id = (await s.admin('GET', 'law', 'invitations')).json.find((i) => i.email === invitee).id;
      await act(page, `#invitation-${id} button`, 'withdrawn');
      assert.equal(await page.locator(`#invitation-${id}`).count(), 0);
      assert.equal((await eventsBy('invitation_revoked')).filter((e) => e.user?.email === invitee).length, 1);
      assert.deepEqual(csp, [], 'no CSP violation');
    } finally {
      await context.close();
    }
  });
}

/** A page of the console as jar sees it. */
function get(jar, p) {
  return follow(jar, `${s.law}${p}`);
}

/** A console form as jar posts it (csrf: the token to send, or none). */
function post(jar, p, fields, headers = {}) {
  return postForm(jar, `${s.law}${p}`, fields, headers);
}

/** The admin's CSRF token, from the users page. */
async function adminCsrf() {
  const page = await get(admin.jar, '/admin/users');
  assert.equal(page.status, 200);
  const t = csrfOf(page.body);
  assert.ok(t, 'a CSRF token in the page');
  return t;
}

test('a viewer and an editor are refused', async () => {
  const bob = users.bob;
  assert.equal((await s.admin('GET', 'law', `users/${bob.uid}`)).json.role, 'viewer');
  const eve = await signInWithFactor('eve');
  const r = await s.admin('PATCH', 'law', `users/${eve.uid}`, { body: { role: 'editor' } });
  assert.equal(r.status, 200);
  const csrf = await adminCsrf();
  for (const who of [bob, eve]) {
    for (const p of ['/admin/users', `/admin/users/${users.mallory.uid}`, `/admin/users/${users.mallory.uid}/disable`]) {
      assert.equal((await get(who.jar, p)).status, 403, `GET ${p}`);
    }
    const res = await post(who.jar, `/admin/users/${users.mallory.uid}/role`, { csrf, role: 'admin' });
    assert.equal(res.status, 403);
  }
  assert.notEqual((await s.admin('GET', 'law', `users/${users.mallory.uid}`)).json.role, 'admin');
});

test("another tenant's user, session, device and invitation are not found", async () => {
  // alice on shop (localhost) is another user, with a session and a device there.
  const jar = new CookieJar();
  await signIn(jar, s.shop, { login: 'alice' });
  const v = await s.verify(jar, s.shop);
  assert.equal(v.status, 200);
  const shopUid = v.user;
  const shopSession = (await s.admin('GET', 'shop', `users/${shopUid}/sessions`)).json[0].id;
  const shopDevice = (await s.admin('GET', 'shop', `users/${shopUid}/devices`)).json[0].id;
  const shopInv = (await s.admin('POST', 'shop', 'invitations', { body: { email: 'shop-only@example.com' } })).json.id;
  // Its session cookie on law's host is no session there: to sign-in.
  const cross = await follow(new CookieJar(), `${s.law}/admin/users/${shopUid}`,
    { headers: { cookie: `sekisho=${jar.get(s.shop, 'sekisho')}` } });
  assert.equal(cross.status, 302);
  assert.match(cross.location, /\/login\?/);
  const csrf = await adminCsrf();
  const mal = users.mallory.uid;
  assert.equal((await get(admin.jar, `/admin/users/${shopUid}`)).status, 404);
  assert.equal((await get(admin.jar, `/admin/users/${shopUid}/disable`)).status, 404);
  for (const [p, f] of [
    [`/admin/users/${shopUid}/role`, { role: 'viewer' }],
    [`/admin/users/${shopUid}/disable`, {}],
    [`/admin/users/${shopUid}/unlock`, {}],
    [`/admin/users/${shopUid}/mfa-reset`, {}],
    [`/admin/users/${shopUid}/sessions/${shopSession}/end`, {}],
    [`/admin/users/${mal}/sessions/${shopSession}/end`, {}],
    [`/admin/users/${shopUid}/devices/${shopDevice}/forget`, {}],
    [`/admin/users/${mal}/devices/${shopDevice}/forget`, {}],
    [`/admin/users/invitations/${shopInv}/withdraw`, {}],
  ]) {
    const res = await post(admin.jar, p, { csrf, ...f });
    assert.equal(res.status, 404, `POST ${p}`);
  }
  // Untouched.
  assert.equal((await s.verify(jar, s.shop)).status, 200, 'the shop session lives');
  assert.equal((await s.admin('GET', 'shop', `users/${shopUid}/devices`)).json.length, 1);
  assert.equal((await s.admin('GET', 'shop', `users/${shopUid}`)).json.disabled, false);
  assert.ok((await s.admin('GET', 'shop', 'invitations')).json.some((i) => i.id === shopInv));
  // Of this tenant, but another user's session under mallory's path.
  const bobSession = (await s.admin('GET', 'law', `users/${users.bob.uid}/sessions`)).json[0].id;
  assert.equal((await post(admin.jar, `/admin/users/${mal}/sessions/${bobSession}/end`, { csrf })).status, 404);
  assert.equal((await s.verify(users.bob.jar, s.law)).status, 200, "bob's session lives");
});

test('forms without the CSRF token, with a wrong one, or from another site are refused', async () => {
  const csrf = await adminCsrf();
  const p = `/admin/users/${users.bob.uid}/role`;
  const cases = [
    [{ role: 'editor' }, {}],
    [{ role: 'editor', csrf: 'A'.repeat(43) }, {}],
    [{ role: 'editor', csrf: `${csrf}x` }, {}],
    [{ role: 'editor', csrf }, { 'sec-fetch-site': 'cross-site' }],
    [{ role: 'editor', csrf }, { origin: 'https://evil.example' }],
  ];
  for (const [fields, headers] of cases) {
    const res = await post(admin.jar, p, fields, headers);
    assert.equal(res.status, 403, JSON.stringify([fields, headers]));
  }
  const inv = await post(admin.jar, '/admin/users/invite', { email: 'csrf@example.com', role: 'viewer', days: '7' });
  assert.equal(inv.status, 403);
  assert.equal((await s.admin('GET', 'law', `users/${users.bob.uid}`)).json.role, 'viewer', 'nothing changed');
  assert.ok(!(await s.admin('GET', 'law', 'invitations')).json.some((i) => i.email === 'csrf@example.com'));
  // The same form with the token, same-origin, goes through (the check is the token).
  const ok = await post(admin.jar, p, { role: 'viewer', csrf }, { 'sec-fetch-site': 'same-origin' });
  assert.equal(ok.status, 303);
});

test('an invitation with a malformed, huge or marked-up address is refused by field', async () => {
  const csrf = await adminCsrf();
  const before = (await s.admin('GET', 'law', 'invitations')).json.length;
  for (const email of ['not-an-address', '', `${'a'.repeat(5000)}@example.com`, '"><script>window.__pwned=9</script>@x']) {
    const res = await post(admin.jar, '/admin/users/invite', { csrf, email, role: 'viewer', days: '7' });
    assert.equal(res.status, 400, email.slice(0, 40));
    assert.match(res.body, /id="invite-email-problem"/);
    assert.ok(!res.body.includes('<script>window.__pwned'), 'escaped');
    assert.ok(!res.body.includes('a'.repeat(300)), 'a huge value is not shown again');
  }
  const bad = await post(admin.jar, '/admin/users/invite', { csrf, email: 'ok@example.com', role: 'owner', days: '5' });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /id="invite-role-problem"/);
  assert.match(bad.body, /id="invite-days-problem"/);
  // An address a member has: 409, named.
  const member = await post(admin.jar, '/admin/users/invite', { csrf, email: 'alice@example.com', role: 'viewer', days: '7' });
  assert.equal(member.status, 409);
  assert.match(member.body, /id="invite-email-problem"/);
  assert.equal((await s.admin('GET', 'law', 'invitations')).json.length, before, 'nothing stored');
});

test('an administrator cannot demote or disable themselves', async () => {
  const csrf = await adminCsrf();
  const me = users.alice.uid;
  for (const [p, f] of [[`/admin/users/${me}/role`, { role: 'viewer' }], [`/admin/users/${me}/disable`, {}]]) {
    const res = await post(admin.jar, p, { csrf, ...f });
    assert.equal(res.status, 409, p);
    assert.match(res.body, /id="error"/);
  }
  assert.equal((await s.admin('GET', 'law', `users/${me}`)).json.disabled, false);
});

test('the list goes on a page at a time', async () => {
  // 60 more users of law, put straight into the store as sign-ins would
  // (user record and directory member: session/schema_int.h).
  const lua = `for i = 1, 60 do
    local uid = string.format('u_zzpage%014d', i)
    local email = string.format('zz-page-%02d@example.com', i)
    redis.call('HSET', 'sk:{u:' .. uid .. '}', 'tenant', 'law', 'email', email, 'email_verified', '1',
      'name', 'Page ' .. i, 'role', 'viewer')
    redis.call('ZADD', KEYS[1], 0, email .. '\\0page ' .. i .. '\\0' .. uid)
  end
  return 60`;
  assert.equal((await s.redis.cli('EVAL', lua, '1', 'sk:{t:law}:dir')).trim(), '60');
  const first = await get(admin.jar, '/admin/users?q=zz-page');
  assert.equal(first.status, 200);
  assert.equal([...first.body.matchAll(/<tr id="user-u_zzpage/g)].length, 50);
  const more = /<a id="more" href="([^"]+)"/.exec(first.body)?.[1].replace(/&amp;/g, '&');
  assert.ok(more, 'a link to the next page');
  assert.match(more, /q=zz-page/);
  const second = await follow(admin.jar, new URL(more, s.law).href);
  assert.equal(second.status, 200);
  assert.equal([...second.body.matchAll(/<tr id="user-u_zzpage/g)].length, 10);
  assert.ok(!/id="more"/.test(second.body), 'the end');
  // A cursor that is none of this list's starts over.
  const junk = await get(admin.jar, '/admin/users?q=zz-page&cursor=%21%21');
  assert.equal(junk.status, 200);
  assert.equal([...junk.body.matchAll(/<tr id="user-u_zzpage/g)].length, 50);
});

test('Redis stopped: a clear error page, nothing let through', async () => {
  const csrf = await adminCsrf();
  await s.redis.kill();
  try {
    const page = await get(admin.jar, '/admin/users');
    assert.equal(page.status, 503);
    assert.match(page.headers.get('content-type'), /text\/html/);
    const res = await post(admin.jar, `/admin/users/${users.bob.uid}/disable`, { csrf });
    assert.equal(res.status, 503);
  } finally {
    await s.redis.restart();
  }
});

test('no sanitizer report (ASan/UBSan builds)', async () => {
  await s.sekisho.stop('SIGTERM', 10_000);
  assert.doesNotMatch(s.sekisho.stderr(), /Sanitizer|runtime error/);
});

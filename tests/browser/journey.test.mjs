// The whole journey of issue 14 in real Chromium, once in Japanese and once
// in English, by the administrator alice of one tenant (second factor
// required, an audit directory; between the two, an operator resets her
// second factor and ends her sessions, so each language starts afresh):
// - sign in through the local provider, enrol TOTP with the key read from
//   the page, keep the recovery codes, land on /account
// - sign in again in a second browser: the challenge, passed
// - the account page lists both sessions; the first browser ends the
//   second's, whose next request is signed out
// - the console: an invalid and a valid CIDR in the IP allowlist (the
//   invalid line named, nothing stored), then the valid one stored; an
//   invitation; a user locked out by wrong codes unlocked
// - those three changes found in the console's audit view (from the audit
//   files), each naming the administrator
// - on every page: <html lang>, no CSP violation; axe (no serious or
//   critical violation) and screenshots ja/en at 1280 and 390 px under
//   test-artefacts/journey/ (git-ignored) for the pages the feature tests
//   do not reach in this state (the invalid policy line, a locked user,
//   the audit view with the journey's changes)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { VIEWPORTS, axeClean, screenshots } from './checks.mjs';

import { REPO, signIn, startStack, tmpDir, waitFor } from '../integration/harness.mjs';
import {
  CookieJar, challenge, enrol, midStepTime, mfaExtraConfig, mfaTenantYaml, nextCode, totp, writeKeyFile,
} from '../integration/mfa-harness.mjs';

const ART = path.join(REPO, 'test-artefacts', 'journey');
const OPS = { id: 'ops', secret: 'ops-journey-secret-0123456789abcdef-01234567' };

let stack;
let browser;
let dir;
const locked = {}; // login -> { secret, step, uid }

const WORDS = {
  ja: {
    victim: 'bob', cidr: '198.51.100.0/24', account: /アカウント/, ended: /セッションを終了しました/,
    console: /管理コンソール/, line: '2 行目：10.0.0.0/33 はアドレス範囲ではありません。', saved: /ポリシーを保存しました/,
    invited: /招待を作成しました/, unlocked: /ロックを解除しました/, locked: /ロックされています/,
  },
  en: {
    victim: 'eve', cidr: '203.0.113.0/24', account: /My account/, ended: /Session ended/,
    console: /Console/, line: 'Line 2: 10.0.0.0/33 is not an address range.', saved: /The policy was saved/,
    invited: /invitation was created/, unlocked: /was unlocked/, locked: /Locked out/,
  },
};

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  dir = tmpDir('sekisho-journey-');
  const opsSecret = path.join(dir, 'ops.secret');
  fs.writeFileSync(opsSecret, `${OPS.secret}\n`, { mode: 0o600 });
  stack = await startStack({
    tenantsYaml: mfaTenantYaml({
      mfa: 'required', displayName: '山田法律事務所', adminEmails: ['alice@example.com'],
    }),
    extraConfig: `${mfaExtraConfig(writeKeyFile(dir), {
      moreClients: `  - client_id: ${OPS.id}
    client_secret_file: ${opsSecret}
    tenants: [default]
    admin: true
`,
    })}audit:
  dir: ${path.join(dir, 'audit')}
`,
  });
  // Three wrong codes lock a user out (the tenant's policy, as an
  // operator sets it through the admin API).
  const r = await api('PATCH', 'policy', { lockout: { max_failures: 3 } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  // The users the administrators will unlock: enrolled, signed in once.
  for (const login of ['bob', 'eve']) {
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base, { login, password: `${login}-password` });
    assert.match(res.location ?? '', /\/mfa\/enroll/);
    const e = await enrol(stack, jar);
    assert.equal(e.res.status, 200, `${login} enrolled`);
    const users = await api('GET', `users?q=${login}`);
    const u = users.json.users.find((x) => x.id);
    locked[login] = { secret: e.secret, step: e.step, uid: u.id, email: u.email };
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The admin API as the operator's admin client. */
async function api(method, p, body) {
  const headers = { authorization: `Basic ${Buffer.from(`${OPS.id}:${OPS.secret}`).toString('base64')}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${stack.sekishoBase}/admin/v1/tenants/default/${p}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json, text };
}

/** Wrong codes at /mfa for a new sign-in of login: locks them on that browser. */
async function lockOut(login) {
  const u = locked[login];
  const jar = new CookieJar();
  await signIn(jar, stack.base, { login, password: `${login}-password` });
  const t = await midStepTime(stack.redis);
  const valid = new Set(await Promise.all([-30, 0, 30].map((d) => totp(u.secret, t + d))));
  let last;
  for (let i = 0; i < 4; i++) {
    let code;
    do code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0'); while (valid.has(code));
    last = (await challenge(stack, jar, code)).res.status;
  }
  assert.equal(last, 429, `${login} locked out`);
}

/** An operator resets login's second factor and ends every session. */
async function afresh(login) {
  const u = (await api('GET', `users?q=${login}`)).json.users[0];
  assert.equal((await api('POST', `users/${u.id}/mfa/reset`)).status, 200);
  for (const s of (await api('GET', `users/${u.id}/sessions`)).json) {
    assert.equal((await api('DELETE', `sessions/${s.id}`)).status, 200);
  }
}

/** A browser context in locale whose pages report CSP violations in csp. */
async function browserFor(locale, csp) {
  const context = await browser.newContext({ locale, viewport: VIEWPORTS.desktop });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) csp.push(m.text()); });
  return { context, page };
}

// Pages whose axe run and screenshots are this test's own: the others
// are checked (axe, screenshots) by the tests of their feature (pages,
// account, console, console-users), so the journey only passes through.
const CHECKED_HERE = new Set(['policy-invalid', 'user-locked', 'audit']);

/** <html lang>; for CHECKED_HERE pages also axe and screenshots. */
async function check(page, lang, name) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${lang}/${name}: <html lang>`);
  if (!CHECKED_HERE.has(name)) return;
  await axeClean(page, `${lang}/${name}`);
  await screenshots(page, ART, name, lang);
}

/** At the IdP's form: signs login in. */
async function atIdp(page, login) {
  await page.waitForURL(`${stack.idp.base}/**`);
  await page.fill('#login', login);
  await page.fill('#password', `${login}-password`);
  await page.click('#submit');
}

/** Clicks selector and waits for the confirmation of change key; its text. */
async function act(page, selector, key) {
  await Promise.all([page.waitForURL(new RegExp(`[?&]done=${key}$`)), page.click(selector)]);
  return page.textContent('#flash, #done');
}

for (const [lang, locale] of [['ja', 'ja-JP'], ['en', 'en-US']]) {
  test(`the whole journey in ${lang}: sign-in, second factor, account, console, audit`, async () => {
    const w = WORDS[lang];
    const csp = [];
    const one = await browserFor(locale, csp);
    const two = await browserFor(locale, csp);
    const a = one.page;
    const b = two.page;
    try {
      if (lang === 'en') await afresh('alice');
      // Sign in, enrol with the key read from the page, keep the codes.
      await a.goto(`${stack.base}/account`);
      await atIdp(a, 'alice');
      await a.waitForURL(`${stack.base}/mfa/enroll**`);
      await check(a, lang, 'enrol');
      const secret = (await a.textContent('#secret')).replace(/\s+/g, '');
      assert.match(secret, /^[A-Z2-7]{32}$/);
      let { code, step } = await nextCode(stack.redis, secret, 0);
      await a.fill('#code', code);
      await a.click('#submit');
      await a.waitForSelector('#recovery-codes');
      await check(a, lang, 'recovery-codes');
      await a.click('#continue');
      await a.waitForURL(`${stack.base}/account`);

      // The second browser: the challenge.
      await b.goto(`${stack.base}/account`);
      await atIdp(b, 'alice');
      await b.waitForURL(`${stack.base}/mfa**`);
      await check(b, lang, 'challenge');
      ({ code, step } = await nextCode(stack.redis, secret, step));
      await b.fill('#code', code);
      await b.click('#submit');
      await b.waitForURL(`${stack.base}/account`);

      // The account page: both sessions; the first ends the second's.
      await a.reload();
      assert.match(await a.textContent('h1'), w.account);
      const sessions = await a.$$eval('#sessions > li', (lis) => lis.map((li) => ({
        id: li.dataset.id, current: li.querySelector('.tag.current') !== null,
      })));
      assert.equal(sessions.length, 2, 'both sessions listed');
      await check(a, lang, 'account');
      const other = sessions.find((s) => !s.current);
      assert.ok(other, "the other browser's session");
      assert.match(await act(a, `#sessions > li[data-id="${other.id}"] button`, 'session'), w.ended);
      const v = await two.context.request.get(`${stack.base}/auth/verify`, { maxRedirects: 0 });
      assert.equal(v.status(), 401, 'the second browser is signed out');

      // The console: the policy, an invalid line named, nothing stored.
      await a.goto(`${stack.base}/admin`);
      assert.match(await a.textContent('h1'), w.console);
      await check(a, lang, 'console');
      await a.click('.console-nav a[href="/admin/policy"]');
      await a.waitForURL(`${stack.base}/admin/policy`);
      const before = (await api('GET', 'policy')).json;
      const bad = `127.0.0.0/8\n10.0.0.0/33`;
      await a.fill('#ip_allowlist', bad);
      await a.click('#save');
      await a.waitForSelector('#problems');
      assert.equal((await a.textContent('.field-problem')).trim(), w.line);
      assert.equal(await a.inputValue('#ip_allowlist'), bad, 'the input kept');
      assert.deepEqual((await api('GET', 'policy')).json, before, 'nothing stored');
      await check(a, lang, 'policy-invalid');
      await a.fill('#ip_allowlist', `127.0.0.0/8\n${w.cidr}`);
      assert.match(await act(a, '#save', 'saved'), w.saved);
      assert.ok(JSON.stringify((await api('GET', 'policy')).json).includes(w.cidr), 'the range stored');

      // An invitation.
      const invitee = `invitee-${lang}@example.com`;
      await a.goto(`${stack.base}/admin/users`);
      await a.fill('#invite-email', invitee);
      await a.selectOption('#invite-role', 'editor');
      assert.match(await act(a, '#invite', 'invited'), w.invited);
      assert.match(await a.textContent('#invitations'), new RegExp(invitee.replace(/\./g, '\\.')));
      await check(a, lang, 'users');

      // A user locked out by wrong codes, unlocked.
      const victim = locked[w.victim];
      await lockOut(w.victim);
      await a.goto(`${stack.base}/admin/users/${victim.uid}`);
      assert.match(await a.textContent('#locked-until'), w.locked);
      await check(a, lang, 'user-locked');
      assert.match(await act(a, '#unlock', 'unlocked'), w.unlocked);
      assert.equal(await a.locator('#locked-until').count(), 0, 'no longer locked');

      // The three changes in the audit view (the audit files), by the admin.
      const adminEmail = 'alice@example.com';
      const want = [
        ['policy_changed', w.cidr],
        ['user_invited', invitee],
        ['unlock', victim.uid],
      ];
      let rows = [];
      await waitFor(async () => {
        await a.goto(`${stack.base}/admin/audit`);
        rows = await a.locator('#audit-entries tbody tr').allTextContents();
        return want.every(([type, what]) => rows.some((r) => r.includes(type) && r.includes(what) && r.includes(adminEmail)));
      }, { timeoutMs: 20_000, intervalMs: 500, what: 'the changes in the audit view' }).catch((e) => {
        e.message += `\n${rows.slice(0, 12).join('\n')}`;
        throw e;
      });
      await check(a, lang, 'audit');
      // And by filter: the type alone finds the policy change.
      await a.goto(`${stack.base}/admin/audit?type=policy_changed`);
      const filtered = await a.locator('#audit-entries tbody tr').allTextContents();
      assert.ok(filtered.length >= 1 && filtered.every((r) => r.includes('policy_changed')));
      assert.ok(filtered.some((r) => r.includes(w.cidr)));
      assert.deepEqual(csp, [], 'no CSP violation');
    } finally {
      await one.context.close();
      await two.context.close();
    }
  });
}

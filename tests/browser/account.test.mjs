// "My account" (/account, docs/account.md) in real Chromium, in Japanese
// and in English, on a tenant where the second factor is optional:
// - alice signs in through the local provider in two browsers (two
//   contexts, one ja, one en); each sees both sessions on /account, its
//   own marked, and both devices; the home page links the account page
// - an app gets a refresh token through the oauth2 code flow; the page
//   lists it; "sign this app out" ends it: /oauth2/token with that
//   refresh token fails
// - the first browser ends the second's session: the second's next
//   request is signed out; then forgets the second's device
// - two-step verification turned on from the page (optional here), then
//   moved to a new authenticator with step-up: a second factor older
//   than mfa_max_age sends the user through /mfa (the one challenge page)
//   and back to the enrolment, whose key is read from the page; new
//   recovery codes the same way; every time back on /account
// - @axe-core/playwright: no serious or critical violation; no CSP
//   violation; screenshots ja/en at 1280 and 390 px under
//   test-artefacts/account/ (git-ignored)
// The hostile cases (other users' ids, other tenants, CSRF, origin,
// malformed ids, Redis stopped) are in tests/integration/account.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { VIEWPORTS, axeClean, screenshots } from './checks.mjs';

import { startStack, REPO } from '../integration/harness.mjs';
import { APP, exchange, mintCode, refresh } from '../integration/app-harness.mjs';
import {
  CookieJar, mfaExtraConfig, mfaTenantYaml, nextCode, redisTime, writeKeyFile,
} from '../integration/mfa-harness.mjs';

const ART = path.join(REPO, 'test-artefacts', 'account');

let stack;
let browser;

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  const keyDir = fs.mkdtempSync('/tmp/sekisho-account-');
  stack = await startStack({
    tenantsYaml: mfaTenantYaml({ mfa: 'optional', displayName: 'Test Office 関所', maxAge: '5m' }),
    extraConfig: mfaExtraConfig(writeKeyFile(keyDir), {
      moreClients: `  - client_id: ${APP.id}
    public: true
    first_party: true
    display_name: "Example App"
    tenants: [default]
    redirect_uris: ["${APP.redirect}"]
`,
    }),
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** <html lang>, axe, then screenshots at both sizes. */
async function check(page, lang, name) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${name}: <html lang>`);
  await axeClean(page, `${lang}/${name}`);
  await screenshots(page, ART, name, lang);
}

/** A browser (context) signed in as alice, on the home page. */
async function signedIn(locale) {
  const context = await browser.newContext({ locale, viewport: VIEWPORTS.desktop });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) page.problems.push(m.text());
  });
  await page.goto(`${stack.base}/login?rd=${encodeURIComponent('/')}`);
  await page.fill('#login', 'alice');
  await page.fill('#password', 'alice-password');
  await page.click('#submit');
  await page.waitForURL(`${stack.base}/`);
  return { context, page };
}

/** The rows of a list on the account page: [{ id, current, text }]. */
function rows(page, list) {
  return page.$$eval(`#${list} > li`, (lis) => lis.map((li) => ({
    id: li.dataset.id, current: li.querySelector('.tag.current') !== null, text: li.textContent,
  })));
}

/** The browser's cookies as a jar for the HTTP helpers (the app's code flow). */
async function jarOf(context) {
  const jar = new CookieJar();
  for (const c of await context.cookies()) jar.setCookie(stack.base, `${c.name}=${c.value}; Path=${c.path}`);
  return jar;
}

/** On the enrolment page: the key read from the page, a code made
 * with it, the recovery codes, and on to the account page. */
async function enrolHere(page) {
  const secret = (await page.textContent('#secret')).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  const { code, step } = await nextCode(stack.redis, secret, 0);
  await page.fill('#code', code);
  await page.click('#submit');
  await page.waitForSelector('#recovery-codes');
  await page.click('#continue');
  await page.waitForURL(`${stack.base}/account`);
  return { secret, step };
}

/** On the challenge (/mfa): the next code of secret; the step used. */
async function stepUp(page, secret, last) {
  assert.match(await page.textContent('h1'), /本人確認|確認/);
  const { code, step } = await nextCode(stack.redis, secret, last);
  await page.fill('#code', code);
  await page.click('#submit');
  return step;
}

/** The session's second factor made older than mfa_max_age, in Redis. */
async function ageFactor(sessionId) {
  const [uid, handle] = sessionId.split('.');
  const key = `sk:{u:${uid}}:s:${handle.slice(2)}`;
  const t = await redisTime(stack.redis);
  assert.equal((await stack.redis.cli('HSET', key, 'mfa_at', String(t - 3600))).trim(), '0');
}

test('two browsers, an app, ending, forgetting, the second factor with step-up', async () => {
  const A = await signedIn('ja-JP');
  const B = await signedIn('en-US');
  const a = A.page;
  const b = B.page;
  try {
    // Both sessions on each page, each its own marked; ja and en.
    await a.click('#account');
    await a.waitForURL(`${stack.base}/account`);
    assert.match(await a.textContent('h1'), /アカウント/);
    assert.match(await a.textContent('#h-sessions'), /ブラウザーのセッション/);
    await b.goto(`${stack.base}/account`);
    assert.match(await b.textContent('h1'), /My account/);
    assert.equal(await b.textContent('#email'), 'alice@example.com');
    assert.equal(await b.textContent('#mfa-state'), 'Off');
    const sa = await rows(a, 'sessions');
    const sb = await rows(b, 'sessions');
    assert.equal(sa.length, 2);
    assert.equal(sb.length, 2);
    const mineA = sa.find((r) => r.current).id;
    const mineB = sb.find((r) => r.current).id;
    assert.notEqual(mineA, mineB);
    assert.ok(sa.some((r) => r.id === mineB) && sb.some((r) => r.id === mineA));
    assert.match(sa.find((r) => r.current).text, /このセッション/);
    assert.match(sb.find((r) => r.current).text, /This session/);
    assert.match(sa[0].text, /JST/, 'times in Japan time');
    assert.match(sb[0].text, /UTC/, 'times in UTC, saying so');
    const da = await rows(a, 'devices');
    const db = await rows(b, 'devices');
    assert.equal(da.length, 2);
    const devA = da.find((r) => r.current).id;
    const devB = db.find((r) => r.current).id;
    assert.notEqual(devA, devB);
    assert.match(da.find((r) => r.current).text, /このデバイス/);
    assert.match(da.find((r) => r.current).text, /Chrome \d+ on Linux/);

    // An app with a refresh token, from B's session.
    const tok = await exchange(stack.base, await mintCode(stack.base, await jarOf(B.context)));
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    await a.reload();
    const apps = await rows(a, 'apps');
    assert.equal(apps.length, 1);
    assert.match(apps[0].text, /Example App/);
    assert.match(apps[0].text, /com\.example\.app/);
    await check(a, 'ja', 'account');
    await check(b, 'en', 'account');

    // Sign the app out: its refresh token no longer works.
    await a.click(`#apps > li[data-id="${apps[0].id}"] button`);
    await a.waitForURL(`${stack.base}/account?done=app`);
    assert.match(await a.textContent('#done'), /アプリをサインアウトしました/);
    assert.equal((await rows(a, 'apps')).length, 0);
    const r = await refresh(stack.base, tok.body.refresh_token);
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');

    // A ends B's session: B's next request is signed out.
    await a.click(`#sessions > li[data-id="${mineB}"] button`);
    await a.waitForURL(`${stack.base}/account?done=session`);
    assert.match(await a.textContent('#done'), /セッションを終了しました/);
    await check(a, 'ja', 'account-done');
    assert.equal((await rows(a, 'sessions')).length, 1);
    // (A navigation would sign B in again at once: the IdP remembers
    // alice. Its next request by itself is what is signed out.)
    const v = await B.context.request.get(`${stack.base}/auth/verify`, { maxRedirects: 0 });
    assert.equal(v.status(), 401, 'B is signed out');
    const acc = await B.context.request.get(`${stack.base}/account`, { maxRedirects: 0 });
    assert.equal(acc.status(), 302);
    assert.match(acc.headers().location, /\/login\?rd=%2Faccount$/);

    // A forgets B's device.
    await a.click(`#devices > li[data-id="${devB}"] button`);
    await a.waitForURL(`${stack.base}/account?done=device`);
    assert.deepEqual((await rows(a, 'devices')).map((d) => d.id), [devA]);

    // Second factor off (optional here): turn it on from the page.
    assert.equal(await a.textContent('#mfa-state'), 'オフ');
    await a.click('#enrol');
    await a.waitForURL(`${stack.base}/mfa/enroll**`);
    let { secret, step } = await enrolHere(a);
    assert.equal(await a.textContent('#mfa-state'), 'オン');
    assert.equal(await a.textContent('#remaining'), '10');
    assert.equal(await a.locator('#step-up').count(), 0, 'the factor was just used');

    // Older than mfa_max_age: moving to a new authenticator asks for a
    // code first (step-up through /mfa), then comes back.
    await ageFactor(mineA);
    await a.reload();
    assert.ok(await a.isVisible('#step-up'));
    await check(a, 'ja', 'account-mfa');
    await a.click('#reenrol');
    await a.waitForURL(`${stack.base}/mfa?**`);
    step = await stepUp(a, secret, step);
    await a.waitForURL(`${stack.base}/mfa/enroll**`);
    const old = secret;
    ({ secret, step } = await enrolHere(a));
    assert.notEqual(secret, old);
    assert.equal(await a.textContent('#mfa-state'), 'オン');

    // New recovery codes: the same step-up, back to the form, then here.
    await ageFactor(mineA);
    await a.reload();
    await a.click('#new-codes');
    await a.waitForURL(`${stack.base}/mfa?**`);
    await stepUp(a, secret, step);
    await a.waitForURL(`${stack.base}/mfa/recovery**`);
    await a.click('#regenerate');
    await a.waitForSelector('#recovery-codes');
    await a.click('#continue');
    await a.waitForURL(`${stack.base}/account`);
    assert.equal(await a.textContent('#remaining'), '10');

    // The same page in English, phone and desktop.
    await a.click('#lang-en');
    await a.waitForURL(`${stack.base}/account`);
    assert.equal(await a.textContent('#mfa-state'), 'On');
    await check(a, 'en', 'account-mfa');
    assert.deepEqual(a.problems, [], 'no CSP violation');
  } finally {
    await A.context.close();
    await B.context.close();
  }
});

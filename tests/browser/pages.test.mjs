// The pages (docs/pages.md) in real Chromium, in Japanese and in English,
// on a tenant with branding (logo, accent colour) and a display name full
// of markup, signed in as an IdP user whose name and e-mail carry markup:
// - provider choice with each brand's button, sign-in, enrolment (the key
//   read from the page), recovery codes (copy button from the script),
//   the signed-in page, the sign-out page and "signed out", the challenge
//   (a wrong code, then a recovery code), the recovery status page, an
//   error page with its request id and a way back
// - the language: the browser's Accept-Language picks it, the visible
//   switch (a plain link) changes it and the choice sticks; <html lang>
// - @axe-core/playwright: no serious or critical violation on any page
// - no page's HTML holds the hostile values unescaped; no script of them
//   ran; no CSP violation
// - screenshots of every page at desktop and phone size in both
//   languages under test-artefacts/pages/ (git-ignored)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { VIEWPORTS, axeClean, screenshots } from './checks.mjs';

import { startStack, REPO } from '../integration/harness.mjs';
import { mfaExtraConfig, midStepTime, totp, waitForStepAfter, writeKeyFile } from '../integration/mfa-harness.mjs';

const ART = path.join(REPO, 'test-artefacts', 'pages');
const HOSTILE_TENANT = `Evil <script>window.__pwned=3</script> & "Co" <img src=x onerror="window.__pwned=4">`;
// What must never appear in a page's HTML: the raw markup of any value.
const RAW = ['<script>window.__pwned', '<img src=x', '<i>x</i>'];

let stack;
let browser;

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  const keyDir = fs.mkdtempSync('/tmp/sekisho-pages-');
  const masterKeyFile = writeKeyFile(keyDir);
  // Extra providers of every brand (shown on the choice page; the journey
  // signs in through "google", the local IdP).
  const brands = ['gws:google', 'entra:microsoft', 'line:line', 'gh:github'].map((x) => {
    const [id, type] = x.split(':');
    return `  - id: ${id}
    type: ${type}
    client_id: "brand-${id}"
    client_secret_file: ${masterKeyFile}
${type === 'microsoft' ? '    tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47"\n' : ''}`;
  }).join('');
  stack = await startStack({
    tenantsYaml: `  - id: default
    display_name: ${JSON.stringify(HOSTILE_TENANT)}
    providers: [google, gws, entra, line, gh]
    allowed_tid: ["72f988bf-86f1-41af-91ab-2d7cd011db47"]
    mfa: required
    accent_color: "#6b2c91"
    logo_url: "https://127.0.0.1:9/logo.svg"
`,
    extraConfig: brands + mfaExtraConfig(masterKeyFile),
  });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Screenshots at both sizes, axe, and the escaping checks of one page. */
async function check(page, lang, name, htmls) {
  const html = await page.content();
  htmls.push([name, html]);
  for (const raw of RAW) assert.ok(!html.includes(raw), `${lang}/${name}: unescaped ${raw}`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, `${lang}/${name}: a hostile script ran`);
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${lang}/${name}: <html lang>`);
  await axeClean(page, `${lang}/${name}`);
  await screenshots(page, ART, name, lang);
}

async function signInAtIdp(page, login) {
  if (page.url().startsWith(stack.idp.base)) {
    await page.fill('#login', login);
    await page.fill('#password', `${login}-password`);
    await page.click('#submit');
  }
}

for (const [lang, locale, user, words] of [
  ['ja', 'ja-JP', 'mallory', { signin: /サインイン/, enrol: /二段階認証の設定/, codes: /リカバリーコード/, signedIn: /サインインしました/, signedOut: /サインアウトしました/, failed: /サインインできませんでした/, wrong: /確認コードが正しくない/ }],
  ['en', 'en-US', 'eve', { signin: /Sign in to/, enrol: /Set up two-step verification/, codes: /recovery codes/, signedIn: /Signed in/, signedOut: /Signed out/, failed: /Sign-in failed/, wrong: /That code is not right/ }],
]) {
  test(`the whole journey in ${lang}`, async () => {
    const context = await browser.newContext({ locale, viewport: VIEWPORTS.desktop });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) problems.push(m.text()); });
    const htmls = [];
    try {
      // Provider choice: every brand's button, the tenant's name escaped.
      await page.goto(`${stack.base}/login?rd=${encodeURIComponent('/')}`);
      assert.match(await page.textContent('h1'), words.signin);
      assert.equal(await page.textContent('#tenant-name'), HOSTILE_TENANT);
      for (const id of ['google', 'gws', 'entra', 'line', 'gh']) assert.ok(await page.isVisible(`#provider-${id}`), id);
      assert.equal(await page.locator('.provider-line').count(), 1);
      assert.equal(await page.locator('.provider-github svg').count(), 1);
      assert.match(await page.getAttribute('link[rel=stylesheet]', 'href'), /\/static\/sekisho\.css\?v=[0-9a-f]{16}$/);
      assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()), '#6b2c91');
      await check(page, lang, 'login', htmls);

      // Sign in at the IdP as a user with markup in name and e-mail.
      await page.click('#provider-google');
      await signInAtIdp(page, user);
      await page.waitForURL(`${stack.base}/mfa/enroll**`);
      assert.match(await page.textContent('h1'), words.enrol);
      await check(page, lang, 'mfa-enrol', htmls);
      const secret = (await page.textContent('#secret')).replace(/\s+/g, '');
      assert.match(secret, /^[A-Z2-7]{32}$/);

      // A wrong code first: the error, in the page's language.
      await page.fill('#code', '000000');
      await page.click('#submit');
      await page.waitForSelector('#error');
      const t = await midStepTime(stack.redis);
      await page.fill('#code', await totp(secret, t - 30));
      await page.click('#submit');
      await page.waitForSelector('#recovery-codes');
      const codes = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
      assert.equal(codes.length, 10);
      assert.match(await page.textContent('main'), words.codes);
      assert.ok(await page.isVisible('#copy-codes'), 'the script showed the copy button');
      await check(page, lang, 'mfa-recovery-codes', htmls);
      await page.click('#continue');
      await page.waitForURL(`${stack.base}/`);
      assert.match(await page.textContent('h1'), words.signedIn);
      assert.match(await page.textContent('#who'), /<script>window.__pwned=1<\/script>/, 'the name shown as text');
      await check(page, lang, 'home', htmls);

      await page.goto(`${stack.base}/mfa/recovery`);
      assert.match(await page.textContent('#status'), /10/);
      await check(page, lang, 'mfa-status', htmls);

      // The sign-out page, then signed out.
      await page.goto(`${stack.base}/logout`);
      await check(page, lang, 'logout', htmls);
      await page.click('#logout');
      await page.waitForSelector('#signin');
      assert.match(await page.textContent('h1'), words.signedOut);
      await check(page, lang, 'signed-out', htmls);

      // Again: the challenge; a wrong code; then a recovery code.
      await page.goto(`${stack.base}/login`);
      await page.click('#provider-google');
      await signInAtIdp(page, user);
      await page.waitForURL(`${stack.base}/mfa**`);
      assert.equal(await page.getAttribute('#code', 'inputmode'), 'numeric');
      assert.equal(await page.getAttribute('#code', 'autocomplete'), 'one-time-code');
      await check(page, lang, 'mfa-challenge', htmls);
      await page.fill('#code', '000000');
      await page.click('#submit');
      await page.waitForSelector('#error');
      assert.match(await page.textContent('#error'), words.wrong);
      await check(page, lang, 'mfa-challenge-error', htmls);
      await page.click('#use-recovery summary');
      await page.fill('#recovery', codes[0]);
      await page.click('#recovery-submit');
      await page.waitForSelector('#reenrol');
      await check(page, lang, 'mfa-recovery-used', htmls);

      // An error page: what happened, a way back, the request id.
      const res = await page.goto(`${stack.base}/callback/google?state=nope`);
      assert.equal(res.status(), 400);
      assert.match(await page.textContent('h1'), words.failed);
      assert.match(await page.textContent('.reqid'), /[0-9a-f]{8,}/);
      assert.ok(await page.isVisible('#back'));
      await check(page, lang, 'error', htmls);

      // Nothing hostile anywhere; no CSP violation (no inline code at all).
      for (const [name, html] of htmls) {
        assert.ok(!/<script>(?!<\/script>)/.test(html.replace(/<script src="[^"]*" defer=""><\/script>/g, '')),
          `${name}: inline script`);
      }
      assert.deepEqual(problems, [], 'no CSP violation');
    } finally {
      await context.close();
    }
  });
}

test('the language switch is a plain link and the choice sticks', async () => {
  const context = await browser.newContext({ locale: 'en-US', javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    await page.goto(`${stack.base}/login?rd=${encodeURIComponent('/')}`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.click('#lang-ja');
    await page.waitForURL(`${stack.base}/login?rd=%2F`);
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
    assert.match(await page.textContent('h1'), /サインイン/);
    const cookie = (await context.cookies(stack.base)).find((c) => c.name === 'lang');
    assert.equal(cookie?.value, 'ja');
    // It sticks over Accept-Language, and switches back.
    await page.goto(`${stack.base}/login`);
    assert.equal(await page.getAttribute('html', 'lang'), 'ja');
    await page.click('#lang-en');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    // The switch sends nobody elsewhere.
    const r = await fetch(`${stack.base}/lang?set=ja&rd=${encodeURIComponent('//evil.example/')}`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/login');
  } finally {
    await context.close();
  }
});

test('static files: long cache, content hash, CSP on pages', async () => {
  const page = await fetch(`${stack.base}/login?rd=%2F`, { headers: { 'accept-language': 'en' } });
  const csp = page.headers.get('content-security-policy');
  assert.equal(csp, "default-src 'none'; style-src 'self'; img-src 'self' data: https:; script-src 'self'; "
    + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  const html = await page.text();
  const href = html.match(/href="(\/static\/sekisho\.css\?v=[0-9a-f]{16})"/)[1];
  const css = await fetch(`${stack.base}${href}`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /^text\/css/);
  assert.match(css.headers.get('cache-control'), /max-age=31536000/);
  const brand = await fetch(`${stack.base}/static/sekisho-brand.css?c=6b2c91`);
  assert.match(await brand.text(), /--accent:#6b2c91/);
  const evil = await fetch(`${stack.base}/static/sekisho-brand.css?c=${encodeURIComponent('red}body{x')}`);
  assert.equal(evil.status, 404);
  assert.equal((await fetch(`${stack.base}/static/../templates/layout.html`)).status, 404);
});

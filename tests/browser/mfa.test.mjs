// Real Chromium (Debian's, driven by playwright-core) through TOTP
// enrolment and a later challenge, as a person would, on a tenant with
// mfa: required:
// - the sign-in stops at the enrolment page: its QR code renders as inline
//   SVG under the page's CSP (no console CSP violation), the key for manual
//   entry is read from the page and a code made from it with oathtool
// - the recovery codes are shown once; "continue" lands signed in on the
//   page asked for
// - after signing out, the next sign-in asks for a code and completes
// - when zbarimg (Debian zbar-tools) is installed, the QR code on screen
//   decodes to exactly the otpauth:// URI of the page's link
// - screenshots of the enrolment, recovery-code and challenge pages are
//   kept (MFA_SCREENSHOTS=dir keeps them after the run)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { launchChromium } from './chromium.mjs';

import { startMfaStack, midStepTime, totp, waitForStepAfter } from '../integration/mfa-harness.mjs';

const SHOTS = process.env.MFA_SCREENSHOTS;
const ZBARIMG = '/usr/bin/zbarimg';
const run = promisify(execFile);
let stack;
let browser;

before(async () => {
  stack = await startMfaStack({ mfa: 'required', displayName: 'Test Office 関所' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function shot(page, name) {
  const file = path.join(SHOTS || stack.keyDir, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 5000, `${name} has content`);
  return file;
}

test('enrol in Chromium, then sign in again with a code', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  try {
    await page.goto(`${stack.base}/login?rd=${encodeURIComponent('/?from=app')}`);
    assert.ok(page.url().startsWith(stack.idp.base), 'at the IdP');
    await page.fill('#login', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('#submit');
    await page.waitForURL(`${stack.base}/mfa/enroll**`);
    assert.match(await page.textContent('h1'), /Set up two-step verification/);

    // The QR code is drawn (inline SVG with a real size), the key readable.
    const box = await page.locator('#qr').boundingBox();
    assert.ok(box && box.width > 150 && box.height > 150, `QR box ${JSON.stringify(box)}`);
    const secret = (await page.textContent('#secret')).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const href = await page.getAttribute('#otpauth', 'href');
    assert.ok(href.startsWith('otpauth://totp/Test%20Office%20%E9%96%A2%E6%89%80:alice%40example.com?secret='),
      href);
    await shot(page, 'mfa-enrol.png');
    if (fs.existsSync(ZBARIMG)) {
      const qr = path.join(SHOTS || stack.keyDir, 'mfa-qr.png');
      await page.locator('#qr').screenshot({ path: qr });
      const { stdout } = await run(ZBARIMG, ['-q', '--raw', qr], { timeout: 10_000 });
      assert.equal(stdout.trim(), href, 'the QR code holds the otpauth URI');
    }

    const t = await midStepTime(stack.redis);
    await page.fill('#code', await totp(secret, t - 30));
    await page.click('#submit');
    await page.waitForSelector('#recovery-codes');
    const codes = await page.locator('#recovery-codes li').allTextContents();
    assert.equal(codes.length, 10);
    await shot(page, 'mfa-recovery-codes.png');
    await page.click('#continue');
    await page.waitForURL(`${stack.base}/?from=app`);
    assert.match(await page.textContent('h1'), /Signed in/);
    assert.match(await page.textContent('#who'), /alice@example\.com/);

    // Sign out, sign in again: a code is asked for.
    await page.click('#logout');
    await page.waitForLoadState();
    await page.goto(`${stack.base}/login`);
    // The IdP remembers alice; it may skip its form.
    if (page.url().startsWith(stack.idp.base)) {
      await page.fill('#login', 'alice');
      await page.fill('#password', 'alice-password');
      await page.click('#submit');
    }
    await page.waitForURL(`${stack.base}/mfa**`);
    assert.match(await page.textContent('h1'), /Two-step verification/);
    await shot(page, 'mfa-challenge.png');
    const t2 = await waitForStepAfter(stack.redis, Math.floor(t / 30) - 1);
    await page.fill('#code', await totp(secret, t2));
    await page.click('#submit');
    await page.waitForURL(`${stack.base}/`);
    assert.match(await page.textContent('h1'), /Signed in/);
    assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused/.test(p)), [],
      'no CSP violation');
  } finally {
    await context.close();
  }
});

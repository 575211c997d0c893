// The README's first command, checked as a person would use it: with
// tools/demo.sh running (started by tools/test.sh before this file), real
// Chromium opens the protected app on :9080, signs in at the local IdP as
// alice, and sees the identity headers nginx passed to the app.
// Skipped when SEKISHO_DEMO_RUNNING is not set (the demo owns fixed ports).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';

const running = process.env.SEKISHO_DEMO_RUNNING === '1';
let browser;

before(async () => {
  if (!running) return;
  browser = await launchChromium();
});
after(async () => { await browser?.close(); });

test('the demo: sign in at the local IdP and reach the protected app', { skip: !running }, async () => {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto('http://127.0.0.1:9080/hello');
  assert.match(page.url(), /^http:\/\/127\.0\.0\.1:9400\/interaction\//);
  await page.fill('#login', 'alice');
  await page.fill('#password', 'alice-password');
  await page.click('#submit');
  await page.waitForURL('http://127.0.0.1:9080/hello');
  const echoed = JSON.parse(await page.textContent('body'));
  assert.equal(echoed.headers['x-auth-request-email'], 'alice@example.com');
  await page.goto('http://127.0.0.1:8080/');
  assert.match(await page.textContent('#who'), /Alice Example/);
});

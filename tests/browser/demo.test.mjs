// The README's first command, checked as a person would use it: with
// tools/demo.sh running (started by tools/test.sh before this file), real
// Chromium opens an app on app.sekisho.localhost:9080, is sent to the login
// host, signs in at the local IdP as alice, comes back to the page it asked
// for (query and all) with the identity headers nginx passed on, then opens
// a second app on another host (admin.sekisho.localhost) without signing in
// again; signing out on the login host ends access to both.
// Skipped when SEKISHO_DEMO_RUNNING is not set (the demo owns fixed ports).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './chromium.mjs';

const running = process.env.SEKISHO_DEMO_RUNNING === '1';
const APP = 'http://app.sekisho.localhost:9080';
const ADMIN = 'http://admin.sekisho.localhost:9080';
const LOGIN = 'http://login.sekisho.localhost:9080';
let browser;

before(async () => {
  if (!running) return;
  browser = await launchChromium();
});
after(async () => { await browser?.close(); });

test('the demo: one sign-in at the local IdP, two apps on two hosts', { skip: !running }, async () => {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${APP}/hello?a=1&b=2`);
  assert.match(page.url(), /^http:\/\/127\.0\.0\.1:9400\/interaction\//);
  await page.fill('#login', 'alice');
  await page.fill('#password', 'alice-password');
  await page.click('#submit');
  await page.waitForURL(`${APP}/hello?a=1&b=2`);
  const echoed = JSON.parse(await page.textContent('body'));
  assert.equal(echoed.url, '/hello?a=1&b=2');
  assert.equal(echoed.headers['x-auth-request-email'], 'alice@example.com');
  assert.equal(echoed.headers['x-auth-request-tenant'], 'default');
  assert.doesNotMatch(echoed.headers.cookie ?? '', /sekisho/, 'the app never sees the session cookie');

  // The second app, on another host: no sign-in.
  const resp = await page.goto(`${ADMIN}/settings`);
  assert.equal(resp.status(), 200);
  assert.equal(page.url(), `${ADMIN}/settings`);
  const admin = JSON.parse(await page.textContent('body'));
  assert.equal(admin.headers.host, 'admin.sekisho.localhost');
  assert.equal(admin.headers['x-auth-request-user'], echoed.headers['x-auth-request-user']);

  // Sekisho's own page on the login host knows her; signing out there
  // ends both apps.
  await page.goto(`${LOGIN}/`);
  assert.match(await page.textContent('#who'), /Alice Example/);
  // After signing out, the next visit to either app goes back through the
  // sign-in (the local IdP still remembers alice and signs her in again at
  // once, so sign out before each).
  for (const url of [`${ADMIN}/settings`, `${APP}/hello`]) {
    await page.goto(`${LOGIN}/`);
    await Promise.all([page.waitForURL(`${LOGIN}/logout`), page.click('#logout')]);
    assert.match(await page.textContent('body'), /You have signed out/);
    const r = await page.goto(url);
    const chain = [];
    for (let q = r.request(); q; q = q.redirectedFrom()) chain.unshift(q.url());
    assert.ok(chain.some((u) => u.startsWith(`${LOGIN}/login`)), `${url}: ${chain.join(' -> ')}`);
  }
});

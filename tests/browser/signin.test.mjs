// Real Chromium (Debian's, driven by playwright-core) signing in through
// nginx auth_request, as a person would:
// - a protected page sends the browser to sign in at the test IdP and back
// - the app behind nginx receives X-Auth-Request-User/-Email/-Tenant
// - the IdP's wrong-password path shows its error and creates no session
// - the "Sign out" button on the sign-out page ends the session
// - the cookies Sekisho set are HttpOnly and SameSite=Lax
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';
import { startStack } from '../integration/harness.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack({ nginx: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function newPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

test('sign in through nginx, reach the app with identity headers, sign out', async () => {
  const { context, page } = await newPage();
  try {
    await page.goto(`${stack.base}/hello?x=1`);
    assert.match(page.url(), new RegExp(`^${stack.idp.base}/interaction/`), 'sent to the IdP form');
    await page.fill('#login', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('#submit');
    await page.waitForURL(`${stack.base}/hello**`);
    const echoed = JSON.parse(await page.textContent('body'));
    assert.match(echoed.headers['x-auth-request-user'], /^u_[A-Za-z0-9_-]+$/);
    assert.equal(echoed.headers['x-auth-request-email'], 'alice@example.com');
    assert.equal(echoed.headers['x-auth-request-tenant'], 'default');

    const cookies = await context.cookies(stack.base);
    const session = cookies.find((c) => c.name === 'sekisho');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.match(session.value, /^u_[A-Za-z0-9_-]{20}[A-Za-z0-9_-]{43}$/);

    await page.goto(`${stack.base}/logout`);
    await page.screenshot({ path: path.join(stack.dir, 'logout.png') });
    await page.click('#logout');
    await page.waitForLoadState();
    assert.match(await page.textContent('h1'), /Signed out/);
    const after = await context.cookies(stack.base);
    assert.equal(after.find((c) => c.name === 'sekisho'), undefined, 'cookie removed');
    // The old cookie is dead on the server too.
    const r = await fetch(`${stack.sekishoBase}/auth/verify`, {
      headers: { cookie: `sekisho=${session.value}` },
    });
    assert.equal(r.status, 401);
  } finally {
    await context.close();
  }
});

test('a wrong password stays at the IdP and creates no session', async () => {
  const { context, page } = await newPage();
  try {
    await page.goto(`${stack.base}/private`);
    await page.fill('#login', 'alice');
    await page.fill('#password', 'not-the-password');
    await page.click('#submit');
    await page.waitForSelector('#error');
    assert.ok(page.url().startsWith(stack.idp.base));
    const cookies = await context.cookies(stack.base);
    assert.equal(cookies.find((c) => c.name === 'sekisho'), undefined);
  } finally {
    await context.close();
  }
});

test('the sign-in page of Sekisho renders for a person', async () => {
  const { context, page } = await newPage();
  try {
    const res = await page.goto(`${stack.sekishoBase}/callback/google?state=nope`);
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('h1'), /Sign-in failed/);
    const shot = path.join(stack.dir, 'error-page.png');
    await page.screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 1000);
  } finally {
    await context.close();
  }
});

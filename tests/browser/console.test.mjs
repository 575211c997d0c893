// The administrators' console (/admin, docs/console.md) in real Chromium,
// in Japanese and English, on tenant "default" (mfa: admins; alice is an
// admin) with an audit directory, a webhook that cannot be reached (dead
// letters) and tenant "other" on another host. Covers:
// - an admin signs in (IdP, second factor) from /admin and comes back;
//   overview, policy, hooks and audit pages; the navigation
// - the policy form: an invalid and a valid CIDR -> the invalid line named
//   with its number and value, nothing stored, the input kept; then the
//   valid one stored (303 with a confirmation), a policy_changed event
//   with the admin as actor, found in the audit view (filter by type)
// - the audit export downloads the entries as the files hold them; one
//   day's export passes `sekishoctl audit verify`
// - hooks: dead letters listed, retried from the page
// - axe (WCAG 2.1 A/AA): no serious or critical violation on any console
//   page; screenshots ja/en at 1280 and 390 px in test-artefacts/console/
// - hostile: no session (to sign-in), viewer and editor (403), an admin
//   from outside the admin allowlist (403), a second factor older than
//   mfa_max_age (step-up), another tenant's Host with this admin's cookie,
//   no / wrong / another session's CSRF token, cross-origin POSTs (Origin
//   and Sec-Fetch-Site), a huge form, malformed lines (control characters,
//   unicode, a NUL, an injected </textarea>, escaped when shown back), a
//   change that would lock the admin out (409; force), /admin/v1 still the
//   JSON API, unknown pages; Redis stopped: a clear error, nothing let
//   through. Nothing is stored by any refused request.
// - without audit.dir (a second instance): the page says so, shows the
//   stream's recent events, offers no export
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { launchChromium } from './chromium.mjs';
import { VIEWPORTS, axeClean, screenshots } from './checks.mjs';

import {
  REPO, SEKISHO_BIN, freePort, masterKeyFile, rawHttp, signIn, spawnTracked, startStack, tmpDir, waitFor,
} from '../integration/harness.mjs';
import {
  CookieJar, enrol, follow, nextCode, postForm, redisTime, sessionKeyOf,
} from '../integration/mfa-harness.mjs';

const ART = path.join(REPO, 'test-artefacts', 'console');
const OPS = { id: 'ops', secret: 'ops-console-secret-0123456789abcdef-0123456789' };
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

let stack;
let browser;
let auditDir;
const alice = { jar: new CookieJar(), secret: undefined, step: 0 };

const basic = () => `Basic ${Buffer.from(`${OPS.id}:${OPS.secret}`).toString('base64')}`;

/** The stored policy through the admin API (an admin client). */
async function storedPolicy() {
  const r = await fetch(`${stack.sekishoBase}/admin/v1/tenants/default/policy`, { headers: { authorization: basic() } });
  assert.equal(r.status, 200);
  return r.json();
}

async function patchPolicy(body) {
  const r = await fetch(`${stack.sekishoBase}/admin/v1/tenants/default/policy?force=true`, {
    method: 'PATCH', headers: { authorization: basic(), 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}

/** The fields of the console's policy form in html, as a browser sends them. */
function formOf(html) {
  const dec = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  const f = {};
  for (const m of html.matchAll(/<input type="(?:hidden|text)"[^>]*?name="([^"]+)" value="([^"]*)"/g)) f[m[1]] = dec(m[2]);
  for (const m of html.matchAll(/<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)<\/textarea>/g)) f[m[1]] = dec(m[2]);
  for (const m of html.matchAll(/<select id="[^"]+" name="([^"]+)">([\s\S]*?)<\/select>/g)) f[m[1]] = /<option value="([^"]+)" selected/.exec(m[2])?.[1];
  return f;
}

async function policyForm(jar = alice.jar, headers = {}) {
  const r = await follow(jar, `${stack.base}/admin/policy`, { headers });
  assert.equal(r.status, 200, r.body.slice(0, 300));
  return formOf(r.body);
}

const post = (jar, fields, headers = {}) => postForm(jar, `${stack.base}/admin/policy`, fields, { origin: stack.base, ...headers });

/** Screenshots at both sizes and axe on one page. */
async function check(page, lang, name) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, `${lang}/${name}: <html lang>`);
  await axeClean(page, `${lang}/${name}`);
  await screenshots(page, ART, name, lang);
}

function ctl(cmd, sub, ...args) {
  return new Promise((resolve) => {
    execFile(CTL, [cmd, sub, '-c', stack.sekisho.cfgFile, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  fs.mkdirSync(ART, { recursive: true });
  const dir = tmpDir('sekisho-console-');
  auditDir = path.join(dir, 'audit');
  const opsSecret = path.join(dir, 'ops.secret');
  fs.writeFileSync(opsSecret, `${OPS.secret}\n`, { mode: 0o600 });
  const hookSecret = path.join(dir, 'hook.secret');
  fs.writeFileSync(hookSecret, 'hook-secret-0123456789abcdef\n', { mode: 0o600 });
  stack = await startStack({
    tenantsYaml: `  - id: default
    display_name: "Test Office"
    providers: [google]
    mfa: admins
    admin_emails: ["alice@example.com"]
  - id: other
    display_name: "Other Office"
    hostnames: ["other.example"]
    providers: [google]
    admin_emails: ["alice@example.com"]
`,
    extraConfig: `keys:
  master_key_file: ${masterKeyFile()}
clients:
  - client_id: ${OPS.id}
    client_secret_file: ${opsSecret}
    tenants: [default]
    admin: true
audit:
  dir: ${auditDir}
  checkpoint_every: 5
  checkpoint_interval: 1s
hooks:
  - id: ops-hook
    type: webhook
    url: "http://127.0.0.1:9/sekisho"
    secret_file: ${hookSecret}
    tenants: [default]
    retry_for: 5s
    timeout: 1s
`,
    httpYaml: 'trusted_proxies: ["127.0.0.1/32"], max_body_bytes: 1048576',
  });
  // alice: an admin with her second factor (the browser signs in again).
  await signIn(alice.jar, stack.base);
  const e = await enrol(stack, alice.jar);
  assert.equal(e.res.status, 200, 'enrolled');
  alice.secret = e.secret;
  alice.step = e.step;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (auditDir) fs.rmSync(path.dirname(auditDir), { recursive: true, force: true });
});

const WORDS = {
  ja: {
    console: '管理コンソール', saved: 'ポリシーを保存しました', line: '2 行目：10.0.0.0/33 はアドレス範囲ではありません。',
    retried: '再送信の待ち行列に入れました', cidr: '198.51.100.0/24',
  },
  en: {
    console: 'Console', saved: 'The policy was saved', line: 'Line 2: 10.0.0.0/33 is not an address range.',
    retried: 'queued for delivery again', cidr: '203.0.113.0/24',
  },
};

describe('console in Chromium', () => {
  for (const [lang, locale] of [['ja', 'ja-JP'], ['en', 'en-US']]) {
    test(`an admin's journey in ${lang}`, async () => {
      const w = WORDS[lang];
      const context = await browser.newContext({ locale, viewport: VIEWPORTS.desktop, acceptDownloads: true });
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      const csp = [];
      page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) csp.push(m.text()); });
      try {
        // Not signed in: to sign-in (one provider: the IdP), the second
        // factor, then back to the console.
        await page.goto(`${stack.base}/admin`);
        await page.waitForURL(`${stack.idp.base}/**`);
        await page.fill('#login', 'alice');
        await page.fill('#password', 'alice-password');
        await page.click('#submit');
        await page.waitForURL(`${stack.base}/mfa**`);
        const { code, step } = await nextCode(stack.redis, alice.secret, alice.step);
        alice.step = step;
        await page.fill('#code', code);
        await page.click('#submit');
        await page.waitForURL(`${stack.base}/admin`);
        assert.equal(await page.textContent('h1'), w.console);
        const nav = await page.locator('.console-nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
        for (const h of ['/admin', '/admin/policy', '/admin/hooks', '/admin/audit']) assert.ok(nav.includes(h), h);
        assert.equal(await page.getAttribute('.console-nav a[aria-current=page]', 'href'), '/admin');
        await check(page, lang, 'overview');

        // The policy: one bad line and one good: the bad one named,
        // nothing stored, the input kept.
        await page.click('.console-nav a[href="/admin/policy"]');
        await page.waitForURL(`${stack.base}/admin/policy`);
        await check(page, lang, 'policy');
        const before = await storedPolicy();
        const bad = `127.0.0.0/8\n10.0.0.0/33\n${w.cidr}`;
        await page.fill('#ip_allowlist', bad);
        await page.click('#save');
        await page.waitForSelector('#problems');
        assert.equal((await page.textContent('.field-problem')).trim(), w.line);
        assert.equal(await page.inputValue('#ip_allowlist'), bad);
        assert.deepEqual((await storedPolicy()).overrides, before.overrides, 'nothing stored');
        await check(page, lang, 'policy-problems');

        await page.fill('#ip_allowlist', `127.0.0.0/8\n${w.cidr}`);
        await page.click('#save');
        await page.waitForURL(`${stack.base}/admin/policy?done=saved`);
        assert.match(await page.textContent('#flash'), new RegExp(w.saved));
        assert.deepEqual((await storedPolicy()).overrides.ip_allowlist, ['127.0.0.0/8', w.cidr]);
        await check(page, lang, 'policy-saved');

        // The change in the audit log (the writer copies it within a
        // moment), with the admin as actor.
        await page.goto(`${stack.base}/admin/audit?type=policy_changed`);
        await waitFor(async () => {
          await page.reload();
          return (await page.locator('#audit-entries .ev-details', { hasText: w.cidr }).count()) > 0;
        }, { timeoutMs: 15_000, intervalMs: 500, what: 'the policy change in the audit view' });
        const row = page.locator('#audit-entries tr', { hasText: w.cidr }).first();
        assert.match(await row.textContent(), /alice@example\.com/);
        assert.match(await row.textContent(), /policy_changed/);
        await check(page, lang, 'audit');

        // The export downloads the selection as the files hold it.
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
        const file = path.join(ART, `export-${lang}.jsonl`);
        await download.saveAs(file);
        const entries = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        assert.ok(entries.length >= 1);
        for (const e of entries) {
          assert.equal(e.kind, 'event');
          assert.equal(e.event.type, 'policy_changed');
          assert.equal(e.event.tenant, 'default');
        }
        assert.ok(entries.some((e) => e.event.details.after.ip_allowlist?.includes(w.cidr)
          && e.event.details.actor.email === 'alice@example.com' && e.event.details.via === 'console'));

        // Hooks: the unreachable webhook's dead letters, retried.
        await page.goto(`${stack.base}/admin/hooks`);
        await waitFor(async () => {
          await page.reload();
          return (await page.locator('#hook-ops-hook .retry-all').count()) > 0;
        }, { timeoutMs: 20_000, intervalMs: 1000, what: 'a dead letter' });
        await check(page, lang, 'hooks');
        await page.click('#hook-ops-hook .retry-all button');
        await page.waitForURL(/\/admin\/hooks\?done=(retried|none)$/);
        assert.match(await page.textContent('#flash'), lang === 'ja' ? /再送信/ : /queued|nothing/);
        await check(page, lang, 'hooks-retried');
        assert.deepEqual(csp, [], 'no CSP violation');
      } finally {
        await context.close();
      }
    });
  }

  test('one day\'s export is the day\'s file: sekishoctl audit verify passes', async () => {
    const day = new Date((await redisTime(stack.redis)) * 1000).toISOString().slice(0, 10);
    const r = await follow(alice.jar, `${stack.base}/admin/audit/export?from=${day}&to=${day}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-disposition'), new RegExp(`^attachment; filename="audit-default-${day}-${day}\\.jsonl"$`));
    assert.match(r.headers.get('content-type'), /^application\/x-ndjson/);
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.kind === 'checkpoint'), 'checkpoints included');
    // Byte for byte a prefix of the file the writer keeps.
    const onDisk = fs.readFileSync(path.join(auditDir, 'default', `${day}.jsonl`), 'utf8');
    assert.ok(onDisk.startsWith(r.body), 'the export is the file (up to what was written meanwhile)');
    const copy = tmpDir('sekisho-console-export-');
    try {
      fs.mkdirSync(path.join(copy, 'default'));
      fs.writeFileSync(path.join(copy, 'default', `${day}.jsonl`), r.body);
      const jwks = path.join(copy, 'jwks.json');
      fs.writeFileSync(jwks, await (await fetch(`${stack.sekishoBase}/jwks.json`)).text());
      const v = await ctl('audit', 'verify', '--dir', copy, '--tenant', 'default', '--from', day, '--jwks', jwks);
      assert.equal(v.code, 0, `${v.stdout}\n${v.stderr}`);
      assert.match(v.stdout, /default: ok/);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
    // The page says which export is a whole day's file.
    const p = await follow(alice.jar, `${stack.base}/admin/audit?from=${day}&to=${day}`);
    assert.match(p.body, /id="verifiable"/);
  });
});

describe('console: who may come in', () => {
  test('no session: to sign-in and back', async () => {
    for (const p of ['/admin', '/admin/policy', '/admin/audit?type=x']) {
      const r = await follow(new CookieJar(), `${stack.base}${p}`);
      assert.equal(r.status, 302, p);
      assert.equal(new URL(r.location).pathname, '/login');
      assert.equal(new URL(r.location).searchParams.get('rd'), p);
    }
    // A POST without a session changes nothing and goes to sign-in.
    const r = await postForm(new CookieJar(), `${stack.base}/admin/policy`, { ip_allowlist: '' }, { origin: stack.base });
    assert.equal(r.status, 302);
  });

  test('viewer and editor sessions: 403', async () => {
    const bob = new CookieJar();
    await signIn(bob, stack.base, { login: 'bob', password: 'bob-password' });
    for (const p of ['/admin', '/admin/policy', '/admin/hooks', '/admin/audit', '/admin/audit/export']) {
      const r = await follow(bob, `${stack.base}${p}`);
      assert.equal(r.status, 403, `viewer ${p}`);
      assert.match(r.body, /Administrators only|管理者専用です/);
    }
    const before = await storedPolicy();
    const f = await policyForm();
    const r = await post(bob, { ...f, ip_allowlist: '' });
    assert.equal(r.status, 403);
    // bob as an editor (the admin API), signed in again.
    const uid = (await follow(bob, `${stack.base}/auth/verify`)).headers.get('x-auth-request-user');
    const pr = await fetch(`${stack.sekishoBase}/admin/v1/tenants/default/users/${uid}`, {
      method: 'PATCH', headers: { authorization: basic(), 'content-type': 'application/json' }, body: '{"role":"editor"}',
    });
    assert.equal(pr.status, 200, await pr.text());
    const ed = new CookieJar();
    await signIn(ed, stack.base, { login: 'bob', password: 'bob-password' });
    for (const p of ['/admin', '/admin/policy']) assert.equal((await follow(ed, `${stack.base}${p}`)).status, 403, `editor ${p}`);
    assert.equal((await post(ed, { ...f, ip_allowlist: '' })).status, 403);
    assert.deepEqual((await storedPolicy()).overrides, before.overrides);
  });

  test('an admin from outside the admin allowlist: 403', async () => {
    await patchPolicy({ admin_ip_allowlist: ['127.0.0.1/32'] });
    try {
      await waitFor(async () => (await follow(alice.jar, `${stack.base}/admin`, { headers: { 'x-forwarded-for': '127.0.0.2' } })).status === 403,
        { timeoutMs: 3000, what: 'the admin allowlist in force' });
      const r = await follow(alice.jar, `${stack.base}/admin/policy`, { headers: { 'x-forwarded-for': '127.0.0.2' } });
      assert.equal(r.status, 403);
      assert.match(r.body, /127\.0\.0\.2/);
      assert.equal((await follow(alice.jar, `${stack.base}/admin`)).status, 200, 'from inside: let in');
    } finally {
      await patchPolicy({ admin_ip_allowlist: null });
    }
  });

  test('a second factor older than mfa_max_age: step-up at /mfa, then back', async () => {
    const key = sessionKeyOf(stack, alice.jar);
    const was = (await stack.redis.cli('HGET', key, 'mfa_at')).trim();
    await stack.redis.cli('HSET', key, 'mfa_at', String((await redisTime(stack.redis)) - 3600));
    try {
      const r = await follow(alice.jar, `${stack.base}/admin/policy`);
      assert.equal(r.status, 302);
      assert.equal(new URL(r.location).pathname, '/mfa');
      assert.equal(new URL(r.location).searchParams.get('rd'), '/admin/policy');
    } finally {
      await stack.redis.cli('HSET', key, 'mfa_at', was);
    }
  });

  test("this admin's cookie on another tenant's host: not let in", async () => {
    const cookie = alice.jar.header(stack.base);
    const r = await rawHttp(stack.sekisho.port,
      `GET /admin HTTP/1.1\r\nHost: other.example\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 302, r.raw.slice(0, 300));
    assert.match(r.raw, /\r\nLocation: [^\r]*\/login\?rd=%2Fadmin\r\n/i);
  });

  test('/admin/v1 is still the JSON API; unknown console pages are 404', async () => {
    const r = await follow(alice.jar, `${stack.base}/admin/v1/tenants/default/policy`);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('content-type'), /application\/json/);
    for (const p of ['/admin/nosuch', '/admin/policy/x', '/admin/v1', '/admin/audit/nope']) {
      assert.equal((await follow(alice.jar, `${stack.base}${p}`)).status, 404, p);
    }
    assert.equal((await follow(alice.jar, `${stack.base}/administrators`)).status, 404);
  });
});

describe('console: forms refuse what they must', () => {
  test('no, wrong or another session\'s CSRF token; cross-origin POSTs: 403, nothing stored', async () => {
    const before = await storedPolicy();
    const f = await policyForm();
    const change = { ...f, ip_allowlist: '127.0.0.0/8\n192.0.2.0/24' };
    const other = new CookieJar();
    await signIn(other, stack.base);
    const { code, step } = await nextCode(stack.redis, alice.secret, alice.step);
    alice.step = step;
    const ch = await follow(other, `${stack.base}/mfa`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(ch.body)[1];
    await postForm(other, `${stack.base}/mfa`, { csrf, code }, { origin: stack.base });
    const otherToken = (await policyForm(other)).csrf;
    assert.notEqual(otherToken, f.csrf, 'tokens are per session');
    const { csrf: _drop, ...noToken } = change;
    for (const [what, fields, headers] of [
      ['no token', noToken, {}],
      ['wrong token', { ...change, csrf: 'A'.repeat(43) }, {}],
      ['another session\'s token', { ...change, csrf: otherToken }, {}],
      ['cross-origin (Origin)', change, { origin: 'http://evil.example' }],
      ['cross-site (Sec-Fetch-Site)', change, { 'sec-fetch-site': 'cross-site' }],
      ['token twice', `${new URLSearchParams(change)}&csrf=${f.csrf}`, {}],
    ]) {
      const r = typeof fields === 'string'
        ? await follow(alice.jar, `${stack.base}/admin/policy`, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.base }, body: fields,
        })
        : await post(alice.jar, fields, headers);
      assert.equal(r.status, 403, what);
    }
    // The hooks' retry form too.
    assert.equal((await postForm(alice.jar, `${stack.base}/admin/hooks`, { hook: 'ops-hook', delivery: '' }, { origin: stack.base })).status, 403);
    assert.deepEqual((await storedPolicy()).overrides, before.overrides, 'nothing stored');
    assert.equal((await storedPolicy()).version, before.version);
  });

  test('a huge form: 413, nothing stored', async () => {
    const before = await storedPolicy();
    const f = await policyForm();
    const big = Array.from({ length: 20_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`).join('\n');
    const r = await post(alice.jar, { ...f, ip_allowlist: `127.0.0.0/8\n${big}` });
    assert.equal(r.status, 413);
    assert.match(r.body, /Too much to send|送信内容が大きすぎます/);
    // Past http.max_body_bytes: refused on its head, before any of the
    // body is read (only the head is sent: a client still writing the
    // body would meet the reset that follows the answer).
    const length = 2 * 1024 * 1024;
    const huge = await rawHttp(stack.sekisho.port, `POST /admin/policy HTTP/1.1\r\nHost: 127.0.0.1:${stack.sekisho.port}\r\n`
      + `Cookie: ${alice.jar.header(stack.base)}\r\nOrigin: ${stack.base}\r\n`
      + `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
    assert.equal(huge.status, 413);
    assert.equal((await storedPolicy()).version, before.version);
  });

  test('malformed lines are named and escaped; nothing stored', async () => {
    const before = await storedPolicy();
    const f = await policyForm();
    const lines = ['127.0.0.0/8', '10.0.0.0/8\u0007', '１０.０.０.０/８', '10.0.0.0/8\u202e', '</textarea><script>alert(1)</script>', '10.1.0.0/16'];
    const r = await post(alice.jar, { ...f, ip_allowlist: lines.join('\r\n') });
    assert.equal(r.status, 400);
    const problems = [...r.body.matchAll(/<p class="problems field-problem">([^<]*)<\/p>/g)].map((m) => m[1]);
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0], /^(Line 2: 10\.0\.0\.0\/8\? is not|2 行目：10\.0\.0\.0\/8\? は)/);
    assert.match(problems[1], /(Line 3|3 行目).*１０\.０\.０\.０\/８/);
    assert.match(problems[2], /(Line 4|4 行目)/);
    assert.match(problems[3], /(Line 5|5 行目).*&lt;\/textarea&gt;&lt;script&gt;/);
    assert.ok(!r.body.includes('</textarea><script>'), 'never written back raw');
    const area = /<textarea id="ip_allowlist"[^>]*>([^<]*)<\/textarea>/.exec(r.body)?.[1];
    assert.ok(area?.includes('&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;'), 'kept in the form, escaped');
    assert.ok(area?.includes('10.1.0.0/16'), 'the whole input kept');
    // A NUL (or a bad escape) makes the whole form unreadable: refused,
    // never read as an empty list (every address).
    const nul = `${new URLSearchParams({ ...f, ip_allowlist: 'x' })}`.replace('ip_allowlist=x', 'ip_allowlist=10.0.0.0%2F8%00');
    const n = await follow(alice.jar, `${stack.base}/admin/policy`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.base }, body: nul,
    });
    assert.equal(n.status, 400);
    const { ip_allowlist: _gone, ...missing } = f;
    assert.equal((await post(alice.jar, missing)).status, 400, 'a missing allowlist field');
    // Other fields: the validator's message on the field.
    const d = await post(alice.jar, { ...f, lockout_window: '15x', lockout_max_failures: '0' });
    assert.equal(d.status, 400);
    assert.equal([...d.body.matchAll(/class="problems field-problem"/g)].length, 2);
    assert.equal((await storedPolicy()).version, before.version);
  });

  test('a change that would lock the admin out: 409 unless forced', async () => {
    const before = await storedPolicy();
    const f = await policyForm();
    const r = await post(alice.jar, { ...f, ip_allowlist: '192.0.2.0/24' });
    assert.equal(r.status, 409);
    assert.match(r.body, /id="refusal"/);
    assert.match(r.body, /127\.0\.0\.1/);
    assert.match(r.body, /name="force"/);
    assert.equal((await storedPolicy()).version, before.version);
    // The same form again, forced: stored (and the admin is out).
    const forced = await post(alice.jar, { ...f, ip_allowlist: '192.0.2.0/24', force: 'yes' });
    assert.equal(forced.status, 303);
    await waitFor(async () => (await follow(alice.jar, `${stack.base}/admin`)).status === 403, { timeoutMs: 3000, what: 'locked out' });
    await patchPolicy({ ip_allowlist: null });
    await waitFor(async () => (await follow(alice.jar, `${stack.base}/admin`)).status === 200, { timeoutMs: 3000, what: 'back in' });
    // Nothing changed at all: a confirmation, no new version.
    const same = await policyForm();
    const v = (await storedPolicy()).version;
    const u = await post(alice.jar, same);
    assert.equal(u.status, 303);
    assert.match(u.location, /done=unchanged$/);
    assert.equal((await storedPolicy()).version, v);
  });

  test('the confirmation is a fixed message, never text from the request', async () => {
    const r = await follow(alice.jar, `${stack.base}/admin/policy?done=%3Cb%3Ehi%3C%2Fb%3E`);
    assert.equal(r.status, 200);
    assert.ok(!/id="flash"/.test(r.body));
    assert.ok(!r.body.includes('<b>hi'));
  });
});

describe('console: without audit.dir', () => {
  test('the page says so and shows the recent events of the stream; no export', async () => {
    // A second instance on the same Redis, without the audit section.
    const port = await freePort();
    const cfg = fs.readFileSync(stack.sekisho.cfgFile, 'utf8')
      .replace(/^listen: .*$/m, `listen: "127.0.0.1:${port}"`)
      .replace(/^audit:\n(?: {2}.*\n)+/m, '');
    assert.ok(!/^audit:/m.test(cfg));
    const cfgFile = path.join(path.dirname(stack.sekisho.cfgFile), 'noaudit.yaml');
    fs.writeFileSync(cfgFile, cfg);
    const child = spawnTracked(SEKISHO_BIN, ['-c', cfgFile], { name: 'sekisho-noaudit' });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => ({ status: 0 }))).status === 200,
        { what: 'second sekisho' });
      const headers = { cookie: alice.jar.header(stack.base) };
      const r = await fetch(`${base}/admin/audit`, { headers, redirect: 'manual' });
      const html = await r.text();
      assert.equal(r.status, 200, html.slice(0, 300));
      assert.match(html, /id="no-audit-dir"/);
      assert.ok(!/id="export"/.test(html));
      assert.match(html, /class="ev-type">policy_changed</);
      const e = await fetch(`${base}/admin/audit/export`, { headers, redirect: 'manual' });
      assert.equal(e.status, 404);
      const o = await fetch(`${base}/admin`, { headers, redirect: 'manual' });
      assert.match(await o.text(), /id="ov-audit">Not configured|id="ov-audit">設定されていません/);
    } finally {
      await child.stop('SIGTERM', 5000);
      assert.doesNotMatch(child.stderr(), /Sanitizer|runtime error/);
    }
  });
});

describe('console: Redis stopped', () => {
  test('a clear error page, nothing let through', async () => {
    const f = await policyForm();
    await stack.redis.stop();
    const g = await follow(alice.jar, `${stack.base}/admin`);
    assert.equal(g.status, 503);
    assert.match(g.headers.get('content-type'), /text\/html/);
    const p = await post(alice.jar, { ...f, ip_allowlist: '' });
    assert.equal(p.status, 503);
    assert.equal((await follow(new CookieJar(), `${stack.base}/admin/audit`)).status === 200, false);
  });

  test('no sanitizer report (ASan/UBSan builds)', async () => {
    await stack.sekisho.stop('SIGTERM', 10_000);
    assert.doesNotMatch(stack.sekisho.stderr(), /Sanitizer|runtime error/);
  });
});

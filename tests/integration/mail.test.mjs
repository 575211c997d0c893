// E-mail and LINE notifications to people (docs/notifications.md), end to
// end: real redis-server, the test IdP (standing in for Google), the LINE
// Login stand-in, sekisho with an email hook and a line hook, a real SMTP
// server (npm smtp-server) on 127.0.0.1, and a loopback receiver standing
// in for the LINE Messaging API. Covers:
//   - an invitation (POST /admin/v1/tenants/{t}/invitations) delivers a
//     mail to the invited address with the accept link, in the tenant's
//     default_language (law: ja, shop: en); the SMTP envelope (MAIL FROM
//     the bare address, one RCPT), AUTH with smtp.username/password, the
//     headers (From, To, RFC 2047 Subject, Date, Message-ID = event id @
//     the From domain, MIME, base64 UTF-8, Auto-Submitted)
//   - a sign-in from a new browser delivers a new-device mail in the
//     browser's Accept-Language (ja: Japan time, en: UTC), saying the
//     address, network and browser; the same browser again delivers
//     nothing (an invitation sent after it is the next mail)
//   - an administrator's MFA reset mails the user (tenant's language)
//   - a LINE user's new device: a push to the stand-in API with
//     Authorization: Bearer <channel token>, a UUID X-Line-Retry-Key, JSON
//     {to: LINE userId, messages: [{type: text, text}]} in the user's
//     language; a Google user gets no push (a mail only)
//   - smtp:// to a host that is not loopback and offers no STARTTLS: no
//     mail and no AUTH (the password never crosses in the clear); the
//     hook's state says why
//   - nothing in any mail or push holds a session or device cookie, an
//     authorization code, state, the channel token or the SMTP password
//     (searched); the logs hold neither the token nor the password
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { SMTPServer } from 'smtp-server';

import {
  CLIENT_SECRET, CookieJar, follow, freePort, signInAtIdp, startIdp, startRedis, startSekisho, tmpDir, waitFor,
} from './harness.mjs';
import { startLine } from '../providers/line.mjs';

const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
  + 'Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 '
  + '(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1';
const OPS = { id: 'ops-admin', secret: 'ops-admin-secret-0123456789abcdef-0123456789' };
const CHANNEL_ID = '1234567890';
const CHANNEL_SECRET = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const CHANNEL_TOKEN = 'line-channel-access-token-0123456789abcdefghijklmnop';
const SMTP_USER = 'sekisho-mailer';
const SMTP_PASSWORD = 'smtp-password-0123456789abcdef';
const LINE_USERS = {
  sato: { sub: 'U0123456789abcdef0123456789abcdef', name: '佐藤 花子', amr: ['linesso'] },
};

const dir = tmpDir('sekisho-it-mail-');
const mails = []; // { from, to, raw, auth }
const pushes = []; // { headers, body }
const secrets = [CHANNEL_TOKEN, SMTP_PASSWORD, CLIENT_SECRET, CHANNEL_SECRET];
let redis;
let idp;
let line;
let smtp;
let api;
let sk;
let law;
let shop;

function writeSecret(name, value) {
  const f = path.join(dir, `${name}.secret`);
  fs.writeFileSync(f, value, { mode: 0o600 });
  return f;
}

function startSmtp() {
  const server = new SMTPServer({
    // Loopback: Sekisho sends in plain (no STARTTLS to a loopback host);
    // AUTH is offered in plain only here, on loopback.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) return cb(null, { user: auth.username });
      return cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          auth: session.user,
          raw: Buffer.concat(chunks).toString('latin1'),
        });
        cb();
      });
    },
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.server.address().port }));
  });
}

function startLineApi() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      pushes.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${server.address().port}` }));
  });
}

/** RFC 2047 encoded-words (B, UTF-8) decoded; folding undone. */
function decodeWords(v) {
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?UTF-8\?B\?([^?]*)\?=/gi,
    (m, b) => Buffer.from(b, 'base64').toString('utf8'));
}

/** A received message: { headers: {lowercase name: [values]}, head, text }. */
function parse(raw) {
  const i = raw.indexOf('\r\n\r\n');
  assert.ok(i > 0, 'a head and a body');
  const head = raw.slice(0, i);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const c = line.indexOf(':');
    const name = line.slice(0, c).toLowerCase();
    (headers[name] ??= []).push(line.slice(c + 1).trim());
  }
  const cte = headers['content-transfer-encoding']?.[0];
  assert.equal(cte, 'base64');
  const text = Buffer.from(raw.slice(i + 4).replace(/\r\n/g, ''), 'base64').toString('utf8');
  return { headers, head, text, subject: decodeWords(headers.subject[0]) };
}

function one(h, name) {
  assert.equal(h.headers[name]?.length, 1, `one ${name} header`);
  return h.headers[name][0];
}

/** Waits for mail number n (0-based) and returns it parsed. */
async function mailAt(n) {
  await waitFor(() => mails.length > n, { timeoutMs: 30_000, what: `mail #${n + 1}` });
  return { ...mails[n], msg: parse(mails[n].raw) };
}

async function admin(method, tenant, p, body, base = law) {
  const r = await fetch(`${base}/admin/v1/tenants/${tenant}/${p}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${OPS.id}:${OPS.secret}`).toString('base64')}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  return { status: r.status, text, json: text ? JSON.parse(text) : undefined };
}

/** Every cookie value in jar for base, remembered as a secret. */
function keepCookies(jar, base) {
  for (const kv of jar.header(base).split('; ')) {
    const v = kv.slice(kv.indexOf('=') + 1);
    if (v) secrets.push(v);
  }
}

/**
 * Signs login in at base through provider pid, the callback (which
 * completes the sign-in and records the device) sent with headers; the
 * code, state and cookies are remembered as secrets.
 */
async function signInWith(jar, base, pid, login, headers) {
  const cb = await signInAtIdp(jar, `${base}/login/${pid}`, login, `${login}-password`);
  const q = new URL(cb).searchParams;
  secrets.push(q.get('code'), q.get('state'));
  const res = await follow(jar, cb, { headers });
  assert.equal(res.status, 302, `sign-in of ${login}`);
  keepCookies(jar, base);
  return res;
}

/** An invitation in tenant for email: its link (from the API). */
async function invite(tenant, email, base = law) {
  const r = await admin('POST', tenant, 'invitations', { email, role: 'viewer' }, base);
  assert.equal(r.status, 201, r.text);
  return r.json.link;
}

before(async () => {
  redis = await startRedis();
  smtp = await startSmtp();
  api = await startLineApi();
  const port = await freePort();
  law = `http://127.0.0.1:${port}`;
  shop = `http://localhost:${port}`;
  const secretFile = writeSecret('idp-client', `${CLIENT_SECRET}\n`);
  idp = await startIdp({ secretFile, redirectUris: [`${law}/callback/google`, `${shop}/callback/google`] });
  line = await startLine({
    channelId: CHANNEL_ID, channelSecret: CHANNEL_SECRET, redirectUris: [`${law}/callback/line`], users: LINE_USERS,
  });
  const tenantsYaml = `  - id: law
    display_name: "山田法律事務所"
    hostnames: ["127.0.0.1"]
    providers: [google, line]
  - id: shop
    display_name: "Global Shop"
    hostnames: ["localhost"]
    providers: [google]
    default_language: en
`;
  const extraProvidersYaml = `  - id: line
    type: line
    client_id: "${CHANNEL_ID}"
    client_secret_file: ${writeSecret('line', CHANNEL_SECRET)}
    issuer: "${line.base}"
`;
  const extra = `clients:
  - client_id: ${OPS.id}
    client_secret_file: ${writeSecret('ops', OPS.secret)}
    admin: true
    tenants: all
smtp:
  url: "smtp://127.0.0.1:${smtp.port}"
  from: "関所 Sekisho <no-reply@notify.example.com>"
  username: ${SMTP_USER}
  password_file: ${writeSecret('smtp', SMTP_PASSWORD)}
hooks:
  - id: tell-the-user
    type: email
    events: [new_device, user_invited, mfa_reset]
  - id: line-users
    type: line
    url: "${api.base}"
    token_file: ${writeSecret('line-token', CHANNEL_TOKEN)}
    events: [new_device]
`;
  sk = await startSekisho({
    dir, port, publicUrl: law, redisUrl: redis.url, idpBase: idp.base, secretFile,
    allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`], tenantsYaml, extraProvidersYaml, extra,
  });
});

after(async () => {
  await sk?.stop();
  await line?.stop();
  await idp?.stop();
  await redis?.stop();
  await new Promise((r) => (smtp ? smtp.server.close(r) : r()));
  await new Promise((r) => (api ? api.server.close(r) : r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('e-mail', () => {
  test('an invitation mails the accept link in the tenant\'s language (ja)', async () => {
    const link = await invite('law', 'new.member@example.jp');
    const m = await mailAt(0);
    assert.equal(m.from, 'no-reply@notify.example.com', 'MAIL FROM: the bare address');
    assert.deepEqual(m.to, ['new.member@example.jp']);
    assert.equal(m.auth, SMTP_USER, 'AUTH with smtp.username');
    const h = m.msg;
    assert.equal(decodeWords(one(h, 'from')), '関所 Sekisho <no-reply@notify.example.com>');
    assert.equal(one(h, 'to'), 'new.member@example.jp');
    assert.match(one(h, 'subject'), /^=\?UTF-8\?B\?/, 'a Japanese subject is RFC 2047-encoded');
    assert.equal(h.subject, '山田法律事務所 への招待が届いています');
    assert.match(one(h, 'date'), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/);
    assert.match(one(h, 'message-id'), /^<[A-Za-z0-9_-]+@notify\.example\.com>$/);
    assert.equal(one(h, 'mime-version'), '1.0');
    assert.equal(one(h, 'content-type'), 'text/plain; charset=UTF-8');
    assert.equal(one(h, 'auto-submitted'), 'auto-generated');
    assert.equal(one(h, 'content-language'), 'ja');
    assert.ok(h.text.includes(`\r\n${link}\r\n`), `the accept link on a line of its own:\n${h.text}`);
    assert.match(h.text, /次のリンクを開き/);
    assert.match(h.text, /有効期限は \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d JST です/);

    // The Message-ID is the event's id.
    const evs = (await admin('GET', 'law', 'events?limit=50')).json;
    const list = Array.isArray(evs) ? evs : evs.events;
    const ev = list.find((e) => e.type === 'user_invited' && e.user.email === 'new.member@example.jp');
    assert.equal(one(h, 'message-id'), `<${ev.id}@notify.example.com>`);
  });

  test('an invitation in an English tenant is in English', async () => {
    const link = await invite('shop', 'someone@example.net');
    const h = (await mailAt(1)).msg;
    assert.equal(one(h, 'to'), 'someone@example.net');
    assert.equal(h.subject, 'You are invited to join Global Shop');
    assert.equal(one(h, 'subject'), h.subject, 'an ASCII subject goes as it is');
    assert.equal(one(h, 'content-language'), 'en');
    assert.ok(h.text.includes(`\r\n${link}\r\n`));
    assert.match(h.text, /The link is valid until \d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC\./);
  });

  test('a new browser gets a new-device mail in its language; the same browser again none', async () => {
    const jar = new CookieJar();
    await signInWith(jar, law, 'google', 'alice', { 'user-agent': CHROME_WIN, 'accept-language': 'en-US,en;q=0.9,ja;q=0.5' });
    let m = await mailAt(2);
    assert.deepEqual(m.to, ['alice@example.com']);
    let h = m.msg;
    assert.equal(h.subject, '[山田法律事務所] New sign-in from a device we have not seen before');
    assert.match(h.text, /When: +\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC/);
    assert.match(h.text, /Address: 127\.0\.0\.1 \(network 127\.0\.0\.0\/24\)/);
    assert.match(h.text, /Browser: Chrome 131 on Windows/);
    assert.match(h.text, /If it was not you/);

    // A second browser, Japanese.
    const jar2 = new CookieJar();
    await signInWith(jar2, law, 'google', 'alice', { 'user-agent': SAFARI_IOS, 'accept-language': 'ja-JP,ja;q=0.9' });
    m = await mailAt(3);
    h = m.msg;
    assert.equal(h.subject, '[山田法律事務所] 新しい端末からサインインがありました');
    assert.match(h.text, /日時: +\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d JST/);
    assert.match(h.text, /ブラウザ: +Safari 17 on iOS/);
    assert.match(h.text, /お心当たりがない場合は/);

    // The first browser again: nothing. The invitation raised after it is
    // the next mail (one tenant's events are delivered in order).
    await signInWith(jar, law, 'google', 'alice', { 'user-agent': CHROME_WIN, 'accept-language': 'en' });
    await invite('law', 'marker@example.jp');
    m = await mailAt(4);
    assert.deepEqual(m.to, ['marker@example.jp'], 'no mail for a known browser');
  });
  test('an administrator\'s MFA reset mails the user in the tenant\'s language', async () => {
    const evs = (await admin('GET', 'law', 'events?limit=100')).json;
    const list = Array.isArray(evs) ? evs : evs.events;
    const uid = list.find((e) => e.type === 'new_device' && e.user.email === 'alice@example.com').user.id;
    const r = await admin('POST', 'law', `users/${uid}/mfa/reset`);
    assert.equal(r.status, 200, r.text);
    const m = await mailAt(5);
    assert.deepEqual(m.to, ['alice@example.com']);
    assert.equal(m.msg.subject, '[山田法律事務所] 2段階認証の設定がリセットされました');
    assert.match(m.msg.text, /リカバリーコードは、使えなくなりました/);
  });
});

describe('LINE', () => {
  test('a LINE user\'s new device is pushed to the Messaging API; a Google user gets no push', async () => {
    const before = mails.length;
    const jar = new CookieJar();
    await signInWith(jar, law, 'line', 'sato', { 'user-agent': SAFARI_IOS, 'accept-language': 'ja' });
    await waitFor(() => pushes.length >= 1, { timeoutMs: 30_000, what: 'a LINE push' });
    assert.equal(pushes.length, 1);
    const p = pushes[0];
    assert.equal(p.method, 'POST');
    assert.equal(p.url, '/v2/bot/message/push');
    assert.equal(p.headers.authorization, `Bearer ${CHANNEL_TOKEN}`);
    assert.match(p.headers['content-type'], /^application\/json/);
    assert.match(p.headers['x-line-retry-key'], /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const body = JSON.parse(p.body);
    assert.deepEqual(Object.keys(body), ['to', 'messages']);
    assert.equal(body.to, LINE_USERS.sato.sub);
    assert.equal(body.messages.length, 1);
    assert.equal(body.messages[0].type, 'text');
    assert.match(body.messages[0].text, /^\[山田法律事務所\] 新しい端末からサインインがありました（\d{4}年.*JST.*Safari 17 on iOS）/);
    // LINE gives no address: no mail for it.
    assert.equal(mails.length, before);

    // Google users (alice's new devices above) got no push; one more, and a
    // marker after it.
    const jar2 = new CookieJar();
    await signInWith(jar2, law, 'google', 'alice', { 'user-agent': CHROME_WIN, 'accept-language': 'ja' });
    await mailAt(before);
    const jar3 = new CookieJar();
    await signInWith(jar3, law, 'line', 'sato', { 'user-agent': CHROME_WIN, 'accept-language': 'en' });
    await waitFor(() => pushes.length >= 2, { timeoutMs: 30_000, what: 'the second LINE push' });
    assert.equal(pushes.length, 2, 'the Google user\'s new device was not pushed');
    const b2 = JSON.parse(pushes[1].body);
    assert.equal(b2.to, LINE_USERS.sato.sub);
    assert.match(b2.messages[0].text, /New sign-in from a new device \(.* UTC, Chrome 131 on Windows\)/);
    assert.notEqual(pushes[1].headers['x-line-retry-key'], p.headers['x-line-retry-key']);
  });
});

/** This host's first IPv4 address that is not loopback, if any. */
function outsideAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('transport security', () => {
  test('smtp:// to a host that is not loopback without STARTTLS: no mail, no AUTH', async (t) => {
    const addr = outsideAddress();
    if (!addr) {
      t.skip('no IPv4 address but loopback on this host');
      return;
    }
    const seen = { connect: 0, auth: 0, mailFrom: 0, data: 0 };
    const plain = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onConnect(session, cb) { seen.connect++; cb(); },
      onAuth(auth, session, cb) { seen.auth++; cb(null, { user: auth.username }); },
      onMailFrom(a, session, cb) { seen.mailFrom++; cb(); },
      onData(stream, session, cb) { seen.data++; stream.resume(); stream.on('end', () => cb()); },
    });
    await new Promise((r) => plain.listen(0, addr, r));
    const r2 = await startRedis();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const d2 = tmpDir('sekisho-it-mail2-');
    let sk2;
    try {
      sk2 = await startSekisho({
        dir: d2, port, publicUrl: base, redisUrl: r2.url, idpBase: idp.base, secretFile: writeSecret('idp-client2', CLIENT_SECRET),
        allowedHosts: [`127.0.0.1:${port}`],
        tenantsYaml: '  - id: law\n    hostnames: ["127.0.0.1"]\n    providers: [google]\n',
        extra: `clients:
  - client_id: ${OPS.id}
    client_secret_file: ${writeSecret('ops2', OPS.secret)}
    admin: true
    tenants: all
smtp:
  url: "smtp://${addr}:${plain.server.address().port}"
  from: "no-reply@notify.example.com"
  username: ${SMTP_USER}
  password_file: ${writeSecret('smtp2', SMTP_PASSWORD)}
hooks:
  - id: tell-the-user
    type: email
    events: [user_invited]
`,
      });
      await invite('law', 'someone@example.jp', base);
      let state;
      await waitFor(async () => {
        const r = await admin('GET', 'law', 'hooks', undefined, base);
        state = r.json.hooks.find((h) => h.id === 'tell-the-user').state;
        return state.last_failure;
      }, { timeoutMs: 30_000, what: 'a failed attempt' });
      assert.ok(seen.connect >= 1, 'sekisho connected');
      assert.deepEqual({ auth: seen.auth, mailFrom: seen.mailFrom, data: seen.data }, { auth: 0, mailFrom: 0, data: 0 });
      assert.ok(state.last_error, 'the hook says why');
      assert.equal(state.last_error.includes(SMTP_PASSWORD), false);
      assert.equal(sk2.stderr().includes(SMTP_PASSWORD), false);
    } finally {
      await sk2?.stop();
      await r2.stop();
      await new Promise((r) => plain.close(r));
      fs.rmSync(d2, { recursive: true, force: true });
    }
  });
});

describe('secrets', () => {
  test('no mail, push or log line holds a cookie, code, state, token or password', () => {
    assert.ok(mails.length >= 6 && pushes.length >= 2);
    const texts = [
      ...mails.map((m) => `${m.raw}\n${parse(m.raw).text}\n${parse(m.raw).subject}`),
      ...pushes.map((p) => p.body),
    ];
    const wanted = secrets.filter((s) => typeof s === 'string' && s.length >= 8);
    assert.ok(wanted.length >= 10, 'codes, states and cookies were collected');
    for (const t of texts) {
      for (const s of wanted) assert.equal(t.includes(s), false, `a notification holds a secret (${s.slice(0, 4)}...)`);
      assert.doesNotMatch(t, /eyJ[A-Za-z0-9_-]{10,}\./, 'no JWT');
      assert.doesNotMatch(t, /[?&](code|state)=/);
    }
    const log = sk.stderr();
    assert.equal(log.includes(CHANNEL_TOKEN), false, 'the channel token is never logged');
    assert.equal(log.includes(SMTP_PASSWORD), false, 'the SMTP password is never logged');
  });
});

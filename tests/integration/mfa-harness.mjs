// Helpers for the second-factor tests (tests/integration/mfa*.test.mjs,
// tests/browser/mfa*.test.mjs): a stack whose tenant has an MFA policy and
// a master key, TOTP codes made by an independent implementation
// (oathtool, the Debian package) at a time taken from Redis TIME, and
// form posting with the page's CSRF token.
//
//   const stack = await startMfaStack({ mfa: 'required' });
//   const jar = new CookieJar();
//   const { res } = await signIn(jar, stack.base);       // -> /mfa/enroll
//   const { secret, codes } = await enrol(stack, jar);

import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import { CookieJar, follow, startStack, tmpDir } from './harness.mjs';

export { CookieJar, follow };

const run = promisify(execFile);

export const APP_CLIENT = { id: 'com.example.mfa-app', redirect: 'http://127.0.0.1:9/cb' };

/** A 256-bit key file (64 hex characters), mode 0600. */
export function writeKeyFile(dir, name = 'master.key') {
  const file = path.join(dir, name);
  fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  return file;
}

/**
 * The YAML of one tenant "default" with an MFA policy (items of
 * `tenants:`, as startStack's tenantsYaml wants them).
 */
export function mfaTenantYaml({
  mfa = 'required', displayName = 'Test Office', adminEmails, maxAge, maxFailures, window, lockout,
} = {}) {
  let y = `  - id: default
    display_name: ${JSON.stringify(displayName)}
    providers: [google]
    mfa: ${mfa}
`;
  if (adminEmails) y += `    admin_emails: [${adminEmails.map((e) => JSON.stringify(e)).join(', ')}]\n`;
  if (maxAge) y += `    mfa_max_age: ${maxAge}\n`;
  if (maxFailures) y += `    mfa_max_failures: ${maxFailures}\n`;
  if (window) y += `    mfa_failure_window: ${window}\n`;
  if (lockout) y += `    lockout: ${lockout}\n`;
  return y;
}

/** keys: and clients: sections for a given master key file. */
export function mfaExtraConfig(masterKeyFile, { signingKeyFile, moreClients = '' } = {}) {
  return `keys:
  master_key_file: ${masterKeyFile}
${signingKeyFile ? `  signing_key_files: [${signingKeyFile}]\n` : ''}clients:
  - client_id: ${APP_CLIENT.id}
    public: true
    first_party: true
    tenants: all
    redirect_uris: ["${APP_CLIENT.redirect}"]
${moreClients}`;
}

/**
 * startStack() with a master key and one tenant under an MFA policy.
 * Returns the stack plus keyDir, masterKeyFile, tenantsYaml, extraConfig.
 */
export async function startMfaStack(opts = {}) {
  const keyDir = tmpDir('sekisho-it-mfa-');
  const masterKeyFile = writeKeyFile(keyDir);
  const tenantsYaml = mfaTenantYaml(opts);
  const extraConfig = mfaExtraConfig(masterKeyFile, { moreClients: opts.moreClients });
  const stack = await startStack({
    tenantsYaml, extraConfig, nginx: opts.nginx ?? false, redisArgs: opts.redisArgs,
    httpYaml: opts.httpYaml,
  });
  const stop = stack.stop;
  return Object.assign(stack, {
    keyDir,
    masterKeyFile,
    tenantsYaml,
    extraConfig,
    async stop() {
      await stop();
      fs.rmSync(keyDir, { recursive: true, force: true });
    },
  });
}

/** Redis TIME, in seconds. */
export async function redisTime(redis) {
  const out = (await redis.cli('TIME')).trim().split(/\s+/);
  return Number(out[0]);
}

/**
 * Redis TIME at a moment well inside a 30 s step (between 3 s and 22 s
 * into it), so a code made now for a step offset keeps that offset while
 * the request travels. Waits (at most one step) if needed.
 */
export async function midStepTime(redis) {
  for (;;) {
    const t = await redisTime(redis);
    const into = t % 30;
    if (into >= 3 && into <= 22) return t;
    await sleep(((into > 22 ? 33 - into : 3 - into) * 1000) + 50);
  }
}

/** Waits until Redis TIME is in a step later than `step`. */
export async function waitForStepAfter(redis, step) {
  for (;;) {
    const t = await midStepTime(redis);
    if (Math.floor(t / 30) > step) return t;
    await sleep((30 - (t % 30)) * 1000 + 3100);
  }
}

/**
 * A code the server will accept now for a user whose last accepted step is
 * `lastStep`: the earliest step in the window (one either side of Redis
 * TIME) that is newer than lastStep; waits for the next step only when the
 * whole window is used up.
 */
export async function nextCode(redis, secret, lastStep) {
  for (;;) {
    const t = await midStepTime(redis);
    const cur = Math.floor(t / 30);
    const step = Math.max(lastStep + 1, cur - 1);
    if (step <= cur + 1) return { code: await totp(secret, step * 30), step };
    await waitForStepAfter(redis, cur);
  }
}

/** A six-digit TOTP code for base32 `secret` at unix time `t` (oathtool). */
export async function totp(secret, t) {
  const { stdout } = await run('oathtool', ['--totp', '-b', secret, '--now', `@${t}`], { timeout: 5000 });
  return stdout.trim();
}

/** RFC 4648 base32 (no padding) to bytes. */
export function base32Decode(s) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0; let acc = 0; const out = [];
  for (const ch of s.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alpha.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    acc = (acc << 5) | v; bits += 5;
    if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 0xff); }
  }
  return Buffer.from(out);
}

/** The hidden csrf value of the first form of a page. */
export function csrfOf(html) {
  return /name="csrf" value="([A-Za-z0-9_-]{43})"/.exec(html)?.[1];
}

/** The action of the form with that id (entities decoded). */
export function formAction(html, id) {
  const m = new RegExp(`<form id="${id}" method="post" action="([^"]*)"`).exec(html);
  return m ? m[1].replace(/&amp;/g, '&') : undefined;
}

/** POSTs a form (urlencoded) through the jar; no redirects followed. */
export function postForm(jar, url, fields, headers = {}) {
  return follow(jar, url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The secret shown on the enrolment page (spaces removed). */
export function secretOf(html) {
  const m = /<code id="secret">([A-Z2-7 ]+)<\/code>/.exec(html);
  return m ? m[1].replace(/ /g, '') : undefined;
}

/** The recovery codes of a "save these codes" page. */
export function codesOf(html) {
  const list = /<ol id="recovery-codes"[^>]*>([\s\S]*?)<\/ol>/.exec(html)?.[1] ?? '';
  return [...list.matchAll(/<code>([a-z0-9-]+)<\/code>/g)].map((m) => m[1]);
}

/**
 * Enrols the signed-in (or pending) session of jar: opens /mfa/enroll,
 * reads the secret, posts the code of step `offset` (in steps, default
 * -1: the step before now, so the next step is free for later checks).
 * Returns { secret, codes, page (the enrolment page), res }.
 */
export async function enrol(stack, jar, { offset = -1, path: p = '/mfa/enroll' } = {}) {
  const page = await follow(jar, new URL(p, stack.base).href);
  if (page.status !== 200) throw new Error(`GET ${p}: ${page.status} ${page.location ?? page.body.slice(0, 200)}`);
  const secret = secretOf(page.body);
  const t = await midStepTime(stack.redis);
  const code = await totp(secret, t + 30 * offset);
  const res = await postForm(jar, new URL(formAction(page.body, 'enrol-form'), stack.base).href,
    { csrf: csrfOf(page.body), code });
  return { secret, codes: codesOf(res.body), page, res, step: Math.floor(t / 30) + offset };
}

/** Posts a TOTP code (or { recovery }) to /mfa for the session in jar. */
export async function challenge(stack, jar, fields, { rd } = {}) {
  const url = new URL('/mfa', stack.base);
  if (rd) url.searchParams.set('rd', rd);
  const page = await follow(jar, url.href);
  if (page.status !== 200) return { page, res: page };
  const body = typeof fields === 'string' ? { code: fields } : fields;
  const res = await postForm(jar, new URL(formAction(page.body, 'totp-form'), stack.base).href,
    { csrf: csrfOf(page.body), ...body });
  return { page, res };
}

/** The user id of the session in jar (from a full session's /auth/verify). */
export async function userIdOf(stack, jar) {
  const r = await follow(jar, `${stack.base}/auth/verify`);
  return r.headers.get('x-auth-request-user');
}

/** The Redis key of the session whose cookie is in jar. */
export function sessionKeyOf(stack, jar) {
  const sid = jar.get(stack.base, 'sekisho'); // "<user id, 22><random, 43>"
  return `sk:{u:${sid.slice(0, 22)}}:s:${crypto.createHash('sha256').update(sid).digest('hex')}`;
}

/** Forgets the wrong-code counter of a user (tests only). */
export function clearFailures(stack, uid) {
  return stack.redis.cli('DEL', `sk:{u:${uid}}:lk`);
}

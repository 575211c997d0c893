// Shared by users.test.mjs and membership.test.mjs: redis-server, the
// test IdP and sekisho with two tenants on two loopback names (a real
// sign-in reaches each), an admin client, and helpers for sekishoctl, the
// admin API, /auth/verify and introspection.
//
//   law   hostnames ["127.0.0.1"]   membership and admin_emails as asked
//   shop  hostnames ["localhost"]   open
//
// The test IdP has alice (alice@example.com, verified) and bob
// (bob@example.org, not verified).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

import {
  CLIENT_SECRET, CookieJar, SEKISHO_BIN, follow, freePort, masterKeyFile, signIn, startIdp, startRedis,
  startSekisho, tmpDir,
} from './harness.mjs';

const run = promisify(execFile);
const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

export const OPS = { id: 'ops-admin', secret: 'ops-admin-secret-0123456789abcdef-0123456789' };
export const BACKEND = { id: 'law-backend', secret: 'law-backend-secret-0123456789abcdef-01234567' };

export { CookieJar, follow, signIn };

function writeSecret(dir, name, value) {
  const f = path.join(dir, `${name}.secret`);
  fs.writeFileSync(f, value, { mode: 0o600 });
  return f;
}

/**
 * Starts the stack. opts: membership (law's; default open), adminEmails
 * and mfa (law's), extraConfig (top-level YAML appended), beforeSekisho
 * (async (redis) => ..., run before sekisho starts). Returns { law, shop (base URLs), redis, sekisho, cfgFile,
 * ctl(...args), admin(method, tenant, path, {body, auth}), verify(jar,
 * base), introspect(token), stop() }.
 */
export async function startUsersStack({
  membership = 'open', adminEmails, mfa, extraConfig = '', beforeSekisho,
} = {}) {
  const dir = tmpDir('sekisho-it-users-');
  const s = { dir };
  s.redis = await startRedis();
  const port = await freePort();
  s.law = `http://127.0.0.1:${port}`;
  s.shop = `http://localhost:${port}`;
  const secretFile = writeSecret(dir, 'idp-client', `${CLIENT_SECRET}\n`);
  s.idp = await startIdp({
    secretFile, redirectUris: [`${s.law}/callback/google`, `${s.shop}/callback/google`],
  });
  let law = `  - id: law
    display_name: "Law Office"
    hostnames: ["127.0.0.1"]
    providers: [google]
    membership: ${membership}
`;
  if (adminEmails) law += `    admin_emails: [${adminEmails.map((e) => JSON.stringify(e)).join(', ')}]\n`;
  if (mfa) law += `    mfa: ${mfa}\n`;
  const tenantsYaml = `${law}  - id: shop
    display_name: "Shop"
    hostnames: ["localhost"]
    providers: [google]
`;
  const extra = `keys:
  master_key_file: ${masterKeyFile()}
clients:
  - client_id: ${OPS.id}
    client_secret_file: ${writeSecret(dir, 'ops', OPS.secret)}
    admin: true
    tenants: all
  - client_id: ${BACKEND.id}
    client_secret_file: ${writeSecret(dir, 'backend', BACKEND.secret)}
    tenants: [law, shop]
${extraConfig}`;
  if (beforeSekisho) await beforeSekisho(s.redis);
  s.sekisho = await startSekisho({
    dir, port, publicUrl: s.law, redisUrl: s.redis.url, idpBase: s.idp.base, secretFile,
    allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`], tenantsYaml, extra,
  });
  s.cfgFile = s.sekisho.cfgFile;

  /** sekishoctl with -c; resolves to { code, stdout, stderr, json } (never rejects). */
  s.ctl = async (...args) => {
    const argv = [...args, '-c', s.cfgFile];
    try {
      const { stdout, stderr } = await run(CTL, argv, { timeout: 20_000 });
      let json;
      try { json = JSON.parse(stdout); } catch { /* not --json */ }
      return { code: 0, stdout, stderr, json };
    } catch (e) {
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };

  /** The admin API, as the admin client (default) or with auth (a header value). */
  s.admin = async (method, tenant, p, { body, auth } = {}) => {
    const headers = {
      authorization: auth ?? `Basic ${Buffer.from(`${OPS.id}:${OPS.secret}`).toString('base64')}`,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${s.law}/admin/v1/tenants/${tenant}/${p}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch { /* empty or not JSON */ }
    return { status: r.status, json, text, headers: r.headers };
  };

  /** /auth/verify for the session in jar at base: { status, roles, user, token }. */
  s.verify = async (jar, base) => {
    const r = await follow(jar, `${base}/auth/verify`);
    return {
      status: r.status,
      roles: r.headers.get('x-auth-request-roles'),
      user: r.headers.get('x-auth-request-user'),
      token: r.headers.get('x-auth-request-access-token'),
    };
  };

  /** Introspection by the backend client: the JSON answer. */
  s.introspect = async (token) => {
    const r = await fetch(`${s.law}/oauth2/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${BACKEND.id}:${BACKEND.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    return r.json();
  };

  /** The tenant's events, newest first (the admin API's events endpoint). */
  s.events = async (tenant) => {
    const r = await s.admin('GET', tenant, 'events?limit=1000');
    if (r.status !== 200) throw new Error(`events: ${r.status} ${r.text}`);
    return Array.isArray(r.json) ? r.json : r.json.events;
  };

  s.stop = async () => {
    await s.sekisho?.stop();
    await s.idp?.stop();
    await s.redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return s;
}

// Helpers for tests of app sessions and backend clients: a config with a
// backend client (introspection) and a public app client, form POSTs,
// HTTP Basic, and the authorization-code flow of the app.
//
//   const app = appClients(dir);           // YAML for extraConfig
//   const { code, verifier } = await mintCode(stack.base, jar);
//   const tok = await exchange(stack.base, { code, verifier });
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { follow } from './harness.mjs';

// Secrets long enough for any minimum the config imposes; files 0600.
export const BACKEND = { id: 'billing-api', secret: 'billing-api-secret-0123456789abcdef-0123456789' };
export const APP = { id: 'com.example.app', redirect: 'http://127.0.0.1:9/cb' };

/** `clients:` YAML (top level) for BACKEND and APP; writes the secret file into dir. */
export function appClients(dir) {
  const secret = path.join(dir, 'billing.secret');
  fs.writeFileSync(secret, BACKEND.secret, { mode: 0o600 });
  return `clients:
  - client_id: ${BACKEND.id}
    client_secret_file: ${secret}
    tenants: [default]
  - client_id: ${APP.id}
    public: true
    tenants: [default]
    first_party: true
    redirect_uris: ["${APP.redirect}"]
`;
}

export function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A form POST; body parsed as JSON when it is JSON. */
export async function post(base, p, params, headers = {}) {
  const r = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body };
}

/** Introspection answer (the JSON body) as BACKEND. */
export async function introspect(base, token) {
  return (await post(base, '/oauth2/introspect', { token }, { authorization: basic(BACKEND.id, BACKEND.secret) })).body;
}

export function refresh(base, token) {
  return post(base, '/oauth2/token', { grant_type: 'refresh_token', client_id: APP.id, refresh_token: token });
}

export function exchange(base, { code, verifier }) {
  return post(base, '/oauth2/token', {
    grant_type: 'authorization_code', client_id: APP.id, code, redirect_uri: APP.redirect, code_verifier: verifier,
  });
}

/** A fresh code for APP from the browser session in jar (with its verifier). */
export async function mintCode(base, jar) {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const u = new URL(`${base}/oauth2/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: APP.id, redirect_uri: APP.redirect, state: 'st',
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const r = await follow(jar, u.href);
  assert.equal(r.status, 302);
  const code = new URL(r.headers.get('location')).searchParams.get('code');
  assert.ok(code, `a code (${r.headers.get('location')})`);
  return { code, verifier };
}

// Shared pieces of the hand-written provider stand-ins (entra.mjs, line.mjs,
// github.mjs): an HTTP server on 127.0.0.1, a sign-in form that
// tests/lib/idp-login.mjs's signInAtIdp() can drive (inputs #login and
// #password; the password of user X is "X-password"), single-use
// authorization codes bound to client, redirect_uri and the PKCE challenge,
// and a log of the requests received so tests can assert what Sekisho sent.
//
// These servers run inside the test process: tests change their behaviour
// by setting `server.mode` directly.

import crypto from 'node:crypto';
import http from 'node:http';

const CODE_TTL_MS = 60_000;

export const b64u = (buf) => Buffer.from(buf).toString('base64url');

export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

export async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

export function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export function redirect(res, url) {
  res.writeHead(303, { location: url, 'cache-control': 'no-store' });
  res.end();
}

/** Client credentials from HTTP Basic (RFC 6749 2.3.1 form-decoded) or the form. */
export function clientCredentials(req, form) {
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Basic ')) {
    const raw = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = raw.indexOf(':');
    if (i < 0) return { method: 'basic' };
    const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { method: 'basic', id: dec(raw.slice(0, i)), secret: dec(raw.slice(i + 1)) };
  }
  if (form.has('client_secret')) {
    return { method: 'post', id: form.get('client_id'), secret: form.get('client_secret') };
  }
  return { method: 'none', id: form.get('client_id') };
}

export function timingSafeStrEq(a, b) {
  const x = Buffer.from(String(a ?? ''));
  const y = Buffer.from(String(b ?? ''));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export const s256 = (verifier) => crypto.createHash('sha256').update(verifier).digest('base64url');

function loginForm(uid, { title, error, login = '' }) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${error ? `<p id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}">
<label for="login">User</label><input id="login" name="login" value="${esc(login)}">
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button>
</form></body></html>
`;
}

/**
 * A small authorization server core. Options:
 *   name        page title
 *   users       Map login -> user object (anything; handed back in codes)
 *   routes      async (req, res, url, srv) => true when handled
 * The returned object has base, port, mode ('normal' unless a test sets
 * it), requests (log of {method, path, query, headers, body}), and:
 *   startInteraction(res, params)     shows the sign-in form for an
 *                                     authorization request
 *   takeCode(code)                    single-use lookup (undefined when
 *                                     unknown, used or expired)
 *   stop()
 */
export async function startAuthServer({ name, users, routes }) {
  const interactions = new Map(); // uid -> params
  const codes = new Map(); // code -> { user, params, expires }
  const srv = {
    mode: 'normal',
    requests: [],
    users,
    startInteraction(res, params) {
      const uid = crypto.randomBytes(12).toString('base64url');
      interactions.set(uid, params);
      sendHtml(res, 200, loginForm(uid, { title: name }));
    },
    takeCode(code) {
      const c = codes.get(code);
      codes.delete(code);
      if (!c || c.expires < Date.now()) return undefined;
      return c;
    },
  };

  async function interaction(req, res, uid) {
    const params = interactions.get(uid);
    if (!params) return sendHtml(res, 400, '<p id="error">unknown interaction</p>');
    if (req.method === 'GET') return sendHtml(res, 200, loginForm(uid, { title: name }));
    const form = new URLSearchParams(await readBody(req));
    const login = form.get('login') ?? '';
    const user = users.get(login);
    if (!user || !timingSafeStrEq(form.get('password'), `${login}-password`)) {
      return sendHtml(res, 401, loginForm(uid, { title: name, error: 'Invalid user or password.', login }));
    }
    interactions.delete(uid);
    const code = crypto.randomBytes(24).toString('base64url');
    codes.set(code, { user, login, params, expires: Date.now() + CODE_TTL_MS });
    const back = new URL(params.redirect_uri);
    back.searchParams.set('code', code);
    if (params.state !== undefined) back.searchParams.set('state', params.state);
    return redirect(res, back.href);
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const entry = {
      method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers,
    };
    srv.requests.push(entry);
    try {
      const m = /^\/interaction\/([\w-]+)$/.exec(url.pathname);
      if (m) return await interaction(req, res, m[1]);
      if (await routes(req, res, url, srv, entry)) return undefined;
      return sendJson(res, 404, { error: 'not_found' });
    } catch (err) {
      process.stderr.write(`${name}: ${req.method} ${url.pathname}: ${err.stack}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.end();
      return undefined;
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  srv.port = server.address().port;
  srv.base = `http://127.0.0.1:${srv.port}`;
  srv.issueCode = (user, params) => {
    const code = crypto.randomBytes(24).toString('base64url');
    codes.set(code, { user, params, expires: Date.now() + CODE_TTL_MS });
    return code;
  };
  srv.stop = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return srv;
}

/**
 * Checks an authorization request's common parameters against the
 * registered clients (Map client_id -> {redirect_uris}); answers 400 and
 * returns undefined when they are wrong.
 */
export function checkAuthorize(res, url, clients, { requirePkce = true } = {}) {
  const q = Object.fromEntries(url.searchParams);
  const client = clients.get(q.client_id);
  if (!client || !client.redirect_uris.includes(q.redirect_uri)) {
    sendHtml(res, 400, '<p id="error">unknown client or redirect_uri</p>');
    return undefined;
  }
  if (q.response_type !== 'code' || !q.state) {
    sendHtml(res, 400, '<p id="error">response_type=code and state are required</p>');
    return undefined;
  }
  if (requirePkce && (q.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge ?? ''))) {
    sendHtml(res, 400, '<p id="error">PKCE S256 is required</p>');
    return undefined;
  }
  return q;
}

/**
 * Checks a token request (authorization_code grant) and returns the code's
 * record, or answers with an OAuth error (as JSON, with `errorStatus`) and
 * returns undefined. opts: auth ('basic' | 'post' | 'any').
 */
export function checkTokenRequest(req, res, form, srv, clients, { auth = 'any', errorStatus = 400 } = {}) {
  const fail = (error, desc) => { sendJson(res, errorStatus, { error, error_description: desc }); return undefined; };
  const cred = clientCredentials(req, form);
  if (auth !== 'any' && cred.method !== auth) return fail('invalid_client', `client authentication must be ${auth}`);
  const client = clients.get(cred.id);
  if (!client || !timingSafeStrEq(cred.secret, client.client_secret)) return fail('invalid_client', 'bad client credentials');
  if ((form.get('grant_type') ?? 'authorization_code') !== 'authorization_code') return fail('unsupported_grant_type', 'code only');
  const c = srv.takeCode(form.get('code') ?? '');
  if (!c) return fail('invalid_grant', 'unknown or used code');
  if (c.params.client_id !== cred.id) return fail('invalid_grant', 'code of another client');
  if (form.get('redirect_uri') !== c.params.redirect_uri) return fail('invalid_grant', 'redirect_uri differs');
  if (c.params.code_challenge && s256(form.get('code_verifier') ?? '') !== c.params.code_challenge) {
    return fail('invalid_grant', 'PKCE verification failed');
  }
  return c;
}

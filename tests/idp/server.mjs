#!/usr/bin/env node
// Sekisho test IdP — a local OpenID provider standing in for Google in the
// demo and the integration tests. Built on the real `oidc-provider` package;
// only the interaction (sign-in) pages and the deliberate misbehaviours below
// are written here.
//
// Usage:
//   node tests/idp/server.mjs --port 9400 --client-id sekisho-local \
//     --client-secret-file /path/secret \
//     --redirect-uri http://127.0.0.1:8080/callback/google [--redirect-uri ...] \
//     [--issuer http://127.0.0.1:9400] [--verbose]
//
//   --port 0 picks a free port; the issuer then defaults to the real port.
//   Listens on 127.0.0.1 only. Prints exactly one line
//     idp listening on http://127.0.0.1:PORT
//   on stdout when ready. With --verbose, one line per request on stderr.
//
// Test users (hard-coded):
//   login   password         sub             email              email_verified  name
//   alice   alice-password   alice-sub-0001  alice@example.com  true            Alice Example
//   bob     bob-password     bob-sub-0002    bob@example.org    false           Bob Example
//   mallory mallory-password mallory-sub-0003 (markup in the e-mail and the name: the pages' escaping)
//   eve     eve-password     eve-sub-0004     (the same, another user)
//
// The single client is confidential (client_secret_basic or client_secret_post),
// response_type code, grant authorization_code, id_token signed ES256, PKCE S256
// required. Scopes: openid email profile. Consent is granted automatically.
//
// Test endpoints (not part of OIDC):
//   GET  /__test/mode                 -> {"mode": "<current>"}
//   POST /__test/mode {"mode":"..."}  -> sets the mode until set back to "normal"
//   POST /__test/rotate-keys          -> new ES256 signing key with a new kid; the
//                                        old key disappears from the JWKS
//
// Modes (all but access_denied act on the id_token in the /token response):
//   normal          untouched
//   wrong_aud       aud "someone-else", re-signed with the real key (same kid)
//   wrong_iss       iss "http://127.0.0.1:1/evil", re-signed with the real key
//   expired         exp now-600, iat now-1200, re-signed with the real key
//   bad_sig         original token with signature bytes altered (same length)
//   alg_none        header {"alg":"none","typ":"JWT"}, original claims, empty signature
//   hs256_pubkey    HS256, real kid, HMAC key = the real public key as SPKI PEM
//                   (OpenSSL form, with trailing newline)
//   nonce_mismatch  nonce "not-the-nonce", re-signed with the real key
//   unknown_kid     signed by a fresh ES256 key whose kid is not in the JWKS
//   access_denied   GET /auth redirects to the redirect_uri with
//                   error=access_denied&error_description=...&state=...&iss=...
//   token_error     /token answers 400 {"error":"invalid_grant",...}
//   token_hang      /token never answers (the request is held until the
//                   client gives up)
//   discovery_hang  /.well-known/openid-configuration never answers
//   token_redirect  /token answers 307 to the mode's "target" URL (POST
//                   {"mode":"token_redirect","target":"http://..."}): a client
//                   following it would repeat the code, the PKCE verifier and
//                   the client credentials there
//   token_redirect_308  the same with 308
//   discovery_redirect  the discovery document answers 302 to "target"
//   jwks_redirect   the JWKS answers 302 to "target"
//   token_huge      /token answers 200 with a JSON object of 1.5 MiB
//   jwks_huge       the JWKS answers 200 with a JSON object of 1.5 MiB

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider from 'oidc-provider';

import SharedMemoryAdapter from './memory-adapter.mjs';

// ---------------------------------------------------------------- arguments

function usage(msg) {
  process.stderr.write(`idp: ${msg}\n`
    + 'usage: node tests/idp/server.mjs --port N --client-id ID --client-secret-file FILE '
    + '--redirect-uri URI [--redirect-uri URI ...] [--issuer URL] [--verbose]\n');
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret-file': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      issuer: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  usage(err.message);
}

const port = Number(args.port);
if (args.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) usage('--port is required (0-65535)');
if (!args['client-id']) usage('--client-id is required');
if (!args['client-secret-file']) usage('--client-secret-file is required');
if (!args['redirect-uri']?.length) usage('at least one --redirect-uri is required');

let clientSecret;
try {
  // Secret files usually end with a newline; it is not part of the secret.
  clientSecret = fs.readFileSync(args['client-secret-file'], 'utf8').replace(/\r?\n$/, '');
} catch (err) {
  usage(`cannot read --client-secret-file: ${err.message}`);
}
if (!clientSecret) usage('client secret file is empty');

const CLIENT_ID = args['client-id'];
const REDIRECT_URIS = args['redirect-uri'];
for (const uri of REDIRECT_URIS) {
  try { new URL(uri); } catch { usage(`invalid --redirect-uri ${uri}`); }
}

// -------------------------------------------------------------------- users

const USERS = new Map([
  ['alice', {
    password: 'alice-password',
    claims: { sub: 'alice-sub-0001', email: 'alice@example.com', email_verified: true, name: 'Alice Example' },
  }],
  ['bob', {
    password: 'bob-password',
    claims: { sub: 'bob-sub-0002', email: 'bob@example.org', email_verified: false, name: 'Bob Example' },
  }],
  // Markup in every claim a page may show (tests/browser/pages.test.mjs).
  ['mallory', {
    password: 'mallory-password',
    claims: {
      sub: 'mallory-sub-0003', email: "o'mal+<i>x</i>@example.com", email_verified: true,
      name: '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">Mallory',
    },
  }],
  ['eve', {
    password: 'eve-password',
    claims: {
      sub: 'eve-sub-0004', email: 'eve"<i>x</i>@example.com', email_verified: true,
      name: '<script>window.__pwned=1</script>"\' onmouseover="window.__pwned=5" Eve',
    },
  }],
]);
const ACCOUNTS = new Map([...USERS.values()].map((u) => [u.claims.sub, u.claims]));

// --------------------------------------------------------------------- keys

// Signing key state. A rotation replaces it and rebuilds the provider (its
// keystore is fixed at construction); state lives in SharedMemoryAdapter, so
// sessions, interactions, codes and grants survive the rebuild.
async function newSigningKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const kid = `idp-es256-${crypto.randomBytes(6).toString('hex')}`;
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const publicJwk = await jose.exportJWK(publicKey);
  // Exactly what OpenSSL's PEM_write_bio_PUBKEY would produce (trailing
  // newline included), i.e. what a C relying party would most likely have
  // at hand if it confused the public key with an HMAC secret.
  const publicPem = crypto.createPublicKey({ key: publicJwk, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' });
  return { kid, privateKey, jwk, publicPem };
}

// Cookie signing keys are kept across rotations so existing cookies stay valid.
const COOKIE_KEYS = [crypto.randomBytes(32).toString('base64url')];

// ---------------------------------------------------------------- test mode

const MODES = new Set([
  'normal', 'wrong_aud', 'wrong_iss', 'expired', 'bad_sig', 'alg_none',
  'hs256_pubkey', 'nonce_mismatch', 'unknown_kid',
  'access_denied', 'token_error', 'token_hang', 'discovery_hang',
  'token_redirect', 'token_redirect_308', 'discovery_redirect', 'jwks_redirect',
  'token_huge', 'jwks_huge',
]);

// Where the *_redirect modes send clients.
let redirectTarget = 'http://127.0.0.1:1/';

function redirectTo(ctx, status) {
  ctx.status = status;
  ctx.set('location', redirectTarget);
  ctx.set('cache-control', 'no-store');
  ctx.body = '';
}

// 1.5 MiB of valid JSON: above the 1 MiB any sane client accepts.
const hugeJson = () => ({ keys: [], padding: 'x'.repeat(1536 * 1024) });

// Holds a request without answering until its client goes away (a hung
// provider as Sekisho sees it: connected, silent).
function hang(ctx) {
  ctx.respond = false;
  return new Promise((resolve) => { ctx.req.socket.once('close', resolve); });
}
let mode = 'normal';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

// Re-mints (or mangles) an id_token issued by the provider according to `mode`.
async function tamperIdToken(idToken, key) {
  const header = jose.decodeProtectedHeader(idToken);
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const resign = (payload, signWith = key.privateKey, kid = key.kid) => new jose.SignJWT(payload)
    .setProtectedHeader({ ...header, alg: 'ES256', kid })
    .sign(signWith);
  // HS256 over header.payload with an arbitrary byte string as the HMAC key
  // (jose refuses to treat public key material as an HMAC secret, which is the
  // point of this attack, so it is done by hand).
  const hs256 = (secret) => {
    const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: header.typ ?? 'JWT', kid: key.kid }))}.${b64u(JSON.stringify(claims))}`;
    return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
  };

  switch (mode) {
    case 'wrong_aud': return resign({ ...claims, aud: 'someone-else' });
    case 'wrong_iss': return resign({ ...claims, iss: 'http://127.0.0.1:1/evil' });
    case 'expired': return resign({ ...claims, exp: now - 600, iat: now - 1200 });
    case 'nonce_mismatch': return resign({ ...claims, nonce: 'not-the-nonce' });
    case 'unknown_kid': {
      const { privateKey } = await jose.generateKeyPair('ES256');
      return resign(claims, privateKey, `unknown-${crypto.randomBytes(6).toString('hex')}`);
    }
    case 'bad_sig': {
      const [h, p, s] = idToken.split('.');
      const sig = Buffer.from(s, 'base64url');
      // Same length, different bytes: structurally valid, cryptographically wrong.
      for (const i of [0, sig.length >> 1, sig.length - 1]) sig[i] ^= 0x5a;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }
    case 'alg_none': {
      const [, p] = idToken.split('.');
      return `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`;
    }
    case 'hs256_pubkey': return hs256(Buffer.from(key.publicPem, 'utf8'));
    default: return idToken;
  }
}

// -------------------------------------------------------------------- pages

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:22em;margin:3em auto}label,input,button{display:block;margin:.4em 0}
.error{color:#b00020}</style></head>
<body>${body}</body></html>
`;
}

function loginForm(uid, { clientId, login = '', error } = {}) {
  return page('Sign in — Sekisho test IdP', `<h1>Test IdP sign-in</h1>
<p>Signing in to <code>${esc(clientId)}</code></p>
${error ? `<p class="error" id="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}" autocomplete="off">
<label for="login">Username</label><input id="login" name="login" value="${esc(login)}" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button id="submit" type="submit">Sign in</button>
</form>`);
}

// ------------------------------------------------------------------ helpers

async function readBody(ctx, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) ctx.throw(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

// Grant for everything this IdP knows (openid email profile), created in code
// so that no consent page is ever shown.
async function autoGrant(provider, details, accountId) {
  const clientId = details.params.client_id;
  let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  // A grant left over from a different account (re-login as someone else) is not reused.
  if (!grant || grant.accountId !== accountId || grant.clientId !== clientId) {
    grant = new provider.Grant({ accountId, clientId });
  }
  grant.addOIDCScope('openid email profile');
  return grant.save();
}

// -------------------------------------------------------------- provider

function buildProvider(issuer, key) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: clientSecret,
      redirect_uris: REDIRECT_URIS,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    }],
    // oidc-provider treats client_secret_basic and client_secret_post as
    // interchangeable for a client registered with either, so both work.
    // Basic credentials are decoded as RFC 6749 §2.3.1 says (form-urlencoded
    // id and secret): a secret with '+' or '%' must be encoded by the client.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: { keys: [key.jwk] },
    adapter: SharedMemoryAdapter,
    cookies: {
      keys: COOKIE_KEYS,
      // Browsers do not separate cookies by port, so on 127.0.0.1 these would
      // share a jar with the relying party's: avoid generic names like `_session`.
      names: { session: 'idp_session', interaction: 'idp_interaction', resume: 'idp_interaction_resume' },
    },
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Default (true) keeps scope-derived claims out of the id_token in the code
    // flow and only serves them at userinfo. Google puts email & co. in the
    // id_token and that is what Sekisho reads, so do the same.
    conformIdTokenClaims: false,
    // Sekisho always sends PKCE; requiring it for the confidential client too
    // makes the IdP catch a regression. Only S256 is supported by oidc-provider 9.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
    },
    responseTypes: ['code'],
    findAccount: (ctx, sub) => {
      const claims = ACCOUNTS.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: () => ({ ...claims }) };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // Explicit TTLs (defaults print "you SHOULD change it" notices on first use).
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
    },
    // The default error page pulls a web font from the internet.
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('IdP error', `<h1>IdP error</h1><pre id="error">${esc(out.error)}: ${esc(out.error_description ?? '')}</pre>`);
    },
  });

  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`idp: server_error ${ctx?.method} ${ctx?.path}: ${err?.stack ?? err}\n`);
  });

  const tokenPath = provider.pathFor('token');
  const authPath = provider.pathFor('authorization');
  const jwksPath = provider.pathFor('jwks');

  // provider.use() inserts middleware in front of oidc-provider's own router,
  // so these run first and may wrap (await next()) or replace its routes.
  provider.use(async (ctx, next) => {
    // --- test control endpoints
    if (ctx.path === '/__test/mode') {
      if (ctx.method === 'GET') return json(ctx, 200, { mode });
      if (ctx.method !== 'POST') return json(ctx, 405, { error: 'method_not_allowed' });
      let wanted;
      let target;
      try { ({ mode: wanted, target } = JSON.parse(await readBody(ctx))); } catch { /* handled below */ }
      if (!MODES.has(wanted)) return json(ctx, 400, { error: 'unknown_mode', modes: [...MODES] });
      if (target !== undefined) {
        try { redirectTarget = new URL(target).href; } catch { return json(ctx, 400, { error: 'bad_target' }); }
      }
      mode = wanted;
      return json(ctx, 200, { mode });
    }
    if (ctx.path === '/__test/rotate-keys') {
      if (ctx.method !== 'POST') return json(ctx, 405, { error: 'method_not_allowed' });
      const old = current.key.kid;
      await rotate();
      return json(ctx, 200, { old_kid: old, kid: current.key.kid });
    }

    // --- sign-in pages
    const m = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
    if (m) return interaction(ctx, provider, m[1]);

    // --- misbehaviours
    if (ctx.path === authPath && ctx.method === 'GET' && mode === 'access_denied') {
      const q = ctx.query;
      // Only redirect to a registered redirect_uri of the known client; anything
      // else falls through to the provider, which renders the proper error.
      if (q.client_id === CLIENT_ID && REDIRECT_URIS.includes(q.redirect_uri)) {
        const target = new URL(q.redirect_uri);
        target.searchParams.set('error', 'access_denied');
        target.searchParams.set('error_description', 'The user denied the request (test mode access_denied)');
        if (q.state !== undefined) target.searchParams.set('state', q.state);
        target.searchParams.set('iss', issuer); // RFC 9207, as oidc-provider sends on success
        ctx.status = 303;
        return ctx.redirect(target.href);
      }
    }

    if (ctx.path === '/.well-known/openid-configuration' && mode === 'discovery_hang') {
      return hang(ctx);
    }
    if (ctx.path === '/.well-known/openid-configuration' && mode === 'discovery_redirect') {
      return redirectTo(ctx, 302);
    }
    if (ctx.path === jwksPath && mode === 'jwks_redirect') return redirectTo(ctx, 302);
    if (ctx.path === jwksPath && mode === 'jwks_huge') return json(ctx, 200, hugeJson());

    if (ctx.path === tokenPath && ctx.method === 'POST') {
      if (mode === 'token_hang') return hang(ctx);
      if (mode === 'token_redirect') return redirectTo(ctx, 307);
      if (mode === 'token_redirect_308') return redirectTo(ctx, 308);
      if (mode === 'token_huge') return json(ctx, 200, hugeJson());
      if (mode === 'token_error') {
        return json(ctx, 400, { error: 'invalid_grant', error_description: 'test mode token_error' });
      }
      await next();
      if (mode !== 'normal' && ctx.status === 200 && typeof ctx.body?.id_token === 'string') {
        ctx.body = { ...ctx.body, id_token: await tamperIdToken(ctx.body.id_token, key) };
      }
      return undefined;
    }

    return next();
  });

  return provider;
}

async function interaction(ctx, provider, uid) {
  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('IdP error', `<h1>Sign-in session not found</h1><pre id="error">${esc(err.message)}</pre>`);
    return;
  }
  if (details.uid !== uid) ctx.throw(400, 'interaction id mismatch');
  const clientId = details.params.client_id;
  ctx.set('cache-control', 'no-store');

  const finish = async (result) => {
    // interactionResult() returns the resume URL instead of writing the response itself.
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
  };

  if (details.prompt.name === 'consent') {
    // Already signed in (SSO session) but the grant is missing something: grant it.
    const grantId = await autoGrant(provider, details, details.session.accountId);
    return finish({ consent: { grantId } });
  }

  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginForm(uid, { clientId });
    return undefined;
  }
  if (ctx.method !== 'POST') ctx.throw(405);

  const form = new URLSearchParams(await readBody(ctx));
  const login = form.get('login') ?? '';
  const user = USERS.get(login);
  // Constant-time compare is pointless for fixed test passwords but costs nothing.
  const given = Buffer.from(form.get('password') ?? '');
  const ok = user && given.length === user.password.length
    && crypto.timingSafeEqual(given, Buffer.from(user.password));
  if (!ok) {
    ctx.status = 401;
    ctx.type = 'html';
    ctx.body = loginForm(uid, { clientId, login, error: 'Invalid username or password.' });
    return undefined;
  }

  const accountId = user.claims.sub;
  const grantId = await autoGrant(provider, details, accountId);
  return finish({ login: { accountId }, consent: { grantId } });
}

// ------------------------------------------------------------------ server

let current; // { provider, handler, key }
let issuer;

async function rotate() {
  const key = await newSigningKey();
  const provider = buildProvider(issuer, key);
  current = { provider, handler: provider.callback(), key };
}

const server = http.createServer((req, res) => {
  if (args.verbose) {
    const started = Date.now();
    res.on('finish', () => process.stderr.write(
      `idp: ${req.method} ${req.url.split('?')[0]} ${res.statusCode} ${Date.now() - started}ms\n`,
    ));
  }
  if (!current) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('starting\n');
    return;
  }
  current.handler(req, res);
});

server.on('error', (err) => {
  process.stderr.write(`idp: ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', async () => {
  const actualPort = server.address().port;
  issuer = args.issuer ?? `http://127.0.0.1:${actualPort}`;
  await rotate();
  process.stdout.write(`idp listening on http://127.0.0.1:${actualPort}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { server.close(); server.closeAllConnections(); process.exit(0); });
}

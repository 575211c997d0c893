// A stand-in for Google's OpenID provider, on the real `oidc-provider`
// package configured with Google's token shapes: RS256 id_tokens carrying
// email, email_verified (a JSON boolean) and hd for Workspace accounts,
// client_secret_basic, PKCE S256. Runs inside the test process.
//
// server.mode (set by tests):
//   normal                 as issued by oidc-provider
//   legacy_iss             iss is the issuer without its scheme (Google's
//                          legacy "accounts.google.com" form), re-signed
//                          with the real key
//   email_verified_string  email_verified is the string "true", re-signed
//   wrong_iss              iss "https://evil.example", re-signed
//
// users: {login: {sub, email, email_verified, hd?, name}}; the password of
// user X is "X-password".

import crypto from 'node:crypto';
import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

import SharedMemoryAdapter from '../idp/memory-adapter.mjs';
import { esc, readBody, timingSafeStrEq } from './common.mjs';

function loginForm(uid, error) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Google stand-in</title></head>
<body><h1>Google stand-in</h1>${error ? `<p id="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}">
<input id="login" name="login"><input id="password" name="password" type="password">
<button type="submit">Next</button></form></body></html>
`;
}

export async function startGoogle({ clientId, clientSecret, redirectUris, users }) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = `google-${crypto.randomBytes(4).toString('hex')}`;
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const accounts = new Map(Object.values(users).map((u) => [u.sub, u]));
  const srv = { mode: 'normal', requests: [] };

  const server = http.createServer((req, res) => {
    srv.requests.push({ method: req.method, path: req.url.split('?')[0], headers: req.headers });
    srv.handler(req, res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  srv.port = server.address().port;
  srv.base = `http://127.0.0.1:${srv.port}`;
  const issuer = srv.base;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    jwks: { keys: [jwk] },
    adapter: SharedMemoryAdapter,
    cookies: {
      keys: [crypto.randomBytes(32).toString('base64url')],
      names: { session: 'g_session', interaction: 'g_interaction', resume: 'g_resume' },
    },
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub', 'hd'], email: ['email', 'email_verified'], profile: ['name'] },
    // Google puts the scope's claims in the id_token of the code flow.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    responseTypes: ['code'],
    findAccount: (ctx, sub) => {
      const u = accounts.get(sub);
      if (!u) return undefined;
      return {
        accountId: sub,
        claims: () => {
          const c = { sub, email: u.email, email_verified: u.email_verified, name: u.name };
          if (u.hd) c.hd = u.hd;
          return c;
        },
      };
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 600, Grant: 600 },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<p id="error">${esc(out.error)}: ${esc(out.error_description ?? '')}</p>`;
    },
  });

  const grant = async (details, accountId) => {
    const g = new provider.Grant({ accountId, clientId: details.params.client_id });
    g.addOIDCScope('openid email profile');
    return g.save();
  };

  const resign = (claims, header) => new jose.SignJWT(claims)
    .setProtectedHeader({ ...header, alg: 'RS256', kid }).sign(privateKey);

  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
    if (m) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      ctx.set('cache-control', 'no-store');
      const finish = async (result) => {
        const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
        ctx.status = 303;
        ctx.redirect(to);
      };
      if (details.prompt.name === 'consent') {
        return finish({ consent: { grantId: await grant(details, details.session.accountId) } });
      }
      if (ctx.method === 'GET') {
        ctx.type = 'html';
        ctx.body = loginForm(m[1]);
        return undefined;
      }
      const form = new URLSearchParams(await readBody(ctx.req));
      const login = form.get('login') ?? '';
      const u = users[login];
      if (!u || !timingSafeStrEq(form.get('password'), `${login}-password`)) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginForm(m[1], 'Wrong password.');
        return undefined;
      }
      return finish({ login: { accountId: u.sub }, consent: { grantId: await grant(details, u.sub) } });
    }
    if (ctx.path === provider.pathFor('token') && ctx.method === 'POST') {
      await next();
      if (srv.mode !== 'normal' && ctx.status === 200 && typeof ctx.body?.id_token === 'string') {
        const header = jose.decodeProtectedHeader(ctx.body.id_token);
        const claims = jose.decodeJwt(ctx.body.id_token);
        if (srv.mode === 'legacy_iss') claims.iss = issuer.replace(/^https?:\/\//, '');
        if (srv.mode === 'email_verified_string') claims.email_verified = 'true';
        if (srv.mode === 'wrong_iss') claims.iss = 'https://evil.example';
        ctx.body = { ...ctx.body, id_token: await resign(claims, header) };
      }
      return undefined;
    }
    return next();
  });
  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`google stand-in: server_error ${ctx?.method} ${ctx?.path}: ${err?.stack ?? err}\n`);
  });
  srv.handler = provider.callback();
  srv.stop = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return srv;
}

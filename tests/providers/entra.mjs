// A stand-in for Microsoft Entra ID's v2.0 endpoints, with the token shapes
// a multi-tenant relying party meets (hand-written on `jose`: oidc-provider
// cannot serve an issuer template).
//
//   GET  /{tenant}/v2.0/.well-known/openid-configuration
//          tenant common | organizations -> issuer {base}/{tenantid}/v2.0
//          (the template), consumers -> {base}/9188040d-.../v2.0, a GUID ->
//          {base}/{GUID}/v2.0
//   GET  /{tenant}/oauth2/v2.0/authorize   sign-in form (user / user-password)
//   POST /{tenant}/oauth2/v2.0/token       client_secret_basic or _post, PKCE
//   GET  /{tenant}/discovery/v2.0/keys     RS256 JWKS
//
// id_tokens: RS256 with kid, ver 2.0, iss = {base}/{user's tid}/v2.0, the
// user's tid and oid, a pairwise sub (differs per client_id, like Entra's),
// aud = client_id, nonce, name, preferred_username, email when the user has
// one (unverified, as Entra's).
//
// server.mode (set by tests):
//   normal          as above
//   iss_other_tid   iss names another directory than the token's tid
//   tid_missing     no tid claim
//   no_oid          no oid claim

import crypto from 'node:crypto';

import * as jose from 'jose';

import { checkAuthorize, checkTokenRequest, readBody, sendJson, startAuthServer } from './common.mjs';

export const CONSUMERS_TID = '9188040d-6c67-4c5b-b112-36a304b66dad';
export const OTHER_TID = '00000000-1111-2222-3333-444444444444';

/**
 * clients: [{client_id, client_secret, redirect_uris}]
 * users: {login: {tid, oid, name, email?}}
 */
export async function startEntra({ clients, users }) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = `entra-${crypto.randomBytes(4).toString('hex')}`;
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  const clientMap = new Map(clients.map((c) => [c.client_id, c]));
  const userMap = new Map(Object.entries(users));

  const routes = async (req, res, url, srv, entry) => {
    const m = /^\/([a-z0-9-]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/authorize|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/.exec(url.pathname);
    if (!m) return false;
    const [, tenant, what] = m;
    const base = srv.base;
    if (what.startsWith('v2.0/.well-known')) {
      let dirIss;
      if (tenant === 'common' || tenant === 'organizations') dirIss = '{tenantid}';
      else if (tenant === 'consumers') dirIss = CONSUMERS_TID;
      else dirIss = tenant;
      sendJson(res, 200, {
        issuer: `${base}/${dirIss}/v2.0`,
        authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
        jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
        userinfo_endpoint: `${base}/oidc/userinfo`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'tid', 'oid', 'name', 'preferred_username', 'email', 'ver'],
      });
      return true;
    }
    if (what === 'discovery/v2.0/keys') {
      sendJson(res, 200, { keys: [jwk] });
      return true;
    }
    if (what === 'oauth2/v2.0/authorize') {
      const q = checkAuthorize(res, url, clientMap);
      if (q) srv.startInteraction(res, { ...q, tenant });
      return true;
    }
    // token
    const body = await readBody(req);
    entry.body = body;
    const form = new URLSearchParams(body);
    const c = checkTokenRequest(req, res, form, srv, clientMap);
    if (!c) return true;
    const u = c.user;
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      ver: '2.0',
      iss: `${base}/${u.tid}/v2.0`,
      sub: crypto.createHash('sha256').update(`${c.params.client_id}\0${u.oid}`).digest('base64url'),
      aud: c.params.client_id,
      iat: now,
      nbf: now,
      exp: now + 3600,
      nonce: c.params.nonce,
      tid: u.tid,
      oid: u.oid,
      name: u.name,
      preferred_username: u.preferred_username ?? u.email ?? `${u.oid}@example.invalid`,
    };
    if (u.email) claims.email = u.email;
    switch (srv.mode) {
      case 'iss_other_tid': claims.iss = `${base}/${OTHER_TID}/v2.0`; break;
      case 'tid_missing': delete claims.tid; break;
      case 'no_oid': delete claims.oid; break;
      default: break;
    }
    const idToken = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
    sendJson(res, 200, {
      token_type: 'Bearer', scope: c.params.scope, expires_in: 3600,
      access_token: crypto.randomBytes(32).toString('base64url'), id_token: idToken,
    });
    return true;
  };
  return startAuthServer({ name: 'Entra ID stand-in', users: userMap, routes });
}

// A stand-in for LINE Login v2.1 with LINE's token shapes.
//
//   GET  /.well-known/openid-configuration   (lists ES256 only, and no
//                                             token_endpoint_auth_methods,
//                                             like LINE's)
//   GET  /oauth2/v2.1/authorize              sign-in form (user / user-password)
//   POST /oauth2/v2.1/token                  client_id + client_secret in the
//                                             body only (LINE refuses Basic)
//   GET  /oauth2/v2.1/certs                  ES256 JWKS
//
// id_tokens: iss, sub (U + 32 hex), aud = channel id, exp, iat, nonce, amr,
// name, picture; email only when the user has one and scope has "email".
//
// server.mode (set by tests):
//   normal              HS256 keyed with the channel secret, no kid (web login)
//   es256               ES256 with the JWKS key's kid (native SDK shape)
//   hs256_wrong_secret  HS256 keyed with a different secret
//   hs256_pubkey        HS256 keyed with the JWKS public key (SPKI PEM), with
//                       that key's kid: the algorithm-confusion attack

import crypto from 'node:crypto';

import * as jose from 'jose';

import { b64u, checkAuthorize, checkTokenRequest, readBody, sendJson, startAuthServer } from './common.mjs';

function hs256(claims, secret, header = {}) {
  const input = `${b64u(JSON.stringify({ typ: 'JWT', alg: 'HS256', ...header }))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * channelId, channelSecret, redirectUris; users: {login: {sub, name, email?, amr?}}
 */
export async function startLine({ channelId, channelSecret, redirectUris, users }) {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const kid = `line-${crypto.randomBytes(4).toString('hex')}`;
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, use: 'sig', alg: 'ES256' };
  const publicPem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const clients = new Map([[channelId, { client_id: channelId, client_secret: channelSecret, redirect_uris: redirectUris }]]);

  const routes = async (req, res, url, srv, entry) => {
    const base = srv.base;
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        sendJson(res, 200, {
          issuer: base,
          authorization_endpoint: `${base}/oauth2/v2.1/authorize`,
          token_endpoint: `${base}/oauth2/v2.1/token`,
          revocation_endpoint: `${base}/oauth2/v2.1/revoke`,
          userinfo_endpoint: `${base}/oauth2/v2.1/userinfo`,
          scopes_supported: ['openid', 'profile', 'email'],
          jwks_uri: `${base}/oauth2/v2.1/certs`,
          response_types_supported: ['code'],
          subject_types_supported: ['pairwise'],
          id_token_signing_alg_values_supported: ['ES256'],
          code_challenge_methods_supported: ['S256'],
        });
        return true;
      case '/oauth2/v2.1/certs':
        sendJson(res, 200, { keys: [jwk] });
        return true;
      case '/oauth2/v2.1/authorize': {
        const q = checkAuthorize(res, url, clients);
        if (q) srv.startInteraction(res, q);
        return true;
      }
      case '/oauth2/v2.1/token': {
        const body = await readBody(req);
        entry.body = body;
        const c = checkTokenRequest(req, res, new URLSearchParams(body), srv, clients, { auth: 'post' });
        if (!c) return true;
        const u = c.user;
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          iss: base, sub: u.sub, aud: channelId, exp: now + 3600, iat: now,
          nonce: c.params.nonce, amr: u.amr ?? ['linesso'], name: u.name,
          picture: `https://profile.line-scdn.example/${u.sub}`,
        };
        if (u.email && (c.params.scope ?? '').split(' ').includes('email')) claims.email = u.email;
        let idToken;
        switch (srv.mode) {
          case 'es256':
            idToken = await new jose.SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg: 'ES256', kid }).sign(privateKey);
            break;
          case 'hs256_wrong_secret':
            idToken = hs256(claims, `${channelSecret}-not`);
            break;
          case 'hs256_pubkey':
            idToken = hs256(claims, Buffer.from(publicPem, 'utf8'), { kid });
            break;
          default:
            idToken = hs256(claims, channelSecret);
        }
        sendJson(res, 200, {
          access_token: crypto.randomBytes(32).toString('base64url'), expires_in: 2592000,
          id_token: idToken, refresh_token: crypto.randomBytes(16).toString('base64url'),
          scope: c.params.scope, token_type: 'Bearer',
        });
        return true;
      }
      default:
        return false;
    }
  };
  return startAuthServer({ name: 'LINE Login stand-in', users: new Map(Object.entries(users)), routes });
}

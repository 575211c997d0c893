// A stand-in for GitHub's OAuth app endpoints and the two REST calls a
// sign-in needs, with GitHub's shapes and habits:
//
//   GET  /login/oauth/authorize      sign-in form (user / user-password);
//                                     PKCE S256 required here
//   POST /login/oauth/access_token   client_id + client_secret + code +
//                                     code_verifier in the body; answers JSON
//                                     only with Accept: application/json
//                                     (form-encoded otherwise, as GitHub);
//                                     a bad code is HTTP 200 {"error": ...}
//   GET  /user                        needs a token and a User-Agent (403
//                                     without one, as GitHub); numeric id
//   GET  /user/emails                 needs the user:email scope (404 without)
//
// server.mode (set by tests): normal | token_error (every code refused with
// HTTP 200 bad_verification_code).

import crypto from 'node:crypto';

import { checkAuthorize, checkTokenRequest, readBody, sendJson, startAuthServer } from './common.mjs';

/**
 * clientId, clientSecret, redirectUris;
 * users: {login: {id, login, name, email (public or null), emails: [...]}}
 */
export async function startGitHub({ clientId, clientSecret, redirectUris, users }) {
  const clients = new Map([[clientId, { client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris }]]);
  const tokens = new Map(); // access token -> { user, scopes }

  const bearer = (req) => {
    const m = /^(?:Bearer|token) (\S+)$/i.exec(req.headers.authorization ?? '');
    return m ? tokens.get(m[1]) : undefined;
  };

  const routes = async (req, res, url, srv, entry) => {
    switch (url.pathname) {
      case '/login/oauth/authorize': {
        const q = checkAuthorize(res, url, clients);
        if (q) srv.startInteraction(res, q);
        return true;
      }
      case '/login/oauth/access_token': {
        const body = await readBody(req);
        entry.body = body;
        const json = (req.headers.accept ?? '').includes('application/json');
        if (srv.mode === 'token_error') {
          sendJson(res, 200, {
            error: 'bad_verification_code',
            error_description: 'The code passed is incorrect or expired.',
            error_uri: 'https://docs.github.com/apps/troubleshooting',
          });
          return true;
        }
        const c = checkTokenRequest(req, res, new URLSearchParams(body), srv, clients, { auth: 'post', errorStatus: 200 });
        if (!c) return true;
        const token = `gho_${crypto.randomBytes(18).toString('base64url')}`;
        const scope = (c.params.scope ?? '').split(' ').filter(Boolean).join(',');
        tokens.set(token, { user: c.user, scopes: scope.split(',') });
        if (json) {
          sendJson(res, 200, { access_token: token, token_type: 'bearer', scope });
        } else {
          res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
          res.end(new URLSearchParams({ access_token: token, scope, token_type: 'bearer' }).toString());
        }
        return true;
      }
      case '/user':
      case '/user/emails': {
        if (!req.headers['user-agent']) {
          res.writeHead(403, { 'content-type': 'text/plain' });
          res.end('Request forbidden by administrative rules. Please make sure your request has a User-Agent header.\n');
          return true;
        }
        const t = bearer(req);
        if (!t) {
          sendJson(res, 401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
          return true;
        }
        const u = t.user;
        if (url.pathname === '/user') {
          sendJson(res, 200, {
            login: u.login, id: u.id, node_id: `U_${u.id}`, type: 'User', site_admin: false,
            name: u.name ?? null, email: u.email ?? null, avatar_url: `https://avatars.example/${u.id}`,
          });
          return true;
        }
        if (!t.scopes.includes('user:email') && !t.scopes.includes('user')) {
          sendJson(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
          return true;
        }
        sendJson(res, 200, u.emails ?? []);
        return true;
      }
      default:
        return false;
    }
  };
  return startAuthServer({ name: 'GitHub stand-in', users: new Map(Object.entries(users)), routes });
}

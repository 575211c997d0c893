// OAuth clients bound to tenants (issue 8 items 3, 7, 13; issue 9), end to
// end with a real redis-server and the test IdP. Two tenants found by Host:
// "law" (127.0.0.1) and "shop" (localhost, its own `audience:`). Covers:
// - config: clients[].tenants required (a list of known ids, or `all`);
//   loopback look-alike redirect URIs refused by `sekisho -t`
// - per-tenant audience of access tokens ({tokens.audience}/tenants/{id} or
//   the tenant's own), verified by jose; a token signed with our key but
//   carrying the old shared audience or another tenant's is inactive
// - introspection: another tenant's access or refresh token is exactly
//   {"active": false} for a client not registered for it; `tenants: all`
//   sees both
// - revocation: another tenant's token is not revoked (still 200)
// - client authentication: client_secret_basic and client_secret_post; both
//   at once, a mismatching client_id, a missing or wrong secret: 401
// - /oauth2/authorize: an app of another tenant gets our error page, no
//   code; /oauth2/token: a code or refresh token of a tenant the client
//   lost is invalid_grant (and the family ends); another client's code
// - consent: first use of a non-first-party app asks (app name, tenant,
//   Approve / Deny); deny is error=access_denied; approval remembered per
//   user and per client only; cross-site POST refused; the form token is
//   single use and bound to the session; first_party apps are not asked
// - consent under a path prefix (public_url with a path): the form posts
//   under the prefix, like every other page of ours
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as jose from 'jose';
import {
  startRedis, startIdp, startSekisho, freePort, masterKeyFile, signIn, CookieJar, follow,
  SEKISHO_BIN, CLIENT_SECRET, tmpDir,
} from './harness.mjs';

const run = promisify(execFile);

// Long secrets, files mode 0600 (the config refuses weaker ones).
const LAW_API = { id: 'law-api', secret: 'law-api-secret-0123456789abcdef-0123456789' };
const SHOP_API = { id: 'shop-api', secret: 'shop-api-secret-0123456789abcdef-012345678' };
const OPS = { id: 'ops', secret: 'ops-secret-0123456789abcdef-0123456789abcdef' };
const LAW_APP = { id: 'jp.law.app', redirect: 'http://127.0.0.1:9/law', name: 'Law <Notes> & Co' };
const LAW_APP2 = { id: 'jp.law.calendar', redirect: 'http://127.0.0.1:9/cal' };
const SHOP_APP = { id: 'jp.shop.app', redirect: 'http://127.0.0.1:9/shop' };
const MULTI_APP = { id: 'jp.multi.app', redirect: 'http://127.0.0.1:9/multi' };
const SHOP_AUD = 'https://shop.example/api';

function writeSecret(dir, name, value) {
  const f = path.join(dir, `${name}.secret`);
  fs.writeFileSync(f, value, { mode: 0o600 });
  return f;
}

function tenantsYaml() {
  return `  - id: law
    display_name: "Law Office"
    hostnames: ["127.0.0.1"]
    providers: [google]
  - id: shop
    display_name: "Shop"
    hostnames: ["localhost"]
    providers: [google]
    audience: "${SHOP_AUD}"
`;
}

function clientsYaml(dir, { multiTenants = '[law, shop]' } = {}) {
  return `clients:
  - client_id: ${LAW_API.id}
    client_secret_file: ${writeSecret(dir, 'law', LAW_API.secret)}
    tenants: [law]
  - client_id: ${SHOP_API.id}
    client_secret_file: ${writeSecret(dir, 'shop', SHOP_API.secret)}
    tenants: [shop]
  - client_id: ${OPS.id}
    client_secret_file: ${writeSecret(dir, 'ops', OPS.secret)}
    tenants: all
  - client_id: ${LAW_APP.id}
    display_name: "${LAW_APP.name}"
    public: true
    tenants: [law]
    redirect_uris: ["${LAW_APP.redirect}"]
  - client_id: ${LAW_APP2.id}
    public: true
    tenants: [law]
    redirect_uris: ["${LAW_APP2.redirect}"]
  - client_id: ${SHOP_APP.id}
    public: true
    first_party: true
    tenants: [shop]
    redirect_uris: ["${SHOP_APP.redirect}"]
  - client_id: ${MULTI_APP.id}
    public: true
    first_party: true
    tenants: ${multiTenants}
    redirect_uris: ["${MULTI_APP.redirect}"]
`;
}

/** redis + IdP (callbacks on both hosts) + sekisho; restart() swaps the clients. */
async function startClientsStack({ prefix = '' } = {}) {
  const dir = tmpDir('sekisho-it-clients-');
  const stack = { dir };
  stack.redis = await startRedis();
  const port = await freePort();
  stack.port = port;
  stack.law = `http://127.0.0.1:${port}`;
  stack.shop = `http://localhost:${port}`;
  const secretFile = writeSecret(dir, 'idp-client', `${CLIENT_SECRET}\n`);
  stack.idp = await startIdp({
    secretFile,
    redirectUris: [`${stack.law}${prefix}/callback/google`, `${stack.shop}${prefix}/callback/google`],
  });
  // File signing key: the test holds it, so it can sign tokens that are
  // right in every way but one claim.
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  stack.keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const keyFile = path.join(dir, 'signing.pem');
  fs.writeFileSync(keyFile, stack.keyPem, { mode: 0o600 });
  const keys = `keys:
  master_key_file: ${masterKeyFile()}
  signing_key_files: [${keyFile}]
`;
  stack.start = async (clientOpts) => {
    const skDir = fs.mkdtempSync(path.join(dir, 'sk-'));
    stack.sekisho = await startSekisho({
      dir: skDir, port, publicUrl: `${stack.law}${prefix}`, redisUrl: stack.redis.url, idpBase: stack.idp.base,
      secretFile, allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`],
      tenantsYaml: tenantsYaml(), extra: keys + clientsYaml(skDir, clientOpts),
    });
  };
  stack.restart = async (clientOpts) => {
    await stack.sekisho.stop();
    await stack.start(clientOpts);
  };
  stack.stop = async () => {
    await stack.sekisho?.stop();
    await stack.idp?.stop();
    await stack.redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  await stack.start();
  return stack;
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function post(base, p, params, headers = {}) {
  const r = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
    redirect: 'manual',
  });
  const text = await r.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, headers: r.headers, body };
}

const introspect = (base, token, client) => post(base, '/oauth2/introspect', { token },
  { authorization: basic(client.id, client.secret) });
const revoke = (base, token, client) => post(base, '/oauth2/revoke', { token },
  { authorization: basic(client.id, client.secret) });

async function signedIn(base, login = 'alice') {
  const jar = new CookieJar();
  const { res } = await signIn(jar, base, { login, password: `${login}-password` });
  assert.equal(res.status, 302, `sign-in at ${base}: ${res.status} ${res.body.slice(0, 200)}`);
  return jar;
}

async function accessToken(base, jar) {
  const r = await follow(jar, `${base}/auth/verify`);
  assert.equal(r.status, 200);
  return r.headers.get('x-auth-request-access-token');
}

function authorizeUrl(base, app, verifier, state = 'st-1') {
  const u = new URL(`${base}/oauth2/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: app.id, redirect_uri: app.redirect, state,
    code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return u.href;
}

/** GET /oauth2/authorize of a first-party app: the code from the redirect. */
async function codeFor(base, jar, app, verifier) {
  const r = await follow(jar, authorizeUrl(base, app, verifier));
  assert.equal(r.status, 302, `authorize: ${r.status} ${r.body.slice(0, 300)}`);
  const back = new URL(r.location);
  assert.equal(`${back.origin}${back.pathname}`, app.redirect);
  const code = back.searchParams.get('code');
  assert.ok(code, `code in ${r.location}`);
  return code;
}

const exchange = (base, app, code, verifier) => post(base, '/oauth2/token', {
  grant_type: 'authorization_code', client_id: app.id, code, redirect_uri: app.redirect, code_verifier: verifier,
});

async function appTokens(base, jar, app) {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const code = await codeFor(base, jar, app, verifier);
  const tok = await exchange(base, app, code, verifier);
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  return tok.body;
}

describe('config: clients bound to tenants', () => {
  let dir;
  before(() => { dir = tmpDir('sekisho-it-clients-cfg-'); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function check(clientYaml) {
    const secret = writeSecret(dir, 'c', LAW_API.secret);
    const cfg = path.join(dir, 'sekisho.yaml');
    fs.writeFileSync(cfg, `keys: { master_key_file: ${masterKeyFile()} }
public_url: "http://127.0.0.1:8080"
cookie: { secure: false }
redis: { url: "redis://127.0.0.1:6379/0" }
tenants:
  - { id: law, hostnames: [law.test], providers: [g] }
  - { id: shop, providers: [g] }
providers:
  - { id: g, type: oidc, client_id: x, client_secret_file: ${secret}, issuer: "http://127.0.0.1:9" }
clients:
${clientYaml}`);
    try {
      const { stdout, stderr } = await run(SEKISHO_BIN, ['-t', '-c', cfg]);
      return { code: 0, out: stdout + stderr };
    } catch (e) {
      return { code: e.code, out: `${e.stdout}${e.stderr}` };
    }
  }

  test('tenants is required, names known tenants, or is the word all', async () => {
    const secret = path.join(dir, 'c.secret');
    const r1 = await check(`  - { client_id: a, client_secret_file: ${secret} }\n`);
    assert.equal(r1.code, 1);
    assert.match(r1.out, /clients\[0\]\.tenants: missing \(required: /);
    const r2 = await check(`  - { client_id: a, client_secret_file: ${secret}, tenants: [law, nope] }\n`);
    assert.equal(r2.code, 1);
    assert.match(r2.out, /clients\[0\]\.tenants\[1\]: unknown tenant "nope" \(defined: law, shop\)/);
    const r3 = await check(`  - { client_id: a, client_secret_file: ${secret}, tenants: any }\n`);
    assert.equal(r3.code, 1);
    assert.match(r3.out, /clients\[0\]\.tenants: "any" is neither a list of tenant ids nor all/);
    const ok = await check(`  - { client_id: a, client_secret_file: ${secret}, tenants: all }
  - { client_id: b, client_secret_file: ${secret}, tenants: [shop, law] }\n`);
    assert.equal(ok.code, 0, ok.out);
  });

  test('loopback look-alike redirect URIs are refused', async () => {
    for (const uri of ['http://127.0.0.1.evil.com/cb', 'http://localhost.evil.com/cb',
      'http://localhost@evil.com/cb', 'http://[::1].evil.com/cb']) {
      const r = await check(`  - { client_id: app, public: true, tenants: all, redirect_uris: ["${uri}"] }\n`);
      assert.equal(r.code, 1, uri);
      assert.match(r.out, /clients\[0\]\.redirect_uris\[0\]: .* is not a redirect URI/, uri);
    }
    const ok = await check('  - { client_id: app, public: true, tenants: all, redirect_uris: ["http://127.0.0.1:43110/cb", "http://localhost/cb"] }\n');
    assert.equal(ok.code, 0, ok.out);
  });
});

describe('tokens and clients of two tenants', () => {
  let stack;
  before(async () => { stack = await startClientsStack(); });
  after(async () => { await stack?.stop(); });

  test('access tokens carry their tenant\'s audience', async () => {
    const jwks = jose.createRemoteJWKSet(new URL(`${stack.law}/jwks.json`));
    const law = await accessToken(stack.law, await signedIn(stack.law));
    const { payload: lp } = await jose.jwtVerify(law, jwks, {
      issuer: stack.law, audience: `${stack.law}/tenants/law`, algorithms: ['ES256'],
    });
    assert.equal(lp.tenant, 'law');
    const shop = await accessToken(stack.shop, await signedIn(stack.shop));
    const { payload: sp } = await jose.jwtVerify(shop, jwks, {
      issuer: stack.law, audience: SHOP_AUD, algorithms: ['ES256'],
    });
    assert.equal(sp.tenant, 'shop');
    // an app of law checking aud refuses shop's token
    await assert.rejects(jose.jwtVerify(shop, jwks, { issuer: stack.law, audience: `${stack.law}/tenants/law` }));

    // signed with our key, right in all but the audience: inactive
    const key = crypto.createPrivateKey(stack.keyPem);
    const { kid } = jose.decodeProtectedHeader(law);
    const sign = (claims) => new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(key);
    const good = jose.decodeJwt(law);
    assert.equal((await introspect(stack.law, await sign(good), OPS)).body.active, true, 'control');
    for (const aud of [stack.law, SHOP_AUD, `${stack.law}/tenants/shop`]) {
      const r = await introspect(stack.law, await sign({ ...good, aud }), OPS);
      assert.deepEqual(r.body, { active: false }, `aud ${aud}`);
    }
  });

  test('introspection shows a client only its own tenants\' tokens', async () => {
    const law = await accessToken(stack.law, await signedIn(stack.law));
    const shop = await accessToken(stack.shop, await signedIn(stack.shop, 'bob'));
    const a = await introspect(stack.law, law, LAW_API);
    assert.equal(a.status, 200);
    assert.equal(a.body.active, true);
    assert.equal(a.body.tenant, 'law');
    assert.equal(a.body.aud, `${stack.law}/tenants/law`);
    // another tenant's token: exactly what an invalid token gets
    const b = await introspect(stack.law, shop, LAW_API);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, { active: false });
    assert.deepEqual((await introspect(stack.law, law, SHOP_API)).body, { active: false });
    assert.equal((await introspect(stack.law, shop, SHOP_API)).body.active, true);
    // tenants: all sees both
    assert.equal((await introspect(stack.law, law, OPS)).body.active, true);
    assert.equal((await introspect(stack.shop, shop, OPS)).body.active, true);
  });

  test('revocation of another tenant\'s token does nothing (still 200)', async () => {
    const shop = await accessToken(stack.shop, await signedIn(stack.shop));
    const r = await revoke(stack.law, shop, LAW_API);
    assert.equal(r.status, 200);
    assert.equal((await introspect(stack.law, shop, SHOP_API)).body.active, true, 'not revoked');
    const r2 = await revoke(stack.law, shop, SHOP_API);
    assert.equal(r2.status, 200);
    assert.deepEqual((await introspect(stack.law, shop, SHOP_API)).body, { active: false });
  });

  test('refresh tokens: introspection and revocation stay in the tenant', async () => {
    const jar = await signedIn(stack.shop);
    const tok = await appTokens(stack.shop, jar, SHOP_APP);
    assert.equal(jose.decodeJwt(tok.access_token).aud, SHOP_AUD);
    assert.deepEqual((await introspect(stack.law, tok.refresh_token, LAW_API)).body, { active: false });
    assert.deepEqual((await introspect(stack.law, tok.access_token, LAW_API)).body, { active: false });
    const ri = await introspect(stack.law, tok.refresh_token, SHOP_API);
    assert.equal(ri.body.active, true);
    assert.equal(ri.body.tenant, 'shop');
    assert.equal((await revoke(stack.law, tok.refresh_token, LAW_API)).status, 200);
    assert.equal((await introspect(stack.law, tok.refresh_token, SHOP_API)).body.active, true, 'not revoked');
  });

  test('client_secret_post, and one authentication method per request', async () => {
    const law = await accessToken(stack.law, await signedIn(stack.law));
    const p = await post(stack.law, '/oauth2/introspect', { token: law, client_id: LAW_API.id, client_secret: LAW_API.secret });
    assert.equal(p.status, 200);
    assert.equal(p.body.active, true);
    // Basic with the same client_id in the form is fine
    const same = await post(stack.law, '/oauth2/introspect', { token: law, client_id: LAW_API.id },
      { authorization: basic(LAW_API.id, LAW_API.secret) });
    assert.equal(same.body.active, true);
    const refused = {
      'both methods': [{ token: law, client_id: LAW_API.id, client_secret: LAW_API.secret },
        { authorization: basic(LAW_API.id, LAW_API.secret) }],
      'Basic and another client_id': [{ token: law, client_id: OPS.id },
        { authorization: basic(LAW_API.id, LAW_API.secret) }],
      'wrong secret': [{ token: law, client_id: LAW_API.id, client_secret: `${LAW_API.secret}x` }, {}],
      'another client\'s secret': [{ token: law, client_id: LAW_API.id, client_secret: SHOP_API.secret }, {}],
      'no secret': [{ token: law, client_id: LAW_API.id }, {}],
      'no id': [{ token: law, client_secret: LAW_API.secret }, {}],
      'empty secret': [{ token: law, client_id: LAW_API.id, client_secret: '' }, {}],
      'unknown client': [{ token: law, client_id: 'nobody', client_secret: LAW_API.secret }, {}],
      'public app': [{ token: law, client_id: LAW_APP.id, client_secret: 'x' }, {}],
    };
    for (const [what, [form, headers]] of Object.entries(refused)) {
      const r = await post(stack.law, '/oauth2/introspect', form, headers);
      assert.equal(r.status, 401, what);
      assert.equal(r.body.error, 'invalid_client', what);
    }
    const dup = await post(stack.law, '/oauth2/introspect',
      `token=${law}&client_id=${LAW_API.id}&client_secret=${LAW_API.secret}&client_secret=${LAW_API.secret}`);
    assert.equal(dup.status, 401, 'repeated client_secret');
    const disc = await (await fetch(`${stack.law}/.well-known/openid-configuration`)).json();
    assert.deepEqual(disc.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
    assert.ok(disc.revocation_endpoint_auth_methods_supported.includes('client_secret_post'));
    // revocation takes client_secret_post too
    const rv = await post(stack.law, '/oauth2/revoke', { token: law, client_id: LAW_API.id, client_secret: LAW_API.secret });
    assert.equal(rv.status, 200);
    assert.deepEqual((await introspect(stack.law, law, LAW_API)).body, { active: false });
    const rv2 = await post(stack.law, '/oauth2/revoke', { token: law, client_id: LAW_API.id, client_secret: LAW_API.secret },
      { authorization: basic(LAW_API.id, LAW_API.secret) });
    assert.equal(rv2.status, 401);
    assert.equal(rv2.body.error, 'invalid_client');
  });

  test('/oauth2/authorize refuses an app of another tenant: our page, no code', async () => {
    const jar = await signedIn(stack.law);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const r = await follow(jar, authorizeUrl(stack.law, SHOP_APP, verifier));
    assert.equal(r.status, 403);
    assert.equal(r.location, undefined, 'no redirect to the app');
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(r.body, /not registered for this organisation/);
    assert.doesNotMatch(r.body, /code=/);
    // even without a session: refused before sign-in
    const r2 = await follow(new CookieJar(), authorizeUrl(stack.law, SHOP_APP, verifier));
    assert.equal(r2.status, 403);
    // the same app on its own tenant's host works
    const shopJar = await signedIn(stack.shop);
    await codeFor(stack.shop, shopJar, SHOP_APP, verifier);
  });

  test('another tenant\'s code or refresh token at /oauth2/token', async () => {
    const jar = await signedIn(stack.shop);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const code = await codeFor(stack.shop, jar, SHOP_APP, verifier);
    // law's app presents shop's code (with every other parameter right)
    const stolen = await post(stack.law, '/oauth2/token', {
      grant_type: 'authorization_code', client_id: MULTI_APP.id, code, redirect_uri: SHOP_APP.redirect, code_verifier: verifier,
    });
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, 'invalid_grant');
    const tok = await appTokens(stack.shop, jar, SHOP_APP);
    const r = await post(stack.law, '/oauth2/token', { grant_type: 'refresh_token', client_id: LAW_APP.id, refresh_token: tok.refresh_token });
    assert.equal(r.body.error, 'invalid_grant');
  });
});

describe('a client that loses a tenant', () => {
  let stack;
  before(async () => { stack = await startClientsStack(); });
  after(async () => { await stack?.stop(); });

  test('its codes and refresh tokens of that tenant stop working', async () => {
    const jar = await signedIn(stack.shop);
    const tok = await appTokens(stack.shop, jar, MULTI_APP);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const code = await codeFor(stack.shop, jar, MULTI_APP, verifier);
    // the operator takes shop away from the app (codes live 60 s)
    await stack.restart({ multiTenants: '[law]' });
    const ex = await exchange(stack.shop, MULTI_APP, code, verifier);
    assert.equal(ex.status, 400);
    assert.equal(ex.body.error, 'invalid_grant');
    const rf = await post(stack.shop, '/oauth2/token', { grant_type: 'refresh_token', client_id: MULTI_APP.id, refresh_token: tok.refresh_token });
    assert.equal(rf.status, 400);
    assert.equal(rf.body.error, 'invalid_grant');
    assert.equal(rf.body.access_token, undefined);
    // the family is over, even once the app is given shop back
    await stack.restart();
    // and the refused code was spent: giving shop back does not revive it
    const ex2 = await exchange(stack.shop, MULTI_APP, code, verifier);
    assert.equal(ex2.body.error, 'invalid_grant', JSON.stringify(ex2.body));
    const again = await post(stack.shop, '/oauth2/token', { grant_type: 'refresh_token', client_id: MULTI_APP.id, refresh_token: tok.refresh_token });
    assert.equal(again.body.error, 'invalid_grant');
    // and authorize on shop's host refuses it meanwhile? (given back: works)
    await codeFor(stack.shop, jar, MULTI_APP, verifier);
  });
});

describe('consent to third-party apps', () => {
  let stack;
  before(async () => { stack = await startClientsStack(); });
  after(async () => { await stack?.stop(); });

  const formToken = (html) => /name="consent" value="([A-Za-z0-9_-]+)"/.exec(html)?.[1];
  const refreshTarget = (html) => {
    const m = /http-equiv="refresh" content="0;url=([^"]+)"/.exec(html);
    return m ? m[1].replace(/&amp;/g, '&') : undefined;
  };
  const answer = (base, jar, token, decision, headers = {}) => follow(jar, `${base}/oauth2/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ consent: token, decision }).toString(),
  });

  /** GET authorize; asserts the consent page and returns its form token. */
  async function consentPage(base, jar, app, verifier) {
    const r = await follow(jar, authorizeUrl(base, app, verifier));
    assert.equal(r.status, 200, `consent page expected: ${r.status} ${r.location ?? ''}`);
    assert.equal(r.location, undefined);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(r.body, /id="approve"/);
    assert.match(r.body, /id="deny"/);
    const token = formToken(r.body);
    assert.ok(token, 'form token in the page');
    return { token, body: r.body };
  }

  test('first use asks; approval gives the code; the next time is not asked', async () => {
    const jar = await signedIn(stack.law);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const { token, body } = await consentPage(stack.law, jar, LAW_APP, verifier);
    assert.match(body, /Law &lt;Notes&gt; &amp; Co/, 'app name, escaped');
    assert.doesNotMatch(body, /<Notes>/);
    assert.match(body, /id="tenant">Law Office</);
    assert.match(body, /alice@example\.com/);
    const ok = await answer(stack.law, jar, token, 'approve', { 'sec-fetch-site': 'same-origin' });
    assert.equal(ok.status, 200);
    const next = refreshTarget(ok.body);
    assert.ok(next?.startsWith('/oauth2/authorize?'), `goes back to authorize: ${next}`);
    assert.doesNotMatch(ok.body, /code=/, 'no code in the page');
    const r = await follow(jar, new URL(next, stack.law).href);
    assert.equal(r.status, 302);
    const back = new URL(r.location);
    assert.equal(`${back.origin}${back.pathname}`, LAW_APP.redirect);
    assert.equal(back.searchParams.get('state'), 'st-1');
    const tok = await exchange(stack.law, LAW_APP, back.searchParams.get('code'), verifier);
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    // remembered: straight to the app the next time
    await codeFor(stack.law, jar, LAW_APP, verifier);
    // in Redis through the store: one hash per user, nothing else
    assert.equal(await stack.redis.count('sk:{u:*}:consent'), 1);
  });

  test('deny sends the app error=access_denied, and is not remembered', async () => {
    const jar = await signedIn(stack.law, 'bob');
    const verifier = crypto.randomBytes(32).toString('base64url');
    const { token } = await consentPage(stack.law, jar, LAW_APP2, verifier);
    const no = await answer(stack.law, jar, token, 'deny');
    assert.equal(no.status, 200);
    const target = new URL(refreshTarget(no.body));
    assert.equal(`${target.origin}${target.pathname}`, LAW_APP2.redirect);
    assert.equal(target.searchParams.get('error'), 'access_denied');
    assert.equal(target.searchParams.get('state'), 'st-1');
    assert.equal(target.searchParams.get('iss'), stack.law);
    assert.equal(target.searchParams.get('code'), null);
    await consentPage(stack.law, jar, LAW_APP2, verifier);
  });

  test('an approval carries to no other user and no other app', async () => {
    const alice = await signedIn(stack.law);
    const verifier = crypto.randomBytes(32).toString('base64url');
    // alice approves LAW_APP (unless an earlier test of this stack did)
    const first = await follow(alice, authorizeUrl(stack.law, LAW_APP, verifier));
    if (first.status === 200) await answer(stack.law, alice, formToken(first.body), 'approve');
    await codeFor(stack.law, alice, LAW_APP, verifier);
    // the same user, another app of the same tenant: asked
    await consentPage(stack.law, alice, LAW_APP2, verifier);
    // another user, the same app: asked
    await consentPage(stack.law, await signedIn(stack.law, 'bob'), LAW_APP, verifier);
    // first-party apps are never asked
    await codeFor(stack.shop, await signedIn(stack.shop, 'bob'), SHOP_APP, verifier);
  });

  test('a cross-site POST of the approval is refused', async () => {
    const jar = await signedIn(stack.law, 'bob');
    const verifier = crypto.randomBytes(32).toString('base64url');
    const { token } = await consentPage(stack.law, jar, LAW_APP, verifier);
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' }]) {
      const r = await answer(stack.law, jar, token, 'approve', headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.equal(refreshTarget(r.body), undefined);
    }
    // nothing was approved: still asked
    await consentPage(stack.law, jar, LAW_APP, verifier);
    // the refused POSTs did not spend the user's own form
    const ok = await answer(stack.law, jar, token, 'approve', { 'sec-fetch-site': 'same-origin' });
    assert.equal(ok.status, 200);
    assert.ok(refreshTarget(ok.body)?.startsWith('/oauth2/authorize?'));
  });

  test('the form token is single use and bound to its session', async () => {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const alice = await signedIn(stack.law);
    const bob = await signedIn(stack.law, 'bob');
    // alice's form posted with bob's session: refused (and spent)
    const a1 = await consentPage(stack.law, alice, LAW_APP2, verifier);
    const r1 = await answer(stack.law, bob, a1.token, 'approve');
    assert.equal(r1.status, 403);
    // alice's form posted from another session of alice: refused
    const a2 = await consentPage(stack.law, alice, LAW_APP2, verifier);
    const alice2 = await signedIn(stack.law);
    assert.equal((await answer(stack.law, alice2, a2.token, 'approve')).status, 403);
    // a law form posted on shop's host (alice's shop session): refused
    const a3 = await consentPage(stack.law, alice, LAW_APP2, verifier);
    const shopAlice = await signedIn(stack.shop);
    assert.equal((await answer(stack.shop, shopAlice, a3.token, 'approve')).status, 403);
    // nothing above approved anything, for anyone
    await consentPage(stack.law, alice, LAW_APP2, verifier);
    await consentPage(stack.law, bob, LAW_APP2, verifier);
    // replay: the second answer to one form is refused
    const a4 = await consentPage(stack.law, alice, LAW_APP2, verifier);
    assert.equal((await answer(stack.law, alice, a4.token, 'approve')).status, 200);
    const replay = await answer(stack.law, alice, a4.token, 'approve');
    assert.equal(replay.status, 403);
    assert.equal(refreshTarget(replay.body), undefined);
    assert.equal((await answer(stack.law, alice, a4.token, 'deny')).status, 403);
    // without a session, or malformed
    assert.equal((await answer(stack.law, new CookieJar(), a4.token, 'approve')).status, 403);
    const a5 = await consentPage(stack.law, bob, LAW_APP2, verifier);
    assert.equal((await answer(stack.law, bob, a5.token, 'maybe')).status, 400);
    assert.equal((await answer(stack.law, bob, 'short', 'approve')).status, 400);
  });
});

describe('consent under a path prefix', () => {
  let stack;
  before(async () => { stack = await startClientsStack({ prefix: '/sekisho' }); });
  after(async () => { await stack?.stop(); });

  test('the consent form posts under the prefix, and the answer is taken there', async () => {
    const jar = await signedIn(stack.law);
    const verifier = crypto.randomBytes(32).toString('base64url');
    const r = await follow(jar, authorizeUrl(`${stack.law}/sekisho`, LAW_APP, verifier));
    assert.equal(r.status, 200, `consent page expected: ${r.status} ${r.location ?? ''}`);
    const action = /<form id="consent-form" method="post" action="([^"]+)"/.exec(r.body)?.[1];
    // An app host routes only the prefix to Sekisho: a form posted to the
    // bare path would reach the app instead.
    assert.equal(action, '/sekisho/oauth2/authorize');
    const token = /name="consent" value="([A-Za-z0-9_-]+)"/.exec(r.body)?.[1];
    const ok = await follow(jar, new URL(action, stack.law).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ consent: token, decision: 'approve' }).toString(),
    });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /content="0;url=\/sekisho\/oauth2\/authorize\?/);
  });
});

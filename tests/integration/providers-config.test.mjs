// `sekisho -t` on provider and tenant settings of the four provider types.
// Covers:
//   - a config with google, microsoft, line, github and oidc providers and
//     the new keys (display_name, id_token_algs, tenant, trust_email,
//     bot_prompt, link_by_verified_email) passes
//   - refused, with file:line: key: and what is allowed:
//     HS256 outside type line; type-specific keys on another type
//     (tenant, trust_email, bot_prompt, id_token_algs on github); a bad
//     tenant / bot_prompt / algorithm value; type oidc pointed at Google or
//     Microsoft; trust_email on a multi-tenant microsoft provider offered by
//     a tenant without allowed_tid

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { tmpDir } from './harness.mjs';
import { checkConfig, masterKey, providersConfig, writeSecret } from './providers-harness.mjs';

const dir = tmpDir('sekisho-pcfg-');
const secret = writeSecret(dir, 's', 'a-client-secret-0123456789');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const TID = 'aaaaaaaa-0000-4000-8000-00000000000a';
const base = {
  port: 8080, base: 'http://127.0.0.1:8080', redisUrl: 'redis://127.0.0.1:6379/0', masterKeyFile: masterKey(dir),
};
const p = (id, type, more = {}) => ({ id, type, client_id: `${id}-client`, client_secret_file: secret, ...more });

function cfg(providers, tenant = {}) {
  return providersConfig({
    ...base,
    providers,
    tenants: [{ id: 't', providers: providers.map((x) => x.id), ...tenant }],
  });
}

async function refused(text, ...want) {
  const r = await checkConfig(text, { dir });
  assert.equal(r.code, 1, r.output);
  for (const w of want) assert.match(r.output, w);
  return r.output;
}

describe('provider configuration', () => {
  test('all five types with their keys pass sekisho -t', async () => {
    const r = await checkConfig(cfg([
      p('google', 'google', { display_name: 'Google Workspace', id_token_algs: ['RS256'] }),
      p('ms', 'microsoft', { tenant: TID, trust_email: true }),
      p('ms-any', 'microsoft', { tenant: 'common' }),
      p('line', 'line', { id_token_algs: ['HS256', 'ES256'], bot_prompt: 'normal' }),
      p('github', 'github'),
      p('corp', 'oidc', { issuer: 'https://idp.corp.example' }),
    ], { allowed_hd: ['acme.example'], allowed_tid: [TID], link_by_verified_email: true }), { dir });
    assert.equal(r.code, 0, r.output);
  });

  test('HS256 only for type line', async () => {
    await refused(cfg([p('g', 'google', { id_token_algs: ['RS256', 'HS256'] })]),
      /:\d+: providers\[0\]\.id_token_algs\[1\]: HS256 is only for type line/);
    await refused(cfg([p('c', 'oidc', { issuer: 'https://idp.example', id_token_algs: ['HS256'] })]),
      /providers\[0\]\.id_token_algs\[0\]: HS256 is only for type line/);
  });

  test('keys of one type refused on another', async () => {
    await refused(cfg([p('g', 'google', { tenant: 'common', trust_email: true, bot_prompt: 'normal' })]),
      /providers\[0\]\.tenant: only for type microsoft/,
      /providers\[0\]\.trust_email: only for type microsoft/,
      /providers\[0\]\.bot_prompt: only for type line/);
    await refused(cfg([p('gh', 'github', { id_token_algs: ['RS256'] })]),
      /providers\[0\]\.id_token_algs: not for type github/);
  });

  test('bad values say what is allowed', async () => {
    await refused(cfg([p('ms', 'microsoft', { tenant: 'contoso' })]),
      /providers\[0\]\.tenant: "contoso" is not an Entra ID directory \(common, organizations, consumers or a tenant id GUID\)/);
    await refused(cfg([p('l', 'line', { bot_prompt: 'loud' })]),
      /providers\[0\]\.bot_prompt: "loud" is not a bot_prompt value \(normal or aggressive\)/);
    await refused(cfg([p('l', 'line', { id_token_algs: ['none'] })]),
      /providers\[0\]\.id_token_algs\[0\]: "none" is not an id_token algorithm/);
    await refused(cfg([p('l', 'line', { id_token_algs: [] })]),
      /providers\[0\]\.id_token_algs: empty list/);
  });

  test('type oidc pointed at Google or Microsoft is refused', async () => {
    await refused(cfg([p('g', 'oidc', { issuer: 'https://accounts.google.com' })]),
      /providers\[0\]\.type: oidc with issuer "https:\/\/accounts\.google\.com": use type google or microsoft/);
    await refused(cfg([p('m', 'oidc', { issuer: `https://login.microsoftonline.com/${TID}/v2.0` })]),
      /use type google or microsoft/);
  });

  test('trust_email on a multi-tenant microsoft provider needs allowed_tid', async () => {
    await refused(cfg([p('ms', 'microsoft', { trust_email: true })]),
      /tenants\[0\]\.allowed_tid: missing, but provider "ms" trusts e-mail addresses from any Entra ID directory/);
    const ok = await checkConfig(cfg([p('ms', 'microsoft', { trust_email: true })], { allowed_tid: [TID] }), { dir });
    assert.equal(ok.code, 0, ok.output);
  });
});

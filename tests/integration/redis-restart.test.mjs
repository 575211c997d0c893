// A durable Redis keeps Sekisho's state through a crash (issue 13: the demo,
// docker-compose and bench/run.sh run Redis with appendonly yes and
// appendfsync everysec). Real redis-server with AOF, the test IdP,
// oathtool; tenant policy "mfa: required". Covers:
//   - Redis killed with SIGKILL (no shutdown, no RDB save) and started
//     again on the same directory, while Sekisho keeps running: Sekisho
//     reconnects (/readyz 200), and
//   - the browser session's cookie still verifies (/auth/verify 200, the
//     same user, a fresh access token)
//   - the app session's refresh token still refreshes (and the old one is
//     then spent, as before the crash)
//   - the TOTP enrolment is still there: a new sign-in of the same user is
//     asked for a code (/mfa, not /mfa/enroll) and the enrolled secret's
//     code passes
//   - the signing keys are the same (/jwks.json unchanged), so tokens
//     issued before the crash still verify against it
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';

import {
  CookieJar, follow, signIn, startStack, tmpDir, waitReady,
} from './harness.mjs';
import { appClients, exchange, mintCode, refresh } from './app-harness.mjs';
import {
  challenge, enrol, mfaTenantYaml, nextCode, writeKeyFile,
} from './mfa-harness.mjs';

let stack;

before(async () => {
  const dir = tmpDir('sekisho-it-aof-');
  stack = await startStack({
    tenantsYaml: mfaTenantYaml({ mfa: 'required' }),
    extraConfig: `keys:\n  master_key_file: ${writeKeyFile(dir)}\n${appClients(dir)}`,
    // What tools/demo.sh, docker-compose.yml and bench/run.sh run.
    redisArgs: ['--appendonly', 'yes', '--appendfsync', 'everysec'],
  });
});
after(async () => { await stack?.stop(); });

async function verify(jar) {
  const r = await follow(jar, `${stack.base}/auth/verify`);
  return { status: r.status, user: r.headers.get('x-auth-request-user'), token: r.headers.get('x-auth-request-access-token') };
}

async function jwks() {
  const r = await fetch(`${stack.base}/jwks.json`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  return r.json();
}

describe('Redis killed and restarted with AOF', () => {
  test('sessions, app sessions, TOTP enrolment and signing keys survive', async () => {
    // Before: a signed-in, enrolled browser session and an app session.
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base);
    assert.equal(new URL(res.location, stack.base).pathname, '/mfa/enroll');
    const { secret, step } = await enrol(stack, jar);
    const before = await verify(jar);
    assert.equal(before.status, 200, 'signed in after enrolment');
    const { code, verifier } = await mintCode(stack.base, jar);
    const tok = await exchange(stack.base, { code, verifier });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    assert.ok(tok.body.refresh_token);
    const keysBefore = await jwks();

    // everysec: let the last second's writes reach the file, then crash.
    await sleep(1500);
    await stack.redis.kill();
    assert.notEqual((await verify(jar)).status, 200, 'no 200 while Redis is down');
    await stack.redis.restart();
    await waitReady(stack.sekishoBase);

    // The same cookie still verifies, as the same user.
    const afterV = await verify(jar);
    assert.equal(afterV.status, 200, 'the session survived');
    assert.equal(afterV.user, before.user);
    // The signing keys are the same: old and new tokens verify.
    const keysAfter = await jwks();
    assert.deepEqual(keysAfter, keysBefore);
    const set = jose.createLocalJWKSet(keysAfter);
    await jose.jwtVerify(before.token, set);
    await jose.jwtVerify(afterV.token, set);
    // The refresh token still refreshes, once.
    const r1 = await refresh(stack.base, tok.body.refresh_token);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.ok(r1.body.access_token);
    assert.notEqual((await refresh(stack.base, tok.body.refresh_token)).status, 200, 'rotated: the old one is spent');
    // The enrolment is still there: a new sign-in asks for a code.
    const jar2 = new CookieJar();
    const s2 = await signIn(jar2, stack.base);
    assert.equal(new URL(s2.res.location, stack.base).pathname, '/mfa', 'asked for a code, not to enrol');
    const { code: totpCode } = await nextCode(stack.redis, secret, step);
    const c = await challenge(stack, jar2, totpCode);
    assert.equal(c.res.status, 302, `code accepted: ${c.res.status}`);
    const v2 = await verify(jar2);
    assert.equal(v2.status, 200);
    assert.equal(v2.user, before.user);
  });
});

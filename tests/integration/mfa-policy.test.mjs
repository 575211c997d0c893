// MFA policy "admins" and users who turn TOTP on by choice. Tenant with
// mfa: admins and admin_emails ["ALICE@Example.com", "bob@example.org"]
// (the test IdP verifies alice's address, not bob's). Covers:
//   - alice (verified address on the list, matched case-insensitively) is
//     an admin: her sign-in stops at enrolment; once done, /auth/verify
//     and the access token carry roles ["admin"] and amr otp+mfa, and the
//     role is recorded on the user
//   - bob's address is on the list but unverified: no admin role, no
//     second factor asked, role viewer (the default)
//   - bob turns TOTP on from his signed-in session (no step-up needed
//     without a factor); his session gains amr otp+mfa; from then on his
//     sign-ins ask for a code (an enrolled factor is always asked for)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';

import { signIn } from './harness.mjs';
import {
  CookieJar, challenge, enrol, follow, sessionKeyOf, startMfaStack, totp, waitForStepAfter,
} from './mfa-harness.mjs';

let stack;

before(async () => {
  stack = await startMfaStack({ mfa: 'admins', adminEmails: ['ALICE@Example.com', 'bob@example.org'] });
});
after(async () => { await stack?.stop(); });

async function verify(jar) {
  const r = await follow(jar, `${stack.base}/auth/verify`);
  const tok = r.headers.get('x-auth-request-access-token');
  return { status: r.status, roles: r.headers.get('x-auth-request-roles'), claims: tok ? jose.decodeJwt(tok) : undefined };
}

const bob = { jar: new CookieJar() };

describe('mfa: admins', () => {
  test('an admin (verified address on the list) must enrol; the role reaches the token', async () => {
    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base);
    assert.equal(new URL(res.location, stack.base).pathname, '/mfa/enroll');
    assert.equal((await stack.redis.cli('HGET', sessionKeyOf(stack, jar), 'roles')).trim(), 'admin');
    assert.equal((await verify(jar)).status, 401);
    const e = await enrol(stack, jar);
    assert.equal(e.res.status, 200);
    const v = await verify(jar);
    assert.equal(v.status, 200);
    assert.equal(v.roles, 'admin');
    assert.deepEqual(v.claims.roles, ['admin']);
    assert.deepEqual(v.claims.amr, ['otp', 'mfa']);
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${v.claims.sub}}`, 'roles')).trim(), 'admin');
  });

  test('an unverified address on the list is no admin and gets no challenge', async () => {
    const { res } = await signIn(bob.jar, stack.base, { login: 'bob', password: 'bob-password', rd: '/x' });
    assert.equal(res.status, 302);
    assert.equal(new URL(res.location, stack.base).pathname, '/x');
    const v = await verify(bob.jar);
    assert.equal(v.status, 200);
    assert.equal(v.roles, 'viewer', 'a member without a granted role is a viewer');
    assert.deepEqual(v.claims.roles, ['viewer']);
    assert.deepEqual(v.claims.amr, []);
    bob.uid = v.claims.sub;
    assert.equal((await stack.redis.cli('HGET', `sk:{u:${bob.uid}}`, 'roles')).trim(), 'viewer');
  });

  test('a user may turn TOTP on; then every sign-in asks for it', async () => {
    const status = await follow(bob.jar, `${stack.base}/mfa/recovery`);
    assert.match(status.body, /id="status">Two-step verification is off/);
    const e = await enrol(stack, bob.jar);
    assert.equal(e.res.status, 200, e.res.body.slice(0, 300));
    assert.equal(e.codes.length, 10);
    assert.deepEqual((await verify(bob.jar)).claims.amr, ['otp', 'mfa']);
    bob.secret = e.secret;
    bob.step = e.step;

    const jar = new CookieJar();
    const { res } = await signIn(jar, stack.base, { login: 'bob', password: 'bob-password' });
    assert.equal(new URL(res.location, stack.base).pathname, '/mfa');
    assert.equal((await verify(jar)).status, 401);
    const t = await waitForStepAfter(stack.redis, bob.step);
    assert.equal((await challenge(stack, jar, await totp(bob.secret, t))).res.status, 302);
    assert.equal((await verify(jar)).status, 200);
  });
});

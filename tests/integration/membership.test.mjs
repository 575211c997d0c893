// Membership and invitations (docs/users.md), against real redis-server,
// the test IdP and sekisho. Tenant law is invite_only, shop is open.
// Covers:
//   - invite_only refuses a stranger (a verified address, not invited):
//     403 page that says invitations are required; nothing is created
//   - an invitation of an address the provider does not verify (bob)
//     admits nobody
//   - the invited address (sekishoctl invite --json) joins with the
//     invited role: X-Auth-Request-Roles at /auth/verify; the event
//     user_invited carries the accept link
//   - one invitation, eight parallel sign-ins: one user, every session
//     with the invited role; the invitation is spent (another account
//     with the same address is refused after)
//   - an expired invitation is refused, and removed
//   - an existing member still signs in, and cannot be invited again
//     (409: change the role instead)
//   - an open tenant: an invitation sets the role at the first sign-in;
//     others join as viewer
//   - invitations through the admin API: create (201, link), list,
//     withdraw; bad bodies named field by field
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CookieJar, signIn, startUsersStack } from './users-harness.mjs';

let s;

before(async () => { s = await startUsersStack({ membership: 'invite_only' }); });
after(async () => { await s?.stop(); });

/**
 * Forgets a tenant's links of upstream accounts and its directory (as if
 * another account came, with an address no member has).
 */
async function forgetIdentities(tenant) {
  const keys = (await s.redis.cli('KEYS', `sk:{t:${tenant}}:idn:*`)).split('\n').filter(Boolean);
  for (const k of keys) await s.redis.cli('DEL', k);
  await s.redis.cli('DEL', `sk:{t:${tenant}}:dir`, `sk:{t:${tenant}}:dirm`);
}

describe('membership: invite_only', () => {
  test('a stranger is refused with a page that says why; nothing is created', async () => {
    const { res } = await signIn(new CookieJar(), s.law);
    assert.equal(res.status, 403);
    assert.match(res.body, /Invitation required/);
    assert.match(res.body, /Only invited people can join this organisation/);
    assert.equal((await s.redis.cli('KEYS', 'sk:{t:law}:idn:*')).trim(), '');
    const list = await s.ctl('users', 'list', '-t', 'law', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.json.users, []);
  });

  test('an invitation of an unverified address admits nobody', async () => {
    const inv = await s.ctl('invite', '-t', 'law', 'bob@example.org', '--json');
    assert.equal(inv.code, 0, inv.stderr);
    const { res } = await signIn(new CookieJar(), s.law, { login: 'bob', password: 'bob-password' });
    assert.equal(res.status, 403);
    assert.match(res.body, /Invitation required/);
    // Still open: a verified sign-in could take it.
    const open = await s.ctl('invite', 'list', '-t', 'law', '--json');
    assert.deepEqual(open.json.map((i) => i.email), ['bob@example.org']);
    assert.equal((await s.ctl('invite', 'revoke', inv.json.id, '-t', 'law')).code, 0);
  });

  test('the invited address joins with the invited role, once: parallel sign-ins make one user', async () => {
    const inv = await s.ctl('invite', '-t', 'law', '--role', 'editor', '--expires', '2d', 'Alice@Example.com', '--json');
    assert.equal(inv.code, 0, inv.stderr);
    assert.match(inv.json.id, /^i_[A-Za-z0-9_-]{22}$/);
    assert.equal(inv.json.role, 'editor');
    assert.match(inv.json.link, new RegExp(`^${s.law.replace(/[.]/g, '\\.')}/login\\?invite=[A-Za-z0-9_-]{43}$`));
    const token = new URL(inv.json.link).searchParams.get('invite');
    // Only a hash of the accept token is stored.
    const stored = await s.redis.cli('HGETALL', `sk:{t:law}:inv:${inv.json.id}`);
    assert.doesNotMatch(stored, new RegExp(token));
    // The link leads to sign-in (the tenant's only provider).
    const page = await fetch(inv.json.link, { redirect: 'manual' });
    assert.equal(page.status, 302);
    assert.equal(new URL(page.headers.get('location'), s.law).pathname, '/login/google');

    const jars = Array.from({ length: 8 }, () => new CookieJar());
    const results = await Promise.all(jars.map((jar) => signIn(jar, s.law)));
    for (const { res } of results) assert.equal(res.status, 302, res.body?.slice(0, 300));
    const v = await Promise.all(jars.map((jar) => s.verify(jar, s.law)));
    for (const x of v) {
      assert.equal(x.status, 200);
      assert.equal(x.roles, 'editor');
    }
    assert.equal(new Set(v.map((x) => x.user)).size, 1, 'one user');
    const list = await s.ctl('users', 'list', '-t', 'law', '--json');
    assert.equal(list.json.users.length, 1);
    assert.equal(list.json.users[0].role, 'editor');
    assert.deepEqual((await s.ctl('invite', 'list', '-t', 'law', '--json')).json, [], 'the invitation is spent');

    const ev = (await s.events('law')).find((e) => e.type === 'user_invited' && e.user.email === 'Alice@Example.com');
    assert.ok(ev, 'user_invited recorded');
    assert.equal(ev.details.link, inv.json.link);
    assert.equal(ev.details.actor.type, 'sekishoctl');
    assert.match(ev.details.actor.id, /^sekishoctl:/);
    assert.equal(ev.details.invitation.role, 'editor');

    // An existing member still signs in, and is not invited again.
    const again = await signIn(new CookieJar(), s.law);
    assert.equal(again.res.status, 302);
    const member = await s.ctl('invite', '-t', 'law', 'ALICE@example.com');
    assert.equal(member.code, 1);
    assert.match(member.stderr, /already has this address/);
    const api = await s.admin('POST', 'law', 'invitations', { body: { email: 'alice@example.com' } });
    assert.equal(api.status, 409);

    // Another account with the same verified address: the invitation was
    // used, so it is refused.
    await forgetIdentities('law');
    const other = await signIn(new CookieJar(), s.law);
    assert.equal(other.res.status, 403);
    assert.match(other.res.body, /Invitation required/);
  });

  test('an expired invitation is refused, and removed', async () => {
    const inv = await s.ctl('invite', '-t', 'law', 'alice@example.com', '--json');
    assert.equal(inv.code, 0, inv.stderr);
    const now = Number((await s.redis.cli('TIME')).trim().split(/\s+/)[0]);
    await s.redis.cli('HSET', `sk:{t:law}:inv:${inv.json.id}`, 'exp', String(now - 1));
    const { res } = await signIn(new CookieJar(), s.law);
    assert.equal(res.status, 403);
    assert.match(res.body, /Invitation required/);
    assert.equal((await s.redis.cli('EXISTS', `sk:{t:law}:inv:${inv.json.id}`)).trim(), '0');
  });
});

describe('membership: open tenant', () => {
  test('an invitation sets the role at the first sign-in; others join as viewer', async () => {
    const inv = await s.admin('POST', 'shop', 'invitations', { body: { email: 'alice@example.com', role: 'editor', expires_in: '1d' } });
    assert.equal(inv.status, 201, inv.text);
    assert.match(inv.json.link, /^http:\/\/localhost:\d+\/login\?invite=/);
    assert.equal(inv.json.by, 'ops-admin');
    const alice = new CookieJar();
    assert.equal((await signIn(alice, s.shop)).res.status, 302);
    assert.equal((await s.verify(alice, s.shop)).roles, 'editor');
    const bob = new CookieJar();
    assert.equal((await signIn(bob, s.shop, { login: 'bob', password: 'bob-password' })).res.status, 302);
    assert.equal((await s.verify(bob, s.shop)).roles, 'viewer');
  });

  test('invitations through the admin API: list, withdraw, bad bodies', async () => {
    const a = await s.admin('POST', 'shop', 'invitations', { body: { email: 'carol@example.net', role: 'viewer' } });
    assert.equal(a.status, 201, a.text);
    const l = await s.admin('GET', 'shop', 'invitations');
    assert.equal(l.status, 200);
    assert.deepEqual(l.json.map((i) => i.email), ['carol@example.net']);
    assert.equal((await s.admin('GET', 'law', 'invitations')).json.some((i) => i.id === a.json.id), false,
      'another tenant\'s invitations are not listed');
    assert.equal((await s.admin('DELETE', 'law', `invitations/${a.json.id}`)).status, 404, 'not on another tenant');
    const d = await s.admin('DELETE', 'shop', `invitations/${a.json.id}`);
    assert.equal(d.status, 200);
    assert.equal(d.json.email, 'carol@example.net');
    assert.equal((await s.admin('DELETE', 'shop', `invitations/${a.json.id}`)).status, 404);
    const ev = (await s.events('shop')).find((e) => e.type === 'invitation_revoked');
    assert.equal(ev.details.actor.id, 'ops-admin');
    assert.equal(ev.details.before.email, 'carol@example.net');

    const bad = await s.admin('POST', 'shop', 'invitations', { body: { email: 'nope', role: 'owner', expires_in: 5, x: 1 } });
    assert.equal(bad.status, 400);
    for (const f of ['email:', 'role:', 'expires_in:', 'unknown member']) assert.match(bad.json.error_description, new RegExp(f));
    assert.equal((await s.admin('GET', 'shop', 'invitations')).json.length, 0, 'nothing was stored');
  });
});

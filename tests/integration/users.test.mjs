// Roles, the user directory, sessions and the admin API's user endpoints
// (docs/users.md), against real redis-server, the test IdP and sekisho.
// Tenant law (open; admin_emails alice, mfa: admins) and shop. Covers:
//   - the directory: sekishoctl users list/show --json (q on address and
//     name, case-insensitive; cursor pages), readable tables
//   - a role change reaching a live session at once: /auth/verify's
//     X-Auth-Request-Roles and a newly signed token carry it; the token of
//     the old role is inactive at introspection; role_changed records
//     before and after
//   - a disabled user's unexpired access token inactive at introspection
//     at once (admin API PATCH disabled, by an administrator's token)
//   - the admin API: list, show, PATCH (every bad member named), DELETE
//     refused, sessions (ids that are not session secrets) and ending
//     one, mfa reset; another tenant's user id is 404; a non-admin's
//     token is refused; an administrator cannot demote themselves; an
//     admin_emails admin cannot be demoted
//   - sekishoctl sessions list/revoke, users disable/enable/mfa-reset/
//     reindex with --json, exit codes
//   - nothing secret in the events
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';

import { enrol } from './mfa-harness.mjs';
import { CookieJar, OPS, BACKEND, signIn, startUsersStack } from './users-harness.mjs';

let s;
const alice = { jar: new CookieJar() };
const bob = { jar: new CookieJar() };
const bobShop = { jar: new CookieJar() };

before(async () => {
  s = await startUsersStack({ adminEmails: ['alice@example.com'], mfa: 'admins' });
  // alice: an admin through admin_emails, so she enrols a second factor.
  const a = await signIn(alice.jar, s.law);
  assert.equal(new URL(a.res.location, s.law).pathname, '/mfa/enroll');
  const e = await enrol({ base: s.law, redis: s.redis }, alice.jar);
  assert.equal(e.res.status, 200);
  alice.totp = e.secret;
  const va = await s.verify(alice.jar, s.law);
  assert.equal(va.roles, 'admin');
  alice.id = va.user;
  alice.bearer = `Bearer ${va.token}`;
  assert.equal((await signIn(bob.jar, s.law, { login: 'bob', password: 'bob-password' })).res.status, 302);
  bob.id = (await s.verify(bob.jar, s.law)).user;
  assert.equal((await signIn(bobShop.jar, s.shop, { login: 'bob', password: 'bob-password' })).res.status, 302);
  bobShop.id = (await s.verify(bobShop.jar, s.shop)).user;
});
after(async () => { await s?.stop(); });

describe('directory', () => {
  test('sekishoctl users list and show: search, pages, tables', async () => {
    const all = await s.ctl('users', 'list', '-t', 'law', '--json');
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.json.users.map((u) => u.email), ['alice@example.com', 'bob@example.org']);
    assert.equal(all.json.next_cursor, null);
    assert.deepEqual(all.json.users.map((u) => u.role), ['admin', 'viewer']);
    assert.equal(all.json.users[0].mfa.totp, true);

    assert.deepEqual((await s.ctl('users', 'list', '-t', 'law', '-q', 'ALI', '--json')).json.users.map((u) => u.id), [alice.id]);
    assert.deepEqual((await s.ctl('users', 'list', '-t', 'law', '-q', 'bob ex', '--json')).json.users.map((u) => u.id), [bob.id],
      'the name matches too');
    assert.deepEqual((await s.ctl('users', 'list', '-t', 'law', '-q', 'nobody', '--json')).json.users, []);

    const p1 = await s.ctl('users', 'list', '-t', 'law', '--limit', '1', '--json');
    assert.deepEqual(p1.json.users.map((u) => u.id), [alice.id]);
    assert.equal(typeof p1.json.next_cursor, 'string');
    const p2 = await s.ctl('users', 'list', '-t', 'law', '--limit', '1', '--cursor', p1.json.next_cursor, '--json');
    assert.deepEqual(p2.json.users.map((u) => u.id), [bob.id]);

    // Via the API too; shop's directory holds shop's bob only.
    const api = await s.admin('GET', 'shop', 'users?q=BOB');
    assert.equal(api.status, 200);
    assert.deepEqual(api.json.users.map((u) => u.id), [bobShop.id]);
    assert.equal((await s.admin('GET', 'law', 'users?cursor=%25%25')).status, 400);

    const show = await s.ctl('users', 'show', bob.id, '--json');
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.json.email, 'bob@example.org');
    assert.equal(show.json.email_verified, false);
    assert.equal(show.json.role, 'viewer');
    assert.equal(show.json.disabled, false);
    assert.match(show.json.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(show.json.last_signin, /^\d{4}-/);

    const table = await s.ctl('users', 'list', '-t', 'law');
    assert.match(table.stdout, /^ID\s+EMAIL\s+NAME\s+ROLE/m);
    assert.match(table.stdout, /bob@example\.org\s+Bob Example\s+viewer/);
  });

  test('exit codes and errors', async () => {
    const none = await s.ctl('users', 'show', '-t', 'law', 'u_AAAAAAAAAAAAAAAAAAAA');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no user u_AAAAAAAAAAAAAAAAAAAA in tenant law/);
    const other = await s.ctl('users', 'show', '-t', 'law', bobShop.id);
    assert.equal(other.code, 1, 'a user of another tenant is no user here');
    const role = await s.ctl('users', 'role', bob.id, 'owner');
    assert.equal(role.code, 2);
    assert.match(role.stderr, /not a role \(admin, editor or viewer\)/);
    const tenant = await s.ctl('users', 'list', '-t', 'nope');
    assert.equal(tenant.code, 2);
    assert.match(tenant.stderr, /no tenant nope/);
    const many = await s.ctl('users', 'list');
    assert.equal(many.code, 2);
    assert.match(many.stderr, /name one with -t TENANT/);
  });
});

describe('roles', () => {
  test('a role change reaches the live session at once; tokens of the old role turn inactive', async () => {
    const before = await s.verify(bob.jar, s.law);
    assert.equal(before.roles, 'viewer');
    assert.equal((await s.introspect(before.token)).active, true);

    const r = await s.ctl('users', 'role', bob.id, 'editor', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.role, 'editor');

    const now = await s.verify(bob.jar, s.law);
    assert.equal(now.status, 200);
    assert.equal(now.roles, 'editor');
    assert.notEqual(now.token, before.token, 'signed again');
    assert.deepEqual(jose.decodeJwt(now.token).roles, ['editor']);
    assert.equal((await s.introspect(before.token)).active, false, 'the old role\'s token');
    const i = await s.introspect(now.token);
    assert.equal(i.active, true);
    assert.deepEqual(i.roles, ['editor']);

    const ev = (await s.events('law')).find((e) => e.type === 'role_changed');
    assert.equal(ev.user.id, bob.id);
    assert.deepEqual(ev.details.before, { role: 'viewer' });
    assert.deepEqual(ev.details.after, { role: 'editor' });
    assert.equal(ev.details.actor.type, 'sekishoctl');
    assert.match(ev.details.actor.id, /^sekishoctl:/);
  });

  test('admin_emails admins keep the role; administrators cannot demote themselves', async () => {
    const ops = await s.admin('PATCH', 'law', `users/${alice.id}`, { body: { role: 'viewer' } });
    assert.equal(ops.status, 409);
    assert.match(ops.json.error_description, /admin_emails/);
    const self = await s.admin('PATCH', 'law', `users/${alice.id}`, { body: { disabled: true }, auth: alice.bearer });
    assert.equal(self.status, 409);
    assert.equal((await s.verify(alice.jar, s.law)).status, 200);
  });
});

describe('admin API', () => {
  test('who may call: an administrator\'s token, not a member\'s; another tenant\'s user is 404', async () => {
    const mine = await s.admin('GET', 'law', 'users', { auth: alice.bearer });
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.json.users.length, 2);
    const b = await s.verify(bob.jar, s.law);
    const member = await s.admin('GET', 'law', 'users', { auth: `Bearer ${b.token}` });
    assert.equal(member.status, 403);
    assert.equal((await s.admin('GET', 'shop', 'users', { auth: alice.bearer })).status, 403, 'law\'s admin on shop');

    assert.equal((await s.admin('GET', 'law', `users/${bobShop.id}`)).status, 404);
    assert.equal((await s.admin('GET', 'shop', `users/${bobShop.id}`)).status, 200);
    assert.equal((await s.admin('PATCH', 'law', `users/${bobShop.id}`, { body: { role: 'admin' } })).status, 404);
    assert.equal((await s.admin('GET', 'law', `users/${bobShop.id}/sessions`)).status, 404);
    assert.equal((await s.admin('POST', 'law', `users/${bobShop.id}/mfa/reset`)).status, 404);
    assert.equal((await s.admin('GET', 'shop', `users/${bobShop.id}`)).json.role, 'viewer', 'unchanged');
  });

  test('PATCH names every bad member and changes nothing; DELETE is refused', async () => {
    const bad = await s.admin('PATCH', 'law', `users/${bob.id}`, { body: { role: 'owner', disabled: 'yes', colour: 'red' } });
    assert.equal(bad.status, 400);
    for (const f of ['role: admin, editor or viewer', 'disabled: true or false', 'unknown member \\(role, disabled\\): colour']) {
      assert.match(bad.json.error_description, new RegExp(f));
    }
    assert.equal((await s.admin('GET', 'law', `users/${bob.id}`)).json.role, 'editor');
    const del = await s.admin('DELETE', 'law', `users/${bob.id}`);
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, PATCH');
    assert.match(del.json.error_description, /disable them/);
  });

  test('a disabled user\'s unexpired access token is inactive at introspection at once', async () => {
    const v = await s.verify(bob.jar, s.law);
    assert.equal((await s.introspect(v.token)).active, true);
    const r = await s.admin('PATCH', 'law', `users/${bob.id}`, { body: { disabled: true }, auth: alice.bearer });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.disabled, true);
    assert.equal((await s.introspect(v.token)).active, false);
    assert.equal((await s.verify(bob.jar, s.law)).status, 401);
    const ev = (await s.events('law')).find((e) => e.type === 'user_disabled');
    assert.equal(ev.details.actor.type, 'user');
    assert.equal(ev.details.actor.id, alice.id);
    assert.equal(ev.ip, '127.0.0.1');
    assert.deepEqual(ev.details.before, { disabled: false });
    assert.deepEqual(ev.details.after, { disabled: true });
    assert.equal((await s.admin('PATCH', 'law', `users/${bob.id}`, { body: { disabled: false } })).status, 200);
    assert.equal((await signIn(bob.jar, s.law, { login: 'bob', password: 'bob-password' })).res.status, 302);
  });

  test('sessions: listed without secrets, one ended; its tokens inactive', async () => {
    const other = new CookieJar();
    assert.equal((await signIn(other, s.law, { login: 'bob', password: 'bob-password' })).res.status, 302);
    const tok = (await s.verify(other, s.law)).token;
    const cookie = other.get(s.law, 'sekisho');
    const l = await s.admin('GET', 'law', `users/${bob.id}/sessions`);
    assert.equal(l.status, 200);
    assert.equal(l.json.length, 2);
    assert.ok(!l.text.includes(cookie) && !l.text.includes(cookie.slice(22)), 'no session id');
    for (const x of l.json) {
      assert.match(x.id, new RegExp(`^${bob.id}\\.s_[0-9a-f]{64}$`));
      assert.equal(x.kind, 'browser');
      assert.equal(x.provider, 'google');
      assert.match(x.created, /^\d{4}-/);
      assert.match(x.expires, /^\d{4}-/);
    }
    const sid = `${bob.id}.${jose.decodeJwt(tok).sid}`;
    assert.ok(l.json.some((x) => x.id === sid));
    assert.equal((await s.admin('DELETE', 'shop', `sessions/${sid}`)).status, 404, 'not on another tenant');
    const d = await s.admin('DELETE', 'law', `sessions/${sid}`);
    assert.equal(d.status, 200, d.text);
    assert.equal((await s.verify(other, s.law)).status, 401);
    assert.equal((await s.introspect(tok)).active, false);
    assert.equal((await s.verify(bob.jar, s.law)).status, 200, 'his other session lives');
    assert.equal((await s.admin('DELETE', 'law', `sessions/${sid}`)).status, 404);
  });
});

describe('sekishoctl', () => {
  test('sessions list/revoke, disable/enable, mfa-reset, reindex (--json)', async () => {
    const l = await s.ctl('sessions', 'list', bob.id, '--json');
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.json.length, 1);
    const rv = await s.ctl('sessions', 'revoke', l.json[0].id, '--json');
    assert.equal(rv.code, 0, rv.stderr);
    assert.equal(rv.json.user, bob.id);
    assert.equal((await s.verify(bob.jar, s.law)).status, 401);
    assert.equal((await s.ctl('sessions', 'revoke', l.json[0].id)).code, 1);

    const dis = await s.ctl('users', 'disable', bob.id, '--json');
    assert.equal(dis.code, 0, dis.stderr);
    assert.equal(dis.json.disabled, true);
    const en = await s.ctl('users', 'enable', bob.id);
    assert.equal(en.code, 0);
    assert.match(en.stdout, /enabled/);

    const reset = await s.ctl('users', 'mfa-reset', alice.id, '--json');
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(reset.json.mfa.totp, false);
    assert.equal((await s.redis.cli('EXISTS', `sk:{u:${alice.id}}:totp`, `sk:{u:${alice.id}}:rc`)).trim(), '0');
    const ev = (await s.events('law')).find((e) => e.type === 'mfa_reset');
    assert.deepEqual(ev.details.before, { mfa: { totp: true } });

    // Users from before the directory: reindex puts them back.
    await s.redis.cli('DEL', 'sk:{t:law}:dir', 'sk:{t:law}:dirm');
    assert.deepEqual((await s.ctl('users', 'list', '-t', 'law', '--json')).json.users, []);
    const ri = await s.ctl('users', 'reindex');
    assert.equal(ri.code, 0, ri.stderr);
    assert.match(ri.stdout, /^3 users/);
    assert.equal((await s.ctl('users', 'list', '-t', 'law', '--json')).json.users.length, 2);
  });

  test('nothing secret in the events', async () => {
    const all = JSON.stringify([...(await s.events('law')), ...(await s.events('shop'))]);
    for (const jar of [alice.jar, bob.jar, bobShop.jar]) {
      for (const base of [s.law, s.shop]) {
        const c = jar.get(base, 'sekisho');
        if (c) assert.ok(!all.includes(c.slice(22)), 'no session id');
      }
    }
    assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}\./, 'no token');
    assert.ok(!all.includes(alice.totp), 'no TOTP secret');
    assert.ok(!all.includes(OPS.secret) && !all.includes(BACKEND.secret), 'no client secret');
    assert.doesNotMatch(all, /"(secret|password|seed|cookie|code)"/);
  });
});

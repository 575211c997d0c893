// Redis outage: sekisho fails closed and recovers on its own. Covers:
//   - Redis killed (SIGKILL): /healthz stays 200; /readyz 503 JSON
//     temporarily_unavailable; /auth/verify with a live session cookie 503
//     (never 200) on every worker thread (fresh connections); /auth/verify
//     without cookie never 200; GET / with the cookie not "Signed in";
//     /login/google 503 page without a binding cookie; a sign-in pending at
//     the IdP ends on a 503 page without a session; POST /logout 503;
//     sekisho_redis_errors_total grows; the daemon keeps running
//   - redis-server restarted on the same port: within a bounded wait, /readyz
//     is 200 on every thread without restarting sekisho; the old session (lost
//     with Redis' memory) is 401; a new sign-in works and verifies 200
//   - Redis hung (SIGSTOP: connections open, no answers): once the session
//     cache's heartbeat bound has passed, /auth/verify and /readyz answer
//     503 within the command timeout (never 200, never hang);
//     after SIGCONT every thread recovers and answers are not mixed up
//     between requests (alice's cookie gives alice, bob's gives bob)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { CookieJar, follow, freshGet, metric, signIn, startSignIn, startStack, waitFor, waitReady } from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack();
  base = stack.base;
});
after(async () => { await stack?.stop(); });

const N = 8; // fresh connections per check, to reach both worker threads

describe('redis outage', () => {
  let sid;
  let pendingCallback;

  test('set up: a live session and a sign-in pending at the IdP', async () => {
    const jar = new CookieJar();
    await signIn(jar, base);
    sid = jar.get(base, 'sekisho');
    assert.ok(sid);
    for (let i = 0; i < N; i += 1) {
      assert.equal((await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${sid}` })).status, 200);
      assert.equal((await freshGet(`${base}/readyz`)).status, 200);
    }
    const pjar = new CookieJar();
    pendingCallback = { jar: pjar, url: await startSignIn(pjar, base) };
  });

  test('Redis down: fail closed', async () => {
    const errorsBefore = await metric(base, 'sekisho_redis_errors_total');
    await stack.redis.kill();

    assert.equal((await freshGet(`${base}/healthz`)).status, 200, 'liveness does not depend on Redis');

    for (let i = 0; i < N; i += 1) {
      const r = await freshGet(`${base}/readyz`);
      assert.equal(r.status, 503, `/readyz #${i}`);
      assert.match(r.headers['content-type'], /application\/json/);
      assert.equal(JSON.parse(r.body).error, 'temporarily_unavailable');
    }

    for (let i = 0; i < N; i += 1) {
      const r = await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${sid}` });
      assert.equal(r.status, 503, `/auth/verify with a session cookie #${i}: ${r.status} ${r.body}`);
      assert.equal(r.headers['x-auth-request-user'], undefined);
      const anon = await freshGet(`${base}/auth/verify`);
      assert.notEqual(anon.status, 200, 'no cookie');
      assert.ok([401, 503].includes(anon.status), `no cookie: ${anon.status}`);
    }

    const home = await freshGet(`${base}/`, { cookie: `sekisho=${sid}` });
    assert.notEqual(home.status, 200);
    assert.doesNotMatch(home.body, /Signed in/);

    const login = await follow(new CookieJar(), `${base}/login/google`);
    assert.equal(login.status, 503);
    assert.match(login.headers.get('content-type'), /text\/html/);
    assert.ok(!login.headers.getSetCookie().some((c) => c.startsWith('sekisho_login=')), 'no binding cookie');
    assert.equal(login.location, undefined);

    const cb = await follow(pendingCallback.jar, pendingCallback.url);
    assert.equal(cb.status, 503, `pending callback: ${cb.status}`);
    assert.ok(!cb.headers.getSetCookie().some((c) => /^sekisho=[^;]/.test(c)), 'no session cookie');

    const lo = await follow(new CookieJar(), `${base}/logout`, { method: 'POST', headers: { cookie: `sekisho=${sid}`, origin: base } });
    assert.equal(lo.status, 503, 'logout cannot end the session: says so');

    assert.ok(await metric(base, 'sekisho_redis_errors_total') > errorsBefore, 'redis errors counted');
    assert.ok(stack.sekisho.running(), 'sekisho still running');
  });

  test('Redis back on the same port: sekisho recovers without a restart', async () => {
    await stack.redis.restart();
    const t0 = Date.now();
    // The daemon backs off reconnects up to 2 s per thread: poll, bounded.
    await waitReady(base, { n: N });
    const recoveredMs = Date.now() - t0;
    assert.ok(recoveredMs < 15_000);

    // Redis restarted empty: the old session is gone (401, not 503, not 200).
    for (let i = 0; i < N; i += 1) {
      const r = await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${sid}` });
      assert.equal(r.status, 401, `old session after Redis restart #${i}`);
    }

    const jar = new CookieJar();
    const { res } = await signIn(jar, base);
    assert.equal(res.status, 302);
    const nsid = jar.get(base, 'sekisho');
    for (let i = 0; i < N; i += 1) {
      const r = await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${nsid}` });
      assert.equal(r.status, 200, `new session #${i}`);
      assert.equal(r.headers['x-auth-request-email'], 'alice@example.com');
    }
    // The signing keyset was lost with Redis's data: the daemon makes a new
    // one within its reload interval, and tokens verify against the JWKS.
    await waitFor(async () => Number((await stack.redis.cli('HLEN', 'sk:{keys}')).trim()) >= 1,
      { timeoutMs: 15_000, what: 'a new signing keyset in Redis' });
    const kids = new Set();
    await waitFor(async () => {
      const jwks = await (await fetch(`${base}/jwks.json`)).json();
      jwks.keys.forEach((k) => kids.add(k.kid));
      const stored = (await stack.redis.cli('HKEYS', 'sk:{keys}')).trim().split('\n');
      return stored.every((k) => jwks.keys.some((j) => j.kid === k));
    }, { timeoutMs: 15_000, what: 'the JWKS to publish the new keyset' });
    const v = await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${nsid}` });
    assert.equal(v.status, 200);
    const token = v.headers['x-auth-request-access-token'];
    assert.ok(token, 'an access token after the keyset was rebuilt');
    const kid = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid;
    const published = (await (await fetch(`${base}/jwks.json`)).json()).keys.map((k) => k.kid);
    assert.ok(published.includes(kid), 'the token\'s key is published');
    assert.ok(stack.sekisho.running());
  });

  test('Redis hung: 503 within the command timeout, then recovery without mixed-up replies', async () => {
    const alice = new CookieJar();
    const bob = new CookieJar();
    await signIn(alice, base);
    await signIn(bob, base, { login: 'bob', password: 'bob-password' });
    const sa = alice.get(base, 'sekisho');
    const sb = bob.get(base, 'sekisho');
    const who = async (s) => (await freshGet(`${base}/auth/verify`, { cookie: `sekisho=${s}` }));
    const ua = (await who(sa)).headers['x-auth-request-user'];
    const ub = (await who(sb)).headers['x-auth-request-user'];
    assert.ok(ua && ub && ua !== ub);

    stack.redis.pause();
    try {
      // Sessions read a moment ago may still be answered from the session
      // cache until its heartbeat bound (2 x session.cache_heartbeat, 200
      // ms) passes; cache.test.mjs measures that bound. From then on:
      await new Promise((res) => setTimeout(res, 500));
      for (let i = 0; i < N; i += 1) {
        const t = Date.now();
        const r = await who(i % 2 ? sa : sb);
        assert.equal(r.status, 503, `verify while Redis hangs #${i}: ${r.status}`);
        assert.ok(Date.now() - t < 3000, `answered in ${Date.now() - t} ms`);
        assert.equal((await freshGet(`${base}/readyz`)).status, 503);
      }
    } finally {
      stack.redis.resume();
    }
    await waitReady(base, { n: N });
    // A worker thread whose connection timed out while Redis hung retries
    // after its backoff (at most 2 s): until then it refuses (503), which
    // is fail-closed, never a wrong answer. So a 503 is retried within
    // that bound; any other status, or another user's reply, fails.
    const backoffEnd = Date.now() + 5000;
    for (let i = 0; i < 2 * N; i += 1) {
      const [s, u, e] = i % 2 ? [sa, ua, 'alice@example.com'] : [sb, ub, 'bob@example.org'];
      let r = await who(s);
      while (r.status === 503 && Date.now() < backoffEnd) {
        await new Promise((res) => setTimeout(res, 100));
        r = await who(s);
      }
      assert.equal(r.status, 200, `after resume #${i}`);
      assert.equal(r.headers['x-auth-request-user'], u, `reply belongs to this request #${i}`);
      assert.equal(r.headers['x-auth-request-email'], e);
    }
  });
});

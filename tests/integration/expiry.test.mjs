// Session expiry with short timeouts (session.idle_timeout: 2s,
// absolute_timeout: 4s). Covers:
//   - the session cookie's Max-Age is the absolute timeout
//   - sliding idle expiry: a session used every 0.5 s lives past the idle
//     timeout (2 s), then ends at the absolute timeout even though it is
//     still in use, and stays ended
//   - idle expiry: a session left alone for longer than idle_timeout is gone
//     (/auth/verify 401, Redis record gone)
// The cookie is sent by hand (not by the jar), so it is the server that ends
// the session, not the cookie's Max-Age. Redis TIME has one-second
// resolution in the daemon, so the absolute end is accepted anywhere in
// (abs - 1 s, abs + 1 s].

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { CookieJar, follow, signIn, startStack } from './harness.mjs';

let stack;
let base;

before(async () => {
  stack = await startStack({ idleTimeout: '2s', absoluteTimeout: '4s' });
  base = stack.base;
});
after(async () => { await stack?.stop(); });

async function newSession() {
  const jar = new CookieJar();
  const { res } = await signIn(jar, base);
  assert.equal(res.status, 302);
  const sc = res.headers.getSetCookie().find((c) => /^sekisho=[^;]/.test(c));
  const sid = /^sekisho=([^;]+)/.exec(sc)[1];
  return { sid, sc, t0: Date.now() };
}

const verify = async (sid) => (await follow(new CookieJar(), `${base}/auth/verify`, { headers: { cookie: `sekisho=${sid}` } })).status;

describe('session expiry', { concurrency: 2 }, () => {
  test('sliding idle timeout, then the absolute end', async () => {
    const { sid, sc, t0 } = await newSession();
    assert.match(sc, /; Max-Age=4(;|$)/, `cookie Max-Age = absolute_timeout: ${sc}`);
    const seen = [];
    let firstDenied;
    while (Date.now() - t0 < 5500) {
      const st = await verify(sid);
      const at = Date.now() - t0;
      seen.push(`${at}ms:${st}`);
      if (st !== 200 && st !== 401) assert.fail(`unexpected ${st} at ${at} ms`);
      if (st === 401 && firstDenied === undefined) firstDenied = at;
      if (st === 200 && firstDenied !== undefined) assert.fail(`session came back after ending: ${seen}`);
      if (st === 200) assert.ok(at < 5000, `still alive at ${at} ms (absolute 4 s): ${seen}`);
      await sleep(500);
    }
    assert.ok(firstDenied !== undefined, `session never ended: ${seen}`);
    // Alive well past the idle timeout thanks to the sliding refresh ...
    assert.ok(seen.filter((s) => s.endsWith(':200')).some((s) => parseInt(s, 10) >= 2500),
      `used every 0.5 s, the session must outlive idle_timeout (2 s): ${seen}`);
    // ... and ended around the absolute timeout.
    assert.ok(firstDenied >= 2900 && firstDenied <= 5100, `ended at ${firstDenied} ms: ${seen}`);
  });

  test('idle timeout ends an unused session', async () => {
    const { sid } = await newSession();
    assert.equal(await verify(sid), 200);
    const keys = await stack.redis.count('sk:{u:*}:s:*');
    assert.ok(keys >= 1);
    await sleep(2600);
    assert.equal(await verify(sid), 401, 'idle for 2.6 s with idle_timeout 2 s');
    const home = await follow(new CookieJar(), `${base}/`, { headers: { cookie: `sekisho=${sid}` } });
    assert.equal(home.status, 302);
  });

  test('used within the idle timeout, a session survives it', async () => {
    const { sid } = await newSession();
    // 2 x 1.3 s: past idle_timeout, safely before the absolute end (> 3 s).
    for (let i = 0; i < 2; i += 1) {
      await sleep(1300);
      assert.equal(await verify(sid), 200, `refresh ${i + 1} at ~${(i + 1) * 1.3} s`);
    }
  });
});

// Rate limits end to end (real sekisho, redis, the test IdP). Sekisho trusts
// 127.0.0.1 as a proxy, so each test presents its own client address in
// X-Forwarded-For and gets buckets of its own. The tenant allows 60 sign-in
// requests a minute per address (a bucket of 60, one more each second).
// Covers:
//   - past the login bucket: 429 with Retry-After (seconds) and a page
//     naming the address; another address is not affected; allowed again
//     after the refill, and refused again once it is spent
//   - a flood of 400 parallel requests from one address: at most the
//     bucket (plus what refilled meanwhile) get through, every other one
//     is a 429, and the whole flood is answered within seconds
//   - guessing a client secret at /oauth2/introspect: 30 failures from one
//     address, then 429 JSON with Retry-After for that address whatever
//     the secret (no oracle past the limit); the real client from its own
//     address still gets its answer

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { startStack, tmpDir } from './harness.mjs';

const CLIENT = { id: 'rl-api', secret: 'rate-limit-test-client-secret-0123456789' };
let stack;
let secretDir;

before(async () => {
  secretDir = tmpDir('sekisho-it-rl-');
  const file = path.join(secretDir, 'client.secret');
  fs.writeFileSync(file, `${CLIENT.secret}\n`, { mode: 0o600 });
  stack = await startStack({
    httpYaml: 'trusted_proxies: ["127.0.0.1/32"]',
    tenantsYaml: `  - id: default
    display_name: "Test Office"
    providers: [google]
    rate_limits: {login: 60}
`,
    extraConfig: `clients:
  - client_id: ${CLIENT.id}
    client_secret_file: ${file}
    tenants: [default]
`,
  });
});
after(async () => {
  await stack?.stop();
  if (secretDir) fs.rmSync(secretDir, { recursive: true, force: true });
});

async function get(path, from) {
  const r = await fetch(`${stack.sekishoBase}${path}`, {
    redirect: 'manual', headers: { 'x-forwarded-for': from }, signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

async function introspect(from, secret) {
  const r = await fetch(`${stack.sekishoBase}/oauth2/introspect`, {
    method: 'POST',
    headers: {
      'x-forwarded-for': from,
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${CLIENT.id}:${secret}`).toString('base64')}`,
    },
    body: 'token=not-a-token',
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

describe('rate limits', () => {
  test('429 with Retry-After past the login bucket, allowed again after the refill', async () => {
    const from = '203.0.113.21';
    const t0 = Date.now();
    const burst = await Promise.all(Array.from({ length: 70 }, () => get('/login', from)));
    const secs = (Date.now() - t0) / 1000;
    const passed = burst.filter((r) => r.status === 302).length;
    assert.ok(passed >= 60 && passed <= 60 + Math.ceil(secs) + 1, `${passed} of 70 passed in ${secs}s`);
    const r = burst.find((x) => x.status === 429);
    assert.ok(r, 'some were refused');
    assert.equal(r.headers.get('retry-after'), '1');
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.ok(r.body.includes('(203.0.113.21)'), r.body.slice(0, 300));
    assert.equal((await get('/login', '203.0.113.22')).status, 302, 'another address has its own bucket');
    // The same /64 is the same client; another /64 is not.
    assert.equal((await get('/login', '2001:db8:5:1::1')).status, 302);
    await sleep(1100);
    assert.equal((await get('/login', from)).status, 302, 'one token back after a second');
    // One a second from here on: a few more at most, then 429 again.
    let more = 0;
    while ((await get('/login', from)).status === 302) {
      more += 1;
      assert.ok(more < 5, 'the bucket stays near empty');
    }
  });

  test('a flood from one address is bounded in count and in time', async () => {
    const from = '2001:db8:77::1';
    const t0 = Date.now();
    const all = await Promise.all(Array.from({ length: 400 }, (_, i) =>
      // a neighbour in the same /64 counts against the same bucket
      get('/login', i % 2 ? from : '2001:db8:77::2')));
    const secs = (Date.now() - t0) / 1000;
    const passed = all.filter((r) => r.status === 302).length;
    const limited = all.filter((r) => r.status === 429);
    assert.equal(passed + limited.length, 400, `statuses: ${[...new Set(all.map((r) => r.status))]}`);
    assert.ok(passed >= 60 && passed <= 60 + Math.ceil(secs) + 1, `${passed} passed in ${secs}s`);
    assert.ok(limited.every((r) => Number(r.headers.get('retry-after')) >= 1));
    assert.ok(secs < 15, `flood answered in ${secs}s`);
  });

  test('client secret guessing at introspection: 30 failures, then 429 whatever the secret', async () => {
    const guesser = '198.51.100.66';
    const t0 = Date.now();
    let failures = 0;
    let r;
    // 30 at once, plus one for each 2 s (the refill) the guessing took
    while ((r = await introspect(guesser, `wrong-${failures}`)).status === 401) {
      failures += 1;
      assert.ok(failures <= 30 + Math.ceil((Date.now() - t0) / 2000) + 1, `${failures} guesses`);
    }
    assert.ok(failures >= 30, `${failures} failures before the limit`);
    assert.equal(JSON.parse(r.body).error, 'too_many_requests');
    // Right after a refill is spent, the next one is 2 s away: within
    // them the right secret gets the same 429 as a wrong one.
    for (let i = 0; (r = await introspect(guesser, 'one-more')).status === 429; i += 1) {
      assert.ok(i < 20, 'a token refills within 2 s');
      await sleep(150);
    }
    assert.equal(r.status, 401);
    for (const secret of ['wrong-again', CLIENT.secret]) {
      r = await introspect(guesser, secret);
      assert.equal(r.status, 429, `past the limit (${secret === CLIENT.secret ? 'right' : 'wrong'} secret)`);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal(JSON.parse(r.body).error, 'too_many_requests');
    }
    // The client itself, from its own address, is not held up.
    const ok = await introspect('192.0.2.50', CLIENT.secret);
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), { active: false });
  });
});

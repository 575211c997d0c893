// sekishoctl as an operator runs it, at its edges: the shared option
// parser (unknown commands and options, missing arguments), check-config
// on a good and a broken file, and every Redis-backed command with Redis
// down: a clear message and a non-zero exit, never a crash or a silent 0.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import {
  SEKISHO_BIN, tmpDir, freePort, sekishoConfig, masterKeyFile,
} from './harness.mjs';

const CTL = path.join(path.dirname(SEKISHO_BIN), 'sekishoctl');

/** Runs sekishoctl; resolves to { code, stdout, stderr } (never rejects). */
function ctl(...args) {
  return new Promise((resolve) => {
    execFile(CTL, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr });
    });
  });
}

describe('sekishoctl', () => {
  let dir;
  let good;
  let broken;

  before(async () => {
    dir = tmpDir('sekisho-it-ctl-');
    const secretFile = path.join(dir, 'client.secret');
    fs.writeFileSync(secretFile, 'sekishoctl-test-client-secret-0123456789', { mode: 0o600 });
    // Redis on a port nothing listens on: the commands that need it fail.
    const redisPort = await freePort();
    good = path.join(dir, 'sekisho.yaml');
    fs.writeFileSync(good, sekishoConfig({
      port: await freePort(),
      publicUrl: 'http://127.0.0.1:8080',
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      idpBase: 'http://127.0.0.1:9',
      secretFile,
      extra: `keys:\n  master_key_file: ${masterKeyFile()}\n`,
    }));
    broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'listen: "127.0.0.1:1"\ntenants: [\n');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('help and version', async () => {
    const h = await ctl('help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^usage: sekishoctl COMMAND/m);
    for (const cmd of ['check-config', 'keys list', 'keys rotate', 'users disable', 'master-key rewrap']) {
      assert.ok(h.stdout.includes(cmd), `help lists ${cmd}`);
    }
    const v = await ctl('version');
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^sekishoctl \d+\.\d+\.\d+/);
  });

  test('unknown commands and options are refused with the usage', async () => {
    for (const args of [[], ['frobnicate'], ['keys'], ['keys', 'shred'], ['users', 'delete', 'u1'],
      ['check-config', '--no-such-option'], ['keys', 'list', '-c']]) {
      const r = await ctl(...args);
      assert.notEqual(r.code, 0, `${args.join(' ')} exits non-zero`);
      assert.ok(r.stderr.length > 0, `${args.join(' ')} says why on stderr`);
      assert.equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
    }
  });

  test('check-config: a good file passes, a broken one names the problem', async () => {
    const ok = await ctl('check-config', '-c', good);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await ctl('check-config', '-c', broken);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /broken\.yaml/);
    const missing = await ctl('check-config', '-c', path.join(dir, 'nope.yaml'));
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope\.yaml/);
  });

  test('missing arguments are refused before anything is touched', async () => {
    const noUser = await ctl('users', 'disable', '-c', good);
    assert.notEqual(noUser.code, 0);
    assert.ok(noUser.stderr.length > 0);
    const noKey = await ctl('master-key', 'rewrap', '-c', good);
    assert.notEqual(noKey.code, 0);
    assert.match(noKey.stderr, /new-key/);
    const badDelay = await ctl('keys', 'rotate', '-c', good, '--delay', 'soon');
    assert.notEqual(badDelay.code, 0);
    assert.match(badDelay.stderr, /delay/);
  });

  test('Redis down: every Redis-backed command fails with a clear message', async () => {
    const newKey = path.join(dir, 'new.key');
    fs.writeFileSync(newKey, 'ab'.repeat(32), { mode: 0o600 });
    for (const args of [['keys', 'list', '-c', good], ['keys', 'rotate', '-c', good],
      ['users', 'disable', '-c', good, 'u'.repeat(22)], ['users', 'enable', '-c', good, 'u'.repeat(22)],
      ['master-key', 'rewrap', '-c', good, '--new-key', newKey]]) {
      const r = await ctl(...args);
      assert.ok(typeof r.code === 'number' && r.code !== 0, `${args[0]} ${args[1]}: exit ${r.code}`);
      assert.match(r.stderr, /redis|store/i, `${args[0]} ${args[1]} names the store: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error/);
    }
  });
});

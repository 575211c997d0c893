// Starting the test servers (IdP, echo) as child processes from JS tests.
//
//   const idp = await startIdp({ redirectUris: ['http://127.0.0.1:8080/callback/google'] });
//   ... idp.base, idp.port, idp.clientId, idp.clientSecret ...
//   await idp.stop();
//
// Children are started with --port 0 (free port chosen by the kernel) unless a
// port is given, and are killed when stop() is called or, as a safety net,
// when the parent process exits.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const live = new Set();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

/**
 * Spawns `node script ...args` and resolves once stdout prints a line matching
 * `ready` (whose first group must be the base URL). Rejects on early exit or
 * after timeoutMs.
 */
export function startNodeServer(script, args, { ready, timeoutMs = 10_000, name = path.basename(script) } = {}) {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-64 * 1024); // last 64 KiB, for error messages
    if (process.env.TEST_SERVER_LOGS) process.stderr.write(d);
  });

  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => { live.delete(proc); resolve({ code, signal }); }));

  const stop = async (graceMs = 3000) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const r = await exited;
    clearTimeout(t);
    return r;
  };

  return new Promise((resolve, reject) => {
    let out = '';
    const onEarlyExit = (code, signal) => fail(`exited early (code ${code}, signal ${signal})`);
    const fail = (msg) => {
      clearTimeout(timer);
      proc.off('exit', onEarlyExit);
      stop(0);
      reject(new Error(`${name}: ${msg}\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`not ready within ${timeoutMs} ms`), timeoutMs);
    proc.once('exit', onEarlyExit);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.off('exit', onEarlyExit);
        // Keep draining (and discarding) so the child never blocks on a full pipe.
        proc.stdout.removeAllListeners('data');
        proc.stdout.resume();
        const base = m[1];
        resolve({ proc, base, port: Number(new URL(base).port), stop, stderr: () => stderr });
      }
    });
  });
}

/**
 * Starts tests/idp/server.mjs. Options: clientId (default 'sekisho-local'),
 * clientSecret (default random-ish test value; written to a temp file),
 * redirectUris (required), port (default 0), issuer.
 */
export async function startIdp({
  clientId = 'sekisho-local',
  clientSecret = 'sekisho-local-test-secret',
  redirectUris,
  port = 0,
  issuer,
  timeoutMs,
} = {}) {
  if (!redirectUris?.length) throw new Error('startIdp: redirectUris required');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sekisho-idp-'));
  const secretFile = path.join(dir, 'client-secret');
  fs.writeFileSync(secretFile, `${clientSecret}\n`, { mode: 0o600 });
  const args = ['--port', String(port), '--client-id', clientId, '--client-secret-file', secretFile];
  for (const uri of redirectUris) args.push('--redirect-uri', uri);
  if (issuer) args.push('--issuer', issuer);
  let srv;
  try {
    srv = await startNodeServer(path.join(HERE, 'server.mjs'), args, {
      ready: /^idp listening on (http:\/\/\S+)$/m, timeoutMs, name: 'idp',
    });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async () => {
    try { return await srv.stop(); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  };
  return { ...srv, stop, clientId, clientSecret, issuer: issuer ?? srv.base };
}

/** Starts tests/echo/server.mjs on a free port (or `port`). */
export function startEcho({ port = 0, timeoutMs } = {}) {
  return startNodeServer(path.join(HERE, '..', 'echo', 'server.mjs'), ['--port', String(port)], {
    ready: /^echo listening on (http:\/\/\S+)$/m, timeoutMs, name: 'echo',
  });
}

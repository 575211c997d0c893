// Puts N sign-ins in flight against a token endpoint that never answers
// (test IdP mode token_hang), for bench/run.sh to measure /auth/verify
// meanwhile. Prints "hung N" once Sekisho holds all N
// (sekisho_upstream_jobs), then waits until killed.
//   node bench/hang.mjs SEKISHO_BASE IDP_BASE N
import { CookieJar, follow, setIdpMode, signInAtIdp } from '../tests/lib/idp-login.mjs';

const [base, idpBase, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 20);

await setIdpMode(idpBase, 'normal');
const jars = Array.from({ length: n }, () => new CookieJar());
const callbacks = await Promise.all(jars.map((j) => signInAtIdp(j, `${base}/login`, 'alice', 'alice-password')));
await setIdpMode(idpBase, 'token_hang');
for (let i = 0; i < n; i += 1) follow(jars[i], callbacks[i], { timeoutMs: 600_000 }).catch(() => {});

const deadline = Date.now() + 10_000;
for (;;) {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const jobs = [...text.matchAll(/^sekisho_upstream_jobs\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
  if (jobs >= n) break;
  if (Date.now() > deadline) throw new Error(`only ${jobs} of ${n} sign-ins are waiting`);
  await new Promise((r) => { setTimeout(r, 100); });
}
process.stdout.write(`hung ${n}\n`);
setInterval(() => {}, 60_000); // keep the callbacks open until killed

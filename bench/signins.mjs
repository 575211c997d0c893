// Full federated sign-ins against the test IdP, for bench/run.sh: N
// sign-ins (/login, the IdP's form, /callback: code exchange, id_token
// check, session creation), C at a time, bounded by count and by a
// deadline. Prints "signins DONE SECONDS" (DONE counts those that ended in
// Sekisho's 302 with a session); Sekisho's own CPU time is measured by
// the caller from /proc.
//   node bench/signins.mjs SEKISHO_BASE N C [DEADLINE_S]
import { CookieJar, follow, signInAtIdp } from '../tests/lib/idp-login.mjs';

const [base, nArg, cArg, dArg] = process.argv.slice(2);
const n = Number(nArg ?? 200);
const c = Number(cArg ?? 8);
const deadline = Date.now() + 1000 * Number(dArg ?? 120);
let started = 0;
let done = 0;
const t0 = process.hrtime.bigint();

async function one() {
  const jar = new CookieJar();
  const cb = await signInAtIdp(jar, `${base}/login`, 'alice', 'alice-password');
  const r = await follow(jar, cb);
  if (r.status !== 302) throw new Error(`sign-in failed: ${r.status}`);
  done += 1;
}

async function worker() {
  while (started < n && Date.now() < deadline) {
    started += 1;
    await one();
  }
}

await Promise.all(Array.from({ length: c }, worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(`signins ${done} ${secs.toFixed(3)}\n`);

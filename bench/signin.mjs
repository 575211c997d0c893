// Signs alice in at the given Sekisho base URL through the test IdP and
// prints the Cookie header to use (for bench/run.sh).
import { CookieJar, follow, signInAtIdp } from '../tests/lib/idp-login.mjs';

const base = process.argv[2];
const jar = new CookieJar();
const cb = await signInAtIdp(jar, `${base}/login`, 'alice', 'alice-password');
const r = await follow(jar, cb);
if (r.status !== 302) throw new Error(`sign-in failed: ${r.status}`);
process.stdout.write(jar.header(`${base}/auth/verify`));

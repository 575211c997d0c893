// Helpers for the single sign-on tests (sso.test.mjs, caddy.test.mjs):
// a browser-like HTTP client for several hostnames on one loopback port,
// and the shipped examples (conf/nginx*.example.conf, conf/Caddyfile.example)
// turned into test configurations by changing only names, ports and paths.
//
//   const b = new Browser();                 // *.test names go to 127.0.0.1
//   const r = await b.get('http://app.sso.test:8080/page');
//   const end = await b.browse(url, { login: 'alice' });   // follows redirects,
//                                            // signs in at the IdP when asked
//
// Unlike tests/lib/idp-login.mjs's CookieJar (per host:port, Domain ignored),
// cookies here follow RFC 6265 as browsers do: host-only or Domain cookies
// matched on the host name (any port), __Host- / __Secure- rules enforced,
// and a Domain that does not cover the answering host refused.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import {
  CLIENT_SECRET, REPO, canConnect, fatal, freePort, nginxMain, spawnTracked, startEcho, startIdp,
  startNginx, startRedis, startSekisho, tmpDir, waitFor,
} from './harness.mjs';

const TIMEOUT_MS = 10_000;
const MAX_HOPS = 25;

/** Resolves every *.test name to 127.0.0.1 (what DNS would do for a real site). */
function testLookup(host, opts, cb) {
  if (typeof opts === 'function') { cb = opts; opts = {}; }
  if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}

function domainMatch(host, domain) {
  return host === domain || host.endsWith(`.${domain}`);
}

export class Browser {
  cookies = []; // {name, value, domain, hostOnly, path, secure, expires}

  /** secure: treat every origin as a secure context (TLS terminated in front, see request()). */
  constructor({ secure = false } = {}) {
    this.secure = secure;
  }

  #secureContext(u) {
    return this.secure || u.protocol === 'https:' || u.hostname === '127.0.0.1';
  }

  setCookie(url, header, now = Date.now()) {
    const u = new URL(url);
    const host = u.hostname.toLowerCase();
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let domain; let cpath = '/'; let secure = false; let expires = Infinity;
    for (const a of attrs) {
      const i = a.indexOf('=');
      const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : a.slice(i + 1).trim();
      if (k === 'domain' && v) domain = v.replace(/^\./, '').toLowerCase();
      else if (k === 'path' && v.startsWith('/')) cpath = v;
      else if (k === 'secure') secure = true;
      else if (k === 'max-age' && /^-?\d+$/.test(v)) expires = now + Number(v) * 1000;
    }
    if (secure && !this.#secureContext(u)) return;
    if (name.startsWith('__Secure-') && !secure) return;
    if (name.startsWith('__Host-') && (!secure || domain || cpath !== '/')) return;
    // A server may only set a cookie for a domain that covers itself.
    if (domain && !domainMatch(host, domain)) return;
    const c = { name, value, domain: domain ?? host, hostOnly: !domain, path: cpath, secure, expires };
    this.cookies = this.cookies.filter((o) => !(o.name === c.name && o.domain === c.domain && o.path === c.path && o.hostOnly === c.hostOnly));
    if (expires > now) this.cookies.push(c);
  }

  /** The cookies a browser would send to url. */
  matching(url, now = Date.now()) {
    const u = new URL(url);
    const host = u.hostname.toLowerCase();
    return this.cookies.filter((c) => c.expires > now
      && (c.hostOnly ? host === c.domain : domainMatch(host, c.domain))
      && (!c.secure || this.#secureContext(u))
      && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
  }

  cookieHeader(url) {
    return this.matching(url).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** One request (no redirects followed). Returns {status, headers, body, url, location}. */
  request(url, { method = 'GET', headers = {}, body } = {}) {
    // With `secure`, https:// URLs of *.test hosts are fetched over plain
    // http on the same port, as behind a TLS terminator.
    const u = new URL(this.secure && url.startsWith('https://') ? url.replace(/^https:/, 'http:') : url);
    const h = { connection: 'close', ...headers };
    const ck = this.cookieHeader(url);
    if (ck && !Object.keys(h).some((k) => k.toLowerCase() === 'cookie')) h.cookie = ck;
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    return new Promise((resolve, reject) => {
      const r = http.request(u, {
        method, headers: h, agent: false, timeout: TIMEOUT_MS,
        lookup: u.hostname.endsWith('.test') ? testLookup : undefined,
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
          for (const sc of [res.headers['set-cookie'] ?? []].flat()) this.setCookie(url, sc);
          const loc = res.headers.location;
          resolve({
            status: res.statusCode, headers: res.headers, body: text, url,
            location: loc ? new URL(loc, url).href : undefined,
          });
        });
        res.on('error', reject);
      });
      r.on('timeout', () => r.destroy(new Error(`${method} ${url}: timeout`)));
      r.on('error', reject);
      if (body !== undefined) r.write(body);
      r.end();
    });
  }

  get(url, headers = {}) { return this.request(url, { headers }); }

  /**
   * Follows redirects from url like a browser; at the test IdP's sign-in
   * form posts login / password. Returns the last answer, with `hops` (the
   * URLs requested, in order).
   */
  async browse(url, { login = 'alice', password = 'alice-password', headers = {} } = {}) {
    const hops = [];
    let req = { headers };
    for (let i = 0; i < MAX_HOPS; i += 1) {
      hops.push(url);
      const res = await this.request(url, req);
      req = {};
      if (res.status >= 300 && res.status < 400 && res.location) {
        url = res.location;
        continue;
      }
      const form = /<form\b[^>]*>/i.exec(res.body)?.[0];
      if (form && /\bid="login"/.test(res.body) && /\bid="password"/.test(res.body)) {
        if (hops.filter((h) => h === url).length > 1) throw new Error(`IdP refused ${login} at ${url}`);
        const action = (/\baction="([^"]*)"/i.exec(form)?.[1] ?? '').replace(/&amp;/g, '&');
        url = new URL(action || url, url).href;
        req = {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ login, password }).toString(),
        };
        continue;
      }
      return { ...res, hops };
    }
    throw new Error(`more than ${MAX_HOPS} hops from ${hops[0]}`);
  }
}

/** A shipped example file's text (conf/...). */
export function example(name) {
  return fs.readFileSync(path.join(REPO, 'conf', name), 'utf8');
}

/**
 * Replaces each [from, to] (strings: every occurrence) in text, and fails
 * when one does not occur: the tests then notice an example that changed.
 */
export function rewrite(text, pairs) {
  let out = text;
  for (const [from, to] of pairs) {
    if (!out.includes(from)) throw new Error(`example text lacks ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}

/**
 * Redis, the IdP, echo, sekisho and a proxy ('nginx', 'caddy' or none)
 * running the shipped `exampleFile` rewritten by `pairs`, both given
 * ports => .... tenants(ports) gives the YAML items of tenants:,
 * redirectUris(ports) the IdP's, publicUrl(ports) Sekisho's. Returns
 * { ports: {proxy, sekisho}, redis, idp, echo, sekisho, nginx|caddy, stop() }.
 */
export async function startSso({ proxy = 'nginx', exampleFile, pairs = () => [], tenants, redirectUris, publicUrl, secure = false }) {
  const dir = tmpDir('sekisho-it-sso-');
  const stoppers = [];
  const stack = {
    dir,
    async stop() {
      for (const s of stoppers.reverse()) {
        try { await s(); } catch (err) { process.stderr.write(`sso: stop: ${err.message}\n`); }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const ports = { proxy: await freePort(), sekisho: await freePort() };
    ports.nginx = ports.proxy;
    stack.ports = ports;
    stack.redis = await startRedis();
    stoppers.push(() => stack.redis.stop());
    const secretFile = path.join(dir, 'idp-client.secret');
    fs.writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });
    stack.idp = await startIdp({ secretFile, redirectUris: redirectUris(ports) });
    stoppers.push(() => stack.idp.stop());
    stack.echo = await startEcho();
    stoppers.push(() => stack.echo.stop());
    stack.sekisho = await startSekisho({
      dir, port: ports.sekisho, publicUrl: publicUrl(ports), redisUrl: stack.redis.url,
      idpBase: stack.idp.base, secretFile, secure, tenantsYaml: tenants(ports),
    });
    stoppers.push(() => stack.sekisho.stop('SIGTERM', 5000));
    if (proxy) {
      const text = rewrite(example(exampleFile), [
        ['127.0.0.1:8080', `127.0.0.1:${ports.sekisho}`],
        ['127.0.0.1:9500', `127.0.0.1:${stack.echo.port}`],
        ['127.0.0.1:9501', `127.0.0.1:${stack.echo.port}`],
        ...pairs(ports),
      ]);
      if (proxy === 'nginx') {
        stack.nginx = await startNginx({
          port: ports.proxy,
          config: (ndir) => nginxMain(ndir, rewrite(text, [
            ['listen 80;', `listen 127.0.0.1:${ports.proxy};`], ['/var/log/nginx/', `${ndir}/`]])),
        });
        stoppers.push(() => stack.nginx.stop());
      } else {
        stack.caddy = await startCaddy({ port: ports.proxy, caddyfile: text });
        stoppers.push(() => stack.caddy.stop());
      }
    }
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}


/**
 * Debian's caddy in the foreground (`caddy run`) with the admin endpoint
 * and automatic HTTPS off, every file in a temp dir: the global options
 * go before `caddyfile`, in which /var/log/caddy/ becomes that dir.
 * accessLog() is the text of the log files written there.
 */
export async function startCaddy({ port, caddyfile }) {
  const dir = tmpDir('sekisho-it-caddy-');
  const conf = path.join(dir, 'Caddyfile');
  fs.writeFileSync(conf, `{
\tadmin off
\tauto_https off
\tstorage file_system ${dir}/data
}
${rewrite(caddyfile, [['/var/log/caddy/', `${dir}/`]])}`);
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: `${dir}/xdg`, XDG_CONFIG_HOME: `${dir}/xdgc` };
  const child = spawnTracked('caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], { name: 'caddy', env });
  await waitFor(async () => {
    if (!child.running()) throw fatal(`caddy exited early: ${child.stderr()}${child.stdout()}`);
    return canConnect(port);
  }, { timeoutMs: 15_000, what: `caddy on port ${port}` });
  return {
    port,
    stderr: child.stderr,
    accessLog: () => fs.readdirSync(dir).filter((f) => f.endsWith('.log'))
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join(''),
    async stop() {
      await child.stop('SIGTERM', 3000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

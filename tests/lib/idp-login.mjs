// Helpers for tests that drive a sign-in through the test IdP
// (tests/idp/server.mjs) without a browser.
//
//   const jar = new CookieJar();
//   const callback = await signInAtIdp(jar, 'http://127.0.0.1:8080/login', 'alice', 'alice-password');
//   const res = await follow(jar, callback);          // the test decides to request it
//   await setIdpMode('http://127.0.0.1:9400', 'wrong_aud');
//
// Every request is bounded by a timeout (default 10 s, opts.timeoutMs).

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_HOPS = 20;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Minimal cookie jar. Cookies are kept per host:port (unlike browsers, which
 * share cookies across ports of one host); Domain is ignored, Path is matched
 * as in RFC 6265, Max-Age / Expires in the past delete. Secure cookies are
 * kept and sent over https and over http to loopback hosts (as browsers treat
 * localhost as a secure context). `__Host-` cookies are only accepted with
 * Secure, Path=/ and no Domain, and `__Secure-` only with Secure, as a
 * browser would do — so a server setting them wrongly gets caught.
 */
export class CookieJar {
  #stores = new Map(); // "host:port" -> Map("name\0path" -> {name, value, path, expires, secure})

  static #key(url) {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  }

  static #secureContext(u) {
    return u.protocol === 'https:' || LOOPBACK.has(u.hostname);
  }

  // Default-path of RFC 6265 §5.1.4: the request path up to its last "/".
  static #defaultPath(pathname) {
    if (!pathname.startsWith('/')) return '/';
    const i = pathname.lastIndexOf('/');
    return i <= 0 ? '/' : pathname.slice(0, i);
  }

  static #pathMatches(reqPath, cookiePath) {
    if (reqPath === cookiePath) return true;
    if (!reqPath.startsWith(cookiePath)) return false;
    return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
  }

  /** Records one Set-Cookie header value received from `url`. */
  setCookie(url, setCookie, now = Date.now()) {
    const u = new URL(url);
    const [pair, ...attrs] = setCookie.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path; let expires = Infinity; let secure = false; let domain = false;
    let maxAgeSeen = false;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const k = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : attr.slice(i + 1).trim();
      if (k === 'path' && v.startsWith('/')) path = v;
      else if (k === 'max-age' && /^-?\d+$/.test(v)) { maxAgeSeen = true; expires = now + Number(v) * 1000; }
      else if (k === 'expires' && !maxAgeSeen) { const t = Date.parse(v); if (!Number.isNaN(t)) expires = t; }
      else if (k === 'secure') secure = true;
      else if (k === 'domain' && v) domain = true;
    }
    if (secure && !CookieJar.#secureContext(u)) return;
    if (name.startsWith('__Secure-') && !secure) return;
    if (name.startsWith('__Host-') && (!secure || domain || path !== '/')) return;
    path ??= CookieJar.#defaultPath(u.pathname);

    const hostKey = CookieJar.#key(url);
    if (!this.#stores.has(hostKey)) this.#stores.set(hostKey, new Map());
    const store = this.#stores.get(hostKey);
    const id = `${name}\0${path}`;
    if (expires <= now) store.delete(id);
    else store.set(id, { name, value, path, expires, secure });
  }

  /** Records every Set-Cookie of a fetch Response received from `url`. */
  record(url, response) {
    for (const sc of response.headers.getSetCookie()) this.setCookie(url, sc);
  }

  #matching(url, now = Date.now()) {
    const u = new URL(url);
    const store = this.#stores.get(CookieJar.#key(url));
    if (!store) return [];
    const out = [];
    for (const [id, c] of store) {
      if (c.expires <= now) { store.delete(id); continue; }
      if (c.secure && !CookieJar.#secureContext(u)) continue;
      if (CookieJar.#pathMatches(u.pathname || '/', c.path)) out.push(c);
    }
    // Longer paths first, as browsers order them.
    return out.sort((a, b) => b.path.length - a.path.length);
  }

  /** The Cookie header value to send to `url` ('' when there is none). */
  header(url) {
    return this.#matching(url).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Value of the cookie `name` that would be sent to `url`, or undefined. */
  get(url, name) {
    return this.#matching(url).find((c) => c.name === name)?.value;
  }

  clear() { this.#stores.clear(); }
}

/**
 * One HTTP request with the jar's cookies, without following redirects.
 * opts: { method, headers, body, timeoutMs }.
 * Returns { status, headers, body, url, location } where `location` is the
 * absolute redirect target (or undefined).
 */
export async function follow(jar, url, opts = {}) {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, headers = {}, ...rest } = opts;
  const h = new Headers(headers);
  const cookie = jar.header(url);
  if (cookie && !h.has('cookie')) h.set('cookie', cookie);
  const res = await fetch(url, {
    ...rest, headers: h, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
  });
  jar.record(url, res);
  const body = await res.text();
  const loc = res.headers.get('location');
  return {
    status: res.status,
    headers: res.headers,
    body,
    url,
    location: loc ? new URL(loc, url).href : undefined,
  };
}

const isRedirect = (s) => s >= 300 && s < 400;

// The test IdP's sign-in form: <form method="post" action="..."> with inputs #login and #password.
function findLoginForm(html) {
  const form = /<form\b[^>]*>/i.exec(html)?.[0];
  if (!form || !/\bid="login"/.test(html) || !/\bid="password"/.test(html)) return undefined;
  const action = /\baction="([^"]*)"/i.exec(form)?.[1] ?? '';
  return { action: action.replace(/&amp;/g, '&') };
}

// An OAuth authorization request: its origin is the IdP's.
function looksLikeAuthorize(url) {
  const q = new URL(url).searchParams;
  return q.has('client_id') && q.has('response_type');
}

/**
 * Signs in at the test IdP and returns the relying party's callback URL
 * (with code & state, or error) WITHOUT requesting it.
 *
 * Starts at `startUrl` (the IdP authorize URL, or any URL redirecting to it),
 * follows redirects to the IdP's sign-in form, posts the credentials, then
 * follows redirects until one leaves the IdP's origin. The IdP's origin is the
 * origin of the first authorization request seen (opts.idpOrigin overrides).
 * If the IdP redirects back without a form (existing IdP session, or mode
 * access_denied), that URL is returned without posting anything.
 * Throws on a rejected password (err.status, err.body set) or anything unexpected.
 */
export async function signInAtIdp(jar, startUrl, login, password, opts = {}) {
  let idpOrigin = opts.idpOrigin ? new URL(opts.idpOrigin).origin : undefined;
  let url = startUrl;
  let req = {};
  let posted = false;

  for (let hop = 0; hop < MAX_HOPS; hop += 1) {
    if (!idpOrigin && looksLikeAuthorize(url)) idpOrigin = new URL(url).origin;
    const res = await follow(jar, url, { ...req, timeoutMs: opts.timeoutMs });
    req = {};

    if (isRedirect(res.status)) {
      if (!res.location) throw new Error(`redirect without Location from ${url}`);
      if (idpOrigin && new URL(res.location).origin !== idpOrigin) return res.location;
      url = res.location;
      continue;
    }

    const form = findLoginForm(res.body);
    if (form && posted) {
      const msg = /id="error"[^>]*>([^<]*)</.exec(res.body)?.[1] ?? 'sign-in form shown again';
      const err = new Error(`IdP rejected sign-in for ${login}: ${msg} (HTTP ${res.status})`);
      Object.assign(err, { status: res.status, body: res.body });
      throw err;
    }
    if (form) {
      idpOrigin ??= new URL(url).origin;
      url = new URL(form.action || url, url).href;
      req = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login, password }).toString(),
      };
      posted = true;
      continue;
    }
    const err = new Error(`unexpected HTTP ${res.status} at ${url} during IdP sign-in: ${res.body.slice(0, 300)}`);
    Object.assign(err, { status: res.status, body: res.body });
    throw err;
  }
  throw new Error(`more than ${MAX_HOPS} redirects during IdP sign-in`);
}

async function idpJson(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS) });
  const body = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Sets the test IdP's misbehaviour mode ('normal' to go back). */
export async function setIdpMode(idpBase, mode) {
  const body = await idpJson(new URL('/__test/mode', idpBase), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  return body.mode;
}

/** Current misbehaviour mode of the test IdP. */
export async function getIdpMode(idpBase) {
  return (await idpJson(new URL('/__test/mode', idpBase))).mode;
}

/** Replaces the IdP's signing key; returns { old_kid, kid }. */
export async function rotateIdpKeys(idpBase) {
  return idpJson(new URL('/__test/rotate-keys', idpBase), { method: 'POST' });
}

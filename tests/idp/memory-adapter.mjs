// In-memory storage adapter for oidc-provider, shared by every Provider
// instance built by server.mjs.
//
// Why not the built-in one: since oidc-provider 9 its memory adapter keeps a
// separate store per Provider instance, and /__test/rotate-keys rebuilds the
// Provider (the keystore is fixed at construction) — sessions, interactions,
// codes and grants must survive that. Also avoids the "in-memory adapter"
// start-up warning. Single process, test use only; nothing is persisted.

const store = new Map(); // key -> { value, expiresAt }
const MAX_ENTRIES = 50_000;

function get(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt <= Date.now()) { store.delete(key); return undefined; }
  return e.value;
}

function set(key, value, expiresIn) {
  if (store.size >= MAX_ENTRIES) sweep();
  const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity;
  store.set(key, { value, expiresAt });
}

function sweep() {
  const now = Date.now();
  for (const [k, e] of store) if (e.expiresAt <= now) store.delete(k);
}

// Tokens issued under a grant, so that revokeByGrantId can find them.
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);
const grantKey = (grantId) => `grant:${grantId}`;

export default class SharedMemoryAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    set(key, payload, expiresIn);
    if (this.model === 'Session') set(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) set(`userCode:${payload.userCode}`, id, expiresIn);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      const members = get(grantKey(payload.grantId)) ?? new Set();
      members.add(key);
      set(grantKey(payload.grantId), members); // members expire on their own
    }
  }

  async find(id) { return get(this.key(id)); }

  async findByUid(uid) {
    const id = get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    for (const key of get(grantKey(grantId)) ?? []) store.delete(key);
    store.delete(grantKey(grantId));
  }
}

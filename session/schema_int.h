/*
 * Private to session/: the store's schema. Every Redis key name, key
 * prefix and index member format, and every label that seals, derives or
 * MACs something kept in Redis, is written here and nowhere else
 * (docs/design.md, "Redis keys", is the reader's copy of this table).
 *
 * The layout is what stored data was written with: changing a byte of a
 * format makes existing sessions, factors and data keys unreadable. Add
 * new formats; never edit one in place.
 *
 * Every key is hash-tagged ({...}) so that Redis Cluster places it, and a
 * script only touches keys of one slot. Variable parts spliced into a
 * name are checked first by the code that builds it (user ids by
 * sk_user_id_ok(), hashes are hex made here, tenants come from the
 * configuration), so no caller's input can reach another tag.
 *
 * Each entry: what the key holds, its Redis type, its lifetime (TTL) and
 * its slot. "permanent" means no TTL. Arguments are in format order.
 */
#ifndef SEKISHO_SCHEMA_INT_H
#define SEKISHO_SCHEMA_INT_H

/* Room for any key built from these formats (the longest is well under). */
#define SK_KEY_LEN 160
/* Room for any sealing label built from these formats. */
#define SK_LABEL_LEN 256

/* Every key starts with this: the database may be shared with others. */
#define SK_KEY_PREFIX "sk:"

/* ---- the user's slot, {u:<user id>} ----
 * Everything a user is signed in with lives here, so that one script can
 * end it all (disable, sign out everywhere) and every grant checks the
 * user's disabled flag in the script that issues it (session/user.c).
 */

/*
 * (user id) Hash, the user: tenant, issuer, subject, email,
 * email_verified, name, amr (of the last sign-in), roles (the role in
 * effect: what sessions carry), role (the role granted by an invitation
 * or an administrator; absent: viewer), created and last_signin (Redis
 * TIME; absent for users older than these fields), disabled, totp ("1"
 * once a factor was enrolled). Permanent.
 */
#define SK_KEY_USER SK_KEY_PREFIX "{u:%s}"

/*
 * (user id) Set, the user's index: the hex of each browser session
 * (SK_KEY_SESSION) and SK_MEMBER_APP of each app session. What a disable
 * or "sign out everywhere" ends. TTL: extended to the longest absolute
 * lifetime of its members.
 */
#define SK_KEY_USER_INDEX SK_KEY_USER ":sess"

/*
 * The prefixes the session cache's invalidation connection tracks
 * (CLIENT TRACKING ... BCAST PREFIX, session/cache_sess.c): every write
 * under them reaches every instance. Only keys under them may be cached.
 * The user's slot holds the sessions, app sessions and the user (its
 * disabled flag): what /auth/verify and introspection read. Keys written
 * per request elsewhere (counters) stay out of it: each write under a
 * prefix costs a message to every instance.
 */
#define SK_TRACK_PREFIX_USER SK_KEY_PREFIX "{u:"

/* The parts of a session key after the user key (used by scripts too). */
#define SK_SUB_SESSION ":s:"
/*
 * (user id, SHA-256 hex of the session id) Hash, a browser session:
 * user tenant email name provider created abs idle amr roles; pend while
 * the second factor is due, mfa_at once done, rj:<jti> per revoked
 * access token and rv, their count. TTL: sliding idle timeout, never past
 * abs; SK_SESSION_PENDING_TTL while pend.
 */
#define SK_KEY_SESSION SK_KEY_USER SK_SUB_SESSION "%s"

/* The parts of an app session key after the user key. */
#define SK_SUB_APP ":a:"
/*
 * (user id, family id) Hash, an app session (refresh token family):
 * user tenant email amr roles client created abs idle gen; rj:<jti> per
 * revoked access token. TTL: sliding app idle timeout, never past abs.
 */
#define SK_KEY_APP SK_KEY_USER SK_SUB_APP "%s"
/* (family id) The member of SK_KEY_USER_INDEX naming an app session. */
#define SK_MEMBER_APP_PFX "a:"
#define SK_MEMBER_APP SK_MEMBER_APP_PFX "%s"

/*
 * Lua (user.c's prune script; ukey: the user hash key, idx: the index
 * key, both KEYS[...]): once the index holds SK_INDEX_PRUNE_AT members,
 * members whose session or app session has expired are removed, so a
 * user who signs in every day does not grow the index (whose TTL each new
 * member extends) without bound. The keys it names are in the user's
 * slot, as the index is.
 */
#define SK_INDEX_PRUNE_AT "32"
#define SK_LUA_INDEX_PRUNE(ukey, idx)                                          \
	"if redis.call('SCARD', " idx ") < " SK_INDEX_PRUNE_AT " then\n"       \
	"  return 0\n"                                                         \
	"end\n"                                                                \
	"local n = 0\n"                                                        \
	"for _, m in ipairs(redis.call('SMEMBERS', " idx ")) do\n"             \
	"  local k\n"                                                          \
	"  if string.sub(m, 1, 2) == '" SK_MEMBER_APP_PFX "' then\n"           \
	"    k = " ukey " .. '" SK_SUB_APP "' .. string.sub(m, 3)\n"           \
	"  else\n"                                                             \
	"    k = " ukey " .. '" SK_SUB_SESSION "' .. m\n"                      \
	"  end\n"                                                              \
	"  if redis.call('EXISTS', k) == 0 then\n"                             \
	"    n = n + redis.call('SREM', " idx ", m)\n"                         \
	"  end\n"                                                              \
	"end\n"                                                                \
	"return n\n"

/*
 * (user id) Hash, outstanding authorization codes: SHA-256 hex of the
 * code -> "<expiry> <JSON>". TTL: extended to the lifetime of the newest
 * code.
 */
#define SK_KEY_CODES SK_KEY_USER ":ac"

/*
 * (user id) Hash, the OAuth apps the user approved: client id -> Redis
 * TIME of the approval. Permanent.
 */
#define SK_KEY_CONSENT SK_KEY_USER ":consent"

/*
 * (user id) Hash, the TOTP factor: seed (sealed with SK_AAD_TOTP_SEED),
 * last_step, enrolled_at. Permanent.
 */
#define SK_KEY_TOTP SK_KEY_USER ":totp"

/*
 * (user id, SHA-256 hex of the session id) String, the sealed secret
 * (SK_AAD_TOTP_ENROL) of an enrolment in progress, one per session.
 * TTL: SK_MFA_ENROL_TTL.
 */
#define SK_SUB_ENROL ":enrol:"
#define SK_KEY_ENROL SK_KEY_USER SK_SUB_ENROL "%s"

/*
 * (user id) Set, the unused recovery codes as SK_MAC_RECOVERY hex.
 * Permanent.
 */
#define SK_KEY_RECOVERY SK_KEY_USER ":rc"

/*
 * (user id) Counter of wrong codes of the version before lockout: no
 * longer written (SK_KEY_LOCKOUT took its place); an unlock deletes it.
 */
#define SK_KEY_MFA_FAILS SK_KEY_USER ":mfail"

/*
 * (user id) Hash, the user's lockout state (session/lockout.c): for the
 * scope "u" (the user on every browser) and "b:<device id hash>" (one
 * browser; "b:-" for browsers without a device cookie), the fields
 * <scope>:n failures in the window, :w the window's end, :l the lock's
 * end, :k locks in a row, :z when that streak starts over (times: Redis
 * TIME in ms). TTL: 2 * lockout.max_duration + lockout.window, renewed by
 * each failure. In the user's slot, so that the check and the second
 * factor's attempt are one script, and an unlock or a disable one DEL.
 */
#define SK_KEY_LOCKOUT SK_KEY_USER ":lk"

/*
 * (user id) Hash, the devices the user completed a sign-in from
 * (sekisho/device.h): device id (SHA-256 hex of the device cookie) ->
 * JSON {first, last (Redis TIME, seconds), ua (a short summary), net
 * (the /24 or /48)}. At most SK_DEVICES_MAX fields. TTL: SK_DEVICE_KEEP_S,
 * renewed at each sign-in.
 */
#define SK_KEY_DEVICES SK_KEY_USER ":dev"
/*
 * (user id) Sorted set, the same device ids scored by last seen: which
 * one to drop when the registry is full. TTL as SK_KEY_DEVICES's.
 */
#define SK_KEY_DEVICES_SEEN SK_KEY_USER ":devs"
/*
 * (user id) Counter of new-device sign-ins in the current window (the
 * notification limit). TTL: SK_DEVICE_NOTIFY_WINDOW_S from the first.
 */
#define SK_KEY_DEVICE_NOTICES SK_KEY_USER ":devn"

/* ---- the tenant's slot, {t:<tenant id>} ---- */

#define SK_KEY_TENANT_PFX SK_KEY_PREFIX "{t:"
/*
 * (tenant, SHA-256 hex of issuer NUL subject) String, the user id linked
 * to an upstream identity. Permanent.
 */
#define SK_KEY_IDENTITY SK_KEY_TENANT_PFX "%s}:idn:%s"
/*
 * (tenant, SHA-256 hex of the lowercased address) String, the user id
 * holding a trusted address (first holder wins). Permanent.
 */
#define SK_KEY_EMAIL SK_KEY_TENANT_PFX "%s}:eml:%s"

/*
 * (tenant) Sorted set, the tenant's user directory: every member scores
 * 0 and is made by SK_LUA_DIR_PUT, so members sort by address and a page
 * resumes after the last member it showed. Kept up to date at each sign-in
 * (which also adds users older than the directory); sekishoctl users
 * reindex adds everyone at once. Permanent.
 */
#define SK_KEY_DIRECTORY SK_KEY_TENANT_PFX "%s}:dir"
/*
 * Lua (the link script of user.c and directory.c's reindex; zk, hk: the
 * SK_KEY_DIRECTORY and SK_KEY_DIRECTORY_MEMBERS keys, uid, email, name
 * Lua expressions): puts a user in the directory, replacing the member
 * of an earlier address or name. A member is the lowercased address,
 * NUL, the lowercased name (at most 128 bytes), NUL, the user id: NUL
 * sorts first, and none of the parts holds one.
 */
#define SK_LUA_DIR_PUT(zk, hk, uid, email, name)                               \
	"do\n"                                                                 \
	"  local m = string.lower(" email ") .. '\\0' ..\n"                    \
	"    string.lower(string.sub(" name ", 1, 128)) .. '\\0' .. " uid "\n" \
	"  local old = redis.call('HGET', " hk ", " uid ")\n"                  \
	"  if old ~= m then\n"                                                 \
	"    if old then redis.call('ZREM', " zk ", old) end\n"                \
	"    redis.call('ZADD', " zk ", 0, m)\n"                               \
	"    redis.call('HSET', " hk ", " uid ", m)\n"                         \
	"  end\n"                                                              \
	"end\n"
/*
 * (tenant) Hash, user id -> that user's current SK_KEY_DIRECTORY member,
 * so that a changed address or name replaces the old member. Permanent.
 */
#define SK_KEY_DIRECTORY_MEMBERS SK_KEY_TENANT_PFX "%s}:dirm"

/*
 * (tenant, invitation id) Hash, an invitation: email, role, created,
 * exp (Redis TIME), by (who invited), tokh (SHA-256 hex of the accept
 * token; the token itself is never stored). Taken, in the script that
 * links a new user, by the first sign-in with the address verified.
 * TTL: until exp.
 */
#define SK_KEY_INVITE SK_KEY_TENANT_PFX "%s}:inv:%s"
/* The same key's prefix, for scripts that build it from an id. */
#define SK_KEY_INVITE_PFX SK_KEY_TENANT_PFX "%s}:inv:"
/*
 * (tenant, SHA-256 hex of the lowercased address) String, the id of the
 * open invitation of an address (one per address: a new one replaces
 * it). TTL: the invitation's.
 */
#define SK_KEY_INVITE_EMAIL SK_KEY_TENANT_PFX "%s}:inve:%s"
/*
 * (tenant) The prefix of a String per user id: the role the invitation
 * that created the user gave, for the sign-ins of the same account racing
 * with its first one (they find the user known, maybe before the first
 * has written the role on the user). TTL: SK_INVITED_ROLE_TTL.
 */
#define SK_KEY_INVITED_ROLE_PFX SK_KEY_TENANT_PFX "%s}:invr:"
#define SK_INVITED_ROLE_TTL "600"

/*
 * (tenant) Sorted set, the open invitations: id scored by its exp.
 * Expired members are dropped when the set is read. Permanent.
 */
#define SK_KEY_INVITES SK_KEY_TENANT_PFX "%s}:invs"

/*
 * (tenant) Stream, the tenant's events (sekisho/event.h): one field "e",
 * the event's JSON without its time (the entry id is Redis's clock).
 * Trimmed to about SK_EVENTS_KEPT entries. Permanent.
 */
#define SK_KEY_EVENTS SK_KEY_TENANT_PFX "%s}:ev"
/*
 * (tenant) Hash, the tenant's runtime policy (sekisho/policy_store.h):
 * doc, the override document's JSON text; ver, its version (the value
 * SK_KEY_POLICY_INDEX held when it was written). Permanent.
 */
#define SK_KEY_POLICY SK_KEY_TENANT_PFX "%s}:pol"
/*
 * (tenant) String, the tenant data key sealed under the master key
 * (SK_AAD_TENANT_DK). Permanent. SK_KEY_DATA_KEY_MATCH finds those an
 * earlier version stored without listing them in SK_KEY_DK_INDEX; the
 * tenant is what stands between SK_KEY_TENANT_PFX and SK_KEY_DK_SFX.
 */
#define SK_KEY_DK_SFX "}:dk"
#define SK_KEY_DATA_KEY SK_KEY_TENANT_PFX "%s" SK_KEY_DK_SFX
#define SK_KEY_DATA_KEY_MATCH SK_KEY_TENANT_PFX "*" SK_KEY_DK_SFX

/* ---- the master key's slot, {mk} ---- */

/*
 * String, the master key check value: a known value sealed under the
 * master key (SK_AAD_MASTER_CHECK), so that another key is refused at
 * start. Permanent.
 */
#define SK_KEY_MASTER_CHECK SK_KEY_PREFIX "{mk}"
/*
 * Set of the tenant ids whose data key was stored: the durable mark that
 * tells a lost data key from one never made, and the index master-key
 * rewrap works from (SCAN sees one node of a Cluster). Permanent.
 */
#define SK_KEY_DK_INDEX SK_KEY_MASTER_CHECK ":dks"

/* ---- the policy index's slot, {pol} ---- */

/*
 * Hash, tenant id -> the version of its stored policy (HINCRBY before
 * each write of SK_KEY_POLICY): what every instance polls, in one call
 * for all tenants. Permanent.
 */
#define SK_KEY_POLICY_INDEX SK_KEY_PREFIX "{pol}"

/* ---- the signing keys' slot, {keys} ---- */

/*
 * Hash, the signing keys: kid -> JSON {alg, key (PEM sealed under the
 * master key with SK_AAD_SIGNING_KEY), created, activate_at}. Permanent;
 * a retired key's field is deleted once its last token has expired.
 */
#define SK_KEY_KEYSET SK_KEY_PREFIX "{keys}"

/* ---- short-lived records, each in its own slot ---- */

/*
 * (SHA-256 hex of the state) String, a pending sign-in (the broker's
 * JSON), taken once with GETDEL. TTL: session.login_timeout.
 */
#define SK_KEY_LOGIN_STATE SK_KEY_PREFIX "{st:%s}"
/*
 * (SHA-256 hex of the form token) String, a consent form waiting for its
 * answer (the broker's JSON), taken once with GETDEL. TTL: the form's.
 */
#define SK_KEY_CONSENT_FORM SK_KEY_PREFIX "{cr:%s}"
/*
 * (client address bucket: IPv4 or IPv6 /64) Sorted set, the sign-ins in
 * progress from it: member SHA-256 hex of a state, score its end (Redis
 * TIME). TTL: session.login_timeout, renewed by each member.
 */
#define SK_KEY_PENDING_LOGINS SK_KEY_PREFIX "{pl:%s}"

/*
 * (client address bucket: IPv4 or IPv6 /64) Hash, the address's lockout
 * state: the fields of SK_KEY_LOCKOUT for the scope "a". TTL as
 * SK_KEY_LOCKOUT's.
 */
#define SK_KEY_LOCKOUT_ADDR SK_KEY_PREFIX "{la:%s}"
/*
 * Sorted set, the addresses locked now: member the bucket, score the
 * lock's end (Redis TIME in ms); ended ones are removed when read. Every
 * instance reads it at most once a second (sk_lockout_addr_cached()).
 * Permanent (empty when nobody is locked).
 */
#define SK_KEY_LOCKED_ADDRS SK_KEY_PREFIX "{lka}"

/* ---- labels ----
 * Additional data of AES-256-GCM seals (sk_aead_seal(): a ciphertext moved
 * to another record does not open), HKDF labels (sk_hkdf(): one key per
 * purpose) and MAC formats of stored values. Like key names, each is part
 * of what is stored: changing one makes stored secrets unreadable.
 */

/* The keyset's labels (SK_AAD_SIGNING_KEY, SK_AAD_MASTER_CHECK) are in
 * sekisho/keystore.h: tokens/ seals with them. */

/* (tenant) Seals a tenant data key under the master key. */
#define SK_AAD_TENANT_DK "sekisho:tenant-data-key:v1:%s"
/* (kid) Seals a signing key under the master key. */
#define SK_AAD_SIGNING_KEY "sekisho:signing-key:%s"
/* Seals the master key check value. */
#define SK_AAD_MASTER_CHECK "sekisho:master-key-check"
/* (tenant, user id) Seals the active TOTP seed under the seed key. */
#define SK_AAD_TOTP_SEED "sekisho:totp-seed:v1:%s:%s"
/* (tenant, user id, SHA-256 hex of the session id) Seals a pending seed. */
#define SK_AAD_TOTP_ENROL "sekisho:totp-enrol:v2:%s:%s:%s"

/* HKDF from a tenant data key: the key that seals TOTP seeds. */
#define SK_HKDF_SEED_SEAL "sekisho:mfa:seed-seal:v1"
/* HKDF from a tenant data key: the HMAC key of recovery codes. */
#define SK_HKDF_RECOVERY_HMAC "sekisho:mfa:recovery-hmac:v1"
/* HKDF from the master key: the MFA form (CSRF) token key. */
#define SK_HKDF_MFA_CSRF "sekisho:mfa:csrf:v1"
/* HKDF from the master key: the MAC key of refresh tokens (whose current
 * generation SK_KEY_APP keeps). */
#define SK_HKDF_REFRESH_TOKENS "sekisho refresh tokens v1"

/* (tenant, user id, normalised code) HMAC input of a stored recovery code. */
#define SK_MAC_RECOVERY "v1:%s:%s:%s"
/* (session handle) HMAC input of a form token (never stored). */
#define SK_MAC_MFA_CSRF "sekisho-csrf:v1:%s"

#endif

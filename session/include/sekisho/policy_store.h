/*
 * Runtime tenant policy (session/policy_store.c; docs/policy.md): each
 * tenant's policy document (sekisho/policy.h) stored in Redis overrides
 * the configuration file's values for that tenant, and every instance
 * applies a change within a second, without a restart.
 *
 * Storage: the document with a version, per tenant; a version index
 * names every tenant's current version, so one small call a tick tells
 * an instance what changed.
 *
 * Snapshots: a background thread polls the index and, for a tenant whose
 * version moved, builds the effective tenant (the file's tenant with the
 * stored document applied) and publishes it atomically. A request takes
 * a reference for its lifetime (sk_policy_acquire...() /
 * sk_policy_release()); a replaced snapshot is freed when its last
 * reference goes. While Redis does not answer, the last snapshot stays
 * (the file's values if none was ever loaded), and the log and
 * sk_policy_stale() say so.
 */
#ifndef SEKISHO_POLICY_STORE_H
#define SEKISHO_POLICY_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct sk_config;
struct sk_tenant_conf;

/* How often the poller asks Redis for versions, in milliseconds. */
#define SK_POLICY_POLL_MS 250

/*
 * Loads every tenant's stored policy once (a failure only logs: the
 * file's values serve) and starts the poller. cfg must outlive
 * sk_policy_stop(). Returns SK_ERR_NOMEM or SK_ERR_INTERNAL if the
 * thread cannot start.
 */
int sk_policy_start(const struct sk_config *cfg);
/* Stops the poller and drops the snapshots (references still held stay
 * valid until released). Accepts a poller never started. */
void sk_policy_stop(void);

/*
 * The effective tenant for t (a tenant of the configuration: one of
 * cfg->tenants) or for the tenant id: the current snapshot, or t itself
 * when none was built (no override stored, or the poller not running).
 * NULL for NULL or an unknown id. The result stays valid and unchanged
 * until sk_policy_release(); it is a different object from t, so compare
 * tenants by id, and index per-tenant arrays with sk_policy_index().
 */
const struct sk_tenant_conf *sk_policy_acquire(const struct sk_config *cfg,
					       const struct sk_tenant_conf *t);
const struct sk_tenant_conf *sk_policy_acquire_id(const struct sk_config *cfg,
						  const char *id);
/* Drops a reference taken above; accepts NULL; clears *t. */
void sk_policy_release(const struct sk_tenant_conf **t);

/* The index in cfg->tenants of the tenant t is a snapshot of (or is);
 * -1 for NULL or an id the configuration does not define. */
long sk_policy_index(const struct sk_config *cfg,
		     const struct sk_tenant_conf *t);

/* True while the poller cannot reach Redis (the last snapshot serves). */
bool sk_policy_stale(void);
/* Snapshots published since start, for /metrics and tests. */
uint64_t sk_policy_reloads(void);
/* Prometheus lines: sekisho_policy_stale, sekisho_policy_reloads_total,
 * sekisho_policy_version{tenant} (the stored version in force; 0: the
 * file's values). Only while the poller runs (else: none per tenant). */
struct sk_buf;
void sk_policy_metrics(struct sk_buf *b);

/*
 * The stored override document of tenant (JSON text, as stored) and its
 * version. On success *doc is newly allocated (free()); SK_ERR_NOT_FOUND
 * when none is stored (*version is then 0), SK_ERR_STORE when Redis
 * fails.
 */
int sk_policy_get(const char *tenant, char **doc, int64_t *version);

/*
 * Stores doc (JSON text of a document already validated) as tenant's
 * override, if the stored version is still expect (0: none stored), and
 * bumps the version index so every instance reloads it. On success
 * *version is the new version. SK_ERR_BUSY when the stored version moved
 * meanwhile (nothing is written: read again and retry), SK_ERR_STORE
 * when Redis fails.
 */
int sk_policy_put(const char *tenant, const char *doc, int64_t expect,
		  int64_t *version);

/*
 * The policy of tenant as an administrator sees it:
 *   {"tenant", "version", "policy": every member's effective value,
 *    "overrides": the stored document (the members set in Redis; the
 *    others come from the configuration file)}
 * plus "override_problems" when the stored document is not applied (the
 * configuration no longer admits it). On success *out is a new reference.
 * SK_ERR_NOT_FOUND for a tenant the configuration does not define.
 */
int sk_policy_view(const struct sk_config *cfg, const char *tenant,
		   json_t **out);

/* A change to a tenant's stored policy (sk_policy_change()). */
struct sk_policy_change {
	const char *tenant;
	const json_t *body; /* the new document (PUT), or a merge patch */
	bool patch;	    /* RFC 7396 merge patch onto the stored one */
	/* Optional: sees the tenant as the change would make it; false
	 * refuses the change (the admin API's lock-out rule). */
	bool (*accept)(const struct sk_tenant_conf *next, void *arg);
	void *arg;
	/* For the policy_changed event: who ({"type", "id"[, "email"]}),
	 * from where, through what ("admin_api", "sekishoctl"). */
	const json_t *actor;
	const char *ip;
	const char *via;
};

/*
 * Validates and stores a change: the stored document replaced by body,
 * or merge-patched with it (null removes an override: the file's value
 * again), checked whole by sk_policy_apply(), stored canonical, and
 * recorded as a policy_changed event with the documents before and
 * after. A change that another one raced is redone on the newer
 * document. On success *view is the new view (sk_policy_view()'s shape);
 * a change that changes nothing stores and records nothing.
 * SK_ERR_INVALID: *problems lists every bad field and nothing is stored;
 * SK_ERR_DENIED: accept refused; SK_ERR_NOT_FOUND: no such tenant;
 * SK_ERR_BUSY: raced too often; SK_ERR_STORE.
 */
int sk_policy_change(const struct sk_config *cfg,
		     const struct sk_policy_change *ch, json_t **problems,
		     json_t **view);

#endif

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

#endif

/*
 * Runtime tenant policy: the stored override documents and the
 * snapshots every request reads (sekisho/policy_store.h).
 */
#include "schema_int.h"
#include "store_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/policy.h"
#include "sekisho/policy_store.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- storage ---- */

bool
sk_store_tenant_ok(const char *t)
{
	size_t n = t != NULL ? strlen(t) : 0;

	/* As the configuration allows ids: nothing that could leave the
	 * {t:...} hash tag. */
	return n > 0 && n <= 64 &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool
parse_version(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (s[0] < '0' || s[0] > '9')
		return false;
	x = strtoll(s, &end, 10);
	if (*end != '\0' || x < 0)
		return false;
	*v = x;
	return true;
}

int
sk_policy_get(const char *tenant, char **doc, int64_t *version)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*doc = NULL;
	*version = 0;
	if (!sk_store_tenant_ok(tenant))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HMGET");
	sk_cmd_add_fmt(&c, SK_KEY_POLICY, tenant);
	sk_cmd_add_str(&c, "doc");
	sk_cmd_add_str(&c, "ver");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 2)
		goto out;
	if (rep->elem[0]->type == SK_REPLY_NIL) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	if (rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_STRING ||
	    !parse_version(rep->elem[1]->str, version))
		goto out;
	if ((*doc = strdup(rep->elem[0]->str)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	sk_reply_free(&rep);
	if (r != 0)
		*version = 0;
	return r;
}

/*
 * KEYS[1] the tenant's policy; ARGV: the version expected, the document,
 * the new version. Writes only over the expected version (0: none).
 */
static struct sk_script put_script = {
    .src = "local v = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')\n"
	   "if v ~= tonumber(ARGV[1]) then return 0 end\n"
	   "redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'ver', ARGV[3])\n"
	   "return 1\n",
};

int
sk_policy_put(const char *tenant, const char *doc, int64_t expect,
	      int64_t *version)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	long long next;
	int r;

	*version = 0;
	if (!sk_store_tenant_ok(tenant) || doc == NULL)
		return SK_ERR_INVALID;
	/*
	 * The index first: a poller that sees the new version before the
	 * document is written reads the old document, notices its version
	 * is behind the index and reads it again on the next tick (it
	 * only settles once the document has caught up). The index lives
	 * in its own slot, so the two cannot be one script under Cluster.
	 */
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HINCRBY");
	sk_cmd_add_str(&c, SK_KEY_POLICY_INDEX);
	sk_cmd_add_str(&c, tenant);
	sk_cmd_add_int(&c, 1);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER) {
		sk_reply_free(&rep);
		return SK_ERR_STORE;
	}
	next = rep->integer;
	sk_reply_free(&rep);
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_POLICY, tenant);
	sk_cmd_add_int(&c, expect);
	sk_cmd_add_str(&c, doc);
	sk_cmd_add_int(&c, next);
	if ((r = sk_cmd_eval(&c, &put_script, 1, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_INTEGER)
		r = SK_ERR_STORE;
	else if (rep->integer != 1)
		r = SK_ERR_BUSY;
	else
		*version = next;
	sk_reply_free(&rep);
	return r;
}

/* ---- snapshots ---- */

/* One effective tenant, shared by the requests that hold it. */
struct snap {
	struct sk_tenant_conf t; /* first: a tenant pointer is a snap's */
	_Atomic long refs;	 /* the slot's own reference counts too */
	int64_t version;	 /* of the document applied */
};

/* Per configured tenant: the current snapshot (NULL: the file's). */
struct slot {
	pthread_mutex_t lock; /* guards cur against a racing swap */
	struct snap *cur;
};

static struct {
	const struct sk_config *cfg;
	struct slot *slots; /* parallel to cfg->tenants */
	size_t n;
	atomic_bool stale;
	_Atomic uint64_t reloads;
} ps;

long
sk_policy_index(const struct sk_config *cfg, const struct sk_tenant_conf *t)
{
	size_t i;

	if (cfg == NULL || t == NULL)
		return -1;
	if (t >= cfg->tenants && t < cfg->tenants + cfg->ntenants)
		return (long)(t - cfg->tenants);
	for (i = 0; t->id != NULL && i < cfg->ntenants; i++)
		if (cfg->tenants[i].id != NULL &&
		    strcmp(cfg->tenants[i].id, t->id) == 0)
			return (long)i;
	return -1;
}

const struct sk_tenant_conf *
sk_policy_acquire(const struct sk_config *cfg, const struct sk_tenant_conf *t)
{
	struct slot *sl;
	struct snap *s;
	long i;

	if (t == NULL || (i = sk_policy_index(cfg, t)) < 0)
		return NULL;
	if (ps.slots == NULL || cfg != ps.cfg || (size_t)i >= ps.n)
		return &cfg->tenants[i];
	sl = &ps.slots[i];
	/* The lock makes "read the pointer, take a reference" one step
	 * against a swap that drops the slot's reference. */
	pthread_mutex_lock(&sl->lock);
	s = sl->cur;
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&sl->lock);
	return s != NULL ? &s->t : &cfg->tenants[i];
}

const struct sk_tenant_conf *
sk_policy_acquire_id(const struct sk_config *cfg, const char *id)
{
	return id != NULL ? sk_policy_acquire(cfg, sk_config_tenant(cfg, id))
			  : NULL;
}

static void
snap_put(struct snap *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	sk_tenant_conf_clear(&s->t);
	free(s);
}

void
sk_policy_release(const struct sk_tenant_conf **t)
{
	const struct sk_config *cfg = ps.cfg;

	if (t == NULL || *t == NULL)
		return;
	/* The file's own tenants are not counted (and without a poller
	 * there is nothing else). */
	if (cfg != NULL &&
	    (*t < cfg->tenants || *t >= cfg->tenants + cfg->ntenants))
		snap_put((struct snap *)(void *)*t);
	*t = NULL;
}

bool
sk_policy_stale(void)
{
	return atomic_load(&ps.stale);
}

uint64_t
sk_policy_reloads(void)
{
	return atomic_load(&ps.reloads);
}

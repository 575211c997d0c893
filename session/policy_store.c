/*
 * Runtime tenant policy: the stored override documents and the
 * snapshots every request reads (sekisho/policy_store.h).
 */
#include "schema_int.h"
#include "store_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/log.h"
#include "sekisho/policy.h"
#include "sekisho/policy_store.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- the poller ---- */

static struct {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int64_t *seen;	  /* per tenant: the index version settled */
	int64_t *applied; /* per tenant: the document version applied */
} poller = {.lock = PTHREAD_MUTEX_INITIALIZER,
	    .cond = PTHREAD_COND_INITIALIZER};

/* Replaces tenant i's snapshot with s (NULL: the file's values). */
static void
publish(size_t i, struct snap *s)
{
	struct slot *sl = &ps.slots[i];
	struct snap *old;

	pthread_mutex_lock(&sl->lock);
	old = sl->cur;
	sl->cur = s;
	pthread_mutex_unlock(&sl->lock);
	snap_put(old); /* freed once the last request holding it is done */
	atomic_fetch_add(&ps.reloads, 1);
}

static void
set_stale(bool stale, int err)
{
	bool was = atomic_exchange(&ps.stale, stale);

	if (stale && !was)
		sk_warn("policy: cannot read tenant policies from Redis (%s); "
			"the last ones loaded stay in force",
			sk_err_str(err));
	else if (!stale && was)
		sk_info("policy: tenant policies readable again");
}

/* Builds and publishes tenant i's snapshot from a stored document. */
static void
apply_stored(size_t i, const char *text, int64_t version)
{
	const struct sk_tenant_conf *base = &ps.cfg->tenants[i];
	json_t *doc = NULL, *problems = NULL;
	struct snap *s = NULL;
	char *why = NULL;
	int r;

	if (text == NULL) {
		publish(i, NULL);
		sk_info("policy: tenant %s: no stored policy; the "
			"configuration file's values apply",
			base->id);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
		r = s == NULL ? SK_ERR_NOMEM : SK_ERR_INVALID;
		goto fail;
	}
	if ((r = sk_policy_apply(ps.cfg, base, doc, &s->t, &problems)) != 0)
		goto fail;
	atomic_init(&s->refs, 1);
	s->version = version;
	publish(i, s);
	sk_info("policy: tenant %s: stored policy version %lld applied",
		base->id, (long long)version);
	json_decref(doc);
	return;
fail:
	/* A document the configuration no longer admits (a provider it
	 * names was removed, ...): the last good policy stays. */
	why = problems != NULL ? json_dumps(problems, JSON_COMPACT) : NULL;
	sk_error("policy: tenant %s: stored policy version %lld not applied "
		 "(%s%s%s); the previous policy stays in force",
		 base->id, (long long)version, sk_err_str(r),
		 why != NULL ? ": " : "", why != NULL ? why : "");
	free(why);
	free(s);
	json_decref(doc);
	json_decref(problems);
}

/* One tick: one HGETALL of the index, then a read per tenant whose
 * version moved. */
static void
poll_once(void)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	size_t i, j;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "HGETALL");
	sk_cmd_add_str(&c, SK_KEY_POLICY_INDEX);
	if ((r = sk_cmd_run(&c, &rep)) != 0 || rep->type != SK_REPLY_ARRAY) {
		set_stale(true, r != 0 ? r : SK_ERR_STORE);
		goto out;
	}
	for (i = 0; i < ps.n; i++) {
		const char *id = ps.cfg->tenants[i].id;
		int64_t idx = 0, dver = 0;
		char *text = NULL;

		for (j = 0; j + 1 < rep->nelem; j += 2) {
			if (rep->elem[j]->type != SK_REPLY_STRING ||
			    strcmp(rep->elem[j]->str, id) != 0)
				continue;
			if (rep->elem[j + 1]->type != SK_REPLY_STRING ||
			    !parse_version(rep->elem[j + 1]->str, &idx))
				idx = 0;
			break;
		}
		if (idx == poller.seen[i])
			continue;
		r = sk_policy_get(id, &text, &dver);
		if (r != 0 && r != SK_ERR_NOT_FOUND) {
			set_stale(true, r);
			goto out;
		}
		/* Settled only once the document has caught up with the
		 * index (sk_policy_put() bumps the index first). */
		if (dver >= idx)
			poller.seen[i] = idx;
		if (dver != poller.applied[i]) {
			poller.applied[i] = dver;
			apply_stored(i, text, dver);
		}
		free(text);
	}
	set_stale(false, 0);
out:
	sk_reply_free(&rep);
}

/* Serialises ticks: the poller's and those of a change made here. */
static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;

static void
poll_locked(void)
{
	pthread_mutex_lock(&poll_lock);
	poll_once();
	pthread_mutex_unlock(&poll_lock);
}

static void *
poll_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&poller.lock);
	while (!poller.stop) {
		pthread_mutex_unlock(&poller.lock);
		poll_locked();
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SK_POLICY_POLL_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&poller.lock);
		if (!poller.stop)
			pthread_cond_timedwait(&poller.cond, &poller.lock, &ts);
	}
	pthread_mutex_unlock(&poller.lock);
	sk_store_thread_close();
	return NULL;
}

int
sk_policy_start(const struct sk_config *cfg)
{
	size_t i;

	if (poller.running)
		return SK_ERR_INTERNAL;
	if ((ps.slots = calloc(cfg->ntenants + 1, sizeof(*ps.slots))) == NULL ||
	    (poller.seen = calloc(cfg->ntenants + 1, sizeof(int64_t))) ==
		NULL ||
	    (poller.applied = calloc(cfg->ntenants + 1, sizeof(int64_t))) ==
		NULL)
		goto fail;
	for (i = 0; i < cfg->ntenants; i++) {
		pthread_mutex_init(&ps.slots[i].lock, NULL);
		poller.seen[i] = -1; /* the first tick reads every tenant */
	}
	ps.cfg = cfg;
	ps.n = cfg->ntenants;
	/* Once before serving, so the first requests see the stored
	 * policy (a Redis that does not answer only delays it). */
	poll_once();
	poller.stop = false;
	if (pthread_create(&poller.thread, NULL, poll_main, NULL) != 0) {
		sk_policy_stop();
		return SK_ERR_INTERNAL;
	}
	poller.running = true;
	return 0;
fail:
	free(ps.slots);
	free(poller.seen);
	free(poller.applied);
	ps.slots = NULL;
	poller.seen = poller.applied = NULL;
	return SK_ERR_NOMEM;
}

void
sk_policy_stop(void)
{
	size_t i;

	if (poller.running) {
		pthread_mutex_lock(&poller.lock);
		poller.stop = true;
		pthread_cond_signal(&poller.cond);
		pthread_mutex_unlock(&poller.lock);
		pthread_join(poller.thread, NULL);
		poller.running = false;
	}
	for (i = 0; ps.slots != NULL && i < ps.n; i++) {
		snap_put(ps.slots[i].cur);
		ps.slots[i].cur = NULL;
		pthread_mutex_destroy(&ps.slots[i].lock);
	}
	free(ps.slots);
	free(poller.seen);
	free(poller.applied);
	ps.slots = NULL;
	poller.seen = poller.applied = NULL;
	ps.n = 0;
}

/* ---- reading and changing, for the admin API and sekishoctl ---- */

/* The stored override as JSON ({} when none) and its version. */
static int
stored_doc(const char *tenant, json_t **doc, int64_t *version)
{
	char *text = NULL;
	int r;

	*doc = NULL;
	r = sk_policy_get(tenant, &text, version);
	if (r == SK_ERR_NOT_FOUND) {
		*doc = json_object();
		return *doc != NULL ? 0 : SK_ERR_NOMEM;
	}
	if (r != 0)
		return r;
	*doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_object(*doc)) {
		/* Written by hand, not by us: an empty override. */
		sk_warn("policy: tenant %s: the stored policy is not a JSON "
			"object; read as empty",
			tenant);
		json_decref(*doc);
		*doc = json_object();
	}
	return *doc != NULL ? 0 : SK_ERR_NOMEM;
}

/* {"tenant", "version", "policy", "overrides"[, "override_problems"]} */
static json_t *
view_of(const char *tenant, int64_t version, const struct sk_tenant_conf *eff,
	json_t *overrides, json_t *problems)
{
	json_t *v = json_pack("{s:s, s:I, s:o, s:O}", "tenant", tenant,
			      "version", (json_int_t)version, "policy",
			      sk_policy_document(eff), "overrides", overrides);

	if (v != NULL && problems != NULL)
		json_object_set(v, "override_problems", problems);
	return v;
}

int
sk_policy_view(const struct sk_config *cfg, const char *tenant, json_t **out)
{
	const struct sk_tenant_conf *base = sk_config_tenant(cfg, tenant);
	struct sk_tenant_conf eff;
	json_t *doc = NULL, *problems = NULL;
	int64_t version = 0;
	int r;

	*out = NULL;
	memset(&eff, 0, sizeof(eff));
	if (base == NULL)
		return SK_ERR_NOT_FOUND;
	if ((r = stored_doc(tenant, &doc, &version)) != 0)
		return r;
	r = sk_policy_apply(cfg, base, doc, &eff, &problems);
	if (r == SK_ERR_INVALID) {
		/* What the poller does too: the stored document is not
		 * applied; the problems say why. */
		*out = view_of(tenant, version, base, doc, problems);
		r = 0;
	} else if (r == 0) {
		*out = view_of(tenant, version, &eff, doc, NULL);
	}
	if (r == 0 && *out == NULL)
		r = SK_ERR_NOMEM;
	sk_tenant_conf_clear(&eff);
	json_decref(doc);
	json_decref(problems);
	return r;
}

/* How often a change is tried again when another one got in between. */
#define CHANGE_TRIES 5

int
sk_policy_change(const struct sk_config *cfg, const struct sk_policy_change *ch,
		 json_t **problems, json_t **view)
{
	const struct sk_tenant_conf *base = sk_config_tenant(cfg, ch->tenant);
	struct sk_tenant_conf eff;
	json_t *cur = NULL, *next = NULL, *canon = NULL, *details = NULL;
	struct sk_event ev;
	char *text = NULL;
	int64_t version = 0, nv = 0;
	int r = SK_ERR_BUSY, tries;

	*problems = NULL;
	*view = NULL;
	memset(&eff, 0, sizeof(eff));
	if (base == NULL)
		return SK_ERR_NOT_FOUND;
	for (tries = 0; tries < CHANGE_TRIES && r == SK_ERR_BUSY; tries++) {
		json_decref(cur);
		json_decref(next);
		json_decref(canon);
		free(text);
		cur = next = canon = NULL;
		text = NULL;
		sk_tenant_conf_clear(&eff);
		if ((r = stored_doc(ch->tenant, &cur, &version)) != 0)
			goto out;
		next = ch->patch ? sk_json_merge_patch(cur, ch->body)
				 : json_deep_copy(ch->body);
		if (next == NULL && json_is_object(ch->body)) {
			r = SK_ERR_NOMEM;
			goto out;
		}
		/* Every problem at once, or nothing changes. */
		if ((r = sk_policy_apply(cfg, base, next, &eff, problems)) != 0)
			goto out;
		if (ch->accept != NULL && !ch->accept(&eff, ch->arg)) {
			r = SK_ERR_DENIED;
			goto out;
		}
		if ((canon = sk_policy_canonical(&eff, next)) == NULL ||
		    (text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS)) ==
			NULL) {
			r = SK_ERR_NOMEM;
			goto out;
		}
		if (json_equal(canon, cur)) {
			nv = version; /* nothing to change, nothing to record */
			r = 0;
			goto done;
		}
		r = sk_policy_put(ch->tenant, text, version, &nv);
	}
	if (r != 0)
		goto out;
	details = json_pack("{s:O, s:s, s:O, s:O, s:I}", "actor", ch->actor,
			    "via", ch->via, "before", cur, "after", canon,
			    "version", (json_int_t)nv);
	if (details == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = SK_EV_POLICY_CHANGED;
	ev.tenant = ch->tenant;
	ev.ip = ch->ip;
	ev.details = details;
	/* The change is made: a record that fails is logged, not undone. */
	if (sk_event_emit(&ev, NULL) != 0)
		sk_error("policy: tenant %s: version %lld stored, but its "
			 "policy_changed event could not be recorded",
			 ch->tenant, (long long)nv);
	/* This instance applies it before answering, so the administrator
	 * who made the change reads it back at once (a tick now, serialised
	 * with the poller's: it reads what Redis holds after the change, so
	 * no older read can be applied after it); the others poll. */
	if (poller.running)
		poll_locked();
	sk_info("policy: tenant %s: version %lld stored by %s via %s",
		ch->tenant, (long long)nv,
		json_string_value(json_object_get(ch->actor, "id")), ch->via);
done:
	if ((*view = view_of(ch->tenant, nv, &eff, canon, NULL)) == NULL)
		r = SK_ERR_NOMEM;
out:
	sk_tenant_conf_clear(&eff);
	json_decref(cur);
	json_decref(next);
	json_decref(canon);
	json_decref(details);
	free(text);
	return r;
}

void
sk_policy_metrics(struct sk_buf *b)
{
	size_t i;

	sk_buf_addf(
	    b,
	    "# HELP sekisho_policy_stale 1 while tenant policies "
	    "cannot be read from Redis (the last ones loaded serve).\n"
	    "# TYPE sekisho_policy_stale gauge\n"
	    "sekisho_policy_stale %d\n"
	    "# HELP sekisho_policy_reloads_total Tenant policy "
	    "snapshots published.\n"
	    "# TYPE sekisho_policy_reloads_total counter\n"
	    "sekisho_policy_reloads_total %llu\n"
	    "# HELP sekisho_policy_version The version of the stored "
	    "policy in force per tenant (0: the configuration file's).\n"
	    "# TYPE sekisho_policy_version gauge\n",
	    sk_policy_stale() ? 1 : 0, (unsigned long long)sk_policy_reloads());
	for (i = 0; ps.slots != NULL && i < ps.n; i++) {
		struct slot *sl = &ps.slots[i];
		int64_t v;

		pthread_mutex_lock(&sl->lock);
		v = sl->cur != NULL ? sl->cur->version : 0;
		pthread_mutex_unlock(&sl->lock);
		sk_buf_addf(b, "sekisho_policy_version{tenant=\"%s\"} %lld\n",
			    ps.cfg->tenants[i].id, (long long)v);
	}
}

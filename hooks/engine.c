/*
 * The delivery engine (sekisho/hooks.h; docs/hooks.md): one thread, one
 * libcurl multi handle. Each (tenant, hook) pair is polled in turn: a
 * claim (sekisho/outbox.h) takes its new events into its queue and
 * leases the deliveries that are due, as many as the pair's and the
 * engine's in-flight bounds leave room for; each becomes a transfer on
 * the multi handle, and its outcome is recorded when it ends. Redis is
 * called from this thread only (its own connection); nothing here runs
 * on a request.
 *
 * Every transfer: the hook's timeout for the whole attempt, redirects
 * never followed (a 3xx is a failure), only the protocols of the hook's
 * type, the answer's body discarded (and the transfer cut past
 * BODY_MAX), no signals. Logs name the hook, tenant, delivery id and
 * target host, never a URL's path or query (Slack's and Teams' URLs hold
 * their secret there) and never the webhook secret.
 */
#include "sekisho/hooks.h"
#include "sinks_int.h"

#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/outbox.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* New events a claim takes from a stream at most. */
#define CLAIM_NEW_MAX 100
/* How often a pair is polled: every POLL_MS while it has work, the
 * interval doubling to POLL_IDLE_MAX_MS while it has none (so many idle
 * tenants cost Redis little; a new event waits a second at most). */
#define POLL_MS 250
#define POLL_IDLE_MAX_MS 1000
/* After a store error, a pair waits this long. */
#define POLL_ERROR_MS 1000
/* A lease outlives the attempt's timeout by this much: it runs out only
 * when the instance that took it stopped (crashed, or lost Redis). */
#define LEASE_MARGIN_MS 5000
/* An answer's body is read (and dropped) up to this many bytes. */
#define BODY_MAX (64 * 1024)
/* The queues' depth for /metrics is read this often. */
#define DEPTH_EVERY_MS 5000
/* The connect phase's share of an attempt's timeout at most. */
#define CONNECT_MAX_MS 10000

struct pair {
	const struct sk_hook_conf *h;
	size_t hook; /* index in cfg->hooks */
	const struct sk_sink *sink;
	const char *tenant;
	bool grouped; /* its consumer group exists */
	int inflight;
	int64_t next_poll_ms; /* monotonic */
	int64_t idle_ms;      /* the interval while idle */
};

struct job {
	struct job *prev, *next; /* E.jobs: the transfers under way */
	struct pair *p;
	struct sk_outbox_item it;
	CURL *easy;
	struct sk_hook_msg m;
	size_t got;	  /* answer bytes read */
	bool overflow;	  /* the answer passed BODY_MAX */
	int64_t start_ms; /* monotonic */
};

/* Per hook, for /metrics: counters, and gauges read from Redis. */
enum {
	G_QUEUED,
	G_DEAD,
	G__COUNT
};
struct hook_stats {
	atomic_uint_fast64_t ok, failed, dead;
	atomic_int_fast64_t gauge[G__COUNT];
};

static struct {
	const struct sk_config *cfg;
	struct pair *pairs;
	size_t npairs;
	struct hook_stats *stats; /* cfg->nhooks */
	CURLM *multi;
	struct job *jobs;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_int inflight;
	int64_t next_depth_ms;
} E;

static int64_t
now_ms(void)
{
	return sk_monotonic_us() / 1000;
}

static const struct sk_sink *
sink_for(enum sk_hook_type t)
{
	size_t i;

	for (i = 0; sk_sinks[i] != NULL; i++)
		if (sk_sinks[i]->type == t)
			return sk_sinks[i];
	return NULL;
}

/* The answer's body: counted and dropped, up to BODY_MAX. */
static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct job *j = arg;

	(void)p;
	j->got += size * n;
	if (j->got > BODY_MAX) {
		j->overflow = true;
		return 0; /* ends the transfer */
	}
	return size * n;
}

/* What every transfer shares (sink_int.h), before the sink's build(). */
static int
easy_setup(struct job *j)
{
	const struct sk_hook_conf *h = j->p->h;
	bool mail = h->type == SK_HOOK_EMAIL;
	long t = (long)h->timeout_ms;
	CURL *c = j->easy;

	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			     t < CONNECT_MAX_MS ? t : CONNECT_MAX_MS) !=
		CURLE_OK ||
	    /* A 3xx is an answer (a failure), never followed: a receiver
	     * cannot send a signed event, or a Slack message, elsewhere. */
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
			     mail ? "smtp,smtps" : "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR,
			     mail ? "smtp,smtps" : "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, j) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "Sekisho/" SK_VERSION) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PRIVATE, j) != CURLE_OK)
		return SK_ERR_INTERNAL;
	return 0;
}

static void
job_free(struct job **jp)
{
	struct job *j = *jp;

	if (j == NULL)
		return;
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	sk_hook_msg_clear(&j->m);
	free(j->it.id);
	free(j->it.event);
	free(j);
	*jp = NULL;
}

/*
 * Records the outcome of j's attempt (err: why it failed, NULL when it
 * did not) and logs it. status is the HTTP status (0: none).
 */
static void
finish(struct job *j, enum sk_outbox_outcome outcome, const char *err,
       long status)
{
	const struct pair *p = j->p;
	struct hook_stats *st = &E.stats[p->hook];
	enum sk_outbox_result res;
	int64_t delay = 0, took = now_ms() - j->start_ms;
	uint32_t rnd = 0;
	const char *target = j->m.target != NULL ? j->m.target : "";
	int r;

	if (outcome == SK_OUTBOX_FAILED) {
		(void)sk_random_bytes(&rnd, sizeof(rnd));
		delay = sk_hook_backoff_ms(j->it.attempts + 1, rnd);
	}
	r = sk_outbox_done(p->tenant, p->h->id, j->it.id, outcome, delay,
			   p->h->retry_for * 1000, err, &res);
	if (r != 0) {
		/* The lease runs out and the delivery is tried again. */
		sk_warn("hook %s: tenant %s: delivery %s: outcome not "
			"recorded (%s); it is tried again after its lease",
			p->h->id, p->tenant, j->it.id, sk_err_str(r));
		return;
	}
	switch (outcome) {
	case SK_OUTBOX_DELIVERED:
		atomic_fetch_add(&st->ok, 1);
		sk_info("hook %s: tenant %s: delivery %s to %s: delivered "
			"(HTTP %ld, %lld ms, attempt %lld)",
			p->h->id, p->tenant, j->it.id, target, status,
			(long long)took, (long long)j->it.attempts + 1);
		break;
	case SK_OUTBOX_SKIPPED:
		sk_debug("hook %s: tenant %s: delivery %s: nothing to send",
			 p->h->id, p->tenant, j->it.id);
		break;
	case SK_OUTBOX_FAILED:
		atomic_fetch_add(&st->failed, 1);
		if (res == SK_OUTBOX_DEAD) {
			atomic_fetch_add(&st->dead, 1);
			sk_warn("hook %s: tenant %s: delivery %s to %s: %s "
				"(attempt %lld); dead-lettered: retry_for "
				"has passed",
				p->h->id, p->tenant, j->it.id, target, err,
				(long long)j->it.attempts + 1);
		} else {
			sk_warn("hook %s: tenant %s: delivery %s to %s: %s "
				"(attempt %lld, %lld ms); retried in about "
				"%lld s",
				p->h->id, p->tenant, j->it.id, target, err,
				(long long)j->it.attempts + 1, (long long)took,
				(long long)(delay / 1000));
		}
		break;
	case SK_OUTBOX_RELEASED:
		break;
	}
}

/* Starts the attempt of item it (taken over) of pair p at Redis time
 * now (ms). */
static void
start(struct pair *p, struct sk_outbox_item *it, int64_t now)
{
	struct job *j;
	json_t *ev = NULL;
	char err[80];
	int r;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		free(it->id);
		free(it->event);
		return; /* its lease runs out; tried again then */
	}
	j->p = p;
	j->it = *it;
	memset(it, 0, sizeof(*it));
	j->start_ms = now_ms();
	if ((j->easy = curl_easy_init()) == NULL || (r = easy_setup(j)) != 0) {
		finish(j, SK_OUTBOX_FAILED, "could not set up a transfer", 0);
		goto fail;
	}
	if ((ev = json_loads(j->it.event, 0, NULL)) == NULL) {
		finish(j, SK_OUTBOX_FAILED, "the stored event does not read",
		       0);
		goto fail;
	}
	r = p->sink->build(E.cfg, p->h, ev, j->it.event, now / 1000, j->easy,
			   &j->m);
	json_decref(ev);
	if (r == SK_ERR_NOT_FOUND) {
		finish(j, SK_OUTBOX_SKIPPED, NULL, 0);
		goto fail;
	}
	if (r != 0) {
		snprintf(err, sizeof(err), "the message could not be built: %s",
			 sk_err_str(r));
		finish(j, SK_OUTBOX_FAILED, err, 0);
		goto fail;
	}
	if (curl_multi_add_handle(E.multi, j->easy) != CURLM_OK) {
		finish(j, SK_OUTBOX_FAILED, "could not start a transfer", 0);
		goto fail;
	}
	p->inflight++;
	atomic_fetch_add(&E.inflight, 1);
	j->next = E.jobs;
	if (E.jobs != NULL)
		E.jobs->prev = j;
	E.jobs = j;
	return;
fail:
	job_free(&j);
}

/* Polls pair p when it is time: new events in, due deliveries out. */
static void
poll_pair(struct pair *p, int64_t mono)
{
	struct sk_outbox_item *items = NULL;
	size_t i, n = 0, room;
	int64_t now = 0;
	int r, all = atomic_load(&E.inflight);

	if (mono < p->next_poll_ms)
		return;
	if (!p->grouped) {
		if ((r = sk_outbox_group(p->tenant, p->h->id)) != 0) {
			p->next_poll_ms = mono + POLL_ERROR_MS;
			return;
		}
		p->grouped = true;
	}
	room = (size_t)(SK_HOOKS_PAIR_INFLIGHT - p->inflight);
	if (all >= SK_HOOKS_INFLIGHT)
		room = 0;
	else if (room > (size_t)(SK_HOOKS_INFLIGHT - all))
		room = (size_t)(SK_HOOKS_INFLIGHT - all);
	r = sk_outbox_claim(p->tenant, p->h->id, &p->h->events, CLAIM_NEW_MAX,
			    room, p->h->timeout_ms + LEASE_MARGIN_MS, &now,
			    &items, &n);
	if (r != 0) {
		p->next_poll_ms = mono + POLL_ERROR_MS;
		return;
	}
	for (i = 0; i < n; i++)
		start(p, &items[i], now);
	sk_outbox_items_free(&items, n);
	/* A full claim may have left more due: asked again as soon as a
	 * slot frees (a finished transfer brings the poll forward). */
	if (n > 0 || p->idle_ms < POLL_MS)
		p->idle_ms = POLL_MS;
	else if (p->idle_ms < POLL_IDLE_MAX_MS)
		p->idle_ms = p->idle_ms * 2 > POLL_IDLE_MAX_MS
				 ? POLL_IDLE_MAX_MS
				 : p->idle_ms * 2;
	p->next_poll_ms = mono + p->idle_ms;
}

/* Takes j off the multi handle and the list of transfers under way. */
static void
unlink_job(struct job *j)
{
	curl_multi_remove_handle(E.multi, j->easy);
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		E.jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
	j->p->inflight--;
	atomic_fetch_sub(&E.inflight, 1);
}

/* The outcome of a finished transfer. */
static void
done(CURLMsg *msg)
{
	struct job *j = NULL;
	long status = 0;
	char err[96];
	CURLcode rc = msg->data.result;

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
	if (j == NULL)
		return;
	unlink_job(j);
	/* Its pair may have more due: poll it now. */
	j->p->next_poll_ms = 0;
	j->p->idle_ms = POLL_MS;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (j->p->h->type == SK_HOOK_EMAIL) {
		if (rc == CURLE_OK)
			finish(j, SK_OUTBOX_DELIVERED, NULL, status);
		else
			finish(j, SK_OUTBOX_FAILED, curl_easy_strerror(rc),
			       status);
	} else if ((rc == CURLE_OK ||
		    (rc == CURLE_WRITE_ERROR && j->overflow)) &&
		   status >= 200 && status < 300) {
		/* A 2xx is the receiver's word, however long its body. */
		finish(j, SK_OUTBOX_DELIVERED, NULL, status);
	} else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && j->overflow)) {
		snprintf(err, sizeof(err), "HTTP %ld%s", status,
			 status >= 300 && status < 400
			     ? " (redirects are not followed)"
			     : "");
		finish(j, SK_OUTBOX_FAILED, err, status);
	} else {
		finish(j, SK_OUTBOX_FAILED, curl_easy_strerror(rc), status);
	}
	job_free(&j);
}

/* The queues' depth and dead letters, per hook, for /metrics (the same
 * on every instance: they are Redis's). */
static void
read_depth(int64_t mono)
{
	int64_t q, d, sq, sd;
	size_t h, i;

	if (mono < E.next_depth_ms)
		return;
	E.next_depth_ms = mono + DEPTH_EVERY_MS;
	for (h = 0; h < E.cfg->nhooks; h++) {
		sq = sd = 0;
		for (i = 0; i < E.npairs; i++)
			if (E.pairs[i].hook == h &&
			    sk_outbox_depth(E.pairs[i].tenant, E.pairs[i].h->id,
					    &q, &d) == 0) {
				sq += q;
				sd += d;
			}
		/* Stored once summed: a reader never sees a partial sum. */
		atomic_store(&E.stats[h].gauge[G_QUEUED], sq);
		atomic_store(&E.stats[h].gauge[G_DEAD], sd);
	}
}

/* Hands every attempt under way back to the outbox (due now). */
static void
release_all(void)
{
	struct job *j;

	while ((j = E.jobs) != NULL) {
		unlink_job(j);
		finish(j, SK_OUTBOX_RELEASED, NULL, 0);
		job_free(&j);
	}
}

static void *
run(void *arg)
{
	CURLMsg *msg;
	int64_t mono, wait;
	int running, left;
	size_t i;

	(void)arg;
	while (!atomic_load(&E.stop)) {
		mono = now_ms();
		for (i = 0; i < E.npairs && !atomic_load(&E.stop); i++)
			poll_pair(&E.pairs[i], mono);
		read_depth(mono);
		curl_multi_perform(E.multi, &running);
		while ((msg = curl_multi_info_read(E.multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				done(msg);
		/* Sleep until the soonest poll, a socket's activity or a
		 * wake-up (stop). */
		wait = POLL_MS;
		mono = now_ms();
		for (i = 0; i < E.npairs; i++)
			if (E.pairs[i].next_poll_ms - mono < wait)
				wait = E.pairs[i].next_poll_ms - mono;
		if (wait > 0)
			curl_multi_poll(E.multi, NULL, 0, (int)wait, NULL);
	}
	release_all();
	sk_store_thread_close();
	return NULL;
}

int
sk_hooks_start(const struct sk_config *cfg)
{
	const struct sk_sink *sink;
	size_t i, j, n = 0;
	int r = SK_ERR_NOMEM;

	if (E.started || cfg->nhooks == 0)
		return 0;
	memset(&E, 0, sizeof(E));
	E.cfg = cfg;
	if ((E.stats = calloc(cfg->nhooks, sizeof(*E.stats))) == NULL ||
	    (cfg->ntenants > 0 && (E.pairs = calloc(cfg->nhooks * cfg->ntenants,
						    sizeof(*E.pairs))) == NULL))
		goto fail;
	for (i = 0; i < cfg->nhooks; i++) {
		const struct sk_hook_conf *h = &cfg->hooks[i];

		if ((sink = sink_for(h->type)) == NULL) {
			sk_warn("hook %s: type %s is not delivered by this "
				"build; its events stay undelivered",
				h->id, sk_hook_type_name(h->type));
			continue;
		}
		for (j = 0; j < cfg->ntenants; j++) {
			if (!sk_hook_covers(h, cfg->tenants[j].id))
				continue;
			E.pairs[n].h = h;
			E.pairs[n].hook = i;
			E.pairs[n].sink = sink;
			E.pairs[n].tenant = cfg->tenants[j].id;
			n++;
		}
	}
	E.npairs = n;
	/* The groups now, from "$": what is raised from here on is
	 * delivered. A Redis not reachable yet is tried again by the
	 * engine. */
	for (i = 0; i < n; i++)
		if (sk_outbox_group(E.pairs[i].tenant, E.pairs[i].h->id) == 0)
			E.pairs[i].grouped = true;
	sk_store_thread_close();
	if ((E.multi = curl_multi_init()) == NULL)
		goto fail;
	curl_multi_setopt(E.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			  (long)SK_HOOKS_INFLIGHT);
	atomic_store(&E.stop, false);
	if (pthread_create(&E.thread, NULL, run, NULL) != 0) {
		r = SK_ERR_INTERNAL;
		goto fail;
	}
	E.started = true;
	sk_info("hooks: %zu hook(s), %zu (tenant, hook) queue(s)", cfg->nhooks,
		n);
	return 0;
fail:
	if (E.multi != NULL)
		curl_multi_cleanup(E.multi);
	free(E.pairs);
	free(E.stats);
	memset(&E, 0, sizeof(E));
	return r;
}

void
sk_hooks_stop(void)
{
	if (!E.started)
		return;
	atomic_store(&E.stop, true);
	curl_multi_wakeup(E.multi);
	pthread_join(E.thread, NULL);
	curl_multi_cleanup(E.multi);
	free(E.pairs);
	free(E.stats);
	memset(&E, 0, sizeof(E));
}

/* A gauge per hook: sekisho_hook_<name>, from gauge[g]. */
static void
gauge(struct sk_buf *b, const char *name, const char *help, int g)
{
	size_t i;

	sk_buf_addf(b,
		    "# HELP sekisho_hook_%s %s\n# TYPE sekisho_hook_%s gauge\n",
		    name, help, name);
	for (i = 0; i < E.cfg->nhooks; i++)
		sk_buf_addf(b, "sekisho_hook_%s{hook=\"%s\"} %lld\n", name,
			    E.cfg->hooks[i].id,
			    (long long)atomic_load(&E.stats[i].gauge[g]));
}

void
sk_hooks_metrics(struct sk_buf *b)
{
	static const char *const results[] = {"ok", "failed", "dead"};
	size_t i, k;

	if (!E.started)
		return;
	sk_buf_adds(b, "# HELP sekisho_hook_deliveries_total Delivery "
		       "attempts by hook and result (dead: a failure that "
		       "dead-lettered the delivery).\n"
		       "# TYPE sekisho_hook_deliveries_total counter\n");
	for (i = 0; i < E.cfg->nhooks; i++)
		for (k = 0; k < SK_ARRAY_SIZE(results); k++) {
			atomic_uint_fast64_t *c = k == 0   ? &E.stats[i].ok
						  : k == 1 ? &E.stats[i].failed
							   : &E.stats[i].dead;
			sk_buf_addf(b,
				    "sekisho_hook_deliveries_total{hook=\"%s\","
				    "result=\"%s\"} %llu\n",
				    E.cfg->hooks[i].id, results[k],
				    (unsigned long long)atomic_load(c));
		}
	gauge(b, "queue_depth",
	      "Deliveries queued (due, retrying or under way), all tenants.",
	      G_QUEUED);
	gauge(b, "dead_letters", "Dead letters kept, all tenants.", G_DEAD);
	sk_buf_addf(b,
		    "# HELP sekisho_hook_inflight Delivery attempts under "
		    "way on this instance.\n"
		    "# TYPE sekisho_hook_inflight gauge\n"
		    "sekisho_hook_inflight %d\n",
		    atomic_load(&E.inflight));
}

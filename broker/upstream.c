/*
 * The upstream pool: a few threads that run the requests which call an
 * identity provider (code exchange, discovery, JWKS, userinfo, GitHub's
 * API), so that libmicrohttpd's workers never wait on a provider and
 * /auth/verify, introspection and pages go on while one hangs.
 *
 * server.c suspends such a request's connection and submits it here; a
 * pool thread runs the job, which ends by resuming the connection.
 * Admission is bounded twice, so a provider that hangs costs a bounded
 * number of waiting requests, never memory or threads without end:
 *   - per provider: at most providers[].max_concurrent jobs admitted
 *     (queued or running);
 *   - in all: at most http.upstream_queue jobs admitted.
 * Beyond either, sk_upstream_submit() refuses at once and the caller
 * answers 503. A thread takes the oldest queued job whose provider runs
 * fewer than (threads - 1) jobs, so one hanging provider never holds every
 * thread and sign-ins with the other providers go on. A job that has
 * waited in the queue longer than its provider's http_timeout is run
 * "late": it answers at once without calling the provider (whose calls,
 * ahead of it, took that long), so every request ends within about twice
 * the timeout however many wait.
 */
#include "broker_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/provider.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct job {
	struct job *next;
	int provider;
	int64_t late_at; /* monotonic us: queued since then is too long */
	sk_upstream_job_fn *fn;
	void *arg;
};

/* Per provider; guarded by pool.lock. */
struct prov {
	int admitted; /* queued + running */
	int running;
	int max;	  /* providers[].max_concurrent */
	uint64_t refused; /* for /metrics */
	uint64_t late;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t *threads;
	int nthreads; /* started */
	int run_cap;  /* running jobs of one provider at most */
	struct job *head, *tail;
	size_t admitted;
	size_t max_admitted;
	struct prov *prov;
	size_t nprov;
	bool closed;   /* refuse new jobs */
	bool stopping; /* threads exit once the queue is empty */
	int64_t last_refusal_log;
	bool cond_ready;
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * The oldest queued job that may run now, unlinked; NULL if none. A late
 * job calls no provider, so run_cap does not hold it back.
 */
static struct job *
take_job(bool *late)
{
	struct job *j, *prev = NULL;
	int64_t now = sk_monotonic_us();

	for (j = pool.head; j != NULL; prev = j, j = j->next) {
		*late = now >= j->late_at;
		if (!*late && pool.prov[j->provider].running >= pool.run_cap)
			continue;
		if (prev != NULL)
			prev->next = j->next;
		else
			pool.head = j->next;
		if (pool.tail == j)
			pool.tail = prev;
		j->next = NULL;
		return j;
	}
	return NULL;
}

static void *
worker_main(void *unused)
{
	struct job *j;
	struct timespec until;
	bool late = false;

	(void)unused;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		j = take_job(&late);
		if (j == NULL) {
			if (pool.stopping && pool.head == NULL)
				break;
			if (pool.head == NULL) {
				pthread_cond_wait(&pool.cond, &pool.lock);
				continue;
			}
			/* Jobs held back by run_cap: look again when a job
			 * ends, or in a second (one may have turned late). */
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += 1;
			pthread_cond_timedwait(&pool.cond, &pool.lock, &until);
			continue;
		}
		pool.prov[j->provider].running += !late;
		pool.prov[j->provider].late += late;
		pthread_mutex_unlock(&pool.lock);

		j->fn(j->arg, late); /* arg is not ours once fn has begun */

		pthread_mutex_lock(&pool.lock);
		pool.prov[j->provider].running -= !late;
		pool.prov[j->provider].admitted--;
		pool.admitted--;
		free(j);
		/* A job held back by run_cap may run now. */
		pthread_cond_broadcast(&pool.cond);
	}
	pthread_mutex_unlock(&pool.lock);
	sk_http_thread_end();
	sk_store_thread_close();
	return NULL;
}

int
sk_upstream_start(void)
{
	const struct sk_config *cfg = sk_daemon.cfg;
	size_t i;
	int n = cfg->http.upstream_threads, r = SK_ERR_NOMEM;
	pthread_condattr_t ca;

	/* Timed waits on the monotonic clock: a clock step changes nothing. */
	if (!pool.cond_ready) {
		if (pthread_condattr_init(&ca) != 0)
			return SK_ERR_NOMEM;
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		r = pthread_cond_init(&pool.cond, &ca);
		pthread_condattr_destroy(&ca);
		if (r != 0)
			return SK_ERR_NOMEM;
		pool.cond_ready = true;
		r = SK_ERR_NOMEM;
	}
	pool.nprov = cfg->nproviders;
	pool.prov = calloc(pool.nprov ? pool.nprov : 1, sizeof(*pool.prov));
	pool.threads = calloc((size_t)n, sizeof(*pool.threads));
	if (pool.prov == NULL || pool.threads == NULL)
		goto out;
	for (i = 0; i < pool.nprov; i++)
		pool.prov[i].max = (int)cfg->providers[i].max_concurrent;
	pool.max_admitted = (size_t)cfg->http.upstream_queue;
	pool.run_cap = n > 1 ? n - 1 : 1;
	pool.closed = false;
	pool.stopping = false;
	for (pool.nthreads = 0; pool.nthreads < n; pool.nthreads++) {
		if (pthread_create(&pool.threads[pool.nthreads], NULL,
				   worker_main, NULL) != 0) {
			r = SK_ERR_IO;
			goto out;
		}
	}
	r = 0;
out:
	if (r != 0)
		sk_upstream_stop();
	return r;
}

int
sk_upstream_submit(int provider, sk_upstream_job_fn *fn, void *arg)
{
	struct prov *p;
	struct job *j;
	int r = SK_ERR_DENIED;

	if (provider < 0 || (size_t)provider >= pool.nprov)
		return SK_ERR_INTERNAL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return SK_ERR_NOMEM;
	j->provider = provider;
	j->late_at = sk_monotonic_us() +
		     sk_daemon.cfg->providers[provider].http_timeout * 1000000;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&pool.lock);
	p = &pool.prov[provider];
	if (pool.closed || pool.nthreads == 0 ||
	    pool.admitted >= pool.max_admitted || p->admitted >= p->max) {
		p->refused++;
		/* One line a second at most: a flood must not flood the log. */
		if (sk_wall_s() != pool.last_refusal_log) {
			pool.last_refusal_log = sk_wall_s();
			sk_warn("upstream: provider %s busy (%d of %d requests "
				"admitted, %zu in all): answering 503",
				sk_daemon.cfg->providers[provider].id,
				p->admitted, p->max, pool.admitted);
		}
		goto out;
	}
	p->admitted++;
	pool.admitted++;
	if (pool.tail != NULL)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	j = NULL;
	pthread_cond_signal(&pool.cond);
	r = 0;
out:
	pthread_mutex_unlock(&pool.lock);
	free(j);
	return r;
}

bool
sk_upstream_busy(void)
{
	bool busy;

	pthread_mutex_lock(&pool.lock);
	busy = pool.admitted > 0;
	pthread_mutex_unlock(&pool.lock);
	return busy;
}

void
sk_upstream_close(void)
{
	pthread_mutex_lock(&pool.lock);
	pool.closed = true;
	pthread_mutex_unlock(&pool.lock);
}

void
sk_upstream_stop(void)
{
	int i;

	if (!pool.cond_ready)
		return; /* never started */
	pthread_mutex_lock(&pool.lock);
	pool.closed = true;
	pool.stopping = true;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	/* Queued jobs still run: each owns a suspended connection. */
	for (i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);
	pool.nthreads = 0;
	free(pool.threads);
	pool.threads = NULL;
	free(pool.prov);
	pool.prov = NULL;
	pool.nprov = 0;
}

void
sk_upstream_metrics(struct sk_buf *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"sekisho_upstream_jobs", "gauge",
	     "Requests waiting for or in a call to the provider."},
	    {"sekisho_upstream_refused_total", "counter",
	     "Requests refused (503): the provider or the pool was busy."},
	    {"sekisho_upstream_late_total", "counter",
	     "Requests answered 504 without a call: they waited longer than "
	     "the provider's http_timeout."},
	};
	unsigned long long v;
	size_t f, i;

	pthread_mutex_lock(&pool.lock);
	for (f = 0; f < SK_ARRAY_SIZE(fam); f++) {
		sk_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name,
			    fam[f].help, fam[f].name, fam[f].type);
		for (i = 0; i < pool.nprov; i++) {
			v = f == 0   ? (unsigned long long)pool.prov[i].admitted
			    : f == 1 ? pool.prov[i].refused
				     : pool.prov[i].late;
			sk_buf_addf(b, "%s{provider=\"%s\"} %llu\n",
				    fam[f].name, sk_daemon.cfg->providers[i].id,
				    v);
		}
	}
	pthread_mutex_unlock(&pool.lock);
}

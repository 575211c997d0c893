/*
 * Prometheus metrics: requests by route and status, one latency histogram,
 * sign-in outcomes, Redis errors. Counters are lock-free atomics.
 */
#include "broker_int.h"
#include "sekisho/audit.h"
#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/policy_store.h"
#include "sekisho/sesscache.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <stdatomic.h>
#include <stdlib.h>

#define NSTATUS 600

static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
				   0.025,  0.05,  0.1,	  0.25,	 0.5,
				   1.0,	   2.5,	  5.0,	  10.0};
#define NBUCKETS SK_ARRAY_SIZE(bucket_le)

/* [route][status], sized by sk_metrics_init() from the route table. */
static atomic_uint_fast64_t (*req_count)[NSTATUS];
static int nroutes;
static atomic_uint_fast64_t hist[NBUCKETS + 1];
static atomic_uint_fast64_t hist_sum_us;
static atomic_uint_fast64_t hist_count;
static atomic_uint_fast64_t events[SK_M__COUNT];

int
sk_metrics_init(int n)
{
	atomic_uint_fast64_t(*t)[NSTATUS];

	if (n <= 0)
		return SK_ERR_INVALID;
	if (n <= nroutes)
		return 0; /* already large enough */
	if ((t = calloc((size_t)n, sizeof(*t))) == NULL)
		return SK_ERR_NOMEM;
	/* Once, before serving: nothing counts concurrently yet. */
	free(req_count);
	req_count = t;
	nroutes = n;
	return 0;
}

void
sk_metrics_request(int route, int status, int64_t duration_us)
{
	double s = (double)duration_us / 1e6;
	size_t b;

	if (route >= 0 && route < nroutes && status >= 100 && status < NSTATUS)
		atomic_fetch_add(&req_count[route][status], 1);
	for (b = 0; b < NBUCKETS && s > bucket_le[b]; b++)
		;
	atomic_fetch_add(&hist[b], 1);
	atomic_fetch_add(&hist_sum_us,
			 (uint64_t)(duration_us > 0 ? duration_us : 0));
	atomic_fetch_add(&hist_count, 1);
}

void
sk_metrics_event(enum sk_metric_event ev)
{
	if (ev < SK_M__COUNT)
		atomic_fetch_add(&events[ev], 1);
}

/* The session cache (docs/design.md "Session cache"), when it runs. */
static void
session_cache_metrics(struct sk_buf *b)
{
	struct sk_session_cache_stats st;

	if (!sk_session_cache_stats(&st))
		return;
	sk_buf_addf(
	    b,
	    "# HELP sekisho_session_cache_lookups_total Session cache "
	    "lookups by result.\n"
	    "# TYPE sekisho_session_cache_lookups_total counter\n"
	    "sekisho_session_cache_lookups_total{result=\"hit\"} %llu\n"
	    "sekisho_session_cache_lookups_total{result=\"miss\"} %llu\n"
	    "# HELP sekisho_session_cache_flushes_total Times the session "
	    "cache was emptied (invalidation connection lost or late, "
	    "FLUSHDB).\n"
	    "# TYPE sekisho_session_cache_flushes_total counter\n"
	    "sekisho_session_cache_flushes_total %llu\n"
	    "# HELP sekisho_session_cache_invalidations_total Keys "
	    "invalidated by Redis or by this instance.\n"
	    "# TYPE sekisho_session_cache_invalidations_total counter\n"
	    "sekisho_session_cache_invalidations_total %llu\n"
	    "# HELP sekisho_session_cache_evictions_total Entries dropped "
	    "for the size bounds.\n"
	    "# TYPE sekisho_session_cache_evictions_total counter\n"
	    "sekisho_session_cache_evictions_total %llu\n"
	    "# HELP sekisho_session_cache_entries Entries held.\n"
	    "# TYPE sekisho_session_cache_entries gauge\n"
	    "sekisho_session_cache_entries %zu\n"
	    "# HELP sekisho_session_cache_usable 1 while entries are served "
	    "(heartbeat answered within its bound).\n"
	    "# TYPE sekisho_session_cache_usable gauge\n"
	    "sekisho_session_cache_usable %d\n"
	    "# HELP sekisho_session_touches_total Idle-timeout slides by "
	    "where they were sent, and failures.\n"
	    "# TYPE sekisho_session_touches_total counter\n"
	    "sekisho_session_touches_total{how=\"queued\"} %llu\n"
	    "sekisho_session_touches_total{how=\"inline\"} %llu\n"
	    "sekisho_session_touches_total{how=\"failed\"} %llu\n",
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    (unsigned long long)st.flushes,
	    (unsigned long long)st.invalidations,
	    (unsigned long long)st.evictions, st.entries, st.usable ? 1 : 0,
	    (unsigned long long)st.touches,
	    (unsigned long long)st.touches_inline,
	    (unsigned long long)st.touch_errors);
}

int
sk_metrics_render(char **out)
{
	struct sk_buf b;
	uint64_t cum = 0;
	int r, st;
	size_t i;

	sk_buf_init(&b);
	sk_buf_adds(&b, "# HELP sekisho_http_requests_total HTTP requests by "
			"route and status.\n"
			"# TYPE sekisho_http_requests_total counter\n");
	for (r = 0; r < nroutes; r++)
		for (st = 100; st < NSTATUS; st++) {
			uint64_t v = atomic_load(&req_count[r][st]);
			if (v > 0)
				sk_buf_addf(&b,
					    "sekisho_http_requests_total{route="
					    "\"%s\",status=\"%d\"} %llu\n",
					    sk_route_name(r), st,
					    (unsigned long long)v);
		}
	sk_buf_adds(&b, "# HELP sekisho_http_request_duration_seconds Time "
			"to answer a request.\n"
			"# TYPE sekisho_http_request_duration_seconds "
			"histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		cum += atomic_load(&hist[i]);
		sk_buf_addf(&b,
			    "sekisho_http_request_duration_seconds_bucket{le="
			    "\"%g\"} %llu\n",
			    bucket_le[i], (unsigned long long)cum);
	}
	cum += atomic_load(&hist[NBUCKETS]);
	sk_buf_addf(&b,
		    "sekisho_http_request_duration_seconds_bucket{le=\"+Inf\"} "
		    "%llu\n"
		    "sekisho_http_request_duration_seconds_sum %.6f\n"
		    "sekisho_http_request_duration_seconds_count %llu\n",
		    (unsigned long long)cum,
		    (double)atomic_load(&hist_sum_us) / 1e6,
		    (unsigned long long)atomic_load(&hist_count));
	sk_buf_addf(&b,
		    "# HELP sekisho_logins_total Completed upstream sign-ins "
		    "by result.\n"
		    "# TYPE sekisho_logins_total counter\n"
		    "sekisho_logins_total{result=\"success\"} %llu\n"
		    "sekisho_logins_total{result=\"failure\"} %llu\n",
		    (unsigned long long)atomic_load(&events[SK_M_LOGIN_OK]),
		    (unsigned long long)atomic_load(&events[SK_M_LOGIN_FAIL]));
	sk_buf_addf(&b,
		    "# HELP sekisho_redis_errors_total Failed Redis calls.\n"
		    "# TYPE sekisho_redis_errors_total counter\n"
		    "sekisho_redis_errors_total %llu\n",
		    (unsigned long long)sk_store_errors());
	session_cache_metrics(&b);
	sk_upstream_metrics(&b);
	sk_policy_metrics(&b);
	sk_hooks_metrics(&b);
	sk_audit_metrics(&b);
	return sk_buf_take(&b, out);
}

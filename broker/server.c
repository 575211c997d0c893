/*
 * The HTTP layer: libmicrohttpd with epoll and an internal thread pool.
 * This is the only file that includes <microhttpd.h>. It bounds every
 * input (header memory, body size, connections, idle time), routes a
 * request to exactly one handler, adds the security headers every answer
 * carries, and writes one JSON access-log line per request.
 */
#include "broker_int.h"
#include "oauth_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/provider.h"
#include "sekisho/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum match { EXACT, PREFIX };

struct route {
	const char *name;
	const char *method; /* "GET", "POST" */
	const char *path;
	enum match match;
	bool browser; /* errors as HTML pages rather than JSON */
	sk_handler_fn *fn;
};

static const struct route routes[] = {
    {"healthz", "GET", "/healthz", EXACT, false, sk_handle_healthz},
    {"readyz", "GET", "/readyz", EXACT, false, sk_handle_readyz},
    {"metrics", "GET", "/metrics", EXACT, false, sk_handle_metrics},
    {"verify", "GET", "/auth/verify", EXACT, false, sk_handle_verify},
    {"home", "GET", "/", EXACT, true, sk_handle_home},
    {"login", "GET", "/login", EXACT, true, sk_handle_login},
    {"login_provider", "GET", "/login/", PREFIX, true,
     sk_handle_login_provider},
    {"callback", "GET", "/callback/", PREFIX, true, sk_handle_callback},
    {"jwks", "GET", "/jwks.json", EXACT, false, sk_handle_jwks},
    {"discovery", "GET", "/.well-known/openid-configuration", EXACT, false,
     sk_handle_discovery},
    {"introspect", "POST", "/oauth2/introspect", EXACT, false,
     sk_handle_introspect},
    {"revoke", "POST", "/oauth2/revoke", EXACT, false, sk_handle_revoke},
    {"token", "POST", "/oauth2/token", EXACT, false, sk_handle_token},
    {"authorize", "GET", "/oauth2/authorize", EXACT, true,
     sk_handle_authorize},
    {"logout", "POST", "/logout", EXACT, true, sk_handle_logout},
    {"logout_page", "GET", "/logout", EXACT, true, sk_handle_logout},
    {"mfa", "GET", "/mfa", EXACT, true, sk_handle_mfa},
    {"mfa_submit", "POST", "/mfa", EXACT, true, sk_handle_mfa},
    {"mfa_enroll", "GET", "/mfa/enroll", EXACT, true, sk_handle_mfa_enroll},
    {"mfa_enroll_submit", "POST", "/mfa/enroll", EXACT, true,
     sk_handle_mfa_enroll},
    {"mfa_recovery", "GET", "/mfa/recovery", EXACT, true,
     sk_handle_mfa_recovery},
    {"mfa_recovery_submit", "POST", "/mfa/recovery", EXACT, true,
     sk_handle_mfa_recovery},
};
#define ROUTE_NOT_FOUND ((int)SK_ARRAY_SIZE(routes))

const char *
sk_route_name(int route)
{
	if (route >= 0 && route < ROUTE_NOT_FOUND)
		return routes[route].name;
	return "other";
}

int
sk_route_count(void)
{
	return ROUTE_NOT_FOUND + 1;
}

/* Per-request state kept by MHD between calls of the access handler. */
struct reqctx {
	int64_t start_us;
	struct sk_buf body;
	bool too_large;
	struct upjob *job; /* on the upstream pool; see run_route() */
};

static struct MHD_Daemon *daemon_h;

/*
 * Percent-decoding of the path and query arguments, in place. Unlike
 * libmicrohttpd's own, "%00" is left as it is: a decoded NUL would cut the
 * C string short, so "/healthz%00x" would be routed and logged as
 * "/healthz". Left encoded, it simply matches nothing.
 */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *r = s, *w = s;

	(void)cls;
	(void)c;
	while (*r != '\0') {
		int h, l;
		if (r[0] == '%' && (h = sk_hexval((unsigned char)r[1])) >= 0 &&
		    (l = sk_hexval((unsigned char)r[2])) >= 0 && (h | l) != 0) {
			*w++ = (char)(h << 4 | l);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
static atomic_int in_flight;
static __thread uint64_t rid_state;

static void
make_request_id(char out[24])
{
	/* Correlation id for logs, not a secret: a per-thread xorshift. */
	if (rid_state == 0 && sk_random_bytes(&rid_state, sizeof(rid_state)))
		rid_state = (uint64_t)sk_monotonic_us() | 1;
	rid_state ^= rid_state << 13;
	rid_state ^= rid_state >> 7;
	rid_state ^= rid_state << 17;
	snprintf(out, 24, "%016llx", (unsigned long long)rid_state);
}

const char *
sk_req_header(const struct sk_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
add_size(void *cls, enum MHD_ValueKind kind, const char *key,
	 const char *value)
{
	size_t *total = cls;

	(void)kind;
	*total += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": \r\n" */
	return MHD_YES;
}

/* Size of the request head as received (request line + header lines). */
static size_t
head_size(struct MHD_Connection *conn, const char *url)
{
	size_t total = strlen(url) + 16;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, add_size, &total);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_size, &total);
	return total;
}

struct count_ctx {
	const char *name;
	int n;
};

static enum MHD_Result
count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
	  const char *value)
{
	struct count_ctx *c = cls;

	(void)kind;
	(void)value;
	if (key != NULL && strcmp(key, c->name) == 0)
		c->n++;
	return MHD_YES;
}

const char *
sk_req_query(const struct sk_req *req, const char *name, bool *dup)
{
	struct count_ctx c = {name, 0};

	if (dup != NULL) {
		*dup = false;
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND,
					  count_arg, &c);
		if (c.n > 1) {
			*dup = true;
			return NULL;
		}
	}
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

const char *
sk_req_cookie(const struct sk_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

const char *
sk_req_host(const struct sk_req *req)
{
	const char *h = NULL;

	if (sk_app.cfg->http.trust_forwarded)
		h = sk_req_header(req, "X-Forwarded-Host");
	if (h == NULL)
		h = sk_req_header(req, MHD_HTTP_HEADER_HOST);
	return h != NULL ? h : "";
}

/* ---- responses ---- */

static char *
xstrdup(struct sk_resp *resp, const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		resp->oom = true;
	return d;
}

void
sk_resp_header(struct sk_resp *resp, const char *name, const char *value)
{
	size_t i = resp->nhdr;

	if (i >= SK_RESP_MAX_HEADERS) {
		resp->oom = true; /* a bug: treated as a failure to answer */
		return;
	}
	resp->hdr[i].name = xstrdup(resp, name);
	resp->hdr[i].value = xstrdup(resp, value);
	resp->nhdr++;
}

void
sk_resp_body_take(struct sk_resp *resp, int status, const char *content_type,
		  char *body, size_t len)
{
	free(resp->content_type);
	free(resp->body);
	resp->status = status;
	resp->content_type = xstrdup(resp, content_type);
	resp->body = body;
	resp->body_len = len;
	if (body == NULL && len > 0)
		resp->oom = true;
}

void
sk_resp_body(struct sk_resp *resp, int status, const char *content_type,
	     const char *body, size_t len)
{
	char *b = malloc(len + 1);

	if (b != NULL) {
		memcpy(b, body, len);
		b[len] = '\0';
	}
	sk_resp_body_take(resp, status, content_type, b, b ? len : 1);
}

void
sk_resp_json_error(struct sk_resp *resp, int status, const char *error,
		   const char *description)
{
	struct sk_buf b;
	char *s = NULL;

	sk_buf_init(&b);
	sk_buf_adds(&b, "{\"error\":\"");
	sk_buf_add_json(&b, error);
	sk_buf_adds(&b, "\",\"error_description\":\"");
	sk_buf_add_json(&b, description);
	sk_buf_adds(&b, "\"}\n");
	if (sk_buf_take(&b, &s) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_body_take(resp, status, "application/json", s, strlen(s));
}

void
sk_resp_page(struct sk_resp *resp, int status, const char *title,
	     const char *message)
{
	struct sk_buf b;
	char *s = NULL;

	sk_buf_init(&b);
	sk_buf_adds(&b, "<!doctype html>\n<html lang=\"en\"><head>"
			"<meta charset=\"utf-8\"><meta name=\"viewport\" "
			"content=\"width=device-width,initial-scale=1\"><title>");
	sk_buf_add_html(&b, title);
	sk_buf_adds(&b,
		    "</title><style>body{font-family:system-ui,sans-serif;"
		    "max-width:32rem;margin:4rem auto;padding:0 1rem;"
		    "color:#222}h1{font-size:1.4rem}</style></head><body><h1>");
	sk_buf_add_html(&b, title);
	sk_buf_adds(&b, "</h1><p>");
	sk_buf_add_html(&b, message);
	sk_buf_adds(&b, "</p></body></html>\n");
	if (sk_buf_take(&b, &s) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_body_take(resp, status, "text/html; charset=utf-8", s,
			  strlen(s));
}

void
sk_resp_store_down(struct sk_resp *resp)
{
	sk_resp_page(resp, 503, "Temporarily unavailable",
		     "Sekisho cannot reach its session store. Please try again "
		     "in a moment.");
}

void
sk_resp_redirect(struct sk_resp *resp, const char *url)
{
	sk_resp_header(resp, MHD_HTTP_HEADER_LOCATION, url);
	sk_resp_body(resp, 302, "text/plain; charset=utf-8", "", 0);
}

void
sk_resp_cookie(struct sk_resp *resp, const char *name, const char *value,
	       int64_t max_age)
{
	char *s = NULL;

	if (sk_cookie_format(name, value, sk_app.cfg->cookie.secure, max_age,
			     &s) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_header(resp, MHD_HTTP_HEADER_SET_COOKIE, s);
	sk_strfreezero(s);
}

static void
resp_clear(struct sk_resp *resp)
{
	size_t i;

	for (i = 0; i < resp->nhdr; i++) {
		sk_strfreezero(resp->hdr[i].name);
		/* header values can carry session cookies and tokens */
		sk_strfreezero(resp->hdr[i].value);
	}
	free(resp->content_type);
	if (resp->body != NULL)
		sk_freezero(resp->body, resp->body_len);
	memset(resp, 0, sizeof(*resp));
}

/* ---- dispatch ---- */

static void
client_ip(struct MHD_Connection *conn, struct sk_req *req)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	const char *fwd;

	snprintf(req->client_ip, sizeof(req->client_ip), "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && (sa = ci->client_addr) != NULL) {
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)sa)->sin_addr,
				  req->client_ip, sizeof(req->client_ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  req->client_ip, sizeof(req->client_ip));
		else if (sa->sa_family == AF_UNIX)
			snprintf(req->client_ip, sizeof(req->client_ip),
				 "unix");
	}
	/*
	 * X-Real-IP / X-Forwarded-For are client-controlled unless a proxy we
	 * trust overwrites them; only honour them when told to.
	 */
	if (!sk_app.cfg->http.trust_forwarded)
		return;
	fwd = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Real-IP");
	if (fwd != NULL) {
		unsigned char a[16];
		if (strlen(fwd) < sizeof(req->client_ip) &&
		    (inet_pton(AF_INET, fwd, a) == 1 ||
		     inet_pton(AF_INET6, fwd, a) == 1))
			snprintf(req->client_ip, sizeof(req->client_ip), "%s",
				 fwd);
	}
}

static int
find_route(const char *method, const char *path, bool *method_mismatch)
{
	size_t i;

	*method_mismatch = false;
	for (i = 0; i < SK_ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];
		bool hit = rt->match == EXACT
			       ? strcmp(path, rt->path) == 0
			       : strncmp(path, rt->path, strlen(rt->path)) == 0;
		if (!hit)
			continue;
		if (strcmp(method, rt->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		     strcmp(rt->method, "GET") == 0))
			return (int)i;
		*method_mismatch = true;
	}
	return ROUTE_NOT_FOUND;
}

/* The Allow header for a path that exists under other methods. */
static const char *
allowed_methods(const char *path)
{
	bool get = false, post = false;
	bool mismatch;
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];
		if (find_route(rt->method, path, &mismatch) != (int)i)
			continue;
		if (strcmp(rt->method, "GET") == 0)
			get = true;
		else
			post = true;
	}
	return get && post ? "GET, HEAD, POST" : post ? "POST" : "GET, HEAD";
}

static void
add_security_headers(struct MHD_Response *r, const char *ctype)
{
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (ctype != NULL && strncmp(ctype, "text/html", 9) == 0)
		MHD_add_response_header(
		    r, "Content-Security-Policy",
		    "default-src 'none'; style-src 'unsafe-inline'; "
		    "img-src data:; form-action 'self'; "
		    "frame-ancestors 'none'; base-uri 'none'");
}

static bool
has_header(const struct sk_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nhdr; i++)
		if (resp->hdr[i].name && strcasecmp(resp->hdr[i].name, name) == 0)
			return true;
	return false;
}

static void
access_log(const struct sk_req *req, int status, int64_t dur_us)
{
	struct sk_buf b;
	char ts[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	sk_buf_init(&b);
	/* The path only: the query string may carry codes and state. */
	sk_buf_addf(&b,
		    "{\"time\":\"%s.%03ldZ\",\"type\":\"access\","
		    "\"request_id\":\"%s\",\"method\":\"",
		    ts, now.tv_nsec / 1000000, req->request_id);
	sk_buf_add_json(&b, req->method);
	sk_buf_adds(&b, "\",\"path\":\"");
	sk_buf_add_json(&b, req->path);
	sk_buf_addf(&b, "\",\"status\":%d,\"duration_ms\":%.3f,\"client_ip\":\"",
		    status, (double)dur_us / 1000.0);
	sk_buf_add_json(&b, req->client_ip);
	sk_buf_adds(&b, "\"}");
	if (!b.oom && b.data != NULL)
		sk_log_json_line(b.data);
	sk_buf_free(&b);
}

static enum MHD_Result
answer(struct MHD_Connection *conn, struct sk_req *req, struct sk_resp *resp,
       bool browser)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	if (resp->oom || resp->status == 0) {
		resp_clear(resp);
		if (browser)
			sk_resp_page(resp, 500, "Something went wrong",
				     "Sekisho could not complete this request. "
				     "Please try again.");
		else
			sk_resp_json_error(resp, 500, "server_error",
					   "internal error");
		if (resp->oom)
			return MHD_NO; /* even the error page failed */
	}
	r = MHD_create_response_from_buffer(resp->body_len, resp->body,
					    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	for (i = 0; i < resp->nhdr; i++)
		MHD_add_response_header(r, resp->hdr[i].name,
					resp->hdr[i].value);
	if (resp->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type);
	if (!has_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-store");
	MHD_add_response_header(r, "X-Request-Id", req->request_id);
	add_security_headers(r, resp->content_type);
	ret = MHD_queue_response(conn, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- requests that call a provider: the upstream pool ---- */

/*
 * A handler that calls an identity provider must not run here: while it
 * waits, every other connection of this worker waits too (a hung token
 * endpoint stopped /auth/verify). Such a request's connection is
 * suspended, the handler runs on the upstream pool (upstream.c), the pool
 * resumes the connection, and libmicrohttpd calls access_handler() again,
 * which then queues the answer the pool prepared (so the answer still
 * never comes on the first call: see access_handler()).
 */

/* Routes whose handler may reach a provider, and which one a request
 * would reach (broker_int.h). */
static const struct {
	sk_handler_fn *fn;
	sk_route_upstream_fn *upstream;
} upstream_routes[] = {
    {sk_handle_login_provider, sk_login_provider_upstream},
    {sk_handle_callback, sk_callback_upstream},
};

/*
 * One request on the pool. Owned by its reqctx; the pool thread uses it
 * from submission until it resumes the connection, the HTTP worker after
 * that. req's strings live in the connection, which stays put while
 * suspended.
 */
struct upjob {
	struct MHD_Connection *conn;
	const struct route *rt;
	struct sk_req req;
	struct sk_resp resp; /* the prepared answer */
};

/* Connections suspended for the pool and not answered yet: no daemon may
 * stop while one is (libmicrohttpd panics). */
static atomic_int suspended;

/* On a pool thread. */
static void
upstream_run(void *arg, bool late)
{
	struct upjob *job = arg;

	if (!late) {
		job->rt->fn(&job->req, &job->resp);
	} else {
		/* Calls to this provider ahead of it took all this time. */
		sk_resp_page(&job->resp, 504, "Sign-in provider not answering",
			     "The sign-in provider is not answering right now. "
			     "Please try again later.");
	}
	MHD_resume_connection(job->conn); /* job is the worker's from here */
}

static void
upjob_free(struct reqctx *rc)
{
	if (rc->job == NULL)
		return;
	resp_clear(&rc->job->resp);
	free(rc->job);
	rc->job = NULL;
	atomic_fetch_sub(&suspended, 1);
}

/*
 * Runs the route's handler here, or, for a request that would call a
 * provider, on the upstream pool. Returns true when the connection is
 * suspended (answered once resumed); false when resp holds the answer.
 */
static bool
run_route(struct MHD_Connection *conn, struct reqctx *rc, struct sk_req *req,
	  const struct route *rt, struct sk_resp *resp)
{
	sk_route_upstream_fn *which = NULL;
	struct upjob *job;
	size_t i;
	int provider, r;

	for (i = 0; i < SK_ARRAY_SIZE(upstream_routes); i++)
		if (upstream_routes[i].fn == rt->fn)
			which = upstream_routes[i].upstream;
	if (which == NULL || (provider = which(req)) < 0) {
		rt->fn(req, resp);
		return false;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		resp->oom = true;
		return false;
	}
	job->conn = conn;
	job->rt = rt;
	job->req = *req;
	rc->job = job;
	atomic_fetch_add(&suspended, 1);
	/* Suspended before the job can run: a pool thread resumes it. */
	MHD_suspend_connection(conn);
	if ((r = sk_upstream_submit(provider, upstream_run, job)) == 0)
		return true;
	/*
	 * Refused: the provider already has max_concurrent requests waiting
	 * (or the pool its upstream_queue). Answer at once rather than queue
	 * without end; the same path as a pool answer, resumed from here.
	 */
	if (r == SK_ERR_NOMEM) {
		job->resp.oom = true;
	} else {
		sk_resp_header(&job->resp, "Retry-After", "5");
		sk_resp_page(&job->resp, 503, "Sign-in busy",
			     "Too many sign-ins with this provider are in "
			     "progress right now. Please try again in a "
			     "moment.");
	}
	MHD_resume_connection(conn);
	return true;
}

/* The later call for a request whose job is done: answers it. */
static enum MHD_Result
upstream_answer(struct MHD_Connection *conn, struct reqctx *rc)
{
	struct upjob *job = rc->job;
	enum MHD_Result ret;
	int64_t dur;

	ret = answer(conn, &job->req, &job->resp, job->rt->browser);
	dur = sk_monotonic_us() - rc->start_us;
	access_log(&job->req, job->resp.status, dur);
	sk_metrics_request(job->req.route, job->resp.status, dur);
	upjob_free(rc);
	return ret;
}

/*
 * True while a connection waits for the pool, or a pool thread may still
 * be inside MHD_resume_connection() (it signals the worker daemon, which
 * MHD_stop_daemon() frees).
 */
static bool
upstream_pending(void)
{
	return atomic_load(&suspended) > 0 || sk_upstream_busy();
}

/*
 * At shutdown, before MHD_stop_daemon(): every suspended connection must
 * be resumed and answered. Jobs get until the deadline (the drain grace);
 * then upstream calls not yet started fail at once, and one under way ends
 * within its provider's http_timeout (libcurl's CURLOPT_TIMEOUT).
 */
static void
upstream_drain(int64_t deadline)
{
	int64_t limit = 0;
	size_t i;

	while (upstream_pending() && sk_monotonic_us() < deadline)
		usleep(10000);
	sk_upstream_close();
	if (!upstream_pending())
		return;
	sk_warn("shutdown: %d requests still wait for a provider; ending "
		"their upstream calls",
		atomic_load(&suspended));
	sk_providers_abort();
	for (i = 0; i < sk_app.cfg->nproviders; i++)
		if (sk_app.cfg->providers[i].http_timeout > limit)
			limit = sk_app.cfg->providers[i].http_timeout;
	/* A call under way, then Redis timeouts: a generous bound. */
	limit = sk_monotonic_us() + (limit + 10) * 1000000;
	while (upstream_pending()) {
		if (sk_monotonic_us() > limit) {
			/* Stopping the daemon now would crash it. */
			sk_error("shutdown: upstream calls did not end");
			_exit(1);
		}
		usleep(10000);
	}
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *conn, const char *url,
	       const char *method, const char *version, const char *upload,
	       size_t *upload_size, void **con_cls)
{
	struct reqctx *rc = *con_cls;
	struct sk_req req;
	struct sk_resp resp;
	const struct route *rt = NULL;
	bool mismatch;
	enum MHD_Result ret;
	int64_t dur;

	(void)cls;
	if (rc == NULL) {
		/*
		 * First call: headers only. Answering now would force
		 * "Connection: close" (see the brief); come back for the body.
		 */
		if ((rc = calloc(1, sizeof(*rc))) == NULL)
			return MHD_NO;
		rc->start_us = sk_monotonic_us();
		sk_buf_init(&rc->body);
		*con_cls = rc;
		return MHD_YES;
	}
	if (rc->job != NULL)
		return upstream_answer(conn, rc); /* resumed by the pool */
	if (*upload_size > 0) {
		if (!rc->too_large &&
		    rc->body.len + *upload_size >
			(size_t)sk_app.cfg->http.max_body_bytes)
			rc->too_large = true;
		if (!rc->too_large)
			sk_buf_add(&rc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.conn = conn;
	req.method = method;
	req.path = url;
	req.body = rc->body.data;
	req.body_len = rc->body.len;
	make_request_id(req.request_id);
	client_ip(conn, &req);
	req.route = find_route(method, url, &mismatch);
	if (req.route != ROUTE_NOT_FOUND)
		rt = &routes[req.route];

	atomic_fetch_add(&in_flight, 1);
	if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
	    sk_req_header(&req, MHD_HTTP_HEADER_HOST) == NULL) {
		/* RFC 9112 3.2: a 1.1 request without Host is a 400. */
		sk_resp_json_error(&resp, 400, "invalid_request",
				   "the Host header is missing");
	} else if (head_size(conn, url) > (size_t)sk_app.cfg->http.max_header_bytes) {
		sk_resp_json_error(&resp, 431, "invalid_request",
				   "request header fields too large");
	} else if (rc->too_large || rc->body.oom) {
		sk_resp_json_error(&resp, 413, "invalid_request",
				   "request body too large");
	} else if (rt == NULL && mismatch) {
		sk_resp_header(&resp, MHD_HTTP_HEADER_ALLOW, allowed_methods(url));
		sk_resp_json_error(&resp, 405, "invalid_request",
				   "method not allowed on this path");
	} else if (rt == NULL) {
		sk_resp_json_error(&resp, 404, "not_found", "no such endpoint");
	} else {
		req.tenant = sk_tenant_for_host(sk_app.cfg, sk_req_host(&req));
		if (run_route(conn, rc, &req, rt, &resp)) {
			atomic_fetch_sub(&in_flight, 1);
			return MHD_YES; /* answered once resumed */
		}
	}
	ret = answer(conn, &req, &resp, rt != NULL && rt->browser);
	dur = sk_monotonic_us() - rc->start_us;
	access_log(&req, resp.status, dur);
	sk_metrics_request(req.route, resp.status, dur);
	resp_clear(&resp);
	atomic_fetch_sub(&in_flight, 1);
	return ret;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	struct reqctx *rc = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rc == NULL)
		return;
	upjob_free(rc); /* the client left before its answer */
	if (rc->body.data != NULL)
		sk_memzero(rc->body.data, rc->body.cap); /* forms carry tokens */
	sk_buf_free(&rc->body);
	free(rc);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	sk_warn("http: %s", msg);
}

int
sk_server_start(void)
{
	const struct sk_config *cfg = sk_app.cfg;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
			     MHD_USE_ERROR_LOG;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, cfg->listen_host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(cfg->listen_port);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, cfg->listen_host, &sin6.sin6_addr) ==
		   1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(cfg->listen_port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		sk_error("listen: %s is not an IP address", cfg->listen_host);
		return SK_ERR_CONFIG;
	}
	/* Provider calls run on the upstream pool (run_route()). */
	flags |= MHD_ALLOW_SUSPEND_RESUME;
	if (sk_upstream_start() != 0) {
		sk_error("cannot start the upstream pool");
		return SK_ERR_IO;
	}
	daemon_h = MHD_start_daemon(
	    flags, cfg->listen_port, NULL, NULL, access_handler, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)cfg->http.threads, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)cfg->http.max_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->http.idle_timeout,
	    /*
	     * Header memory per connection bounds the request head. We check
	     * http.max_header_bytes ourselves (431 with a request id and a
	     * log line); libmicrohttpd's own, bare 431 only meets heads over
	     * four times that.
	     */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)cfg->http.max_header_bytes * 4 + 8192,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_NOTIFY_COMPLETED,
	    request_completed, NULL, MHD_OPTION_END);
	if (daemon_h == NULL) {
		sk_error("cannot listen on %s:%u", cfg->listen_host,
			 (unsigned)cfg->listen_port);
		sk_upstream_stop();
		return SK_ERR_IO;
	}
	return 0;
}

void
sk_server_stop(int64_t grace_ms)
{
	int64_t deadline = sk_monotonic_us() + grace_ms * 1000;

	if (daemon_h == NULL)
		return;
	/* Stop accepting; let requests already being answered finish. */
	MHD_quiesce_daemon(daemon_h);
	upstream_drain(deadline);
	while (atomic_load(&in_flight) > 0 && sk_monotonic_us() < deadline)
		usleep(10000);
	MHD_stop_daemon(daemon_h);
	daemon_h = NULL;
	sk_upstream_stop();
}

/*
 * Private to broker/: the request/response interface between the HTTP
 * layer (server.c, the only file that includes <microhttpd.h>) and the
 * endpoint handlers, plus the process-wide application state.
 */
#ifndef SEKISHO_BROKER_INT_H
#define SEKISHO_BROKER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/config.h"

struct sk_provider;

/* Process-wide state, set up once at start-up and read-only afterwards. */
struct sk_app {
	struct sk_config *cfg;
	struct sk_provider **providers; /* parallel to cfg->providers */
	char *session_cookie;		/* "__Host-sekisho" or "sekisho" */
	char *state_cookie;		/* "__Host-sekisho_login" or ... */
	bool tokens;			/* signing keys configured */
};
extern struct sk_app sk_app;

/* One HTTP request as the handlers see it. Owned by server.c. */
struct sk_req {
	void *conn; /* struct MHD_Connection * */
	const char *method;
	const char *path; /* without the query string */
	const char *body; /* NUL-terminated; NULL when there was none */
	size_t body_len;
	char client_ip[64];
	char request_id[24];
	const struct sk_tenant_conf *tenant; /* resolved from Host; may be NULL */
	int route;			     /* index into the route table */
};

#define SK_RESP_MAX_HEADERS 16

/* The answer being built. Strings are owned (freed by server.c). */
struct sk_resp {
	int status;
	char *content_type;
	char *body;
	size_t body_len;
	struct {
		char *name;
		char *value;
	} hdr[SK_RESP_MAX_HEADERS];
	size_t nhdr;
	bool oom;
};

/* Request accessors; returned strings live as long as the request. */
const char *sk_req_header(const struct sk_req *req, const char *name);
/* Query parameter, decoded. NULL when absent; *dup true if given twice. */
const char *sk_req_query(const struct sk_req *req, const char *name,
			 bool *dup);
const char *sk_req_cookie(const struct sk_req *req, const char *name);
/* The request's host (Host header, lowercased, port kept); "" if none. */
const char *sk_req_host(const struct sk_req *req);

/* Response builders. Each copies its arguments. */
void sk_resp_header(struct sk_resp *resp, const char *name, const char *value);
void sk_resp_body(struct sk_resp *resp, int status, const char *content_type,
		  const char *body, size_t len);
/* Takes ownership of body (free()). */
void sk_resp_body_take(struct sk_resp *resp, int status,
		       const char *content_type, char *body, size_t len);
/* JSON error {"error","error_description"} for API paths. */
void sk_resp_json_error(struct sk_resp *resp, int status, const char *error,
			const char *description);
/* A readable HTML page for browser paths; text is escaped here. */
void sk_resp_page(struct sk_resp *resp, int status, const char *title,
		  const char *message);
/* The 503 page for a browser path when Redis cannot answer. */
void sk_resp_store_down(struct sk_resp *resp);
/* 302 to url (which must already be validated). */
void sk_resp_redirect(struct sk_resp *resp, const char *url);
/*
 * Set-Cookie with HttpOnly, SameSite=Lax, Path=/ and, when cookie.secure,
 * Secure. max_age < 0: session cookie; 0: delete.
 */
void sk_resp_cookie(struct sk_resp *resp, const char *name, const char *value,
		    int64_t max_age);

/* Endpoint handlers (one file per family). */
typedef void sk_handler_fn(struct sk_req *req, struct sk_resp *resp);
sk_handler_fn sk_handle_healthz, sk_handle_readyz, sk_handle_metrics;
sk_handler_fn sk_handle_login, sk_handle_login_provider, sk_handle_callback;
sk_handler_fn sk_handle_logout, sk_handle_verify, sk_handle_home;
sk_handler_fn sk_handle_mfa, sk_handle_mfa_enroll, sk_handle_mfa_recovery;

/* Tenant for a Host value: exact hostname (with or without port), else the
 * catch-all tenant (the one with no hostnames), else NULL. */
const struct sk_tenant_conf *sk_tenant_for_host(const struct sk_config *cfg,
						const char *host);

/*
 * The base URL (scheme://host[:port][/path], no trailing slash) at which a
 * tenant's browsers sign in: public_url with the host replaced by the
 * request's host (one of the tenant's hostnames), or public_url itself for
 * the catch-all tenant. Provider callbacks are {base}/callback/{provider}.
 */
void sk_tenant_base(const struct sk_config *cfg, const struct sk_tenant_conf *t,
		    const char *host, char *out, size_t len);

/*
 * Validates a post-login redirect target. Accepts a path on this site
 * ("/x", not "//x" nor "/\x") or an absolute http(s) URL whose host is in
 * allowed_redirect_hosts. Returns 0 when acceptable.
 */
int sk_redirect_check(const struct sk_config *cfg, const char *rd);

/*
 * Formats a Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when
 * secure; max_age < 0: session cookie, 0: delete. Name and value must be
 * tokens ([A-Za-z0-9_-]; value may be empty). *out newly allocated.
 */
int sk_cookie_format(const char *name, const char *value, bool secure,
		     int64_t max_age, char **out);

/*
 * True when the browser's binding cookie matches the hash kept with a
 * pending sign-in (constant time; NULL or malformed never matches).
 */
bool sk_loginstate_bound(const char *cookie_value, const char *stored_hash);

/*
 * Cross-site protection for state-changing POSTs (logout, MFA forms): the
 * browser's Sec-Fetch-Site decides when present; else an Origin must be
 * ours; a client that sends neither is not a browser (SameSite=Lax cookies
 * still keep cross-site requests anonymous).
 */
bool sk_req_same_origin(struct sk_req *req);


/* Server life cycle (server.c). */
int sk_server_start(void);
/* Stops accepting, waits up to grace_ms for in-flight requests, stops. */
void sk_server_stop(int64_t grace_ms);

/*
 * Requests that call an identity provider (docs/design.md, "Upstream
 * calls"). A route whose handler may reach a provider has a function of
 * this type (listed in server.c): it says which provider this request
 * would call, as an index into sk_app.providers, or -1 when the request
 * is answered without one. server.c then runs the handler on the upstream
 * pool instead of the HTTP worker (the connection waits suspended), or
 * answers 503 when that provider or the pool is busy. It runs on the HTTP
 * worker: it must not block (no network, no Redis).
 */
typedef int sk_route_upstream_fn(struct sk_req *req);
sk_route_upstream_fn sk_login_provider_upstream, sk_callback_upstream;

/*
 * The upstream pool (upstream.c). A job runs once on a pool thread; late:
 * it waited in the queue past its provider's http_timeout and must answer
 * without calling the provider.
 */
typedef void sk_upstream_job_fn(void *arg, bool late);
/* Starts http.upstream_threads threads; sized from sk_app.cfg. */
int sk_upstream_start(void);
/*
 * Queues fn(arg) for a pool thread, counted against the provider's
 * max_concurrent and the pool's upstream_queue. Returns 0 (fn will run
 * once), or SK_ERR_DENIED when a bound is reached or the pool is closed,
 * SK_ERR_NOMEM: then nothing is queued and the caller keeps arg.
 */
int sk_upstream_submit(int provider, sk_upstream_job_fn *fn, void *arg);
/* Refuses new jobs from now on (shutdown); admitted ones still run. */
void sk_upstream_close(void);
/* True while a job is queued, or running (until its fn has returned). */
bool sk_upstream_busy(void);
/* Closes, runs what is queued, joins the threads. Accepts a pool never
 * started. */
void sk_upstream_stop(void);
/* Per-provider gauges and counters for /metrics. */
struct sk_buf;
void sk_upstream_metrics(struct sk_buf *b);

/* Metrics (metrics.c). */
enum sk_metric_event {
	SK_M_LOGIN_OK = 0,
	SK_M_LOGIN_FAIL,
	SK_M__COUNT
};
void sk_metrics_request(int route, int status, int64_t duration_us);
void sk_metrics_event(enum sk_metric_event ev);
/* Prometheus text; *out newly allocated (free()). */
int sk_metrics_render(char **out);

/* Route table (server.c) for metrics labels. */
const char *sk_route_name(int route);
int sk_route_count(void);

#endif

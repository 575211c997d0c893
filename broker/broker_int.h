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
#include "sekisho/web.h" /* N_() */

struct sk_provider;

/* Process-wide state, set up once at start-up and read-only afterwards. */
struct sk_daemon {
	struct sk_config *cfg;
	struct sk_provider **providers; /* parallel to cfg->providers */
	char *session_cookie;		/* "__Host-sekisho" or "sekisho" */
	char *state_cookie;		/* "__Host-sekisho_login" or ... */
	bool tokens;			/* signing keys configured */
	/* Session cookie name per tenant (parallel to cfg->tenants): the
	 * global one, or "__Secure-sekisho-{id}" under a cookie_domain. */
	char **tenant_cookies;
};
extern struct sk_daemon sk_daemon;

/*
 * The shape of a route's answers, errors included (answer.c): a page for
 * a browser, JSON for an API client, or, for forward-auth, the status
 * that the proxy acts on (its JSON body is for people reading logs).
 */
enum sk_answer_kind {
	SK_ANSWER_JSON = 0,
	SK_ANSWER_PAGE,
	SK_ANSWER_FWD,
};
#define SK_ANSWER__COUNT 3

struct sk_session;
struct sk_route_needs;

/* One HTTP request as the handlers see it. Owned by server.c. */
struct sk_req {
	void *conn; /* struct MHD_Connection * */
	const char *method;
	const char *path; /* without the query string */
	const char *body; /* NUL-terminated; NULL when there was none */
	size_t body_len;
	char client_ip[64];
	char request_id[24];
	const struct sk_tenant_conf
	    *tenant; /* resolved from Host; may be NULL */
	int route;   /* index into the route table */
	/* What the route declares (pipeline_int.h); NULL before routing. */
	const struct sk_route_needs *needs;
	enum sk_answer_kind answer; /* as the route declares (pipeline.c) */
	/*
	 * The session of the request's cookie, for routes that declare one
	 * (pipeline.c); owned by the request until a handler takes it with
	 * sk_req_session(). session_err: 0, or why there is none.
	 */
	struct sk_session *session;
	char *sid;
	int session_err;
	void *ctx; /* server.c's per-request state */
};

/*
 * Sign-in and second-factor log lines name the client and the request, so
 * they join the access log and an operator can act on an address:
 *   sk_info("sign-in: ..." SK_REQ_FMT, ..., SK_REQ_ARGS(req));
 */
#define SK_REQ_FMT " (ip %s, request_id %s)"
#define SK_REQ_ARGS(req) (req)->client_ip, (req)->request_id

#define SK_RESP_MAX_HEADERS 16

/*
 * What a page needs to know of its request (broker/page.c): filled by
 * server.c once the tenant is known, copied with the response to the
 * upstream pool. tenant lives until sk_pipeline_done().
 */
struct sk_page_ctx {
	char lang[3];			     /* "ja", "en"; "" before set */
	const struct sk_tenant_conf *tenant; /* may be NULL */
	char request_id[24];
	char here[1024]; /* this page again (path and query), "" if too long */
};

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
	struct sk_page_ctx page;
};

/* Request accessors; returned strings live as long as the request. */
const char *sk_req_header(const struct sk_req *req, const char *name);
/* Query parameter, decoded. NULL when absent; *dup true if given twice. */
const char *sk_req_query(const struct sk_req *req, const char *name, bool *dup);
/* Whether the query names the parameter at all, with or without a value. */
bool sk_req_has_query(const struct sk_req *req, const char *name);
/*
 * A cookie's value from the raw Cookie header(s), the name matched
 * exactly (case-sensitive: "__HOST-x" is not "__Host-x"). NULL when
 * absent or when the request carries it twice with different values
 * (cookie tossing from a sibling domain): see sk_cookie_scan().
 */
const char *sk_req_cookie(const struct sk_req *req, const char *name);
/* True when the request carries cookie name twice with different values
 * (a sibling domain tossed one in), or it could not be read. */
bool sk_req_cookie_ambiguous(const struct sk_req *req, const char *name);
/* The request's host (Host header normalised by sk_host_normalize():
 * lowercased, one trailing dot removed, port kept); "" if none. */
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
/* The error page for browser paths (page.c): title and message are
 * msgids, shown in the request's language. */
void sk_resp_page(struct sk_resp *resp, int status, const char *title,
		  const char *message);
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
sk_handler_fn sk_handle_mfa, sk_handle_mfa_enrol, sk_handle_mfa_recovery;
sk_handler_fn sk_handle_account, sk_handle_account_post;
sk_handler_fn sk_handle_static, sk_handle_lang;

/*
 * The request's query string as received (still percent-encoded, without
 * "?") into out; "" when there is none or it does not fit (server.c).
 */
void sk_req_query_string(const struct sk_req *req, char *out, size_t len);

/*
 * Tenant for a Host value (normalised first; NULL if malformed): the tenant
 * listing "host:port" exactly, else one listing the host alone; else, for
 * public_url's host (any port), the catch-all tenant (the one with no
 * hostnames); else the catch-all unless cfg->strict_hosts; else NULL.
 */
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
/* The same with Domain=domain when domain is not NULL. */
int sk_cookie_format_domain(const char *name, const char *value,
			    const char *domain, bool secure, int64_t max_age,
			    char **out);

/*
 * Validates rd for a request of tenant t (may be NULL): as
 * sk_redirect_check(), and also an http(s) URL naming one of t's
 * hostnames (its own hosts serve Sekisho), or whose host (any port) is
 * t's cookie_domain or a name under it. Returns 0 when acceptable.
 */
int sk_redirect_check_tenant(const struct sk_config *cfg,
			     const struct sk_tenant_conf *t, const char *rd);

/*
 * The session cookie's name for tenant t (NULL: the global name). Every
 * read and write of the session cookie goes through this and
 * sk_resp_session_cookie(). Lives as long as sk_daemon.
 */
const char *sk_session_cookie_name(const struct sk_tenant_conf *t);

/* Sets (max_age > 0) or deletes (0) t's session cookie, with t's
 * cookie_domain as Domain when it has one. */
void sk_resp_session_cookie(struct sk_resp *resp,
			    const struct sk_tenant_conf *t, const char *value,
			    int64_t max_age);

/*
 * Sekisho's path prefix on every host: the path of public_url ("" when
 * it has none, else e.g. "/sekisho"). Links and redirects to Sekisho's
 * own pages start with it; requests may come with or without it.
 */
const char *sk_path_prefix(const struct sk_config *cfg);

/*
 * Where a browser of tenant t signs in (no trailing slash): with a
 * cookie_domain, the base on the tenant's first hostname (its login
 * host, whose callbacks are registered); otherwise sk_tenant_base() for
 * the request's host.
 */
void sk_tenant_login_base(const struct sk_config *cfg,
			  const struct sk_tenant_conf *t, const char *host,
			  char *out, size_t len);

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

/*
 * Checks a Host header value strictly and normalises it into out: reg-name
 * (labels of letters, digits, '-' and '_'), IPv4 or [IPv6], then an
 * optional ":port" (1-65535); lowercased, one trailing dot removed. No
 * userinfo, path, spaces or empty labels. *hostlen (if not NULL) is the
 * length of the host part without the port. Returns 0 or SK_ERR_INVALID.
 */
int sk_host_normalize(const char *in, char *out, size_t outlen,
		      size_t *hostlen);

struct sk_ipset;
/*
 * The client address of a request whose TCP peer is peer: the peer itself
 * unless it is in trusted; then list (all lines of X-Forwarded-For, or of
 * Forwarded when forwarded, joined by ",") is read right to left, skipping
 * trusted entries, and the first untrusted one is the client. A malformed
 * entry, or the list running out, stops at the last trusted hop. All
 * addresses are 16 bytes (IPv4 as ::ffff:a.b.c.d).
 */
void sk_forwarded_client(const struct sk_ipset *trusted,
			 const unsigned char peer[16], const char *list,
			 bool forwarded, unsigned char out[16]);

/*
 * Finds cookie name in one Cookie header value ("a=1; b=2"), names compared
 * exactly. *val (and *vlen) point into header. Several headers are scanned
 * in turn with the same val/vlen: *val non-NULL on entry is the value found
 * so far. Returns 0 (found, or not found with *val left NULL) or
 * SK_ERR_INVALID when the cookie appears with two different values.
 */
int sk_cookie_scan(const char *header, const char *name, const char **val,
		   size_t *vlen);

/* Slow-client guard (connguard.c), fed by server.c. */
struct sk_conn;
/* Starts the watchdog; exempt (trusted proxies) must outlive it. */
int sk_connguard_start(int64_t max_conns, int64_t per_ip, int64_t timeout_s,
		       int64_t idle_s, const struct sk_ipset *exempt);
void sk_connguard_stop(void);
/* False when ip (an IPv6 address: its /64) already holds
 * http.max_connections_per_ip connections. */
bool sk_connguard_admit(const unsigned char ip[16]);
/* A new connection (its request deadline starts); NULL on no memory. */
struct sk_conn *sk_connguard_open(const unsigned char ip[16], int fd);
/* The connection is closing (before its descriptor is); clears *c. */
void sk_connguard_close(struct sk_conn **c);
/* Request head received / whole request received / answer sent. */
void sk_connguard_head_done(struct sk_conn *c);
void sk_connguard_received(struct sk_conn *c);
void sk_connguard_answered(struct sk_conn *c);

/* Server life cycle (server.c). */
int sk_server_start(void);
/* Stops accepting, waits up to grace_ms for in-flight requests, stops. */
void sk_server_stop(int64_t grace_ms);

/*
 * Requests that call an identity provider (docs/design.md, "Upstream
 * calls"). A route whose handler may reach a provider has a function of
 * this type (listed in server.c): it says which provider this request
 * would call, as an index into sk_daemon.providers, or -1 when the request
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
/* Starts http.upstream_threads threads; sized from sk_daemon.cfg. */
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
/* Sizes the per-route counters; call once before serving. */
int sk_metrics_init(int nroutes);
void sk_metrics_request(int route, int status, int64_t duration_us);
void sk_metrics_event(enum sk_metric_event ev);
/* Prometheus text; *out newly allocated (free()). */
int sk_metrics_render(char **out);

/* Route table (server.c) for metrics labels. */
const char *sk_route_name(int route);
int sk_route_count(void);

#endif

/*
 * The HTTP layer: libmicrohttpd with epoll and an internal thread pool.
 * This is the only file that includes <microhttpd.h>. It bounds every
 * input (header memory, body size, connections, idle time), routes a
 * request to exactly one handler, adds the security headers every answer
 * carries, and writes one JSON access-log line per request.
 */
#include "admin_int.h"
#include "answer_int.h"
#include "broker_int.h"
#include "console_int.h"
#include "oauth_int.h"
#include "page_int.h"
#include "pipeline_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/log.h"
#include "sekisho/policy_store.h"
#include "sekisho/provider.h"
#include "sekisho/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
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

enum match {
	EXACT,
	PREFIX
};

struct route {
	const char *name;
	const char *method; /* "GET", "POST" */
	const char *path;
	enum match match;
	struct sk_route_needs needs; /* checked by sk_pipeline() */
	sk_handler_fn *fn;
};

/* Needs, in the order of struct sk_route_needs. */
#define T_OPT SK_TENANT_OPTIONAL
#define T_REQ SK_TENANT_REQUIRED
#define S_NONE SK_SESSION_NONE
#define S_IN SK_SESSION_SIGNED_IN
#define S_PENDING SK_SESSION_PENDING
#define JSON SK_ANSWER_JSON
#define PAGE SK_ANSWER_PAGE
#define FWD SK_ANSWER_FWD
#define L_CONN SK_LIMIT_CONN
#define L_LOGIN (SK_LIMIT_CONN | SK_LIMIT_PENDING_LOGIN | SK_LIMIT_LOCKOUT)
#define L_IP SK_LIMIT_IP
#define L_METRICS SK_LIMIT_METRICS
#define L_CLIENT SK_LIMIT_CLIENT
#define L_LOCK SK_LIMIT_LOCKOUT
#define R_NONE SK_RATE_NONE
#define R_LOGIN SK_RATE_LOGIN
#define R_MFA SK_RATE_MFA
#define R_OAUTH SK_RATE_OAUTH
#define R_ADMIN SK_RATE_ADMIN
#define ADMIN_ROUTE(name, method)                                              \
	{                                                                      \
		name, method, "/admin/v1/", PREFIX,                            \
		    {T_OPT, S_NONE, JSON, L_CONN, R_ADMIN}, sk_handle_admin    \
	}

/*
 * /oauth2/authorize and its consent POST look their session up
 * themselves, after checking the client (a store failure then goes back
 * to the app as temporarily_unavailable, RFC 6749 4.1.2.1) and the form's
 * origin (a cross-site POST is refused before anything is read).
 */
static const struct route routes[] = {
    {"healthz",
     "GET",
     "/healthz",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN, R_NONE},
     sk_handle_healthz},
    {"readyz",
     "GET",
     "/readyz",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN, R_NONE},
     sk_handle_readyz},
    {"metrics",
     "GET",
     "/metrics",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN | L_METRICS, R_NONE},
     sk_handle_metrics},
    {"verify",
     "GET",
     "/auth/verify",
     EXACT,
     {T_OPT, S_IN, FWD, L_CONN | L_IP, R_NONE},
     sk_handle_verify},
    {"home",
     "GET",
     "/",
     EXACT,
     {T_REQ, S_IN, PAGE, L_CONN | L_IP, R_NONE},
     sk_handle_home},
    {"static",
     "GET",
     "/static/",
     PREFIX,
     {T_OPT, S_NONE, PAGE, L_CONN, R_NONE},
     sk_handle_static},
    {"lang",
     "GET",
     "/lang",
     EXACT,
     {T_OPT, S_NONE, PAGE, L_CONN, R_NONE},
     sk_handle_lang},
    {"login",
     "GET",
     "/login",
     EXACT,
     {T_REQ, S_NONE, PAGE, L_CONN | L_IP | L_LOCK, R_LOGIN},
     sk_handle_login},
    {"login_provider",
     "GET",
     "/login/",
     PREFIX,
     {T_REQ, S_NONE, PAGE, L_LOGIN | L_IP, R_LOGIN},
     sk_handle_login_provider},
    {"callback",
     "GET",
     "/callback/",
     PREFIX,
     {T_REQ, S_NONE, PAGE, L_CONN | L_IP | L_LOCK, R_LOGIN},
     sk_handle_callback},
    {"jwks",
     "GET",
     "/jwks.json",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN, R_NONE},
     sk_handle_jwks},
    {"discovery",
     "GET",
     "/.well-known/openid-configuration",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN, R_NONE},
     sk_handle_discovery},
    {"introspect",
     "POST",
     "/oauth2/introspect",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN | L_CLIENT | L_LOCK, R_NONE},
     sk_handle_introspect},
    {"revoke",
     "POST",
     "/oauth2/revoke",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN | L_CLIENT | L_LOCK, R_NONE},
     sk_handle_revoke},
    {"token",
     "POST",
     "/oauth2/token",
     EXACT,
     {T_OPT, S_NONE, JSON, L_CONN | L_CLIENT | L_LOCK, R_OAUTH},
     sk_handle_token},
    {"authorize",
     "GET",
     "/oauth2/authorize",
     EXACT,
     {T_REQ, S_NONE, PAGE, L_CONN | L_IP, R_OAUTH},
     sk_handle_authorize},
    {"authorize_consent",
     "POST",
     "/oauth2/authorize",
     EXACT,
     {T_REQ, S_NONE, PAGE, L_CONN | L_IP, R_OAUTH},
     sk_handle_authorize_consent},
    {"logout",
     "POST",
     "/logout",
     EXACT,
     {T_REQ, S_NONE, PAGE, L_CONN, R_NONE},
     sk_handle_logout},
    {"logout_page",
     "GET",
     "/logout",
     EXACT,
     {T_REQ, S_NONE, PAGE, L_CONN, R_NONE},
     sk_handle_logout},
    {"mfa",
     "GET",
     "/mfa",
     EXACT,
     {T_REQ, S_PENDING, PAGE, L_CONN | L_IP | L_LOCK, R_MFA},
     sk_handle_mfa},
    {"mfa_submit",
     "POST",
     "/mfa",
     EXACT,
     {T_REQ, S_PENDING, PAGE, L_CONN | L_IP | L_LOCK, R_MFA},
     sk_handle_mfa},
    {"mfa_enroll",
     "GET",
     "/mfa/enroll",
     EXACT,
     {T_REQ, S_PENDING, PAGE, L_CONN | L_IP, R_MFA},
     sk_handle_mfa_enrol},
    {"mfa_enroll_submit",
     "POST",
     "/mfa/enroll",
     EXACT,
     {T_REQ, S_PENDING, PAGE, L_CONN | L_IP, R_MFA},
     sk_handle_mfa_enrol},
    {"mfa_recovery",
     "GET",
     "/mfa/recovery",
     EXACT,
     {T_REQ, S_PENDING, PAGE, L_CONN | L_IP, R_MFA},
     sk_handle_mfa_recovery},
    {"mfa_recovery_submit",
     "POST",
     "/mfa/recovery",
     EXACT,
     {T_REQ, S_PENDING, PAGE, L_CONN | L_IP, R_MFA},
     sk_handle_mfa_recovery},
    /* The admin API (admin.c): the tenant is the path's, never the
     * Host's; the caller is authenticated there. */
    ADMIN_ROUTE("admin_get", "GET"),
    ADMIN_ROUTE("admin_put", "PUT"),
    ADMIN_ROUTE("admin_patch", "PATCH"),
    ADMIN_ROUTE("admin_post", "POST"),
    ADMIN_ROUTE("admin_delete", "DELETE"),
    /* The console (console.c): after the admin API's routes, so that
     * /admin/v1/... is always the API's; its own gate in the handler. */
    {"console",
     "GET",
     "/admin",
     EXACT,
     {T_REQ, S_IN, PAGE, L_CONN | L_IP, R_ADMIN},
     sk_handle_console},
    {"console_section",
     "GET",
     "/admin/",
     PREFIX,
     {T_REQ, S_IN, PAGE, L_CONN | L_IP, R_ADMIN},
     sk_handle_console},
    {"console_post",
     "POST",
     "/admin/",
     PREFIX,
     {T_REQ, S_IN, PAGE, L_CONN | L_IP, R_ADMIN},
     sk_handle_console},
};
#undef ADMIN_ROUTE
#undef T_OPT
#undef T_REQ
#undef S_NONE
#undef S_IN
#undef S_PENDING
#undef JSON
#undef PAGE
#undef FWD
#undef L_CONN
#undef L_LOGIN
#undef L_IP
#undef L_METRICS
#undef L_CLIENT
#undef R_NONE
#undef R_LOGIN
#undef R_MFA
#undef R_OAUTH
#undef R_ADMIN
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
	bool too_large;	    /* refuse_upload() sent a 413 */
	int64_t refused_us; /* ... at this time */
	char host[264];	    /* normalised Host (sk_host_normalize) */
	struct {
		char *name, *value; /* value NULL: absent or ambiguous */
		bool ambiguous;
	} cookie[4]; /* sk_req_cookie() answers, owned, wiped at the end */
	struct upjob *job; /* on the upstream pool; see run_route() */
};

static struct MHD_Daemon *daemon_h;
static struct sk_ipset *trusted; /* http.trusted_proxies */

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

/*
 * Request ids: 64 bits of OpenSSL's CSPRNG (its per-thread DRBG, seeded
 * from getrandom) taken from a per-thread block refilled every
 * RID_BLOCK / 8 requests, so there is neither a syscall nor a lock per
 * request, and an id says nothing about the ids before or after it.
 */
#define RID_BLOCK 512
static __thread unsigned char rid_block[RID_BLOCK];
static __thread size_t rid_used = RID_BLOCK;
static __thread uint64_t rid_fallback;

static void
make_request_id(char out[24])
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b;
	unsigned char one[8];
	uint64_t v;
	size_t i;

	if (rid_used == RID_BLOCK &&
	    sk_random_bytes(rid_block, sizeof(rid_block)) == 0)
		rid_used = 0;
	if (rid_used < RID_BLOCK) {
		b = rid_block + rid_used;
		rid_used += 8;
	} else {
		/* No randomness: still distinct ids, which is all a
		   correlation id needs; the next request tries again. */
		v = (uint64_t)sk_monotonic_us() ^ ++rid_fallback << 48;
		for (i = 0; i < 8; i++)
			one[i] = (unsigned char)(v >> (56 - 8 * i));
		b = one;
	}
	for (i = 0; i < 8; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0xf];
	}
	out[16] = '\0';
}

const char *
sk_req_header(const struct sk_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
add_size(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
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
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_size,
				  &total);
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

bool
sk_req_has_query(const struct sk_req *req, const char *name)
{
	const char *v = NULL;
	size_t vlen = 0;

	/* "?rd" (Caddy's rewrite drops the '=' of "?rd=") counts too. */
	return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND,
					     name, strlen(name), &v,
					     &vlen) == MHD_YES;
}

struct qs_ctx {
	struct sk_buf b;
};

static enum MHD_Result
add_qs(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct qs_ctx *q = cls;

	(void)kind;
	if (key == NULL)
		return MHD_YES;
	if (q->b.len > 0)
		sk_buf_adds(&q->b, "&");
	sk_buf_add_urlenc(&q->b, key);
	if (value != NULL) {
		sk_buf_adds(&q->b, "=");
		sk_buf_add_urlenc(&q->b, value);
	}
	return MHD_YES;
}

void
sk_req_query_string(const struct sk_req *req, char *out, size_t len)
{
	struct qs_ctx q;

	out[0] = '\0';
	if (req->conn == NULL)
		return;
	sk_buf_init(&q.b);
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_qs, &q);
	if (!q.b.oom && q.b.len > 0 && q.b.len < len) {
		memcpy(out, q.b.data, q.b.len);
		out[q.b.len] = '\0';
	}
	sk_buf_free(&q.b);
}

/* Every line of one header, in order: count, first value, any different. */
struct hdr_ctx {
	const char *name;
	int n;
	const char *first;
	bool differ;
	const char *cookie; /* set: scan Cookie lines for this name */
	const char *val;
	size_t vlen;
	bool ambiguous;
	struct sk_buf *join; /* set: every value, joined with "," */
};

static enum MHD_Result
hdr_scan(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdr_ctx *h = cls;

	(void)kind;
	if (key == NULL || value == NULL || strcasecmp(key, h->name) != 0)
		return MHD_YES;
	if (h->n++ == 0)
		h->first = value;
	else if (strcmp(h->first, value) != 0)
		h->differ = true;
	if (h->cookie != NULL &&
	    sk_cookie_scan(value, h->cookie, &h->val, &h->vlen) != 0)
		h->ambiguous = true;
	if (h->join != NULL) {
		if (h->n > 1)
			sk_buf_adds(h->join, ",");
		sk_buf_adds(h->join, value);
	}
	return MHD_YES;
}

static struct hdr_ctx
hdr_lines(struct MHD_Connection *conn, const char *name, const char *cookie,
	  struct sk_buf *join)
{
	struct hdr_ctx h = {.name = name, .cookie = cookie, .join = join};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, hdr_scan, &h);
	return h;
}

/*
 * From the raw Cookie lines, not libmicrohttpd's cookie table: that one
 * matches names case-insensitively and keeps the first of duplicates.
 */
static int
cookie_lookup(const struct sk_req *req, const char *name)
{
	struct reqctx *rc = req->ctx;
	struct hdr_ctx h;
	size_t i;

	if (rc == NULL)
		return -1;
	for (i = 0; i < SK_ARRAY_SIZE(rc->cookie); i++) {
		if (rc->cookie[i].name == NULL)
			break;
		if (strcmp(rc->cookie[i].name, name) == 0)
			return (int)i;
	}
	if (i == SK_ARRAY_SIZE(rc->cookie))
		return -1; /* a bug: more names than callers use */
	h = hdr_lines(req->conn, MHD_HTTP_HEADER_COOKIE, name, NULL);
	if ((rc->cookie[i].name = strdup(name)) == NULL)
		return -1;
	rc->cookie[i].ambiguous = h.ambiguous;
	if (h.val != NULL && !h.ambiguous &&
	    (rc->cookie[i].value = strndup(h.val, h.vlen)) == NULL)
		rc->cookie[i].ambiguous = true; /* fail closed */
	return (int)i;
}

const char *
sk_req_cookie(const struct sk_req *req, const char *name)
{
	int i = cookie_lookup(req, name);

	return i < 0 ? NULL : ((struct reqctx *)req->ctx)->cookie[i].value;
}

bool
sk_req_cookie_ambiguous(const struct sk_req *req, const char *name)
{
	int i = cookie_lookup(req, name);

	return i < 0 || ((struct reqctx *)req->ctx)->cookie[i].ambiguous;
}

const char *
sk_req_host(const struct sk_req *req)
{
	/* X-Forwarded-Host is never read: a client could pick the tenant. */
	return req->ctx != NULL ? ((struct reqctx *)req->ctx)->host : "";
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
	sk_freezero(resp->body,
		    resp->body_len); /* a replaced body may hold secrets */
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

/* A JSON string of s (NULL: ""), invalid UTF-8 as U+FFFD; NULL on no
 * memory. */
static json_t *
json_text(const char *s)
{
	char buf[1024];
	size_t n, used;
	json_t *j;

	if (s == NULL)
		s = "";
	if ((j = json_string(s)) != NULL)
		return j;
	n = sk_utf8_scrub(s, strlen(s), buf, sizeof(buf), &used);
	return json_stringn(buf, n);
}

void
sk_resp_json_error(struct sk_resp *resp, int status, const char *error,
		   const char *description)
{
	json_t *o;
	char *j = NULL, *s = NULL;
	struct sk_buf b;

	/* {"error":...,"error_description":...} in this order, then "\n". */
	if ((o = json_object()) != NULL &&
	    json_object_set_new(o, "error", json_text(error)) == 0 &&
	    json_object_set_new(o, "error_description",
				json_text(description)) == 0)
		j = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (j == NULL) {
		resp->oom = true;
		return;
	}
	sk_buf_init(&b);
	sk_buf_adds(&b, j);
	sk_buf_adds(&b, "\n");
	free(j);
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
	sk_page_error(resp, status, title, message, NULL);
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

	if (sk_cookie_format(name, value, sk_daemon.cfg->cookie.secure, max_age,
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

/* A socket address as 16 bytes (IPv4 mapped); false if not IP. */
static bool
sockaddr_ip(const struct sockaddr *sa, unsigned char ip[SK_IP_LEN])
{
	if (sa != NULL && sa->sa_family == AF_INET) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/*
 * The TCP peer; behind a proxy in http.trusted_proxies, the client it
 * names (sk_forwarded_client). X-Real-IP and headers from any other peer
 * are client-controlled and never read.
 */
static void
client_ip(struct MHD_Connection *conn, struct sk_req *req)
{
	const union MHD_ConnectionInfo *ci;
	unsigned char peer[SK_IP_LEN], ip[SK_IP_LEN];
	struct sk_buf list;
	bool fwd;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || !sockaddr_ip(ci->client_addr, peer)) {
		if (ci != NULL && ci->client_addr != NULL &&
		    ci->client_addr->sa_family == AF_UNIX)
			memcpy(req->client_ip, "unix", sizeof("unix"));
		else
			memcpy(req->client_ip, "unknown", sizeof("unknown"));
		return;
	}
	memcpy(ip, peer, SK_IP_LEN);
	if (sk_ipset_contains(trusted, peer)) {
		fwd = strcmp(sk_daemon.cfg->http.forwarded_header,
			     "forwarded") == 0;
		sk_buf_init(&list);
		(void)hdr_lines(conn, fwd ? "Forwarded" : "X-Forwarded-For",
				NULL, &list);
		if (!list.oom && list.data != NULL)
			sk_forwarded_client(trusted, peer, list.data, fwd, ip);
		sk_buf_free(&list);
	}
	sk_ip_format(ip, req->client_ip);
}

/*
 * A path under public_url's path ("/sekisho/login") is the same as the
 * bare one: a proxy may route a prefix of every app host here as it is,
 * or strip it. The bare paths stay for auth_request and health checks.
 */
static const char *
unprefixed(const char *url)
{
	const char *pfx = sk_path_prefix(sk_daemon.cfg);
	size_t n = strlen(pfx);

	if (n == 0 || strncmp(url, pfx, n) != 0)
		return url;
	if (url[n] == '/')
		return url + n;
	return url[n] == '\0' ? "/" : url;
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
	/* Browsers that once reached us over https never fall back to http
	   (a year; no includeSubDomains: other hosts are not ours). */
	if (strncmp(sk_daemon.cfg->public_url, "https://", 8) == 0)
		MHD_add_response_header(r, "Strict-Transport-Security",
					"max-age=31536000");
	if (ctype != NULL && strncmp(ctype, "text/html", 9) == 0)
		MHD_add_response_header(
		    r, "Content-Security-Policy",
		    /* Our stylesheet and script only (no inline code);
		       a tenant's logo may be any https image. */
		    "default-src 'none'; style-src 'self'; "
		    "img-src 'self' data: https:; script-src 'self'; "
		    "form-action 'self'; frame-ancestors 'none'; "
		    "base-uri 'none'");
}

static bool
has_header(const struct sk_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nhdr; i++)
		if (resp->hdr[i].name &&
		    strcasecmp(resp->hdr[i].name, name) == 0)
			return true;
	return false;
}

static void
access_log(const struct sk_req *req, int status, int64_t dur_us)
{
	/* The path only: the query string may carry codes and state. */
	const struct sk_log_field f[] = {
	    SK_LOG_FIELD_STR("type", "access"),
	    SK_LOG_FIELD_STR("request_id", req->request_id),
	    SK_LOG_FIELD_STR("method", req->method),
	    SK_LOG_FIELD_STR("path", req->path),
	    SK_LOG_FIELD_INT("status", status),
	    SK_LOG_FIELD_MS("duration_ms", dur_us),
	    SK_LOG_FIELD_STR("client_ip", req->client_ip),
	};

	sk_log_access(f, SK_ARRAY_SIZE(f));
}

/* A response body handed to libmicrohttpd, wiped when it lets go. */
struct held_body {
	char *p;
	size_t len;
};

static void
body_release(void *cls)
{
	struct held_body *h = cls;

	sk_freezero(h->p, h->len);
	free(h);
}

static enum MHD_Result
answer(struct MHD_Connection *conn, struct sk_req *req, struct sk_resp *resp,
       enum sk_answer_kind kind)
{
	struct held_body *held;
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	if (resp->oom || resp->status == 0) {
		resp_clear(resp);
		sk_resp_error(resp, kind, SK_ERR_INTERNAL, NULL);
		if (resp->oom)
			return MHD_NO; /* even the error page failed */
	}
	/*
	 * Hand the body over instead of letting libmicrohttpd copy it: the
	 * copy would be freed unwiped, and bodies carry TOTP seeds, QR codes,
	 * recovery codes and tokens. body_release wipes it once sent.
	 */
	if ((held = malloc(sizeof(*held))) == NULL)
		return MHD_NO;
	held->p = resp->body;
	held->len = resp->body_len;
	r = MHD_create_response_from_buffer_with_free_callback_cls(
	    resp->body_len, resp->body, body_release, held);
	if (r == NULL) {
		free(held);
		return MHD_NO;
	}
	resp->body = NULL; /* now libmicrohttpd's, until body_release */
	resp->body_len = 0;
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

/* ---- refusals before or instead of a handler ---- */

static struct sk_conn *
conn_guard(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

/*
 * Request shapes refused from the head alone, before any body is read
 * (RFC 9112 6.1-6.3: both framings at once, or conflicting lengths, are
 * how requests are smuggled past a proxy). 0 when fine.
 */
static int
head_refusal(struct MHD_Connection *conn, const char **why)
{
	struct hdr_ctx cl =
	    hdr_lines(conn, MHD_HTTP_HEADER_CONTENT_LENGTH, NULL, NULL);
	struct hdr_ctx te =
	    hdr_lines(conn, MHD_HTTP_HEADER_TRANSFER_ENCODING, NULL, NULL);
	const char *p;
	unsigned long long n = 0;

	if (te.n > 0 && cl.n > 0) {
		*why = "both Content-Length and Transfer-Encoding";
		return 400;
	}
	if (cl.differ) {
		*why = "conflicting Content-Length headers";
		return 400;
	}
	if (te.n > 1 || (te.n == 1 && strcasecmp(te.first, "chunked") != 0)) {
		*why = "unsupported Transfer-Encoding (only chunked)";
		return 400;
	}
	if (cl.n > 0) {
		for (p = cl.first; *p >= '0' && *p <= '9' && n <= UINT32_MAX;
		     p++)
			n = n * 10 + (unsigned long long)(*p - '0');
		if (p == cl.first || (*p != '\0' && n <= UINT32_MAX)) {
			*why = "malformed Content-Length";
			return 400;
		}
		/* Refused now, not after reading it all. */
		if (n >
		    (unsigned long long)sk_daemon.cfg->http.max_body_bytes) {
			*why = "request body too large";
			return 413;
		}
	}
	return 0;
}

/* The request as far as a refusal before the handler needs it. */
static void
early_req(struct MHD_Connection *conn, struct reqctx *rc, const char *method,
	  const char *url, struct sk_req *req)
{
	bool mismatch;

	memset(req, 0, sizeof(*req));
	req->conn = conn;
	req->method = method;
	req->path = url;
	req->ctx = rc;
	make_request_id(req->request_id);
	client_ip(conn, req);
	req->route = find_route(method, url, &mismatch);
}

static void
log_request(const struct sk_req *req, const struct reqctx *rc, int status)
{
	int64_t dur = sk_monotonic_us() - rc->start_us;

	access_log(req, status, dur);
	sk_metrics_request(req->route, status, dur);
}

/* Answers on the first call (headers only) and closes the connection. */
static enum MHD_Result
refuse_now(struct MHD_Connection *conn, struct reqctx *rc, const char *method,
	   const char *url, int status, const char *why)
{
	struct sk_req req;
	struct sk_resp resp;
	enum MHD_Result ret;

	early_req(conn, rc, method, url, &req);
	memset(&resp, 0, sizeof(resp));
	sk_resp_header(&resp, MHD_HTTP_HEADER_CONNECTION, "close");
	sk_resp_json_error(&resp, status, "invalid_request", why);
	ret = answer(conn, &req, &resp, false);
	log_request(&req, rc, resp.status);
	resp_clear(&resp);
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
		sk_req_error(&job->req, &job->resp, SK_ERR_TIMEOUT, NULL);
	}
	MHD_resume_connection(job->conn); /* job is the worker's from here */
}

static void
upjob_free(struct reqctx *rc)
{
	if (rc->job == NULL)
		return;
	sk_pipeline_done(&rc->job->req); /* again is harmless */
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
	job->resp.page = resp->page;
	/* The job's copy owns what the pipeline resolved from here on. */
	req->session = NULL;
	req->sid = NULL;
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
		sk_req_refuse(&job->req, &job->resp, SK_ERR_BUSY,
			      N_("Sign-in busy"),
			      N_("Too many sign-ins with this "
				 "provider are in progress right "
				 "now. Please try again in a "
				 "moment."));
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

	ret = answer(conn, &job->req, &job->resp, job->rt->needs.answer);
	log_request(&job->req, rc, job->resp.status);
	sk_pipeline_done(&job->req);
	upjob_free(rc);
	return ret;
}

/*
 * A chunked body passed http.max_body_bytes. libmicrohttpd cannot queue a
 * response while a body is arriving, and reading on to the end could take
 * gigabytes: write the 413 on the socket ourselves (this is the thread
 * that owns the connection, nothing else is being written) and end our
 * side; what still arrives is discarded for UPLOAD_LINGER_US, then the
 * connection is dropped (MHD_NO).
 */
#define UPLOAD_LINGER_US (2 * 1000 * 1000)
static enum MHD_Result
refuse_upload(struct MHD_Connection *conn, struct reqctx *rc,
	      const char *method, const char *url)
{
	static const char body[] = "{\"error\":\"invalid_request\","
				   "\"error_description\":\"request body too "
				   "large\"}\n";
	const union MHD_ConnectionInfo *ci;
	struct sk_req req;
	char msg[512];
	int n;

	rc->too_large = true;
	rc->refused_us = sk_monotonic_us();
	early_req(conn, rc, method, url, &req);
	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\n"
		     "Cache-Control: no-store\r\nX-Request-Id: %s\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     req.request_id, sizeof(body) - 1, body);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL && n > 0 && (size_t)n < sizeof(msg) &&
	    send(ci->connect_fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		n)
		shutdown(ci->connect_fd, SHUT_WR);
	log_request(&req, rc, 413);
	return MHD_YES;
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
	for (i = 0; i < sk_daemon.cfg->nproviders; i++)
		if (sk_daemon.cfg->providers[i].http_timeout > limit)
			limit = sk_daemon.cfg->providers[i].http_timeout;
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
	const char *why = NULL;
	int status;
	struct hdr_ctx host;

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
		sk_connguard_head_done(conn_guard(conn));
		if ((status = head_refusal(conn, &why)) != 0)
			return refuse_now(conn, rc, method, url, status, why);
		return MHD_YES;
	}
	if (rc->job != NULL)
		return upstream_answer(conn, rc); /* resumed by the pool */
	if (*upload_size > 0) {
		if (!rc->too_large &&
		    rc->body.len + *upload_size >
			(size_t)sk_daemon.cfg->http.max_body_bytes)
			return refuse_upload(conn, rc, method, url);
		if (!rc->too_large)
			sk_buf_add(&rc->body, upload, *upload_size);
		*upload_size = 0;
		/* Lingering close: after the 413, discard for a moment so the
		   client reads it before our close resets the connection. */
		if (rc->too_large &&
		    sk_monotonic_us() - rc->refused_us > UPLOAD_LINGER_US)
			return MHD_NO;
		return MHD_YES;
	}
	if (rc->too_large)
		return MHD_NO; /* refuse_upload answered already */

	url = unprefixed(url);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.conn = conn;
	req.method = method;
	req.path = url;
	req.body = rc->body.data;
	req.body_len = rc->body.len;
	req.ctx = rc;
	sk_connguard_received(conn_guard(conn));
	host = hdr_lines(conn, MHD_HTTP_HEADER_HOST, NULL, NULL);
	make_request_id(req.request_id);
	client_ip(conn, &req);
	req.route = find_route(method, url, &mismatch);
	if (req.route != ROUTE_NOT_FOUND)
		rt = &routes[req.route];
	if (rt != NULL && rt->needs.answer == SK_ANSWER_PAGE)
		sk_page_ctx_init(&resp.page, &req); /* no tenant yet */

	atomic_fetch_add(&in_flight, 1);
	if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
	    sk_req_header(&req, MHD_HTTP_HEADER_HOST) == NULL) {
		/* RFC 9112 3.2: a 1.1 request without Host is a 400. */
		sk_resp_json_error(&resp, 400, "invalid_request",
				   "the Host header is missing");
	} else if (host.n > 1 ||
		   (host.n == 1 &&
		    sk_host_normalize(host.first, rc->host, sizeof(rc->host),
				      NULL) != 0)) {
		/* Nothing malformed may reach Location or a redirect_uri. */
		sk_resp_refuse(&resp,
			       rt != NULL ? rt->needs.answer : SK_ANSWER_JSON,
			       400, 400, "invalid_request", N_("Bad request"),
			       N_("The Host header is malformed (a host name, "
				  "IPv4 or [IPv6] address and an optional "
				  "port)."));
	} else if (head_size(conn, url) >
		   (size_t)sk_daemon.cfg->http.max_header_bytes) {
		sk_resp_json_error(&resp, 431, "invalid_request",
				   "request header fields too large");
	} else if (rc->too_large || rc->body.oom) {
		sk_resp_json_error(&resp, 413, "invalid_request",
				   "request body too large");
	} else if (rt == NULL && mismatch) {
		sk_resp_header(&resp, MHD_HTTP_HEADER_ALLOW,
			       allowed_methods(url));
		sk_resp_json_error(&resp, 405, "invalid_request",
				   "method not allowed on this path");
	} else if (rt == NULL) {
		sk_resp_json_error(&resp, 404, "not_found", "no such endpoint");
	} else {
		/* The tenant the Host names, with its current policy (held
		 * until sk_pipeline_done()); then what the route declares. */
		req.tenant = sk_policy_acquire(
		    sk_daemon.cfg,
		    sk_tenant_for_host(sk_daemon.cfg, sk_req_host(&req)));
		if (rt->needs.answer == SK_ANSWER_PAGE)
			sk_page_ctx_init(&resp.page, &req);
		if (sk_pipeline(&req, &rt->needs, &resp) == 0 &&
		    run_route(conn, rc, &req, rt, &resp)) {
			atomic_fetch_sub(&in_flight, 1);
			return MHD_YES; /* answered once resumed */
		}
	}
	ret = answer(conn, &req, &resp,
		     rt != NULL ? rt->needs.answer : SK_ANSWER_JSON);
	log_request(&req, rc, resp.status);
	resp_clear(&resp);
	sk_pipeline_done(&req);
	atomic_fetch_sub(&in_flight, 1);
	return ret;
}

static void
request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	struct reqctx *rc = *con_cls;
	size_t i;

	(void)cls;
	(void)toe;
	sk_connguard_answered(conn_guard(conn));
	if (rc == NULL)
		return;
	upjob_free(rc); /* the client left before its answer */
	if (rc->body.data != NULL)
		sk_memzero(rc->body.data,
			   rc->body.cap); /* forms carry tokens */
	sk_buf_free(&rc->body);
	for (i = 0; i < SK_ARRAY_SIZE(rc->cookie); i++) {
		free(rc->cookie[i].name);
		sk_strfreezero(rc->cookie[i].value); /* session ids */
	}
	free(rc);
	*con_cls = NULL;
}

/* Per-address connection cap (connguard.c); refused before any read. */
static enum MHD_Result
accept_policy(void *cls, const struct sockaddr *sa, socklen_t len)
{
	unsigned char ip[SK_IP_LEN];

	(void)cls;
	(void)len;
	if (!sockaddr_ip(sa, ip))
		return MHD_YES;
	return sk_connguard_admit(ip) ? MHD_YES : MHD_NO;
}

static void
conn_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
	    enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci, *fi;
	unsigned char ip[SK_IP_LEN] = {0};

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(
		    conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		fi = MHD_get_connection_info(conn,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL)
			(void)sockaddr_ip(ci->client_addr, ip);
		*socket_ctx =
		    fi != NULL ? sk_connguard_open(ip, fi->connect_fd) : NULL;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		sk_connguard_close((struct sk_conn **)socket_ctx);
	}
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
	const struct sk_config *cfg = sk_daemon.cfg;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	unsigned int flags =
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;

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
	/* The config checked every prefix: only memory can fail here. */
	if (sk_ipset_parse((const char *const *)cfg->http.trusted_proxies.v,
			   cfg->http.trusted_proxies.n, &trusted, NULL) != 0 ||
	    sk_metrics_init(sk_route_count()) != 0 ||
	    sk_connguard_start(cfg->http.max_connections,
			       cfg->http.max_connections_per_ip,
			       cfg->http.request_timeout,
			       cfg->http.idle_timeout, trusted) != 0) {
		sk_error("http: cannot set up the server (out of memory)");
		sk_ipset_free(&trusted);
		return SK_ERR_NOMEM;
	}
	/* Provider calls run on the upstream pool (run_route()). */
	flags |= MHD_ALLOW_SUSPEND_RESUME;
	if (sk_upstream_start() != 0) {
		sk_error("cannot start the upstream pool");
		sk_connguard_stop();
		sk_ipset_free(&trusted);
		return SK_ERR_IO;
	}
	daemon_h = MHD_start_daemon(
	    flags, cfg->listen_port, accept_policy, NULL, access_handler, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_SOCK_ADDR,
	    sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->http.threads,
	    MHD_OPTION_CONNECTION_LIMIT,
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
	    request_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION, conn_notify,
	    NULL, MHD_OPTION_END);
	if (daemon_h == NULL) {
		sk_connguard_stop();
		sk_ipset_free(&trusted);
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
	sk_connguard_stop();
	sk_ipset_free(&trusted);
	sk_upstream_stop();
}

/*
 * The one outbound HTTP client (sk_http_fetch), on libcurl directly. Every
 * call to a provider (discovery, JWKS, token, userinfo, GitHub's API) goes
 * through it, always on an upstream pool thread, never an HTTP worker.
 *
 * Rules, each for a reason:
 * - No redirects: a 3xx is handed back as a status, which callers refuse.
 *   A 307/308 from a token endpoint would repeat the POST body (code,
 *   code_verifier, client secret) to wherever it points.
 * - https, except to loopback hosts (tests, a local stand-in): codes,
 *   secrets and tokens never cross a network in clear. Only http and https
 *   are spoken; TLS verifies the peer and the host name.
 * - The whole call ends within timeout_s (CURLOPT_TIMEOUT: name lookup,
 *   connect, TLS and the answer); connecting within HTTP_CONNECT_TIMEOUT_S.
 *   No signals (threads). sk_providers_abort() ends calls under way too.
 * - Answers above HTTP_MAX_ANSWER bytes are cut off and refused.
 * - Our buffers holding secrets are wiped: the answer (grown by sk_buf,
 *   which never reallocs in place), the form body, the encoded Basic
 *   credentials and the header list.
 * - Each thread keeps one libcurl handle and with it its connections (and
 *   TLS sessions) to the providers: a sign-in's token call reuses the
 *   connection of an earlier one instead of a new TCP and TLS handshake.
 *   The handle is reset after every call, so no option (credentials,
 *   pointers to this call's buffers) outlives it; a connection is only
 *   reused for the same scheme, host, port and TLS settings (libcurl's
 *   rule), and one found dead is replaced.
 */
#include "providers_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/provider.h"
#include "sekisho/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define HTTP_MAX_ANSWER (1024 * 1024) /* as liboauth2 had */
#define HTTP_CONNECT_TIMEOUT_S 10L

static atomic_bool inited;
static atomic_bool aborted; /* shutting down: no upstream calls */

/* The calling thread's handle (and its connection cache). */
static pthread_key_t easy_key;
static pthread_once_t easy_once = PTHREAD_ONCE_INIT;
static bool easy_key_ok;

static void
easy_drop(void *c)
{
	curl_easy_cleanup(c);
}

static void
easy_key_make(void)
{
	easy_key_ok = pthread_key_create(&easy_key, easy_drop) == 0;
}

/* This thread's handle, made on first use; NULL when out of memory. */
static CURL *
thread_easy(void)
{
	CURL *c;

	(void)pthread_once(&easy_once, easy_key_make);
	if (easy_key_ok && (c = pthread_getspecific(easy_key)) != NULL)
		return c;
	if ((c = curl_easy_init()) == NULL)
		return NULL;
	if (easy_key_ok && pthread_setspecific(easy_key, c) != 0) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

void
sk_http_thread_end(void)
{
	CURL *c;

	(void)pthread_once(&easy_once, easy_key_make);
	if (!easy_key_ok || (c = pthread_getspecific(easy_key)) == NULL)
		return;
	(void)pthread_setspecific(easy_key, NULL);
	curl_easy_cleanup(c);
}

int
sk_providers_global_init(void)
{
	if (atomic_load(&inited))
		return 0;
	/* Once, before any thread: curl_global_init() is not thread-safe
	 * everywhere. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return SK_ERR_NOMEM;
	atomic_store(&inited, true);
	return 0;
}

void
sk_providers_global_cleanup(void)
{
	sk_http_thread_end();
	if (atomic_exchange(&inited, false))
		curl_global_cleanup();
}

void
sk_providers_abort(void)
{
	atomic_store(&aborted, true);
}

int
sk_http_url_ok(const char *url)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *user = NULL, *pw = NULL;
	size_t hlen;
	int r = SK_ERR_INVALID;

	if (url == NULL || (u = curl_url()) == NULL)
		return url == NULL ? SK_ERR_INVALID : SK_ERR_NOMEM;
	/* libcurl's own parser: what is checked is what it will connect to. */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	/* User info in a URL would be sent as credentials: never ours. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "https") == 0) {
		r = 0;
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0)
		goto out;
	hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']')
		r = sk_host_is_loopback(host + 1, hlen - 2) ? 0
							    : SK_ERR_INVALID;
	else
		r = sk_host_is_loopback(host, hlen) ? 0 : SK_ERR_INVALID;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(pw);
	curl_url_cleanup(u);
	return r;
}

struct answer {
	struct sk_buf b;
	const char *refused; /* why the write callback stopped, or NULL */
};

static size_t
on_data(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n; /* size is always 1 */

	if (len > HTTP_MAX_ANSWER - a->b.len) {
		a->refused = "answer larger than 1 MiB";
		return 0;
	}
	/* Callers take the answer as a C string (and wipe strlen() bytes). */
	if (memchr(data, '\0', len) != NULL) {
		a->refused = "answer holds a NUL byte";
		return 0;
	}
	sk_buf_add(&a->b, data, len);
	if (a->b.oom) {
		a->refused = "out of memory";
		return 0;
	}
	return len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
	    curl_off_t ulnow)
{
	/* Shutdown: end a call under way instead of waiting for its timeout. */
	return atomic_load(&aborted) ? 1 : 0;
}

/* The request body: name=value&... with both sides percent-encoded. */
static void
form_encode(struct sk_buf *b, const struct sk_form_kv *form, size_t nform)
{
	size_t i;

	for (i = 0; i < nform; i++) {
		if (form[i].value == NULL)
			continue;
		if (b->len > 0)
			sk_buf_adds(b, "&");
		sk_buf_add_urlenc(b, form[i].name);
		sk_buf_adds(b, "=");
		sk_buf_add_urlenc(b, form[i].value);
	}
	if (b->data == NULL)
		sk_buf_add(b, "", 0);
}

/* Adds a header line; false when out of memory (the list is kept). */
static bool
header_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);

	if (n == NULL)
		return false;
	*list = n;
	return true;
}

/* Wipes (an Authorization line may be there) and frees; clears *list. */
static void
headers_free(struct curl_slist **list)
{
	struct curl_slist *h;

	for (h = *list; h != NULL; h = h->next)
		sk_memzero(h->data, strlen(h->data));
	curl_slist_free_all(*list);
	*list = NULL;
}

/* Why a transfer failed, for the log (never the request or answer). */
static const char *
fail_reason(const struct answer *a, CURLcode cr, const char *err)
{
	if (a->refused != NULL)
		return a->refused;
	if (cr == CURLE_FILESIZE_EXCEEDED)
		return "answer larger than 1 MiB";
	if (cr == CURLE_ABORTED_BY_CALLBACK)
		return "shutting down";
	return err[0] != '\0' ? err : curl_easy_strerror(cr);
}

/* The URL as logs may show it: no query (it may carry anything). */
static int
url_log_len(const char *url)
{
	size_t n = strcspn(url, "?#");

	return n > 256 ? 256 : (int)n;
}

int
sk_http_fetch(const char *url, const struct sk_form_kv *form, size_t nform,
	      const char *basic_user, const char *basic_pass,
	      const char *bearer, int64_t timeout_s, char **body, long *status)
{
	struct answer a = {.refused = NULL};
	struct sk_buf post, user, pass, auth;
	struct curl_slist *hdr = NULL;
	char err[CURL_ERROR_SIZE] = "";
	const char *why = NULL;
	CURL *c = NULL;
	CURLcode cr;
	long code = 0;
	int r = SK_ERR_NOMEM;

	*body = NULL;
	*status = 0;
	sk_buf_init(&a.b);
	sk_buf_init(&post);
	sk_buf_init(&user);
	sk_buf_init(&pass);
	sk_buf_init(&auth);
	if (atomic_load(&aborted)) {
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((r = sk_http_url_ok(url)) != 0) {
		if (r == SK_ERR_INVALID)
			why = "refused: not https (plain http only to "
			      "loopback), or not a valid URL";
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	/* The config keeps timeout_s within 1..300: never 0 (no limit). */
	if (timeout_s < 1 || timeout_s > 300) {
		r = SK_ERR_INVALID;
		goto out;
	}
	r = SK_ERR_NOMEM;
	if ((c = thread_easy()) == NULL)
		goto out;
	if (!header_add(&hdr, "Accept: application/json") ||
	    !header_add(&hdr, "User-Agent: sekisho/" SK_VERSION))
		goto out;
	if (bearer != NULL) {
		sk_buf_adds(&auth, "Authorization: Bearer ");
		sk_buf_adds(&auth, bearer);
		if (auth.oom || !header_add(&hdr, auth.data))
			goto out;
	}
	if (form != NULL) {
		form_encode(&post, form, nform);
		if (post.oom ||
		    !header_add(&hdr, "Content-Type: "
				      "application/x-www-form-urlencoded"))
			goto out;
	}
	if (basic_user != NULL) {
		/* RFC 6749 2.3.1: id and secret form-urlencoded, then Basic
		 * (byte for byte what liboauth2 sent: curl_easy_escape). */
		sk_buf_add_urlenc(&user, basic_user);
		sk_buf_add_urlenc(&pass, basic_pass != NULL ? basic_pass : "");
		sk_buf_add(&user, "", 0);
		sk_buf_add(&pass, "", 0);
		if (user.oom || pass.oom)
			goto out;
	}

	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			     HTTP_CONNECT_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			     (curl_off_t)HTTP_MAX_ANSWER) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK)
		goto out;
	if (form != NULL &&
	    (curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)post.len) !=
		 CURLE_OK ||
	     curl_easy_setopt(c, CURLOPT_POSTFIELDS, post.data) != CURLE_OK))
		goto out;
	if (basic_user != NULL &&
	    (curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) !=
		 CURLE_OK ||
	     curl_easy_setopt(c, CURLOPT_USERNAME, user.data) != CURLE_OK ||
	     curl_easy_setopt(c, CURLOPT_PASSWORD, pass.data) != CURLE_OK))
		goto out;

	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		why = fail_reason(&a, cr, err);
		r = cr == CURLE_OUT_OF_MEMORY ? SK_ERR_NOMEM : SK_ERR_UPSTREAM;
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
	    code < 100 || code > 999) {
		why = "no HTTP status";
		r = SK_ERR_UPSTREAM;
		goto out;
	}
	if ((r = sk_buf_take(&a.b, body)) != 0)
		goto out;
	*status = code;
	r = 0;
out:
	if (why != NULL)
		sk_warn("upstream: %s %.*s: %s", form != NULL ? "POST" : "GET",
			url != NULL ? url_log_len(url) : 0,
			url != NULL ? url : "", why);
	/* Every option goes (this call's credentials and buffers); the
	 * connections stay for the next call. */
	if (c != NULL)
		curl_easy_reset(c);
	headers_free(&hdr);
	sk_buf_free(&a.b);
	sk_buf_free(&post);
	sk_buf_free(&user);
	sk_buf_free(&pass);
	sk_buf_free(&auth);
	return r;
}

/*
 * The email sink: a plain-text mail to the user the event is about,
 * through smtp: (libcurl SMTP), in the user's language
 * (docs/notifications.md).
 *
 * The message is RFC 5322 with MIME: the subject RFC 2047-encoded when it
 * is not ASCII, the body UTF-8 in base64 (so no line of it can be read
 * as the end of the DATA, and no width limit applies). Every value put
 * in a header is either checked (the recipient: one plain address; the
 * event id: a token) or cleaned and encoded (the subject), so an event
 * cannot add a header or a recipient.
 */
#include "notice_int.h"
#include "sink_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/url.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#define ADDR_MAX 254 /* RFC 5321's path limit, less the <> */
#define LOCAL_MAX 64
#define ENCODED_CHUNK 45 /* bytes per encoded-word: 60 of base64 */
#define BODY_CHUNK 57	 /* bytes per body line: 76 of base64 */
#define EVENT_ID_MAX 64

/*
 * One plain address, local@domain, that we can put in an SMTP command
 * and a header without quoting: ASCII letters, digits and the local
 * part's few safe punctuation marks, no quoted string, no comment, no
 * route, a domain of dotted labels. Anything else (a second address,
 * a display name, CR or LF, <>) is refused rather than repaired.
 */
static bool
addr_ok(const char *a)
{
	static const char local_ok[] = "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				       "!#$%&'*+-/=?^_`{|}~.";
	static const char dom_ok[] = "abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.";
	const char *at, *dom;
	size_t n, l;

	if (a == NULL || (n = strlen(a)) == 0 || n > ADDR_MAX ||
	    (at = strchr(a, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return false;
	l = (size_t)(at - a);
	dom = at + 1;
	if (l == 0 || l > LOCAL_MAX || strspn(a, local_ok) != l ||
	    a[0] == '.' || a[l - 1] == '.' || memmem(a, l, "..", 2) != NULL)
		return false;
	return dom[0] != '\0' && strspn(dom, dom_ok) == strlen(dom) &&
	       dom[0] != '.' && dom[0] != '-' && dom[strlen(dom) - 1] != '.' &&
	       dom[strlen(dom) - 1] != '-' && strstr(dom, "..") == NULL &&
	       strchr(dom, '.') != NULL;
}

/*
 * smtp.from split: the display name (NULL when none; trimmed) and the
 * address, each newly allocated. The config checked its shape.
 */
static int
from_split(const char *from, char **name, char **addr)
{
	const char *lt = strchr(from, '<'), *gt;
	size_t n = 0;

	*name = *addr = NULL;
	if (lt == NULL)
		*addr = strdup(from);
	else {
		if ((gt = strchr(lt, '>')) == NULL)
			return SK_ERR_CONFIG;
		*addr = strndup(lt + 1, (size_t)(gt - lt - 1));
		for (n = (size_t)(lt - from); n > 0 && from[n - 1] == ' '; n--)
			;
		if (n > 0 && from[0] == '"' && from[n - 1] == '"' && n >= 2) {
			from++;
			n -= 2;
		}
		if (n > 0)
			*name = strndup(from, n);
	}
	if (*addr == NULL || (lt != NULL && n > 0 && *name == NULL)) {
		free(*name);
		free(*addr);
		*name = *addr = NULL;
		return SK_ERR_NOMEM;
	}
	if (!addr_ok(*addr)) {
		free(*name);
		free(*addr);
		*name = *addr = NULL;
		return SK_ERR_CONFIG;
	}
	return 0;
}

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Appends len bytes as base64 (no line breaks). */
static void
add_b64(struct sk_buf *b, const void *p, size_t len)
{
	unsigned char out[4 * ((BODY_CHUNK + 2) / 3) + 1];
	const unsigned char *s = p;
	size_t n;
	int w;

	while (len > 0) {
		n = len < BODY_CHUNK ? len : BODY_CHUNK;
		w = EVP_EncodeBlock(out, s, (int)n);
		sk_buf_add(b, out, (size_t)w);
		s += n;
		len -= n;
	}
}

/*
 * Appends value as RFC 2047 encoded-words (UTF-8, B), each at most 45
 * bytes of text (a word of 72 characters) and cut only between
 * characters, folded onto continuation lines.
 */
static void
add_encoded(struct sk_buf *b, const char *v)
{
	size_t len = strlen(v), n;

	while (len > 0) {
		n = len < ENCODED_CHUNK ? len : ENCODED_CHUNK;
		/* Never split a UTF-8 sequence across two words. */
		while (n < len && n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
		sk_buf_adds(b, "=?UTF-8?B?");
		add_b64(b, v, n);
		sk_buf_adds(b, "?=");
		v += n;
		len -= n;
		if (len > 0)
			sk_buf_adds(b, "\r\n ");
	}
}

/*
 * A header whose value is text (cleaned: one line): as it is when it is
 * printable ASCII and short, else encoded.
 */
static void
add_text_header(struct sk_buf *b, const char *name, const char *v)
{
	sk_buf_addf(b, "%s: ", name);
	if (is_ascii(v) && strlen(v) < 900 && strstr(v, "=?") == NULL)
		sk_buf_adds(b, v);
	else
		add_encoded(b, v);
	sk_buf_adds(b, "\r\n");
}

/* The body: LF line ends made CRLF, then base64 in lines of 76. */
static void
add_body(struct sk_buf *b, const char *text)
{
	struct sk_buf crlf;
	const char *p;
	size_t off;

	sk_buf_init(&crlf);
	for (p = text; *p != '\0'; p++) {
		if (*p == '\n')
			sk_buf_add(&crlf, "\r", 1);
		sk_buf_add(&crlf, p, 1);
	}
	if (crlf.oom) {
		b->oom = true;
		goto out;
	}
	for (off = 0; off < crlf.len; off += BODY_CHUNK) {
		add_b64(b, crlf.data + off,
			crlf.len - off < BODY_CHUNK ? crlf.len - off
						    : BODY_CHUNK);
		sk_buf_adds(b, "\r\n");
	}
out:
	sk_buf_free(&crlf);
}

/* An event id fit for a Message-ID's left part: a token, bounded. */
static bool
event_id_ok(const char *id)
{
	return id != NULL && sk_token_shape_ok(id, 1, EVENT_ID_MAX);
}

/*
 * The whole message to rcpt (checked) from name (NULL: none) and addr
 * (smtp.from's parts), of notice n about event id: on success *out newly
 * allocated, *outlen bytes.
 */
static int
message(const char *name, const char *addr, const char *rcpt, const char *id,
	const struct sk_notice *n, int64_t now, char **out, size_t *outlen)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};
	char *clean = NULL;
	struct sk_buf b;
	time_t t = (time_t)now;
	struct tm tm;
	int r;

	*out = NULL;
	*outlen = 0;
	sk_buf_init(&b);
	r = SK_ERR_INTERNAL;
	if (gmtime_r(&t, &tm) == NULL)
		goto out;
	if (name != NULL && name[0] != '\0') {
		r = SK_ERR_NOMEM;
		if ((clean = sk_notice_clean(name, SK_NOTICE_VALUE_MAX)) ==
		    NULL)
			goto out;
		sk_buf_adds(&b, "From: ");
		/* A display name is always encoded: an ASCII one could
		 * hold specials (",", ":", "@") that would need quoting. */
		add_encoded(&b, clean);
		sk_buf_addf(&b, " <%s>\r\n", addr);
	} else
		sk_buf_addf(&b, "From: %s\r\n", addr);
	sk_buf_addf(&b, "To: %s\r\n", rcpt);
	add_text_header(&b, "Subject", n->subject);
	sk_buf_addf(&b, "Date: %s, %02d %s %d %02d:%02d:%02d +0000\r\n",
		    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	/* The same id on every attempt: a receiver that got the mail
	 * once can tell a retry. */
	sk_buf_addf(&b, "Message-ID: <%s@%s>\r\n", id, strchr(addr, '@') + 1);
	sk_buf_adds(&b, "MIME-Version: 1.0\r\n"
			"Content-Type: text/plain; charset=UTF-8\r\n"
			"Content-Transfer-Encoding: base64\r\n");
	sk_buf_addf(&b, "Content-Language: %s\r\n", n->lang);
	/* RFC 3834: no auto-replies (vacation notices) to it. */
	sk_buf_adds(&b, "Auto-Submitted: auto-generated\r\n"
			"X-Auto-Response-Suppress: All\r\n\r\n");
	add_body(&b, n->body);
	*outlen = b.len;
	r = sk_buf_take(&b, out);
out:
	sk_buf_free(&b);
	free(clean);
	return r;
}

/* libcurl reads the message from m->body, m->off on. */
static size_t
read_body(char *buf, size_t size, size_t nitems, void *arg)
{
	struct sk_hook_msg *m = arg;
	size_t n = size * nitems;

	if (m->off >= m->len)
		return 0;
	if (n > m->len - m->off)
		n = m->len - m->off;
	memcpy(buf, m->body + m->off, n);
	m->off += n;
	return n;
}

/* smtp.url with the From domain as the path (what curl says in EHLO). */
static int
smtp_url(const struct sk_config *cfg, const char *from_domain, char **url,
	 bool *loopback)
{
	const char *base = cfg->smtp.url, *h;
	struct sk_url u;
	size_t n;

	*url = NULL;
	if (sk_url_parse(NULL, base, &u) != 0)
		return SK_ERR_CONFIG;
	h = u.host;
	n = strlen(h);
	/* The parser keeps IPv6 literals in brackets. */
	if (n > 2 && h[0] == '[')
		*loopback = sk_host_is_loopback(h + 1, n - 2);
	else
		*loopback = sk_host_is_loopback(h, n);
	n = strlen(base);
	if (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(url, "%.*s/%s", (int)n, base, from_domain) < 0) {
		*url = NULL;
		return SK_ERR_NOMEM;
	}
	return 0;
}

static int
email_build(const struct sk_config *cfg, const struct sk_hook_conf *h,
	    const json_t *ev, const char *raw, int64_t now, CURL *easy,
	    struct sk_hook_msg *m)
{
	const char *rcpt = json_string_value(
	    json_object_get(json_object_get(ev, "user"), "email"));
	const char *id = json_string_value(json_object_get(ev, "id"));
	struct sk_notice n;
	char *name = NULL, *from = NULL, *domain;
	bool loopback = false;
	long timeout;
	int r;

	(void)raw;
	memset(&n, 0, sizeof(n));
	if (cfg->smtp.url == NULL || cfg->smtp.from == NULL)
		return SK_ERR_CONFIG;
	if (!sk_notice_wanted(ev) || rcpt == NULL || rcpt[0] == '\0')
		return SK_ERR_NOT_FOUND;
	if (!addr_ok(rcpt)) {
		/* Retrying would not make it an address: nothing to send. */
		sk_warn("hooks: %s: event %s: the user's address is not one "
			"plain address; no mail sent",
			h->id, event_id_ok(id) ? id : "-");
		return SK_ERR_NOT_FOUND;
	}
	if (!event_id_ok(id))
		return SK_ERR_INVALID;
	if ((r = from_split(cfg->smtp.from, &name, &from)) != 0)
		goto out;
	domain = strchr(from, '@') + 1;
	r = SK_ERR_NOMEM;
	if ((m->mail_from = strdup(from)) == NULL ||
	    (m->target = strdup(strchr(rcpt, '@') + 1)) == NULL ||
	    (m->rcpt = curl_slist_append(NULL, rcpt)) == NULL)
		goto out;
	if ((r = smtp_url(cfg, domain, &m->url, &loopback)) != 0 ||
	    (r = sk_notice_render(cfg, ev, sk_notice_lang(cfg, ev), now, &n)) !=
		0 ||
	    (r = message(name, from, rcpt, id, &n, now, &m->body, &m->len)) !=
		0)
		goto out;
	m->off = 0;
	timeout =
	    (long)(h->timeout_ms < cfg->smtp.timeout_ms ? h->timeout_ms
							: cfg->smtp.timeout_ms);
	r = SK_ERR_INTERNAL;
	if (curl_easy_setopt(easy, CURLOPT_URL, m->url) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, m->mail_from) !=
		CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, m->rcpt) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_body) !=
		CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_READDATA, m) != CURLE_OK ||
	    (timeout > 0 &&
	     curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK))
		goto out;
	/*
	 * STARTTLS is required (CURLUSESSL_ALL: no TLS, no mail) unless the
	 * server is on this host, where nobody can read or change the
	 * connection on the way; smtps:// is TLS from the first byte.
	 * Certificates are always verified (libcurl's default).
	 */
	if (curl_easy_setopt(easy, CURLOPT_USE_SSL,
			     loopback &&
				     strncmp(cfg->smtp.url, "smtp://", 7) == 0
				 ? (long)CURLUSESSL_NONE
				 : (long)CURLUSESSL_ALL) != CURLE_OK)
		goto out;
	if (cfg->smtp.username != NULL &&
	    (curl_easy_setopt(easy, CURLOPT_USERNAME, cfg->smtp.username) !=
		 CURLE_OK ||
	     (cfg->smtp.password != NULL &&
	      curl_easy_setopt(easy, CURLOPT_PASSWORD, cfg->smtp.password) !=
		  CURLE_OK)))
		goto out;
	r = 0;
out:
	sk_notice_clear(&n);
	free(name);
	free(from);
	return r;
}

const struct sk_sink sk_sink_email = {
    .type = SK_HOOK_EMAIL,
    .build = email_build,
};

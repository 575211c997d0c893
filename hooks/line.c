/*
 * The line sink: a LINE Messaging API push to the user the event is about,
 * when that user signs in with LINE (docs/notifications.md).
 *
 * The recipient is the LINE userId, the subject of the user's identity at
 * a provider of type line (sk_user_identity_of()); users of any other
 * provider get nothing (SK_ERR_NOT_FOUND). The request is
 *   POST {url}/v2/bot/message/push
 *   Authorization: Bearer <channel access token>
 *   X-Line-Retry-Key: <UUID derived from the event id>
 *   {"to": userId, "messages": [{"type": "text", "text": ...}]}
 * LINE accepts a retry key once: a retry of a push LINE did take answers
 * 409 instead of sending twice, so the key is the same on every attempt.
 * The text is the template's short Line: text, in the user's language.
 */
#include "notice_int.h"
#include "post_int.h"
#include "sekisho/err.h"
#include "sekisho/url.h"
#include "sekisho/user.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define LINE_API "https://api.line.me"
#define PUSH_PATH "/v2/bot/message/push"
#define SUBJECT_MAX 128

/* The name space of retry keys (a UUIDv5 of the event id under it). */
static const unsigned char retry_ns[16] = {0xb6, 0xc8, 0xcd, 0xd9, 0x22, 0x80,
					   0x4b, 0x24, 0xbc, 0xce, 0x70, 0x1d,
					   0x95, 0x90, 0x8a, 0x8d};

/* RFC 9562 UUIDv5 of name under retry_ns, as text; false on failure. */
static bool
retry_key(const char *name, char out[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c;
	bool ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return false;
	ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
	     EVP_DigestUpdate(c, retry_ns, sizeof(retry_ns)) == 1 &&
	     EVP_DigestUpdate(c, name, strlen(name)) == 1 &&
	     EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(c);
	if (!ok)
		return false;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
		 md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
	return true;
}

int
sk_line_request(const struct sk_config *cfg, const struct sk_hook_conf *h,
		const json_t *ev, const char *subject, int64_t now, CURL *easy,
		struct sk_hook_msg *m)
{
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *base = h->url != NULL ? h->url : LINE_API;
	struct curl_slist *l;
	struct sk_notice n;
	struct sk_url u;
	struct sk_buf b;
	json_t *o = NULL;
	char key[37];
	size_t blen;
	int r;

	memset(&n, 0, sizeof(n));
	sk_buf_init(&b);
	if (id == NULL || !sk_token_shape_ok(id, 1, 64) || subject == NULL ||
	    !sk_token_shape_ok(subject, 1, SUBJECT_MAX))
		return SK_ERR_INVALID;
	/* A header value: a token with a line break would add a header. */
	if (h->token == NULL || h->token[0] == '\0' ||
	    strpbrk(h->token, "\r\n") != NULL)
		return SK_ERR_CONFIG;
	if (sk_url_parse(NULL, base, &u) != 0)
		return SK_ERR_CONFIG;
	blen = strlen(base);
	if (blen > 0 && base[blen - 1] == '/')
		blen--;
	r = SK_ERR_NOMEM;
	if (asprintf(&m->url, "%.*s" PUSH_PATH, (int)blen, base) < 0) {
		m->url = NULL;
		goto out;
	}
	if ((m->target = strdup(u.host)) == NULL)
		goto out;
	if ((r = sk_notice_render(cfg, ev, sk_notice_lang(cfg, ev), now, &n)) !=
	    0)
		goto out;
	r = SK_ERR_NOMEM;
	if ((o = json_pack("{s:s, s:[{s:s, s:s}]}", "to", subject, "messages",
			   "type", "text", "text", n.line)) == NULL ||
	    (m->body = json_dumps(o, JSON_COMPACT)) == NULL)
		goto out;
	m->len = strlen(m->body);
	if (!retry_key(id, key))
		goto out;
	sk_buf_adds(&b, "Authorization: Bearer ");
	sk_buf_adds(&b, h->token);
	if (b.oom)
		goto out;
	/* Built here, not by sk_hook_header(): a channel access token may
	 * be long, and its copy is wiped. */
	if ((l = curl_slist_append(NULL, b.data)) == NULL)
		goto out;
	m->headers = l;
	if (!sk_hook_header(&m->headers, "Content-Type", "application/json") ||
	    !sk_hook_header(&m->headers, "X-Line-Retry-Key", key))
		goto out;
	if ((r = sk_hook_post(easy, m)) != 0)
		goto out;
	r = 0;
out:
	/* The buffer held the token: wiped, not only freed. */
	if (b.data != NULL)
		sk_memzero(b.data, b.cap);
	sk_buf_free(&b);
	json_decref(o);
	sk_notice_clear(&n);
	return r;
}

/* Is issuer that of a provider of type line? */
static bool
line_issuer(const struct sk_config *cfg, const char *issuer)
{
	const struct sk_provider_conf *p;
	const char *iss;
	size_t i;

	for (i = 0; i < cfg->nproviders; i++) {
		p = &cfg->providers[i];
		if (p->type == NULL || strcmp(p->type, "line") != 0)
			continue;
		iss = p->issuer != NULL ? p->issuer
		      : p->kind != NULL ? p->kind->issuer
					: NULL;
		if (iss != NULL && strcmp(iss, issuer) == 0)
			return true;
	}
	return false;
}

static int
line_build(const struct sk_config *cfg, const struct sk_hook_conf *h,
	   const json_t *ev, const char *raw, int64_t now, CURL *easy,
	   struct sk_hook_msg *m)
{
	const char *tenant = json_string_value(json_object_get(ev, "tenant"));
	const char *uid = json_string_value(
	    json_object_get(json_object_get(ev, "user"), "id"));
	char *issuer = NULL, *subject = NULL;
	int r;

	(void)raw;
	if (!sk_notice_wanted(ev) || tenant == NULL || uid == NULL)
		return SK_ERR_NOT_FOUND;
	if ((r = sk_user_identity_of(tenant, uid, &issuer, &subject)) != 0)
		goto out;
	if (!line_issuer(cfg, issuer)) {
		r = SK_ERR_NOT_FOUND; /* not a LINE user */
		goto out;
	}
	r = sk_line_request(cfg, h, ev, subject, now, easy, m);
out:
	free(issuer);
	free(subject);
	return r;
}

const struct sk_sink sk_sink_line = {
    .type = SK_HOOK_LINE,
    .build = line_build,
};

/*
 * What the hooks share that is not the engine (sekisho/hooks.h): filters,
 * the target named in logs, the webhook signature, the retry delay, and
 * freeing a built message (sink_int.h).
 */
#include "sekisho/hooks.h"
#include "post_int.h"

#include "sekisho/err.h"
#include "sekisho/util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
sk_hook_type_name(enum sk_hook_type t)
{
	switch (t) {
	case SK_HOOK_WEBHOOK:
		return "webhook";
	case SK_HOOK_SLACK:
		return "slack";
	case SK_HOOK_TEAMS:
		return "teams";
	case SK_HOOK_EMAIL:
		return "email";
	case SK_HOOK_LINE:
		return "line";
	}
	return "unknown";
}

static bool
listed(const struct sk_strlist *l, const char *s)
{
	size_t i;

	if (l->n == 0)
		return true; /* empty: all */
	for (i = 0; s != NULL && i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

bool
sk_hook_covers(const struct sk_hook_conf *h, const char *tenant)
{
	return tenant != NULL && listed(&h->tenants, tenant);
}

bool
sk_hook_wants(const struct sk_hook_conf *h, const char *type)
{
	return type != NULL && listed(&h->events, type);
}

/* The host of url into out ("" when it has none). */
static void
url_host(const char *url, char *out, size_t outlen)
{
	CURLU *u;
	char *host = NULL;

	out[0] = '\0';
	if (url == NULL || (u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		snprintf(out, outlen, "%s", host);
	curl_free(host);
	curl_url_cleanup(u);
}

void
sk_hook_target(const struct sk_config *cfg, const struct sk_hook_conf *h,
	       char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	if (h->type == SK_HOOK_EMAIL)
		url_host(cfg != NULL ? cfg->smtp.url : NULL, out, outlen);
	else if (h->type == SK_HOOK_LINE && h->url == NULL)
		snprintf(out, outlen, "api.line.me");
	else
		url_host(h->url, out, outlen);
}

int
sk_hook_signature(const char *secret, int64_t t, const char *body, size_t len,
		  char out[SK_HOOK_SIG_LEN])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char ts[24];
	char *msg;
	size_t tlen, i;
	int n;

	out[0] = '\0';
	if (secret == NULL || secret[0] == '\0' || t < 0 ||
	    (body == NULL && len > 0))
		return SK_ERR_INVALID;
	tlen = (size_t)snprintf(ts, sizeof(ts), "%lld", (long long)t);
	/* What is signed: "<t>.<body>", so a captured body cannot be
	 * replayed under another time. */
	if ((msg = malloc(tlen + 1 + len + 1)) == NULL)
		return SK_ERR_NOMEM;
	memcpy(msg, ts, tlen);
	msg[tlen] = '.';
	if (len > 0)
		memcpy(msg + tlen + 1, body, len);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
		 (const unsigned char *)msg, tlen + 1 + len, mac,
		 &maclen) == NULL ||
	    maclen != 32) {
		free(msg);
		return SK_ERR_INTERNAL;
	}
	free(msg);
	n = snprintf(out, SK_HOOK_SIG_LEN, "t=%s,v1=", ts);
	for (i = 0; i < maclen; i++)
		snprintf(out + n + 2 * i, 3, "%02x", mac[i]);
	sk_memzero(mac, sizeof(mac));
	return 0;
}

int64_t
sk_hook_backoff_ms(int64_t attempts, uint32_t rnd)
{
	int64_t d = SK_HOOKS_BACKOFF_MS;

	for (; attempts > 1 && d < SK_HOOKS_BACKOFF_MAX_MS; attempts--)
		d *= 2;
	if (d > SK_HOOKS_BACKOFF_MAX_MS)
		d = SK_HOOKS_BACKOFF_MAX_MS;
	/* Jitter: receivers that came back are not met by every queued
	 * delivery of every instance at the same moment. */
	d = d * 8 / 10 +
	    (int64_t)((double)d * 0.4 * ((double)rnd / 4294967296.0));
	return d > SK_HOOKS_BACKOFF_MAX_MS ? SK_HOOKS_BACKOFF_MAX_MS : d;
}

void
sk_hook_msg_clear(struct sk_hook_msg *m)
{
	if (m == NULL)
		return;
	free(m->url);
	curl_slist_free_all(m->headers);
	curl_slist_free_all(m->rcpt);
	free(m->mail_from);
	/* A mail may carry an invitation's accept link: wiped. */
	if (m->body != NULL)
		sk_freezero(m->body, m->len);
	free(m->target);
	memset(m, 0, sizeof(*m));
}

bool
sk_hook_header(struct curl_slist **l, const char *name, const char *value)
{
	struct curl_slist *n;
	char line[256];

	if ((size_t)snprintf(line, sizeof(line), "%s:%s%s", name,
			     value != NULL ? " " : "",
			     value != NULL ? value : "") >= sizeof(line))
		return false;
	if ((n = curl_slist_append(*l, line)) == NULL)
		return false;
	*l = n;
	return true;
}

int
sk_hook_post(CURL *easy, struct sk_hook_msg *m)
{
	if (!sk_hook_header(&m->headers, "Expect", NULL))
		return SK_ERR_NOMEM;
	if (curl_easy_setopt(easy, CURLOPT_URL, m->url) != CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, m->headers) !=
		CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)m->len) !=
		CURLE_OK ||
	    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, m->body) != CURLE_OK)
		return SK_ERR_INTERNAL;
	return 0;
}

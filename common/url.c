/*
 * URL splitting through libcurl's parser (curl_url(), libcurl >= 7.62).
 */
#include "sekisho/url.h"
#include "sekisho/err.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

/* A part into *dst (newly allocated), or NULL when the URL has none. */
static int
part(CURLU *h, CURLUPart what, char **dst)
{
	char *v = NULL;
	CURLUcode rc;

	*dst = NULL;
	rc = curl_url_get(h, what, &v, 0);
	if (rc == CURLUE_OUT_OF_MEMORY)
		return SK_ERR_NOMEM;
	if (rc != CURLUE_OK)
		return 0;
	*dst = strdup(v);
	curl_free(v);
	return *dst == NULL ? SK_ERR_NOMEM : 0;
}

/* Is the part present at all? */
static bool
has(CURLU *h, CURLUPart what)
{
	char *v = NULL;
	bool r = curl_url_get(h, what, &v, 0) == CURLUE_OK;

	curl_free(v);
	return r;
}

int
sk_url_parse(const char *url, struct sk_url *u)
{
	CURLU *h;
	CURLUcode rc;
	int r;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		return SK_ERR_INVALID;
	if ((h = curl_url()) == NULL)
		return SK_ERR_NOMEM;
	rc = curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc != CURLUE_OK) {
		r = rc == CURLUE_OUT_OF_MEMORY ? SK_ERR_NOMEM : SK_ERR_INVALID;
		goto out;
	}
	if ((r = part(h, CURLUPART_SCHEME, &u->scheme)) != 0 ||
	    (r = part(h, CURLUPART_HOST, &u->host)) != 0 ||
	    (r = part(h, CURLUPART_PORT, &u->port)) != 0 ||
	    (r = part(h, CURLUPART_PATH, &u->path)) != 0)
		goto out;
	if (u->scheme == NULL || u->host == NULL || u->host[0] == '\0') {
		r = SK_ERR_INVALID;
		goto out;
	}
	u->userinfo = has(h, CURLUPART_USER) || has(h, CURLUPART_PASSWORD);
	u->query = has(h, CURLUPART_QUERY);
	u->fragment = has(h, CURLUPART_FRAGMENT);
out:
	curl_url_cleanup(h);
	if (r != 0)
		sk_url_clear(u);
	return r;
}

void
sk_url_clear(struct sk_url *u)
{
	if (u == NULL)
		return;
	free(u->scheme);
	free(u->host);
	free(u->port);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

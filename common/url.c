/* URLs parsed by libcurl's URL API (see sekisho/url.h). */
#include "sekisho/url.h"
#include "sekisho/err.h"

#include <curl/curl.h>
#include <string.h>

/* Copies part (may be NULL: "") into out; false when it does not fit. */
static bool
copy_part(const char *part, char *out, size_t outlen)
{
	size_t n = part != NULL ? strlen(part) : 0;

	if (n >= outlen)
		return false;
	memcpy(out, part != NULL ? part : "", n);
	out[n] = '\0';
	return true;
}

/* CURLUE_OUT_OF_MEMORY is ours to report; any other refusal is the URL's. */
static int
url_err(CURLUcode rc)
{
	return rc == CURLUE_OUT_OF_MEMORY ? SK_ERR_NOMEM : SK_ERR_INVALID;
}

int
sk_url_parse(const char *base, const char *url, struct sk_url *u)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *zone = NULL,
	     *user = NULL, *pw = NULL, *opt_s = NULL, *query = NULL,
	     *frag = NULL;
	const struct {
		CURLUPart part;
		CURLUcode absent;
		char **out;
	} opt[] = {
	    {CURLUPART_PORT, CURLUE_NO_PORT, &port},
	    {CURLUPART_ZONEID, CURLUE_NO_ZONEID, &zone},
	    {CURLUPART_USER, CURLUE_NO_USER, &user},
	    {CURLUPART_PASSWORD, CURLUE_NO_PASSWORD, &pw},
	    {CURLUPART_OPTIONS, CURLUE_NO_OPTIONS, &opt_s},
	    {CURLUPART_QUERY, CURLUE_NO_QUERY, &query},
	    {CURLUPART_FRAGMENT, CURLUE_NO_FRAGMENT, &frag},
	};
	CURLU *h = NULL;
	CURLUcode rc;
	int r = SK_ERR_INVALID;
	size_t i;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		return SK_ERR_INVALID;
	if ((h = curl_url()) == NULL)
		return SK_ERR_NOMEM;
	if ((base != NULL &&
	     (rc = curl_url_set(h, CURLUPART_URL, base, 0)) != CURLUE_OK) ||
	    (rc = curl_url_set(h, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(h, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (rc = curl_url_get(h, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
		r = url_err(rc);
		goto out;
	}
	/* The parts that may be absent: anything but "absent" is an error. */
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		rc = curl_url_get(h, opt[i].part, opt[i].out, 0);
		if (rc != CURLUE_OK && rc != opt[i].absent) {
			r = url_err(rc);
			goto out;
		}
	}
	if (!copy_part(scheme, u->scheme, sizeof(u->scheme)) ||
	    !copy_part(host, u->host, sizeof(u->host)) ||
	    !copy_part(port, u->port, sizeof(u->port)))
		goto out;
	for (i = 0; u->scheme[i] != '\0'; i++)
		if (u->scheme[i] >= 'A' && u->scheme[i] <= 'Z')
			u->scheme[i] = (char)(u->scheme[i] - 'A' + 'a');
	u->zone = zone != NULL;
	u->userinfo = user != NULL || pw != NULL || opt_s != NULL;
	u->query = query != NULL;
	u->fragment = frag != NULL;
	r = 0;
out:
	if (r != 0)
		memset(u, 0, sizeof(*u));
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(zone);
	curl_free(user);
	curl_free(pw);
	curl_free(opt_s);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(h);
	return r;
}

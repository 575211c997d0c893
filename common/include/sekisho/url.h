/*
 * Absolute URLs as libcurl parses them (curl_url()): what the HTTP client
 * will connect to is what gets checked. Callers keep their own, stricter
 * rules on top (config/values.c); this only splits.
 */
#ifndef SEKISHO_URL_H
#define SEKISHO_URL_H

#include <stdbool.h>

struct sk_url {
	char *scheme; /* lowercase, e.g. "https" */
	char *host;   /* as written, IPv6 in brackets ("[::1]") */
	char *port;   /* NULL when none is written */
	char *path;   /* "/" at least */
	bool userinfo; /* a user name or password is present */
	bool query;
	bool fragment;
};

/*
 * Parses url, which must be absolute with a scheme libcurl knows and a
 * host. On success returns 0 and fills *u (free with sk_url_clear()).
 * Returns SK_ERR_INVALID when libcurl refuses it, SK_ERR_NOMEM. Pure (no
 * network).
 */
int sk_url_parse(const char *url, struct sk_url *u);
/* Frees what sk_url_parse() filled; accepts a cleared or zeroed one. */
void sk_url_clear(struct sk_url *u);

#endif

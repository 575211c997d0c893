/*
 * URLs as libcurl reads them (its URL API, curl_url()): the parser the
 * outbound HTTP client connects with, so that what a check looks at is
 * what a client would use. Checks that want more than libcurl enforces
 * (which hosts, no userinfo, ...) apply their own rules on top.
 */
#ifndef SEKISHO_URL_H
#define SEKISHO_URL_H

#include <stdbool.h>

#define SK_URL_HOST_MAX 255

struct sk_url {
	char scheme[16];		/* lowercase ("https") */
	char host[SK_URL_HOST_MAX + 1]; /* as libcurl reads it: percent-
					   escapes decoded, IPv4 numbers
					   normalised, IPv6 in brackets,
					   case and a trailing dot kept */
	char port[6];			/* digits as libcurl reads them
					   ("0443" is "443"); "" if none */
	bool zone;			/* an IPv6 zone id was given */
	bool userinfo;			/* user, password or options given */
	bool query;			/* a query is given */
	bool fragment;			/* a fragment is given */
};

/*
 * Parses url, a reference resolved against base when base is not NULL,
 * else an absolute URL (a scheme libcurl supports, a host). Fills *u.
 * Returns 0, SK_ERR_INVALID when libcurl refuses it or a part does not
 * fit in *u, SK_ERR_NOMEM.
 */
int sk_url_parse(const char *base, const char *url, struct sk_url *u);

#endif

/*
 * Private to broker/: links to Sekisho's own pages that come back to a
 * place afterwards ("/login?rd=..."), and the check of an incoming rd
 * (rd.c). Every such link is built here, so rd is always percent-encoded
 * once, and HTML-escaped once more where it goes into a page.
 */
#ifndef SEKISHO_RD_INT_H
#define SEKISHO_RD_INT_H

#include <stdbool.h>

#include "broker_int.h"

struct sk_buf;

/*
 * Appends base (a validated URL or path prefix, as it is), path (as it
 * is), segment percent-encoded when not NULL (a provider id), and, when
 * rd is not NULL, "?rd=" with rd percent-encoded (RFC 3986 unreserved
 * characters stay; everything else, '/' included, is escaped).
 */
void sk_rd_link(struct sk_buf *b, const char *base, const char *path,
		const char *segment, const char *rd);

/* The same link HTML-escaped, for an attribute value (href, action). */
void sk_rd_link_html(struct sk_buf *b, const char *base, const char *path,
		     const char *segment, const char *rd);

/* The link as a new string: *out newly allocated (free()), or
 * SK_ERR_NOMEM. */
int sk_rd_url(char **out, const char *base, const char *path,
	      const char *segment, const char *rd);

/* A 302 to the link; out of memory sets resp->oom. */
void sk_rd_redirect(struct sk_resp *resp, const char *base, const char *path,
		    const char *segment, const char *rd);

/*
 * Validates ?rd= of the request (given once, and accepted by
 * sk_redirect_check_tenant()); *rd NULL when absent. On a bad value
 * answers 400 and returns false.
 */
bool sk_flow_rd(struct sk_req *req, struct sk_resp *resp, const char **rd);

#endif

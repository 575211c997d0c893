/* Private to hooks/: what the HTTP sinks (webhook.c, chat.c) share. */
#ifndef SEKISHO_HOOKS_POST_INT_H
#define SEKISHO_HOOKS_POST_INT_H

#include "sink_int.h"

#include <stdbool.h>

/*
 * Appends "name: value" to *l (value NULL: "name:", which removes a
 * header libcurl would add). False on no memory or a line too long.
 */
bool sk_hook_header(struct curl_slist **l, const char *name, const char *value);

/*
 * Points easy at a POST of m->body (m->len bytes) to m->url with
 * m->headers, adding "Expect:" (no 100-continue round trip) to them.
 * Returns 0, SK_ERR_NOMEM or SK_ERR_INTERNAL.
 */
int sk_hook_post(CURL *easy, struct sk_hook_msg *m);

#endif

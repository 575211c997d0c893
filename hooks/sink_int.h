/*
 * Private to hooks/: one kind of receiver (a sink), and what the delivery
 * engine hands it. The engine (outbox) takes an event from a tenant's
 * event stream, asks the hook's sink to build the request on a libcurl
 * easy handle, sends it (curl multi: a hanging receiver holds a socket,
 * never a thread), and judges the outcome: a 2xx answer (HTTP) or
 * CURLE_OK (SMTP) is delivered; anything else is retried with backoff
 * until the hook's retry_for, then dead-lettered.
 *
 * Before build() the engine has set on the handle what every delivery
 * shares: the hook's timeout, no redirects followed, no signals, and the
 * protocols the hook's type may use. build() sets the URL, headers, body
 * and protocol options (mail: MAIL_FROM, MAIL_RCPT, upload, USE_SSL,
 * credentials) and keeps in *m whatever the handle points to, which the
 * engine frees with sk_hook_msg_clear() after the transfer.
 */
#ifndef SEKISHO_HOOKS_SINK_INT_H
#define SEKISHO_HOOKS_SINK_INT_H

#include "sekisho/config.h"

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

struct sk_hook_msg {
	char *url;		    /* what the handle was pointed at */
	struct curl_slist *headers; /* HTTP request headers */
	struct curl_slist *rcpt;    /* mail recipients */
	char *mail_from;	    /* the envelope sender */
	char *body;		    /* HTTP body, or the whole mail message */
	size_t len;
	size_t off; /* mail: how much of body was read by the upload */
	/* For the logs and the admin API: who it went to, never a secret
	 * (the URL's host, a mail domain). */
	char *target;
};

struct sk_sink {
	enum sk_hook_type type;
	/*
	 * Builds on easy the delivery of event ev to hook h: ev is the
	 * event parsed, raw its exact JSON text (what a webhook posts and
	 * signs), now the Unix time (Redis TIME) of this attempt.
	 * Returns 0 to send; SK_ERR_NOT_FOUND when there is nothing to
	 * send for this event (no recipient: the user has no address or
	 * is no LINE user, or details.notify is false) and the delivery is
	 * done; any other error fails this attempt (retried).
	 */
	int (*build)(const struct sk_config *cfg, const struct sk_hook_conf *h,
		     const json_t *ev, const char *raw, int64_t now, CURL *easy,
		     struct sk_hook_msg *m);
};

extern const struct sk_sink sk_sink_webhook, sk_sink_slack, sk_sink_teams,
    sk_sink_email, sk_sink_line;

/* Frees what m holds and empties it; the handle must be done with it. */
void sk_hook_msg_clear(struct sk_hook_msg *m);

#endif

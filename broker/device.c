/*
 * The browser's device cookie, its registry at sign-in and the events
 * that name it (device_int.h).
 */
#include "device_int.h"
#include "sekisho/device.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_BYTES 16 /* 128 random bits */
#define DEVICE_CHARS 22 /* their base64url */

static pthread_once_t name_once = PTHREAD_ONCE_INIT;
static char name[96];

static void
name_setup(void)
{
	/* __Host-: Secure, Path=/ and no Domain, so no sibling subdomain
	 * can plant one (as the session cookie, broker/main.c). */
	snprintf(name, sizeof(name), "%s%s_dev",
		 sk_daemon.cfg->cookie.secure ? "__Host-" : "",
		 sk_daemon.cfg->cookie.name);
}

const char *
sk_device_cookie_name(void)
{
	pthread_once(&name_once, name_setup);
	return name;
}

int
sk_device_id(const struct sk_req *req, char out[65])
{
	const char *v = sk_req_cookie(req, sk_device_cookie_name());

	out[0] = '\0';
	if (!sk_token_shape_ok(v, DEVICE_CHARS, DEVICE_CHARS))
		return SK_ERR_NOT_FOUND;
	sk_sha256_hex(v, strlen(v), out);
	return 0;
}

void
sk_device_ensure(const struct sk_req *req, struct sk_resp *resp)
{
	char id[65], *v = NULL;

	if (sk_device_id(req, id) == 0)
		return;
	if (sk_random_token(DEVICE_BYTES, &v) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_cookie(resp, sk_device_cookie_name(), v, SK_DEVICE_MAX_AGE);
	sk_strfreezero(v);
}

int
sk_device_take(const struct sk_req *req, struct sk_resp *resp, char out[65])
{
	char *v = NULL;

	if (sk_device_id(req, out) == 0)
		return 0;
	if (sk_random_token(DEVICE_BYTES, &v) != 0)
		return SK_ERR_NOMEM;
	sk_resp_cookie(resp, sk_device_cookie_name(), v, SK_DEVICE_MAX_AGE);
	sk_sha256_hex(v, strlen(v), out);
	sk_strfreezero(v);
	return 0;
}

/* The event of type about req's browser, with dev (NULL: req's cookie's). */
static void
emit(const struct sk_req *req, const char *type, const char *user_id,
     const char *email, const char *dev, json_t *details)
{
	struct sk_event ev;
	char own[65];

	if (req->tenant == NULL)
		return; /* events are per tenant */
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.tenant = req->tenant->id;
	ev.user_id = user_id;
	ev.email = email;
	ev.ip = req->client_ip;
	ev.user_agent = sk_req_header(req, "User-Agent");
	/* The id is the cookie's hash, never the cookie itself. */
	if (dev == NULL && sk_device_id(req, own) == 0)
		dev = own;
	ev.device = dev;
	ev.details = details;
	if (sk_event_emit(&ev, NULL) != 0)
		sk_warn("event %s (user %s) could not be recorded" SK_REQ_FMT,
			type, user_id != NULL ? user_id : "-",
			SK_REQ_ARGS(req));
}

void
sk_device_event(const struct sk_req *req, const char *type, const char *user_id,
		const char *email, json_t *details)
{
	emit(req, type, user_id, email, NULL, details);
}

void
sk_device_login_failed(const struct sk_req *req, const char *user_id,
		       const char *email, const char *reason, json_t *more)
{
	json_t *d = json_pack("{s:s}", "reason", reason);

	if (d != NULL && more != NULL)
		(void)json_object_update(d, more);
	/* Without memory the event goes without its details, not away. */
	emit(req, SK_EV_LOGIN_FAILED, user_id, email, NULL, d);
	json_decref(d);
}

/* Adds "lang" to d when the request's Accept-Language names one. */
static void
add_lang(json_t *d, const char *lang)
{
	if (d != NULL && lang != NULL)
		(void)json_object_set_new(d, "lang", json_string(lang));
}

void
sk_device_signin(const struct sk_req *req, struct sk_resp *resp,
		 const char *user_id, const char *email, const char *provider,
		 const char *mfa)
{
	const char *lang =
	    sk_device_lang(sk_req_header(req, "Accept-Language"));
	char dev[65], ua[SK_DEVICE_UA_LEN], net[SK_DEVICE_NET_LEN];
	struct sk_device_seen seen;
	json_t *d = NULL;
	bool known;
	int r;

	sk_device_ua_summary(sk_req_header(req, "User-Agent"), ua);
	(void)sk_device_network(req->client_ip, net);
	/* A browser without the cookie (refused, lost or garbage) gets one
	 * now: its next sign-in is then known. */
	if (sk_device_take(req, resp, dev) != 0)
		dev[0] = '\0';
	r = sk_device_record(user_id, dev[0] != '\0' ? dev : NULL, ua, net,
			     &seen);
	known = r == 0;
	if (r != 0)
		sk_warn("devices: the sign-in of user %s could not be "
			"recorded: %s" SK_REQ_FMT,
			user_id, sk_err_str(r), SK_REQ_ARGS(req));
	d = json_pack("{s:s, s:b, s:s?, s:o}", "provider",
		      provider != NULL ? provider : "", "mfa", mfa != NULL,
		      "mfa_method", mfa, "new_device",
		      known ? json_boolean(seen.new_device) : json_null());
	add_lang(d, lang);
	emit(req, SK_EV_LOGIN_SUCCEEDED, user_id, email,
	     dev[0] != '\0' ? dev : NULL, d);
	json_decref(d);
	if (!known || !seen.new_device)
		return;
	/*
	 * Past the user's limit (a browser that refuses cookies is new at
	 * every sign-in) the event is still recorded, but the sinks do not
	 * notify the user of it.
	 */
	if (!seen.notify)
		sk_info("devices: user %s: new device, notification limit "
			"reached" SK_REQ_FMT,
			user_id, SK_REQ_ARGS(req));
	d = json_pack("{s:s, s:s, s:b}", "network", net, "user_agent", ua,
		      "notify", seen.notify);
	add_lang(d, lang);
	emit(req, SK_EV_NEW_DEVICE, user_id, email, dev[0] != '\0' ? dev : NULL,
	     d);
	json_decref(d);
}

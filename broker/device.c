/*
 * The browser's device cookie (device_int.h).
 */
#include "device_int.h"
#include "sekisho/err.h"
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

/*
 * OAuth client authentication (RFC 6749 2.3) for the token, introspection
 * and revocation endpoints: confidential clients by HTTP Basic or form
 * secret, public app clients by their id alone.
 */
#include "clientauth_int.h"
#include "form_int.h"
#include "lock_int.h"
#include "pipeline_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct sk_client_conf *
sk_client_find(const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < sk_daemon.cfg->nclients; i++)
		if (strcmp(sk_daemon.cfg->clients[i].client_id, id) == 0)
			return &sk_daemon.cfg->clients[i];
	return NULL;
}

bool
sk_client_creds_present(struct sk_req *req)
{
	char *v;
	bool dup;

	if (sk_req_header(req, "Authorization") != NULL)
		return true;
	v = sk_form_field(req, "client_secret", &dup);
	sk_strfreezero(v);
	return v != NULL || dup;
}

/* HTTP Basic credentials, each part form-urlencoded first (2.3.1). */
static int
basic_decode(const char *h, char **id, char **secret)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	char *colon;
	int r = SK_ERR_DENIED;

	*id = *secret = NULL;
	if (strncasecmp(h, "Basic ", 6) != 0 || strlen(h) > 1024)
		return SK_ERR_DENIED;
	if (sk_b64_decode(h + 6, strlen(h + 6), &raw, &rawlen) != 0 ||
	    strlen((char *)raw) != rawlen ||
	    (colon = strchr((char *)raw, ':')) == NULL)
		goto out;
	if ((*id = sk_urldecode((char *)raw, (size_t)(colon - (char *)raw))) ==
		NULL ||
	    (*secret = sk_urldecode(colon + 1, strlen(colon + 1))) == NULL)
		goto out;
	r = 0;
out:
	if (raw != NULL)
		sk_freezero(raw, rawlen + 1);
	if (r != 0) {
		free(*id);
		sk_strfreezero(*secret);
		*id = *secret = NULL;
	}
	return r;
}

int
sk_client_auth(struct sk_req *req, const struct sk_client_conf **out)
{
	static const char dummy[] = "no-such-client-secret-for-timing";
	const char *h = sk_req_header(req, "Authorization");
	const struct sk_client_conf *c;
	char *fid = NULL, *fsecret = NULL, *id = NULL, *secret = NULL;
	bool dup_id, dup_secret, ok;
	int r = SK_ERR_DENIED;

	*out = NULL;
	fid = sk_form_field(req, "client_id", &dup_id);
	fsecret = sk_form_field(req, "client_secret", &dup_secret);
	if (dup_id || dup_secret)
		goto out;
	if (h != NULL) {
		/* RFC 6749 2.3: one method per request. A form client_id
		 * next to Basic must name the same client. */
		if (fsecret != NULL || basic_decode(h, &id, &secret) != 0 ||
		    (fid != NULL && strcmp(fid, id) != 0))
			goto out;
	} else {
		if (fid == NULL || fsecret == NULL)
			goto out;
		id = fid;
		secret = fsecret;
		fid = fsecret = NULL;
	}
	c = sk_client_find(id);
	/* Compare even for an unknown id, so timing does not tell ids apart. */
	ok = sk_ct_streq(secret, c != NULL && c->client_secret != NULL
				     ? c->client_secret
				     : dummy);
	if (c != NULL && c->client_secret != NULL && ok) {
		*out = c;
		r = 0;
	}
out:
	/* Counted against the guesser's limits (pipeline.c) and, as a
	 * failure, against the address's lockout (docs/lockout.md): a
	 * secret guessed from one address stops at
	 * lockout.ip_max_failures. Only failures pay a Redis call. */
	if (r != 0) {
		sk_pipeline_client_failed(req, id != NULL ? id : fid);
		sk_lock_addr_fail(req, "client_auth");
	}
	free(id);
	free(fid);
	sk_strfreezero(secret);
	sk_strfreezero(fsecret);
	return r;
}

char *
sk_client_claimed_id(const struct sk_req *req)
{
	const char *h = sk_req_header(req, "Authorization");
	char *id = NULL, *secret = NULL;
	bool dup;

	if (h == NULL)
		return sk_form_field(req, "client_id", &dup);
	if (basic_decode(h, &id, &secret) == 0)
		sk_strfreezero(secret);
	return id;
}

void
sk_resp_invalid_client(struct sk_resp *resp)
{
	sk_resp_header(resp, "WWW-Authenticate", "Basic realm=\"sekisho\"");
	sk_resp_json_error(resp, 401, "invalid_client",
			   "client authentication failed");
}

bool
sk_app_client_public(const char *id)
{
	const struct sk_client_conf *c = sk_client_find(id);

	return c != NULL && c->public_client;
}

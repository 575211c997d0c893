/* Links with ?rd= and the check of an incoming rd (rd_int.h). */
#include "answer_int.h"
#include "rd_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdlib.h>

void
sk_rd_link(struct sk_buf *b, const char *base, const char *path,
	   const char *segment, const char *rd)
{
	sk_buf_adds(b, base);
	sk_buf_adds(b, path);
	if (segment != NULL)
		sk_buf_add_urlenc(b, segment);
	if (rd != NULL) {
		sk_buf_adds(b, "?rd=");
		sk_buf_add_urlenc(b, rd);
	}
}

void
sk_rd_link_html(struct sk_buf *b, const char *base, const char *path,
		const char *segment, const char *rd)
{
	struct sk_buf e;

	/* Percent-encoded first, then safe inside the attribute. */
	sk_buf_init(&e);
	sk_rd_link(&e, base, path, segment, rd);
	sk_buf_add_html(b, e.data != NULL ? e.data : "");
	if (e.oom)
		b->oom = true;
	sk_buf_free(&e);
}

int
sk_rd_url(char **out, const char *base, const char *path, const char *segment,
	  const char *rd)
{
	struct sk_buf b;

	*out = NULL;
	sk_buf_init(&b);
	sk_rd_link(&b, base, path, segment, rd);
	return sk_buf_take(&b, out);
}

void
sk_rd_redirect(struct sk_resp *resp, const char *base, const char *path,
	       const char *segment, const char *rd)
{
	char *url = NULL;

	if (sk_rd_url(&url, base, path, segment, rd) != 0) {
		resp->oom = true;
		return;
	}
	sk_resp_redirect(resp, url);
	free(url);
}

bool
sk_flow_rd(struct sk_req *req, struct sk_resp *resp, const char **rd)
{
	bool dup;

	*rd = sk_req_query(req, "rd", &dup);
	if (dup) {
		sk_req_refuse(req, resp, SK_ERR_INVALID, N_("Bad request"),
			      N_("The rd parameter was given more than once."));
		return false;
	}
	if (*rd != NULL &&
	    sk_redirect_check_tenant(sk_daemon.cfg, req->tenant, *rd) != 0) {
		sk_req_refuse(req, resp, SK_ERR_INVALID,
			      N_("Redirect not allowed"),
			      N_("The address to return to after signing in is "
				 "not on the list of allowed hosts."));
		return false;
	}
	return true;
}

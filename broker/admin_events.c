/*
 * GET /admin/v1/tenants/{tenant}/events?before=&limit= (admin_int.h):
 * the tenant's events, newest first, a page at a time.
 */
#include "admin_int.h"
#include "sekisho/err.h"
#include "sekisho/event.h"

#include <stdlib.h>
#include <string.h>

#define EVENTS_DEFAULT 50
#define EVENTS_MAX 1000

int
sk_admin_events(struct sk_req *req, struct sk_resp *resp,
		const struct sk_admin_caller *who, const char *method,
		const char *rest)
{
	const char *before, *limit;
	json_t *list = NULL, *last;
	char *end;
	long n = EVENTS_DEFAULT;
	bool dup_b = false, dup_l = false;
	int r;

	if (strcmp(rest, "events") != 0)
		return SK_ADMIN_NOT_MINE;
	if (strcmp(method, "GET") != 0) {
		sk_admin_method_not_allowed(resp, "GET, HEAD");
		return 0;
	}
	before = sk_req_query(req, "before", &dup_b);
	limit = sk_req_query(req, "limit", &dup_l);
	if (dup_b || dup_l) {
		sk_admin_error(resp, 400, "invalid_request",
			       "before and limit may be given once each");
		return 0;
	}
	if (limit != NULL) {
		n = strtol(limit, &end, 10);
		if (limit[0] < '0' || limit[0] > '9' || *end != '\0' || n < 1 ||
		    n > EVENTS_MAX) {
			sk_admin_error(resp, 400, "invalid_request",
				       "limit: a number from 1 to 1000");
			return 0;
		}
	}
	if (before != NULL && before[0] == '\0')
		before = NULL;
	r = sk_event_list(who->tenant->id, before, (size_t)n, &list);
	if (r == SK_ERR_INVALID) {
		sk_admin_error(resp, 400, "invalid_request",
			       "before: not a cursor of this list (use the "
			       "cursor member of an event, or next_before)");
		return 0;
	}
	if (r != 0) {
		sk_admin_fail(resp, r, NULL);
		return 0;
	}
	/* next_before: the cursor of the last event of a full page. */
	last =
	    json_array_size(list) == (size_t)n
		? json_object_get(json_array_get(list, (size_t)n - 1), "cursor")
		: NULL;
	sk_admin_json(resp, 200,
		      json_pack("{s:o, s:O}", "events", list, "next_before",
				last != NULL ? last : json_null()));
	return 0;
}

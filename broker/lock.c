/*
 * The lockout on request paths (lock_int.h).
 */
#include "answer_int.h"
#include "device_int.h"
#include "lock_int.h"
#include "page_int.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The defaults of config/defaults.c, for requests without a tenant. */
static const struct sk_lockout_conf no_tenant = {
    .max_failures = 5,
    .user_max_failures = 20,
    .ip_max_failures = 50,
    .window = 15 * 60,
    .duration = 15 * 60,
    .max_duration = 86400,
};

const struct sk_lockout_conf *
sk_lock_conf(const struct sk_req *req)
{
	return req->tenant != NULL ? &req->tenant->lockout : &no_tenant;
}

/* The lock's end as "HH:MM:SS UTC" and as RFC 3339. */
static void
lock_when(const struct sk_lock *lock, char hms[32], char iso[32])
{
	time_t t = (time_t)((lock->until_ms + 999) / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(hms, 32, "%H:%M:%S UTC", &tm) == 0 ||
	    strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(hms, 32, "the lock ends");
		snprintf(iso, 32, "unknown");
	}
}

void
sk_lock_answer(const struct sk_req *req, struct sk_resp *resp,
	       const struct sk_lock *lock)
{
	char desc[160], hms[32], iso[32], mins[24];
	int64_t min = (lock->retry_after + 59) / 60;
	const struct sk_msg_arg args[] = {
	    {"minutes", mins, 0},
	    /* Shown to the minute: the next whole one, never too early. */
	    {"until", NULL, (lock->until_ms + 59999) / 60000 * 60},
	    {NULL, NULL, 0}};
	const char *msg;

	lock_when(lock, hms, iso);
	snprintf(mins, sizeof(mins), "%lld", (long long)min);
	/* One message per case ("1 minute", "{minutes} minutes"): the
	 * catalogues say each as the language would. */
	if (lock->kind == SK_LOCK_ADDRESS)
		msg = min == 1 ? N_("Too many failed attempts came from your "
				    "network. For everyone's security, "
				    "requests from it are refused for a "
				    "while: try again in 1 minute (after "
				    "{until}).")
			       : N_("Too many failed attempts came from your "
				    "network. For everyone's security, "
				    "requests from it are refused for a "
				    "while: try again in {minutes} minutes "
				    "(after {until}).");
	else
		msg = min == 1
			  ? N_("Too many wrong codes. For your security, codes "
			       "are not checked for a while: try again in 1 "
			       "minute (after {until}).")
			  : N_("Too many wrong codes. For your security, codes "
			       "are not checked for a while: try again in "
			       "{minutes} minutes (after {until}).");
	snprintf(desc, sizeof(desc), "too many failed attempts; retry after %s",
		 iso);
	sk_req_error(req, resp, SK_ERR_LIMITED,
		     &(struct sk_err_say){.title = N_("Try again later"),
					  .message = msg,
					  .args = args,
					  .description = desc,
					  .retry_after = lock->retry_after});
}

bool
sk_lock_addr_refused(const struct sk_req *req, struct sk_resp *resp)
{
	struct sk_lock lock;

	if (!sk_lockout_addr_cached(req->client_ip, &lock))
		return false;
	sk_info("lockout: refused: address locked for %llds more" SK_REQ_FMT,
		(long long)lock.retry_after, SK_REQ_ARGS(req));
	sk_lock_answer(req, resp, &lock);
	return true;
}

void
sk_lock_record(const struct sk_req *req, const struct sk_lock *lock,
	       const char *user_id, const char *email)
{
	char hms[32], iso[32];
	json_t *d;

	if (lock->kind == SK_LOCK_NONE || !lock->fresh)
		return;
	lock_when(lock, hms, iso);
	sk_warn("lockout: %s locked after %lld failures until %s (user "
		"%s)" SK_REQ_FMT,
		sk_lock_kind_name(lock->kind), (long long)lock->failures, iso,
		user_id != NULL ? user_id : "-", SK_REQ_ARGS(req));
	/* Events are per tenant: without one, the log line says it. */
	d = json_pack("{s:s, s:s, s:I, s:I}", "key",
		      sk_lock_kind_name(lock->kind), "until", iso, "seconds",
		      (json_int_t)lock->retry_after, "failures",
		      (json_int_t)lock->failures);
	sk_device_event(req, SK_EV_LOCKOUT, user_id, email, d);
	json_decref(d);
}

void
sk_lock_addr_fail(const struct sk_req *req, const char *what)
{
	struct sk_lock lock;
	int r;

	r = sk_lockout_addr_fail(req->client_ip, sk_lock_conf(req), &lock);
	if (r != 0 && r != SK_ERR_INVALID) {
		sk_warn("lockout: a failure (%s) could not be counted: "
			"%s" SK_REQ_FMT,
			what, sk_err_str(r), SK_REQ_ARGS(req));
		return;
	}
	sk_lock_record(req, &lock, NULL, NULL);
}

void
sk_lock_user_fail(const struct sk_req *req, const char *user_id,
		  const char *email)
{
	struct sk_lock lock;
	char dev[65];
	int r;

	r = sk_lockout_user_fail(user_id,
				 sk_device_id(req, dev) == 0 ? dev : NULL,
				 sk_lock_conf(req), &lock);
	if (r != 0) {
		sk_warn("lockout: a refused sign-in of user %s could not be "
			"counted: %s" SK_REQ_FMT,
			user_id, sk_err_str(r), SK_REQ_ARGS(req));
		return;
	}
	sk_lock_record(req, &lock, user_id, email);
}

/*
 * Does Redis keep what Sekisho stores? (session/include/sekisho/store.h)
 *
 * An evicting maxmemory-policy drops keys silently under memory pressure:
 * TOTP factors (a user then signs in without her second factor), the
 * failed-code counters, tenant data keys (a correct code then fails for
 * good). Without persistence a Redis restart drops all of it at once.
 * Both are read with INFO, which managed services that disable CONFIG
 * still answer; CONFIG GET save is asked only when AOF is off, to see an
 * RDB save schedule.
 */
#include "sekisho/store.h"
#include "sekisho/err.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sk_store_info_field(const char *info, const char *name, char *out,
		    size_t outlen)
{
	size_t n = strlen(name), len;
	const char *p = info;

	if (outlen == 0)
		return SK_ERR_INVALID;
	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			len = strcspn(p, "\r\n");
			if (len >= outlen)
				return SK_ERR_TOO_LARGE;
			memcpy(out, p, len);
			out[len] = '\0';
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return SK_ERR_NOT_FOUND;
}

/* The text of INFO <section>; SK_ERR_STORE when refused or unreachable. */
static int
info(const char *section, struct sk_reply **rep)
{
	struct sk_cmd c;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "INFO");
	sk_cmd_add_str(&c, section);
	if ((r = sk_cmd_run(&c, rep)) != 0)
		return r;
	if ((*rep)->type != SK_REPLY_STRING) {
		sk_reply_free(rep);
		return SK_ERR_STORE;
	}
	return 0;
}

/*
 * The RDB save schedule ("3600 1 300 100", "" when off). SK_ERR_DENIED
 * when CONFIG is refused (renamed, ACL, managed service).
 */
static int
save_schedule(char *out, size_t outlen)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	out[0] = '\0';
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "CONFIG");
	sk_cmd_add_str(&c, "GET");
	sk_cmd_add_str(&c, "save");
	if (sk_cmd_run(&c, &rep) != 0)
		return SK_ERR_DENIED;
	if (rep->type == SK_REPLY_ARRAY && rep->nelem == 2 &&
	    rep->elem[1]->type == SK_REPLY_STRING) {
		snprintf(out, outlen, "%s", rep->elem[1]->str);
		r = 0;
	} else {
		r = SK_ERR_DENIED;
	}
	sk_reply_free(&rep);
	return r;
}

int
sk_store_check_durable(bool require_persistence, char *why, size_t whylen)
{
	struct sk_reply *rep = NULL;
	char policy[64], aof[8], save[256];
	int r;

	why[0] = '\0';
	/* A transport failure is "unreachable", not a verdict. */
	if ((r = sk_store_ping()) != 0)
		return SK_ERR_STORE;
	if (info("memory", &rep) != 0 ||
	    sk_store_info_field(rep->str, "maxmemory_policy", policy,
				sizeof(policy)) != 0) {
		snprintf(why, whylen,
			 "cannot read maxmemory_policy (INFO memory refused); "
			 "Redis must run with maxmemory-policy noeviction");
		r = SK_ERR_CONFIG;
		goto out;
	}
	sk_reply_free(&rep);
	if (strcmp(policy, "noeviction") != 0) {
		snprintf(why, whylen,
			 "maxmemory-policy is %s: Redis may evict keys and "
			 "silently drop second factors, data keys and "
			 "sessions; set maxmemory-policy noeviction",
			 policy);
		r = SK_ERR_CONFIG;
		goto out;
	}
	if (info("persistence", &rep) != 0 ||
	    sk_store_info_field(rep->str, "aof_enabled", aof, sizeof(aof)) !=
		0) {
		snprintf(why, whylen,
			 "cannot read aof_enabled (INFO "
			 "persistence refused)");
		r = require_persistence ? SK_ERR_CONFIG : 0;
		goto out;
	}
	if (strcmp(aof, "1") == 0)
		goto out;
	if (!require_persistence) {
		/* Only a warning is wanted; spare the CONFIG round trip. */
		snprintf(why, whylen,
			 "append-only file is off and persistence is not "
			 "required (redis.require_persistence: false): make "
			 "sure Redis keeps its data across restarts");
		goto out;
	}
	r = save_schedule(save, sizeof(save));
	if (r == 0 && save[0] != '\0')
		goto out;
	if (r == 0)
		snprintf(why, whylen,
			 "persistence is off (appendonly no, no save "
			 "schedule): a Redis restart would lose every second "
			 "factor and data key; set appendonly yes (or a save "
			 "schedule), or redis.require_persistence: false");
	else
		snprintf(why, whylen,
			 "persistence cannot be verified (appendonly is off "
			 "and CONFIG GET save is refused); set appendonly "
			 "yes, or, if the service persists the data itself, "
			 "redis.require_persistence: false");
	r = SK_ERR_CONFIG;
out:
	sk_reply_free(&rep);
	return r;
}

int
sk_store_used_memory(int64_t *bytes)
{
	struct sk_reply *rep = NULL;
	char v[32], *end;
	int r;

	*bytes = -1;
	if ((r = info("memory", &rep)) != 0)
		return r;
	if ((r = sk_store_info_field(rep->str, "used_memory", v, sizeof(v))) ==
	    0) {
		*bytes = strtoll(v, &end, 10);
		if (end == v || *end != '\0') {
			*bytes = -1;
			r = SK_ERR_STORE;
		}
	}
	sk_reply_free(&rep);
	return r;
}

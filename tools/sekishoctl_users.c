/*
 * sekishoctl users, invite, sessions: a tenant's users for the operator
 * on the server (docs/users.md). They talk to the configuration's Redis
 * directly, as the admin API does, and record every change as an event
 * of the tenant, made by "sekishoctl:<login name>".
 *
 * Output: readable tables, or with --json the JSON the admin API answers.
 * Exit status: 0 done, 1 failed (no such user, Redis unreachable...),
 * 2 usage error.
 */
#include "sekisho/config.h"
#include "sekisho/device.h"
#include "sekisho/directory.h"
#include "sekisho/err.h"
#include "sekisho/invite.h"
#include "sekisho/opts.h"
#include "sekisho/store.h"
#include "sekisho/util.h"
#include "sekishoctl_int.h"

#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
	O_CONFIG,
	O_HELP,
	O_TENANT,
	O_JSON,
	O_QUERY,
	O_CURSOR,
	O_LIMIT,
	O_ROLE,
	O_EXPIRES,
};
static const struct sk_opt uopts[] = {
    [O_CONFIG] = {'c', NULL, "FILE", NULL},
    [O_HELP] = {'h', NULL, NULL, NULL},
    [O_TENANT] = {'t', "tenant", "TENANT", NULL},
    [O_JSON] = {0, "json", NULL, NULL},
    [O_QUERY] = {'q', "query", "TEXT", NULL},
    [O_CURSOR] = {0, "cursor", "CURSOR", NULL},
    [O_LIMIT] = {0, "limit", "N", NULL},
    [O_ROLE] = {0, "role", "ROLE", NULL},
    [O_EXPIRES] = {0, "expires", "DURATION", NULL},
};

/* One command's parsed options and connection. */
struct ctl {
	const char *path, *tenant_id, *query, *cursor, *role, *expires;
	long limit;
	bool json;
	char **args; /* operands after the subcommand */
	int nargs;
	struct sk_config *cfg;
	const struct sk_tenant_conf *t;
	char login[64];
	struct sk_actor by;
};

static void
usage(FILE *f)
{
	fputs("usage: sekishoctl COMMAND [OPTIONS]\n\n" SK_CTL_USERS_USAGE
	      "\ncommon options: -c FILE (configuration), -t TENANT (needed "
	      "when the\nconfiguration has more than one), --json\n",
	      f);
}

/*
 * Parses options (anywhere among the operands) after argv[0] (the
 * subcommand); 0, or the exit status of a usage error or help.
 */
static int
parse(struct ctl *x, int argc, char **argv)
{
	struct sk_opts o;
	const char *arg;
	char *end;
	int opt;

	memset(x, 0, sizeof(*x));
	x->limit = 50;
	if (sk_opts_start(&o, uopts, SK_ARRAY_SIZE(uopts), false) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc, argv, &arg)) != -1) {
		switch (opt) {
		case O_CONFIG:
			x->path = arg;
			break;
		case O_HELP:
			usage(stdout);
			return -1;
		case O_TENANT:
			x->tenant_id = arg;
			break;
		case O_JSON:
			x->json = true;
			break;
		case O_QUERY:
			x->query = arg;
			break;
		case O_CURSOR:
			x->cursor = arg;
			break;
		case O_LIMIT:
			x->limit = strtol(arg, &end, 10);
			if (*end != '\0' || x->limit < 1 ||
			    x->limit > SK_DIR_PAGE_MAX) {
				fprintf(stderr,
					"sekishoctl: --limit %s: a number "
					"from 1 to %d\n",
					arg, SK_DIR_PAGE_MAX);
				return 2;
			}
			break;
		case O_ROLE:
			x->role = arg;
			break;
		case O_EXPIRES:
			x->expires = arg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	x->args = argv + optind;
	x->nargs = argc - optind;
	return 0;
}

/* "sekishoctl:<login name>": the record's actor (as sekishoctl policy);
 * by->id points into login. */
static void
operator_of(struct sk_actor *by, char login[64])
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(login, 64, "sekishoctl:%s", pw->pw_name);
	else
		snprintf(login, 64, "sekishoctl:uid %lu",
			 (unsigned long)geteuid());
	memset(by, 0, sizeof(*by));
	by->type = "sekishoctl";
	by->id = login;
}

static void
operator_name(struct ctl *x)
{
	operator_of(&x->by, x->login);
}

void
sk_ctl_key_rotated(const struct sk_config *cfg, json_t *details)
{
	struct sk_actor by;
	char login[64];

	operator_of(&by, login);
	if (sk_dir_key_rotated(cfg, &by, details) != 0)
		fprintf(stderr, "sekishoctl: warning: the key_rotated event "
				"could not be recorded in every tenant\n");
}

/* The tenant holding user id uid (user ids are unique), or NULL. */
static const struct sk_tenant_conf *
tenant_of(const struct ctl *x, const char *uid)
{
	json_t *u = NULL;
	size_t i;

	for (i = 0; uid != NULL && i < x->cfg->ntenants; i++)
		if (sk_dir_user(x->cfg->tenants[i].id, uid, &u) == 0) {
			json_decref(u);
			return &x->cfg->tenants[i];
		}
	return NULL;
}

/*
 * Loads the config, picks the tenant (-t; else the only one, else the
 * one of the user uid names when not NULL), connects; 0 or an exit
 * status.
 */
static int
open_tenant(struct ctl *x, const char *uid)
{
	size_t i;
	int r;

	if ((r = sk_ctl_open(x->path, &x->cfg)) != 0)
		return r;
	if (x->tenant_id == NULL && x->cfg->ntenants == 1) {
		x->t = &x->cfg->tenants[0];
	} else if (x->tenant_id == NULL && (x->t = tenant_of(x, uid)) != NULL) {
		/* found by its user */
	} else if (x->tenant_id == NULL && uid != NULL) {
		fprintf(stderr, "sekishoctl: no user %s in any tenant\n", uid);
		return 1;
	} else if (x->tenant_id == NULL) {
		fprintf(stderr,
			"sekishoctl: the configuration has %zu "
			"tenants: name one with -t TENANT\n",
			x->cfg->ntenants);
		return 2;
	} else if ((x->t = sk_config_tenant(x->cfg, x->tenant_id)) == NULL) {
		fprintf(stderr, "sekishoctl: no tenant %s in %s (tenants:",
			x->tenant_id, x->cfg->path);
		for (i = 0; i < x->cfg->ntenants; i++)
			fprintf(stderr, " %s", x->cfg->tenants[i].id);
		fputs(")\n", stderr);
		return 2;
	}
	operator_name(x);
	return 0;
}

static void
close_ctl(struct ctl *x)
{
	if (x->cfg != NULL)
		sk_store_shutdown();
	sk_config_free(&x->cfg);
}

/* Says why a call failed; the exit status (1). */
static int
failed(const struct ctl *x, const char *what, const char *id, int r)
{
	if (r == SK_ERR_NOT_FOUND)
		fprintf(stderr, "sekishoctl: no %s %s in tenant %s\n", what, id,
			x->t->id);
	else
		fprintf(stderr, "sekishoctl: %s %s: %s\n", what, id,
			sk_err_str(r));
	return 1;
}

static void
print_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL)
		puts(s);
	free(s);
}

/* A string member, "" when absent or null. */
static const char *
str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

static const char *
yes(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k)) ? "yes" : "no";
}

static void
print_user(const json_t *u)
{
	printf("id:             %s\n", str(u, "id"));
	printf("email:          %s%s\n", str(u, "email"),
	       json_is_true(json_object_get(u, "email_verified"))
		   ? ""
		   : " (not verified)");
	printf("name:           %s\n", str(u, "name"));
	printf("role:           %s\n", str(u, "role"));
	printf("disabled:       %s\n", yes(u, "disabled"));
	printf("totp enrolled:  %s\n", yes(json_object_get(u, "mfa"), "totp"));
	if (json_object_get(u, "issuer") != NULL)
		printf("issuer:         %s\n", str(u, "issuer"));
	if (json_object_get(u, "created") != NULL)
		printf("created:        %s\n",
		       json_is_null(json_object_get(u, "created"))
			   ? "unknown"
			   : str(u, "created"));
	if (json_object_get(u, "last_signin") != NULL)
		printf("last sign-in:   %s\n",
		       json_is_null(json_object_get(u, "last_signin"))
			   ? "unknown"
			   : str(u, "last_signin"));
}

static int
users_list(struct ctl *x)
{
	json_t *page = NULL, *u;
	size_t i;
	int r;

	if (x->nargs != 0)
		return 2;
	if ((r = sk_dir_list(x->t->id, x->query, x->cursor, (size_t)x->limit,
			     &page)) != 0) {
		fprintf(stderr, "sekishoctl: users list: %s\n",
			r == SK_ERR_INVALID ? "not a cursor of this list"
					    : sk_err_str(r));
		return 1;
	}
	if (x->json) {
		print_json(page);
	} else {
		printf("%-22s  %-32s  %-20s  %-6s  %-8s  %s\n", "ID", "EMAIL",
		       "NAME", "ROLE", "DISABLED", "TOTP");
		json_array_foreach(json_object_get(page, "users"), i, u)
			printf("%-22s  %-32s  %-20s  %-6s  %-8s  %s\n",
			       str(u, "id"), str(u, "email"), str(u, "name"),
			       str(u, "role"), yes(u, "disabled"),
			       yes(json_object_get(u, "mfa"), "totp"));
		if (json_is_string(json_object_get(page, "next_cursor")))
			printf("more: --cursor %s\n", str(page, "next_cursor"));
	}
	json_decref(page);
	return 0;
}

/* Prints a result (the user, mostly) and frees it: exit status 0. */
static int
done(const struct ctl *x, json_t *o, const char *line)
{
	if (x->json)
		print_json(o);
	else if (line != NULL)
		puts(line);
	else
		print_user(o);
	json_decref(o);
	return 0;
}

/* users devices USER_ID: the devices the user signed in from. */
static int
users_devices(struct ctl *x, const char *uid)
{
	json_t *a = NULL, *d;
	size_t i;
	int r;

	if ((r = sk_device_list(x->t->id, uid, &a)) != 0)
		return failed(x, "user", uid, r);
	if (x->json) {
		print_json(a);
	} else {
		printf("%-64s  %-20s  %-20s  %-18s  %s\n", "DEVICE",
		       "LAST SEEN", "FIRST SEEN", "NETWORK", "BROWSER");
		json_array_foreach(a, i, d)
			printf("%-64s  %-20s  %-20s  %-18s  %s\n", str(d, "id"),
			       str(d, "last_seen"), str(d, "first_seen"),
			       str(d, "network"), str(d, "user_agent"));
	}
	json_decref(a);
	return 0;
}

static int
users_one(struct ctl *x, const char *cmd)
{
	const char *uid, *why = NULL;
	json_t *o = NULL;
	char line[256];
	int r;

	if (x->nargs !=
	    (strcmp(cmd, "role") == 0 || strcmp(cmd, "forget-device") == 0 ? 2
									   : 1))
		return 2;
	uid = x->args[0];
	if (strcmp(cmd, "devices") == 0)
		return users_devices(x, uid);
	if (strcmp(cmd, "forget-device") == 0) {
		r = sk_dir_change_device_forget(x->t, uid, x->args[1], &x->by,
						&o);
		if (r == SK_ERR_INVALID) {
			fprintf(stderr,
				"sekishoctl: %s: not a device id (64 hex "
				"digits, as users devices lists them)\n",
				x->args[1]);
			return 1;
		}
		if (r != 0)
			return failed(x, "device of user", uid, r);
		snprintf(line, sizeof(line),
			 "%s: device %.12s... forgotten; its next sign-in is "
			 "a new device",
			 uid, x->args[1]);
		return done(x, o, line);
	}
	if (strcmp(cmd, "show") == 0) {
		if ((r = sk_dir_user(x->t->id, uid, &o)) != 0)
			return failed(x, "user", uid, r);
		return done(x, o, NULL);
	}
	if (strcmp(cmd, "role") == 0) {
		if (sk_role_name(x->args[1]) == NULL) {
			fprintf(stderr,
				"sekishoctl: %s: not a role (admin, editor or "
				"viewer)\n",
				x->args[1]);
			return 2;
		}
		r = sk_dir_change_role(x->t, uid, x->args[1], &x->by, &o, &why);
		if (r == SK_ERR_DENIED) {
			fprintf(stderr, "sekishoctl: %s: %s\n", uid, why);
			return 1;
		}
		snprintf(line, sizeof(line), "%s: role %s", uid, x->args[1]);
	} else if (strcmp(cmd, "mfa-reset") == 0) {
		r = sk_dir_change_mfa_reset(x->t, uid, &x->by, &o);
		snprintf(line, sizeof(line),
			 "%s: second factor reset; the next sign-in that "
			 "needs one enrols a new one",
			 uid);
	} else {
		bool disable = strcmp(cmd, "disable") == 0;
		r = sk_dir_change_disabled(x->t, uid, disable, &x->by, &o);
		snprintf(line, sizeof(line), "%s %s%s", uid,
			 disable ? "disabled" : "enabled",
			 disable ? "; all sessions ended" : "");
	}
	if (r != 0)
		return failed(x, "user", uid, r);
	return done(x, o, line);
}

static const char *const users_cmds[] = {"list",    "show",    "role",
					 "disable", "enable",  "mfa-reset",
					 "reindex", "devices", "forget-device"};

int
sk_ctl_users(int argc, char **argv)
{
	struct ctl x;
	size_t i, n;
	int r;

	for (i = 0; argc >= 2 && i < SK_ARRAY_SIZE(users_cmds); i++)
		if (strcmp(argv[1], users_cmds[i]) == 0)
			break;
	if (argc < 2 || i == SK_ARRAY_SIZE(users_cmds)) {
		usage(stderr);
		return 2;
	}
	if ((r = parse(&x, argc - 1, argv + 1)) != 0)
		return r < 0 ? 0 : r;
	if (strcmp(argv[1], "reindex") == 0) {
		if (x.nargs != 0) {
			usage(stderr);
			return 2;
		}
		if ((r = sk_ctl_open(x.path, &x.cfg)) != 0)
			return r;
		if ((r = sk_dir_reindex(&n)) != 0)
			fprintf(stderr, "sekishoctl: users reindex: %s\n",
				sk_err_str(r));
		else
			printf("%zu users in their tenants' directories\n", n);
		close_ctl(&x);
		return r != 0 ? 1 : 0;
	}
	if ((r = open_tenant(&x, strcmp(argv[1], "list") != 0 && x.nargs > 0
				     ? x.args[0]
				     : NULL)) == 0)
		r = strcmp(argv[1], "list") == 0 ? users_list(&x)
						 : users_one(&x, argv[1]);
	if (r == 2 && x.t != NULL)
		usage(stderr);
	close_ctl(&x);
	return r;
}

static int
invite_list(struct ctl *x)
{
	json_t *a = NULL, *v;
	size_t i;
	int r;

	if ((r = sk_invite_list(x->t->id, &a)) != 0) {
		fprintf(stderr, "sekishoctl: invite list: %s\n", sk_err_str(r));
		return 1;
	}
	if (x->json) {
		print_json(a);
	} else {
		printf("%-24s  %-32s  %-6s  %-20s  %s\n", "ID", "EMAIL", "ROLE",
		       "EXPIRES", "BY");
		json_array_foreach(a, i, v)
			printf("%-24s  %-32s  %-6s  %-20s  %s\n", str(v, "id"),
			       str(v, "email"), str(v, "role"),
			       str(v, "expires"), str(v, "by"));
	}
	json_decref(a);
	return 0;
}

static int
invite_create(struct ctl *x)
{
	const char *role = x->role != NULL ? x->role : SK_ROLE_DEFAULT;
	int64_t ttl = SK_INVITE_TTL_DEFAULT;
	char line[1024];
	json_t *o = NULL;
	int r;

	if (!sk_invite_email_ok(x->args[0])) {
		fprintf(stderr, "sekishoctl: %s: not an e-mail address\n",
			x->args[0]);
		return 2;
	}
	if (sk_role_name(role) == NULL) {
		fprintf(stderr,
			"sekishoctl: --role %s: not a role (admin, editor or "
			"viewer)\n",
			role);
		return 2;
	}
	if (x->expires != NULL &&
	    (sk_parse_duration(x->expires, &ttl) != 0 ||
	     ttl < SK_INVITE_TTL_MIN || ttl > SK_INVITE_TTL_MAX)) {
		fprintf(stderr,
			"sekishoctl: --expires %s: a duration from 1m to 90d "
			"(e.g. 7d)\n",
			x->expires);
		return 2;
	}
	if ((r = sk_dir_invite(x->cfg, x->t, x->args[0], role, ttl, &x->by,
			       &o)) != 0) {
		fprintf(stderr, "sekishoctl: invite %s: %s\n", x->args[0],
			r == SK_ERR_DENIED ? "a member of the tenant already "
					     "has this address (change their "
					     "role with users role)"
					   : sk_err_str(r));
		return 1;
	}
	snprintf(line, sizeof(line),
		 "invited %s to %s as %s until %s (%s)\nlink: %s", x->args[0],
		 x->t->id, role, str(o, "expires"), str(o, "id"),
		 str(o, "link"));
	return done(x, o, line);
}

int
sk_ctl_invite(int argc, char **argv)
{
	struct ctl x;
	json_t *o = NULL;
	char line[128];
	int r;

	/* "invite EMAIL", "invite list", "invite revoke ID": an address has
	 * an @, the subcommands do not. */
	if ((r = parse(&x, argc, argv)) != 0)
		return r < 0 ? 0 : r;
	if (x.nargs < 1 ||
	    (strcmp(x.args[0], "revoke") == 0) != (x.nargs == 2) ||
	    (strcmp(x.args[0], "revoke") != 0 && x.nargs != 1)) {
		usage(stderr);
		return 2;
	}
	if ((r = open_tenant(&x, NULL)) != 0)
		goto out;
	if (strcmp(x.args[0], "list") == 0) {
		r = invite_list(&x);
	} else if (strcmp(x.args[0], "revoke") == 0) {
		if ((r = sk_dir_invite_withdraw(x.t, x.args[1], &x.by, &o)) !=
		    0) {
			r = failed(&x, "invitation", x.args[1], r);
			goto out;
		}
		snprintf(line, sizeof(line), "invitation %s withdrawn",
			 x.args[1]);
		r = done(&x, o, line);
	} else {
		r = invite_create(&x);
	}
out:
	if (r == 2 && x.t != NULL)
		usage(stderr);
	close_ctl(&x);
	return r;
}

int
sk_ctl_sessions(int argc, char **argv)
{
	struct ctl x;
	json_t *o = NULL, *v;
	char line[256], hint[23];
	size_t i;
	int r;

	if (argc < 2 ||
	    (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "revoke") != 0)) {
		usage(stderr);
		return 2;
	}
	if ((r = parse(&x, argc - 1, argv + 1)) != 0)
		return r < 0 ? 0 : r;
	if (x.nargs != 1) {
		usage(stderr);
		return 2;
	}
	/* A session id starts with its user's id ("u_" and 20 more). */
	snprintf(hint, sizeof(hint), "%s", x.args[0]);
	if ((r = open_tenant(&x, hint)) != 0)
		goto out;
	if (strcmp(argv[1], "revoke") == 0) {
		if ((r = sk_dir_change_session_revoke(x.t, x.args[0], &x.by,
						      &o)) != 0) {
			r = failed(&x, "session", x.args[0], r);
			goto out;
		}
		snprintf(line, sizeof(line),
			 "session ended; its tokens are inactive");
		r = done(&x, o, line);
		goto out;
	}
	if ((r = sk_dir_sessions(x.t->id, x.args[0], &o)) != 0) {
		r = failed(&x, "user", x.args[0], r);
		goto out;
	}
	if (x.json) {
		print_json(o);
	} else {
		printf("%-90s  %-7s  %-20s  %-20s  %-20s  %s\n", "ID", "KIND",
		       "CREATED", "LAST ACTIVE", "EXPIRES", "VIA");
		json_array_foreach(o, i, v)
			printf("%-90s  %-7s  %-20s  %-20s  %-20s  %s\n",
			       str(v, "id"), str(v, "kind"), str(v, "created"),
			       json_is_string(json_object_get(v, "last_active"))
				   ? str(v, "last_active")
				   : "-",
			       str(v, "expires"),
			       json_object_get(v, "client_id")
				   ? str(v, "client_id")
				   : str(v, "provider"));
	}
	json_decref(o);
	r = 0;
out:
	if (r == 2 && x.t != NULL)
		usage(stderr);
	close_ctl(&x);
	return r;
}

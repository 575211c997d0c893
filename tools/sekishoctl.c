/*
 * sekishoctl: the Sekisho admin command line.
 *
 *   sekishoctl version
 *   sekishoctl check-config [-c FILE]
 *   sekishoctl keys list [-c FILE] | keys rotate [-c FILE] [--delay D]
 *   sekishoctl users|invite|sessions ... (sekishoctl_users.c)
 *   sekishoctl master-key rewrap [-c FILE] --new-key FILE
 *   sekishoctl policy get|set|patch --tenant ID [-c FILE] [--json] [FILE|-]
 *   sekishoctl help
 *
 * The keys, users, invite and sessions commands talk to the Redis of the
 * configuration directly (no daemon needed), as every Sekisho instance shares
 * it.
 *
 * Exit status: 0 success, 1 the command failed (e.g. a bad config),
 * 2 usage error.
 */
#include "sekishoctl_int.h"
#include "sekisho/config.h"
#include "sekisho/crypto.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/keys.h"
#include "sekisho/lockout.h"
#include "sekisho/log.h"
#include "sekisho/rewrap.h"
#include "sekisho/opts.h"
#include "sekisho/provider.h"
#include "sekisho/session.h"
#include "sekisho/store.h"
#include "sekisho/util.h"
#include "sekishoctl_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG SK_CTL_DEFAULT_CONFIG

static void
usage(FILE *f)
{
	/* The commands are the usage; their options are not listed apart. */
	sk_opts_usage(
	    f,
	    "usage: sekishoctl COMMAND [OPTIONS]\n"
	    "\n"
	    "commands:\n"
	    "  version                   print the version\n"
	    "  check-config [-c FILE]    check a configuration file\n"
	    "                            (default " DEFAULT_CONFIG ")\n"
	    "  keys list [-c FILE]       list the signing keys\n"
	    "  keys rotate [-c FILE] [--delay DURATION]\n"
	    "                            add a signing key; it is published\n"
	    "                            at once and signs after\n"
	    "                            keys.rotation_delay (or DURATION)\n"
	    /* clang-format off: one command a line */
	    SK_CTL_USERS_USAGE
	    /* clang-format on */
	    "  users unlock [-c FILE] USER_ID\n"
	    "                            end the user's lockout on every\n"
	    "                            browser (counters and locks)\n"
	    "  unlock-ip [-c FILE] ADDRESS\n"
	    "                            end a client address's lockout (an\n"
	    "                            IPv6 address: its /64)\n"
	    "  master-key rewrap [-c FILE] --new-key FILE\n"
	    "                            re-seal everything sealed under\n"
	    "                            keys.master_key_file with the key\n"
	    "                            in FILE (safe to run again)\n"
	    "  policy get|set|patch --tenant ID [-c FILE] [--json] "
	    "[FILE|-]\n"
	    "                            show a tenant's runtime policy, or\n"
	    "                            replace (set) or merge-patch (patch)\n"
	    "                            its stored overrides with the JSON\n"
	    "                            in FILE or on standard input\n"
	    "  help                      print this help\n",
	    NULL, 0);
}

/* Every option of every command: each takes the ones it needs. */
enum {
	OPT_CONFIG,
	OPT_HELP,
	OPT_DELAY,
	OPT_NEW_KEY
};
static const struct sk_opt opts[] = {
    [OPT_CONFIG] = {'c', NULL, "FILE", NULL},
    [OPT_HELP] = {'h', NULL, NULL, NULL},
    [OPT_DELAY] = {0, "delay", "DURATION", NULL},
    [OPT_NEW_KEY] = {0, "new-key", "FILE", NULL},
};

static int
cmd_version(int argc, char **argv)
{
	if (argc > 1) {
		usage(stderr);
		return 2;
	}
	printf("sekishoctl %s\n", SK_VERSION);
	return 0;
}

static int
cmd_check_config(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	struct sk_config *cfg = NULL;
	char *errors = NULL;
	struct sk_opts o;
	const char *arg;
	int opt, r;

	/* -c and -h; operands may come between options. */
	if (sk_opts_start(&o, opts, OPT_HELP + 1, false) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc, argv, &arg)) != -1) {
		switch (opt) {
		case OPT_CONFIG:
			path = arg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	r = sk_config_load(path, sk_provider_kinds, &cfg, &errors);
	if (r != 0) {
		if (errors != NULL && errors[0] != '\0')
			fputs(errors, stderr);
		else
			fprintf(stderr, "%s: %s\n", path, sk_err_str(r));
		free(errors);
		return 1;
	}
	if (cfg->warnings != NULL)
		fputs(cfg->warnings, stderr);
	sk_config_free(&cfg);
	printf("%s: ok\n", path);
	return 0;
}

/*
 * Parses [-c FILE] (and --delay DURATION when delay is not NULL) and loads
 * the config; *rest = remaining arguments.
 */
static int
load_opts(int argc, char **argv, struct sk_config **cfg, int *rest,
	  int64_t *delay)
{
	const char *path = DEFAULT_CONFIG, *arg;
	struct sk_opts o;
	int opt;

	/* -c and --delay, up to the command's own arguments. */
	if (sk_opts_start(&o, opts, SK_ARRAY_SIZE(opts), true) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc, argv, &arg)) != -1) {
		if (opt == OPT_CONFIG) {
			path = arg;
		} else if (opt == OPT_DELAY && delay != NULL) {
			if (sk_parse_duration(arg, delay) != 0) {
				fprintf(stderr,
					"sekishoctl: --delay %s: not a "
					"duration (e.g. 90s, 5m)\n",
					arg);
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	*rest = optind;
	return sk_ctl_open(path, cfg);
}

int
sk_ctl_open(const char *path, struct sk_config **cfg)
{
	char *errors = NULL;

	if (path == NULL)
		path = DEFAULT_CONFIG;
	if (sk_config_load(path, sk_provider_kinds, cfg, &errors) != 0) {
		fputs(errors ? errors : "configuration could not be loaded\n",
		      stderr);
		free(errors);
		return 1;
	}
	sk_log_set_level("warn");
	if (sk_store_init(*cfg) != 0 || sk_store_ping() != 0) {
		fprintf(stderr, "sekishoctl: redis (%s%s) is not reachable\n",
			(*cfg)->redis.url ? (*cfg)->redis.url
					  : "the master of ",
			(*cfg)->redis.url ? "" : (*cfg)->redis.master_name);
		sk_config_free(cfg);
		return 1;
	}
	return 0;
}

static int
load(int argc, char **argv, struct sk_config **cfg, int *rest)
{
	return load_opts(argc, argv, cfg, rest, NULL);
}

static int
cmd_keys(int argc, char **argv)
{
	unsigned char master[SK_AEAD_KEY_LEN];
	struct sk_config *cfg = NULL;
	char *out = NULL;
	json_t *d = NULL;
	int64_t delay = 0;
	bool rotate, files;
	int rest, r, ret = 1;

	sk_memzero(master, sizeof(master));
	if (argc < 2 ||
	    (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "rotate") != 0)) {
		usage(stderr);
		return 2;
	}
	rotate = strcmp(argv[1], "rotate") == 0;
	if ((r = load_opts(argc - 1, argv + 1, &cfg, &rest,
			   rotate ? &delay : NULL)) != 0)
		return r;
	if (rest != argc - 1) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	files = cfg->keys.signing_key_files.n > 0;
	if (files && rotate) {
		fprintf(stderr,
			"sekishoctl: keys come from "
			"keys.signing_key_files: rotate by editing that "
			"list\n");
		goto out;
	}
	/* File keys are listed without the master key (it seals only the
	 * keys kept in Redis). */
	if ((cfg->keys.master_key_file == NULL && !files) ||
	    (cfg->keys.master_key_file != NULL &&
	     sk_key_file_read(cfg->keys.master_key_file, master) != 0)) {
		fprintf(stderr, "sekishoctl: keys.master_key_file missing or "
				"unreadable\n");
		goto out;
	}
	if ((r = sk_keys_init(cfg, cfg->keys.master_key_file ? master
							     : NULL)) != 0) {
		fprintf(stderr, "sekishoctl: cannot load the keys: %s\n",
			sk_err_str(r));
		goto out;
	}
	if (rotate) {
		/*
		 * --delay overrides keys.rotation_delay for one rotation, e.g.
		 * after a key leaked; under the config's minimum, verifiers
		 * holding a cached JWKS fail new tokens until they refetch.
		 */
		if (delay == 0)
			delay = cfg->keys.rotation_delay;
		else if (delay <= 65)
			fprintf(stderr,
				"sekishoctl: warning: --delay %llds: verifiers "
				"that cached the JWKS in the last 60 s refuse "
				"tokens signed with the new key until they "
				"fetch it again\n",
				(long long)delay);
		if ((r = sk_keys_rotate(cfg, master, delay, &out)) != 0) {
			fprintf(stderr, "sekishoctl: rotate: %s\n",
				sk_err_str(r));
			goto out;
		}
		printf("added %s: published now, signs in %llds\n", out,
		       (long long)delay);
		d = json_pack("{s:s, s:s, s:I}", "key", "signing", "kid", out,
			      "activates_in", (json_int_t)delay);
		sk_ctl_key_rotated(cfg, d);
		free(out);
		out = NULL;
	}
	if (sk_keys_list(&out) != 0)
		goto out;
	fputs(out, stdout);
	ret = 0;
out:
	json_decref(d);
	sk_memzero(master, sizeof(master));
	free(out);
	sk_keys_shutdown();
	sk_store_shutdown();
	sk_config_free(&cfg);
	return ret;
}

/*
 * users unlock USER_ID and unlock-ip ADDRESS (docs/lockout.md): ends a
 * lockout, and records the unlock as an event of the user's tenant.
 */
static int
cmd_unlock(int argc, char **argv)
{
	struct sk_config *cfg = NULL;
	struct sk_event ev;
	char *tenant = NULL;
	bool ip = strcmp(argv[0], "unlock-ip") == 0, was = false;
	json_t *d = NULL;
	int rest, r, ret = 1;

	if ((r = load(argc, argv, &cfg, &rest)) != 0)
		return r;
	if (rest != argc - 1) {
		usage(stderr);
		ret = 2;
		goto out;
	}
	if (ip) {
		r = sk_lockout_unlock_addr(argv[argc - 1], &was);
		if (r == SK_ERR_INVALID) {
			fprintf(stderr, "sekishoctl: not an IP address: %s\n",
				argv[argc - 1]);
			goto out;
		}
	} else {
		r = sk_lockout_unlock_user(argv[argc - 1], NULL, &tenant);
		if (r == SK_ERR_NOT_FOUND || r == SK_ERR_INVALID) {
			fprintf(stderr, "sekishoctl: no such user: %s\n",
				argv[argc - 1]);
			goto out;
		}
	}
	if (r != 0) {
		fprintf(stderr, "sekishoctl: %s\n", sk_err_str(r));
		goto out;
	}
	if (!ip) {
		memset(&ev, 0, sizeof(ev));
		ev.type = SK_EV_UNLOCK;
		ev.tenant = tenant;
		ev.user_id = argv[argc - 1];
		d = json_pack("{s:s}", "by", "sekishoctl");
		ev.details = d;
		if (tenant[0] != '\0' && sk_event_emit(&ev, NULL) != 0)
			fprintf(stderr, "sekishoctl: warning: the unlock event "
					"could not be recorded\n");
		printf("%s unlocked\n", argv[argc - 1]);
	} else {
		printf("%s %s\n", argv[argc - 1],
		       was ? "unlocked" : "was not locked (counter cleared)");
	}
	ret = 0;
out:
	json_decref(d);
	free(tenant);
	sk_store_shutdown();
	sk_config_free(&cfg);
	return ret;
}

/* users unlock goes to cmd_unlock; every other users command to
 * sekishoctl_users.c. */
static int
cmd_users(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "unlock") == 0)
		return cmd_unlock(argc - 1, argv + 1);
	return sk_ctl_users(argc, argv);
}

/*
 * Master key rotation: re-seals the tenant data keys, the signing keys
 * and the master key check value under the new key. Then the operator
 * points keys.master_key_file at the new file and restarts the instances.
 */
static int
cmd_master_key(int argc, char **argv)
{
	unsigned char old_key[SK_AEAD_KEY_LEN], new_key[SK_AEAD_KEY_LEN];
	struct sk_config *cfg = NULL;
	const char *path = DEFAULT_CONFIG, *new_path = NULL, *arg;
	struct sk_opts o;
	char *lav[3];
	json_t *d = NULL;
	int opt, rest, done = 0, already = 0, r, ret = 1;

	sk_memzero(old_key, sizeof(old_key));
	sk_memzero(new_key, sizeof(new_key));
	if (argc < 2 || strcmp(argv[1], "rewrap") != 0) {
		usage(stderr);
		return 2;
	}
	/* -c and --new-key after "rewrap"; nothing else. */
	if (sk_opts_start(&o, opts, SK_ARRAY_SIZE(opts), true) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc - 1, argv + 1, &arg)) != -1) {
		if (opt == OPT_CONFIG) {
			path = arg;
		} else if (opt == OPT_NEW_KEY) {
			new_path = arg;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (new_path == NULL) {
		fprintf(stderr, "sekishoctl: master-key rewrap needs --new-key "
				"FILE (32 random bytes as 64 hex characters, "
				"e.g. made with `openssl rand -hex 32`)\n");
		return 2;
	}
	lav[0] = argv[1];
	lav[1] = "-c";
	lav[2] = (char *)path;
	if ((r = load(3, lav, &cfg, &rest)) != 0)
		return r;
	if (cfg->keys.master_key_file == NULL ||
	    sk_key_file_read(cfg->keys.master_key_file, old_key) != 0) {
		fprintf(stderr, "sekishoctl: keys.master_key_file missing or "
				"unreadable\n");
		goto out;
	}
	if (sk_key_file_read(new_path, new_key) != 0) {
		fprintf(stderr,
			"sekishoctl: %s: not a 256-bit key (64 hex "
			"characters, e.g. `openssl rand -hex 32`)\n",
			new_path);
		goto out;
	}
	if (sk_ct_eq(old_key, sizeof(old_key), new_key, sizeof(new_key))) {
		fprintf(stderr, "sekishoctl: the new key is the current one\n");
		goto out;
	}
	r = sk_master_rewrap(old_key, new_key, &done, &already);
	if (r != 0) {
		fprintf(stderr,
			"sekishoctl: master-key rewrap: %s (%d re-sealed, %d "
			"already under the new key; see the messages above, "
			"fix and run the command again)\n",
			r == SK_ERR_CONFIG ? "some records were not re-sealed"
					   : sk_err_str(r),
			done, already);
		goto out;
	}
	d = json_pack("{s:s, s:i}", "key", "master", "resealed", done);
	sk_ctl_key_rotated(cfg, d);
	printf("re-sealed %d record%s under the new master key (%d already "
	       "were)\nnow set keys.master_key_file: %s and restart every "
	       "instance\n",
	       done, done == 1 ? "" : "s", already, new_path);
	ret = 0;
out:
	json_decref(d);
	sk_memzero(old_key, sizeof(old_key));
	sk_memzero(new_key, sizeof(new_key));
	sk_store_shutdown();
	sk_config_free(&cfg);
	return ret;
}

static int
cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"version", cmd_version},  {"check-config", cmd_check_config},
    {"keys", cmd_keys},	       {"users", cmd_users},
    {"invite", sk_ctl_invite}, {"sessions", sk_ctl_sessions},
    {"unlock-ip", cmd_unlock}, {"master-key", cmd_master_key},
    {"policy", sk_ctl_policy}, {"help", cmd_help},
    {"-h", cmd_help},	       {"--help", cmd_help},
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sekishoctl: unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}

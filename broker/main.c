/*
 * sekisho: the daemon. `sekisho -c FILE` runs; `sekisho -t -c FILE` checks
 * the configuration and exits (0 when good, 1 with every problem listed).
 */
#include "broker_int.h"
#include "sekisho/audit.h"
#include "sekisho/config.h"
#include "sekisho/crypto.h"
#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/keys.h"
#include "sekisho/log.h"
#include "sekisho/mfa.h"
#include "sekisho/opts.h"
#include "sekisho/policy_store.h"
#include "sekisho/provider.h"
#include "sekisho/sesscache.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/sekisho/sekisho.yaml"
#define DRAIN_GRACE_MS 10000

struct sk_daemon sk_daemon;

enum {
	OPT_CONFIG,
	OPT_CHECK,
	OPT_HELP,
	OPT_VERSION
};
static const struct sk_opt opts[] = {
    [OPT_CONFIG] = {'c', NULL, "FILE",
		    "configuration file (default " DEFAULT_CONFIG ")"},
    [OPT_CHECK] = {'t', NULL, NULL, "check the configuration and exit"},
    [OPT_HELP] = {'h', NULL, NULL, NULL},
    [OPT_VERSION] = {'V', NULL, NULL, "print the version and exit"},
};

static void
usage(FILE *f)
{
	sk_opts_usage(f, "usage: sekisho [-t] [-c config.yaml]\n", opts,
		      SK_ARRAY_SIZE(opts));
}

/* Checks that go beyond the file itself: can every provider be built? */
static int
build_providers(struct sk_config *cfg)
{
	size_t i, j;
	int r, bad = 0;

	sk_daemon.providers = calloc(cfg->nproviders ? cfg->nproviders : 1,
				     sizeof(*sk_daemon.providers));
	if (sk_daemon.providers == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < cfg->nproviders; i++) {
		const struct sk_provider_conf *pc = &cfg->providers[i];
		if ((r = sk_provider_create(pc, &sk_daemon.providers[i])) !=
		    0) {
			fprintf(stderr,
				"%s:%d: providers[%zu].type: %s: ", cfg->path,
				pc->line, i, pc->type);
			if (r == SK_ERR_CONFIG) {
				fputs(
				    "not supported by this build (supported: ",
				    stderr);
				for (j = 0; sk_provider_kinds[j] != NULL; j++)
					fprintf(stderr, "%s%s", j ? ", " : "",
						sk_provider_kinds[j]->type);
				fputs(")\n", stderr);
			} else {
				fprintf(stderr, "%s\n", sk_err_str(r));
			}
			bad = 1;
		}
	}
	return bad ? SK_ERR_CONFIG : 0;
}

static void
free_providers(void)
{
	size_t i;

	if (sk_daemon.providers == NULL)
		return;
	for (i = 0; sk_daemon.cfg != NULL && i < sk_daemon.cfg->nproviders; i++)
		sk_provider_free(&sk_daemon.providers[i]);
	free(sk_daemon.providers);
	sk_daemon.providers = NULL;
}

/*
 * The config's warnings: things allowed but rarely right. `-t` prints
 * them (and still exits 0); the daemon logs each at start.
 */
static void
show_warnings(const struct sk_config *cfg, bool check_only)
{
	const char *p = cfg->warnings, *nl;

	if (p == NULL)
		return;
	if (check_only) {
		fputs(p, stderr);
		return;
	}
	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		sk_warn("config: %.*s", (int)(nl - p), p);
		if (*nl == '\0')
			break;
	}
}

static int
cookie_names(const struct sk_config *cfg)
{
	/*
	 * __Host- cookies must be Secure, Path=/ and carry no Domain, so no
	 * sibling subdomain can plant or overwrite them.
	 */
	const char *pfx = cfg->cookie.secure ? "__Host-" : "";

	size_t i;

	if (asprintf(&sk_daemon.session_cookie, "%s%s", pfx, cfg->cookie.name) <
		0 ||
	    asprintf(&sk_daemon.state_cookie, "%s%s_login", pfx,
		     cfg->cookie.name) < 0)
		return SK_ERR_NOMEM;
	/*
	 * Under a cookie_domain the session cookie carries Domain=, which
	 * __Host- forbids: __Secure- still makes browsers refuse it from
	 * plain http. Its name names the tenant, so it never collides with
	 * the host-only cookie of a host under the domain (or the catch-all
	 * tenant's) when cookie.secure is false and neither has a prefix.
	 * The login-state cookie stays host-only (__Host-): a sign-in is
	 * bound to the one host it runs on.
	 */
	if (cfg->ntenants > 0 && (sk_daemon.tenant_cookies = calloc(
				      cfg->ntenants, sizeof(char *))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		int n = t->cookie_domain != NULL
			    ? asprintf(&sk_daemon.tenant_cookies[i], "%s%s-%s",
				       cfg->cookie.secure ? "__Secure-" : "",
				       cfg->cookie.name, t->id)
			    : asprintf(&sk_daemon.tenant_cookies[i], "%s",
				       sk_daemon.session_cookie);
		if (n < 0) {
			sk_daemon.tenant_cookies[i] = NULL;
			return SK_ERR_NOMEM;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	struct sk_config *cfg = NULL;
	char *errors = NULL, why[512];
	unsigned char master[SK_AEAD_KEY_LEN];
	bool check_only = false;
	struct sk_opts o;
	const char *arg;
	sigset_t sigs;
	int opt, sig, r, ret = 1;

	if (sk_opts_start(&o, opts, SK_ARRAY_SIZE(opts), false) != 0)
		return 2;
	while ((opt = sk_opts_next(&o, argc, argv, &arg)) != -1) {
		switch (opt) {
		case OPT_CONFIG:
			path = arg;
			break;
		case OPT_CHECK:
			check_only = true;
			break;
		case OPT_VERSION:
			printf("sekisho %s\n", SK_VERSION);
			return 0;
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
	if (sk_config_load(path, sk_provider_kinds, &cfg, &errors) != 0) {
		fputs(errors ? errors : "configuration could not be loaded\n",
		      stderr);
		free(errors);
		return 1;
	}
	sk_daemon.cfg = cfg;
	if (sk_log_set_level(cfg->log_level) != 0)
		goto out;
	show_warnings(cfg, check_only);
	if (sk_providers_global_init() != 0 || cookie_names(cfg) != 0) {
		fprintf(stderr, "sekisho: out of memory\n");
		goto out;
	}
	if (build_providers(cfg) != 0)
		goto out;
	/*
	 * Sekisho signs tokens and seals secrets: it needs its master key
	 * (or, for signing only, key files and still a master key for the
	 * refresh-token MAC). Refuse to run half-equipped.
	 */
	if (cfg->keys.master_key_file == NULL) {
		fprintf(
		    stderr,
		    "%s: keys.master_key_file: missing (a file holding 32 "
		    "random bytes as 64 hex characters, e.g. made with "
		    "`openssl rand -hex 32 > master.key`; keep it secret and "
		    "backed up)\n",
		    path);
		goto out;
	}
	if (check_only) {
		printf("%s: ok\n", path);
		ret = 0;
		goto out;
	}
	/*
	 * Block the signals we wait for before any thread starts, so they are
	 * delivered here and nowhere else.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if ((r = sk_store_init(cfg)) != 0) {
		fprintf(stderr, "sekisho: redis: %s\n", sk_err_str(r));
		goto out;
	}
	/*
	 * Before anything is stored: a Redis that evicts (or, unless
	 * allowed, forgets on restart) would silently drop second factors
	 * and data keys. Unreachable now, /readyz checks it later.
	 */
	r = sk_store_check_durable(cfg->redis.require_persistence, why,
				   sizeof(why));
	if (r == SK_ERR_CONFIG) {
		fprintf(stderr, "sekisho: redis: %s; refusing to start\n", why);
		goto out;
	}
	if (r == 0 && why[0] != '\0')
		sk_warn("redis: %s", why);
	if (cfg->keys.master_key_file != NULL &&
	    (r = sk_key_file_read(cfg->keys.master_key_file, master)) != 0) {
		fprintf(stderr,
			"sekisho: keys.master_key_file: %s: %s (it must hold "
			"32 random bytes as 64 hex characters, e.g. made with "
			"`openssl rand -hex 32`)\n",
			cfg->keys.master_key_file,
			r == SK_ERR_INVALID ? "not a 256-bit key"
					    : "cannot read");
		goto out;
	}
	if ((cfg->keys.master_key_file != NULL ||
	     cfg->keys.signing_key_files.n > 0) &&
	    (r = sk_keys_init(cfg, cfg->keys.master_key_file ? master
							     : NULL)) != 0) {
		fprintf(stderr, "sekisho: signing keys: %s\n",
			r == SK_ERR_CONFIG
			    ? "cannot be used (see the log above)"
			    : sk_err_str(r));
		goto out;
	}
	/* TOTP: a data key that does not open stops start-up (docs/mfa.md). */
	if ((r = sk_mfa_init(cfg, cfg->keys.master_key_file ? master : NULL)) !=
	    0) {
		fprintf(stderr, "sekisho: two-step verification: %s\n",
			r == SK_ERR_CONFIG
			    ? "keys.master_key_file is not the master key "
			      "this Redis data was sealed with (see the log "
			      "above); refusing to start"
			    : sk_err_str(r));
		goto out;
	}
	sk_memzero(master, sizeof(master));
	sk_daemon.tokens = cfg->keys.master_key_file != NULL ||
			   cfg->keys.signing_key_files.n > 0;
	/* Access lines leave through one writer thread, not the workers
	   (issue 13); 1 MiB holds a few thousand lines of a burst. */
	if (sk_log_writer_start(1 << 20) != 0)
		sk_warn("log: no writer thread; access lines are written by "
			"the workers");
	if ((r = sk_session_cache_start(cfg)) != 0) {
		fprintf(stderr, "sekisho: session cache: %s\n", sk_err_str(r));
		goto out;
	}
	/* Tenant policies stored in Redis, kept current by a poller. */
	if ((r = sk_policy_start(cfg)) != 0) {
		fprintf(stderr, "sekisho: tenant policies: %s\n",
			sk_err_str(r));
		goto out;
	}
	/* The audit log (docs/audit.md): after the keys that sign it. */
	if (cfg->audit.dir != NULL && (r = sk_audit_start(cfg)) != 0) {
		fprintf(stderr, "sekisho: audit writer: %s\n", sk_err_str(r));
		goto out;
	}
	/* Hooks: the delivery engine, only when hooks are configured. */
	if ((r = sk_hooks_start(cfg)) != 0) {
		fprintf(stderr, "sekisho: hooks: %s\n", sk_err_str(r));
		goto out;
	}
	if (sk_server_start() != 0)
		goto out;
	sk_info("sekisho %s listening on %s:%u (public URL %s, %d threads)",
		SK_VERSION, cfg->listen_host, (unsigned)cfg->listen_port,
		cfg->public_url, cfg->http.threads);
	if (sk_store_ping() != 0)
		sk_warn("redis is not reachable yet: requests will be refused "
			"until it is");
	if (sigwait(&sigs, &sig) != 0)
		sig = SIGTERM;
	sk_info("signal %d: draining in-flight requests", sig);
	sk_server_stop(DRAIN_GRACE_MS);
	sk_hooks_stop();
	sk_audit_stop(); /* after the requests that raise events */
	sk_log_writer_stop();
	sk_info("stopped");
	ret = 0;
out:
	sk_log_writer_stop(); /* what it holds is written */
	sk_audit_stop();
	sk_memzero(master, sizeof(master));
	sk_hooks_stop();
	sk_policy_stop();
	sk_mfa_shutdown();
	sk_keys_shutdown();
	free_providers();
	sk_session_cache_stop();
	sk_store_shutdown();
	sk_providers_global_cleanup();
	free(sk_daemon.session_cookie);
	free(sk_daemon.state_cookie);
	for (size_t i = 0;
	     sk_daemon.tenant_cookies != NULL && i < cfg->ntenants; i++)
		free(sk_daemon.tenant_cookies[i]);
	free(sk_daemon.tenant_cookies);
	sk_config_free(&cfg);
	return ret;
}

/*
 * Redis store on hiredis: one connection per thread, timeouts, reconnection
 * with backoff, owned reply copies. See session/include/sekisho/store.h
 * and session/store_int.h.
 *
 * Every connection to the data goes through connect_master(): the
 * configured server (redis.url), or, with redis.sentinels, the master the
 * sentinels name, checked with ROLE. A connection that fails, or answers
 * READONLY (its server was demoted), is dropped, and the next attempt asks
 * the sentinels again; each thread's connection also follows a new master
 * another thread found (master_gen).
 */
#include "sekisho/store.h"
#include "store_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <errno.h>
#include <hiredis.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 2000000
/*
 * With sentinels the master usually comes back at another address within
 * seconds (a failover), and an attempt costs a few round trips to the
 * sentinels: try again sooner.
 */
#define BACKOFF_MAX_SENTINEL_US 1000000
/*
 * With sentinels, a kept connection's server is asked ROLE again before a
 * command once this long has passed since it was last seen a master: a
 * server demoted without closing its clients (by hand, or by a sentinel
 * whose CLIENT KILL failed) answers reads, and would answer them with
 * what it held when it stopped being the master.
 */
#define ROLE_RECHECK_US 1000000

/* Longest host name a sentinel may answer with (and port, NUL). */
#define ADDR_HOST_MAX 256

struct node {
	char *host;
	int port;
};

static struct {
	char *unix_path;
	char *host;
	int port;
	int db;
	char *password;
	struct timeval connect_tv;
	struct timeval command_tv;
	/* Sentinel mode when nsentinels > 0 (unix_path and host NULL). */
	struct node *sentinels;
	size_t nsentinels;
	char *master_name;
	char *sentinel_password;
} conf;

static atomic_uint_fast64_t store_errors;

/*
 * Sentinel mode: the master last found (under master_lock), and
 * master_gen, bumped each time one is found at another address. The
 * sentinel that answered last is asked first next time.
 */
static pthread_mutex_t master_lock = PTHREAD_MUTEX_INITIALIZER;
static char master_host[ADDR_HOST_MAX];
static int master_port;
static atomic_uint_fast64_t master_gen;
static atomic_size_t sentinel_first;

struct conn {
	redisContext *ctx;
	int64_t next_try_us; /* monotonic; no attempt before this */
	int64_t backoff_us;
	uint64_t gen;	 /* master_gen when ctx was opened */
	int64_t role_us; /* monotonic; when ROLE last said master */
};
static __thread struct conn tconn;

/*
 * A key whose destructor closes a worker thread's connection when the
 * thread exits (libmicrohttpd's pool threads end at shutdown).
 */
static pthread_key_t conn_key;
static pthread_once_t conn_key_once = PTHREAD_ONCE_INIT;

static void conn_drop(struct conn *c);

static void
conn_thread_exit(void *p)
{
	conn_drop(p);
}

static void
conn_key_make(void)
{
	(void)pthread_key_create(&conn_key, conn_thread_exit);
}

static struct timeval
ms_to_tv(int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};
	return tv;
}

/* "host:port" or "[v6]:port" (checked by the config) into n. */
static int
node_parse(const char *s, struct node *n)
{
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long port;

	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			return SK_ERR_CONFIG;
		h = s + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return SK_ERR_CONFIG;
		hlen = (size_t)(colon - s);
	}
	port = strtol(colon + 1, &end, 10);
	if (hlen == 0 || *end != '\0' || port < 1 || port > 65535)
		return SK_ERR_CONFIG;
	if ((n->host = strndup(h, hlen)) == NULL)
		return SK_ERR_NOMEM;
	n->port = (int)port;
	return 0;
}

static int
sentinels_init(const struct sk_config *cfg)
{
	size_t i;
	int r;

	if (cfg->redis.sentinels.n == 0)
		return 0;
	if (cfg->redis.master_name == NULL)
		return SK_ERR_CONFIG;
	if ((conf.sentinels = calloc(cfg->redis.sentinels.n,
				     sizeof(*conf.sentinels))) == NULL ||
	    (conf.master_name = strdup(cfg->redis.master_name)) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < cfg->redis.sentinels.n; i++) {
		if ((r = node_parse(cfg->redis.sentinels.v[i],
				    &conf.sentinels[i])) != 0)
			return r;
		conf.nsentinels = i + 1;
	}
	if (cfg->redis.sentinel_password != NULL &&
	    (conf.sentinel_password = strdup(cfg->redis.sentinel_password)) ==
		NULL)
		return SK_ERR_NOMEM;
	return 0;
}

int
sk_store_init(const struct sk_config *cfg)
{
	int r;

	memset(&conf, 0, sizeof(conf));
	if (cfg->redis.unix_path != NULL &&
	    (conf.unix_path = strdup(cfg->redis.unix_path)) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->redis.host != NULL &&
	    (conf.host = strdup(cfg->redis.host)) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->redis.password != NULL &&
	    (conf.password = strdup(cfg->redis.password)) == NULL)
		return SK_ERR_NOMEM;
	conf.port = cfg->redis.port;
	conf.db = cfg->redis.db;
	conf.connect_tv = ms_to_tv(cfg->redis.connect_timeout_ms);
	conf.command_tv = ms_to_tv(cfg->redis.command_timeout_ms);
	if ((r = sentinels_init(cfg)) != 0)
		return r;
	pthread_mutex_lock(&master_lock);
	master_host[0] = '\0';
	master_port = 0;
	pthread_mutex_unlock(&master_lock);
	atomic_store(&sentinel_first, 0);
	return 0;
}

static void
conn_drop(struct conn *c)
{
	if (c->ctx != NULL) {
		redisFree(c->ctx);
		c->ctx = NULL;
	}
}

void
sk_store_thread_close(void)
{
	conn_drop(&tconn);
}

void
sk_store_shutdown(void)
{
	size_t i;

	sk_store_thread_close();
	free(conf.unix_path);
	free(conf.host);
	sk_strfreezero(conf.password);
	for (i = 0; i < conf.nsentinels; i++)
		free(conf.sentinels[i].host);
	free(conf.sentinels);
	free(conf.master_name);
	sk_strfreezero(conf.sentinel_password);
	memset(&conf, 0, sizeof(conf));
}

uint64_t
sk_store_master_gen(void)
{
	return atomic_load(&master_gen);
}

static void
note_failure(struct conn *c, const char *what)
{
	int64_t now = sk_monotonic_us(), max = conf.nsentinels > 0
						   ? BACKOFF_MAX_SENTINEL_US
						   : BACKOFF_MAX_US;

	atomic_fetch_add(&store_errors, 1);
	c->backoff_us = c->backoff_us == 0 ? BACKOFF_MIN_US : c->backoff_us * 2;
	if (c->backoff_us > max)
		c->backoff_us = max;
	c->next_try_us = now + c->backoff_us;
	sk_warn("redis: %s; next attempt in %lld ms", what,
		(long long)(c->backoff_us / 1000));
}

/*
 * Sends c on a fresh connection during setup; 0 if it succeeded. The
 * command is spent either way.
 */
static int
setup_cmd(redisContext *ctx, struct sk_cmd *c)
{
	redisReply *rep = NULL;
	int ok;

	if (c->err == 0)
		rep = redisCommandArgv(ctx, c->argc, c->argv, c->lens);
	ok = rep != NULL && rep->type != REDIS_REPLY_ERROR;
	if (rep != NULL)
		freeReplyObject(rep);
	sk_cmd_clear(c);
	return ok ? 0 : SK_ERR_STORE;
}

/*
 * Opens a connection to host:port (host NULL: conf.unix_path) with the
 * connect and command timeouts, then AUTH with password and SELECT db
 * when set. On success *out is newly allocated (redisFree()); on failure
 * why says what failed (never a secret).
 */
static int
open_ctx(const char *host, int port, const char *password, int db,
	 redisContext **out, char *why, size_t whylen)
{
	redisContext *ctx;
	struct sk_cmd cmd;

	*out = NULL;
	if (host == NULL)
		ctx = redisConnectUnixWithTimeout(conf.unix_path,
						  conf.connect_tv);
	else
		ctx = redisConnectWithTimeout(host, port, conf.connect_tv);
	if (ctx == NULL || ctx->err) {
		snprintf(why, whylen, "%s",
			 ctx ? ctx->errstr : "cannot allocate context");
		if (ctx != NULL)
			redisFree(ctx);
		return SK_ERR_STORE;
	}
	if (redisSetTimeout(ctx, conf.command_tv) != REDIS_OK)
		goto fail;
	if (password != NULL) {
		sk_cmd_init(&cmd);
		sk_cmd_add_str(&cmd, "AUTH");
		sk_cmd_add_str(&cmd, password);
		if (setup_cmd(ctx, &cmd) != 0)
			goto fail;
	}
	if (db != 0) {
		sk_cmd_init(&cmd);
		sk_cmd_add_str(&cmd, "SELECT");
		sk_cmd_add_int(&cmd, db);
		if (setup_cmd(ctx, &cmd) != 0)
			goto fail;
	}
	*out = ctx;
	return 0;
fail:
	snprintf(why, whylen, "%s",
		 ctx->err ? ctx->errstr : "AUTH or SELECT refused");
	redisFree(ctx);
	return SK_ERR_STORE;
}

/*
 * Asks sentinel s for the master's address (SENTINEL
 * get-master-addr-by-name): host (hostlen bytes of room) and *port.
 */
static int
ask_sentinel(const struct node *s, char *host, size_t hostlen, int *port,
	     char *why, size_t whylen)
{
	redisContext *ctx = NULL;
	redisReply *rep = NULL;
	const char *argv[3] = {"SENTINEL", "get-master-addr-by-name",
			       conf.master_name};
	size_t lens[3] = {8, 23, strlen(conf.master_name)};
	char *end;
	long p;
	int r;

	if ((r = open_ctx(s->host, s->port, conf.sentinel_password, 0, &ctx,
			  why, whylen)) != 0)
		goto out;
	r = SK_ERR_STORE;
	if ((rep = redisCommandArgv(ctx, 3, argv, lens)) == NULL) {
		snprintf(why, whylen, "%s",
			 ctx->errstr[0] ? ctx->errstr : "no reply");
		goto out;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    rep->element[0]->len == 0 || rep->element[0]->len >= hostlen) {
		snprintf(why, whylen, "%s",
			 rep->type == REDIS_REPLY_NIL
			     ? "it monitors no master of that name"
			     : "unexpected answer");
		goto out;
	}
	p = strtol(rep->element[1]->str, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535) {
		snprintf(why, whylen, "unexpected port");
		goto out;
	}
	memcpy(host, rep->element[0]->str, rep->element[0]->len);
	host[rep->element[0]->len] = '\0';
	*port = (int)p;
	r = 0;
out:
	if (rep != NULL)
		freeReplyObject(rep);
	if (ctx != NULL)
		redisFree(ctx);
	return r;
}

/*
 * 0 when ROLE's first element is "master"; SK_ERR_DENIED for any other
 * answer (a replica says "slave"), SK_ERR_STORE for none (timeout, broken
 * connection), with what in *what.
 */
static int
is_master(redisContext *ctx, const char **what)
{
	redisReply *rep;
	int r;

	*what = "gave no answer to ROLE";
	if ((rep = redisCommand(ctx, "ROLE")) == NULL)
		return SK_ERR_STORE;
	r = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
		    rep->element[0]->type == REDIS_REPLY_STRING &&
		    strcmp(rep->element[0]->str, "master") == 0
		? 0
		: SK_ERR_DENIED;
	freeReplyObject(rep);
	*what = r == 0 ? "is a master" : "is not a master (ROLE)";
	return r;
}

/* Notes the master found; returns master_gen, bumped if it moved. */
static uint64_t
master_found(const char *host, int port)
{
	uint64_t gen;
	bool moved;

	pthread_mutex_lock(&master_lock);
	moved = master_port != port || strcmp(master_host, host) != 0;
	if (moved) {
		snprintf(master_host, sizeof(master_host), "%s", host);
		master_port = port;
		gen = atomic_fetch_add(&master_gen, 1) + 1;
	} else {
		gen = atomic_load(&master_gen);
	}
	pthread_mutex_unlock(&master_lock);
	if (moved)
		sk_info("redis: master %s is at %s:%d (generation %llu)",
			conf.master_name, host, port, (unsigned long long)gen);
	return gen;
}

/*
 * The one way to reach the data: a new connection to the current master,
 * authenticated and on the configured database. With redis.url, the
 * server configured. With redis.sentinels, each sentinel in turn (the
 * one that answered last first) names the master, and the server named
 * must say it is one (ROLE): a replica, or a master demoted since the
 * sentinel last looked, is never used, since it may hold sessions ended
 * since. One attempt asks each sentinel at most once, so a failing
 * attempt is bounded by the timeouts.
 *
 * On success *out is newly allocated (redisFree()) and *gen is
 * master_gen for that master (0 with redis.url); on failure why says why
 * (for the log).
 */
static int
connect_master(redisContext **out, uint64_t *gen, char *why, size_t whylen)
{
	char host[ADDR_HOST_MAX], refused[ADDR_HOST_MAX] = "", w[200];
	const char *role;
	redisContext *ctx = NULL;
	size_t k, i, first;
	int port, refused_port = 0, r;

	*out = NULL;
	*gen = 0;
	if (conf.nsentinels == 0)
		return open_ctx(conf.host, conf.port, conf.password, conf.db,
				out, why, whylen);
	snprintf(why, whylen, "no sentinel answered");
	first = atomic_load(&sentinel_first) % conf.nsentinels;
	for (k = 0; k < conf.nsentinels; k++) {
		i = (first + k) % conf.nsentinels;
		if (ask_sentinel(&conf.sentinels[i], host, sizeof(host), &port,
				 w, sizeof(w)) != 0) {
			snprintf(why, whylen, "sentinel %s:%d: %s",
				 conf.sentinels[i].host, conf.sentinels[i].port,
				 w);
			continue;
		}
		/* A server already refused in this attempt: ask on. */
		if (port == refused_port && strcmp(host, refused) == 0)
			continue;
		if ((r = open_ctx(host, port, conf.password, conf.db, &ctx, w,
				  sizeof(w))) != 0) {
			snprintf(why, whylen, "master %s:%d: %s", host, port,
				 w);
			continue;
		}
		if (is_master(ctx, &role) != 0) {
			snprintf(why, whylen,
				 "%s:%d, named by sentinel %s:%d, %s", host,
				 port, conf.sentinels[i].host,
				 conf.sentinels[i].port, role);
			snprintf(refused, sizeof(refused), "%s", host);
			refused_port = port;
			redisFree(ctx);
			ctx = NULL;
			continue;
		}
		atomic_store(&sentinel_first, i);
		*gen = master_found(host, port);
		*out = ctx;
		return 0;
	}
	return SK_ERR_STORE;
}

static int
conn_get(struct conn *c, redisContext **out)
{
	redisContext *ctx;
	char why[600];
	uint64_t gen;

	*out = NULL;
	if (c->ctx != NULL) {
		*out = c->ctx;
		return 0;
	}
	if (c->next_try_us != 0 && sk_monotonic_us() < c->next_try_us)
		return SK_ERR_STORE;
	if (connect_master(&ctx, &gen, why, sizeof(why)) != 0) {
		note_failure(c, why);
		return SK_ERR_STORE;
	}
	c->ctx = ctx;
	c->gen = gen;
	c->role_us = sk_monotonic_us();
	pthread_once(&conn_key_once, conn_key_make);
	(void)pthread_setspecific(conn_key, c);
	if (c->backoff_us != 0)
		sk_info("redis: connected again");
	c->backoff_us = 0;
	c->next_try_us = 0;
	*out = ctx;
	return 0;
}

void
sk_reply_free(struct sk_reply **rp)
{
	struct sk_reply *r;
	size_t i;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	if (r->str != NULL)
		sk_freezero(r->str, r->len + 1);
	for (i = 0; i < r->nelem; i++)
		sk_reply_free(&r->elem[i]);
	free(r->elem);
	free(r);
	*rp = NULL;
}

char *
sk_reply_strdup(const struct sk_reply *r, size_t i)
{
	if (r == NULL || r->type != SK_REPLY_ARRAY || i >= r->nelem ||
	    r->elem[i]->type != SK_REPLY_STRING)
		return NULL;
	return strdup(r->elem[i]->str);
}

int
sk_reply_take_str(struct sk_reply **rp, char **s)
{
	int r = 0;

	*s = NULL;
	if ((*rp)->type == SK_REPLY_STRING) {
		*s = (*rp)->str;
		(*rp)->str = NULL;
		(*rp)->len = 0;
	} else {
		r = (*rp)->type == SK_REPLY_NIL ? SK_ERR_NOT_FOUND
						: SK_ERR_STORE;
	}
	sk_reply_free(rp);
	return r;
}

static int
copy_reply(const redisReply *in, struct sk_reply **out)
{
	struct sk_reply *r;
	size_t i;
	int ret;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SK_ERR_NOMEM;
	switch (in->type) {
	case REDIS_REPLY_NIL:
		r->type = SK_REPLY_NIL;
		break;
	case REDIS_REPLY_INTEGER:
		r->type = SK_REPLY_INTEGER;
		r->integer = in->integer;
		break;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		r->type = in->type == REDIS_REPLY_STRING ? SK_REPLY_STRING
							 : SK_REPLY_STATUS;
		if ((r->str = malloc(in->len + 1)) == NULL)
			goto nomem;
		memcpy(r->str, in->str, in->len);
		r->str[in->len] = '\0';
		r->len = in->len;
		break;
	case REDIS_REPLY_ARRAY:
		r->type = SK_REPLY_ARRAY;
		if (in->elements > 0 &&
		    (r->elem = calloc(in->elements, sizeof(*r->elem))) == NULL)
			goto nomem;
		for (i = 0; i < in->elements; i++) {
			r->nelem = i + 1;
			if ((ret = copy_reply(in->element[i], &r->elem[i])) !=
			    0) {
				sk_reply_free(&r);
				return ret;
			}
		}
		break;
	default:
		sk_reply_free(&r);
		return SK_ERR_STORE;
	}
	*out = r;
	return 0;
nomem:
	sk_reply_free(&r);
	return SK_ERR_NOMEM;
}

/*
 * True when a kept connection looks usable before anything is sent on it:
 * no error recorded, and the socket has neither an end of file (Redis
 * restarted or closed it) nor stray bytes (a reply we never read) waiting.
 * A non-blocking peek: it costs no round trip.
 */
static bool
conn_idle_ok(const redisContext *ctx)
{
	char b;
	ssize_t n;

	if (ctx->err || ctx->fd < 0)
		return false;
	do
		n = recv(ctx->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Runs argv; on a Redis error reply, *errp gets a static-ish copy. */
static int
run(struct sk_reply **out, int argc, const char **argv, const size_t *lens,
    char *err, size_t errlen)
{
	redisContext *ctx;
	redisReply *rep;
	const char *role;
	char why[64];
	int64_t now;
	int r;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/*
	 * A connection kept from before may have been closed by a Redis
	 * restart: replace it while nothing has been sent on it. Once a
	 * command is written it is never sent again: a timeout or a broken
	 * connection after the write cannot tell whether Redis ran it, and a
	 * second copy could rotate a refresh token twice, take a sign-in
	 * state twice or count one failure twice. The caller fails instead.
	 */
	if (tconn.ctx != NULL && !conn_idle_ok(tconn.ctx))
		conn_drop(&tconn);
	/* Another thread found a new master: this one may be a replica. */
	if (tconn.ctx != NULL && tconn.gen != atomic_load(&master_gen))
		conn_drop(&tconn);
	if (tconn.ctx != NULL && conf.nsentinels > 0 &&
	    (now = sk_monotonic_us()) - tconn.role_us > ROLE_RECHECK_US) {
		if (is_master(tconn.ctx, &role) != 0) {
			snprintf(why, sizeof(why), "the server %s", role);
			note_failure(&tconn, why);
			conn_drop(&tconn);
			return SK_ERR_STORE;
		}
		tconn.role_us = now;
	}
	if ((r = conn_get(&tconn, &ctx)) != 0)
		return r;
	rep = redisCommandArgv(ctx, argc, argv, lens);
	if (rep == NULL) {
		/* Transport failure: the context is unusable; reconnect later.
		 */
		note_failure(&tconn, ctx->errstr[0] ? ctx->errstr : "no reply");
		conn_drop(&tconn);
		return SK_ERR_STORE;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%.*s", (int)rep->len, rep->str);
		/*
		 * The server is no longer a master that may answer (a
		 * failover demoted it): find the master again, after the
		 * backoff. Such a command was refused, not run.
		 */
		if (strstr(rep->str, "READONLY") != NULL ||
		    strncmp(rep->str, "MASTERDOWN", 10) == 0) {
			note_failure(&tconn, "the server is not the master "
					     "any more (READONLY)");
			conn_drop(&tconn);
		}
		freeReplyObject(rep);
		return SK_ERR_STORE;
	}
	r = copy_reply(rep, out);
	freeReplyObject(rep);
	return r;
}

int
sk_store_cmd(struct sk_reply **out, int argc, const char **argv,
	     const size_t *lens)
{
	char err[256];
	int r;

	if ((r = run(out, argc, argv, lens, err, sizeof(err))) != 0 &&
	    err[0] != '\0') {
		atomic_fetch_add(&store_errors, 1);
		/* The command's name only: its arguments may be secrets. */
		sk_warn("redis: %.*s: %s", (int)lens[0], argv[0], err);
	}
	return r;
}

int
sk_cmd_run(struct sk_cmd *c, struct sk_reply **out)
{
	int r;

	*out = NULL;
	if ((r = c->err) == 0 && c->argc == 0)
		r = SK_ERR_INVALID;
	if (r != 0)
		sk_error("redis: a command was not sent (%s)", sk_err_str(r));
	else
		r = sk_store_cmd(out, c->argc, c->argv, c->lens);
	sk_cmd_clear(c);
	return r;
}

static pthread_mutex_t script_lock = PTHREAD_MUTEX_INITIALIZER;

/* Names the script once; threads racing here wait for the first. */
static void
script_sha(struct sk_script *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA_DIGEST_LENGTH];
	size_t i;

	if (atomic_load_explicit(&s->ready, memory_order_acquire))
		return;
	pthread_mutex_lock(&script_lock);
	if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
		/* SHA-1 here is Redis's script naming, not a security
		 * function. */
		SHA1((const unsigned char *)s->src, strlen(s->src), md);
		for (i = 0; i < sizeof(md); i++) {
			s->sha[2 * i] = hex[md[i] >> 4];
			s->sha[2 * i + 1] = hex[md[i] & 15];
		}
		s->sha[40] = '\0';
		atomic_store_explicit(&s->ready, 1, memory_order_release);
	}
	pthread_mutex_unlock(&script_lock);
}

/* EVALSHA, then EVAL after NOSCRIPT; c's arguments follow the three. */
static int
eval(struct sk_reply **out, struct sk_script *script, int nkeys,
     const struct sk_cmd *c)
{
	const char *av[SK_CMD_MAX_ARGS + 3];
	size_t lv[SK_CMD_MAX_ARGS + 3];
	char nk[16], err[256];
	int i, r;

	script_sha(script);
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[0] = "EVALSHA";
	lv[0] = 7;
	av[1] = script->sha;
	lv[1] = 40;
	av[2] = nk;
	lv[2] = strlen(nk);
	for (i = 0; i < c->argc; i++) {
		av[i + 3] = c->argv[i];
		lv[i + 3] = c->lens[i];
	}
	r = run(out, c->argc + 3, av, lv, err, sizeof(err));
	if (r != 0 && strncmp(err, "NOSCRIPT", 8) == 0) {
		av[0] = "EVAL";
		lv[0] = 4;
		av[1] = script->src;
		lv[1] = strlen(script->src);
		r = run(out, c->argc + 3, av, lv, err, sizeof(err));
	}
	if (r != 0 && err[0] != '\0') {
		atomic_fetch_add(&store_errors, 1);
		sk_warn("redis: script %.8s: %s", script->sha, err);
	}
	return r;
}

int
sk_cmd_eval(struct sk_cmd *c, struct sk_script *script, int nkeys,
	    struct sk_reply **out)
{
	int i, r;

	*out = NULL;
	if ((r = c->err) == 0 && (nkeys < 0 || nkeys > c->argc))
		r = SK_ERR_INVALID;
	/* Keys of two slots would work here and fail on a Cluster. */
	if (r == 0 &&
	    (i = sk_store_keys_one_slot(nkeys, c->argv, c->lens)) != 0) {
		script_sha(script);
		sk_error("redis: script %.8s: KEYS[%d] is not in the slot of "
			 "KEYS[1] (session/schema_int.h)",
			 script->sha, i + 1);
		r = SK_ERR_INVALID;
	}
	if (r != 0)
		sk_error("redis: a script call was not sent (%s)",
			 sk_err_str(r));
	else
		r = eval(out, script, nkeys, c);
	sk_cmd_clear(c);
	return r;
}

int
sk_store_ping(void)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "PING");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	r = (rep->type == SK_REPLY_STATUS && strcmp(rep->str, "PONG") == 0)
		? 0
		: SK_ERR_STORE;
	sk_reply_free(&rep);
	return r;
}

uint64_t
sk_store_errors(void)
{
	return atomic_load(&store_errors);
}

/*
 * The session cache: sessions read from memory, kept exact by Redis
 * (sekisho/sesscache.h, session/sesscache_int.h; docs/design.md "Session
 * cache" is the reader's version of this comment).
 *
 * Coherence. One thread (listener) owns the invalidation connection
 * (sk_store_track_open(): BCAST tracking on SK_TRACK_PREFIX_USER,
 * redirected to itself, subscribed to __redis__:invalidate). Redis puts a
 * key's invalidation on that connection while it runs the write, before
 * the writer's reply: once the listener has read it, the entry is gone.
 * Reads from Redis take a ticket first and insert only if no invalidation
 * of that key (and no flush) came in between (cache_int.h).
 *
 * Liveness. The listener PINGs every heartbeat (session.cache_heartbeat,
 * 100 ms). Redis answers a PING after every invalidation it sent before,
 * on the same connection, so when the answer to a PING sent at time s has
 * been read, every write acknowledged before s is reflected here. Entries
 * are served only until s + 2 heartbeats (the bound); past it, lookups go
 * to Redis, whatever this thread is doing. A heartbeat unanswered past the
 * bound (Redis stopped, a partition) empties the cache; a broken
 * connection empties it and reconnects; a new connection serves nothing
 * until its first heartbeat is answered (the epoch is bumped then, so no
 * read started before it is inserted).
 *
 * Clock. Decisions use Redis TIME: a read from Redis carries it; a hit
 * uses the monotonic clock plus an offset to Redis TIME refreshed every
 * CLOCK_EVERY_US by the touch thread. Without a fresh offset nothing is
 * served from memory (fail closed to Redis).
 *
 * Idle sliding. Reads never write. When using a session would move its
 * idle expiry by at least the touch interval, its key is queued and the
 * touch thread slides it (TOUCH script, on Redis's clock); the write
 * invalidates the entry everywhere and the next read fetches the new
 * expiry. The idle timeout is therefore exact to within the touch
 * interval. A full queue is not a reason to lose a slide: the worker then
 * touches inline (counted).
 */
#include "sekisho/sesscache.h"
#include "cache_int.h"
#include "schema_int.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/session.h"
#include "sekisho/util.h"
#include "sesscache_int.h"
#include "store_int.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLOCK_EVERY_US 2000000LL /* offset to Redis TIME refreshed */
/*
 * The server is asked ROLE this often; entries are served only while a
 * ROLE sent at most ROLE_VALID_US ago said "master". A master demoted
 * under open connections (its clients not closed) still answers PING
 * and sends no invalidation for writes made elsewhere: this stops hits
 * within ROLE_VALID_US of a demotion (the Sentinel bound is 1 s).
 */
#define ROLE_EVERY_US 250000LL
#define ROLE_VALID_US 750000LL
#define CLOCK_STALE_US 10000000LL /* older than this: unknown */
#define TOUCH_QUEUE 1024
#define TOUCH_AUTO_MAX_MS 60000
#define MAX_PINGS 64
#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 1000000

/*
 * Reads a session or app session for the cache, without writing (but a
 * record past its absolute end is deleted, as a plain read does). KEYS:
 * the key. Returns {sec, usec} (Redis TIME) when there is none, else
 * {sec, usec, pttl, fields, revoked jtis}; fields are those of F_*.
 */
static struct sk_script snap_script = {
    .src = "local t = redis.call('TIME')\n"
	   "local v = redis.call('HMGET', KEYS[1], 'user', 'tenant',\n"
	   "  'email', 'name', 'provider', 'created', 'abs', 'idle', 'amr',\n"
	   "  'roles', 'rv', 'pend', 'mfa_at')\n"
	   "local abs = tonumber(v[7])\n"
	   "if not abs then return {t[1], t[2]} end\n"
	   "if tonumber(t[1]) >= abs then\n"
	   "  redis.call('DEL', KEYS[1])\n"
	   "  return {t[1], t[2]}\n"
	   "end\n"
	   "local rj = {}\n"
	   "if v[11] and tonumber(v[11]) and tonumber(v[11]) > 0 then\n"
	   "  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do\n"
	   "    if string.sub(f, 1, 3) == 'rj:' then\n"
	   "      rj[#rj + 1] = string.sub(f, 4)\n"
	   "    end\n"
	   "  end\n"
	   "end\n"
	   "return {t[1], t[2], redis.call('PTTL', KEYS[1]), v, rj}\n",
};

/*
 * Slides a signed-in session's idle expiry (never past its absolute end)
 * on Redis's clock, in milliseconds. A session waiting for its second
 * factor keeps its short lifetime. KEYS: the session.
 */
static struct sk_script touch_script = {
    .src = "local v = redis.call('HMGET', KEYS[1], 'abs', 'idle', 'pend')\n"
	   "if not v[1] or v[3] then return 0 end\n"
	   "local t = redis.call('TIME')\n"
	   "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / "
	   "1000)\n"
	   "local abs = tonumber(v[1]) * 1000\n"
	   "if now >= abs then\n"
	   "  redis.call('DEL', KEYS[1])\n"
	   "  return 0\n"
	   "end\n"
	   "redis.call('PEXPIRE', KEYS[1], math.min(tonumber(v[2]) * 1000,\n"
	   "  abs - now))\n"
	   "return 1\n",
};

/* The fields of the HMGET above, in its order. */
enum {
	H_USER,
	H_TENANT,
	H_EMAIL,
	H_NAME,
	H_PROVIDER,
	H_CREATED,
	H_ABS,
	H_IDLE,
	H_AMR,
	H_ROLES,
	H_RV,
	H_PEND,
	H_MFA_AT,
	H__COUNT
};

/* The strings a cached entry keeps. */
enum {
	F_USER,
	F_TENANT,
	F_EMAIL,
	F_NAME,
	F_PROVIDER,
	F_AMR,
	F_ROLES,
	F_RJ,
	F__COUNT
};

/*
 * A cached entry: this header (copied in and out with memcpy: the value
 * is not aligned in the cache), then the F_* strings, each
 * NUL-terminated.
 */
struct snap {
	int64_t created, abs, idle, rv, mfa_at;
	int64_t exp_ms; /* the key's expiry, Redis ms; INT64_MAX: none */
	uint32_t len[F__COUNT];
	uint8_t has[F__COUNT]; /* the field exists (else NULL, not "") */
	uint8_t pend;
	uint8_t touching; /* a slide is queued since this was read */
};

static struct {
	_Atomic bool on;
	struct sk_cache *cache;
	int64_t hb_us, bound_us, touch_ms;
	pthread_t listener, toucher;
	_Atomic bool stop;
	_Atomic int64_t clock_offset_us; /* Redis TIME - monotonic */
	_Atomic int64_t clock_at_us;	 /* monotonic of the last refresh */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	char (*q)[SK_KEY_LEN];
	size_t qhead, qlen;
	_Atomic uint64_t touches, touches_inline, touch_errors, connects;
	_Atomic int64_t role_until_us; /* ROLE said master; 0: not known */
	_Atomic bool role_bad;	       /* the server is not a master */
	_Atomic int track_fd; /* the invalidation connection's; -1: none */
	_Atomic uint64_t track_gen; /* the master it was opened on */
	_Atomic int reading;	    /* messages read but not yet applied */
} sc = {.qlock = PTHREAD_MUTEX_INITIALIZER,
	.qcond = PTHREAD_COND_INITIALIZER,
	.track_fd = -1};

bool
sk_sesscache_on(void)
{
	return atomic_load_explicit(&sc.on, memory_order_acquire);
}

/* Redis TIME now, in µs, from the offset; false when it is not known. */
static bool
redis_now_us(int64_t mono, int64_t *now)
{
	int64_t at = atomic_load(&sc.clock_at_us);

	if (at == 0 || mono - at > CLOCK_STALE_US)
		return false;
	*now = mono + atomic_load(&sc.clock_offset_us);
	return true;
}

/*
 * True when invalidations may have arrived that the listener has not
 * applied yet: bytes waiting on its socket, or read and being handed out.
 * A hit is then not served (the read goes to Redis): a write acknowledged
 * to its writer has put its invalidation on our socket already, so a
 * request that follows it here never sees the old value, however late
 * the listener thread is scheduled. One poll() without waiting. The
 * socket first, then the flag: the listener raises the flag before it
 * reads, so bytes gone from the socket are seen as "reading" until they
 * are applied.
 */
static bool
invalidations_pending(void)
{
	struct pollfd p = {.fd = atomic_load(&sc.track_fd), .events = POLLIN};

	if (p.fd < 0 || poll(&p, 1, 0) != 0)
		return true;
	/* A failover the listener has not acted on yet. */
	if (atomic_load(&sc.track_gen) != sk_store_master_gen())
		return true;
	return atomic_load(&sc.reading) != 0;
}

/* ---- entries ---- */

static void
hdr_get(const void *val, struct snap *h)
{
	memcpy(h, val, sizeof(*h));
}

static const char *
str_at(const void *val, const struct snap *h, int f)
{
	const char *p = (const char *)val + sizeof(*h);
	int i;

	if (!h->has[f])
		return NULL;
	for (i = 0; i < f; i++)
		p += h->has[i] ? h->len[i] + 1 : 0;
	return p;
}

static int64_t
num(const struct sk_reply *r)
{
	return r->type == SK_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/*
 * Builds the entry from snap_script's reply. *val newly allocated
 * (sk_freezero(*val, *vlen)); SK_ERR_NOT_FOUND for no record; *now_us is
 * Redis TIME either way.
 */
static int
snap_build(const struct sk_reply *rep, void **valp, size_t *vlenp,
	   int64_t *now_us)
{
	static const int hfield[F_RJ] = {H_USER,     H_TENANT, H_EMAIL, H_NAME,
					 H_PROVIDER, H_AMR,    H_ROLES};
	const struct sk_reply *v, *rj;
	struct snap h;
	const char *s[F__COUNT];
	size_t len, i, off;
	char *val, *jtis = NULL;
	int64_t pttl;
	struct sk_buf b;
	int r;

	*valp = NULL;
	*vlenp = 0;
	*now_us = 0;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem < 2 ||
	    rep->elem[0]->type != SK_REPLY_STRING ||
	    rep->elem[1]->type != SK_REPLY_STRING)
		return SK_ERR_STORE;
	*now_us = num(rep->elem[0]) * 1000000 + num(rep->elem[1]);
	if (rep->nelem == 2)
		return SK_ERR_NOT_FOUND;
	if (rep->nelem != 5 || rep->elem[2]->type != SK_REPLY_INTEGER ||
	    rep->elem[3]->type != SK_REPLY_ARRAY ||
	    rep->elem[3]->nelem != H__COUNT ||
	    rep->elem[4]->type != SK_REPLY_ARRAY)
		return SK_ERR_STORE;
	v = rep->elem[3];
	rj = rep->elem[4];
	memset(&h, 0, sizeof(h));
	h.created = num(v->elem[H_CREATED]);
	h.abs = num(v->elem[H_ABS]);
	h.idle = num(v->elem[H_IDLE]);
	h.rv = num(v->elem[H_RV]);
	h.mfa_at = num(v->elem[H_MFA_AT]);
	/* Any value of the flag means pending (fail closed). */
	h.pend = v->elem[H_PEND]->type != SK_REPLY_NIL;
	pttl = rep->elem[2]->integer;
	h.exp_ms = pttl >= 0 ? *now_us / 1000 + pttl : INT64_MAX;
	for (i = 0; i < F_RJ; i++)
		s[i] = v->elem[hfield[i]]->type == SK_REPLY_STRING
			   ? v->elem[hfield[i]]->str
			   : NULL;
	/* Revoked jtis, space-separated (jtis are token characters). */
	sk_buf_init(&b);
	for (i = 0; i < rj->nelem; i++)
		if (rj->elem[i]->type == SK_REPLY_STRING)
			sk_buf_addf(&b, " %s", rj->elem[i]->str);
	sk_buf_adds(&b, " ");
	if ((r = sk_buf_take(&b, &jtis)) != 0)
		return r;
	s[F_RJ] = jtis;
	len = sizeof(h);
	for (i = 0; i < F__COUNT; i++) {
		h.has[i] = s[i] != NULL;
		h.len[i] = s[i] != NULL ? (uint32_t)strlen(s[i]) : 0;
		len += s[i] != NULL ? h.len[i] + 1 : 0;
	}
	if ((val = malloc(len)) == NULL) {
		sk_strfreezero(jtis);
		return SK_ERR_NOMEM;
	}
	memcpy(val, &h, sizeof(h));
	off = sizeof(h);
	for (i = 0; i < F__COUNT; i++)
		if (s[i] != NULL) {
			memcpy(val + off, s[i], h.len[i] + 1);
			off += h.len[i] + 1;
		}
	sk_strfreezero(jtis);
	*valp = val;
	*vlenp = len;
	return 0;
}

/* The touch interval of a session whose idle timeout is idle_s. */
static int64_t
touch_ms(int64_t idle_s)
{
	int64_t t = sc.touch_ms;

	if (t <= 0) {
		t = idle_s * 10; /* 1% */
		if (t > TOUCH_AUTO_MAX_MS)
			t = TOUCH_AUTO_MAX_MS;
	}
	return t > 0 ? t : 1;
}

/* Would using the session now move its idle expiry by a touch interval? */
static bool
touch_due(const struct snap *h, int64_t now_ms)
{
	int64_t want;

	if (h->pend || h->idle <= 0 || h->exp_ms == INT64_MAX)
		return false;
	want = now_ms + h->idle * 1000;
	if (want > h->abs * 1000)
		want = h->abs * 1000;
	return want - h->exp_ms >= touch_ms(h->idle);
}

/* ---- touches ---- */

static int
touch_now(const char *key)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	r = sk_cmd_eval(&c, &touch_script, 1, &rep);
	sk_reply_free(&rep);
	if (r != 0) {
		atomic_fetch_add(&sc.touch_errors, 1);
		/* The entry says "queued": drop it so that the next use
		 * reads again and queues again. */
		sk_cache_invalidate(sc.cache, key, strlen(key));
	}
	return r;
}

/* Queues a slide of key; a full queue slides inline (never dropped). */
static void
touch_queue(const char *key)
{
	size_t i;
	bool queued = false;

	pthread_mutex_lock(&sc.qlock);
	for (i = 0; i < sc.qlen; i++)
		if (strcmp(sc.q[(sc.qhead + i) % TOUCH_QUEUE], key) == 0)
			queued = true;
	if (!queued && sc.qlen < TOUCH_QUEUE) {
		snprintf(sc.q[(sc.qhead + sc.qlen) % TOUCH_QUEUE], SK_KEY_LEN,
			 "%s", key);
		sc.qlen++;
		queued = true;
		pthread_cond_signal(&sc.qcond);
	}
	pthread_mutex_unlock(&sc.qlock);
	if (!queued) {
		atomic_fetch_add(&sc.touches_inline, 1);
		(void)touch_now(key);
	}
}

static void
clock_refresh(void)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int64_t t0, t1, redis_us;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "TIME");
	t0 = sk_monotonic_us();
	if (sk_cmd_run(&c, &rep) != 0)
		return;
	t1 = sk_monotonic_us();
	if (rep->type == SK_REPLY_ARRAY && rep->nelem == 2 &&
	    rep->elem[0]->type == SK_REPLY_STRING &&
	    rep->elem[1]->type == SK_REPLY_STRING) {
		redis_us = num(rep->elem[0]) * 1000000 + num(rep->elem[1]);
		/* Redis read its clock somewhere in [t0, t1]: the middle is
		 * off by at most half the round trip. */
		atomic_store(&sc.clock_offset_us, redis_us - (t0 + t1) / 2);
		atomic_store(&sc.clock_at_us, t1);
	}
	sk_reply_free(&rep);
}

static void
deadline_in(struct timespec *ts, int64_t us)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (long)(us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Asks the server (on this thread's connection, the one the data is read
 * through) whether it is still the master. On "no", nothing is served
 * from memory until it is one again and the invalidation connection has
 * been made again.
 */
static void
role_check(void)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int64_t t0 = sk_monotonic_us();
	bool master;
	int r;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "ROLE");
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return; /* unknown: the deadline runs out by itself */
	master = rep->type == SK_REPLY_ARRAY && rep->nelem > 0 &&
		 rep->elem[0]->type == SK_REPLY_STRING &&
		 strcmp(rep->elem[0]->str, "master") == 0;
	sk_reply_free(&rep);
	if (!master) {
		/* Deadline first: a heartbeat answer cannot revive it. */
		atomic_store(&sc.role_until_us, 0);
		sk_cache_set_valid_until(sc.cache, 0);
		sk_cache_flush(sc.cache);
		if (!atomic_exchange(&sc.role_bad, true))
			sk_warn("session cache: the server is not a master "
				"(ROLE); emptied, reads go to Redis");
		return;
	}
	/* Back from "not a master" (or unknown): nothing read before may
	 * be inserted. */
	if (atomic_load(&sc.role_until_us) <= t0)
		sk_cache_flush(sc.cache);
	atomic_store(&sc.role_until_us, t0 + ROLE_VALID_US);
}

/* The touch thread: drains the queue, keeps the Redis clock offset. */
static void *
toucher_main(void *arg)
{
	char key[SK_KEY_LEN];
	struct timespec ts;
	int64_t next_clock = 0, next_role = 0, now, wake;
	bool have;

	(void)arg;
	for (;;) {
		now = sk_monotonic_us();
		if (now >= next_role) {
			role_check();
			next_role = now + ROLE_EVERY_US;
		}
		if (now >= next_clock) {
			clock_refresh();
			next_clock = now + CLOCK_EVERY_US;
		}
		wake = next_role < next_clock ? next_role : next_clock;
		pthread_mutex_lock(&sc.qlock);
		if (sc.qlen == 0 && !atomic_load(&sc.stop)) {
			deadline_in(&ts, wake - now);
			(void)pthread_cond_timedwait(&sc.qcond, &sc.qlock, &ts);
		}
		have = sc.qlen > 0;
		if (have) {
			memcpy(key, sc.q[sc.qhead], SK_KEY_LEN);
			sk_memzero(sc.q[sc.qhead], SK_KEY_LEN);
			sc.qhead = (sc.qhead + 1) % TOUCH_QUEUE;
			sc.qlen--;
		}
		pthread_mutex_unlock(&sc.qlock);
		if (have) {
			if (touch_now(key) == 0)
				atomic_fetch_add(&sc.touches, 1);
		} else if (atomic_load(&sc.stop)) {
			break;
		}
	}
	sk_store_thread_close();
	return NULL;
}

/* ---- the listener ---- */

static void
nap_us(int64_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000,
			      .tv_nsec = (long)(us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) != 0)
		;
}

struct lstate {
	struct sk_track *t;
	int64_t sent[MAX_PINGS]; /* FIFO of unanswered PINGs' times */
	size_t head, n;
	bool answered; /* a PING of this connection was answered */
	bool late;     /* emptied for a late answer; not yet answered */
};

static void
on_msg(enum sk_track_msg m, const char *key, size_t len, void *arg)
{
	struct lstate *ls = arg;
	int64_t s, role;

	switch (m) {
	case SK_TRACK_KEY:
		sk_cache_invalidate(sc.cache, key, len);
		break;
	case SK_TRACK_FLUSH:
		sk_cache_flush(sc.cache);
		break;
	case SK_TRACK_READING:
		atomic_store(&sc.reading, 1);
		break;
	case SK_TRACK_READ:
		atomic_store(&sc.reading, 0);
		break;
	case SK_TRACK_PONG:
		if (ls->n == 0)
			break; /* not ours: the caller sees no harm */
		s = ls->sent[ls->head];
		ls->head = (ls->head + 1) % MAX_PINGS;
		ls->n--;
		if (!ls->answered) {
			/* Reads that began before the subscription may have
			 * missed invalidations: refuse their inserts. */
			sk_cache_flush(sc.cache);
			ls->answered = true;
			sk_info("session cache: invalidation connection up");
		}
		ls->late = false;
		role = atomic_load(&sc.role_until_us);
		sk_cache_set_valid_until(
		    sc.cache, s + sc.bound_us < role ? s + sc.bound_us : role);
		break;
	}
}

static void
lose(struct lstate *ls, const char *why)
{
	sk_cache_set_valid_until(sc.cache, 0);
	sk_cache_flush(sc.cache);
	atomic_store(&sc.track_fd, -1);
	sk_store_track_close(&ls->t);
	sk_warn("session cache: %s; emptied, reads go to Redis", why);
}

static void *
listener_main(void *arg)
{
	static const char *const prefixes[] = {SK_TRACK_PREFIX_USER};
	struct lstate ls;
	int64_t now, next_ping = 0, next_try = 0, backoff = 0, wait;
	/* A connection silent this long is given up (Redis gone, no RST). */
	int64_t reconnect_after =
	    sc.bound_us * 5 > 1000000 ? sc.bound_us * 5 : 1000000;

	(void)arg;
	memset(&ls, 0, sizeof(ls));
	while (!atomic_load(&sc.stop)) {
		now = sk_monotonic_us();
		if (ls.t == NULL) {
			if (now < next_try) {
				wait = next_try - now;
				nap_us(wait > 50000 ? 50000 : wait);
				continue;
			}
			if (sk_store_track_open(prefixes,
						SK_ARRAY_SIZE(prefixes),
						&ls.t) != 0) {
				backoff =
				    backoff == 0 ? BACKOFF_MIN_US : backoff * 2;
				if (backoff > BACKOFF_MAX_US)
					backoff = BACKOFF_MAX_US;
				next_try = now + backoff;
				continue;
			}
			atomic_store(&sc.track_gen, sk_store_track_gen(ls.t));
			atomic_store(&sc.track_fd, sk_store_track_fd(ls.t));
			atomic_fetch_add(&sc.connects, 1);
			backoff = 0;
			ls.head = ls.n = 0;
			ls.answered = ls.late = false;
			next_ping = now;
		}
		if (atomic_exchange(&sc.role_bad, false)) {
			/* Demoted: track again on whatever is master next
			 * (the first heartbeat answered then flushes). */
			lose(&ls, "the server is not a master");
			next_try = now + BACKOFF_MIN_US;
			continue;
		}
		if (sk_store_track_stale(ls.t)) {
			/* Another master: its writes are not on this one. */
			lose(&ls, "Redis master changed");
			next_try = now;
			continue;
		}
		if (now >= next_ping) {
			if (ls.n == MAX_PINGS ||
			    sk_store_track_ping(ls.t) != 0) {
				lose(&ls, "heartbeat cannot be sent");
				continue;
			}
			ls.sent[(ls.head + ls.n) % MAX_PINGS] = now;
			ls.n++;
			next_ping = now + sc.hb_us;
		}
		if (ls.n > 0 && now - ls.sent[ls.head] > sc.bound_us) {
			/* Lookups stopped at the deadline already; this
			 * wipes what is held. */
			if (!ls.late) {
				sk_cache_set_valid_until(sc.cache, 0);
				sk_cache_flush(sc.cache);
				ls.late = true;
				sk_warn(
				    "session cache: heartbeat late; emptied, "
				    "reads go to Redis");
			}
			if (now - ls.sent[ls.head] > reconnect_after) {
				lose(&ls, "heartbeat unanswered");
				next_try = now;
				continue;
			}
		}
		wait = next_ping - now;
		if (sk_store_track_poll(
			ls.t, (int)(wait > 0 ? (wait + 999) / 1000 : 0), on_msg,
			&ls) != 0) {
			lose(&ls, "invalidation connection lost");
			next_try = sk_monotonic_us() + BACKOFF_MIN_US;
		}
	}
	atomic_store(&sc.track_fd, -1);
	sk_store_track_close(&ls.t);
	sk_store_thread_close();
	return NULL;
}

/* ---- start, stop, stats ---- */

int
sk_session_cache_start(const struct sk_config *cfg)
{
	int r;

	if (!cfg->session.cache || sk_sesscache_on())
		return 0;
	if ((r = sk_cache_new((size_t)cfg->session.cache_max_entries,
			      (size_t)cfg->session.cache_max_bytes,
			      &sc.cache)) != 0)
		return r;
	if ((sc.q = calloc(TOUCH_QUEUE, sizeof(*sc.q))) == NULL) {
		sk_cache_free(&sc.cache);
		return SK_ERR_NOMEM;
	}
	sc.qhead = sc.qlen = 0;
	sc.hb_us = cfg->session.cache_heartbeat_ms * 1000;
	sc.bound_us = 2 * sc.hb_us;
	sc.touch_ms = cfg->session.touch_interval_ms;
	atomic_store(&sc.stop, false);
	atomic_store(&sc.clock_at_us, 0);
	atomic_store(&sc.role_until_us, 0);
	atomic_store(&sc.role_bad, false);
	if (pthread_create(&sc.toucher, NULL, toucher_main, NULL) != 0)
		goto fail;
	if (pthread_create(&sc.listener, NULL, listener_main, NULL) != 0) {
		atomic_store(&sc.stop, true);
		pthread_mutex_lock(&sc.qlock);
		pthread_cond_signal(&sc.qcond);
		pthread_mutex_unlock(&sc.qlock);
		pthread_join(sc.toucher, NULL);
		goto fail;
	}
	atomic_store_explicit(&sc.on, true, memory_order_release);
	return 0;
fail:
	free(sc.q);
	sc.q = NULL;
	sk_cache_free(&sc.cache);
	return SK_ERR_INTERNAL;
}

void
sk_session_cache_stop(void)
{
	if (!sk_sesscache_on())
		return;
	atomic_store(&sc.stop, true);
	pthread_mutex_lock(&sc.qlock);
	pthread_cond_signal(&sc.qcond);
	pthread_mutex_unlock(&sc.qlock);
	pthread_join(sc.listener, NULL);
	pthread_join(sc.toucher, NULL);
	atomic_store_explicit(&sc.on, false, memory_order_release);
	sk_cache_free(&sc.cache);
	sk_freezero(sc.q, TOUCH_QUEUE * sizeof(*sc.q));
	sc.q = NULL;
}

bool
sk_session_cache_stats(struct sk_session_cache_stats *st)
{
	struct sk_cache_stats cs;

	memset(st, 0, sizeof(*st));
	if (!sk_sesscache_on())
		return false;
	sk_cache_stats(sc.cache, &cs);
	st->hits = cs.hits;
	st->misses = cs.misses;
	st->flushes = cs.flushes;
	st->invalidations = cs.invalidations;
	st->evictions = cs.evictions;
	st->refused = cs.refused;
	st->entries = cs.entries;
	st->bytes = cs.bytes;
	st->touches = atomic_load(&sc.touches);
	st->touches_inline = atomic_load(&sc.touches_inline);
	st->touch_errors = atomic_load(&sc.touch_errors);
	st->connects = atomic_load(&sc.connects);
	st->usable = sk_cache_usable(sc.cache, sk_monotonic_us());
	return true;
}

/* ---- reads ---- */

struct use {
	int64_t now_ms;
	bool touch; /* queue a slide */
	void *copy; /* the entry, copied out of the lock */
	size_t clen;
};

/* Decides the slide on the entry itself (once per read) and copies it. */
static int
use_entry(void *val, size_t vlen, void *arg)
{
	struct use *u = arg;
	struct snap h;

	hdr_get(val, &h);
	if (!h.touching && touch_due(&h, u->now_ms)) {
		h.touching = 1;
		memcpy((char *)val + offsetof(struct snap, touching),
		       &h.touching, sizeof(h.touching));
		u->touch = true;
	}
	if ((u->copy = malloc(vlen)) == NULL)
		return SK_ERR_NOMEM;
	memcpy(u->copy, val, vlen);
	u->clen = vlen;
	return 0;
}

/*
 * The entry of key: from memory, else from Redis (and remembered). On
 * success u->copy is the entry (sk_freezero(u->copy, u->clen)), *now_us
 * Redis TIME, and a due slide has been queued.
 */
static int
lookup(const char *key, struct use *u, int64_t *now_us)
{
	size_t klen = strlen(key);
	struct sk_cache_ticket t;
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int64_t mono = sk_monotonic_us();
	void *val = NULL;
	size_t vlen = 0;
	int r;

	memset(u, 0, sizeof(*u));
	*now_us = 0;
	/* Only what the invalidation connection tracks may be cached. */
	if (strncmp(key, SK_TRACK_PREFIX_USER,
		    sizeof(SK_TRACK_PREFIX_USER) - 1) != 0)
		return SK_ERR_INTERNAL;
	if (mono < atomic_load(&sc.role_until_us) &&
	    redis_now_us(mono, now_us) && !invalidations_pending()) {
		u->now_ms = *now_us / 1000;
		if ((r = sk_cache_get(sc.cache, key, klen, mono, use_entry,
				      u)) != SK_ERR_NOT_FOUND)
			goto out;
	}
	/* Before the read: an invalidation racing it refuses the insert. */
	sk_cache_ticket(sc.cache, key, klen, &t);
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, key);
	if ((r = sk_cmd_eval(&c, &snap_script, 1, &rep)) != 0)
		return r;
	if ((r = snap_build(rep, &val, &vlen, now_us)) != 0)
		goto out;
	u->now_ms = *now_us / 1000;
	/* Decided on what is inserted, so other threads see it queued. */
	(void)use_entry(val, vlen, u);
	if (u->copy == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	(void)sk_cache_insert(sc.cache, key, klen, &t, val, vlen,
			      sk_monotonic_us());
out:
	if (r == 0 && u->touch)
		touch_queue(key);
	if (val != NULL)
		sk_freezero(val, vlen);
	sk_reply_free(&rep);
	return r;
}

/* Past its absolute end or its idle expiry, by Redis's clock. */
static bool
ended(const struct snap *h, int64_t now_us)
{
	return now_us / 1000000 >= h->abs || now_us / 1000 >= h->exp_ms;
}

static char *
dup_field(const void *val, const struct snap *h, int f, int *err)
{
	const char *s = str_at(val, h, f);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = SK_ERR_NOMEM;
	return d;
}

int
sk_sesscache_session(const char *key, struct sk_session *s)
{
	struct use u;
	struct snap h;
	int64_t now_us;
	int r;

	if ((r = lookup(key, &u, &now_us)) != 0)
		return r;
	hdr_get(u.copy, &h);
	if (ended(&h, now_us)) {
		r = SK_ERR_NOT_FOUND;
		goto out;
	}
	s->user_id = dup_field(u.copy, &h, F_USER, &r);
	s->tenant = dup_field(u.copy, &h, F_TENANT, &r);
	s->email = dup_field(u.copy, &h, F_EMAIL, &r);
	s->name = dup_field(u.copy, &h, F_NAME, &r);
	s->provider = dup_field(u.copy, &h, F_PROVIDER, &r);
	s->amr = dup_field(u.copy, &h, F_AMR, &r);
	s->roles = dup_field(u.copy, &h, F_ROLES, &r);
	s->created = h.created;
	s->abs_exp = h.abs;
	s->revocations = h.rv;
	s->mfa_pending = h.pend != 0;
	s->mfa_at = h.mfa_at;
	s->now = now_us / 1000000;
out:
	sk_freezero(u.copy, u.clen);
	return r;
}

int
sk_sesscache_live(const char *key, const char *jti, const char *roles,
		  bool *live, int64_t *now)
{
	struct use u;
	struct snap h;
	const char *rj, *p, *cur;
	size_t jlen = strlen(jti);
	int64_t now_us;
	int r;

	*live = false;
	*now = 0;
	if ((r = lookup(key, &u, &now_us)) != 0) {
		if (r != SK_ERR_NOT_FOUND)
			return r;
		*now = now_us / 1000000; /* no record: not live */
		return 0;
	}
	hdr_get(u.copy, &h);
	*now = now_us / 1000000;
	*live = !ended(&h, now_us);
	/* " jti " in the space-separated list of revoked ones. */
	if ((rj = str_at(u.copy, &h, F_RJ)) != NULL && jlen > 0)
		for (p = strstr(rj, jti); p != NULL; p = strstr(p + 1, jti))
			if (p > rj && p[-1] == ' ' && p[jlen] == ' ')
				*live = false;
	/* A token minted under other roles than the session's now (a role
	 * changed since) is not live: as the live script decides. */
	if (roles != NULL &&
	    strcmp((cur = str_at(u.copy, &h, F_ROLES)) != NULL ? cur : "",
		   roles) != 0)
		*live = false;
	sk_freezero(u.copy, u.clen);
	return 0;
}

void
sk_sesscache_drop(const char *key)
{
	if (sk_sesscache_on())
		sk_cache_invalidate(sc.cache, key, strlen(key));
}

void
sk_sesscache_drop_user(const char *uid)
{
	char pfx[SK_KEY_LEN];
	int n;

	if (!sk_sesscache_on())
		return;
	n = snprintf(pfx, sizeof(pfx), SK_KEY_USER, uid);
	if (n > 0 && (size_t)n < sizeof(pfx))
		sk_cache_invalidate_prefix(sc.cache, pfx, (size_t)n);
}

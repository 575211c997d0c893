/*
 * Slow-client guard for the HTTP layer (server.c feeds it from
 * libmicrohttpd's connection callbacks; this file does not include
 * <microhttpd.h>):
 *
 * - a per-peer-address connection cap, so that one address holding
 *   hundreds of half-sent requests cannot take every connection slot
 *   (http.max_connections is shared by everyone);
 * - an absolute deadline for receiving a request. libmicrohttpd's timeout
 *   is reset by every byte, so a client trickling a header line every few
 *   seconds keeps a slot forever. Here a watchdog thread cuts (shutdown())
 *   any connection whose request has not fully arrived within
 *   http.request_timeout of the connection opening, answering 408 first
 *   (libmicrohttpd is not writing to the socket then). After an answer, a
 *   kept-alive connection gets http.idle_timeout + http.request_timeout
 *   for its next request: a truly idle one is closed by libmicrohttpd's
 *   idle timeout first, so only tricklers meet this bound.
 *
 * A connection is unlinked (under the lock) in libmicrohttpd's CLOSED
 * notification, which comes before it closes the descriptor: the watchdog
 * never touches a descriptor number that may have been reused.
 */
#include "broker_int.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * IDLE: kept alive after an answer (cut silently: a 408 could cross a new
 * request); HEAD: head being received; BODY: body being received (cut
 * silently: libmicrohttpd may be writing "100 Continue"); DONE: answering.
 */
enum phase {
	IDLE,
	HEAD,
	BODY,
	DONE
};

struct sk_conn {
	unsigned char ip[SK_IP_LEN];
	int fd;
	bool counted;		     /* included in the per-address count */
	_Atomic int64_t deadline_us; /* 0: not waiting for a request */
	atomic_int phase;
	struct sk_conn *prev, *next;
};

/* Per-address counts (peer_key): chained hash, keyed with a random seed. */
struct peer {
	unsigned char ip[SK_IP_LEN];
	int64_t n;
	struct peer *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stop;
	struct sk_conn *head;
	struct peer **bucket;
	size_t nbucket; /* power of two */
	uint64_t seed;
	int64_t per_ip;
	int64_t timeout_us;
	int64_t idle_us;
	const struct sk_ipset *exempt;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static size_t
slot(const unsigned char ip[SK_IP_LEN])
{
	uint64_t a, b, h;

	memcpy(&a, ip, 8);
	memcpy(&b, ip + 8, 8);
	h = (a ^ g.seed) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & (g.nbucket - 1);
}

/*
 * The unit that is capped: an IPv4 address, or an IPv6 /64 (one host
 * usually holds a whole /64; capping single IPv6 addresses would cap
 * nothing).
 */
static void
peer_key(const unsigned char ip[SK_IP_LEN], unsigned char key[SK_IP_LEN])
{
	static const unsigned char v4[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};

	memcpy(key, ip, SK_IP_LEN);
	if (memcmp(ip, v4, sizeof(v4)) != 0)
		memset(key + 8, 0, 8);
}

static struct peer **
find(const unsigned char ip[SK_IP_LEN])
{
	unsigned char key[SK_IP_LEN];
	struct peer **pp;

	peer_key(ip, key);
	pp = &g.bucket[slot(key)];
	while (*pp != NULL && memcmp((*pp)->ip, key, SK_IP_LEN) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Sends a 408 without blocking; best effort (the socket is cut anyway). */
static void
send_408(int fd)
{
	static const char msg[] =
	    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\nContent-Length: 67\r\n\r\n"
	    "{\"error\":\"invalid_request\",\"error_description\":\"request "
	    "too slow\"}\n";
	ssize_t w;

	w = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)w;
}

static void *
watchdog(void *arg)
{
	struct timespec ts;
	struct sk_conn *c;
	int64_t now;

	(void)arg;
	pthread_mutex_lock(&g.mu);
	while (!g.stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000; /* 200 ms granularity */
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g.cv, &g.mu, &ts);
		now = sk_monotonic_us();
		for (c = g.head; c != NULL; c = c->next) {
			int64_t d = atomic_load(&c->deadline_us);
			char ip[SK_IP_STRLEN];
			if (d == 0 || now < d)
				continue;
			atomic_store(&c->deadline_us, 0);
			if (atomic_load(&c->phase) == HEAD)
				send_408(c->fd);
			shutdown(c->fd, SHUT_RDWR);
			sk_ip_format(c->ip, ip);
			sk_info("http: request from %s not received within "
				"http.request_timeout: connection cut",
				ip);
		}
	}
	pthread_mutex_unlock(&g.mu);
	return NULL;
}

int
sk_connguard_start(int64_t max_conns, int64_t per_ip, int64_t timeout_s,
		   int64_t idle_s, const struct sk_ipset *exempt)
{
	size_t n = 64;
	int r;

	while ((int64_t)n < max_conns * 2 && n < ((size_t)1 << 22))
		n <<= 1;
	pthread_mutex_lock(&g.mu);
	if ((g.bucket = calloc(n, sizeof(*g.bucket))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	g.nbucket = n;
	if (sk_random_bytes(&g.seed, sizeof(g.seed)) != 0) {
		r = SK_ERR_INTERNAL;
		goto out;
	}
	g.per_ip = per_ip;
	g.timeout_us = timeout_s * 1000000;
	g.idle_us = idle_s * 1000000;
	g.exempt = exempt;
	g.stop = false;
	if (pthread_create(&g.thread, NULL, watchdog, NULL) != 0) {
		r = SK_ERR_INTERNAL;
		goto out;
	}
	g.running = true;
	r = 0;
out:
	if (r != 0) {
		free(g.bucket);
		g.bucket = NULL;
	}
	pthread_mutex_unlock(&g.mu);
	return r;
}

void
sk_connguard_stop(void)
{
	size_t i;

	pthread_mutex_lock(&g.mu);
	if (!g.running) {
		pthread_mutex_unlock(&g.mu);
		return;
	}
	g.stop = true;
	pthread_cond_signal(&g.cv);
	pthread_mutex_unlock(&g.mu);
	pthread_join(g.thread, NULL);
	pthread_mutex_lock(&g.mu);
	g.running = false;
	for (i = 0; i < g.nbucket; i++) {
		while (g.bucket[i] != NULL) {
			struct peer *p = g.bucket[i];
			g.bucket[i] = p->next;
			free(p);
		}
	}
	free(g.bucket);
	g.bucket = NULL;
	g.nbucket = 0;
	pthread_mutex_unlock(&g.mu);
}

/*
 * A refused connection is logged, at most one line a second for the whole
 * process (a flood must not become a flood of log lines): the address of
 * the refusal that writes the line and how many were refused since the
 * last one.
 */
static void
log_refusal(const unsigned char ip[SK_IP_LEN])
{
	static _Atomic int64_t next_us;
	static _Atomic uint64_t refused;
	int64_t now = sk_monotonic_us(), due = atomic_load(&next_us);
	char addr[SK_IP_STRLEN];
	uint64_t n;

	atomic_fetch_add(&refused, 1);
	if (now < due ||
	    !atomic_compare_exchange_strong(&next_us, &due, now + 1000000))
		return;
	n = atomic_exchange(&refused, 0);
	sk_ip_format(ip, addr);
	sk_warn("http: connection from %s refused: it holds "
		"http.max_connections_per_ip (%lld) connections "
		"(%llu refused since the last such line)",
		addr, (long long)g.per_ip, (unsigned long long)n);
}

bool
sk_connguard_admit(const unsigned char ip[SK_IP_LEN])
{
	struct peer **pp;
	bool ok = true;

	/* Behind a proxy every connection comes from it: never capped. */
	if (sk_ipset_contains(g.exempt, ip))
		return true;
	pthread_mutex_lock(&g.mu);
	if (g.bucket != NULL && *(pp = find(ip)) != NULL &&
	    (*pp)->n >= g.per_ip)
		ok = false;
	pthread_mutex_unlock(&g.mu);
	if (!ok)
		log_refusal(ip);
	return ok;
}

struct sk_conn *
sk_connguard_open(const unsigned char ip[SK_IP_LEN], int fd)
{
	struct sk_conn *c;
	struct peer **pp;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	memcpy(c->ip, ip, SK_IP_LEN);
	c->fd = fd;
	atomic_store(&c->phase, HEAD);
	atomic_store(&c->deadline_us, sk_monotonic_us() + g.timeout_us);
	pthread_mutex_lock(&g.mu);
	if (g.bucket != NULL && !sk_ipset_contains(g.exempt, ip)) {
		if (*(pp = find(ip)) == NULL &&
		    (*pp = calloc(1, sizeof(**pp))) != NULL)
			peer_key(ip, (*pp)->ip);
		if (*pp != NULL) {
			(*pp)->n++;
			c->counted = true;
		}
	}
	c->next = g.head;
	if (g.head != NULL)
		g.head->prev = c;
	g.head = c;
	pthread_mutex_unlock(&g.mu);
	return c;
}

void
sk_connguard_close(struct sk_conn **cp)
{
	struct sk_conn *c;
	struct peer **pp, *p;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	*cp = NULL;
	pthread_mutex_lock(&g.mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g.head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->counted && g.bucket != NULL &&
	    (p = *(pp = find(c->ip))) != NULL && --p->n <= 0) {
		*pp = p->next;
		free(p);
	}
	pthread_mutex_unlock(&g.mu);
	free(c);
}

void
sk_connguard_head_done(struct sk_conn *c)
{
	if (c != NULL)
		atomic_store(&c->phase, BODY);
}

void
sk_connguard_received(struct sk_conn *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->phase, DONE);
	atomic_store(&c->deadline_us, 0);
}

void
sk_connguard_answered(struct sk_conn *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->phase, IDLE);
	atomic_store(&c->deadline_us,
		     sk_monotonic_us() + g.idle_us + g.timeout_us);
}

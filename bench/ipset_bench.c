/*
 * IP allowlist lookups (sk_ipset_contains): builds sets of 10 and of
 * 100,000 random prefixes (half IPv4 /20../32, half IPv6 /32../128, as
 * office ranges are; few of them overlap) and
 * looks up random addresses (half IPv4, half IPv6; a quarter of them
 * inside a prefix of the set), printing the median of RUNS runs:
 *
 *   ipset_bench [seconds per run, default 1] [runs, default 5]
 *   -> "prefixes 10 lookups/s N" and "prefixes 100000 lookups/s N"
 *
 * and the same through sk_ip_admitted() (the address as text, parsed on
 * each call, then a tenant's member and admin lists): the per-request
 * cost of the allowlist at /auth/verify.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_int.h"
#include "sekisho/config.h"
#include "sekisho/ipset.h"
#include "sekisho/util.h"

#define NADDR 4096 /* addresses looked up, in a loop */
#define MAXRUNS 15

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random prefix as text, host bits cleared. */
static void
prefix(char *out, size_t len, unsigned char addr[SK_IP_LEN])
{
	unsigned char a[SK_IP_LEN];
	char text[SK_IP_STRLEN];
	unsigned int bits, i;
	bool v4 = next() & 1;

	for (i = 0; i < SK_IP_LEN; i += 8) {
		uint64_t x = next();
		memcpy(a + i, &x, 8);
	}
	if (v4) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		bits = 20 + (unsigned int)(next() % 13);
	} else {
		a[0] = 0x20; /* global unicast-looking */
		bits = 32 + (unsigned int)(next() % 97);
	}
	for (i = (v4 ? 96 : 0) + bits; i < 128; i++)
		a[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	memcpy(addr, a, SK_IP_LEN);
	sk_ip_format(a, text);
	snprintf(out, len, "%s/%u", text, bits);
}

static void __attribute__((noreturn)) die(const char *why)
{
	fprintf(stderr, "ipset_bench: %s\n", why);
	exit(1);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static unsigned char addrs[NADDR][SK_IP_LEN];
static char texts[NADDR][SK_IP_STRLEN];

/* One lookup of address i: in the set, or through sk_ip_admitted() for an
 * admin of the tenant (both lists). */
static bool
in_set(const void *ctx, size_t i)
{
	return sk_ipset_contains(ctx, addrs[i]);
}

static bool
admitted(const void *ctx, size_t i)
{
	return sk_ip_admitted(ctx, texts[i], true);
}

/* Lookups/s of fn over the addresses for secs seconds. */
static double
run(bool (*fn)(const void *, size_t), const void *ctx, double secs)
{
	int64_t start = sk_monotonic_us(), end = start + (int64_t)(secs * 1e6);
	int64_t now;
	unsigned long long n = 0, hits = 0;
	size_t i;

	do {
		for (i = 0; i < NADDR; i++)
			hits += fn(ctx, i);
		n += NADDR;
	} while ((now = sk_monotonic_us()) < end);
	if (hits > n)
		abort(); /* keeps the lookups from being optimised away */
	return (double)n / ((double)(now - start) / 1e6);
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = {10, 100000};
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0, rates[MAXRUNS];
	struct sk_tenant_conf t;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5, k;
	size_t s, i;

	if (secs <= 0 || runs < 1 || runs > MAXRUNS) {
		fprintf(stderr, "usage: ipset_bench [seconds] [runs 1..%d]\n",
			MAXRUNS);
		return 2;
	}
	for (s = 0; s < SK_ARRAY_SIZE(sizes); s++) {
		size_t n = sizes[s];
		char **v = calloc(n, sizeof(*v));
		unsigned char(*own)[SK_IP_LEN] = calloc(n, SK_IP_LEN);
		struct sk_ipset *set = NULL;
		char buf[64];

		if (v == NULL || own == NULL)
			die("out of memory");
		for (i = 0; i < n; i++) {
			prefix(buf, sizeof(buf), own[i]);
			if ((v[i] = strdup(buf)) == NULL)
				die("out of memory");
		}
		if (sk_ipset_parse((const char *const *)v, n, &set, NULL) != 0)
			die("parse failed");
		/* A quarter inside the set (a prefix's first address). */
		for (i = 0; i < NADDR; i++) {
			if (i % 4 == 0) {
				memcpy(addrs[i], own[next() % n], SK_IP_LEN);
			} else {
				char skip[64];
				prefix(skip, sizeof(skip), addrs[i]);
				addrs[i][15] ^= (unsigned char)next();
			}
		}
		for (k = 0; k < runs; k++)
			rates[k] = run(in_set, set, secs);
		qsort(rates, (size_t)runs, sizeof(rates[0]), cmp);
		printf("prefixes %zu lookups/s %.0f (ranges %zu)\n", n,
		       rates[runs / 2], sk_ipset_ranges(set));
		/* The same set as a tenant's member and admin lists. */
		memset(&t, 0, sizeof(t));
		t.ip_set = t.admin_ip_set = set;
		for (i = 0; i < NADDR; i++)
			sk_ip_format(addrs[i], texts[i]);
		for (k = 0; k < runs; k++)
			rates[k] = run(admitted, &t, secs);
		qsort(rates, (size_t)runs, sizeof(rates[0]), cmp);
		printf("prefixes %zu sk_ip_admitted/s %.0f (text address, "
		       "member and admin lists)\n",
		       n, rates[runs / 2]);
		sk_ipset_free(&set);
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		free(own);
	}
	return 0;
}

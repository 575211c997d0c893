/*
 * IP prefix sets (common/include/sekisho/ipset.h): each prefix becomes the
 * range [first, last] of 16-byte addresses; ranges are sorted and merged, and a
 * lookup bisects them. Big-endian bytes compare with memcmp in numeric
 * order, so no 128-bit arithmetic is needed while building; the merged
 * ranges are then kept as pairs of 64-bit integers, starts and ends in
 * arrays of their own, so a lookup compares integers and bisects over
 * half the memory (bench/ipset_bench.c).
 */
#include "sekisho/ipset.h"
#include "sekisho/err.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct range {
	unsigned char lo[SK_IP_LEN];
	unsigned char hi[SK_IP_LEN];
};

/* An address as a number: hi and lo 64 bits, host order. */
struct key {
	uint64_t h, l;
};

struct sk_ipset {
	struct range *r; /* while building */
	size_t n;
	struct key *lo, *hi; /* range i is [lo[i], hi[i]] */
};

static struct key
key_of(const unsigned char a[SK_IP_LEN])
{
	uint64_t h, l;

	memcpy(&h, a, 8);
	memcpy(&l, a + 8, 8);
	return (struct key){be64toh(h), be64toh(l)};
}

static bool
key_le(struct key a, struct key b)
{
	return a.h < b.h || (a.h == b.h && a.l <= b.l);
}

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};

int
sk_ip_parse(const char *s, size_t len, unsigned char out[SK_IP_LEN])
{
	char tmp[SK_IP_STRLEN];

	if (len == 0 || len >= sizeof(tmp) || memchr(s, '\0', len) != NULL)
		return SK_ERR_INVALID;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	/* inet_pton's IPv4 form is strict: four decimal parts, no octal. */
	if (inet_pton(AF_INET, tmp, out + 12) == 1) {
		memcpy(out, v4mapped, sizeof(v4mapped));
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out) == 1)
		return 0;
	return SK_ERR_INVALID;
}

void
sk_ip_format(const unsigned char ip[SK_IP_LEN], char out[SK_IP_STRLEN])
{
	char *p = out;
	int i, d;

	/* IPv4 by hand: glibc's inet_ntop goes through sprintf, and this
	   runs for every request's access line. */
	if (memcmp(ip, v4mapped, sizeof(v4mapped)) == 0) {
		for (i = 12; i < 16; i++) {
			d = ip[i];
			if (d >= 100)
				*p++ = (char)('0' + d / 100);
			if (d >= 10)
				*p++ = (char)('0' + d / 10 % 10);
			*p++ = (char)('0' + d % 10);
			*p++ = i < 15 ? '.' : '\0';
		}
	} else
		inet_ntop(AF_INET6, ip, out, SK_IP_STRLEN);
}

/* "ADDR[/LEN]" into a range; SK_ERR_INVALID on any syntax or host bits. */
static int
parse_prefix(const char *cidr, struct range *rg)
{
	const char *slash = strchr(cidr, '/');
	size_t alen = slash ? (size_t)(slash - cidr) : strlen(cidr);
	unsigned int bits, max, i;
	bool v4;

	if (sk_ip_parse(cidr, alen, rg->lo) != 0)
		return SK_ERR_INVALID;
	v4 = memchr(cidr, ':', alen) == NULL;
	max = v4 ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		/* 1 to 3 digits, no sign, no leading zero ("08" is a typo) */
		if (p[0] < '0' || p[0] > '9' || strlen(p) > 3 ||
		    (p[0] == '0' && p[1] != '\0'))
			return SK_ERR_INVALID;
		for (bits = 0; *p; p++) {
			if (*p < '0' || *p > '9')
				return SK_ERR_INVALID;
			bits = bits * 10 + (unsigned int)(*p - '0');
		}
		if (bits > max)
			return SK_ERR_INVALID;
	}
	if (v4)
		bits += 96;
	memcpy(rg->hi, rg->lo, SK_IP_LEN);
	for (i = 0; i < SK_IP_LEN * 8; i++) {
		unsigned char m = (unsigned char)(0x80u >> (i % 8));
		if (i < bits)
			continue;
		if (rg->lo[i / 8] & m)
			return SK_ERR_INVALID; /* host bits set */
		rg->hi[i / 8] |= m;
	}
	return 0;
}

int
sk_ipset_check(const char *cidr)
{
	struct range rg;

	return cidr == NULL ? SK_ERR_INVALID : parse_prefix(cidr, &rg);
}

static int
range_cmp(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->lo,
		      ((const struct range *)b)->lo, SK_IP_LEN);
}

/* x + 1 == y, for merging adjacent ranges */
static bool
next_of(const unsigned char x[SK_IP_LEN], const unsigned char y[SK_IP_LEN])
{
	unsigned char t[SK_IP_LEN];
	int i;

	memcpy(t, x, SK_IP_LEN);
	for (i = SK_IP_LEN - 1; i >= 0; i--)
		if (++t[i] != 0)
			break;
	return i >= 0 && memcmp(t, y, SK_IP_LEN) == 0;
}

int
sk_ipset_parse(const char *const *cidrs, size_t n, struct sk_ipset **out,
	       size_t *bad)
{
	struct sk_ipset *set = NULL;
	size_t i, w;
	int r;

	*out = NULL;
	if (bad != NULL)
		*bad = 0;
	if ((set = calloc(1, sizeof(*set))) == NULL)
		return SK_ERR_NOMEM;
	if (n > 0 && (set->r = calloc(n, sizeof(*set->r))) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (cidrs[i] == NULL ||
		    parse_prefix(cidrs[i], &set->r[i]) != 0) {
			if (bad != NULL)
				*bad = i;
			r = SK_ERR_INVALID;
			goto out;
		}
	}
	if (n > 0) {
		qsort(set->r, n, sizeof(*set->r), range_cmp);
		/* Merge overlapping and adjacent ranges: disjoint, sorted. */
		for (w = 0, i = 1; i < n; i++) {
			struct range *cur = &set->r[w];
			if (memcmp(set->r[i].lo, cur->hi, SK_IP_LEN) <= 0 ||
			    next_of(cur->hi, set->r[i].lo)) {
				if (memcmp(set->r[i].hi, cur->hi, SK_IP_LEN) >
				    0)
					memcpy(cur->hi, set->r[i].hi,
					       SK_IP_LEN);
			} else {
				set->r[++w] = set->r[i];
			}
		}
		set->n = w + 1;
		if ((set->lo = calloc(set->n, sizeof(*set->lo))) == NULL ||
		    (set->hi = calloc(set->n, sizeof(*set->hi))) == NULL) {
			r = SK_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < set->n; i++) {
			set->lo[i] = key_of(set->r[i].lo);
			set->hi[i] = key_of(set->r[i].hi);
		}
	}
	free(set->r);
	set->r = NULL;
	*out = set;
	set = NULL;
	r = 0;
out:
	sk_ipset_free(&set);
	return r;
}

bool
sk_ipset_contains(const struct sk_ipset *set, const unsigned char ip[SK_IP_LEN])
{
	const struct key *base;
	struct key k;
	size_t len, half;

	if (set == NULL || set->n == 0)
		return false;
	/* The last range whose start is <= ip (or the first), then its end. */
	k = key_of(ip);
	base = set->lo;
	for (len = set->n; len > 1; len -= half) {
		half = len / 2;
		if (key_le(base[half], k))
			base += half;
	}
	return key_le(*base, k) && key_le(k, set->hi[base - set->lo]);
}

size_t
sk_ipset_ranges(const struct sk_ipset *set)
{
	return set != NULL ? set->n : 0;
}

void
sk_ipset_free(struct sk_ipset **setp)
{
	if (setp == NULL || *setp == NULL)
		return;
	free((*setp)->r);
	free((*setp)->lo);
	free((*setp)->hi);
	free(*setp);
	*setp = NULL;
}

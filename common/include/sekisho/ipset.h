/*
 * Sets of IP address prefixes (CIDR), IPv4 and IPv6 in one set.
 *
 * Every address is handled as 16 bytes in network order: an IPv4 address
 * a.b.c.d is the IPv4-mapped IPv6 address ::ffff:a.b.c.d, and an IPv4
 * prefix a.b.c.d/n is ::ffff:a.b.c.d/(96+n). So an IPv4 client seen on a
 * dual-stack socket (::ffff:10.1.2.3) matches "10.0.0.0/8", and an IPv6
 * prefix covering ::ffff:0:0/96 (e.g. "::/0") covers all of IPv4.
 *
 * A set is sorted, merged ranges searched by bisection: lookups are
 * O(log n), for sets of up to hundreds of thousands of prefixes (per-tenant
 * allowlists). A set is read-only once parsed and safe to share between
 * threads.
 */
#ifndef SEKISHO_IPSET_H
#define SEKISHO_IPSET_H

#include <stdbool.h>
#include <stddef.h>

#define SK_IP_LEN 16
/* Longest text sk_ip_format writes, with its NUL (INET6_ADDRSTRLEN). */
#define SK_IP_STRLEN 46

struct sk_ipset;

/*
 * Parses one address, IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1"), without
 * brackets, port or zone, into out. Returns 0 or SK_ERR_INVALID.
 */
int sk_ip_parse(const char *s, size_t len, unsigned char out[SK_IP_LEN]);

/*
 * Writes an address as text: dotted IPv4 for an IPv4-mapped address,
 * RFC 5952 IPv6 otherwise.
 */
void sk_ip_format(const unsigned char ip[SK_IP_LEN], char out[SK_IP_STRLEN]);

/*
 * Checks one prefix: "ADDR/LEN" (IPv4 0..32, IPv6 0..128) or a bare
 * address (a single host). Bits set past the prefix length are refused
 * ("10.0.0.1/8" is a typo, not a network). Returns 0 or SK_ERR_INVALID.
 */
int sk_ipset_check(const char *cidr);

/*
 * Builds a set from n prefixes (sk_ipset_check syntax). On success returns
 * 0 and *out is newly allocated (free with sk_ipset_free()); n == 0 gives
 * an empty set that contains nothing. On SK_ERR_INVALID, *bad (if not NULL)
 * is the index of the first bad prefix; SK_ERR_NOMEM otherwise.
 */
int sk_ipset_parse(const char *const *cidrs, size_t n, struct sk_ipset **out,
		   size_t *bad);

/* True when ip is in the set; a NULL or empty set contains nothing. */
bool sk_ipset_contains(const struct sk_ipset *set,
		       const unsigned char ip[SK_IP_LEN]);

/* Number of disjoint ranges after merging (for tests and logs). */
size_t sk_ipset_ranges(const struct sk_ipset *set);

/* Frees; accepts NULL and clears the caller's pointer. */
void sk_ipset_free(struct sk_ipset **set);

#endif

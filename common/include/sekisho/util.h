/*
 * Small shared helpers: secret handling, random values, encodings, string
 * buffers and duration parsing. Nothing here touches the network.
 */
#ifndef SEKISHO_UTIL_H
#define SEKISHO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wipes n bytes in a way the compiler may not elide (OPENSSL_cleanse). */
void sk_memzero(void *p, size_t n);
/* Wipes then frees; accepts NULL. */
void sk_freezero(void *p, size_t n);
/* Wipes a NUL-terminated string then frees it; accepts NULL. */
void sk_strfreezero(char *s);

/*
 * Constant-time equality of two byte strings. Lengths are compared first
 * (lengths are not secret); contents with CRYPTO_memcmp. A NULL side never
 * compares equal, so a missing value fails closed.
 */
__attribute__((warn_unused_result)) bool sk_ct_eq(const void *a, size_t alen,
						  const void *b, size_t blen);
/* sk_ct_eq for two NUL-terminated strings; NULL never equals. */
__attribute__((warn_unused_result)) bool sk_ct_streq(const char *a,
						     const char *b);

/* True when v is [A-Za-z0-9_-]{min,max} (ASCII): the shape of every
 * token we issue (session ids, states, refresh-token parts). */
bool sk_token_shape_ok(const char *v, size_t min, size_t max);

/* Fills buf with n bytes from the CSPRNG. Returns 0 or SK_ERR_INTERNAL. */
int sk_random_bytes(void *buf, size_t n);
/*
 * Makes a random token of nbytes entropy, base64url without padding.
 * On success *out is newly allocated; free with sk_strfreezero().
 */
int sk_random_token(size_t nbytes, char **out);

/* base64url (no padding). On success *out is newly allocated (free()). */
int sk_b64url_encode(const void *in, size_t len, char **out);
/*
 * Decodes base64url, padding optional. On success *out is newly allocated
 * (free()), NUL-terminated for convenience, *outlen excludes the NUL.
 * Returns SK_ERR_INVALID on any character outside the alphabet.
 */
int sk_b64url_decode(const char *in, size_t len, unsigned char **out,
		     size_t *outlen);
/* Standard base64 decode (for HTTP Basic). Same ownership as above. */
int sk_b64_decode(const char *in, size_t len, unsigned char **out,
		  size_t *outlen);

/* SHA-256 of data, as 64 lowercase hex chars + NUL into out[65]. */
void sk_sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 of data, base64url (43 chars + NUL) into out[44]. */
void sk_sha256_b64url(const void *data, size_t len, char out[44]);

/*
 * Parses a duration: a positive integer followed by one unit s, m, h, d or
 * y ("90s", "15m", "36h", "14d", "7y"; a year is 366 days); a bare integer
 * means seconds. The result must fit in 10 years of 366 days. Returns 0 or
 * SK_ERR_INVALID.
 */
int sk_parse_duration(const char *s, int64_t *seconds);

/* Growable string buffer. Always NUL-terminated once anything is added. */
struct sk_buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom; /* sticky: an append failed; the content is incomplete */
};
void sk_buf_init(struct sk_buf *b);
void sk_buf_add(struct sk_buf *b, const void *data, size_t len);
void sk_buf_adds(struct sk_buf *b, const char *s);
void sk_buf_addf(struct sk_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s with HTML special characters escaped. */
void sk_buf_add_html(struct sk_buf *b, const char *s);
/* Appends s percent-encoded for a URL query component. */
void sk_buf_add_urlenc(struct sk_buf *b, const char *s);
/*
 * Copies len bytes of in to out (cap bytes) as valid UTF-8: a byte that
 * starts no valid sequence becomes U+FFFD. Stops at a character boundary
 * when out is full. Returns the bytes written (no NUL is added);
 * *consumed is how many bytes of in were read (len unless out filled).
 */
size_t sk_utf8_scrub(const char *in, size_t len, char *out, size_t cap,
		     size_t *consumed);
/*
 * Takes the content: on success *out owns the string (free()) and b is
 * reset. Returns SK_ERR_NOMEM if any append failed (b is freed then).
 */
int sk_buf_take(struct sk_buf *b, char **out);
void sk_buf_free(struct sk_buf *b);

/* Parses a TCP port "1".."65535": 1 to 5 ASCII digits, nothing else.
 * Returns 0 or SK_ERR_INVALID. */
int sk_parse_port(const char *s, size_t len, uint16_t *port);

/*
 * True when the host name or address (len bytes of h, IPv6 without
 * brackets) is loopback: localhost, *.localhost, 127.0.0.0/8 or ::1.
 */
bool sk_host_is_loopback(const char *h, size_t len);

/* Value of one hexadecimal digit (either case), or -1. */
int sk_hexval(int c);

/*
 * Decodes one application/x-www-form-urlencoded component ('+' is a space).
 * Returns a newly allocated string or NULL on a bad escape, an embedded NUL
 * or no memory.
 */
char *sk_urldecode(const char *s, size_t len);

/*
 * Finds parameter name in a query string or form body ("a=1&b=2") and
 * returns its decoded value, newly allocated (free()); NULL when absent or
 * malformed. A parameter given twice counts as malformed (*dup set true),
 * as OAuth 2.0 requires.
 */
char *sk_form_get(const char *form, const char *name, bool *dup);

/*
 * Reads a whole regular file of at most maxlen bytes. On success *out is
 * newly allocated and NUL-terminated (free(), or sk_freezero(*out,
 * *outlen + 1) when it may hold secrets), *outlen (if not NULL) its length.
 * Returns SK_ERR_IO when it cannot be read (errno says why: EISDIR or
 * EINVAL when it is not a regular file), SK_ERR_TOO_LARGE past maxlen
 * (errno EFBIG), SK_ERR_NOMEM. *st (if not NULL) receives fstat() of the
 * file opened, whenever that succeeded.
 */
int sk_read_file(const char *path, size_t maxlen, char **out, size_t *outlen,
		 struct stat *st);

/* Reads a whole small file: a secret of at most maxlen bytes, trailing
 * newlines (not counted) stripped. *out newly allocated, NUL-terminated;
 * free with sk_strfreezero(). SK_ERR_TOO_LARGE past maxlen, SK_ERR_INVALID
 * for an embedded NUL, SK_ERR_IO when it cannot be read (errno says why). */
int sk_read_secret_file(const char *path, size_t maxlen, char **out);
/* The same; *st (if not NULL) receives fstat() of the file read, for
 * ownership and mode checks without a second lookup of path. */
int sk_read_secret_file_stat(const char *path, size_t maxlen, char **out,
			     struct stat *st);

/* Monotonic clock in microseconds. */
int64_t sk_monotonic_us(void);
/* Wall clock seconds. */
int64_t sk_wall_s(void);

#endif

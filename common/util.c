/* Shared helpers: secrets, randomness, encodings, buffers, durations. */
#include "sekisho/util.h"
#include "sekisho/err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

void
sk_memzero(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
sk_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

void
sk_strfreezero(char *s)
{
	if (s == NULL)
		return;
	sk_freezero(s, strlen(s));
}

bool
sk_ct_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	/* NULL never matches: a missing state, nonce or token fails closed. */
	if (a == NULL || b == NULL)
		return false;
	if (alen != blen || alen == 0)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

bool
sk_ct_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return false;
	return sk_ct_eq(a, strlen(a), b, strlen(b));
}

bool
sk_token_shape_ok(const char *v, size_t min, size_t max)
{
	size_t n;

	if (v == NULL)
		return false;
	for (n = 0; v[n] != '\0'; n++) {
		unsigned char c = (unsigned char)v[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (n >= max || !ok)
			return false;
	}
	return n >= min;
}

int
sk_random_bytes(void *buf, size_t n)
{
	if (n > INT_MAX || RAND_bytes(buf, (int)n) != 1)
		return SK_ERR_INTERNAL;
	return 0;
}

int
sk_random_token(size_t nbytes, char **out)
{
	unsigned char raw[64];
	int r;

	*out = NULL;
	if (nbytes == 0 || nbytes > sizeof(raw))
		return SK_ERR_INVALID;
	if ((r = sk_random_bytes(raw, nbytes)) != 0)
		goto out;
	r = sk_b64url_encode(raw, nbytes, out);
out:
	sk_memzero(raw, sizeof(raw));
	return r;
}

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
sk_b64url_encode(const void *in, size_t len, char **out)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	char *s;

	*out = NULL;
	if (len > (SIZE_MAX / 4) - 4)
		return SK_ERR_TOO_LARGE;
	if ((s = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v =
		    (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = b64url_alpha[(v >> 18) & 63];
		s[o++] = b64url_alpha[(v >> 12) & 63];
		s[o++] = b64url_alpha[(v >> 6) & 63];
		s[o++] = b64url_alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		s[o++] = b64url_alpha[(v >> 18) & 63];
		s[o++] = b64url_alpha[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		s[o++] = b64url_alpha[(v >> 18) & 63];
		s[o++] = b64url_alpha[(v >> 12) & 63];
		s[o++] = b64url_alpha[(v >> 6) & 63];
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

static int
b64_value(unsigned char c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (url ? c == '-' : c == '+')
		return 62;
	if (url ? c == '_' : c == '/')
		return 63;
	return -1;
}

static int
b64_decode(const char *in, size_t len, bool url, unsigned char **out,
	   size_t *outlen)
{
	unsigned char *d;
	uint32_t acc = 0;
	size_t i, o = 0, bits = 0;

	*out = NULL;
	*outlen = 0;
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return SK_ERR_INVALID;
	if ((d = malloc(len / 4 * 3 + 3)) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < len; i++) {
		int v = b64_value((unsigned char)in[i], url);
		if (v < 0) {
			free(d);
			return SK_ERR_INVALID;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (unsigned char)(acc >> bits);
		}
	}
	/*
	 * Canonical form only: leftover bits must be zero, so one byte
	 * string has exactly one encoding (no malleable signatures).
	 */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
		free(d);
		return SK_ERR_INVALID;
	}
	d[o] = '\0';
	*out = d;
	*outlen = o;
	return 0;
}

int
sk_b64url_decode(const char *in, size_t len, unsigned char **out,
		 size_t *outlen)
{
	return b64_decode(in, len, true, out, outlen);
}

int
sk_b64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	return b64_decode(in, len, false, out, outlen);
}

void
sk_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256(data, len, md);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void
sk_sha256_b64url(const void *data, size_t len, char out[44])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *s = NULL;

	SHA256(data, len, md);
	out[0] = '\0';
	if (sk_b64url_encode(md, sizeof(md), &s) == 0) {
		memcpy(out, s, 43);
		out[43] = '\0';
		free(s);
	}
}

int
sk_parse_duration(const char *s, int64_t *seconds)
{
	const int64_t max = 10LL * 366 * 86400;
	int64_t v = 0, mult = 1;
	const char *p = s;

	*seconds = 0;
	if (s == NULL || !isdigit((unsigned char)*p))
		return SK_ERR_INVALID;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (v > max)
			return SK_ERR_INVALID;
		p++;
	}
	switch (*p) {
	case '\0':
		break;
	case 's':
		p++;
		break;
	case 'm':
		mult = 60;
		p++;
		break;
	case 'h':
		mult = 3600;
		p++;
		break;
	case 'd':
		mult = 86400;
		p++;
		break;
	case 'y':
		/* 366 days: "10y" keeps at least ten calendar years. */
		mult = 366 * 86400;
		p++;
		break;
	default:
		return SK_ERR_INVALID;
	}
	if (*p != '\0' || v == 0 || v > max / mult)
		return SK_ERR_INVALID;
	*seconds = v * mult;
	return 0;
}

void
sk_buf_init(struct sk_buf *b)
{
	memset(b, 0, sizeof(*b));
}

static bool
buf_grow(struct sk_buf *b, size_t add)
{
	size_t need, ncap;
	char *n;

	if (b->oom)
		return false;
	if (add > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + add + 1;
	if (need <= b->cap && b->data != NULL)
		return true;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	/*
	 * Never realloc: it may move the content and leave the old copy in
	 * freed memory, and buffers carry bodies, seeds, otpauth URIs and
	 * tokens. Allocate, copy, wipe the old block, free it.
	 */
	if ((n = malloc(ncap)) == NULL)
		goto fail;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		sk_freezero(b->data, b->cap);
	}
	n[b->len] = '\0';
	b->data = n;
	b->cap = ncap;
	return true;
fail:
	b->oom = true;
	return false;
}

void
sk_buf_add(struct sk_buf *b, const void *data, size_t len)
{
	if (!buf_grow(b, len))
		return;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
sk_buf_adds(struct sk_buf *b, const char *s)
{
	sk_buf_add(b, s, strlen(s));
}

void
sk_buf_addf(struct sk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_grow(b, (size_t)n)) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
sk_buf_add_html(struct sk_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		switch (*s) {
		case '<':
			sk_buf_adds(b, "&lt;");
			break;
		case '>':
			sk_buf_adds(b, "&gt;");
			break;
		case '&':
			sk_buf_adds(b, "&amp;");
			break;
		case '"':
			sk_buf_adds(b, "&quot;");
			break;
		case '\'':
			sk_buf_adds(b, "&#39;");
			break;
		default:
			sk_buf_add(b, s, 1);
		}
	}
}

void
sk_buf_add_urlenc(struct sk_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	for (; s != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;
		/* ASCII unreserved set (RFC 3986), not the locale's idea */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			sk_buf_add(b, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		sk_buf_add(b, e, 3);
	}
}

/*
 * Length of a valid UTF-8 sequence at s (1-4), or 0 if it is not one or
 * does not fit in the avail bytes there.
 */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	if ((s[1] & 0xc0) != 0x80 || (n > 2 && (s[2] & 0xc0) != 0x80) ||
	    (n > 3 && (s[3] & 0xc0) != 0x80))
		return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) ||  /* overlong */
	    (s[0] == 0xed && s[1] >= 0xa0) || /* surrogates */
	    (s[0] == 0xf0 && s[1] < 0x90) ||  /* overlong */
	    (s[0] == 0xf4 && s[1] >= 0x90))   /* above U+10FFFF */
		return 0;
	return n;
}

size_t
sk_utf8_scrub(const char *in, size_t len, char *out, size_t cap,
	      size_t *consumed)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	while (i < len) {
		if ((n = utf8_len(s + i, len - i)) != 0) {
			if (o + n > cap)
				break;
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			if (o + 3 > cap)
				break;
			memcpy(out + o, fffd, 3);
			o += 3;
			i++;
		}
	}
	*consumed = i;
	return o;
}

int
sk_buf_take(struct sk_buf *b, char **out)
{
	*out = NULL;
	if (b->oom) {
		sk_buf_free(b);
		return SK_ERR_NOMEM;
	}
	if (b->data == NULL && !buf_grow(b, 0))
		return SK_ERR_NOMEM;
	if (b->len == 0)
		b->data[0] = '\0';
	*out = b->data;
	sk_buf_init(b);
	return 0;
}

void
sk_buf_free(struct sk_buf *b)
{
	sk_freezero(b->data, b->cap);
	sk_buf_init(b);
}

int
sk_parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return SK_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return SK_ERR_INVALID;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return SK_ERR_INVALID;
	*port = (uint16_t)v;
	return 0;
}

int
sk_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
sk_urldecode(const char *s, size_t len)
{
	char *d;
	size_t i, o = 0;

	if ((d = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			d[o++] = ' ';
		} else if (s[i] == '%') {
			int h, l;
			if (len - i < 3)
				goto bad;
			h = sk_hexval((unsigned char)s[i + 1]);
			l = sk_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				goto bad;
			d[o++] = (char)(h << 4 | l);
			i += 2;
		} else if (s[i] == '\0') {
			goto bad;
		} else {
			d[o++] = s[i];
		}
	}
	d[o] = '\0';
	return d;
bad:
	free(d);
	return NULL;
}

char *
sk_form_get(const char *form, const char *name, bool *dup)
{
	size_t nlen = strlen(name);
	const char *p = form, *found = NULL;
	size_t found_len = 0;

	if (dup != NULL)
		*dup = false;
	if (form == NULL)
		return NULL;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		if (plen > nlen && p[nlen] == '=' &&
		    memcmp(p, name, nlen) == 0) {
			if (found != NULL) {
				if (dup != NULL)
					*dup = true;
				return NULL;
			}
			found = p + nlen + 1;
			found_len = plen - nlen - 1;
		} else if (plen == nlen && memcmp(p, name, nlen) == 0) {
			if (found != NULL) {
				if (dup != NULL)
					*dup = true;
				return NULL;
			}
			found = p + plen;
			found_len = 0;
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	if (found == NULL)
		return NULL;
	return sk_urldecode(found, found_len);
}

int
sk_read_secret_file(const char *path, size_t maxlen, char **out)
{
	return sk_read_secret_file_stat(path, maxlen, out, NULL);
}

/*
 * The one whole-file reader. A file that is not regular fails with errno
 * EISDIR (a directory) or EINVAL; one larger than maxlen bytes with
 * SK_ERR_TOO_LARGE and errno EFBIG. The buffer is wiped when it is
 * dropped: callers read secrets with it.
 */
int
sk_read_file(const char *path, size_t maxlen, char **out, size_t *outlen,
	     struct stat *stp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, size = 0;
	ssize_t n;
	int fd, r = SK_ERR_IO, saved;

	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (stp != NULL)
		memset(stp, 0, sizeof(*stp));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return SK_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (stp != NULL)
		*stp = st; /* of the file read, not of a path looked up again */
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)maxlen) {
		errno = EFBIG;
		r = SK_ERR_TOO_LARGE;
		goto out;
	}
	size = (size_t)st.st_size;
	if ((buf = malloc(size + 1)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out; /* a read error must not yield a truncated
				     file */
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	if (outlen != NULL)
		*outlen = len;
	buf = NULL;
	r = 0;
out:
	saved = errno;
	if (buf != NULL)
		sk_freezero(buf, size + 1);
	close(fd);
	errno = saved;
	return r;
}

int
sk_read_secret_file_stat(const char *path, size_t maxlen, char **out,
			 struct stat *stp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, got;
	int r;

	*out = NULL;
	if (stp != NULL)
		memset(stp, 0, sizeof(*stp));
	/* maxlen counts the secret: a trailing "\n" or "\r\n" comes on top. */
	r = sk_read_file(path, maxlen + 2, &buf, &len, &st);
	if (r == SK_ERR_IO && st.st_mode != 0 && !S_ISREG(st.st_mode))
		errno = 0; /* callers say "not a regular file" */
	if (r != 0)
		return r;
	if (stp != NULL)
		*stp = st;
	got = len;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len > maxlen)
		r = SK_ERR_TOO_LARGE;
	else if (strlen(buf) != len) /* embedded NUL */
		r = SK_ERR_INVALID;
	if (r != 0) {
		sk_freezero(buf, got + 1);
		return r;
	}
	*out = buf;
	return 0;
}

int64_t
sk_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
sk_wall_s(void)
{
	return (int64_t)time(NULL);
}

bool
sk_host_is_loopback(const char *h, size_t len)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	unsigned char a[16];

	/* libcurl and RFC 6761 resolve *.localhost to loopback, never DNS. */
	if ((len == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(h + len - 10, ".localhost", 10) == 0))
		return true;
	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, h, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, tmp, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return false;
}

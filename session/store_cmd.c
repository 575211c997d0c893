/*
 * Building Redis commands (struct sk_cmd, session/store_int.h), and the
 * generic short-lived record operations on top of them.
 */
#include "store_int.h"
#include "sekisho/err.h"
#include "sekisho/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
sk_cmd_init(struct sk_cmd *c)
{
	c->argc = 0;
	c->err = 0;
	c->used = 0;
}

/* Takes the next argument slot; false (error recorded) when none is left. */
static bool
slot(struct sk_cmd *c)
{
	if (c->err != 0)
		return false;
	if (c->argc >= SK_CMD_MAX_ARGS) {
		c->err = SK_ERR_TOO_LARGE;
		return false;
	}
	return true;
}

void
sk_cmd_add_bytes(struct sk_cmd *c, const void *p, size_t len)
{
	if (p == NULL && len > 0 && c->err == 0)
		c->err = SK_ERR_INVALID;
	if (!slot(c))
		return;
	c->argv[c->argc] = len > 0 ? p : "";
	c->lens[c->argc] = len;
	c->argc++;
}

void
sk_cmd_add_str(struct sk_cmd *c, const char *s)
{
	/* A missing value is a caller's bug: refuse rather than send "". */
	if (s == NULL) {
		if (c->err == 0)
			c->err = SK_ERR_INVALID;
		return;
	}
	sk_cmd_add_bytes(c, s, strlen(s));
}

/* Formats into the command's own buffer, NUL-terminated. */
static void __attribute__((format(printf, 2, 0)))
add_vfmt(struct sk_cmd *c, const char *fmt, va_list ap)
{
	size_t room;
	char *p;
	int n;

	if (!slot(c))
		return;
	p = c->buf + c->used;
	room = sizeof(c->buf) - c->used;
	n = vsnprintf(p, room, fmt, ap);
	if (n < 0 || (size_t)n >= room) {
		c->err = n < 0 ? SK_ERR_INVALID : SK_ERR_TOO_LARGE;
		/* What was written of it is wiped with the rest. */
		c->used = sizeof(c->buf);
		return;
	}
	c->argv[c->argc] = p;
	c->lens[c->argc] = (size_t)n;
	c->argc++;
	c->used += (size_t)n + 1;
}

void
sk_cmd_add_fmt(struct sk_cmd *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_vfmt(c, fmt, ap);
	va_end(ap);
}

void
sk_cmd_add_int(struct sk_cmd *c, long long v)
{
	sk_cmd_add_fmt(c, "%lld", v);
}

void
sk_cmd_clear(struct sk_cmd *c)
{
	if (c == NULL)
		return;
	sk_memzero(c->buf, c->used);
	sk_cmd_init(c);
}

int
sk_cmd_exec(struct sk_cmd *c)
{
	struct sk_reply *rep = NULL;
	int r;

	r = sk_cmd_run(c, &rep);
	sk_reply_free(&rep);
	return r;
}

int
sk_store_put_ttl(const char *key, const char *blob, int64_t ttl_s)
{
	struct sk_cmd c;

	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "SET");
	sk_cmd_add_str(&c, key);
	sk_cmd_add_str(&c, blob);
	sk_cmd_add_str(&c, "EX");
	sk_cmd_add_int(&c, ttl_s);
	return sk_cmd_exec(&c);
}

int
sk_store_take(const char *key, char **blob)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*blob = NULL;
	sk_cmd_init(&c);
	sk_cmd_add_str(&c, "GETDEL"); /* single use: a replay finds nothing */
	sk_cmd_add_str(&c, key);
	if ((r = sk_cmd_run(&c, &rep)) != 0)
		return r;
	return sk_reply_take_str(&rep, blob);
}

/* CRC16/XMODEM (polynomial 0x1021, initial 0): Redis Cluster's key hash. */
static unsigned
crc16(const unsigned char *p, size_t len)
{
	unsigned crc = 0;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (unsigned)p[i] << 8;
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff
					     : (crc << 1) & 0xffff;
	}
	return crc;
}

unsigned
sk_store_key_slot(const char *key, size_t len)
{
	const char *open, *close;

	/* The hash tag: from the first '{' to the next '}', if not empty. */
	if ((open = memchr(key, '{', len)) != NULL &&
	    (close = memchr(open + 1, '}', len - (size_t)(open + 1 - key))) !=
		NULL &&
	    close > open + 1) {
		key = open + 1;
		len = (size_t)(close - key);
	}
	return crc16((const unsigned char *)key, len) & 16383;
}

int
sk_store_keys_one_slot(int nkeys, const char *const *keys, const size_t *lens)
{
	unsigned slot;
	int i;

	if (nkeys < 2)
		return 0;
	slot = sk_store_key_slot(keys[0], lens[0]);
	for (i = 1; i < nkeys; i++)
		if (sk_store_key_slot(keys[i], lens[i]) != slot)
			return i;
	return 0;
}

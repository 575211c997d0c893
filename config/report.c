/*
 * Problems and warnings of a configuration, each one line
 *   FILE:LINE: KEY: PROBLEM (WHAT IS ALLOWED)
 * sorted by line when handed out, and the registry of the line each field
 * was given on (for the cross-checks, which run after the YAML is gone).
 */
#include "config_int.h"
#include "sekisho/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages */

static void add_problem(struct ctx *c, bool warning, int line, const char *key,
			const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* Appends one problem (or warning) line; ap is consumed. */
/* A problem of a runtime policy document: its field is the key without
 * the item's prefix (sk_config_check's, empty there). */
static void policy_problem(struct ctx *c, const char *key, const char *fmt,
			   va_list ap) __attribute__((format(printf, 3, 0)));

static void
policy_problem(struct ctx *c, const char *key, const char *fmt, va_list ap)
{
	char text[512];
	json_t *p;

	vsnprintf(text, sizeof(text), fmt, ap);
	p = json_pack("{s:s, s:s}", "field", key[0] == '.' ? key + 1 : key,
		      "problem", text);
	if (p == NULL || json_array_append_new(c->policy_problems, p) != 0)
		c->nomem = true;
}

static void
add_problem(struct ctx *c, bool warning, int line, const char *key,
	    const char *fmt, va_list ap)
{
	struct problem **list = warning ? &c->warns : &c->errs;
	size_t *np = warning ? &c->nwarns : &c->nerrs;
	size_t *capp = warning ? &c->capwarns : &c->caperrs;
	struct sk_buf b;
	struct problem *n;
	va_list aq;
	char *msg;
	size_t ncap;
	int len;

	if (c->policy_problems != NULL) {
		policy_problem(c, key, fmt, ap);
		return;
	}
	if (*np == *capp) {
		ncap = *capp ? *capp * 2 : 16;
		if ((n = reallocarray(*list, ncap, sizeof(*n))) == NULL) {
			c->nomem = true;
			return;
		}
		*list = n;
		*capp = ncap;
	}
	va_copy(aq, ap);
	len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (len < 0 || (msg = malloc((size_t)len + 1)) == NULL) {
		c->nomem = true;
		return;
	}
	vsnprintf(msg, (size_t)len + 1, fmt, ap);
	sk_buf_init(&b);
	sk_buf_addf(&b, "%s:%d: %s: %s%s\n", c->path, line, key,
		    warning ? "warning: " : "", msg);
	free(msg);
	if (b.oom) {
		sk_buf_free(&b);
		c->nomem = true;
		return;
	}
	(*list)[*np].line = line;
	(*list)[*np].seq = *np;
	(*list)[*np].text = b.data;
	(*np)++;
}

void
cfg_report(struct ctx *c, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(c, false, line, key, fmt, ap);
	va_end(ap);
}

/* Something allowed but rarely right: printed by -t, logged at start. */
void
cfg_warn(struct ctx *c, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(c, true, line, key, fmt, ap);
	va_end(ap);
}

static int
problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* All problems of a list, in file order, one per line; *out newly
 * allocated. */
int
cfg_problems_take(struct problem *list, size_t n, char **out)
{
	struct sk_buf b;
	size_t i;

	sk_buf_init(&b);
	qsort(list, n, sizeof(*list), problem_cmp);
	for (i = 0; i < n; i++)
		sk_buf_adds(&b, list[i].text);
	return sk_buf_take(&b, out);
}

void
cfg_problems_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nerrs; i++)
		free(c->errs[i].text);
	free(c->errs);
	c->errs = NULL;
	c->nerrs = c->caperrs = 0;
	for (i = 0; i < c->nwarns; i++)
		free(c->warns[i].text);
	free(c->warns);
	c->warns = NULL;
	c->nwarns = c->capwarns = 0;
}

/*
 * Makes a printable, double-quoted, bounded copy of v for a message. The
 * result lives in c until three more calls have been made.
 */
const char *
cfg_quote(struct ctx *c, const char *v)
{
	char *q = c->q[c->qi++ % SK_ARRAY_SIZE(c->q)];
	size_t o = 0, cap = sizeof(c->q[0]);
	const size_t limit = 80;
	size_t i;

	q[o++] = '"';
	for (i = 0; v[i] != '\0' && o + 8 < cap; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (i == limit) {
			memcpy(q + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			q[o++] = '\\';
			q[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(q + o, cap - o, "\\x%02x", ch);
		} else {
			q[o++] = (char)ch;
		}
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

/* Line registry */

void
cfg_set_line(struct ctx *c, const void *addr, int line)
{
	struct lineref *n;
	size_t ncap;

	if (c->nlines == c->caplines) {
		ncap = c->caplines ? c->caplines * 2 : 64;
		if ((n = reallocarray(c->lines, ncap, sizeof(*n))) == NULL) {
			c->nomem = true;
			return;
		}
		c->lines = n;
		c->caplines = ncap;
	}
	c->lines[c->nlines].addr = addr;
	c->lines[c->nlines].line = line;
	c->nlines++;
}

/* The line where the field at addr was given; 0 when it was not given. */
int
cfg_line_of(const struct ctx *c, const void *addr)
{
	size_t i;

	for (i = 0; i < c->nlines; i++)
		if (c->lines[i].addr == addr)
			return c->lines[i].line;
	return 0;
}

int
cfg_line_or(const struct ctx *c, const void *addr, int fallback)
{
	int l = cfg_line_of(c, addr);

	return l ? l : fallback;
}

/* Cross-checks */

void
cfg_fmt_duration(char *dst, size_t n, int64_t s)
{
	if (s % 86400 == 0)
		snprintf(dst, n, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(dst, n, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(dst, n, "%lldm", (long long)(s / 60));
	else
		snprintf(dst, n, "%llds", (long long)s);
}

void
cfg_missing(struct ctx *c, const void *addr, int line, const char *key,
	    const char *allowed)
{
	/* Given but invalid: that problem is already reported. */
	if (cfg_line_of(c, addr) != 0)
		return;
	cfg_report(c, line, key, "missing (%s)", allowed);
}

/* For the provider types' rules (struct sk_provider_kind). */
void
sk_config_problem(struct sk_config_check *chk, const void *field,
		  const char *key, const char *fmt, ...)
{
	char k[KEY_MAX + 64];
	va_list ap;

	snprintf(k, sizeof(k), "%s.%s", chk->prefix, key);
	va_start(ap, fmt);
	add_problem(chk->c, false,
		    field != NULL ? cfg_line_or(chk->c, field, chk->line)
				  : chk->line,
		    k, fmt, ap);
	va_end(ap);
}

const char *
sk_config_quote(struct sk_config_check *chk, const char *v)
{
	return cfg_quote(chk->c, v);
}

/*
 * The message catalogues: GNU .mo files (compiled by msgfmt at build
 * time, embedded), read in place. No setlocale, no files at run time: a
 * lookup is a binary search of the catalogue's sorted original strings.
 */
#include "web_int.h"

#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MO_MAGIC 0x950412deU
#define MO_MAGIC_SWAPPED 0xde120495U

struct catalog {
	const char *lang;
	const unsigned char *mo;
	size_t len;
	bool swapped;
	uint32_t n, orig, trans;
};

static struct catalog cats[] = {{.lang = "ja"}, {.lang = "en"}};
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_err;

bool
sk_web_lang_ok(const char *lang)
{
	return lang != NULL &&
	       (strcmp(lang, "ja") == 0 || strcmp(lang, "en") == 0);
}

static uint32_t
u32(const struct catalog *c, size_t off)
{
	uint32_t v;

	memcpy(&v, c->mo + off, 4);
	if (c->swapped)
		v = __builtin_bswap32(v);
	return v;
}

/* String i of table tab (orig or trans); NULL when out of bounds or not
 * NUL-terminated within the file. */
static const char *
mo_str(const struct catalog *c, uint32_t tab, uint32_t i)
{
	size_t at = (size_t)tab + (size_t)i * 8;
	uint32_t len, off;

	if (at + 8 > c->len)
		return NULL;
	len = u32(c, at);
	off = u32(c, at + 4);
	if ((size_t)off + len >= c->len || c->mo[(size_t)off + len] != '\0')
		return NULL;
	return (const char *)c->mo + off;
}

/* Checks the whole file once, so lookups need not. */
static int
load(struct catalog *c)
{
	char path[32];
	const struct sk_web_file *f;
	const char *prev = NULL, *s;
	uint32_t magic, i;

	snprintf(path, sizeof(path), "po/%s.mo", c->lang);
	if ((f = sk_web_file(path)) == NULL || f->len < 28)
		return SK_ERR_INVALID;
	c->mo = f->data;
	c->len = f->len;
	memcpy(&magic, c->mo, 4);
	if (magic == MO_MAGIC)
		c->swapped = false;
	else if (magic == MO_MAGIC_SWAPPED)
		c->swapped = true;
	else
		return SK_ERR_INVALID;
	c->n = u32(c, 8);
	c->orig = u32(c, 12);
	c->trans = u32(c, 16);
	for (i = 0; i < c->n; i++) {
		if ((s = mo_str(c, c->orig, i)) == NULL ||
		    mo_str(c, c->trans, i) == NULL)
			return SK_ERR_INVALID;
		/* Binary search needs msgfmt's byte order. */
		if (prev != NULL && strcmp(prev, s) >= 0)
			return SK_ERR_INVALID;
		prev = s;
	}
	return 0;
}

static void
init_once(void)
{
	size_t i;

	for (i = 0; i < SK_ARRAY_SIZE(cats); i++)
		if (load(&cats[i]) != 0) {
			sk_error("web: the embedded catalogue po/%s.mo is "
				 "malformed",
				 cats[i].lang);
			init_err = SK_ERR_INVALID;
		}
}

int
sk_web_init(void)
{
	pthread_once(&once, init_once);
	return init_err;
}

static const struct catalog *
catalog(const char *lang)
{
	size_t i;

	if (sk_web_init() != 0)
		return NULL;
	for (i = 0; i < SK_ARRAY_SIZE(cats); i++)
		if (lang != NULL && strcmp(cats[i].lang, lang) == 0)
			return &cats[i];
	return NULL;
}

const char *
sk_web_text(const char *lang, const char *msgid)
{
	const struct catalog *c = catalog(lang);
	uint32_t lo = 0, hi, mid;
	const char *t;
	int cmp;

	if (c == NULL || msgid == NULL || msgid[0] == '\0')
		return msgid;
	hi = c->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(msgid, mo_str(c, c->orig, mid));
		if (cmp == 0) {
			t = mo_str(c, c->trans, mid);
			/* An empty translation (fuzzy, or en's own) falls
			 * back to the msgid, as gettext does. */
			return t[0] != '\0' ? t : msgid;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return msgid;
}

size_t
sk_web_catalog_size(const char *lang)
{
	const struct catalog *c = catalog(lang);

	return c != NULL ? c->n : 0;
}

void
sk_web_time(const char *lang, int64_t t, char *out, size_t len)
{
	static const char *const months[] = {"January", "February", "March",
					     "April",	"May",	    "June",
					     "July",	"August",   "September",
					     "October", "November", "December"};
	bool ja = lang != NULL && strcmp(lang, "ja") == 0;
	/* Japan keeps no daylight saving time: JST is UTC+9 all year. */
	time_t tt = (time_t)(ja ? t + 9 * 3600 : t);
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, len, "-");
		return;
	}
	if (ja)
		snprintf(out, len, "%d年%d月%d日 %02d:%02d JST",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min);
	else
		snprintf(out, len, "%d %s %d, %02d:%02d UTC", tm.tm_mday,
			 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
			 tm.tm_min);
}

/*
 * What a notification to a person says (hooks/notice_int.h): the embedded
 * templates of web/mail, filled from the event with cleaned values.
 */
#include "notice_int.h"
#include "sekisho/device.h"
#include "sekisho/err.h"
#include "sekisho/evtypes.h"
#include "sekisho/util.h"
#include "sekisho/web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUBJECT_MAX 240	   /* bytes of a subject, before encoding */
#define LINE_TEXT_MAX 1000 /* bytes of a LINE text (LINE takes 5000) */

/* The template web/mail/<lang>/<name>.txt, embedded with the pages'
 * files (sekisho/web.h); false when there is none. */
static bool
tpl_find(const char *lang, const char *name, struct sk_notice_tpl *t)
{
	const struct sk_web_file *f;
	char path[64];

	snprintf(path, sizeof(path), "mail/%s/%s.txt", lang, name);
	if ((f = sk_web_file(path)) == NULL)
		return false;
	t->text = (const char *)f->data;
	t->len = f->len;
	return true;
}

bool
sk_notice_wanted(const json_t *ev)
{
	json_t *v = json_object_get(json_object_get(ev, "details"), "notify");

	return !json_is_false(v);
}

const char *
sk_notice_lang(const struct sk_config *cfg, const json_t *ev)
{
	const char *l = json_string_value(
	    json_object_get(json_object_get(ev, "details"), "lang"));
	const struct sk_tenant_conf *t;

	if (l != NULL && (strcmp(l, "ja") == 0 || strcmp(l, "en") == 0))
		return strcmp(l, "ja") == 0 ? "ja" : "en";
	t = sk_config_tenant(cfg,
			     json_string_value(json_object_get(ev, "tenant")));
	if (t != NULL && t->default_language != NULL &&
	    strcmp(t->default_language, "en") == 0)
		return "en";
	return "ja";
}

/* ---- cleaning ---- */

/* Length of the UTF-8 character at s (valid: scrubbed before). */
static size_t
char_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		return 2;
	if ((s[0] & 0xf0) == 0xe0)
		return 3;
	return 4;
}

/*
 * Characters that would break a line or a header, or make the text read
 * differently from what it holds: C0 and C1 controls, DEL, U+2028 and
 * U+2029 (line and paragraph separators), the bidirectional embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) and marks
 * (U+200E, U+200F, U+061C).
 */
static bool
char_bad(const unsigned char *s, size_t n)
{
	if (n == 1)
		return s[0] < 0x20 || s[0] == 0x7f;
	if (n == 2)
		return (s[0] == 0xc2 && s[1] < 0xa0) ||
		       (s[0] == 0xd8 && s[1] == 0x9c);
	if (n == 3 && s[0] == 0xe2 && s[1] == 0x80)
		return s[2] == 0x8e || s[2] == 0x8f ||
		       (s[2] >= 0xa8 && s[2] <= 0xae);
	if (n == 3 && s[0] == 0xe2 && s[1] == 0x81)
		return s[2] >= 0xa6 && s[2] <= 0xa9;
	return false;
}

char *
sk_notice_clean(const char *in, size_t max)
{
	static const char cut[] = "...";
	char *tmp = NULL, *out = NULL, *ret = NULL;
	size_t len, n, i, c, o = 0, used;
	bool space = true; /* drops leading spaces */

	if (in == NULL)
		in = "";
	/* Beyond this the value is cut anyway: bound the work. */
	len = strnlen(in, max * 2 + 8);
	if ((tmp = malloc(len * 3 + 1)) == NULL ||
	    (out = malloc(len * 3 + 1)) == NULL)
		goto out;
	n = sk_utf8_scrub(in, len, tmp, len * 3, &used);
	for (i = 0; i < n; i += c) {
		c = char_len((const unsigned char *)tmp + i);
		if (c > n - i)
			break;
		if (char_bad((const unsigned char *)tmp + i, c) ||
		    tmp[i] == ' ') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		memcpy(out + o, tmp + i, c);
		o += c;
		space = false;
	}
	if (o > max || in[len] != '\0') {
		/* Cut at a character boundary: the value and "..." fit. */
		if (o > max - (sizeof(cut) - 1)) {
			o = max - (sizeof(cut) - 1);
			while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
				o--;
		}
		while (o > 0 && out[o - 1] == ' ')
			o--;
		memcpy(out + o, cut, sizeof(cut) - 1);
		o += sizeof(cut) - 1;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	ret = out;
	out = NULL;
out:
	free(tmp);
	free(out);
	return ret;
}

/* ---- values ---- */

/* The number of n ASCII digits at s, or -1. */
static int
digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (RFC 3339, UTC, as events carry
 * times); false for anything else. */
static bool
parse_time(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, se;

	if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	se = digits(s + 17, 2);
	s += 19;
	if (*s == '.')
		s += 1 + strspn(s + 1, "0123456789");
	if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60 ||
	    y < 1970)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = timegm(&tm);
	return *t != (time_t)-1;
}

/*
 * The value of "key: value" in a words file (web/mail/<lang>/words.txt),
 * newly allocated; NULL when absent or on NOMEM.
 */
static char *
word(const char *lang, const char *key)
{
	struct sk_notice_tpl t;
	const char *p, *end, *eol;
	size_t klen = strlen(key);

	if (!tpl_find(lang, "words", &t))
		return NULL;
	for (p = t.text, end = t.text + t.len; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) > klen + 2 && memcmp(p, key, klen) == 0 &&
		    p[klen] == ':' && p[klen + 1] == ' ')
			return strndup(p + klen + 2,
				       (size_t)(eol - p) - klen - 2);
	}
	return NULL;
}

enum {
	V_TENANT,
	V_EMAIL,
	V_TIME,
	V_IP,
	V_NETWORK,
	V_BROWSER,
	V_EVENT,
	V_LINK,
	V_EXPIRES,
	V_UNTIL,
	V__N
};
static const char *const value_names[V__N] = {
    "tenant",  "email", "time", "ip",	   "network",
    "browser", "event", "link", "expires", "until"};

struct values {
	char *v[V__N];
};

static void
values_free(struct values *vs)
{
	size_t i;

	for (i = 0; i < V__N; i++)
		free(vs->v[i]);
}

static const char *
str_at(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A time member (RFC 3339) as the language writes it; NULL if bad. */
static char *
time_value(const char *s, const char *lang)
{
	char buf[96];
	time_t t;

	if (!parse_time(s, &t))
		return NULL;
	sk_web_time(lang, (int64_t)t, buf, sizeof(buf));
	return strdup(buf);
}

/* Only an absolute http(s) link, one token, is a link. */
static bool
link_ok(const char *s)
{
	return s != NULL &&
	       (strncmp(s, "https://", 8) == 0 ||
		strncmp(s, "http://", 7) == 0) &&
	       strlen(s) <= SK_NOTICE_LINK_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-._~:/?#[]@!$&'()*+,;=%") == strlen(s);
}

/* Raw values of ev (borrowed, or in the buffers), before cleaning. */
static int
values_fill(const struct sk_config *cfg, const json_t *ev, const char *lang,
	    int64_t now, struct values *vs)
{
	const json_t *d = json_object_get(ev, "details");
	const json_t *user = json_object_get(ev, "user");
	const struct sk_tenant_conf *t;
	const char *raw[V__N] = {0};
	char net[SK_DEVICE_NET_LEN], ua[SK_DEVICE_UA_LEN], tbuf[96];
	char *made[V__N] = {0}, *unknown = NULL;
	const char *type = str_at(ev, "type");
	time_t when;
	size_t i;
	int r = SK_ERR_NOMEM;

	t = sk_config_tenant(cfg, str_at(ev, "tenant"));
	raw[V_TENANT] = t != NULL && t->display_name != NULL ? t->display_name
			: t != NULL			     ? t->id
							     : NULL;
	raw[V_EMAIL] = str_at(user, "email");
	if (!parse_time(str_at(ev, "time"), &when))
		when = (time_t)now;
	sk_web_time(lang, (int64_t)when, tbuf, sizeof(tbuf));
	raw[V_TIME] = tbuf;
	raw[V_IP] = str_at(ev, "ip");
	raw[V_NETWORK] = str_at(d, "network");
	if (raw[V_NETWORK] == NULL && raw[V_IP] != NULL &&
	    sk_device_network(raw[V_IP], net) == 0)
		raw[V_NETWORK] = net;
	raw[V_BROWSER] = str_at(d, "user_agent");
	if (raw[V_BROWSER] == NULL && str_at(ev, "user_agent") != NULL) {
		sk_device_ua_summary(str_at(ev, "user_agent"), ua);
		raw[V_BROWSER] = ua;
	}
	if (type != NULL && sk_event_type_known(type) &&
	    (made[V_EVENT] = word(lang, type)) != NULL)
		raw[V_EVENT] = made[V_EVENT];
	if (link_ok(str_at(d, "link")))
		raw[V_LINK] = str_at(d, "link");
	if ((made[V_EXPIRES] =
		 time_value(str_at(json_object_get(d, "invitation"), "expires"),
			    lang)) != NULL)
		raw[V_EXPIRES] = made[V_EXPIRES];
	if ((made[V_UNTIL] = time_value(str_at(d, "until"), lang)) != NULL)
		raw[V_UNTIL] = made[V_UNTIL];
	if ((unknown = word(lang, "unknown")) == NULL)
		goto out;
	for (i = 0; i < V__N; i++) {
		const char *v =
		    raw[i] != NULL && raw[i][0] != '\0' ? raw[i] : unknown;
		if ((vs->v[i] = sk_notice_clean(
			 v, i == V_LINK ? SK_NOTICE_LINK_MAX
					: SK_NOTICE_VALUE_MAX)) == NULL)
			goto out;
	}
	r = 0;
out:
	for (i = 0; i < V__N; i++)
		free(made[i]);
	free(unknown);
	return r;
}

/* ---- templates ---- */

/* Appends len bytes of s with its {{name}} placeholders filled. */
static int
fill(struct sk_buf *b, const char *s, size_t len, const struct values *vs)
{
	const char *end = s + len, *open, *close;
	size_t i, n;

	while (s < end) {
		open = memmem(s, (size_t)(end - s), "{{", 2);
		if (open == NULL) {
			sk_buf_add(b, s, (size_t)(end - s));
			break;
		}
		sk_buf_add(b, s, (size_t)(open - s));
		close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
		if (close == NULL)
			return SK_ERR_INVALID;
		n = (size_t)(close - open - 2);
		for (i = 0; i < V__N; i++)
			if (strlen(value_names[i]) == n &&
			    memcmp(value_names[i], open + 2, n) == 0)
				break;
		if (i == V__N)
			return SK_ERR_INVALID;
		sk_buf_adds(b, vs->v[i]);
		s = close + 2;
	}
	return b->oom ? SK_ERR_NOMEM : 0;
}

/* The value of header line "name: ..." of the template's head. */
static bool
head_line(const char *head, size_t hlen, const char *name, const char **v,
	  size_t *vlen)
{
	const char *p = head, *end = head + hlen, *eol;
	size_t n = strlen(name);

	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) >= n + 2 && memcmp(p, name, n) == 0 &&
		    p[n] == ':' && p[n + 1] == ' ') {
			*v = p + n + 2;
			*vlen = (size_t)(eol - p) - n - 2;
			return true;
		}
	}
	return false;
}

/* One line filled, cleaned again as a whole and bounded. */
static int
fill_line(const char *s, size_t len, const struct values *vs, size_t max,
	  char **out)
{
	struct sk_buf b;
	int r;

	*out = NULL;
	sk_buf_init(&b);
	sk_buf_adds(&b, "");
	if ((r = fill(&b, s, len, vs)) == 0 &&
	    (*out = sk_notice_clean(b.data, max)) == NULL)
		r = SK_ERR_NOMEM;
	sk_buf_free(&b);
	return r;
}

int
sk_notice_render(const struct sk_config *cfg, const json_t *ev,
		 const char *lang, int64_t now, struct sk_notice *n)
{
	struct sk_notice_tpl t;
	const char *type = str_at(ev, "type"), *sep, *subj, *line;
	struct values vs;
	struct sk_buf b;
	size_t hlen, slen, llen;
	int r;

	memset(n, 0, sizeof(*n));
	memset(&vs, 0, sizeof(vs));
	sk_buf_init(&b);
	if (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0)
		return SK_ERR_INVALID;
	snprintf(n->lang, sizeof(n->lang), "%s", lang);
	/* Only a known type names a file (never "words"). */
	if (!(type != NULL && sk_event_type_known(type) &&
	      tpl_find(lang, type, &t)) &&
	    !tpl_find(lang, "generic", &t))
		return SK_ERR_INTERNAL;
	if ((sep = memmem(t.text, t.len, "\n\n", 2)) == NULL)
		return SK_ERR_INVALID;
	hlen = (size_t)(sep - t.text);
	if (!head_line(t.text, hlen, "Subject", &subj, &slen) ||
	    !head_line(t.text, hlen, "Line", &line, &llen))
		return SK_ERR_INVALID;
	if ((r = values_fill(cfg, ev, lang, now, &vs)) != 0 ||
	    (r = fill_line(subj, slen, &vs, SUBJECT_MAX, &n->subject)) != 0 ||
	    (r = fill_line(line, llen, &vs, LINE_TEXT_MAX, &n->line)) != 0)
		goto out;
	sep += 2;
	sk_buf_adds(&b, "");
	if ((r = fill(&b, sep, (size_t)(t.text + t.len - sep), &vs)) != 0 ||
	    (r = sk_buf_take(&b, &n->body)) != 0)
		goto out;
out:
	values_free(&vs);
	sk_buf_free(&b);
	if (r != 0)
		sk_notice_clear(n);
	return r;
}

void
sk_notice_clear(struct sk_notice *n)
{
	if (n == NULL)
		return;
	free(n->subject);
	free(n->line);
	free(n->body);
	memset(n, 0, sizeof(*n));
}

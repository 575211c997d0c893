/*
 * Configuration file: YAML (libyaml's document API, so every node knows its
 * line) into struct sk_config.
 *
 * Three passes, as in OpenSSH's servconf.c: every key goes through a keyword
 * table (unknown keys are errors), then defaults are filled in, then the
 * whole is cross-checked. Every problem is reported as one line
 *   FILE:LINE: KEY: PROBLEM (WHAT IS ALLOWED)
 * with dotted keys ("session.idle_timeout") and 0-based list indices
 * ("tenants[1].mfa"); parsing goes on after a problem so that the operator
 * sees every problem at once. Only a YAML syntax error stops the parse.
 *
 * ${NAME} references: any scalar value that is exactly "${NAME}" (NAME made
 * of A-Z, a-z, 0-9 and _, not starting with a digit) is replaced by the
 * environment variable NAME; a missing or empty variable is an error. Only
 * whole values are references: "${" anywhere else is refused rather than
 * taken literally, so a half-expanded URL never reaches the daemon.
 *
 * Secrets (client_secret, redis.password) are accepted only as such a
 * reference or through the matching *_file key: an inline secret ends up in
 * backups, diffs and support tickets. Secret values never appear in
 * messages.
 */
#include "sekisho/config.h"
#include "sekisho/crypto.h"
#include "sekisho/err.h"
#include "sekisho/ipset.h"
#include "sekisho/util.h"

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
#include <sys/xattr.h>
#include <unistd.h>

#include <yaml.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define SECRET_MAX_BYTES 4096
#define KEY_MAX 192	   /* longest dotted key we print */
#define UNIX_PATH_MAX 107  /* sizeof(sun_path) - 1 on Linux */

/* Where a field got its value, for messages of the cross-check pass. */
struct lineref {
	const void *addr;
	int line;
};

/* One reported problem; sorted by line before they are handed out. */
struct problem {
	int line;
	size_t seq;
	char *text;
};

struct ctx {
	const char *path;
	yaml_document_t *doc;
	struct sk_config *cfg;
	struct problem *errs;
	size_t nerrs, caperrs;
	bool nomem;
	bool fatal; /* syntax error, or no mapping at the top: no cross-check */
	struct lineref *lines;
	size_t nlines, caplines;
	int root_line;
	/* The value of the key being handled and that key's line: problems
	 * with the value as a whole are reported on the key's line. */
	const yaml_node_t *key_value;
	int key_line;
	char q[4][256]; /* quote() results, used round-robin */
	unsigned qi;
	struct problem *warns; /* warnings: allowed, rarely right */
	size_t nwarns, capwarns;
	/* Secret files read, checked for owner and mode once strict_modes
	 * (which may come later in the file) is known. */
	struct secret_file *sfiles;
	size_t nsfiles, capsfiles;
};

struct secret_file {
	char key[KEY_MAX];
	char *path;
	int line;
	struct stat st;
};

struct kw;
typedef int kw_fn(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		  const char *key, void *obj);

struct kwtab {
	const struct kw *kw;
	size_t n;
};

/*
 * One key of a mapping. check validates (and may normalise in place) a
 * string; on failure it may set *why to a message that replaces the default
 * "VALUE WHAT" one (used when the value must not be printed).
 */
struct kw {
	const char *name;
	kw_fn *fn;
	size_t off; /* the field in the object the mapping fills */
	int64_t min, max;
	bool (*check)(char *s, const char **why);
	const char *what;
	const struct kwtab *sub;
};

/* Messages */

static void
add_problem(struct ctx *c, bool warning, int line, const char *key,
	    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* Appends one problem (or warning) line; ap is consumed. */
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

static void
report(struct ctx *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct ctx *c, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_problem(c, false, line, key, fmt, ap);
	va_end(ap);
}

/* Something allowed but rarely right: printed by -t, logged at start. */
static void
warn(struct ctx *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
warn(struct ctx *c, int line, const char *key, const char *fmt, ...)
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
static int
problems_take(struct problem *list, size_t n, char **out)
{
	struct sk_buf b;
	size_t i;

	sk_buf_init(&b);
	qsort(list, n, sizeof(*list), problem_cmp);
	for (i = 0; i < n; i++)
		sk_buf_adds(&b, list[i].text);
	return sk_buf_take(&b, out);
}

static void
problems_free(struct ctx *c)
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
static const char *
quote(struct ctx *c, const char *v)
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

/* A key read from the file, made safe to print: control chars become '?'. */
static void
safe_key(char *dst, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i] != '\0' && i < 64; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?'
								     : s[i];
	dst[i] = '\0';
}

static void
subkey(char *dst, size_t n, const char *prefix, const char *name)
{
	if (prefix[0] == '\0')
		snprintf(dst, n, "%s", name);
	else
		snprintf(dst, n, "%s.%s", prefix, name);
}

static int
node_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* The line to report a problem with node n on (see key_line). */
static int
where(const struct ctx *c, const yaml_node_t *n)
{
	return n == c->key_value ? c->key_line : node_line(n);
}

/* Line registry */

static void
set_line(struct ctx *c, const void *addr, int line)
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
static int
line_of(const struct ctx *c, const void *addr)
{
	size_t i;

	for (i = 0; i < c->nlines; i++)
		if (c->lines[i].addr == addr)
			return c->lines[i].line;
	return 0;
}

static int
line_or(const struct ctx *c, const void *addr, int fallback)
{
	int l = line_of(c, addr);

	return l ? l : fallback;
}

/* Node access */

static bool
is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return strcmp(v, "") == 0 || strcmp(v, "~") == 0 ||
	       strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

static const char *
kind_name(const yaml_node_t *n)
{
	if (is_null(n))
		return "nothing";
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool
env_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 128 || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/*
 * Gets the text of a scalar node into *out, expanding a ${NAME} reference.
 * *out is not owned: it points into the document or the environment.
 * Returns false after reporting the problem. With secret set, the value is
 * never printed.
 */
static bool
get_scalar(struct ctx *c, yaml_node_t *n, const char *key, bool secret,
	   const char **out, bool *fromenv)
{
	const char *v, *e;
	char name[129];
	size_t len;

	*out = NULL;
	if (fromenv != NULL)
		*fromenv = false;
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		report(c, where(c, n), key, "expected a single value, got %s",
		       kind_name(n));
		return false;
	}
	v = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	if (strlen(v) != len) {
		report(c, where(c, n), key,
		       "the value contains a NUL character (not allowed)");
		return false;
	}
	if (strstr(v, "${") == NULL) {
		*out = v;
		return true;
	}
	if (len < 4 || strncmp(v, "${", 2) != 0 || v[len - 1] != '}' ||
	    !env_name_ok(v + 2, len - 3)) {
		if (secret)
			report(c, where(c, n), key,
			       "not a valid ${NAME} reference (the whole "
			       "value must be ${NAME}; NAME: A-Z, a-z, 0-9 "
			       "and _, not starting with a digit)");
		else
			report(c, where(c, n), key,
			       "%s is not a valid ${NAME} reference (the "
			       "whole value must be ${NAME}; NAME: A-Z, a-z, "
			       "0-9 and _, not starting with a digit)",
			       quote(c, v));
		return false;
	}
	memcpy(name, v + 2, len - 3);
	name[len - 3] = '\0';
	e = getenv(name);
	if (e == NULL || *e == '\0') {
		report(c, where(c, n), key,
		       "environment variable %s is not set or empty (set "
		       "it in the environment sekisho starts with)",
		       name);
		return false;
	}
	*out = e;
	if (fromenv != NULL)
		*fromenv = true;
	return true;
}

/* A string field: a copy of the scalar, checked by kw->check if any. */
static bool
get_string(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	   const char *key, char **out)
{
	const char *v, *why = NULL;
	char *s;

	*out = NULL;
	if (!get_scalar(c, n, key, false, &v, NULL))
		return false;
	if ((s = strdup(v)) == NULL) {
		c->nomem = true;
		return false;
	}
	if (kw->check != NULL && !kw->check(s, &why)) {
		if (why != NULL)
			report(c, where(c, n), key, "%s", why);
		else
			report(c, where(c, n), key, "%s %s", quote(c, v),
			       kw->what);
		free(s);
		return false;
	}
	*out = s;
	return true;
}

/* A list node (null counts as an empty list); false after reporting. */
static bool
get_seq(struct ctx *c, yaml_node_t *n, const char *key, size_t *count)
{
	*count = 0;
	if (is_null(n))
		return true;
	if (n->type != YAML_SEQUENCE_NODE) {
		report(c, where(c, n), key, "expected a list, got %s",
		       kind_name(n));
		return false;
	}
	*count = (size_t)(n->data.sequence.items.top -
			  n->data.sequence.items.start);
	return true;
}

static yaml_node_t *
seq_item(struct ctx *c, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
}

static void *
field(void *obj, const struct kw *kw)
{
	return (char *)obj + kw->off;
}

/* Mappings */

static kw_fn kw_removed;

static void
allowed_keys(struct sk_buf *b, const struct kwtab *tab)
{
	size_t i;

	size_t n = 0;

	for (i = 0; i < tab->n; i++)
		if (tab->kw[i].fn != kw_removed) /* not to be suggested */
			sk_buf_addf(b, "%s%s", n++ ? ", " : "",
				    tab->kw[i].name);
}

static void
report_unknown(struct ctx *c, int line, const char *key,
	       const struct kwtab *tab)
{
	struct sk_buf b;

	sk_buf_init(&b);
	allowed_keys(&b, tab);
	if (b.oom) {
		c->nomem = true;
	} else {
		report(c, line, key, "unknown key (allowed: %s)", b.data);
	}
	sk_buf_free(&b);
}

/*
 * Walks a mapping node through a keyword table; obj is the structure that
 * the table's offsets point into. Returns 0 or SK_ERR_NOMEM.
 */
static int
walk_map(struct ctx *c, yaml_node_t *n, const char *prefix,
	 const struct kwtab *tab, void *obj)
{
	yaml_node_pair_t *pair;
	int first[64] = {0};
	char key[KEY_MAX], name[72];
	size_t i;
	int r;

	if (n->type != YAML_MAPPING_NODE) {
		struct sk_buf b;

		sk_buf_init(&b);
		allowed_keys(&b, tab);
		if (b.oom)
			c->nomem = true;
		else
			report(c, where(c, n), prefix[0] ? prefix : "(top level)",
			       "expected a mapping, got %s (keys: %s)",
			       kind_name(n), b.data);
		sk_buf_free(&b);
		return c->nomem ? SK_ERR_NOMEM : 0;
	}
	for (pair = n->data.mapping.pairs.start;
	     pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);

		if (k == NULL || v == NULL)
			continue;
		if (k->type != YAML_SCALAR_NODE ||
		    strlen((const char *)k->data.scalar.value) !=
			k->data.scalar.length) {
			report(c, node_line(k), prefix[0] ? prefix : "(top level)",
			       "a key is not a plain name (keys are names "
			       "like listen or idle_timeout)");
			continue;
		}
		safe_key(name, sizeof(name), (const char *)k->data.scalar.value);
		subkey(key, sizeof(key), prefix, name);
		for (i = 0; i < tab->n; i++)
			if (strcmp(tab->kw[i].name,
				   (const char *)k->data.scalar.value) == 0)
				break;
		if (i == tab->n) {
			report_unknown(c, node_line(k), key, tab);
			continue;
		}
		if (first[i]) {
			report(c, node_line(k), key,
			       "given twice (first at line %d; give each key once)",
			       first[i]);
			continue;
		}
		first[i] = node_line(k);
		c->key_value = v;
		c->key_line = node_line(k);
		if (tab->kw[i].sub == NULL)
			set_line(c, field(obj, &tab->kw[i]), node_line(k));
		if ((r = tab->kw[i].fn(c, &tab->kw[i], v, key, obj)) != 0)
			return r;
		if (c->nomem)
			return SK_ERR_NOMEM;
	}
	return c->nomem ? SK_ERR_NOMEM : 0;
}

/* Value checks (bool check(char *s, const char **why)) */

static bool
charset_ok(const char *s, const char *extra, bool upper, size_t maxlen)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    (upper && ch >= 'A' && ch <= 'Z') ||
		    strchr(extra, ch) != NULL)
			continue;
		return false;
	}
	return i >= 1 && i <= maxlen;
}

static bool
check_tenant_id(char *s, const char **why)
{
	return charset_ok(s, "_-", false, 64);
}

static bool
check_provider_id(char *s, const char **why)
{
	return charset_ok(s, "_-", false, 32);
}

/* Client ids travel in HTTP Basic (where ':' splits) and in forms. */
static bool
check_client_id(char *s, const char **why)
{
	return charset_ok(s, "._~-", true, 128);
}

/* The __Host- prefix is ours to add (cookie.secure); refuse a doubled one. */
static bool
check_cookie_name(char *s, const char **why)
{
	if (strncasecmp(s, "__Host-", 7) == 0 ||
	    strncasecmp(s, "__Secure-", 9) == 0)
		return false;
	return charset_ok(s, "_-", true, 32);
}

static bool
check_oneof(const char *s, const char *const *names)
{
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

static bool
check_type(char *s, const char **why)
{
	static const char *const types[] = {"google", "microsoft", "line",
					    "github", "oidc", NULL};
	return check_oneof(s, types);
}

static bool
check_log_level(char *s, const char **why)
{
	static const char *const levels[] = {"error", "warn", "info", "debug",
					     NULL};
	return check_oneof(s, levels);
}

/* Printable ASCII without spaces: client ids issued by providers. */
static bool
check_token(char *s, const char **why)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return i >= 1 && i <= 512;
}

/* Display text: any UTF-8 but no control characters (it ends up in HTML). */
static bool
check_text(char *s, const char **why)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return i >= 1 && i <= 200;
}

/* RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E. */
static bool
check_scope(char *s, const char **why)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
			return false;
	}
	return i >= 1 && i <= 128;
}

/* Parses "1".."65535" exactly (digits only). */
static bool
parse_port(const char *s, size_t len, uint16_t *port)
{
	return sk_parse_port(s, len, port) == 0;
}

/* A DNS name (labels of a-z, 0-9, -) or an IPv4 address; lowercase input. */
static bool
dns_name_ok(const char *s, size_t len)
{
	size_t i, label = 0;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-'))
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

static bool
ipv6_ok(const char *s, size_t len)
{
	struct in6_addr a;
	char tmp[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

static void
lowercase(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* host, host:port, [v6] or [v6]:port; s is lowercased in place. */
static bool
host_port_ok(char *s, bool allow_port)
{
	const char *colon, *end;
	uint16_t port;
	size_t hlen;

	lowercase(s);
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL ||
		    !ipv6_ok(s + 1, (size_t)(end - s - 1)))
			return false;
		if (end[1] == '\0')
			return true;
		return allow_port && end[1] == ':' &&
		       parse_port(end + 2, strlen(end + 2), &port);
	}
	colon = strchr(s, ':');
	hlen = colon ? (size_t)(colon - s) : strlen(s);
	if (!dns_name_ok(s, hlen))
		return false;
	if (colon == NULL)
		return true;
	return allow_port && parse_port(colon + 1, strlen(colon + 1), &port);
}

static bool
check_host_port(char *s, const char **why)
{
	return host_port_ok(s, true);
}

static bool
check_domain(char *s, const char **why)
{
	return s[0] != '[' && host_port_ok(s, false);
}

/*
 * An address for admin_emails, lowercased in place (providers treat
 * addresses case-insensitively; so does the match at sign-in): a local
 * part of printable ASCII without spaces, '@', a domain name.
 */
static bool
check_email(char *s, const char **why)
{
	char *at = strrchr(s, '@');
	size_t i;

	lowercase(s);
	if (at == NULL || at == s || strlen(s) > 254)
		return false;
	for (i = 0; s + i < at; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '@')
			return false;
	return dns_name_ok(at + 1, strlen(at + 1));
}

/* Entra ID tenant ids are GUIDs; tokens carry them in lowercase. */
static bool
check_tid(char *s, const char **why)
{
	size_t i;

	lowercase(s);
	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/*
 * http:// or https://, a host, an optional port and path; no user info,
 * query or fragment. *https tells which scheme.
 */
static bool
url_ok(const char *s, bool *https, const char **why)
{
	const char *auth, *slash, *p;
	char host[300];
	size_t alen;

	*https = false;
	if (strncmp(s, "https://", 8) == 0) {
		*https = true;
		auth = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		auth = s + 7;
	} else {
		return false;
	}
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (memchr(auth, '@', alen) != NULL) {
		/* Do not echo it: the user info may hold a password. */
		*why = "a user name or password in the URL is refused (http:// "
		       "or https:// with a host, optional port and path)";
		return false;
	}
	if (alen == 0 || alen >= sizeof(host))
		return false;
	memcpy(host, auth, alen);
	host[alen] = '\0';
	if (!host_port_ok(host, true))
		return false;
	for (p = auth + alen; *p; p++)
		if (*p == '?' || *p == '#' || (unsigned char)*p <= 0x20 ||
		    (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* The host of an http(s) URL already checked by url_ok(). */
static bool
url_host_is_loopback(const char *url)
{
	const char *h = strstr(url, "://"), *end;

	if (h == NULL)
		return false;
	h += 3;
	if (*h == '[') {
		end = strchr(h, ']');
		return end != NULL &&
		       sk_host_is_loopback(h + 1, (size_t)(end - h - 1));
	}
	end = h + strcspn(h, ":/");
	return sk_host_is_loopback(h, (size_t)(end - h));
}

/* public_url: also lowercases the host and strips trailing slashes. */
static bool
check_public_url(char *s, const char **why)
{
	char *auth, *end;
	bool https;

	if (!url_ok(s, &https, why))
		return false;
	auth = s + (https ? 8 : 7);
	end = strchr(auth, '/');
	if (end == NULL)
		end = auth + strlen(auth);
	for (; auth < end; auth++)
		*auth = (char)tolower((unsigned char)*auth);
	end = s + strlen(s);
	while (end > s && end[-1] == '/')
		*--end = '\0';
	return true;
}

/* An issuer is compared exactly with the iss claim: keep it as written. */
static bool
check_issuer(char *s, const char **why)
{
	bool https;

	return url_ok(s, &https, why);
}

/* Keyword handlers: int fn(c, kw, node, key, obj), 0 or SK_ERR_NOMEM */

static int
kw_str(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
       void *obj)
{
	char **dst = field(obj, kw);
	char *s;

	if (get_string(c, kw, n, key, &s)) {
		free(*dst);
		*dst = s;
	}
	return c->nomem ? SK_ERR_NOMEM : 0;
}

static int
kw_bool(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	void *obj)
{
	bool *dst = field(obj, kw);
	const char *v;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
		*dst = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0)
		*dst = false;
	else
		report(c, where(c, n), key,
		       "%s is not a boolean (true, false, yes or no)",
		       quote(c, v));
	return 0;
}

/* A decimal integer in [kw->min, kw->max]; false after reporting. */
static bool
get_number(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	   const char *key, int64_t *out)
{
	const char *v;
	char *end;
	long long ll;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return false;
	errno = 0;
	ll = strtoll(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0) {
		report(c, where(c, n), key,
		       "%s is not a number (%lld to %lld)", quote(c, v),
		       (long long)kw->min, (long long)kw->max);
		return false;
	}
	if (ll < kw->min || ll > kw->max) {
		report(c, where(c, n), key, "%s is out of range (%lld to %lld)",
		       quote(c, v), (long long)kw->min, (long long)kw->max);
		return false;
	}
	*out = ll;
	return true;
}

static int
kw_int(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
       void *obj)
{
	int *dst = field(obj, kw);
	int64_t v;

	if (get_number(c, kw, n, key, &v))
		*dst = (int)v; /* kw->max fits in int */
	return 0;
}

static int
kw_int64(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	 void *obj)
{
	int64_t *dst = field(obj, kw);
	int64_t v;

	if (get_number(c, kw, n, key, &v))
		*dst = v;
	return 0;
}

static int
kw_duration(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	    const char *key, void *obj)
{
	int64_t *dst = field(obj, kw);
	const char *v;
	int64_t s;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (sk_parse_duration(v, &s) != 0)
		report(c, where(c, n), key,
		       "%s is not a duration (a number followed by s, m, h or "
		       "d, e.g. 90s, 15m, 36h, 14d)",
		       quote(c, v));
	else if (kw->max > 0 && (s < kw->min || s > kw->max))
		report(c, where(c, n), key,
		       "%s is out of range (%llds to %llds)", quote(c, v),
		       (long long)kw->min, (long long)kw->max);
	else
		*dst = s;
	return 0;
}

/*
 * Durations in milliseconds (Redis timeouts): "500ms" or any duration
 * sk_parse_duration takes. A bare number is refused here: "500" would
 * otherwise mean 500 seconds to a reader who expects milliseconds.
 */
static int
kw_duration_ms(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	       const char *key, void *obj)
{
	int64_t *dst = field(obj, kw);
	const char *v;
	int64_t s, ms = 0;
	size_t len, i;
	bool ok = false;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return 0;
	len = strlen(v);
	if (len > 2 && strcmp(v + len - 2, "ms") == 0) {
		/* At most 12 digits: up to about 31 years, no overflow. */
		ok = len - 2 <= 12;
		for (i = 0; ok && i < len - 2; i++) {
			if (!isdigit((unsigned char)v[i]))
				ok = false;
			else
				ms = ms * 10 + (v[i] - '0');
		}
		ok = ok && ms > 0 && ms <= 10LL * 366 * 86400 * 1000;
	} else if (len > 0 && !isdigit((unsigned char)v[len - 1]) &&
		   sk_parse_duration(v, &s) == 0) {
		ms = s * 1000;
		ok = true;
	}
	if (!ok)
		report(c, where(c, n), key,
		       "%s is not a duration (a number followed by ms, s, m, h "
		       "or d, e.g. 500ms, 2s)",
		       quote(c, v));
	else
		*dst = ms;
	return 0;
}

/* A list of strings, each checked (and normalised) by kw->check. */
static int
kw_list(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	void *obj)
{
	struct sk_strlist *l = field(obj, kw);
	char ikey[KEY_MAX];
	size_t count, i;
	char *s;

	if (!get_seq(c, n, key, &count))
		return 0;
	if (count == 0 && kw->min > 0) {
		report(c, where(c, n), key,
		       "empty list (at least one is required)");
		return 0;
	}
	if (count == 0)
		return 0;
	if ((l->v = calloc(count, sizeof(*l->v))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < count; i++) {
		yaml_node_t *item = seq_item(c, n, i);
		size_t j;

		if (item == NULL)
			continue;
		snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		if (!get_string(c, kw, item, ikey, &s))
			continue;
		for (j = 0; j < l->n; j++)
			if (strcmp(l->v[j], s) == 0)
				break;
		if (j < l->n) {
			report(c, node_line(item), ikey,
			       "%s is listed twice (first at line %d)",
			       quote(c, s), line_of(c, &l->v[j]));
			free(s);
			continue;
		}
		l->v[l->n] = s;
		set_line(c, &l->v[l->n], node_line(item));
		l->n++;
	}
	return c->nomem ? SK_ERR_NOMEM : 0;
}

static int
kw_section(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	   const char *key, void *obj)
{
	return walk_map(c, n, key, kw->sub, obj);
}

static int
kw_listen(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	  void *obj)
{
	struct sk_config *cfg = obj;
	const char *v, *hs, *ps;
	struct in_addr a4;
	char host[INET6_ADDRSTRLEN + 1];
	size_t hlen;
	uint16_t port;
	bool ok = false;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		hs = v + 1;
		hlen = end ? (size_t)(end - hs) : 0;
		ps = end && end[1] == ':' ? end + 2 : NULL;
		ok = end != NULL && ps != NULL && ipv6_ok(hs, hlen);
	} else {
		const char *colon = strrchr(v, ':');
		hs = v;
		hlen = colon ? (size_t)(colon - v) : 0;
		ps = colon ? colon + 1 : NULL;
		ok = colon != NULL && hlen < sizeof(host);
		if (ok) {
			memcpy(host, hs, hlen);
			host[hlen] = '\0';
			ok = inet_pton(AF_INET, host, &a4) == 1;
		}
	}
	ok = ok && parse_port(ps, strlen(ps), &port);
	if (!ok) {
		report(c, where(c, n), key,
		       "%s is not an address and port (an IPv4 address or "
		       "[IPv6] address, then :port 1-65535, e.g. "
		       "127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)",
		       quote(c, v));
		return 0;
	}
	free(cfg->listen_host);
	if ((cfg->listen_host = strndup(hs, hlen)) == NULL)
		return SK_ERR_NOMEM;
	cfg->listen_port = port;
	return 0;
}

static int
kw_redis_url(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	static const char allowed[] =
	    "unix:///absolute/path or redis://host[:port][/db]";
	struct sk_config *cfg = obj;
	const char *v, *h, *hend, *p;
	char *end, hostbuf[300];
	uint16_t port = 6379;
	long db = 0;
	size_t hlen;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strncmp(v, "unix://", 7) == 0) {
		p = v + 7;
		if (p[0] != '/' || strlen(p) > UNIX_PATH_MAX) {
			report(c, where(c, n), key,
			       "%s is not a Unix socket URL (unix:// then an "
			       "absolute path of at most %d bytes, e.g. "
			       "unix:///run/sekisho/redis.sock)",
			       quote(c, v), UNIX_PATH_MAX);
			return 0;
		}
		if ((cfg->redis.url = strdup(v)) == NULL ||
		    (cfg->redis.unix_path = strdup(p)) == NULL)
			return SK_ERR_NOMEM;
		return 0;
	}
	if (strncmp(v, "rediss://", 9) == 0) {
		report(c, where(c, n), key,
		       "TLS to Redis is not supported (hiredis 0.14 has no "
		       "TLS: use %s on loopback)",
		       allowed);
		return 0;
	}
	if (strncmp(v, "redis://", 8) != 0)
		goto bad;
	h = v + 8;
	hend = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(hend - h)) != NULL) {
		/* Not echoed: it holds a password. */
		report(c, where(c, n), key,
		       "a password in the URL is refused (use "
		       "redis.password_file or redis.password: \"${ENV}\")");
		return 0;
	}
	/* Split host and port. */
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', (size_t)(hend - h));
		if (rb == NULL || !ipv6_ok(h + 1, (size_t)(rb - h - 1)))
			goto bad;
		hlen = (size_t)(rb - h - 1);
		memcpy(hostbuf, h + 1, hlen);
		p = rb + 1;
	} else {
		const char *colon = memchr(h, ':', (size_t)(hend - h));
		hlen = (size_t)((colon ? colon : hend) - h);
		if (hlen >= sizeof(hostbuf))
			goto bad;
		memcpy(hostbuf, h, hlen);
		hostbuf[hlen] = '\0';
		lowercase(hostbuf);
		if (!dns_name_ok(hostbuf, hlen))
			goto bad;
		p = h + hlen;
	}
	hostbuf[hlen] = '\0';
	if (p < hend) {
		if (*p != ':' || !parse_port(p + 1, (size_t)(hend - p - 1), &port))
			goto bad;
	}
	if (*hend == '/' && hend[1] != '\0') {
		if (!isdigit((unsigned char)hend[1]))
			goto bad;
		errno = 0;
		db = strtol(hend + 1, &end, 10);
		if (*end != '\0' || errno != 0 || db < 0 || db > INT_MAX)
			goto bad;
	} else if (*hend != '\0' && strcmp(hend, "/") != 0) {
		goto bad; /* a query or fragment */
	}
	if ((cfg->redis.url = strdup(v)) == NULL ||
	    (cfg->redis.host = strdup(hostbuf)) == NULL)
		return SK_ERR_NOMEM;
	cfg->redis.port = port;
	cfg->redis.db = (int)db;
	return 0;
bad:
	report(c, where(c, n), key, "%s is not a Redis URL (%s)", quote(c, v),
	       allowed);
	return 0;
}

static int
kw_mfa(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
       void *obj)
{
	enum sk_mfa_policy *dst = field(obj, kw);
	const char *v;

	if (!get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strcmp(v, "required") == 0)
		*dst = SK_MFA_REQUIRED;
	else if (strcmp(v, "optional") == 0)
		*dst = SK_MFA_OPTIONAL;
	else if (strcmp(v, "admins") == 0)
		*dst = SK_MFA_ADMINS;
	else
		report(c, where(c, n), key,
		       "%s is not an MFA policy (required, optional or admins)",
		       quote(c, v));
	return 0;
}

/* Stores a secret unless the other key of its pair already gave one. */
static int
store_secret(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj, const char *v, const char *other)
{
	char **dst = field(obj, kw);

	if (*dst != NULL) {
		report(c, where(c, n), key,
		       "%s is also given (use only one of them)", other);
		return 0;
	}
	if (strlen(v) > SECRET_MAX_BYTES) {
		report(c, where(c, n), key, "longer than %d bytes (not a secret)",
		       SECRET_MAX_BYTES);
		return 0;
	}
	if ((*dst = strdup(v)) == NULL)
		return SK_ERR_NOMEM;
	return 0;
}

/* Notes a secret file for check_secret_files(). */
static void
remember_secret_file(struct ctx *c, const char *key, int line,
		     const char *path, const struct stat *st)
{
	struct secret_file *n;
	size_t ncap;

	if (c->nsfiles == c->capsfiles) {
		ncap = c->capsfiles ? c->capsfiles * 2 : 8;
		if ((n = reallocarray(c->sfiles, ncap, sizeof(*n))) == NULL) {
			c->nomem = true;
			return;
		}
		c->sfiles = n;
		c->capsfiles = ncap;
	}
	n = &c->sfiles[c->nsfiles];
	if ((n->path = strdup(path)) == NULL) {
		c->nomem = true;
		return;
	}
	snprintf(n->key, sizeof(n->key), "%s", key);
	n->line = line;
	n->st = *st;
	c->nsfiles++;
}

/* client_secret / password: only a ${ENV} reference (see the top). */
static int
kw_secret_env(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	      const char *key, void *obj)
{
	const char *v;
	char other[64];

	snprintf(other, sizeof(other), "%s_file", kw->name);
	if (n->type == YAML_SCALAR_NODE && !is_null(n) &&
	    strstr((const char *)n->data.scalar.value, "${") == NULL) {
		report(c, where(c, n), key,
		       "inline secrets are refused (use %s: PATH or %s: "
		       "\"${ENV_VAR}\")",
		       other, kw->name);
		return 0;
	}
	if (!get_scalar(c, n, key, true, &v, NULL))
		return 0;
	return store_secret(c, kw, n, key, obj, v, other);
}

static int
kw_secret_file(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	       const char *key, void *obj)
{
	const char *path;
	char other[64], *s = NULL;
	size_t len = strlen(kw->name);
	struct stat st;
	int r;

	snprintf(other, sizeof(other), "%.*s", (int)(len - 5), kw->name);
	if (!get_scalar(c, n, key, false, &path, NULL))
		return 0;
	errno = 0;
	r = sk_read_secret_file_stat(path, SECRET_MAX_BYTES, &s, &st);
	switch (r) {
	case 0:
		remember_secret_file(c, key, where(c, n), path, &st);
		break;
	case SK_ERR_NOMEM:
		return r;
	case SK_ERR_TOO_LARGE:
		report(c, where(c, n), key,
		       "%s is larger than %d bytes (the file holds only the "
		       "secret)",
		       quote(c, path), SECRET_MAX_BYTES);
		return 0;
	case SK_ERR_INVALID:
		report(c, where(c, n), key,
		       "%s contains a NUL byte (the file holds only the "
		       "secret)",
		       quote(c, path));
		return 0;
	default:
		report(c, where(c, n), key, "cannot read %s: %s",
		       quote(c, path),
		       errno ? strerror(errno) : "not a regular file");
		return 0;
	}
	if (s[0] == '\0') {
		report(c, where(c, n), key,
		       "%s is empty (the file holds only the secret)",
		       quote(c, path));
		r = 0;
	} else {
		r = store_secret(c, kw, n, key, obj, s, other);
	}
	sk_strfreezero(s);
	return r;
}

/* Keyword tables */

static const struct kw redis_kw[] = {
    {.name = "url",
     .fn = kw_redis_url,
     .off = offsetof(struct sk_config, redis.url)},
    {.name = "password_file",
     .fn = kw_secret_file,
     .off = offsetof(struct sk_config, redis.password)},
    {.name = "password",
     .fn = kw_secret_env,
     .off = offsetof(struct sk_config, redis.password)},
    {.name = "connect_timeout",
     .fn = kw_duration_ms,
     .off = offsetof(struct sk_config, redis.connect_timeout_ms)},
    {.name = "command_timeout",
     .fn = kw_duration_ms,
     .off = offsetof(struct sk_config, redis.command_timeout_ms)},
    {.name = "require_persistence",
     .fn = kw_bool,
     .off = offsetof(struct sk_config, redis.require_persistence)},
};
static const struct kwtab redis_tab = {redis_kw, SK_ARRAY_SIZE(redis_kw)};

static const struct kw cookie_kw[] = {
    {.name = "secure",
     .fn = kw_bool,
     .off = offsetof(struct sk_config, cookie.secure)},
    {.name = "name",
     .fn = kw_str,
     .off = offsetof(struct sk_config, cookie.name),
     .check = check_cookie_name,
     .what = "is not a valid cookie name (1 to 32 of A-Z, a-z, 0-9, _ and "
	     "-; without a __Host- or __Secure- prefix, added when secure)"},
};
static const struct kwtab cookie_tab = {cookie_kw, SK_ARRAY_SIZE(cookie_kw)};

static const struct kw session_kw[] = {
    {.name = "idle_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, session.idle_timeout)},
    {.name = "absolute_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, session.absolute_timeout)},
    {.name = "login_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, session.login_timeout)},
    {.name = "max_pending_logins_per_ip",
     .fn = kw_int64,
     .off = offsetof(struct sk_config, session.max_pending_logins_per_ip),
     .min = 0,
     .max = 1000000},
};
static const struct kwtab session_tab = {session_kw,
					 SK_ARRAY_SIZE(session_kw)};

static bool
check_cidr(char *s, const char **why)
{
	return sk_ipset_check(s) == 0;
}

static bool
check_forwarded_header(char *s, const char **why)
{
	static const char *const v[] = {"x-forwarded-for", "forwarded", NULL};

	lowercase(s);
	return check_oneof(s, v);
}

/* A key that no longer exists: say what replaces it. */
static int
kw_removed(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	   const char *key, void *obj)
{
	report(c, c->key_line, key, "%s", kw->what);
	return 0;
}

static const struct kw http_kw[] = {
    {.name = "threads",
     .fn = kw_int,
     .off = offsetof(struct sk_config, http.threads),
     .min = 1,
     .max = 256},
    {.name = "max_connections",
     .fn = kw_int64,
     .off = offsetof(struct sk_config, http.max_connections),
     .min = 1,
     .max = 1000000},
    {.name = "idle_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, http.idle_timeout)},
    {.name = "max_header_bytes",
     .fn = kw_int64,
     .off = offsetof(struct sk_config, http.max_header_bytes),
     .min = 1024,
     .max = 65536},
    {.name = "max_body_bytes",
     .fn = kw_int64,
     .off = offsetof(struct sk_config, http.max_body_bytes),
     .min = 1024,
     .max = 1048576},
    {.name = "trusted_proxies",
     .fn = kw_list,
     .off = offsetof(struct sk_config, http.trusted_proxies),
     .check = check_cidr,
     .what = "is not an IP prefix (an IPv4 or IPv6 address, optionally "
	     "/length, e.g. 10.0.0.0/8 or 2001:db8::/32, with no bits set "
	     "past the length)"},
    {.name = "forwarded_header",
     .fn = kw_str,
     .off = offsetof(struct sk_config, http.forwarded_header),
     .check = check_forwarded_header,
     .what = "is not a forwarded header (x-forwarded-for or forwarded: "
	     "the one your proxy appends to)"},
    {.name = "max_connections_per_ip",
     .fn = kw_int64,
     .off = offsetof(struct sk_config, http.max_connections_per_ip),
     .min = 1,
     .max = 1000000},
    {.name = "request_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, http.request_timeout)},
    /* Removed: it trusted X-Forwarded-* from any peer. */
    {.name = "trust_forwarded", .fn = kw_removed,
     .what = "was removed (use http.trusted_proxies: [CIDR, ...], the "
	     "proxies whose X-Forwarded-For is read; client headers are "
	     "never trusted otherwise)"},
    /* The upstream pool (docs/design.md, "Upstream calls"). */
    {.name = "upstream_threads",
     .fn = kw_int,
     .off = offsetof(struct sk_config, http.upstream_threads),
     .min = 1,
     .max = 64},
    {.name = "upstream_queue",
     .fn = kw_int64,
     .off = offsetof(struct sk_config, http.upstream_queue),
     .min = 1,
     .max = 100000},
};
static const struct kwtab http_tab = {http_kw, SK_ARRAY_SIZE(http_kw)};

static bool
check_abs_path(char *s, const char **why)
{
	(void)why;
	return s[0] == '/' && strlen(s) < 4096;
}

static bool
check_sign_alg(char *s, const char **why)
{
	(void)why;
	return strcmp(s, "ES256") == 0 || strcmp(s, "RS256") == 0 ||
	       strcmp(s, "EdDSA") == 0;
}

/*
 * The authority of an http(s) redirect URI (up to '/', '?' or the end):
 * never user info. For http, the host must be a loopback name exactly
 * (RFC 8252 7.3): a prefix test let "127.0.0.1.evil.com" through.
 */
static bool
redirect_authority_ok(const char *a, bool loopback_only)
{
	static const char *const loop[] = {"127.0.0.1", "[::1]", "localhost"};
	size_t alen = strcspn(a, "/?"), hlen, i;
	const char *colon;
	uint16_t port;

	if (alen == 0 || memchr(a, '@', alen) != NULL)
		return false;
	if (!loopback_only)
		return a[0] != ':';
	if (a[0] == '[') {
		const char *rb = memchr(a, ']', alen);
		if (rb == NULL)
			return false;
		hlen = (size_t)(rb - a) + 1;
	} else {
		colon = memchr(a, ':', alen);
		hlen = colon != NULL ? (size_t)(colon - a) : alen;
	}
	for (i = 0; i < SK_ARRAY_SIZE(loop); i++)
		if (strlen(loop[i]) == hlen && strncasecmp(a, loop[i], hlen) == 0)
			break;
	if (i == SK_ARRAY_SIZE(loop))
		return false;
	if (hlen == alen)
		return true;
	return a[hlen] == ':' && parse_port(a + hlen + 1, alen - hlen - 1, &port);
}

bool
sk_config_redirect_uri_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t i;

	if (strlen(s) > 1024 || strchr(s, '#') != NULL || colon == NULL ||
	    colon == s)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	if (strncmp(s, "https://", 8) == 0)
		return redirect_authority_ok(s + 8, false);
	if (strncmp(s, "http://", 7) == 0)
		return redirect_authority_ok(s + 7, true);
	/* private-use scheme: must contain a dot (reverse domain name) */
	for (i = 0; s + i < colon; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '-' || s[i] == '+'))
			return false;
	return memchr(s, '.', (size_t)(colon - s)) != NULL;
}

/* RFC 8252: https, loopback http, or a private-use (reverse DNS) scheme. */
static bool
check_redirect_uri(char *s, const char **why)
{
	(void)why;
	return sk_config_redirect_uri_ok(s);
}

static const struct kw keys_kw[] = {
    {.name = "master_key_file",
     .fn = kw_str,
     .off = offsetof(struct sk_config, keys.master_key_file),
     .check = check_abs_path,
     .what = "is not an absolute path"},
    {.name = "signing_key_files",
     .fn = kw_list,
     .off = offsetof(struct sk_config, keys.signing_key_files),
     .check = check_abs_path,
     .what = "is not an absolute path"},
    {.name = "algorithm",
     .fn = kw_str,
     .off = offsetof(struct sk_config, keys.algorithm),
     .check = check_sign_alg,
     .what = "is not a supported signing algorithm (ES256, RS256 or "
	     "EdDSA)"},
    {.name = "rotation_delay",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, keys.rotation_delay)},
};
static const struct kwtab keys_tab = {keys_kw, SK_ARRAY_SIZE(keys_kw)};

static const struct kw tokens_kw[] = {
    {.name = "access_token_ttl",
     .fn = kw_duration,
     .off = offsetof(struct sk_config, tokens.access_token_ttl)},
    {.name = "audience",
     .fn = kw_str,
     .off = offsetof(struct sk_config, tokens.audience)},
};
static const struct kwtab tokens_tab = {tokens_kw, SK_ARRAY_SIZE(tokens_kw)};

static const char host_what[] =
    "is not a hostname (a DNS name or IP address, optionally with :port, "
    "e.g. login.example.com or 127.0.0.1:8080)";
static const char domain_what[] = "is not a domain name (e.g. example.com)";

/* Entra ID directory of a microsoft provider: a GUID or one of the three
 * multi-tenant names (docs/providers.md). */
static bool
check_ms_tenant(char *s, const char **why)
{
	static const char *const names[] = {"common", "organizations",
					    "consumers", NULL};
	return check_oneof(s, names) || check_tid(s, why);
}

/* id_token signature algorithms we can verify; never "none". */
static bool
check_id_token_alg(char *s, const char **why)
{
	static const char *const algs[] = {
	    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	    "ES256", "ES384", "ES512", "HS256", NULL};
	return check_oneof(s, algs);
}

static bool
check_bot_prompt(char *s, const char **why)
{
	static const char *const v[] = {"normal", "aggressive", NULL};
	return check_oneof(s, v);
}

/*
 * A tenant's cookie_domain: a DNS name of at least two labels, not an IP
 * address. Browsers refuse Domain= on a single label ("localhost", a
 * top-level domain) and on public suffixes; those cannot all be known
 * here, so the example and docs/deployment.md say to use a domain the
 * operator owns.
 */
static bool
check_cookie_domain(char *s, const char **why)
{
	const char *last;

	(void)why;
	if (s[0] == '[' || strchr(s, ':') != NULL || !host_port_ok(s, false))
		return false;
	if ((last = strrchr(s, '.')) == NULL)
		return false;
	/* An all-digit last label is an IPv4 address, never a domain. */
	return strspn(last + 1, "0123456789") != strlen(last + 1);
}

static const struct kw tenant_kw[] = {
    {.name = "id",
     .fn = kw_str,
     .off = offsetof(struct sk_tenant_conf, id),
     .check = check_tenant_id,
     .what = "is not a valid tenant id (1 to 64 of a-z, 0-9, _ and -)"},
    {.name = "display_name",
     .fn = kw_str,
     .off = offsetof(struct sk_tenant_conf, display_name),
     .check = check_text,
     .what = "is not a valid display name (1 to 200 characters, no "
	     "control characters)"},
    {.name = "hostnames",
     .fn = kw_list,
     .off = offsetof(struct sk_tenant_conf, hostnames),
     .check = check_host_port,
     .what = host_what},
    {.name = "providers",
     .fn = kw_list,
     .off = offsetof(struct sk_tenant_conf, providers),
     .min = 1,
     .check = check_provider_id,
     .what = "is not a valid provider id (1 to 32 of a-z, 0-9, _ and -)"},
    {.name = "mfa", .fn = kw_mfa, .off = offsetof(struct sk_tenant_conf, mfa)},
    {.name = "allowed_hd",
     .fn = kw_list,
     .off = offsetof(struct sk_tenant_conf, allowed_hd),
     .check = check_domain,
     .what = domain_what},
    {.name = "allowed_tid",
     .fn = kw_list,
     .off = offsetof(struct sk_tenant_conf, allowed_tid),
     .check = check_tid,
     .what = "is not an Entra tenant id (a GUID such as "
	     "72f988bf-86f1-41af-91ab-2d7cd011db47)"},
    {.name = "allowed_email_domains",
     .fn = kw_list,
     .off = offsetof(struct sk_tenant_conf, allowed_email_domains),
     .check = check_domain,
     .what = domain_what},
    {.name = "link_by_verified_email",
     .fn = kw_bool,
     .off = offsetof(struct sk_tenant_conf, link_by_verified_email)},
    {.name = "app_idle_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_tenant_conf, app_idle_timeout)},
    {.name = "app_absolute_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_tenant_conf, app_absolute_timeout)},
    {.name = "admin_emails",
     .fn = kw_list,
     .off = offsetof(struct sk_tenant_conf, admin_emails),
     .check = check_email,
     .what = "is not an e-mail address (e.g. admin@example.com)"},
    {.name = "mfa_max_age",
     .fn = kw_duration,
     .off = offsetof(struct sk_tenant_conf, mfa_max_age)},
    {.name = "mfa_max_failures",
     .fn = kw_int64,
     .off = offsetof(struct sk_tenant_conf, mfa_max_failures),
     .min = 1,
     .max = 100},
    {.name = "mfa_failure_window",
     .fn = kw_duration,
     .off = offsetof(struct sk_tenant_conf, mfa_failure_window)},
    {.name = "audience",
     .fn = kw_str,
     .off = offsetof(struct sk_tenant_conf, audience),
     .check = check_token,
     .what = "is not a valid audience (1 to 512 printable characters, no "
	     "spaces)"},
    {.name = "cookie_domain",
     .fn = kw_str,
     .off = offsetof(struct sk_tenant_conf, cookie_domain),
     .check = check_cookie_domain,
     .what = "is not a cookie domain (a domain name of at least two "
	     "labels that the tenant's hostnames are under, e.g. "
	     "example.com; not an IP address)"},
};
static const struct kwtab tenant_tab = {tenant_kw, SK_ARRAY_SIZE(tenant_kw)};

static const struct kw provider_kw[] = {
    {.name = "id",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, id),
     .check = check_provider_id,
     .what = "is not a valid provider id (1 to 32 of a-z, 0-9, _ and -)"},
    {.name = "type",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, type),
     .check = check_type,
     .what = "is not a provider type (google, microsoft, line, github or "
	     "oidc)"},
    {.name = "client_id",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, client_id),
     .check = check_token,
     .what = "is not a valid client id (1 to 512 printable characters, no "
	     "spaces)"},
    {.name = "client_secret_file",
     .fn = kw_secret_file,
     .off = offsetof(struct sk_provider_conf, client_secret)},
    {.name = "client_secret",
     .fn = kw_secret_env,
     .off = offsetof(struct sk_provider_conf, client_secret)},
    {.name = "issuer",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, issuer),
     .check = check_issuer,
     .what = "is not a valid issuer URL (http:// or https:// with a host, "
	     "optional port and path; no query or fragment)"},
    {.name = "scopes",
     .fn = kw_list,
     .off = offsetof(struct sk_provider_conf, scopes),
     .min = 1,
     .check = check_scope,
     .what = "is not a valid scope (printable ASCII without spaces, \" or "
	     "\\)"},
    {.name = "userinfo",
     .fn = kw_bool,
     .off = offsetof(struct sk_provider_conf, userinfo)},
    /* Each upstream call ends within it; never 0 (libcurl: no limit). */
    {.name = "http_timeout",
     .fn = kw_duration,
     .off = offsetof(struct sk_provider_conf, http_timeout),
     .min = 1,
     .max = 300},
    {.name = "max_concurrent",
     .fn = kw_int64,
     .off = offsetof(struct sk_provider_conf, max_concurrent),
     .min = 1,
     .max = 10000},
    {.name = "display_name",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, display_name),
     .check = check_text,
     .what = "is not a valid display name (1 to 200 characters, no "
	     "control characters)"},
    {.name = "id_token_algs",
     .fn = kw_list,
     .off = offsetof(struct sk_provider_conf, id_token_algs),
     .min = 1,
     .check = check_id_token_alg,
     .what = "is not an id_token algorithm (RS256, RS384, RS512, PS256, "
	     "PS384, PS512, ES256, ES384, ES512, or HS256 for type line)"},
    {.name = "tenant",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, tenant),
     .check = check_ms_tenant,
     .what = "is not an Entra ID directory (common, organizations, "
	     "consumers or a tenant id GUID)"},
    {.name = "trust_email",
     .fn = kw_bool,
     .off = offsetof(struct sk_provider_conf, trust_email)},
    {.name = "bot_prompt",
     .fn = kw_str,
     .off = offsetof(struct sk_provider_conf, bot_prompt),
     .check = check_bot_prompt,
     .what = "is not a bot_prompt value (normal or aggressive)"},
};
static const struct kwtab provider_tab = {provider_kw,
					  SK_ARRAY_SIZE(provider_kw)};

/*
 * clients[].tenants: a list of tenant ids, or the word all. "all" is a
 * scalar on purpose: a client that sees every tenant's tokens is an
 * operator's decision, never what an omitted key means.
 */
static int
kw_client_tenants(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		  const char *key, void *obj)
{
	struct sk_client_conf *cl = obj;
	const char *v;

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		if (!get_scalar(c, n, key, false, &v, NULL))
			return 0;
		if (strcmp(v, "all") == 0)
			cl->all_tenants = true;
		else
			report(c, where(c, n), key,
			       "%s is neither a list of tenant ids nor all "
			       "(e.g. tenants: [default], or tenants: all for "
			       "an operator's client)",
			       quote(c, v));
		return 0;
	}
	return kw_list(c, kw, n, key, obj);
}

static const struct kw client_kw[] = {
    {.name = "client_id",
     .fn = kw_str,
     .off = offsetof(struct sk_client_conf, client_id),
     .check = check_client_id,
     .what = "is not a valid client id (1 to 128 of A-Z, a-z, 0-9, '.', "
	     "'_', '~' and '-')"},
    {.name = "client_secret_file",
     .fn = kw_secret_file,
     .off = offsetof(struct sk_client_conf, client_secret)},
    {.name = "client_secret",
     .fn = kw_secret_env,
     .off = offsetof(struct sk_client_conf, client_secret)},
    {.name = "public",
     .fn = kw_bool,
     .off = offsetof(struct sk_client_conf, public_client)},
    {.name = "redirect_uris",
     .fn = kw_list,
     .off = offsetof(struct sk_client_conf, redirect_uris),
     .check = check_redirect_uri,
     .what = "is not a redirect URI (an absolute URI without fragment: "
	     "https://..., http://127.0.0.1:PORT/... or an app scheme like "
	     "com.example.app:/callback)"},
    {.name = "tenants",
     .fn = kw_client_tenants,
     .off = offsetof(struct sk_client_conf, tenants),
     .min = 1,
     .check = check_tenant_id,
     .what = "is not a valid tenant id (1 to 64 of a-z, 0-9, _ and -)"},
    {.name = "first_party",
     .fn = kw_bool,
     .off = offsetof(struct sk_client_conf, first_party)},
    {.name = "display_name",
     .fn = kw_str,
     .off = offsetof(struct sk_client_conf, display_name),
     .check = check_text,
     .what = "is not a valid display name (1 to 200 characters, no "
	     "control characters)"},
};
static const struct kwtab client_tab = {client_kw, SK_ARRAY_SIZE(client_kw)};

/*
 * A list of mappings (tenants, providers, clients) into a newly allocated
 * array. An item that is not a mapping keeps line 0: the cross-check skips
 * it, its problem being already reported.
 */
static int
walk_items(struct ctx *c, yaml_node_t *n, const char *key,
	   const struct kwtab *tab, size_t size, size_t line_off, void **arrp,
	   size_t *countp)
{
	char ikey[KEY_MAX];
	size_t count, i;
	char *arr;
	int r;

	if (!get_seq(c, n, key, &count) || count == 0)
		return 0;
	if ((arr = calloc(count, size)) == NULL)
		return SK_ERR_NOMEM;
	*arrp = arr;
	*countp = count;
	for (i = 0; i < count; i++) {
		yaml_node_t *item = seq_item(c, n, i);
		char *obj = arr + i * size;

		if (item == NULL)
			continue;
		snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		if (item->type == YAML_MAPPING_NODE)
			*(int *)(void *)(obj + line_off) = node_line(item);
		if ((r = walk_map(c, item, ikey, tab, obj)) != 0)
			return r;
	}
	return 0;
}

static int
kw_tenants(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	   const char *key, void *obj)
{
	struct sk_config *cfg = obj;

	return walk_items(c, n, key, &tenant_tab, sizeof(*cfg->tenants),
			  offsetof(struct sk_tenant_conf, line),
			  (void **)&cfg->tenants, &cfg->ntenants);
}

static int
kw_providers(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	struct sk_config *cfg = obj;

	return walk_items(c, n, key, &provider_tab, sizeof(*cfg->providers),
			  offsetof(struct sk_provider_conf, line),
			  (void **)&cfg->providers, &cfg->nproviders);
}

static int
kw_clients(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	   const char *key, void *obj)
{
	struct sk_config *cfg = obj;

	return walk_items(c, n, key, &client_tab, sizeof(*cfg->clients),
			  offsetof(struct sk_client_conf, line),
			  (void **)&cfg->clients, &cfg->nclients);
}

static const struct kw top_kw[] = {
    {.name = "listen", .fn = kw_listen, .off = offsetof(struct sk_config,
							 listen_host)},
    {.name = "public_url",
     .fn = kw_str,
     .off = offsetof(struct sk_config, public_url),
     .check = check_public_url,
     .what = "is not a valid URL (http:// or https:// with a host, "
	     "optional port and path; no query or fragment)"},
    {.name = "redis", .fn = kw_section, .sub = &redis_tab},
    {.name = "cookie", .fn = kw_section, .sub = &cookie_tab},
    {.name = "session", .fn = kw_section, .sub = &session_tab},
    {.name = "http", .fn = kw_section, .sub = &http_tab},
    {.name = "keys", .fn = kw_section, .sub = &keys_tab},
    {.name = "tokens", .fn = kw_section, .sub = &tokens_tab},
    {.name = "log_level",
     .fn = kw_str,
     .off = offsetof(struct sk_config, log_level),
     .check = check_log_level,
     .what = "is not a log level (error, warn, info or debug)"},
    {.name = "allowed_redirect_hosts",
     .fn = kw_list,
     .off = offsetof(struct sk_config, allowed_redirect_hosts),
     .check = check_host_port,
     .what = host_what},
    {.name = "tenants",
     .fn = kw_tenants,
     .off = offsetof(struct sk_config, tenants)},
    {.name = "providers",
     .fn = kw_providers,
     .off = offsetof(struct sk_config, providers)},
    {.name = "clients",
     .fn = kw_clients,
     .off = offsetof(struct sk_config, clients)},
    {.name = "strict_modes",
     .fn = kw_bool,
     .off = offsetof(struct sk_config, strict_modes)},
    {.name = "strict_hosts",
     .fn = kw_bool,
     .off = offsetof(struct sk_config, strict_hosts)},
};
static const struct kwtab top_tab = {top_kw, SK_ARRAY_SIZE(top_kw)};

static void
keywords_add(struct sk_buf *b, const struct kwtab *tab, const char *prefix)
{
	char key[KEY_MAX], item[KEY_MAX + 2];
	const struct kwtab *items;
	size_t i;

	for (i = 0; i < tab->n; i++) {
		const struct kw *kw = &tab->kw[i];
		if (kw->fn == kw_removed)
			continue; /* refused with a hint, not a key to document */
		subkey(key, sizeof(key), prefix, kw->name);
		items = kw->fn == kw_tenants	 ? &tenant_tab
			: kw->fn == kw_providers ? &provider_tab
			: kw->fn == kw_clients	 ? &client_tab
						 : NULL;
		if (kw->sub != NULL) {
			keywords_add(b, kw->sub, key);
		} else if (items != NULL) {
			snprintf(item, sizeof(item), "%s[]", key);
			keywords_add(b, items, item);
		} else {
			sk_buf_addf(b, "%s\n", key);
		}
	}
}

int
sk_config_keywords(char **out)
{
	struct sk_buf b;

	sk_buf_init(&b);
	keywords_add(&b, &top_tab, "");
	return sk_buf_take(&b, out);
}

/* Defaults */

static int
strlist_set(struct sk_strlist *l, const char *const *v, size_t n)
{
	size_t i;

	if ((l->v = calloc(n, sizeof(*l->v))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((l->v[i] = strdup(v[i])) == NULL)
			return SK_ERR_NOMEM;
		l->n++;
	}
	return 0;
}

/* Values that do not depend on the file; set before parsing. */
static void
early_defaults(struct sk_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	cfg->listen_port = 8080;
	cfg->redis.connect_timeout_ms = 500;
	cfg->redis.command_timeout_ms = 500;
	cfg->cookie.secure = true;
	cfg->session.idle_timeout = 36 * 3600;
	cfg->session.absolute_timeout = 7 * 86400;
	cfg->session.login_timeout = 10 * 60;
	cfg->session.max_pending_logins_per_ip = 20;
	cfg->redis.require_persistence = true;
	cfg->http.threads = ncpu < 1 ? 1 : ncpu > 256 ? 256 : (int)ncpu;
	cfg->http.max_connections = 1024;
	cfg->http.idle_timeout = 30;
	cfg->http.max_header_bytes = 8192;
	cfg->http.max_body_bytes = 65536;
	cfg->http.max_connections_per_ip = 64;
	cfg->http.request_timeout = 30;
	cfg->strict_hosts = true;
	cfg->http.upstream_threads = 4;
	cfg->http.upstream_queue = 256;
	cfg->keys.rotation_delay = 5 * 60;
	cfg->tokens.access_token_ttl = 5 * 60;
	cfg->strict_modes = true;
}

/*
 * A provider's defaults that depend on its type: the scopes (GitHub is
 * plain OAuth 2, its scopes name API access; LINE hands out e-mail only to
 * channels that were granted it, so "email" is not asked for by default)
 * and the name on the sign-in button.
 */
static int
provider_type_defaults(struct sk_provider_conf *p)
{
	static const char *const oidc_scopes[] = {"openid", "email", "profile"};
	static const char *const line_scopes[] = {"openid", "profile"};
	static const char *const github_scopes[] = {"read:user", "user:email"};
	static const struct {
		const char *type, *name;
		const char *const *scopes;
		size_t nscopes;
	} types[] = {
	    {"google", "Google", oidc_scopes, SK_ARRAY_SIZE(oidc_scopes)},
	    {"microsoft", "Microsoft", oidc_scopes, SK_ARRAY_SIZE(oidc_scopes)},
	    {"line", "LINE", line_scopes, SK_ARRAY_SIZE(line_scopes)},
	    {"github", "GitHub", github_scopes, SK_ARRAY_SIZE(github_scopes)},
	};
	const char *name = p->id;
	const char *const *scopes = oidc_scopes;
	size_t i, nscopes = SK_ARRAY_SIZE(oidc_scopes);

	for (i = 0; p->type != NULL && i < SK_ARRAY_SIZE(types); i++) {
		if (strcmp(p->type, types[i].type) == 0) {
			name = types[i].name;
			scopes = types[i].scopes;
			nscopes = types[i].nscopes;
		}
	}
	if (p->scopes.n == 0 && p->scopes.v == NULL &&
	    strlist_set(&p->scopes, scopes, nscopes) != 0)
		return SK_ERR_NOMEM;
	if (p->display_name == NULL && name != NULL &&
	    (p->display_name = strdup(name)) == NULL)
		return SK_ERR_NOMEM;
	return 0;
}

/* Defaults of strings and of list items; set after parsing. */
static int
late_defaults(struct sk_config *cfg)
{
	size_t i;

	if (cfg->listen_host == NULL &&
	    (cfg->listen_host = strdup("127.0.0.1")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->cookie.name == NULL &&
	    (cfg->cookie.name = strdup("sekisho")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->http.forwarded_header == NULL &&
	    (cfg->http.forwarded_header = strdup("x-forwarded-for")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->log_level == NULL &&
	    (cfg->log_level = strdup("info")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->keys.algorithm == NULL &&
	    (cfg->keys.algorithm = strdup("ES256")) == NULL)
		return SK_ERR_NOMEM;
	if (cfg->tokens.audience == NULL && cfg->public_url != NULL &&
	    (cfg->tokens.audience = strdup(cfg->public_url)) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->app_idle_timeout == 0)
			t->app_idle_timeout = 14 * 86400;
		if (t->app_absolute_timeout == 0)
			t->app_absolute_timeout = 90 * 86400;
		if (t->mfa_max_age == 0)
			t->mfa_max_age = 15 * 60;
		if (t->mfa_max_failures == 0)
			t->mfa_max_failures = 5;
		if (t->mfa_failure_window == 0)
			t->mfa_failure_window = 15 * 60;
		if (t->display_name == NULL && t->id != NULL &&
		    (t->display_name = strdup(t->id)) == NULL)
			return SK_ERR_NOMEM;
		if (t->audience == NULL && t->id != NULL &&
		    cfg->tokens.audience != NULL &&
		    asprintf(&t->audience, "%s/tenants/%s",
			     cfg->tokens.audience, t->id) < 0) {
			t->audience = NULL;
			return SK_ERR_NOMEM;
		}
	}
	for (i = 0; i < cfg->nclients; i++) {
		struct sk_client_conf *cl = &cfg->clients[i];
		if (cl->display_name == NULL && cl->client_id != NULL &&
		    (cl->display_name = strdup(cl->client_id)) == NULL)
			return SK_ERR_NOMEM;
	}
	for (i = 0; i < cfg->nproviders; i++) {
		struct sk_provider_conf *p = &cfg->providers[i];
		if (p->http_timeout == 0)
			p->http_timeout = 10;
		if (p->max_concurrent == 0)
			p->max_concurrent = 8;
		if (provider_type_defaults(p) != 0)
			return SK_ERR_NOMEM;
	}
	return 0;
}

/* Cross-checks */

static void
fmt_duration(char *dst, size_t n, int64_t s)
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

static void
missing(struct ctx *c, const void *addr, int line, const char *key,
	const char *allowed)
{
	/* Given but invalid: that problem is already reported. */
	if (line_of(c, addr) != 0)
		return;
	report(c, line, key, "missing (%s)", allowed);
}

static void
check_top(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char a[32], b[32];
	int line;

	missing(c, &cfg->public_url, c->root_line, "public_url",
		"required: the URL users reach Sekisho at, e.g. "
		"https://login.example.com");
	missing(c, &cfg->redis.url, c->root_line, "redis.url",
		"required: unix:///path or redis://host:port/db");
	if (cfg->ntenants == 0)
		report(c, line_or(c, &cfg->tenants, c->root_line), "tenants",
		       "no tenant defined (at least one is required)");
	if (cfg->nproviders == 0)
		report(c, line_or(c, &cfg->providers, c->root_line),
		       "providers",
		       "no provider defined (at least one is required)");
	/* Secure cookies are dropped by browsers on http:// pages. */
	if (cfg->cookie.secure && cfg->public_url != NULL &&
	    strncmp(cfg->public_url, "https://", 8) != 0)
		report(c, line_or(c, &cfg->public_url, c->root_line),
		       "public_url",
		       "%s is not https while cookie.secure is true (use "
		       "https, or set cookie.secure: false for local http)",
		       quote(c, cfg->public_url));
	if (cfg->session.idle_timeout > cfg->session.absolute_timeout) {
		line = line_of(c, &cfg->session.idle_timeout);
		if (line == 0)
			line = line_or(c, &cfg->session.absolute_timeout,
				       c->root_line);
		fmt_duration(a, sizeof(a), cfg->session.idle_timeout);
		fmt_duration(b, sizeof(b), cfg->session.absolute_timeout);
		report(c, line, "session.idle_timeout",
		       "%s is longer than session.absolute_timeout %s (idle "
		       "must be at most absolute)",
		       a, b);
	}
}

static bool
type_is(const struct sk_provider_conf *p, const char *type)
{
	return p->type != NULL && strcmp(p->type, type) == 0;
}

/* Is issuer origin itself, or a path under it? */
static bool
issuer_at(const char *issuer, const char *origin)
{
	size_t n = strlen(origin);

	return issuer != NULL && strncasecmp(issuer, origin, n) == 0 &&
	       (issuer[n] == '\0' || issuer[n] == '/');
}

/* Keys that mean something for one provider type only. */
static void
check_provider_kind(struct ctx *c, const struct sk_provider_conf *p, size_t i)
{
	char key[KEY_MAX];
	size_t j;

	if (p->type == NULL)
		return;
	if (p->tenant != NULL && !type_is(p, "microsoft")) {
		snprintf(key, sizeof(key), "providers[%zu].tenant", i);
		report(c, line_or(c, &p->tenant, p->line), key,
		       "only for type microsoft (the Entra ID directory)");
	}
	if (p->trust_email && !type_is(p, "microsoft")) {
		snprintf(key, sizeof(key), "providers[%zu].trust_email", i);
		report(c, line_or(c, &p->trust_email, p->line), key,
		       "only for type microsoft (google and github say "
		       "themselves whether an address is verified; LINE's "
		       "addresses are never counted as verified)");
	}
	if (p->bot_prompt != NULL && !type_is(p, "line")) {
		snprintf(key, sizeof(key), "providers[%zu].bot_prompt", i);
		report(c, line_or(c, &p->bot_prompt, p->line), key,
		       "only for type line");
	}
	if (p->id_token_algs.n > 0 && type_is(p, "github")) {
		snprintf(key, sizeof(key), "providers[%zu].id_token_algs", i);
		report(c, line_or(c, &p->id_token_algs, p->line), key,
		       "not for type github (GitHub issues no id_token)");
	}
	/*
	 * HS256 is keyed with the client secret: only LINE web login signs
	 * that way. Anywhere else it would only ever be an attacker's choice.
	 */
	for (j = 0; j < p->id_token_algs.n; j++) {
		if (strcmp(p->id_token_algs.v[j], "HS256") != 0 ||
		    type_is(p, "line"))
			continue;
		snprintf(key, sizeof(key), "providers[%zu].id_token_algs[%zu]",
			 i, j);
		report(c, line_or(c, &p->id_token_algs.v[j], p->line), key,
		       "HS256 is only for type line (others sign with public "
		       "keys: RS256, PS256, ES256 and their larger sizes)");
	}
	/*
	 * Every upstream call goes to URLs under the issuer (and the
	 * discovery document's); the client refuses plain http except on
	 * loopback (codes, secrets and tokens cross it), so refuse it here
	 * too rather than fail every sign-in later.
	 */
	if (p->issuer != NULL && strncmp(p->issuer, "http://", 7) == 0 &&
	    !url_host_is_loopback(p->issuer)) {
		snprintf(key, sizeof(key), "providers[%zu].issuer", i);
		report(c, line_or(c, &p->issuer, p->line), key,
		       "%s is plain http on a host that is not loopback "
		       "(codes, client secrets and tokens would cross the "
		       "network in clear: use https; http only for "
		       "127.0.0.0/8, [::1] or localhost)",
		       quote(c, p->issuer));
	}
	/*
	 * Google and Microsoft through the generic type would skip their
	 * rules (allowed_hd and Google's legacy issuer; allowed_tid and the
	 * per-directory issuer): refuse rather than run without them.
	 */
	if (type_is(p, "oidc") &&
	    (issuer_at(p->issuer, "https://accounts.google.com") ||
	     issuer_at(p->issuer, "https://login.microsoftonline.com") ||
	     issuer_at(p->issuer, "https://sts.windows.net"))) {
		snprintf(key, sizeof(key), "providers[%zu].type", i);
		report(c, line_or(c, &p->type, p->line), key,
		       "oidc with issuer %s: use type google or microsoft "
		       "(the generic type does not apply their rules)",
		       quote(c, p->issuer));
	}
}

static void
check_providers(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i, j;

	for (i = 0; i < cfg->nproviders; i++) {
		struct sk_provider_conf *p = &cfg->providers[i];
		if (p->line == 0)
			continue;
		snprintf(key, sizeof(key), "providers[%zu].id", i);
		missing(c, &p->id, p->line, key,
			"required: 1 to 32 of a-z, 0-9, _ and -");
		snprintf(key, sizeof(key), "providers[%zu].type", i);
		missing(c, &p->type, p->line, key,
			"required: google, microsoft, line, github or oidc");
		snprintf(key, sizeof(key), "providers[%zu].client_id", i);
		missing(c, &p->client_id, p->line, key,
			"required: the client id registered with the provider");
		snprintf(key, sizeof(key), "providers[%zu].client_secret", i);
		missing(c, &p->client_secret, p->line, key,
			"required: client_secret_file: PATH or client_secret: "
			"\"${ENV_VAR}\"");
		if (p->type != NULL && strcmp(p->type, "oidc") == 0) {
			snprintf(key, sizeof(key), "providers[%zu].issuer", i);
			missing(c, &p->issuer, p->line, key,
				"required for type oidc: the issuer URL");
		}
		check_provider_kind(c, p, i);
		if (p->id == NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (cfg->providers[j].id != NULL &&
			    strcmp(cfg->providers[j].id, p->id) == 0) {
				snprintf(key, sizeof(key), "providers[%zu].id",
					 i);
				report(c, line_or(c, &p->id, p->line), key,
				       "duplicate id %s (already used at line "
				       "%d)",
				       quote(c, p->id), cfg->providers[j].line);
				break;
			}
		}
	}
}

static void
provider_names(struct sk_buf *b, const struct sk_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->nproviders; i++) {
		const char *id = cfg->providers[i].id;
		if (id == NULL || sk_config_provider(cfg, id) !=
				      &cfg->providers[i])
			continue; /* unset, or a duplicate already listed */
		sk_buf_addf(b, "%s%s", n++ ? ", " : "", id);
	}
	if (n == 0)
		sk_buf_adds(b, "none");
}

/*
 * A microsoft provider's trust_email is safe only while the directories it
 * admits are the tenant's own choice: in any other directory, its admin
 * can give a user any address. So a multi-tenant one needs allowed_tid.
 */
static void
check_tenant_trust(struct ctx *c, const struct sk_tenant_conf *t, size_t i,
		   const struct sk_provider_conf *p)
{
	char key[KEY_MAX];

	if (!type_is(p, "microsoft") || !p->trust_email ||
	    t->allowed_tid.n > 0 ||
	    (p->tenant != NULL && strlen(p->tenant) == 36 /* one GUID */))
		return;
	snprintf(key, sizeof(key), "tenants[%zu].allowed_tid", i);
	report(c, t->line, key,
	       "missing, but provider %s trusts e-mail addresses from any "
	       "Entra ID directory (list the directories, or give the "
	       "provider a tenant id, or drop trust_email)",
	       quote(c, p->id));
}

static void
check_tenants(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	const struct sk_tenant_conf *catchall = NULL;
	char key[KEY_MAX];
	size_t i, j, k, l;

	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->line == 0)
			continue;
		snprintf(key, sizeof(key), "tenants[%zu].id", i);
		missing(c, &t->id, t->line, key,
			"required: 1 to 64 of a-z, 0-9, _ and -");
		snprintf(key, sizeof(key), "tenants[%zu].providers", i);
		missing(c, &t->providers, t->line, key,
			"required: the ids of the providers this tenant offers");
		/*
		 * TOTP secrets are sealed under the master key: a tenant that
		 * demands a second factor cannot run without one (never
		 * "MFA required" silently turned off).
		 */
		if (t->mfa != SK_MFA_OPTIONAL && cfg->keys.master_key_file == NULL) {
			snprintf(key, sizeof(key), "tenants[%zu].mfa", i);
			report(c, line_or(c, &t->mfa, t->line), key,
			       "%s needs keys.master_key_file (TOTP secrets are "
			       "encrypted at rest under it; set "
			       "keys.master_key_file, or use mfa: optional)",
			       t->mfa == SK_MFA_REQUIRED ? "required" : "admins");
		}
		if (t->id != NULL) {
			for (j = 0; j < i; j++) {
				if (cfg->tenants[j].id == NULL ||
				    strcmp(cfg->tenants[j].id, t->id) != 0)
					continue;
				snprintf(key, sizeof(key), "tenants[%zu].id", i);
				report(c, line_or(c, &t->id, t->line), key,
				       "duplicate id %s (already used at line "
				       "%d)",
				       quote(c, t->id), cfg->tenants[j].line);
				break;
			}
		}
		for (j = 0; j < t->providers.n; j++) {
			const struct sk_provider_conf *pc;
			struct sk_buf b;

			pc = sk_config_provider(cfg, t->providers.v[j]);
			if (pc != NULL) {
				check_tenant_trust(c, t, i, pc);
				continue;
			}
			sk_buf_init(&b);
			provider_names(&b, cfg);
			if (b.oom) {
				c->nomem = true;
			} else {
				snprintf(key, sizeof(key),
					 "tenants[%zu].providers[%zu]", i, j);
				report(c,
				       line_or(c, &t->providers.v[j], t->line),
				       key, "unknown provider %s (defined: %s)",
				       quote(c, t->providers.v[j]), b.data);
			}
			sk_buf_free(&b);
		}
		/* A Host header must pick one tenant, never two. */
		for (j = 0; j < t->hostnames.n; j++) {
			bool dup = false;
			for (k = 0; k < i && !dup; k++) {
				const struct sk_tenant_conf *o = &cfg->tenants[k];
				for (l = 0; l < o->hostnames.n && !dup; l++) {
					if (strcmp(o->hostnames.v[l],
						   t->hostnames.v[j]) != 0)
						continue;
					dup = true;
					snprintf(key, sizeof(key),
						 "tenants[%zu].hostnames[%zu]",
						 i, j);
					report(c,
					       line_or(c, &t->hostnames.v[j],
						       t->line),
					       key,
					       "%s is already a hostname of "
					       "tenant %s at line %d (each "
					       "hostname belongs to one tenant)",
					       quote(c, t->hostnames.v[j]),
					       quote(c, o->id ? o->id : "?"),
					       line_or(c, &o->hostnames.v[l],
						       o->line));
				}
			}
		}
		if (t->hostnames.n == 0) {
			if (catchall != NULL) {
				snprintf(key, sizeof(key), "tenants[%zu].hostnames",
					 i);
				report(c, t->line, key,
				       "missing, and tenant %s at line %d has "
				       "no hostnames either (at most one "
				       "catch-all tenant without hostnames)",
				       quote(c, catchall->id ? catchall->id : "?"),
				       catchall->line);
			} else {
				catchall = t;
			}
		}
	}
}

/* The host part of a hostnames entry ("host", "host:port", "[v6]:port"). */
static size_t
host_len(const char *hostport)
{
	if (hostport[0] == '[')
		return strlen(hostport); /* an IP literal: under no domain */
	return strcspn(hostport, ":");
}

/* Is the host (first len bytes) the domain itself or a name under it? */
static bool
host_under(const char *host, size_t len, const char *domain)
{
	size_t dlen = strlen(domain);

	if (host[0] == '[')
		return false;
	if (len == dlen)
		return strncmp(host, domain, len) == 0;
	return len > dlen && host[len - dlen - 1] == '.' &&
	       strncmp(host + len - dlen, domain, dlen) == 0;
}

/*
 * Single sign-on checks (docs/deployment.md): a tenant with cookie_domain
 * lists its login host and app hosts, all under that domain; no other
 * tenant's host is under it, since browsers send the tenant's session
 * cookie to every host under the domain. public_url's path is the prefix
 * of Sekisho's pages on every host: plain path characters only.
 */
static void
check_sso(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	const char *p, *path = NULL;
	size_t i, j, k, l;

	if (cfg->public_url != NULL && (p = strstr(cfg->public_url, "://")))
		path = strchr(p + 3, '/');
	if (path != NULL &&
	    (strlen(path) > 64 ||
	     strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789/_-.~") != strlen(path) ||
	     strstr(path, "//") != NULL || strstr(path, "/.") != NULL))
		report(c, line_or(c, &cfg->public_url, c->root_line),
		       "public_url",
		       "%s: its path is the prefix of Sekisho's pages on every "
		       "host (at most 64 of A-Z, a-z, 0-9, '/', '_', '-', '.' "
		       "and '~'; no empty, '.' or '..' segment)",
		       quote(c, cfg->public_url));
	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		const char *d = t->cookie_domain;
		if (t->line == 0 || d == NULL)
			continue;
		snprintf(key, sizeof(key), "tenants[%zu].cookie_domain", i);
		if (t->hostnames.n == 0)
			report(c, line_or(c, &t->cookie_domain, t->line), key,
			       "%s needs hostnames (the login host and the app "
			       "hosts under the domain); the catch-all tenant "
			       "cannot share a cookie domain",
			       quote(c, d));
		for (j = 0; j < t->hostnames.n; j++) {
			const char *h = t->hostnames.v[j];
			if (host_under(h, host_len(h), d))
				continue;
			snprintf(key, sizeof(key), "tenants[%zu].hostnames[%zu]",
				 i, j);
			report(c, line_or(c, &t->hostnames.v[j], t->line), key,
			       "%s is not under cookie_domain %s (every "
			       "hostname of the tenant must be the domain or a "
			       "host under it)",
			       quote(c, h), quote(c, d));
		}
		/* Tenant isolation: the cookie must never reach another's
		 * host (nor, through it, that tenant's apps). */
		for (k = 0; k < cfg->ntenants; k++) {
			const struct sk_tenant_conf *o = &cfg->tenants[k];
			if (k == i || o->line == 0)
				continue;
			for (l = 0; l < o->hostnames.n; l++) {
				const char *h = o->hostnames.v[l];
				if (!host_under(h, host_len(h), d))
					continue;
				snprintf(key, sizeof(key),
					 "tenants[%zu].hostnames[%zu]", k, l);
				report(c, line_or(c, &o->hostnames.v[l], o->line),
				       key,
				       "%s is under cookie_domain %s of tenant "
				       "%s at line %d (that tenant's session "
				       "cookie would be sent to it; give each "
				       "tenant its own domain)",
				       quote(c, h), quote(c, d),
				       quote(c, t->id ? t->id : "?"),
				       line_or(c, &t->cookie_domain, t->line));
			}
		}
	}
}

static void
tenant_names(struct sk_buf *b, const struct sk_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->ntenants; i++) {
		const char *id = cfg->tenants[i].id;
		if (id == NULL || sk_config_tenant(cfg, id) != &cfg->tenants[i])
			continue; /* unset, or a duplicate already listed */
		sk_buf_addf(b, "%s%s", n++ ? ", " : "", id);
	}
	if (n == 0)
		sk_buf_adds(b, "none");
}

/*
 * Tenant isolation of tokens: an app verifying our JWTs checks aud, so
 * two tenants sharing an audience would accept each other's tokens.
 */
static void
check_audiences(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i, j;

	for (i = 0; i < cfg->ntenants; i++) {
		const struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->line == 0 || t->audience == NULL)
			continue;
		for (j = 0; j < i; j++) {
			const struct sk_tenant_conf *o = &cfg->tenants[j];
			/* Same id: the duplicate id is reported already. */
			if (o->audience == NULL ||
			    strcmp(o->audience, t->audience) != 0 ||
			    (o->id != NULL && t->id != NULL &&
			     strcmp(o->id, t->id) == 0))
				continue;
			snprintf(key, sizeof(key), "tenants[%zu].audience", i);
			report(c, line_or(c, &t->audience, t->line), key,
			       "%s is already the audience of tenant %s at "
			       "line %d (each tenant's tokens need their own "
			       "audience)",
			       quote(c, t->audience),
			       quote(c, o->id ? o->id : "?"), o->line);
			break;
		}
	}
}

/* clients[i].tenants: given, and naming defined tenants only. */
static void
check_client_tenants(struct ctx *c, const struct sk_client_conf *cl, size_t i)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t j;

	snprintf(key, sizeof(key), "clients[%zu].tenants", i);
	missing(c, &cl->tenants, cl->line, key,
		"required: the ids of the tenants whose tokens this client "
		"may see, e.g. [default], or all");
	for (j = 0; j < cl->tenants.n; j++) {
		struct sk_buf b;

		if (sk_config_tenant(cfg, cl->tenants.v[j]) != NULL)
			continue;
		sk_buf_init(&b);
		tenant_names(&b, cfg);
		if (b.oom) {
			c->nomem = true;
		} else {
			snprintf(key, sizeof(key), "clients[%zu].tenants[%zu]",
				 i, j);
			report(c, line_or(c, &cl->tenants.v[j], cl->line), key,
			       "unknown tenant %s (defined: %s)",
			       quote(c, cl->tenants.v[j]), b.data);
		}
		sk_buf_free(&b);
	}
}

static void
check_clients(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i, j;

	check_audiences(c);

	for (i = 0; i < cfg->nclients; i++) {
		struct sk_client_conf *cl = &cfg->clients[i];
		if (cl->line == 0)
			continue;
		snprintf(key, sizeof(key), "clients[%zu].client_id", i);
		missing(c, &cl->client_id, cl->line, key,
			"required: 1 to 128 of A-Z, a-z, 0-9, '.', '_', '~' "
			"and '-'");
		snprintf(key, sizeof(key), "clients[%zu].client_secret", i);
		if (cl->public_client && cl->client_secret != NULL)
			report(c, line_or(c, &cl->client_secret, cl->line), key,
			       "a public client has no secret (remove it, or "
			       "set public: false)");
		else if (!cl->public_client)
			missing(c, &cl->client_secret, cl->line, key,
				"required: client_secret_file: PATH or "
				"client_secret: \"${ENV_VAR}\"");
		if (cl->public_client && cl->redirect_uris.n == 0) {
			snprintf(key, sizeof(key), "clients[%zu].redirect_uris",
				 i);
			report(c, cl->line, key,
			       "missing (required for a public client: the "
			       "app's redirect URIs)");
		}
		check_client_tenants(c, cl, i);
		if (cl->client_id == NULL)
			continue;
		for (j = 0; j < i; j++) {
			if (cfg->clients[j].client_id == NULL ||
			    strcmp(cfg->clients[j].client_id, cl->client_id) != 0)
				continue;
			snprintf(key, sizeof(key), "clients[%zu].client_id", i);
			report(c, line_or(c, &cl->client_id, cl->line), key,
			       "duplicate client id %s (already used at line %d)",
			       quote(c, cl->client_id), cfg->clients[j].line);
			break;
		}
	}
}

/* Operator mistakes: what is never right is refused, the rest warned. */

#define CLIENT_SECRET_MIN 32	      /* characters: 128 bits as hex */
#define ACCESS_TOKEN_TTL_MAX 3600     /* 1h */
#define ROTATION_DELAY_MIN 65	      /* JWKS cache 60 s + key reload 5 s */
#define SESSION_WARN_MAX (30 * 86400) /* browser sessions: 30d */
#define APP_SESSION_WARN_MAX (365 * 86400) /* app sessions: 1 year */

/* Linux's POSIX access ACL (system.posix_acl_access), little-endian. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_GROUP 0x08
#define ACL_TAG_MASK 0x10
#define ACL_TAG_OTHER 0x20

/*
 * With an access ACL, the group bits of st_mode are the ACL mask, not the
 * group's permissions: systemd's LoadCredential= files are 0400, owned by
 * root, plus "user:SERVICE:r", and show as 0440. Sets *rw to the S_IRGRP /
 * S_IWGRP bits that anyone but the owner and the user sekisho runs as
 * really has. Returns false, *rw untouched, when the file has no ACL (the
 * mode bits say it all); an ACL that cannot be read counts as open to
 * everyone.
 */
static bool
acl_others(const char *path, uid_t me, mode_t *rw)
{
	unsigned char b[4 + 8 * 32];
	unsigned perm, mask = 7, seen = 0;
	uint32_t id;
	uint16_t tag;
	ssize_t len, i;

	if ((len = getxattr(path, ACL_XATTR, b, sizeof(b))) < 0) {
		if (errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP)
			return false;
		*rw = S_IRGRP | S_IWGRP; /* unreadable, or too long: closed */
		return true;
	}
	if (len < 4 || (len - 4) % 8 != 0 ||
	    (b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24) !=
		ACL_XATTR_VERSION) {
		*rw = S_IRGRP | S_IWGRP;
		return true;
	}
	for (i = 4; i < len; i += 8) /* the mask applies to every entry */
		if ((b[i] | b[i + 1] << 8) == ACL_TAG_MASK)
			mask = b[i + 2] & 7;
	for (i = 4; i < len; i += 8) {
		tag = (uint16_t)(b[i] | b[i + 1] << 8);
		perm = b[i + 2] & 7;
		id = b[i + 4] | b[i + 5] << 8 | b[i + 6] << 16 |
		     (uint32_t)b[i + 7] << 24;
		if ((tag == ACL_TAG_USER && id != (uint32_t)me) ||
		    tag == ACL_TAG_GROUP_OBJ || tag == ACL_TAG_GROUP)
			seen |= perm & mask;
		else if (tag == ACL_TAG_OTHER)
			seen |= perm;
	}
	*rw = ((seen & 4) ? S_IRGRP : 0) | ((seen & 2) ? S_IWGRP : 0);
	return true;
}

/*
 * sshd's StrictModes for a file holding a secret: owned by the user
 * sekisho runs as or by root, writable by nobody else, and (unless
 * strict_modes is false, for container secrets) readable by nobody else.
 * On a problem, writes it into buf and returns false.
 */
static bool
file_mode_ok(const char *path, const struct stat *st, bool strict, char *buf,
	     size_t n)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	mode_t others = st->st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH);
	uid_t me = geteuid();
	const char *what = "mode";
	char how[32];

	if (st->st_uid != me && st->st_uid != 0) {
		snprintf(buf, n,
			 "owned by uid %u, neither the user sekisho runs as "
			 "(uid %u) nor root (chown it%s)",
			 (unsigned)st->st_uid, (unsigned)me,
			 me == 0 ? ", or check as the user the daemon runs as"
				 : "");
		return false;
	}
	if (acl_others(path, me, &others))
		what = "the ACL of mode";
	snprintf(how, sizeof(how), "%04o", mode);
	if ((others & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(buf, n,
			 "%s %s lets other users replace it (chmod 600, or "
			 "400)",
			 what, how);
		return false;
	}
	if (strict && (others & (S_IRGRP | S_IROTH)) != 0) {
		snprintf(buf, n,
			 "%s %s lets other users read it (chmod 600, or 400; "
			 "strict_modes: false accepts it for container "
			 "secrets)",
			 what, how);
		return false;
	}
	return true;
}

static void
check_secret_files(struct ctx *c)
{
	char why[256];
	size_t i;

	for (i = 0; i < c->nsfiles; i++) {
		const struct secret_file *f = &c->sfiles[i];
		if (!file_mode_ok(f->path, &f->st, c->cfg->strict_modes, why,
				  sizeof(why)))
			report(c, f->line, f->key, "%s: %s", quote(c, f->path),
			       why);
	}
}

/* Reads a key file for its checks; false when it could not be read. */
static bool
read_key_file(struct ctx *c, const char *path, size_t max, int line,
	      const char *key, char **text)
{
	struct stat st;
	char why[256];
	int r;

	errno = 0;
	r = sk_read_secret_file_stat(path, max, text, &st);
	if (r == SK_ERR_NOMEM) {
		c->nomem = true;
		return false;
	}
	if (r == SK_ERR_TOO_LARGE || r == SK_ERR_INVALID) {
		report(c, line, key, "%s is not a key file (%s)", quote(c, path),
		       r == SK_ERR_TOO_LARGE ? "too large" : "a NUL byte");
		return false;
	}
	if (r != 0) {
		report(c, line, key, "cannot read %s: %s", quote(c, path),
		       errno ? strerror(errno) : "not a regular file");
		return false;
	}
	/* Reported, and the content still checked: all problems at once. */
	if (!file_mode_ok(path, &st, c->cfg->strict_modes, why, sizeof(why)))
		report(c, line, key, "%s: %s", quote(c, path), why);
	return true;
}

/*
 * The master key is checked here, not only when the daemon starts: a
 * `sekisho -t` that says ok must mean the daemon can use it.
 */
static void
check_keys(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	unsigned char key[SK_AEAD_KEY_LEN];
	char k[KEY_MAX], d[32], *text = NULL;
	const char *why;
	size_t i;
	int line;

	if (cfg->keys.master_key_file != NULL) {
		line = line_or(c, &cfg->keys.master_key_file, c->root_line);
		if (read_key_file(c, cfg->keys.master_key_file, 256, line,
				  "keys.master_key_file", &text) &&
		    sk_key_text_parse(text, key, &why) != 0)
			report(c, line, "keys.master_key_file",
			       "%s holds %s (it must hold 32 random bytes as 64 "
			       "hex characters: `openssl rand -hex 32 > FILE`)",
			       quote(c, cfg->keys.master_key_file), why);
		sk_memzero(key, sizeof(key));
		sk_strfreezero(text);
		text = NULL;
	}
	for (i = 0; i < cfg->keys.signing_key_files.n; i++) {
		snprintf(k, sizeof(k), "keys.signing_key_files[%zu]", i);
		line = line_or(c, &cfg->keys.signing_key_files.v[i],
			       c->root_line);
		(void)read_key_file(c, cfg->keys.signing_key_files.v[i], 65536,
				    line, k, &text);
		sk_strfreezero(text);
		text = NULL;
	}
	if (cfg->keys.rotation_delay <= ROTATION_DELAY_MIN) {
		fmt_duration(d, sizeof(d), cfg->keys.rotation_delay);
		report(c, line_or(c, &cfg->keys.rotation_delay, c->root_line),
		       "keys.rotation_delay",
		       "%s is too short (more than 65s: verifiers cache the "
		       "JWKS for 60 s and instances reload keys every 5 s; "
		       "default 5m)",
		       d);
	}
	if (cfg->tokens.access_token_ttl > ACCESS_TOKEN_TTL_MAX) {
		fmt_duration(d, sizeof(d), cfg->tokens.access_token_ttl);
		report(c,
		       line_or(c, &cfg->tokens.access_token_ttl, c->root_line),
		       "tokens.access_token_ttl",
		       "%s is longer than 1h (an app that verifies a token "
		       "itself cannot see it revoked; at most 1h, default 5m; "
		       "apps renew with refresh tokens)",
		       d);
	}
}

/*
 * A client secret is the only thing between the network and
 * introspection (users' e-mail, roles) and revocation: at least 128
 * bits, which is 32 hex characters; we count characters, not entropy.
 */
static void
check_client_secrets(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i;

	for (i = 0; i < cfg->nclients; i++) {
		const struct sk_client_conf *cl = &cfg->clients[i];
		if (cl->line == 0 || cl->client_secret == NULL ||
		    strlen(cl->client_secret) >= CLIENT_SECRET_MIN)
			continue;
		snprintf(key, sizeof(key), "clients[%zu].client_secret", i);
		report(c, line_or(c, &cl->client_secret, cl->line), key,
		       "shorter than %d characters (at least 128 bits: e.g. "
		       "`openssl rand -hex 32 > FILE`)",
		       CLIENT_SECRET_MIN);
	}
}

/* Is a proxy in front, as far as the file tells? */
static bool
proxy_configured(const struct sk_config *cfg)
{
	return cfg->http.trusted_proxies.n > 0;
}

static void
warn_long(struct ctx *c, const int64_t *v, int64_t max, int fallback,
	  const char *key, const char *typical)
{
	char a[32], b[32];

	if (*v <= max)
		return;
	fmt_duration(a, sizeof(a), *v);
	fmt_duration(b, sizeof(b), max);
	warn(c, line_or(c, v, fallback), key,
	     "%s is longer than %s (a stolen cookie or token stays usable "
	     "that long; typical: %s)",
	     a, b, typical);
}

static void
check_warnings(struct ctx *c)
{
	struct sk_config *cfg = c->cfg;
	char key[KEY_MAX];
	size_t i;

	if (cfg->listen_host != NULL &&
	    !sk_host_is_loopback(cfg->listen_host, strlen(cfg->listen_host)) &&
	    !proxy_configured(cfg))
		warn(c, line_or(c, &cfg->listen_host, c->root_line), "listen",
		     "%s is not a loopback address and no proxy is configured "
		     "(clients would reach Sekisho's plain http directly: put "
		     "nginx or Traefik in front and listen on 127.0.0.1, or "
		     "list the proxy in front in http.trusted_proxies)",
		     quote(c, cfg->listen_host));
	if (cfg->public_url != NULL &&
	    strncmp(cfg->public_url, "http://", 7) == 0 &&
	    !url_host_is_loopback(cfg->public_url))
		warn(c, line_or(c, &cfg->public_url, c->root_line),
		     "public_url",
		     "%s is plain http on a host that is not loopback (session "
		     "cookies and sign-in codes would cross the network in "
		     "clear: use https behind a TLS proxy)",
		     quote(c, cfg->public_url));
	if (cfg->public_url != NULL &&
	    strncmp(cfg->public_url, "https://", 8) == 0 &&
	    !cfg->cookie.secure)
		warn(c, line_or(c, &cfg->cookie.secure, c->root_line),
		     "cookie.secure",
		     "false while public_url is https (the session cookie "
		     "loses Secure and the __Host- prefix: set it true)");
	if (cfg->redis.host != NULL && cfg->redis.password == NULL &&
	    !sk_host_is_loopback(cfg->redis.host, strlen(cfg->redis.host)))
		warn(c, line_or(c, &cfg->redis.url, c->root_line), "redis.url",
		     "plain TCP to %s, which is not loopback, without a "
		     "password (anyone on that network can read and change "
		     "sessions: set redis.password_file, or use a Unix socket)",
		     quote(c, cfg->redis.host));
	warn_long(c, &cfg->session.idle_timeout, SESSION_WARN_MAX,
		  c->root_line, "session.idle_timeout", "36h");
	warn_long(c, &cfg->session.absolute_timeout, SESSION_WARN_MAX,
		  c->root_line, "session.absolute_timeout", "7d");
	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		if (t->line == 0)
			continue;
		snprintf(key, sizeof(key), "tenants[%zu].app_idle_timeout", i);
		warn_long(c, &t->app_idle_timeout, APP_SESSION_WARN_MAX,
			  t->line, key, "14d");
		snprintf(key, sizeof(key), "tenants[%zu].app_absolute_timeout",
			 i);
		warn_long(c, &t->app_absolute_timeout, APP_SESSION_WARN_MAX,
			  t->line, key, "90d");
	}
}

/* Loading */

/* Reads the whole file; on failure errno tells why. */
static int
read_file(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = SK_ERR_IO, saved;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return SK_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		errno = EFBIG;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = 0;
out:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return r;
}

static void
report_syntax(struct ctx *c, const yaml_parser_t *p, const char *text,
	      size_t len)
{
	char ctxbuf[160] = "";
	int line = (int)p->problem_mark.line + 1;
	size_t i;

	c->fatal = true;
	if (p->error == YAML_READER_ERROR) {
		/* The reader gives only a byte offset. */
		for (i = 0, line = 1; i < p->problem_offset && i < len; i++)
			if (text[i] == '\n')
				line++;
		report(c, line, "(file)",
		       "%s at byte %zu (the file must be UTF-8 text)",
		       p->problem ? p->problem : "unreadable",
		       p->problem_offset);
		return;
	}
	if (p->context != NULL)
		snprintf(ctxbuf, sizeof(ctxbuf), " (%s that starts at line %d)",
			 p->context,
			 (int)p->context_mark.line + 1);
	report(c, line, "YAML syntax error", "%s%s",
	       p->problem ? p->problem : "unknown problem", ctxbuf);
}

static int
parse_doc(struct ctx *c, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, doc2;
	yaml_node_t *root;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return SK_ERR_NOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		if (parser.error == YAML_MEMORY_ERROR)
			r = SK_ERR_NOMEM;
		else
			report_syntax(c, &parser, text, len);
		yaml_parser_delete(&parser);
		return r;
	}
	c->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		report(c, 1, "(top level)",
		       "the file is empty (at least public_url, redis, "
		       "tenants and providers are required)");
		c->fatal = true;
		goto out;
	}
	c->root_line = node_line(root);
	if (root->type != YAML_MAPPING_NODE)
		c->fatal = true;
	if ((r = walk_map(c, root, "", &top_tab, c->cfg)) != 0)
		goto out;
	/* A second document would be silently ignored: refuse it. */
	if (!yaml_parser_load(&parser, &doc2)) {
		if (parser.error == YAML_MEMORY_ERROR)
			r = SK_ERR_NOMEM;
		else
			report_syntax(c, &parser, text, len);
		goto out;
	}
	if ((root = yaml_document_get_root_node(&doc2)) != NULL)
		report(c, node_line(root), "(top level)",
		       "a second YAML document (one document per file)");
	yaml_document_delete(&doc2);
out:
	c->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

int
sk_config_load(const char *path, struct sk_config **out, char **errors)
{
	struct ctx c;
	char *text = NULL;
	size_t len = 0, i;
	int r;

	*out = NULL;
	if (errors != NULL)
		*errors = NULL;
	memset(&c, 0, sizeof(c));
	c.path = path;
	c.root_line = 1;
	if ((c.cfg = calloc(1, sizeof(*c.cfg))) == NULL ||
	    (c.cfg->path = strdup(path)) == NULL) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	early_defaults(c.cfg);
	if ((r = read_file(path, &text, &len)) != 0) {
		if (r == SK_ERR_IO && errors != NULL) {
			struct sk_buf b;

			sk_buf_init(&b);
			sk_buf_addf(&b, "%s: cannot read: %s\n", path,
				    strerror(errno));
			if (sk_buf_take(&b, errors) != 0)
				r = SK_ERR_NOMEM;
		}
		goto out;
	}
	if ((r = parse_doc(&c, text, len)) != 0)
		goto out;
	if (!c.fatal) {
		if ((r = late_defaults(c.cfg)) != 0)
			goto out;
		check_top(&c);
		check_providers(&c);
		check_tenants(&c);
		check_sso(&c);
		check_clients(&c);
		check_keys(&c);
		check_secret_files(&c);
		check_client_secrets(&c);
		check_warnings(&c);
	}
	if (c.nomem) {
		r = SK_ERR_NOMEM;
		goto out;
	}
	if (c.nerrs > 0) {
		r = SK_ERR_CONFIG;
		if (errors != NULL && problems_take(c.errs, c.nerrs, errors) != 0)
			r = SK_ERR_NOMEM;
	} else if (c.nwarns > 0 &&
		   problems_take(c.warns, c.nwarns, &c.cfg->warnings) != 0) {
		r = SK_ERR_NOMEM;
	}
out:
	/* The text should hold no secret (inline ones are refused); wipe anyway. */
	if (text != NULL)
		sk_freezero(text, len);
	free(c.lines);
	problems_free(&c);
	for (i = 0; i < c.nsfiles; i++)
		free(c.sfiles[i].path);
	free(c.sfiles);
	if (r == 0) {
		*out = c.cfg;
		c.cfg = NULL;
	}
	sk_config_free(&c.cfg);
	return r;
}

static void
strlist_free(struct sk_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
sk_config_free(struct sk_config **cfgp)
{
	struct sk_config *cfg;
	size_t i;

	if (cfgp == NULL || (cfg = *cfgp) == NULL)
		return;
	*cfgp = NULL;
	free(cfg->path);
	free(cfg->listen_host);
	free(cfg->public_url);
	free(cfg->redis.url);
	sk_strfreezero(cfg->redis.password);
	free(cfg->redis.unix_path);
	free(cfg->redis.host);
	free(cfg->cookie.name);
	free(cfg->log_level);
	strlist_free(&cfg->http.trusted_proxies);
	free(cfg->http.forwarded_header);
	free(cfg->keys.master_key_file);
	strlist_free(&cfg->keys.signing_key_files);
	free(cfg->keys.algorithm);
	free(cfg->tokens.audience);
	strlist_free(&cfg->allowed_redirect_hosts);
	for (i = 0; i < cfg->ntenants; i++) {
		struct sk_tenant_conf *t = &cfg->tenants[i];
		free(t->id);
		free(t->display_name);
		strlist_free(&t->hostnames);
		strlist_free(&t->providers);
		strlist_free(&t->allowed_hd);
		strlist_free(&t->allowed_tid);
		strlist_free(&t->allowed_email_domains);
		strlist_free(&t->admin_emails);
		free(t->audience);
		free(t->cookie_domain);
	}
	free(cfg->tenants);
	for (i = 0; i < cfg->nproviders; i++) {
		struct sk_provider_conf *p = &cfg->providers[i];
		free(p->id);
		free(p->type);
		free(p->client_id);
		sk_strfreezero(p->client_secret);
		free(p->issuer);
		strlist_free(&p->scopes);
		free(p->display_name);
		strlist_free(&p->id_token_algs);
		free(p->tenant);
		free(p->bot_prompt);
	}
	free(cfg->providers);
	for (i = 0; i < cfg->nclients; i++) {
		free(cfg->clients[i].client_id);
		sk_strfreezero(cfg->clients[i].client_secret);
		strlist_free(&cfg->clients[i].redirect_uris);
		strlist_free(&cfg->clients[i].tenants);
		free(cfg->clients[i].display_name);
	}
	free(cfg->clients);
	free(cfg->warnings);
	sk_freezero(cfg, sizeof(*cfg));
}

const struct sk_provider_conf *
sk_config_provider(const struct sk_config *cfg, const char *id)
{
	size_t i;

	if (cfg == NULL || id == NULL)
		return NULL;
	for (i = 0; i < cfg->nproviders; i++)
		if (cfg->providers[i].id != NULL &&
		    strcmp(cfg->providers[i].id, id) == 0)
			return &cfg->providers[i];
	return NULL;
}

const struct sk_tenant_conf *
sk_config_tenant(const struct sk_config *cfg, const char *id)
{
	size_t i;

	if (cfg == NULL || id == NULL)
		return NULL;
	for (i = 0; i < cfg->ntenants; i++)
		if (cfg->tenants[i].id != NULL &&
		    strcmp(cfg->tenants[i].id, id) == 0)
			return &cfg->tenants[i];
	return NULL;
}

bool
sk_config_client_sees(const struct sk_client_conf *c, const char *tenant_id)
{
	size_t i;

	if (c == NULL || tenant_id == NULL)
		return false;
	if (c->all_tenants)
		return true;
	for (i = 0; i < c->tenants.n; i++)
		if (strcmp(c->tenants.v[i], tenant_id) == 0)
			return true;
	return false;
}

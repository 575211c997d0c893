/*
 * YAML (libyaml's document API, so every node knows its line) into struct
 * sk_config, through keyword tables (keywords.c): unknown keys are errors,
 * and parsing goes on after a problem so that the operator sees every
 * problem at once. Only a YAML syntax error stops the parse. Dotted keys
 * ("session.idle_timeout") and 0-based list indices ("tenants[1].mfa")
 * name what a message is about.
 *
 * ${NAME} references: any scalar value that is exactly "${NAME}" (NAME made
 * of A-Z, a-z, 0-9 and _, not starting with a digit) is replaced by the
 * environment variable NAME; a missing or empty variable is an error. Only
 * whole values are references: "${" anywhere else is refused rather than
 * taken literally, so a half-expanded URL never reaches the daemon.
 */
#include "config_int.h"
#include "sekisho/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A key read from the file, made safe to print: control chars become '?'. */
static void
safe_key(char *dst, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i] != '\0' && i < 64; i++) {
		dst[i] = s[i];
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			dst[i] = '?';
	}
	dst[i] = '\0';
}

void
cfg_subkey(char *dst, size_t n, const char *prefix, const char *name)
{
	if (prefix[0] == '\0')
		snprintf(dst, n, "%s", name);
	else
		snprintf(dst, n, "%s.%s", prefix, name);
}

int
cfg_node_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* The line to report a problem with node n on (see key_line). */
int
cfg_where(const struct ctx *c, const yaml_node_t *n)
{
	return n == c->key_value ? c->key_line : cfg_node_line(n);
}

/* Node access */

bool
cfg_is_null(const yaml_node_t *n)
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
	if (cfg_is_null(n))
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
bool
cfg_get_scalar(struct ctx *c, yaml_node_t *n, const char *key, bool secret,
	       const char **out, bool *fromenv)
{
	const char *v, *e;
	char name[129];
	size_t len;

	*out = NULL;
	if (fromenv != NULL)
		*fromenv = false;
	if (n->type != YAML_SCALAR_NODE || cfg_is_null(n)) {
		cfg_report(c, cfg_where(c, n), key,
			   "expected a single value, got %s", kind_name(n));
		return false;
	}
	v = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	if (strlen(v) != len) {
		cfg_report(c, cfg_where(c, n), key,
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
			cfg_report(c, cfg_where(c, n), key,
				   "not a valid ${NAME} reference (the whole "
				   "value must be ${NAME}; NAME: A-Z, a-z, 0-9 "
				   "and _, not starting with a digit)");
		else
			cfg_report(
			    c, cfg_where(c, n), key,
			    "%s is not a valid ${NAME} reference (the "
			    "whole value must be ${NAME}; NAME: A-Z, a-z, "
			    "0-9 and _, not starting with a digit)",
			    cfg_quote(c, v));
		return false;
	}
	memcpy(name, v + 2, len - 3);
	name[len - 3] = '\0';
	e = getenv(name);
	if (e == NULL || *e == '\0') {
		cfg_report(c, cfg_where(c, n), key,
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
bool
cfg_get_string(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	       const char *key, char **out)
{
	const char *v, *why = NULL;
	char *s;

	*out = NULL;
	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return false;
	if ((s = strdup(v)) == NULL) {
		c->nomem = true;
		return false;
	}
	if (kw->check != NULL && !kw->check(s, &why)) {
		if (why != NULL)
			cfg_report(c, cfg_where(c, n), key, "%s", why);
		else
			cfg_report(c, cfg_where(c, n), key, "%s %s",
				   cfg_quote(c, v), kw->what);
		free(s);
		return false;
	}
	*out = s;
	return true;
}

/* A list node (null counts as an empty list); false after reporting. */
bool
cfg_get_seq(struct ctx *c, yaml_node_t *n, const char *key, size_t *count)
{
	*count = 0;
	if (cfg_is_null(n))
		return true;
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_report(c, cfg_where(c, n), key, "expected a list, got %s",
			   kind_name(n));
		return false;
	}
	*count =
	    (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	return true;
}

yaml_node_t *
cfg_seq_item(struct ctx *c, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
}

void *
cfg_field(void *obj, const struct kw *kw)
{
	return (char *)obj + kw->off;
}

/* Mappings */

/* Every key of tab, for messages; a provider's also lists the types' own
 * keys, each once. */
static void
allowed_keys(const struct ctx *c, struct sk_buf *b, const struct kwtab *tab)
{
	const struct sk_conf_key *ck;
	size_t i, j, k, n = 0;

	for (i = 0; i < tab->n; i++)
		if (tab->kw[i].fn != cfg_kw_removed) /* not to be suggested */
			sk_buf_addf(b, "%s%s", n++ ? ", " : "",
				    tab->kw[i].name);
	for (i = 0; tab->kind_keys && c->kinds != NULL && c->kinds[i]; i++) {
		for (j = 0; j < c->kinds[i]->nkeys; j++) {
			ck = &c->kinds[i]->keys[j];
			for (k = 0; k < i; k++) /* declared by an earlier one */
				if (cfg_kind_key(c->kinds[k], ck->name) != NULL)
					break;
			if (k == i)
				sk_buf_addf(b, "%s%s", n++ ? ", " : "",
					    ck->name);
		}
	}
}

static void
report_unknown(struct ctx *c, int line, const char *key,
	       const struct kwtab *tab)
{
	struct sk_buf b;

	sk_buf_init(&b);
	allowed_keys(c, &b, tab);
	if (b.oom) {
		c->nomem = true;
	} else {
		cfg_report(c, line, key, "unknown key (allowed: %s)", b.data);
	}
	sk_buf_free(&b);
}

/*
 * Walks a mapping node through a keyword table; obj is the structure that
 * the table's offsets point into. Returns 0 or SK_ERR_NOMEM.
 */
int
cfg_walk_map(struct ctx *c, yaml_node_t *n, const char *prefix,
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
		allowed_keys(c, &b, tab);
		if (b.oom)
			c->nomem = true;
		else
			cfg_report(c, cfg_where(c, n),
				   prefix[0] ? prefix : "(top level)",
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
			cfg_report(c, cfg_node_line(k),
				   prefix[0] ? prefix : "(top level)",
				   "a key is not a plain name (keys are names "
				   "like listen or idle_timeout)");
			continue;
		}
		safe_key(name, sizeof(name),
			 (const char *)k->data.scalar.value);
		cfg_subkey(key, sizeof(key), prefix, name);
		for (i = 0; i < tab->n; i++)
			if (strcmp(tab->kw[i].name,
				   (const char *)k->data.scalar.value) == 0)
				break;
		if (i == tab->n && tab->kind_keys &&
		    cfg_kind_key_owner(c->kinds,
				       (const char *)k->data.scalar.value,
				       NULL) != NULL)
			continue; /* a type's own key: cfg_kind_keys_walk() */
		if (i == tab->n) {
			report_unknown(c, cfg_node_line(k), key, tab);
			continue;
		}
		if (first[i]) {
			cfg_report(c, cfg_node_line(k), key,
				   "given twice (first at line %d; give each "
				   "key once)",
				   first[i]);
			continue;
		}
		first[i] = cfg_node_line(k);
		c->key_value = v;
		c->key_line = cfg_node_line(k);
		if (tab->kw[i].sub == NULL)
			cfg_set_line(c, cfg_field(obj, &tab->kw[i]),
				     cfg_node_line(k));
		if ((r = tab->kw[i].fn(c, &tab->kw[i], v, key, obj)) != 0)
			return r;
		if (c->nomem)
			return SK_ERR_NOMEM;
	}
	return c->nomem ? SK_ERR_NOMEM : 0;
}

/* Keyword handlers: int fn(c, kw, node, key, obj), 0 or SK_ERR_NOMEM */

int
cfg_kw_str(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	   void *obj)
{
	char **dst = cfg_field(obj, kw);
	char *s;

	if (cfg_get_string(c, kw, n, key, &s)) {
		free(*dst);
		*dst = s;
	}
	return c->nomem ? SK_ERR_NOMEM : 0;
}

int
cfg_kw_bool(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	    void *obj)
{
	bool *dst = cfg_field(obj, kw);
	const char *v;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0)
		*dst = true;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0)
		*dst = false;
	else
		cfg_report(c, cfg_where(c, n), key,
			   "%s is not a boolean (true, false, yes or no)",
			   cfg_quote(c, v));
	return 0;
}

/* A decimal integer in [kw->min, kw->max]; false after reporting. */
static bool
get_number(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	   int64_t *out)
{
	const char *v;
	char *end;
	long long ll;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return false;
	errno = 0;
	ll = strtoll(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0) {
		cfg_report(c, cfg_where(c, n), key,
			   "%s is not a number (%lld to %lld)", cfg_quote(c, v),
			   (long long)kw->min, (long long)kw->max);
		return false;
	}
	if (ll < kw->min || ll > kw->max) {
		cfg_report(c, cfg_where(c, n), key,
			   "%s is out of range (%lld to %lld)", cfg_quote(c, v),
			   (long long)kw->min, (long long)kw->max);
		return false;
	}
	*out = ll;
	return true;
}

int
cfg_kw_int(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	   void *obj)
{
	int *dst = cfg_field(obj, kw);
	int64_t v;

	if (get_number(c, kw, n, key, &v))
		*dst = (int)v; /* kw->max fits in int */
	return 0;
}

int
cfg_kw_int64(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj)
{
	int64_t *dst = cfg_field(obj, kw);
	int64_t v;

	if (get_number(c, kw, n, key, &v))
		*dst = v;
	return 0;
}

int
cfg_kw_duration(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		const char *key, void *obj)
{
	int64_t *dst = cfg_field(obj, kw);
	const char *v;
	int64_t s;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if (sk_parse_duration(v, &s) != 0)
		cfg_report(
		    c, cfg_where(c, n), key,
		    "%s is not a duration (a number followed by s, m, h, d "
		    "or y, e.g. 90s, 15m, 36h, 14d, 10y)",
		    cfg_quote(c, v));
	else if (kw->max > 0 && (s < kw->min || s > kw->max))
		cfg_report(c, cfg_where(c, n), key,
			   "%s is out of range (%llds to %llds)",
			   cfg_quote(c, v), (long long)kw->min,
			   (long long)kw->max);
	else
		*dst = s;
	return 0;
}

/*
 * Durations in milliseconds (Redis timeouts): "500ms" or any duration
 * sk_parse_duration takes. A bare number is refused here: "500" would
 * otherwise mean 500 seconds to a reader who expects milliseconds.
 */
int
cfg_kw_duration_ms(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		   const char *key, void *obj)
{
	int64_t *dst = cfg_field(obj, kw);
	const char *v;
	int64_t s, ms = 0;
	size_t len, i;
	bool ok = false;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
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
		cfg_report(
		    c, cfg_where(c, n), key,
		    "%s is not a duration (a number followed by ms, s, m, h "
		    "or d, e.g. 500ms, 2s)",
		    cfg_quote(c, v));
	else
		*dst = ms;
	return 0;
}

/* A list of strings, each checked (and normalised) by kw->check. */
int
cfg_kw_list(struct ctx *c, const struct kw *kw, yaml_node_t *n, const char *key,
	    void *obj)
{
	struct sk_strlist *l = cfg_field(obj, kw);
	char ikey[KEY_MAX];
	size_t count, i;
	char *s;

	if (!cfg_get_seq(c, n, key, &count))
		return 0;
	if (count == 0 && kw->min > 0) {
		cfg_report(c, cfg_where(c, n), key,
			   "empty list (at least one is required)");
		return 0;
	}
	if (count == 0)
		return 0;
	if ((l->v = calloc(count, sizeof(*l->v))) == NULL)
		return SK_ERR_NOMEM;
	l->n = 0; /* a key is given once (cfg_walk_map): the list is new */
	for (i = 0; i < count; i++) {
		yaml_node_t *item = cfg_seq_item(c, n, i);
		size_t j;

		if (item == NULL)
			continue;
		snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		if (!cfg_get_string(c, kw, item, ikey, &s))
			continue;
		for (j = 0; j < l->n; j++)
			if (strcmp(l->v[j], s) == 0)
				break;
		if (j < l->n) {
			cfg_report(c, cfg_node_line(item), ikey,
				   "%s is listed twice (first at line %d)",
				   cfg_quote(c, s), cfg_line_of(c, &l->v[j]));
			free(s);
			continue;
		}
		l->v[l->n] = s;
		cfg_set_line(c, &l->v[l->n], cfg_node_line(item));
		l->n++;
	}
	return c->nomem ? SK_ERR_NOMEM : 0;
}

int
cfg_kw_section(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	       const char *key, void *obj)
{
	return cfg_walk_map(c, n, key, kw->sub, obj);
}

/* A key that no longer exists: say what replaces it. */
int
cfg_kw_removed(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	       const char *key, void *obj)
{
	cfg_report(c, c->key_line, key, "%s", kw->what);
	return 0;
}

/*
 * A list of mappings (tenants, providers, clients) into a newly allocated
 * array. An item that is not a mapping keeps line 0: the cross-check skips
 * it, its problem being already reported.
 */
int
cfg_walk_items(struct ctx *c, yaml_node_t *n, const char *key,
	       const struct kwtab *tab, size_t size, size_t line_off,
	       void **arrp, size_t *countp, item_fn *after)
{
	char ikey[KEY_MAX];
	size_t count, i;
	char *arr;
	int r;

	if (!cfg_get_seq(c, n, key, &count) || count == 0)
		return 0;
	if ((arr = calloc(count, size)) == NULL)
		return SK_ERR_NOMEM;
	*arrp = arr;
	*countp = count;
	for (i = 0; i < count; i++) {
		yaml_node_t *item = cfg_seq_item(c, n, i);
		char *obj = arr + i * size;

		if (item == NULL)
			continue;
		snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		if (item->type == YAML_MAPPING_NODE)
			*(int *)(void *)(obj + line_off) = cfg_node_line(item);
		if ((r = cfg_walk_map(c, item, ikey, tab, obj)) != 0)
			return r;
		if (after != NULL && (r = after(c, item, ikey, obj)) != 0)
			return r;
	}
	return 0;
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
		cfg_report(c, line, "(file)",
			   "%s at byte %zu (the file must be UTF-8 text)",
			   p->problem ? p->problem : "unreadable",
			   p->problem_offset);
		return;
	}
	if (p->context != NULL)
		snprintf(ctxbuf, sizeof(ctxbuf), " (%s that starts at line %d)",
			 p->context, (int)p->context_mark.line + 1);
	cfg_report(c, line, "YAML syntax error", "%s%s",
		   p->problem ? p->problem : "unknown problem", ctxbuf);
}

int
cfg_parse_doc(struct ctx *c, const char *text, size_t len)
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
		cfg_report(c, 1, "(top level)",
			   "the file is empty (at least public_url, redis, "
			   "tenants and providers are required)");
		c->fatal = true;
		goto out;
	}
	c->root_line = cfg_node_line(root);
	if (root->type != YAML_MAPPING_NODE)
		c->fatal = true;
	if ((r = cfg_walk_map(c, root, "", &cfg_top_tab, c->cfg)) != 0)
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
		cfg_report(c, cfg_node_line(root), "(top level)",
			   "a second YAML document (one document per file)");
	yaml_document_delete(&doc2);
out:
	c->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

/*
 * Provider types (struct sk_provider_kind, declared by each
 * providers/<type>.c and handed to sk_config_load()): the value of a
 * provider's type:, the keys only one type takes, and the names of the
 * types in messages. A type's own key on a provider of another type is
 * checked as its type would check it, then refused with the type it
 * belongs to, as an operator who moved a key between providers needs to
 * hear.
 */
#include "config_int.h"
#include "sekisho/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The types (all, or those verifying HS256), "a, b or c"; *out newly
 * allocated. */
static int
kind_names(const struct sk_provider_kind *const *kinds, bool hmac_only,
	   char **out)
{
	struct sk_buf b;
	size_t i, n = 0, total = 0;

	for (i = 0; kinds != NULL && kinds[i] != NULL; i++)
		if (!hmac_only || kinds[i]->hmac_id_tokens)
			total++;
	sk_buf_init(&b);
	for (i = 0; kinds != NULL && kinds[i] != NULL; i++) {
		if (hmac_only && !kinds[i]->hmac_id_tokens)
			continue;
		sk_buf_addf(&b, "%s%s",
			    n == 0	     ? ""
			    : n + 1 == total ? " or "
					     : ", ",
			    kinds[i]->type);
		n++;
	}
	if (n == 0)
		sk_buf_adds(&b, "none");
	return sk_buf_take(&b, out);
}

int
cfg_kinds_init(struct ctx *c)
{
	if (kind_names(c->kinds, false, &c->type_list) != 0 ||
	    kind_names(c->kinds, true, &c->hmac_list) != 0)
		return SK_ERR_NOMEM;
	if (asprintf(
		&c->alg_what,
		"is not an id_token algorithm (RS256, RS384, RS512, "
		"PS256, PS384, PS512, ES256, ES384, ES512%s%s)",
		strcmp(c->hmac_list, "none") != 0 ? ", or HS256 for type " : "",
		strcmp(c->hmac_list, "none") != 0 ? c->hmac_list : "") < 0) {
		c->alg_what = NULL;
		return SK_ERR_NOMEM;
	}
	return 0;
}

void
cfg_kinds_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nscratch; i++)
		cfg_ext_free(c->scratch[i].kind, &c->scratch[i].ext);
	free(c->scratch);
	c->scratch = NULL;
	c->nscratch = 0;
	free(c->foreign);
	c->foreign = NULL;
	c->nforeign = 0;
	free(c->type_list);
	free(c->hmac_list);
	free(c->alg_what);
	c->type_list = c->hmac_list = c->alg_what = NULL;
}

const struct sk_provider_kind *
cfg_kind_find(const struct ctx *c, const char *type)
{
	size_t i;

	for (i = 0; type != NULL && c->kinds != NULL && c->kinds[i] != NULL;
	     i++)
		if (strcmp(c->kinds[i]->type, type) == 0)
			return c->kinds[i];
	return NULL;
}

const struct sk_conf_key *
cfg_kind_key(const struct sk_provider_kind *kind, const char *name)
{
	size_t i;

	for (i = 0; i < kind->nkeys; i++)
		if (strcmp(kind->keys[i].name, name) == 0)
			return &kind->keys[i];
	return NULL;
}

const struct sk_provider_kind *
cfg_kind_key_owner(const struct sk_provider_kind *const *kinds,
		   const char *name, const struct sk_conf_key **key)
{
	const struct sk_conf_key *k;
	size_t i;

	for (i = 0; kinds != NULL && kinds[i] != NULL; i++) {
		if ((k = cfg_kind_key(kinds[i], name)) != NULL) {
			if (key != NULL)
				*key = k;
			return kinds[i];
		}
	}
	return NULL;
}

/* providers[].type: one of the kinds; sets the provider's kind. */
int
cfg_kw_provider_type(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		     const char *key, void *obj)
{
	struct sk_provider_conf *p = obj;
	const struct sk_provider_kind *kind;
	const char *v;

	if (!cfg_get_scalar(c, n, key, false, &v, NULL))
		return 0;
	if ((kind = cfg_kind_find(c, v)) == NULL) {
		cfg_report(c, cfg_where(c, n), key,
			   "%s is not a provider type (%s)", cfg_quote(c, v),
			   c->type_list);
		return 0;
	}
	free(p->type);
	if ((p->type = strdup(v)) == NULL)
		return SK_ERR_NOMEM;
	p->kind = kind;
	return 0;
}

/* providers[].id_token_algs: its message names the HS256 types. */
int
cfg_kw_id_token_algs(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		     const char *key, void *obj)
{
	struct kw k = *kw;

	k.what = c->alg_what;
	return cfg_kw_list(c, &k, n, key, obj);
}

/* A type's struct for a key given to a provider of another type. */
static void *
scratch_new(struct ctx *c, const struct sk_provider_kind *kind)
{
	struct scratch *n;
	void *ext;

	if ((ext = calloc(1, kind->conf_size ? kind->conf_size : 1)) == NULL)
		return NULL;
	if ((n = reallocarray(c->scratch, c->nscratch + 1, sizeof(*n))) ==
	    NULL) {
		free(ext);
		return NULL;
	}
	c->scratch = n;
	c->scratch[c->nscratch].kind = kind;
	c->scratch[c->nscratch].ext = ext;
	c->nscratch++;
	return ext;
}

static int
foreign_add(struct ctx *c, const struct sk_provider_conf *p, int line,
	    const struct sk_conf_key *key, const struct sk_provider_kind *owner)
{
	struct foreign *n;

	if ((n = reallocarray(c->foreign, c->nforeign + 1, sizeof(*n))) == NULL)
		return SK_ERR_NOMEM;
	c->foreign = n;
	n = &c->foreign[c->nforeign++];
	n->provider = (size_t)(p - c->cfg->providers);
	n->line = line;
	n->key = key;
	n->owner = owner;
	return 0;
}

/* Was the key given a value that means something? */
static bool
key_set(const struct sk_conf_key *k, const void *ext)
{
	const char *f = (const char *)ext + k->off;

	switch (k->type) {
	case SK_CONF_STRING:
		return *(char *const *)(const void *)f != NULL;
	case SK_CONF_BOOL:
		return *(const bool *)(const void *)f;
	case SK_CONF_LIST:
		return ((const struct sk_strlist *)(const void *)f)->n > 0;
	}
	return false;
}

/* The line of an earlier key of the same name in the mapping; 0: none. */
static int
given_before(struct ctx *c, yaml_node_t *map, yaml_node_pair_t *pair,
	     const char *name)
{
	yaml_node_pair_t *q;
	yaml_node_t *k;

	for (q = map->data.mapping.pairs.start; q < pair; q++) {
		k = yaml_document_get_node(c->doc, q->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, name) == 0)
			return cfg_node_line(k);
	}
	return 0;
}

/*
 * After the shared keys of a provider (cfg_walk_map() left the types'
 * own ones): those of its type fill p->ext; another type's are checked as
 * that type would, and noted to be refused when they say anything.
 */
int
cfg_kind_keys_walk(struct ctx *c, yaml_node_t *item, const char *ikey,
		   void *obj)
{
	struct sk_provider_conf *p = obj;
	const struct sk_provider_kind *owner;
	const struct sk_conf_key *ck;
	yaml_node_pair_t *pair;
	char key[KEY_MAX];
	struct kw kw;
	void *target;
	const char *name;
	int line, first, r;

	if (item->type != YAML_MAPPING_NODE)
		return 0;
	if (p->kind != NULL && p->kind->nkeys > 0 &&
	    (p->ext = calloc(1, p->kind->conf_size)) == NULL)
		return SK_ERR_NOMEM;
	for (pair = item->data.mapping.pairs.start;
	     pair < item->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);

		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
			continue; /* reported by cfg_walk_map() */
		name = (const char *)k->data.scalar.value;
		ck = p->kind != NULL ? cfg_kind_key(p->kind, name) : NULL;
		owner = ck != NULL ? p->kind
				   : cfg_kind_key_owner(c->kinds, name, &ck);
		if (owner == NULL)
			continue; /* a shared key, or unknown: reported */
		cfg_subkey(key, sizeof(key), ikey, name);
		line = cfg_node_line(k);
		if ((first = given_before(c, item, pair, name)) != 0) {
			cfg_report(c, line, key,
				   "given twice (first at line %d; give each "
				   "key once)",
				   first);
			continue;
		}
		target = owner == p->kind ? p->ext : scratch_new(c, owner);
		if (target == NULL)
			return SK_ERR_NOMEM;
		memset(&kw, 0, sizeof(kw));
		kw.name = ck->name;
		kw.fn = ck->type == SK_CONF_BOOL   ? cfg_kw_bool
			: ck->type == SK_CONF_LIST ? cfg_kw_list
						   : cfg_kw_str;
		kw.off = ck->off;
		kw.check = ck->check;
		kw.what = ck->what != NULL ? ck->what : "is not valid here";
		c->key_value = v;
		c->key_line = line;
		cfg_set_line(c, cfg_field(target, &kw), line);
		if ((r = kw.fn(c, &kw, v, key, target)) != 0)
			return r;
		if (c->nomem)
			return SK_ERR_NOMEM;
		/* Without a valid type (reported) there is no "other". */
		if (owner != p->kind && p->kind != NULL &&
		    key_set(ck, target) &&
		    (r = foreign_add(c, p, line, ck, owner)) != 0)
			return r;
	}
	return 0;
}

void
cfg_kind_foreign_report(struct ctx *c, size_t i)
{
	const struct sk_provider_kind *kind;
	const struct foreign *f;
	char key[KEY_MAX];
	size_t k, j, n;

	for (k = 0; c->kinds != NULL && (kind = c->kinds[k]) != NULL; k++) {
		for (j = 0; j < kind->nkeys; j++) {
			for (n = 0; n < c->nforeign; n++) {
				f = &c->foreign[n];
				if (f->provider != i ||
				    f->key != &kind->keys[j])
					continue;
				snprintf(key, sizeof(key), "providers[%zu].%s",
					 i, f->key->name);
				cfg_report(
				    c, f->line, key, "only for type %s%s%s%s",
				    f->owner->type, f->key->only ? " (" : "",
				    f->key->only ? f->key->only : "",
				    f->key->only ? ")" : "");
			}
		}
	}
}

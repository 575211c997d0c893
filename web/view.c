/*
 * Views: the named values C code hands to the renderer (sekisho/web.h).
 */
#include "web_int.h"

#include "sekisho/util.h"

#include <stdlib.h>
#include <string.h>

struct sk_view *
sk_view_new(void)
{
	return calloc(1, sizeof(struct sk_view));
}

void
sk_view_free(struct sk_view **vp)
{
	struct sk_view *v;
	size_t i, k;

	if (vp == NULL || (v = *vp) == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		free(v->v[i].name);
		/* Values may be secrets (the enrolment key): wiped. */
		sk_strfreezero(v->v[i].s);
		free(v->v[i].scheme);
		for (k = 0; k < v->v[i].nitems; k++)
			sk_view_free(&v->v[i].items[k]);
		free(v->v[i].items);
	}
	free(v->v);
	free(v);
	*vp = NULL;
}

const struct val *
sk_view_get(const struct sk_view *v, const char *name)
{
	size_t i;

	for (i = v->n; i > 0; i--)
		if (strcmp(v->v[i - 1].name, name) == 0)
			return &v->v[i - 1];
	return NULL;
}

/* A new value slot; NULL (and v->oom) when out of memory. */
static struct val *
slot(struct sk_view *v, const char *name, enum val_kind kind)
{
	struct val *nv, *x;

	if (v == NULL)
		return NULL;
	/* Lists grow in place: the same name adds to the one list. */
	if (kind == V_LIST) {
		size_t i;
		for (i = 0; i < v->n; i++)
			if (v->v[i].kind == V_LIST &&
			    strcmp(v->v[i].name, name) == 0)
				return &v->v[i];
	}
	if ((nv = realloc(v->v, (v->n + 1) * sizeof(*nv))) == NULL) {
		v->oom = true;
		return NULL;
	}
	v->v = nv;
	x = &v->v[v->n];
	memset(x, 0, sizeof(*x));
	if ((x->name = strdup(name)) == NULL) {
		v->oom = true;
		return NULL;
	}
	x->kind = kind;
	v->n++;
	return x;
}

static void
set_str(struct sk_view *v, const char *name, enum val_kind kind, const char *s)
{
	struct val *x;

	if (s == NULL || (x = slot(v, name, kind)) == NULL)
		return;
	if ((x->s = strdup(s)) == NULL)
		v->oom = true;
}

void
sk_view_set(struct sk_view *v, const char *name, const char *text)
{
	set_str(v, name, V_TEXT, text);
}

void
sk_view_set_msg(struct sk_view *v, const char *name, const char *msgid)
{
	set_str(v, name, V_MSG, msgid);
}

void
sk_view_raw_html(struct sk_view *v, const char *name, const char *html)
{
	set_str(v, name, V_RAW, html);
}

void
sk_view_set_app_link(struct sk_view *v, const char *name, const char *url,
		     const char *scheme)
{
	struct val *x;

	if (url == NULL || (x = slot(v, name, V_APPLINK)) == NULL)
		return;
	if ((x->s = strdup(url)) == NULL ||
	    (x->scheme = strdup(scheme)) == NULL)
		v->oom = true;
}

static void
set_num(struct sk_view *v, const char *name, enum val_kind kind, long long n)
{
	struct val *x;

	if ((x = slot(v, name, kind)) != NULL)
		x->n = n;
}

void
sk_view_set_int(struct sk_view *v, const char *name, long long n)
{
	set_num(v, name, V_INT, n);
}

void
sk_view_set_bool(struct sk_view *v, const char *name, bool on)
{
	set_num(v, name, V_BOOL, on ? 1 : 0);
}

void
sk_view_set_time(struct sk_view *v, const char *name, int64_t t)
{
	set_num(v, name, V_TIME, (long long)t);
}

struct sk_view *
sk_view_add(struct sk_view *v, const char *name)
{
	struct sk_view **ni, *item;
	struct val *x;

	if ((x = slot(v, name, V_LIST)) == NULL)
		return NULL;
	if ((item = sk_view_new()) == NULL) {
		v->oom = true;
		return NULL;
	}
	if ((ni = realloc(x->items, (x->nitems + 1) * sizeof(*ni))) == NULL) {
		free(item);
		v->oom = true;
		return NULL;
	}
	x->items = ni;
	x->items[x->nitems++] = item;
	return item;
}

/*
 * The audit log's verifier and export (sekishoctl audit verify|export).
 *
 * verify walks one tenant's chain line by line across its day files and
 * stops at the first entry that breaks it, saying which and how: changed
 * (a line whose hash the next one does not record, or that is no entry),
 * removed (seq numbers missing), inserted (an extra line the chain
 * does not need) or reordered (seq numbers out of order). A line's
 * neighbours tell these apart, so two lines of look-ahead are kept.
 * Every checkpoint's JWS is checked against the keys given, and must sign
 * exactly the head before it; a run of entries longer than the previous
 * checkpoint announced ("every") means checkpoints were taken out. The
 * chain starts at seq 1 after 64 zeros, or where a signed retention
 * record says the remaining files start.
 */
#include "audit_int.h"
#include "sekisho/audit.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/jose.h"
#include "sekisho/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOOKAHEAD 3
#define MAX_JWS 16384

/* One line read, parsed when it parses. */
struct line {
	char *text;
	size_t len;
	size_t file; /* index in days */
	size_t no;   /* 1-based line number in its file */
	bool torn;   /* no newline at its end */
	bool ok;     /* e is valid */
	const char *why;
	struct audit_entry e;
	char hash[AUDIT_HASH_LEN + 1];
};

struct reader {
	const char *path; /* the tenant's directory */
	char **days;
	size_t ndays, cur;
	FILE *f;
	size_t no;
	struct line q[LOOKAHEAD];
	size_t nq;
	int err;
};

static void
line_clear(struct line *l)
{
	free(l->text);
	audit_entry_clear(&l->e);
	memset(l, 0, sizeof(*l));
}

/* Reads the next raw line of the files into *l: 0, or SK_ERR_NOT_FOUND
 * at the end, SK_ERR_IO. */
static int
read_line(struct reader *r, struct line *l)
{
	char name[4096];
	size_t cap = 0;
	ssize_t n;

	memset(l, 0, sizeof(*l));
	for (;;) {
		if (r->f == NULL) {
			if (r->cur >= r->ndays ||
			    (snprintf(name, sizeof(name), "%s/%s%s", r->path,
				      r->days[r->cur], AUDIT_SUFFIX),
			     (r->f = fopen(name, "re")) == NULL)) {
				/* getline() may have left a buffer. */
				free(l->text);
				l->text = NULL;
				return r->cur >= r->ndays ? SK_ERR_NOT_FOUND
							  : SK_ERR_IO;
			}
			r->no = 0;
		}
		errno = 0;
		if ((n = getline(&l->text, &cap, r->f)) > 0)
			break;
		if (ferror(r->f)) {
			free(l->text);
			l->text = NULL;
			return SK_ERR_IO;
		}
		fclose(r->f);
		r->f = NULL;
		r->cur++;
	}
	l->file = r->cur;
	l->no = ++r->no;
	l->len = (size_t)n;
	if (l->text[n - 1] == '\n')
		l->text[--l->len] = '\0';
	else
		l->torn = true;
	sk_sha256_hex(l->text, l->len, l->hash);
	l->ok =
	    !l->torn && audit_entry_parse(l->text, l->len, &l->e, &l->why) == 0;
	if (l->torn)
		l->why = "a line without its newline";
	return 0;
}

/* The k-th line ahead (0: the next), or NULL past the end. */
static struct line *
peek(struct reader *r, size_t k)
{
	int e;

	while (r->nq <= k) {
		if ((e = read_line(r, &r->q[r->nq])) != 0) {
			if (e != SK_ERR_NOT_FOUND)
				r->err = e;
			return NULL;
		}
		r->nq++;
	}
	return &r->q[k];
}

/* Moves the next line to *l (the caller clears it). */
static bool
next(struct reader *r, struct line *l)
{
	if (peek(r, 0) == NULL)
		return false;
	*l = r->q[0];
	memmove(&r->q[0], &r->q[1], (r->nq - 1) * sizeof(r->q[0]));
	r->nq--;
	memset(&r->q[r->nq], 0, sizeof(r->q[0]));
	return true;
}

static void
reader_close(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->nq; i++)
		line_clear(&r->q[i]);
	if (r->f != NULL)
		fclose(r->f);
	r->f = NULL;
}

/* What the findings print: "tenant/day.jsonl:line". */
struct where {
	const struct sk_audit_verify *v;
	struct reader *r;
};

static void
loc(const struct where *w, const struct line *l, char *out, size_t len)
{
	snprintf(out, len, "%s/%s%s:%zu", w->v->tenant, w->r->days[l->file],
		 AUDIT_SUFFIX, l->no);
}

static bool
chains(const struct line *l, int64_t seq, const char *hash)
{
	return l != NULL && l->ok && l->e.seq == seq &&
	       strcmp(l->e.prev, hash) == 0;
}

/*
 * Names what is wrong at x, the first line that does not follow p (NULL:
 * x opens the walk at a place that needs a predecessor). n1, n2: the two
 * lines after x, when there are.
 */
static void
diagnose(const struct where *w, const struct line *p, const struct line *x,
	 const struct line *n1, const struct line *n2)
{
	FILE *o = w->v->out;
	char lx[512], lp[512] = "", l1[512] = "";
	int64_t want = p != NULL ? p->e.seq + 1 : 1;

	loc(w, x, lx, sizeof(lx));
	if (p != NULL)
		loc(w, p, lp, sizeof(lp));
	if (n1 != NULL)
		loc(w, n1, l1, sizeof(l1));
	/* The line after x follows p as if x were not there. */
	if (p != NULL && chains(n1, want, p->hash) &&
	    !(x->ok && x->e.seq == want + 1 && chains(n2, want + 2, x->hash))) {
		fprintf(o,
			"%s: INSERTED: this line is not part of the chain "
			"(the next line, %s, follows seq %lld at %s without "
			"it)\n",
			lx, l1, (long long)p->e.seq, lp);
		return;
	}
	if (!x->ok) {
		fprintf(o, "%s: CHANGED: %s (seq %lld expected)\n", lx, x->why,
			(long long)want);
		return;
	}
	if (p != NULL && x->e.seq == want) {
		/* The link p -> x is broken: which side changed? */
		if (n1 == NULL || chains(n1, want + 1, x->hash))
			fprintf(o,
				"%s: CHANGED: seq %lld: its SHA-256 is not "
				"the one seq %lld at %s records (the line was "
				"altered)\n",
				lp, (long long)p->e.seq, (long long)want, lx);
		else
			fprintf(o,
				"%s: CHANGED: seq %lld: its prev is not the "
				"SHA-256 of seq %lld at %s, and seq %lld does "
				"not record its hash either (the line was "
				"altered)\n",
				lx, (long long)want, (long long)p->e.seq, lp,
				(long long)want + 1);
		return;
	}
	/* x links to p, the line after x carries the seq after want: only
	 * x's own seq was altered. */
	if (p != NULL && strcmp(x->e.prev, p->hash) == 0 &&
	    (n1 == NULL || (n1->ok && n1->e.seq == want + 1))) {
		fprintf(o,
			"%s: CHANGED: its seq is %lld where %lld belongs (it "
			"follows seq %lld at %s; the line was altered)\n",
			lx, (long long)x->e.seq, (long long)want,
			(long long)p->e.seq, lp);
		return;
	}
	if (x->e.seq == want + 1 && n1 != NULL && n1->ok && n1->e.seq == want) {
		fprintf(o,
			"%s: REORDERED: seq %lld comes before seq %lld (at "
			"%s): the lines were swapped\n",
			lx, (long long)x->e.seq, (long long)want, l1);
		return;
	}
	if (x->e.seq > want) {
		fprintf(o,
			"%s: REMOVED: seq %lld to %lld are missing before "
			"this line (seq %lld)%s%s\n",
			lx, (long long)want, (long long)x->e.seq - 1,
			(long long)x->e.seq,
			p != NULL ? "; the last before is at " : "", lp);
		return;
	}
	if (p != NULL && x->e.seq == p->e.seq && n1 != NULL &&
	    chains(n1, want, x->hash)) {
		fprintf(o,
			"%s: INSERTED: seq %lld appears twice; this line is "
			"not part of the chain (the one at %s is)\n",
			lp, (long long)x->e.seq, lx);
		return;
	}
	fprintf(o,
		"%s: REORDERED: seq %lld where seq %lld was expected (an "
		"entry moved, or inserted)\n",
		lx, (long long)x->e.seq, (long long)want);
}

/* The key of kid in the JWKS, and the algorithm it signs with. */
static int
jwks_key(const json_t *jwks, const char *kid, EVP_PKEY **pkey,
	 enum sk_jws_alg *alg)
{
	const json_t *k;
	size_t i;

	*pkey = NULL;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *id = json_string_value(json_object_get(k, "kid"));
		if (id == NULL || strcmp(id, kid) != 0)
			continue;
		*alg = sk_jws_alg_from_name(
		    json_string_value(json_object_get(k, "alg")));
		if (*alg == SK_JWS_UNKNOWN || *alg == SK_JWS_HS256)
			return SK_ERR_TOKEN;
		return sk_jwk_import(k, pkey);
	}
	return SK_ERR_NOT_FOUND;
}

/*
 * Checks a checkpoint line: its JWS verifies with the key its kid names,
 * and signs this tenant's head just before it. On success *every is the
 * bound it announces and *kid a copy of its key id.
 */
static int
check_cp(const struct sk_audit_verify *v, const struct line *l, int64_t *every,
	 char *kid, size_t kidlen, const char **why)
{
	const char *jwt = json_string_value(json_object_get(l->e.obj, "jws"));
	struct sk_jws *jws = NULL;
	EVP_PKEY *pkey = NULL;
	enum sk_jws_alg alg = SK_JWS_UNKNOWN;
	json_t *claims = NULL;
	const char *k;
	int r = SK_ERR_TOKEN;

	*why = "its JWS is malformed";
	if (sk_jws_parse(jwt, MAX_JWS, &jws) != 0)
		goto out;
	*why = "its JWS names no key (kid)";
	if ((k = sk_jws_kid(jws)) == NULL)
		goto out;
	snprintf(kid, kidlen, "%s", k);
	if ((r = jwks_key(v->jwks, k, &pkey, &alg)) == SK_ERR_NOT_FOUND) {
		*why = "signed with a key that is not in the keys given (an "
		       "older key: give its JWKS with --jwks)";
		goto out;
	}
	r = SK_ERR_TOKEN;
	*why = "the key named by its kid is unusable";
	if (pkey == NULL)
		goto out;
	*why = "its signature does not verify with the key named by its kid";
	if (sk_jws_verify(jws, alg, pkey) != 0 ||
	    sk_jws_claims(jws, &claims) != 0)
		goto out;
	*why = "it signs another tenant, seq or head than the entries "
	       "before it";
	if (json_string_value(json_object_get(claims, "tenant")) == NULL ||
	    strcmp(json_string_value(json_object_get(claims, "tenant")),
		   v->tenant) != 0 ||
	    json_integer_value(json_object_get(claims, "seq")) !=
		l->e.seq - 1 ||
	    json_string_value(json_object_get(claims, "head")) == NULL ||
	    strcmp(json_string_value(json_object_get(claims, "head")),
		   l->e.prev) != 0)
		goto out;
	*every = json_integer_value(json_object_get(claims, "every"));
	*why = NULL;
	r = 0;
out:
	json_decref(claims);
	EVP_PKEY_free(pkey);
	sk_jws_free(&jws);
	return r;
}

/* The retention records met, for the start of the chain to match. */
struct vouch {
	char file[AUDIT_DAY_LEN + sizeof(AUDIT_SUFFIX)];
	int64_t seq;
	char prev[AUDIT_HASH_LEN + 1];
	int64_t at;   /* its own seq */
	bool signed_; /* a valid checkpoint follows it */
};

/* The last line of the file before day (for --from); NULL if none. */
static int
line_before(const char *path, char **days, size_t ndays, const char *from,
	    struct line *out, bool *found)
{
	struct reader r;
	struct line l;
	size_t i;

	*found = false;
	for (i = 0; i < ndays && strcmp(days[i], from) < 0; i++)
		;
	if (i == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	r.path = path;
	r.days = days;
	r.cur = i - 1;
	r.ndays = i;
	while (next(&r, &l)) {
		if (*found)
			line_clear(out);
		*out = l;
		*found = true;
	}
	reader_close(&r);
	return r.err;
}

int
sk_audit_verify_tenant(const struct sk_audit_verify *v, bool *intact)
{
	struct reader r;
	struct where w = {.v = v, .r = &r};
	struct line p, x, before;
	struct vouch *vs = NULL, *grown;
	size_t nvs = 0, i, start_file = 0;
	char *path = NULL, lx[512], kid[256], last_cursor[SK_EVENT_CURSOR_MAX];
	const char *why;
	int64_t every = 0, run = 0, entries = 0, cps = 0, gaps = 0,
		start_seq = 1;
	int64_t last_cp = 0;
	bool have_p = false, found, bad = false, vouched;
	char start_prev[AUDIT_HASH_LEN + 1] = AUDIT_ZERO_HASH;
	int rc;

	*intact = false;
	memset(&r, 0, sizeof(r));
	memset(&p, 0, sizeof(p));
	memset(&before, 0, sizeof(before));
	snprintf(last_cursor, sizeof(last_cursor), "0-0");
	if (v->from != NULL && !audit_day_ok(v->from))
		return SK_ERR_INVALID;
	if (asprintf(&path, "%s/%s", v->dir, v->tenant) < 0)
		return SK_ERR_NOMEM;
	r.path = path;
	if ((rc = audit_list_days(path, &r.days, &r.ndays)) != 0)
		goto out;
	if (v->from != NULL)
		while (r.cur < r.ndays && strcmp(r.days[r.cur], v->from) < 0)
			r.cur++;
	start_file = r.cur;
	if (r.cur >= r.ndays) {
		rc = SK_ERR_NOT_FOUND;
		goto out;
	}
	if (v->from != NULL && (rc = line_before(path, r.days, r.ndays, v->from,
						 &before, &found)) != 0)
		goto out;
	if (v->from != NULL && found && before.ok) {
		p = before;
		memset(&before, 0, sizeof(before));
		have_p = true;
	}
	while (!bad && next(&r, &x)) {
		struct line *n1 = peek(&r, 0), *n2 = peek(&r, 1);

		loc(&w, &x, lx, sizeof(lx));
		if (x.torn && n1 == NULL) {
			fprintf(v->out,
				"%s: note: the last line is incomplete (being "
				"written now, or a torn write the writer cuts "
				"off at its next start); not checked\n",
				lx);
			line_clear(&x);
			break;
		}
		if (!have_p && x.ok) {
			/* Where the walk starts. */
			start_seq = x.e.seq;
			memcpy(start_prev, x.e.prev, sizeof(start_prev));
			if (v->from != NULL &&
			    !(x.e.seq == 1 &&
			      strcmp(x.e.prev, AUDIT_ZERO_HASH) == 0))
				fprintf(v->out,
					"%s: note: starts at seq %lld (what "
					"came before %s is not checked)\n",
					lx, (long long)x.e.seq, v->from);
		} else if (!have_p || !chains(&x, p.e.seq + 1, p.hash)) {
			diagnose(&w, have_p ? &p : NULL, &x, n1, n2);
			bad = true;
		}
		if (!bad &&
		    strncmp(x.e.time, r.days[x.file], AUDIT_DAY_LEN) != 0) {
			fprintf(v->out,
				"%s: MOVED: seq %lld has time %s, not of this "
				"file's day\n",
				lx, (long long)x.e.seq, x.e.time);
			bad = true;
		}
		if (!bad && have_p && strcmp(x.e.time, p.e.time) < 0) {
			fprintf(v->out,
				"%s: REORDERED: seq %lld is older (%s) than "
				"the entry before it\n",
				lx, (long long)x.e.seq, x.e.time);
			bad = true;
		}
		if (!bad && x.e.kind == AUDIT_EVENT) {
			if (sk_event_cursor_cmp(x.e.cursor, last_cursor) <= 0) {
				fprintf(
				    v->out,
				    "%s: DUPLICATE: seq %lld records stream "
				    "entry %s, not after %s\n",
				    lx, (long long)x.e.seq, x.e.cursor,
				    last_cursor);
				bad = true;
			}
			snprintf(last_cursor, sizeof(last_cursor), "%s",
				 x.e.cursor);
		}
		if (!bad && x.e.kind == AUDIT_CHECKPOINT) {
			int64_t e2 = 0;
			if (check_cp(v, &x, &e2, kid, sizeof(kid), &why) != 0) {
				fprintf(v->out,
					"%s: BAD CHECKPOINT: seq %lld (key "
					"%.16s): %s\n",
					lx, (long long)x.e.seq, kid, why);
				bad = true;
			} else {
				cps++;
				last_cp = x.e.seq;
				every = e2;
				run = 0;
				for (i = 0; i < nvs; i++)
					vs[i].signed_ = true;
			}
		} else if (!bad) {
			/* A run longer than the last checkpoint allowed:
			 * checkpoints were taken out of it. */
			if (++run > every && every > 0) {
				fprintf(v->out,
					"%s: REMOVED: seq %lld is entry %lld "
					"after the checkpoint at seq %lld, "
					"which promised one every %lld (a "
					"checkpoint is missing)\n",
					lx, (long long)x.e.seq, (long long)run,
					(long long)last_cp, (long long)every);
				bad = true;
			}
		}
		if (!bad && x.e.kind == AUDIT_GAP) {
			gaps++;
			fprintf(v->out,
				"%s: note: GAP recorded by the writer: %lld "
				"events after stream entry %s (before %s) were "
				"trimmed from Redis before they were written\n",
				lx,
				(long long)json_integer_value(
				    json_object_get(x.e.obj, "lost")),
				json_string_value(
				    json_object_get(x.e.obj, "after")),
				json_string_value(
				    json_object_get(x.e.obj, "next")));
		}
		if (!bad && x.e.kind == AUDIT_RETENTION) {
			const json_t *f = json_object_get(x.e.obj, "first");
			if ((grown = realloc(vs, (nvs + 1) * sizeof(*vs))) ==
			    NULL) {
				rc = SK_ERR_NOMEM;
				line_clear(&x);
				goto out;
			}
			vs = grown;
			snprintf(vs[nvs].file, sizeof(vs[nvs].file), "%s",
				 json_string_value(json_object_get(f, "file")));
			vs[nvs].seq =
			    json_integer_value(json_object_get(f, "seq"));
			snprintf(vs[nvs].prev, sizeof(vs[nvs].prev), "%s",
				 json_string_value(json_object_get(f, "prev")));
			vs[nvs].at = x.e.seq;
			vs[nvs].signed_ = false;
			nvs++;
			fprintf(v->out,
				"%s: note: retention removed %zu file%s "
				"before %s\n",
				lx,
				json_array_size(
				    json_object_get(x.e.obj, "removed")),
				json_array_size(
				    json_object_get(x.e.obj, "removed")) == 1
				    ? ""
				    : "s",
				vs[nvs - 1].file);
		}
		if (!bad)
			entries++;
		if (have_p)
			line_clear(&p);
		p = x;
		have_p = true;
	}
	if (r.err != 0) {
		rc = r.err;
		goto out;
	}
	/* The start: seq 1 after zeros, or vouched by a signed record. */
	if (!bad && v->from == NULL && entries > 0 &&
	    !(start_seq == 1 && strcmp(start_prev, AUDIT_ZERO_HASH) == 0)) {
		char name[AUDIT_DAY_LEN + sizeof(AUDIT_SUFFIX)];
		snprintf(name, sizeof(name), "%s%s", r.days[start_file],
			 AUDIT_SUFFIX);
		vouched = false;
		for (i = 0; i < nvs; i++)
			if (vs[i].signed_ && vs[i].seq == start_seq &&
			    strcmp(vs[i].prev, start_prev) == 0 &&
			    strcmp(vs[i].file, name) == 0)
				vouched = true;
		if (!vouched) {
			fprintf(v->out,
				"%s/%s:1: REMOVED: the log starts at seq %lld "
				"and no signed retention record says the "
				"files before it were removed\n",
				v->tenant, name, (long long)start_seq);
			bad = true;
		}
	}
	if (!bad) {
		fprintf(v->out,
			"%s: ok: %lld entries in %zu file%s, %lld checkpoint%s "
			"verified, %lld gap%s; head seq %lld sha256 %s",
			v->tenant, (long long)entries, r.ndays - start_file,
			r.ndays - start_file == 1 ? "" : "s", (long long)cps,
			cps == 1 ? "" : "s", (long long)gaps,
			gaps == 1 ? "" : "s", have_p ? (long long)p.e.seq : 0LL,
			have_p ? p.hash : AUDIT_ZERO_HASH);
		if (have_p && p.e.seq > last_cp)
			fprintf(v->out,
				" (%lld after the last checkpoint, not "
				"signed yet)",
				(long long)(p.e.seq - last_cp));
		fputc('\n', v->out);
	}
	*intact = !bad;
	rc = 0;
out:
	if (have_p)
		line_clear(&p);
	line_clear(&before);
	reader_close(&r);
	audit_strv_free(&r.days, r.ndays);
	free(vs);
	free(path);
	return rc;
}

int
sk_audit_scan(const char *dir, const char *tenant, const char *from,
	      const char *to, sk_audit_line_fn *fn, void *arg)
{
	struct reader r;
	struct line l;
	char *path = NULL;
	size_t end, total = 0;
	int rc, stop = 0;

	if ((from != NULL && !audit_day_ok(from)) ||
	    (to != NULL && !audit_day_ok(to)))
		return SK_ERR_INVALID;
	memset(&r, 0, sizeof(r));
	if (asprintf(&path, "%s/%s", dir, tenant) < 0)
		return SK_ERR_NOMEM;
	r.path = path;
	if ((rc = audit_list_days(path, &r.days, &r.ndays)) != 0)
		goto out;
	total = r.ndays;
	while (from != NULL && r.cur < r.ndays &&
	       strncmp(r.days[r.cur], from, AUDIT_DAY_LEN) < 0)
		r.cur++;
	for (end = r.cur;
	     end < r.ndays &&
	     (to == NULL || strncmp(r.days[end], to, AUDIT_DAY_LEN) <= 0);
	     end++)
		;
	r.ndays = end > r.cur ? end : r.cur;
	/* A torn last line is a write under way: not an entry yet. */
	while (stop == 0 && next(&r, &l)) {
		if (!l.torn)
			stop = fn(l.text, l.len, l.ok ? l.e.obj : NULL, arg);
		line_clear(&l);
	}
	rc = stop != 0 ? stop : r.err;
out:
	reader_close(&r);
	audit_strv_free(&r.days, total); /* every name the list held */
	free(path);
	return rc;
}

/* sk_audit_export()'s line: the event of an event entry. */
static int
export_line(const char *line, size_t len, const json_t *entry, void *arg)
{
	const char *kind = json_string_value(json_object_get(entry, "kind"));
	char *s;

	(void)line;
	(void)len;
	if (kind == NULL || strcmp(kind, "event") != 0)
		return 0;
	if ((s = json_dumps(json_object_get(entry, "event"),
			    JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL) {
		fprintf(arg, "%s\n", s);
		free(s);
	}
	return 0;
}

int
sk_audit_export(const char *dir, const char *tenant, const char *from,
		const char *to, FILE *out)
{
	int rc = sk_audit_scan(dir, tenant, from, to, export_line, out);

	if (fflush(out) != 0 && rc == 0)
		rc = SK_ERR_IO;
	return rc;
}

/* A tenant's directory: a tenant id naming a directory. */
static bool
keep_tenant(const char *dir, char *name)
{
	size_t n = strlen(name);
	struct stat st;
	char *sub;
	bool ok;

	if (n < 1 || n > 64 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n ||
	    asprintf(&sub, "%s/%s", dir, name) < 0)
		return false;
	ok = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
	free(sub);
	return ok;
}

int
sk_audit_tenants(const char *dir, char ***names, size_t *n)
{
	return audit_list_dir(dir, keep_tenant, names, n);
}

void
sk_audit_names_free(char ***names, size_t n)
{
	audit_strv_free(names, n);
}

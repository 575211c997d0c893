/*
 * The tamper-evident audit log (docs/audit.md): every event of every
 * configured tenant, in the order of its Redis stream, appended to
 * hash-chained JSON-lines files audit.dir/<tenant>/<YYYY-MM-DD>.jsonl,
 * with checkpoints signed by Sekisho's signing key and whole old days
 * removed (and that recorded) after audit.retention.
 *
 * The writer is one daemon thread; the verifier and the export are what
 * `sekishoctl audit verify|export` run, and need neither Redis nor the
 * daemon (only the keys to check signatures with).
 */
#ifndef SEKISHO_AUDIT_H
#define SEKISHO_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "sekisho/util.h"

struct sk_config;

/*
 * Starts the writer thread (cfg->audit.dir must be set; cfg must stay
 * valid until sk_audit_stop()). It needs the store and the signing keys
 * started before it. Returns 0, or an error when the thread cannot start.
 */
int sk_audit_start(const struct sk_config *cfg);
/* Stops the writer: what it read is written, the head of each chain is
 * signed, files are synced and locks released. No-op when not started. */
void sk_audit_stop(void);
/* The writer's metrics (sekisho_audit_*) in Prometheus text, appended to
 * b; nothing when the writer does not run. */
void sk_audit_metrics(struct sk_buf *b);

/* One run of the verifier over one tenant's files. */
struct sk_audit_verify {
	const char *dir;    /* audit.dir */
	const char *tenant; /* a directory of dir */
	const char *from;   /* "YYYY-MM-DD": start at that day; NULL: all */
	/* The public keys checkpoints may be signed with: a JWKS document
	 * ({"keys": [...]}), borrowed. */
	const json_t *jwks;
	FILE *out; /* the report: one line per finding, then a summary */
};

/*
 * Walks the tenant's chain and checks every checkpoint. Returns 0 when
 * every file could be read, with *intact false when something was
 * changed, removed, inserted or reordered (the first such entry is named
 * in the report); SK_ERR_NOT_FOUND when the tenant has no files,
 * SK_ERR_IO when they cannot be read, SK_ERR_INVALID for a bad from.
 */
int sk_audit_verify_tenant(const struct sk_audit_verify *v, bool *intact);

/*
 * Prints the events of the tenant's days from..to (inclusive, either
 * NULL: open) to out, one JSON object a line, in order. Returns 0,
 * SK_ERR_NOT_FOUND (no files), SK_ERR_IO or SK_ERR_INVALID (bad date).
 */
int sk_audit_export(const char *dir, const char *tenant, const char *from,
		    const char *to, FILE *out);

/*
 * Calls fn for every complete line of the tenant's files of the days
 * from..to (inclusive, either NULL: open), in order: the line as the file
 * holds it (len bytes, without its newline; the bytes the chain hashes)
 * and the entry parsed (NULL when the line is not a valid entry). A torn
 * last line (a write under way) is left out. fn returns 0 to go on;
 * anything else stops the walk and is returned. Otherwise 0,
 * SK_ERR_NOT_FOUND (no files), SK_ERR_IO or SK_ERR_INVALID (bad date).
 */
typedef int sk_audit_line_fn(const char *line, size_t len, const json_t *entry,
			     void *arg);
int sk_audit_scan(const char *dir, const char *tenant, const char *from,
		  const char *to, sk_audit_line_fn *fn, void *arg);

/*
 * The tenants with a directory under dir, sorted. On success *names is
 * newly allocated (*n strings; sk_audit_names_free()).
 */
int sk_audit_tenants(const char *dir, char ***names, size_t *n);
void sk_audit_names_free(char ***names, size_t n);

#endif

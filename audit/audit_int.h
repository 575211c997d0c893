/*
 * Private to audit/: the file format shared by the writer (writer.c) and
 * the verifier (verify.c). docs/audit.md describes it for readers.
 *
 * One entry a line, compact JSON, ASCII only, members in this order:
 *   {"seq": n, "prev": "<hex SHA-256 of the previous line>", "time":
 *    "<RFC 3339 UTC, ms>", "kind": "event|checkpoint|gap|retention",
 *    "cursor": "<the stream entry id recorded up to>", "n": <its
 *    ordinal in the stream, counted as XINFO's entries-added>, ...}
 * The hash is over the exact bytes of the previous line without its
 * newline; the first entry of a chain has "prev" of 64 zeros.
 */
#ifndef SEKISHO_AUDIT_INT_H
#define SEKISHO_AUDIT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_ZERO_HASH                                                        \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_HASH_LEN 64
/* The "typ" of a checkpoint's JWS header. */
#define AUDIT_CP_TYP "sekisho-audit-checkpoint+jwt"
/* The longest line the writer reads back (an event holding two policy
 * documents stays far below). */
#define AUDIT_LINE_MAX (8 * 1024 * 1024)
/* "YYYY-MM-DD.jsonl" */
#define AUDIT_DAY_LEN 10
#define AUDIT_SUFFIX ".jsonl"

enum audit_kind {
	AUDIT_EVENT = 1,
	AUDIT_CHECKPOINT,
	AUDIT_GAP,
	AUDIT_RETENTION,
};

/* A parsed entry; the strings point into obj. */
struct audit_entry {
	json_t *obj;
	int64_t seq;
	const char *prev;
	const char *time;
	const char *cursor;
	enum audit_kind kind;
};

/*
 * Parses one line (len bytes, no newline) as an entry, checking the
 * members every entry has and those of its kind. Returns 0 (e->obj a new
 * reference: audit_entry_clear()) or SK_ERR_INVALID with *why set.
 */
int audit_entry_parse(const char *line, size_t len, struct audit_entry *e,
		      const char **why);
void audit_entry_clear(struct audit_entry *e);

const char *audit_kind_name(enum audit_kind k);

/* True when name is "YYYY-MM-DD.jsonl" (a real date); day gets the date. */
bool audit_day_file(const char *name, char day[AUDIT_DAY_LEN + 1]);
/* True when s is a real date "YYYY-MM-DD". */
bool audit_day_ok(const char *s);
/* Seconds since the epoch at 00:00 UTC of day. */
int64_t audit_day_start(const char *day);

/* The ms since the epoch of a time as audit_time_fmt() writes it. */
int64_t audit_time_ms(const char *t);
/* RFC 3339 UTC with milliseconds ("2026-12-02T03:04:05.678Z"). */
void audit_time_fmt(int64_t ms, char out[32]);

/*
 * The days (file names without ".jsonl") under path, sorted oldest
 * first. On success *days is newly allocated (audit_strv_free()).
 * SK_ERR_NOT_FOUND when path does not exist.
 */
int audit_list_days(const char *path, char ***days, size_t *n);
void audit_strv_free(char ***v, size_t n);
/* The same for the names of path that keep(path, name) keeps (it may
 * rewrite name in place, shorter). */
int audit_list_dir(const char *path, bool (*keep)(const char *dir, char *name),
		   char ***names, size_t *n);

#endif

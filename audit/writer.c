/*
 * The audit writer: one thread that copies every tenant's event stream,
 * in stream order, into that tenant's hash-chained day files
 * (audit_int.h, docs/audit.md).
 *
 * The file is the source of truth for where the writer stopped: on start
 * it reads the last line of the newest file (its seq, hash and stream
 * cursor) and asks Redis for what follows that cursor. An entry counts as
 * recorded once the file holding it was fsync'ed (and its directory, when
 * the file was new); a crash before that leaves at most a line without
 * its newline at the end (a torn write), which the next start cuts off
 * and keeps beside the file as <day>.jsonl.torn-<offset>, then writes the
 * event again from Redis. So nothing is written twice and nothing is
 * skipped: the one exception, a stream trimmed past the cursor while the
 * writer was behind, is written down as a "gap" entry and logged as an
 * error.
 *
 * One process writes a tenant's directory at a time: it holds flock() on
 * <dir>/<tenant>/.lock for as long as it writes there; another instance
 * sharing the directory stands by and takes over when the lock frees.
 */
#include "audit_int.h"
#include "sekisho/audit.h"
#include "sekisho/config.h"
#include "sekisho/err.h"
#include "sekisho/event.h"
#include "sekisho/keys.h"
#include "sekisho/keystore.h"
#include "sekisho/log.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 500   /* events read from Redis at a time */
#define POLL_MS 500 /* between polls of a quiet log */
#define RETRY_S 5   /* before opening a tenant again after a failure */
#define RETENTION_EVERY_S 3600
#define LOCK_FILE ".lock"

struct tenant {
	const char *id; /* borrowed from the configuration */
	char *path;	/* audit.dir/<id> */
	int dirfd, lockfd, fd;
	bool ready;		     /* lock held, state read from the files */
	char day[AUDIT_DAY_LEN + 1]; /* of fd; "" when no file yet */
	int64_t seq;
	char head[AUDIT_HASH_LEN + 1];
	char cursor[SK_EVENT_CURSOR_MAX];
	/* The stream ordinal (1 = its first event ever, as XINFO's
	 * entries-added counts) of the last event recorded; 0: none. */
	int64_t n;
	int64_t last_ms;  /* time of the last entry */
	int64_t since_cp; /* entries since a checkpoint */
	int64_t cp_at_us; /* monotonic, last checkpoint */
	bool need_cp;
	bool caught_up; /* nothing waited in the stream at the last poll */
	int64_t retry_at_us;
	bool told_busy;
	/* Read by the metrics (under state.stats). */
	uint64_t written, errors, gaps;
	int64_t lag, last_error_at;
	bool holding; /* ready, as the metrics see it */
};

static struct {
	const struct sk_config *cfg;
	struct tenant *t;
	size_t n;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* stopping, cond */
	pthread_cond_t cond;
	bool stopping;
	pthread_mutex_t stats;
} state = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .stats = PTHREAD_MUTEX_INITIALIZER,
};

static void
stat_error(struct tenant *t)
{
	pthread_mutex_lock(&state.stats);
	t->errors++;
	t->last_error_at = sk_wall_s();
	pthread_mutex_unlock(&state.stats);
}

static void
stat_set(struct tenant *t, uint64_t written, int64_t lag)
{
	pthread_mutex_lock(&state.stats);
	t->written += written;
	if (lag >= 0)
		t->lag = lag;
	pthread_mutex_unlock(&state.stats);
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return SK_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The time of an entry that is not an event (checkpoint, gap, retention):
 * at (ms) when the caller knows where the chain stands (the time of the
 * next event waiting, while catching up), else Redis's clock (at < 0);
 * never before the last entry. Entries' times only grow (the verifier
 * checks it), and an event's day is its own: a backlog of yesterday's
 * events still goes into yesterday's file.
 */
static int
entry_time(const struct tenant *t, int64_t at, int64_t *ms)
{
	int64_t s;
	int r;

	if (at < 0) {
		if ((r = sk_keystore_time(&s)) != 0)
			return r;
		at = s * 1000;
	}
	*ms = at > t->last_ms ? at : t->last_ms;
	return 0;
}

/* ---- files ---- */

static void
tenant_close(struct tenant *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->lockfd >= 0)
		close(t->lockfd); /* releases the flock */
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->fd = t->lockfd = t->dirfd = -1;
	t->ready = false;
	pthread_mutex_lock(&state.stats);
	t->holding = false;
	pthread_mutex_unlock(&state.stats);
}

/* A failure: closed, opened again later from what the files hold. */
static void
tenant_fail(struct tenant *t, const char *what, int r)
{
	sk_error("audit: %s: %s: %s; writing stops until it can start "
		 "again from its files",
		 t->id, what, r == SK_ERR_IO ? strerror(errno) : sk_err_str(r));
	stat_error(t);
	tenant_close(t);
	t->retry_at_us = sk_monotonic_us() + RETRY_S * 1000000LL;
}

static int
mkdir_synced(const char *path)
{
	char *parent, *slash;
	int fd, r = 0;

	if (mkdir(path, 0700) != 0)
		return errno == EEXIST ? 0 : SK_ERR_IO;
	/* The new name must survive a crash as much as the files in it. */
	if ((parent = strdup(path)) == NULL)
		return SK_ERR_NOMEM;
	if ((slash = strrchr(parent, '/')) != NULL)
		*(slash == parent ? slash + 1 : slash) = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0)
		r = SK_ERR_IO;
	if (fd >= 0)
		close(fd);
	free(parent);
	return r;
}

/*
 * Cuts a torn last line (bytes after the last newline) off the file at
 * fd, keeping them in <name>.torn-<offset> for whoever looks into it.
 * *size is the file's new size.
 */
static int
cut_torn(struct tenant *t, const char *name, int fd, off_t *size)
{
	char *buf = NULL, keep[64];
	off_t from, end = *size;
	size_t len;
	ssize_t got;
	int kfd = -1, r = SK_ERR_IO;

	from = end > AUDIT_LINE_MAX ? end - AUDIT_LINE_MAX : 0;
	len = (size_t)(end - from);
	if ((buf = malloc(len)) == NULL)
		return SK_ERR_NOMEM;
	if ((got = pread(fd, buf, len, from)) != (ssize_t)len)
		goto out;
	while (len > 0 && buf[len - 1] != '\n')
		len--;
	if (len == 0 && from > 0) {
		errno = EFBIG;
		goto out; /* a "line" longer than any entry: not ours */
	}
	snprintf(keep, sizeof(keep), "%s.torn-%lld", name,
		 (long long)(from + (off_t)len));
	if ((kfd = openat(t->dirfd, keep,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) <
		0 ||
	    write_all(kfd, buf + len, (size_t)(got - (ssize_t)len)) != 0 ||
	    fsync(kfd) != 0)
		goto out;
	if (ftruncate(fd, from + (off_t)len) != 0 || fsync(fd) != 0 ||
	    fsync(t->dirfd) != 0)
		goto out;
	sk_warn("audit: %s/%s: cut %lld bytes of a torn last line (a write "
		"that never completed; kept in %s); the events are written "
		"again from Redis",
		t->id, name, (long long)(got - (ssize_t)len), keep);
	*size = from + (off_t)len;
	r = 0;
out:
	if (kfd >= 0)
		close(kfd);
	free(buf);
	return r;
}

/* The last line of the file at fd (size bytes, ending with a newline). */
static int
last_line(int fd, off_t size, char **line, size_t *len)
{
	off_t from = size > AUDIT_LINE_MAX ? size - AUDIT_LINE_MAX : 0;
	size_t n = (size_t)(size - from), i;
	char *buf;

	*line = NULL;
	if ((buf = malloc(n + 1)) == NULL)
		return SK_ERR_NOMEM;
	if (pread(fd, buf, n, from) != (ssize_t)n) {
		free(buf);
		return SK_ERR_IO;
	}
	n--; /* the newline */
	for (i = n; i > 0 && buf[i - 1] != '\n'; i--)
		;
	if (i == 0 && from > 0) {
		free(buf);
		return SK_ERR_TOO_LARGE;
	}
	memmove(buf, buf + i, n - i);
	buf[n - i] = '\0';
	*line = buf;
	*len = n - i;
	return 0;
}

/* Reads the chain's state from the newest file (see the top comment). */
static int
resume(struct tenant *t, char **days, size_t ndays)
{
	struct audit_entry e;
	const char *why;
	char name[AUDIT_DAY_LEN + sizeof(AUDIT_SUFFIX)], *line = NULL;
	size_t len, i;
	off_t size;
	int fd = -1, r;

	for (i = ndays; i-- > 0;) {
		snprintf(name, sizeof(name), "%s%s", days[i], AUDIT_SUFFIX);
		if ((fd = openat(t->dirfd, name,
				 O_RDWR | O_APPEND | O_CLOEXEC)) < 0 ||
		    (size = lseek(fd, 0, SEEK_END)) < 0)
			goto io;
		if (size > 0) {
			char c;
			if (pread(fd, &c, 1, size - 1) != 1)
				goto io;
			if (c != '\n' &&
			    (r = cut_torn(t, name, fd, &size)) != 0)
				goto fail;
		}
		if (size > 0)
			break;
		/* Nothing recorded in it (created just before a crash). */
		close(fd);
		fd = -1;
		if (unlinkat(t->dirfd, name, 0) != 0 || fsync(t->dirfd) != 0)
			return SK_ERR_IO;
	}
	if (fd < 0) {
		/* A new chain (or every file was empty). */
		t->seq = 0;
		memcpy(t->head, AUDIT_ZERO_HASH, sizeof(t->head));
		snprintf(t->cursor, sizeof(t->cursor), "0-0");
		t->n = 0;
		t->day[0] = '\0';
		t->last_ms = 0;
		return 0;
	}
	if ((r = last_line(fd, size, &line, &len)) != 0)
		goto fail;
	if (audit_entry_parse(line, len, &e, &why) != 0) {
		sk_error(
		    "audit: %s/%s: the last line is %s: refusing to append "
		    "after it (run sekishoctl audit verify)",
		    t->id, name, why);
		r = SK_ERR_INVALID;
		goto fail;
	}
	if (strncmp(e.time, days[i], AUDIT_DAY_LEN) != 0) {
		sk_error("audit: %s/%s: the last line's time %s is not of the "
			 "file's day: refusing to append after it",
			 t->id, name, e.time);
		audit_entry_clear(&e);
		r = SK_ERR_INVALID;
		goto fail;
	}
	t->seq = e.seq;
	sk_sha256_hex(line, len, t->head);
	snprintf(t->cursor, sizeof(t->cursor), "%s", e.cursor);
	t->n = json_integer_value(json_object_get(e.obj, "n"));
	memcpy(t->day, days[i], sizeof(t->day));
	t->last_ms = audit_time_ms(e.time);
	/*
	 * Every start signs the head it found, announcing the
	 * checkpoint_every now configured: the verifier holds each run of
	 * entries to the bound its checkpoint announced, and the setting may
	 * have changed since the last one.
	 */
	t->need_cp = true;
	audit_entry_clear(&e);
	free(line);
	t->fd = fd;
	return 0;
io:
	r = SK_ERR_IO;
fail:
	free(line);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Takes the tenant's lock and reads where its chain stands. */
static int
tenant_open(struct tenant *t)
{
	char **days = NULL;
	size_t ndays = 0;
	int r;

	if ((r = mkdir_synced(state.cfg->audit.dir)) != 0 ||
	    (r = mkdir_synced(t->path)) != 0)
		return r;
	if ((t->dirfd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		0 ||
	    (t->lockfd = openat(t->dirfd, LOCK_FILE,
				O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		r = SK_ERR_IO;
		goto out;
	}
	if (flock(t->lockfd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ? SK_ERR_BUSY : SK_ERR_IO;
		goto out;
	}
	if ((r = audit_list_days(t->path, &days, &ndays)) != 0 ||
	    (r = resume(t, days, ndays)) != 0)
		goto out;
	t->since_cp = 0;
	t->cp_at_us = sk_monotonic_us();
	t->caught_up = false;
	t->ready = true;
	pthread_mutex_lock(&state.stats);
	t->holding = true;
	pthread_mutex_unlock(&state.stats);
	if (t->told_busy)
		sk_info("audit: %s: the lock is ours now; writing", t->id);
	t->told_busy = false;
	sk_info("audit: %s: writing %s (seq %lld, after stream entry %s)",
		t->id, t->path, (long long)t->seq, t->cursor);
out:
	audit_strv_free(&days, ndays);
	if (r != 0) {
		int saved = errno;
		tenant_close(t);
		errno = saved;
	}
	return r;
}

/* Starts the file of day (and syncs the directory that now names it). */
static int
roll(struct tenant *t, const char *day)
{
	char name[AUDIT_DAY_LEN + sizeof(AUDIT_SUFFIX)];
	int fd;

	if (t->fd >= 0) {
		/* The finished day: synced before the next one exists. */
		if (fsync(t->fd) != 0)
			return SK_ERR_IO;
		close(t->fd);
		t->fd = -1;
	}
	snprintf(name, sizeof(name), "%s%s", day, AUDIT_SUFFIX);
	if ((fd = openat(t->dirfd, name,
			 O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
			 0600)) < 0)
		return SK_ERR_IO;
	t->fd = fd;
	if (fsync(t->dirfd) != 0)
		return SK_ERR_IO;
	memcpy(t->day, day, AUDIT_DAY_LEN + 1);
	return 0;
}

/*
 * Appends one entry: seq, prev, time (ms), kind, cursor and n (the stream
 * position recorded up to), then the members of extra (taken over, even
 * on error). Written, not yet synced.
 */
static int
append(struct tenant *t, int64_t ms, enum audit_kind kind, const char *cursor,
       int64_t n, json_t *extra)
{
	char time[32], day[AUDIT_DAY_LEN + 1];
	char *line = NULL;
	json_t *o;
	size_t len;
	int r = SK_ERR_NOMEM;

	audit_time_fmt(ms, time);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "seq",
		      (json_int_t)t->seq + 1, "prev", t->head, "time", time,
		      "kind", audit_kind_name(kind), "cursor", cursor, "n",
		      (json_int_t)n);
	if (o == NULL || (extra != NULL && json_object_update(o, extra) != 0) ||
	    (line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	memcpy(day, time, AUDIT_DAY_LEN);
	day[AUDIT_DAY_LEN] = '\0';
	if (strcmp(day, t->day) < 0) {
		r = SK_ERR_INTERNAL; /* time went back: never written */
		goto out;
	}
	if (strcmp(day, t->day) != 0 && (r = roll(t, day)) != 0)
		goto out;
	len = strlen(line);
	line[len] = '\n'; /* one write: a crash leaves the line or a part */
	r = write_all(t->fd, line, len + 1);
	line[len] = '\0';
	if (r != 0)
		goto out;
	t->seq++;
	sk_sha256_hex(line, len, t->head);
	t->last_ms = ms;
	if (strcmp(cursor, t->cursor) != 0)
		snprintf(t->cursor, sizeof(t->cursor), "%s", cursor);
	t->n = n;
	t->since_cp = kind == AUDIT_CHECKPOINT ? 0 : t->since_cp + 1;
out:
	free(line);
	json_decref(o);
	json_decref(extra);
	return r;
}

/* Signs the chain head: a checkpoint entry with a JWS over it, at (see
 * entry_time()). */
static int
checkpoint(struct tenant *t, int64_t at)
{
	json_t *claims;
	char *jws = NULL;
	int64_t ms, now;
	int r;

	if (t->seq == 0) {
		t->need_cp = false;
		return 0;
	}
	/* iat: Redis's clock, the one every instance shares. */
	if ((r = sk_keystore_time(&now)) != 0 ||
	    (r = entry_time(t, at, &ms)) != 0)
		return r;
	claims = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "iss",
			   state.cfg->public_url, "tenant", t->id, "seq",
			   (json_int_t)t->seq, "head", t->head, "every",
			   (json_int_t)state.cfg->audit.checkpoint_every, "iat",
			   (json_int_t)now);
	if (claims == NULL)
		return SK_ERR_NOMEM;
	r = sk_keys_sign_typ(AUDIT_CP_TYP, claims, &jws);
	json_decref(claims);
	if (r != 0)
		return r;
	r = append(t, ms, AUDIT_CHECKPOINT, t->cursor, t->n,
		   json_pack("{s:s}", "jws", jws));
	free(jws);
	if (r != 0)
		return r;
	t->need_cp = false;
	t->cp_at_us = sk_monotonic_us();
	return 0;
}

static bool
checkpoint_due(const struct tenant *t)
{
	return t->need_cp || t->since_cp >= state.cfg->audit.checkpoint_every ||
	       (t->since_cp > 0 &&
		sk_monotonic_us() - t->cp_at_us >=
		    state.cfg->audit.checkpoint_interval * 1000000LL);
}

/* fsync: from here on the entries count as recorded. */
static int
sync_file(struct tenant *t)
{
	return t->fd >= 0 && fsync(t->fd) != 0 ? SK_ERR_IO : 0;
}

/* "<ms>-<seq>": the ms. */
static int64_t
cursor_ms(const char *c)
{
	return strtoll(c, NULL, 10);
}

/*
 * The ordinal of the first event read (ev0, after the cursor), and how
 * many events before it were trimmed away unwritten. Only the stream's
 * head is ever trimmed (MAXLEN), so the kept entries have the ordinals
 * added - length + 1 .. added: when ev0 is the oldest kept entry, its
 * ordinal is that first one, and any ordinal between ours and it is an
 * event lost; when it is not, the entry before it is one already written
 * and nothing was lost.
 */
static int64_t
first_ordinal(const struct tenant *t, const struct sk_event_stream *st,
	      const char *ev0, int64_t *lost)
{
	int64_t f = st->added - st->length + 1;

	*lost = 0;
	if (strcmp(ev0, st->first) != 0)
		return t->n + 1;
	if (f > t->n + 1)
		*lost = f - t->n - 1;
	else if (f < t->n + 1 && t->n > 0)
		sk_warn("audit: %s: the event stream counts from %lld again "
			"(was it deleted or restored? events Redis lost "
			"before they were written cannot be told)",
			t->id, (long long)f);
	return f;
}

/*
 * One pass over a tenant: open it if needed, read what follows the
 * cursor, note a trimmed stream, write the events, sign when due. *more
 * when it should be polled again at once.
 */
static void
poll_tenant(struct tenant *t, bool *more)
{
	struct sk_event_stream st;
	json_t *evs = NULL, *ev;
	int64_t seq0, at, ord, lost;
	const char *c0;
	size_t i = 0, n;
	int r;

	if (!t->ready) {
		if (sk_monotonic_us() < t->retry_at_us)
			return;
		if ((r = tenant_open(t)) != 0) {
			if (r == SK_ERR_BUSY && !t->told_busy)
				sk_info("audit: %s: another process writes %s; "
					"standing by",
					t->id, t->path);
			else if (r != SK_ERR_BUSY)
				tenant_fail(t, "cannot open its files", r);
			t->told_busy = r == SK_ERR_BUSY;
			/* A bad last line waits for a person: said less often.
			 */
			t->retry_at_us =
			    sk_monotonic_us() +
			    (r == SK_ERR_INVALID ? 60 : RETRY_S) * 1000000LL;
			return;
		}
	}
	seq0 = t->seq;
	if ((r = sk_event_read(t->id, t->cursor, BATCH, &st, &evs)) != 0) {
		stat_error(t);
		return;
	}
	n = json_array_size(evs);
	t->caught_up = n == 0;
	if (n == 0) {
		r = checkpoint_due(t) ? checkpoint(t, -1) : 0;
		if (r == 0)
			r = sync_file(t);
		if (r != 0)
			tenant_fail(t, "checkpoint", r);
		else
			stat_set(t, (uint64_t)(t->seq - seq0), 0);
		goto out;
	}
	c0 = json_string_value(
	    json_object_get(json_array_get(evs, 0), "cursor"));
	/* Where the chain stands: the first event waiting. */
	at = cursor_ms(c0);
	ord = first_ordinal(t, &st, c0, &lost);
	/* Trimmed before they were written: said in the chain, loudly. */
	if (lost > 0) {
		int64_t ms;
		sk_error("audit: %s: GAP: %lld event%s after stream entry %s "
			 "were trimmed from Redis before the audit log "
			 "recorded them; recorded as a gap entry",
			 t->id, (long long)lost, lost == 1 ? "" : "s",
			 t->cursor);
		/* Each entry keeps the bound on a run (the verifier's). */
		if ((checkpoint_due(t) && (r = checkpoint(t, at)) != 0) ||
		    (r = entry_time(t, at, &ms)) != 0 ||
		    (r = append(t, ms, AUDIT_GAP, t->cursor, ord - 1,
				json_pack("{s:s, s:s, s:I}", "after", t->cursor,
					  "next", c0, "lost",
					  (json_int_t)lost))) != 0) {
			tenant_fail(t, "gap entry", r);
			goto out;
		}
		t->need_cp = true;
		pthread_mutex_lock(&state.stats);
		t->gaps++;
		pthread_mutex_unlock(&state.stats);
		stat_error(t);
	}
	stat_set(t, 0, st.added - ord + 1);
	json_array_foreach(evs, i, ev) {
		const char *c =
		    json_string_value(json_object_get(ev, "cursor"));
		if (c == NULL || sk_event_cursor_cmp(c, t->cursor) <= 0) {
			r = SK_ERR_STORE; /* cannot be: XRANGE gave what follows
					   */
			break;
		}
		/* Due checkpoints take the time of the event they precede. */
		if (checkpoint_due(t) && (r = checkpoint(t, cursor_ms(c))) != 0)
			break;
		if ((r = append(t,
				cursor_ms(c) > t->last_ms ? cursor_ms(c)
							  : t->last_ms,
				AUDIT_EVENT, c, ord + (int64_t)i,
				json_pack("{s:O}", "event", ev))) != 0)
			break;
	}
	/* Signed at once: the gap (or a full run) is covered; while more
	 * events wait, at the chain's time, not the clock's. */
	if (r == 0 && checkpoint_due(t))
		r = checkpoint(t, n == BATCH ? t->last_ms : -1);
	if (r == 0)
		r = sync_file(t);
	if (r != 0) {
		tenant_fail(t, "write", r);
		goto out;
	}
	stat_set(t, (uint64_t)(t->seq - seq0),
		 st.added > t->n ? st.added - t->n : 0);
	*more = *more || n == BATCH;
out:
	json_decref(evs);
}

/* ---- retention ---- */

/* The seq and prev of the first line of a day's file. */
static int
first_entry(struct tenant *t, const char *day, int64_t *seq, char *prev)
{
	char name[AUDIT_DAY_LEN + sizeof(AUDIT_SUFFIX)], *line = NULL;
	struct audit_entry e;
	const char *why;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd, r = SK_ERR_INVALID;

	snprintf(name, sizeof(name), "%s%s", day, AUDIT_SUFFIX);
	if ((fd = openat(t->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return SK_ERR_IO;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return SK_ERR_IO;
	}
	if ((n = getline(&line, &cap, f)) > 1 && line[n - 1] == '\n' &&
	    audit_entry_parse(line, (size_t)n - 1, &e, &why) == 0) {
		*seq = e.seq;
		memcpy(prev, e.prev, AUDIT_HASH_LEN + 1);
		audit_entry_clear(&e);
		r = 0;
	}
	free(line);
	fclose(f);
	return r;
}

/*
 * Removes whole days older than audit.retention (never the newest file:
 * the chain goes on from it). The record comes first and is signed, then
 * the files go: a crash in between leaves files the record says are
 * gone, which the next run removes (and records again); never files gone
 * without a record.
 */
static void
retention(struct tenant *t)
{
	char **days = NULL, prev[AUDIT_HASH_LEN + 1];
	char name[AUDIT_DAY_LEN + sizeof(AUDIT_SUFFIX)];
	json_t *removed = NULL;
	size_t ndays = 0, k, i;
	int64_t now, seq, ms, seq0;
	int r;

	/* Only once caught up: the record takes the clock's time, which
	 * must not pass events still waiting to be written. */
	if (!t->ready || !t->caught_up || state.cfg->audit.retention <= 0)
		return;
	if ((r = sk_keystore_time(&now)) != 0 ||
	    (r = audit_list_days(t->path, &days, &ndays)) != 0)
		goto out;
	for (k = 0; k + 1 < ndays && audit_day_start(days[k]) + 86400 +
					     state.cfg->audit.retention <=
					 now;
	     k++)
		;
	if (k == 0)
		goto out;
	if ((r = first_entry(t, days[k], &seq, prev)) != 0) {
		sk_error("audit: %s: retention: the first line of %s%s is not "
			 "an entry; nothing removed",
			 t->id, days[k], AUDIT_SUFFIX);
		stat_error(t);
		goto out;
	}
	r = SK_ERR_NOMEM;
	if ((removed = json_array()) == NULL)
		goto out;
	for (i = 0; i < k; i++) {
		snprintf(name, sizeof(name), "%s%s", days[i], AUDIT_SUFFIX);
		if (json_array_append_new(removed, json_string(name)) != 0)
			goto out;
	}
	snprintf(name, sizeof(name), "%s%s", days[k], AUDIT_SUFFIX);
	seq0 = t->seq;
	if ((checkpoint_due(t) && (r = checkpoint(t, -1)) != 0) ||
	    (r = entry_time(t, -1, &ms)) != 0 ||
	    (r = append(t, ms, AUDIT_RETENTION, t->cursor, t->n,
			json_pack("{s:O, s:{s:s, s:I, s:s}, s:I}", "removed",
				  removed, "first", "file", name, "seq",
				  (json_int_t)seq, "prev", prev, "retention",
				  (json_int_t)state.cfg->audit.retention))) !=
		0 ||
	    (r = checkpoint(t, -1)) != 0 || (r = sync_file(t)) != 0) {
		tenant_fail(t, "retention record", r);
		goto out;
	}
	stat_set(t, (uint64_t)(t->seq - seq0), -1);
	for (i = 0; i < k; i++) {
		snprintf(name, sizeof(name), "%s%s", days[i], AUDIT_SUFFIX);
		if (unlinkat(t->dirfd, name, 0) != 0 && errno != ENOENT) {
			sk_error("audit: %s: retention: cannot remove %s: %s",
				 t->id, name, strerror(errno));
			stat_error(t);
		}
	}
	if (fsync(t->dirfd) != 0)
		stat_error(t);
	sk_info("audit: %s: retention: removed %zu day file%s (%s to %s); "
		"recorded as seq %lld",
		t->id, k, k == 1 ? "" : "s", days[0], days[k - 1],
		(long long)t->seq - 1);
out:
	json_decref(removed);
	audit_strv_free(&days, ndays);
}

/* ---- the thread ---- */

static bool
wait_stop(int ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&state.lock);
	if (!state.stopping)
		pthread_cond_timedwait(&state.cond, &state.lock, &ts);
	stop = state.stopping;
	pthread_mutex_unlock(&state.lock);
	return stop;
}

static void *
writer_main(void *arg)
{
	int64_t next_retention = 0;
	bool more;
	size_t i;

	(void)arg;
	for (;;) {
		more = false;
		for (i = 0; i < state.n; i++)
			poll_tenant(&state.t[i], &more);
		if (sk_monotonic_us() >= next_retention) {
			for (i = 0; i < state.n; i++)
				retention(&state.t[i]);
			next_retention =
			    sk_monotonic_us() + RETENTION_EVERY_S * 1000000LL;
		}
		if (wait_stop(more ? 0 : POLL_MS))
			break;
	}
	/* What was written is signed and synced before the lock goes. */
	for (i = 0; i < state.n; i++) {
		struct tenant *t = &state.t[i];
		if (t->ready && t->since_cp > 0 &&
		    (checkpoint(t, t->caught_up ? -1 : t->last_ms) != 0 ||
		     sync_file(t) != 0))
			sk_warn("audit: %s: no checkpoint at stop; the next "
				"start signs the head",
				t->id);
		tenant_close(t);
	}
	sk_store_thread_close();
	return NULL;
}

int
sk_audit_start(const struct sk_config *cfg)
{
	size_t i;

	if (cfg->audit.dir == NULL || state.running)
		return SK_ERR_INVALID;
	/* A directory that cannot be made stops start-up, not every poll. */
	if (mkdir_synced(cfg->audit.dir) != 0) {
		sk_error("audit: %s: cannot create it: %s", cfg->audit.dir,
			 strerror(errno));
		return SK_ERR_IO;
	}
	state.cfg = cfg;
	state.n = cfg->ntenants;
	if ((state.t = calloc(state.n ? state.n : 1, sizeof(*state.t))) == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < state.n; i++) {
		struct tenant *t = &state.t[i];
		t->id = cfg->tenants[i].id;
		t->fd = t->lockfd = t->dirfd = -1;
		if (asprintf(&t->path, "%s/%s", cfg->audit.dir, t->id) < 0) {
			t->path = NULL;
			goto fail;
		}
	}
	state.stopping = false;
	pthread_mutex_lock(&state.stats);
	state.running = true;
	pthread_mutex_unlock(&state.stats);
	if (pthread_create(&state.thread, NULL, writer_main, NULL) != 0) {
		state.running = false;
		goto fail;
	}
	return 0;
fail:
	for (i = 0; i < state.n; i++)
		free(state.t[i].path);
	free(state.t);
	state.t = NULL;
	state.n = 0;
	return SK_ERR_NOMEM;
}

void
sk_audit_stop(void)
{
	size_t i;

	if (!state.running)
		return;
	pthread_mutex_lock(&state.lock);
	state.stopping = true;
	pthread_cond_signal(&state.cond);
	pthread_mutex_unlock(&state.lock);
	pthread_join(state.thread, NULL);
	pthread_mutex_lock(&state.stats);
	state.running = false;
	for (i = 0; i < state.n; i++)
		free(state.t[i].path);
	free(state.t);
	state.t = NULL;
	state.n = 0;
	pthread_mutex_unlock(&state.stats);
}

/* The writer's series, one line per tenant each. */
enum {
	M_ENTRIES,
	M_LAG,
	M_ERRORS,
	M_LAST_ERROR,
	M_GAPS,
	M_WRITING,
};
static const struct {
	const char *name, *type, *help;
} series[] = {
    [M_ENTRIES] = {"sekisho_audit_entries_total", "counter",
		   "Audit log entries written and synced by this instance."},
    [M_LAG] = {"sekisho_audit_lag_events", "gauge",
	       "Events in the stream not yet in the audit log (at the last "
	       "poll)."},
    [M_ERRORS] = {"sekisho_audit_errors_total", "counter",
		  "Audit writer failures (I/O, Redis, signing; gaps), each "
		  "logged."},
    [M_LAST_ERROR] = {"sekisho_audit_last_error_timestamp_seconds", "gauge",
		      "When the audit writer last failed (0: never)."},
    [M_GAPS] = {"sekisho_audit_gaps_total", "counter",
		"Gap entries written (events trimmed from Redis before they "
		"were written)."},
    [M_WRITING] = {"sekisho_audit_writing", "gauge",
		   "1 while this instance holds the tenant's audit directory "
		   "lock."},
};

static long long
series_value(const struct tenant *t, size_t m)
{
	switch (m) {
	case M_ENTRIES:
		return (long long)t->written;
	case M_LAG:
		return t->lag;
	case M_ERRORS:
		return (long long)t->errors;
	case M_LAST_ERROR:
		return t->last_error_at;
	case M_GAPS:
		return (long long)t->gaps;
	default:
		return t->holding ? 1 : 0;
	}
}

void
sk_audit_metrics(struct sk_buf *b)
{
	size_t i, m;

	pthread_mutex_lock(&state.stats);
	for (m = 0; state.running && m < SK_ARRAY_SIZE(series); m++) {
		sk_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", series[m].name,
			    series[m].help, series[m].name, series[m].type);
		for (i = 0; i < state.n; i++)
			sk_buf_addf(b, "%s{tenant=\"%s\"} %lld\n",
				    series[m].name, state.t[i].id,
				    series_value(&state.t[i], m));
	}
	pthread_mutex_unlock(&state.stats);
}

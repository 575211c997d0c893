/*
 * Secrets (client_secret, redis.password) are accepted only as a ${ENV}
 * reference or through the matching *_file key: an inline secret ends up
 * in backups, diffs and support tickets. Secret values never appear in
 * messages. Files holding secrets or keys pass sshd's StrictModes checks.
 */
#include "config_int.h"
#include "sekisho/err.h"
#include "sekisho/crypto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Stores a secret unless the other key of its pair already gave one. */
static int
store_secret(struct ctx *c, const struct kw *kw, yaml_node_t *n,
	     const char *key, void *obj, const char *v, const char *other)
{
	char **dst = cfg_field(obj, kw);

	if (*dst != NULL) {
		cfg_report(c, cfg_where(c, n), key,
			   "%s is also given (use only one of them)", other);
		return 0;
	}
	if (strlen(v) > SECRET_MAX_BYTES) {
		cfg_report(c, cfg_where(c, n), key,
			   "longer than %d bytes (not a secret)",
			   SECRET_MAX_BYTES);
		return 0;
	}
	if ((*dst = strdup(v)) == NULL)
		return SK_ERR_NOMEM;
	return 0;
}

/* Notes a secret file for cfg_check_secret_files(). */
static void
remember_secret_file(struct ctx *c, const char *key, int line, const char *path,
		     const struct stat *st)
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
int
cfg_kw_secret_env(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		  const char *key, void *obj)
{
	const char *v;
	char other[64];

	snprintf(other, sizeof(other), "%s_file", kw->name);
	if (n->type == YAML_SCALAR_NODE && !cfg_is_null(n) &&
	    strstr((const char *)n->data.scalar.value, "${") == NULL) {
		cfg_report(c, cfg_where(c, n), key,
			   "inline secrets are refused (use %s: PATH or %s: "
			   "\"${ENV_VAR}\")",
			   other, kw->name);
		return 0;
	}
	if (!cfg_get_scalar(c, n, key, true, &v, NULL))
		return 0;
	return store_secret(c, kw, n, key, obj, v, other);
}

int
cfg_kw_secret_file(struct ctx *c, const struct kw *kw, yaml_node_t *n,
		   const char *key, void *obj)
{
	const char *path;
	char other[64], *s = NULL;
	size_t len = strlen(kw->name);
	struct stat st;
	int r;

	snprintf(other, sizeof(other), "%.*s", (int)(len - 5), kw->name);
	if (!cfg_get_scalar(c, n, key, false, &path, NULL))
		return 0;
	errno = 0;
	r = sk_read_secret_file_stat(path, SECRET_MAX_BYTES, &s, &st);
	switch (r) {
	case 0:
		remember_secret_file(c, key, cfg_where(c, n), path, &st);
		break;
	case SK_ERR_NOMEM:
		return r;
	case SK_ERR_TOO_LARGE:
		cfg_report(
		    c, cfg_where(c, n), key,
		    "%s is larger than %d bytes (the file holds only the "
		    "secret)",
		    cfg_quote(c, path), SECRET_MAX_BYTES);
		return 0;
	case SK_ERR_INVALID:
		cfg_report(c, cfg_where(c, n), key,
			   "%s contains a NUL byte (the file holds only the "
			   "secret)",
			   cfg_quote(c, path));
		return 0;
	default:
		cfg_report(c, cfg_where(c, n), key, "cannot read %s: %s",
			   cfg_quote(c, path),
			   errno ? strerror(errno) : "not a regular file");
		return 0;
	}
	if (s[0] == '\0') {
		cfg_report(c, cfg_where(c, n), key,
			   "%s is empty (the file holds only the secret)",
			   cfg_quote(c, path));
		r = 0;
	} else {
		r = store_secret(c, kw, n, key, obj, s, other);
	}
	sk_strfreezero(s);
	return r;
}

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

void
cfg_check_secret_files(struct ctx *c)
{
	char why[256];
	size_t i;

	for (i = 0; i < c->nsfiles; i++) {
		const struct secret_file *f = &c->sfiles[i];
		if (!file_mode_ok(f->path, &f->st, c->cfg->strict_modes, why,
				  sizeof(why)))
			cfg_report(c, f->line, f->key, "%s: %s",
				   cfg_quote(c, f->path), why);
	}
}

/* Reads a key file for its checks; false when it could not be read. */
bool
cfg_read_key_file(struct ctx *c, const char *path, size_t max, int line,
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
		cfg_report(c, line, key, "%s is not a key file (%s)",
			   cfg_quote(c, path),
			   r == SK_ERR_TOO_LARGE ? "too large" : "a NUL byte");
		return false;
	}
	if (r != 0) {
		cfg_report(c, line, key, "cannot read %s: %s",
			   cfg_quote(c, path),
			   errno ? strerror(errno) : "not a regular file");
		return false;
	}
	/* Reported, and the content still checked: all problems at once. */
	if (!file_mode_ok(path, &st, c->cfg->strict_modes, why, sizeof(why)))
		cfg_report(c, line, key, "%s: %s", cfg_quote(c, path), why);
	return true;
}

/*
 * Fuzz target: an audit day file (audit/verify.c, docs/audit.md), as
 * `sekishoctl audit verify` and `export` read it from a directory that
 * anyone with write access may have changed. The input becomes one day's
 * file of a tenant (a second day, a copy of it, follows so that the walk
 * crosses a file boundary); the verifier must give a verdict, and export
 * print or skip each line, without crashing or leaking.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sekisho/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/sekisho-fuzz-audit-XXXXXX";

static int
put(const char *name, const uint8_t *data, size_t size)
{
	char path[256];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/t/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	r = fwrite(data, 1, size, f) == size ? 0 : -1;
	return fclose(f) == 0 ? r : -1;
}

/* The directory goes at exit: each replay run makes a new one. */
static void
cleanup(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/t/2026-12-01.jsonl", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t/2026-12-02.jsonl", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t", dir);
	rmdir(path);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *jwks;
	struct sk_audit_verify v = {.tenant = "t", .dir = dir};
	char path[256], *rep = NULL;
	size_t len;
	bool intact;

	if (jwks == NULL) {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/t", dir);
		if (mkdir(path, 0700) != 0)
			abort();
		jwks = json_pack("{s:[]}", "keys");
		atexit(cleanup);
	}
	v.jwks = jwks;
	if (put("2026-12-01.jsonl", data, size) != 0 ||
	    put("2026-12-02.jsonl", data, size) != 0)
		abort();
	if ((v.out = open_memstream(&rep, &len)) == NULL)
		abort();
	(void)sk_audit_verify_tenant(&v, &intact);
	v.from = "2026-12-02";
	(void)sk_audit_verify_tenant(&v, &intact);
	(void)sk_audit_export(dir, "t", "2026-12-01", NULL, v.out);
	fclose(v.out);
	free(rep);
	return 0;
}

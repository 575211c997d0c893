/*
 * Allocation-failure torture (tools/torture.sh), as curl's: linked into the
 * unit tests with -Wl,--wrap for malloc, calloc, realloc, strdup and
 * strndup, so every allocation made by Sekisho's code (and the test's) goes
 * through here; allocations inside shared libraries (jansson, OpenSSL...)
 * do not. It counts the allocations and, with SK_TORTURE_FAIL=N in the
 * environment, fails the Nth one (and only that one) as out of memory.
 * With SK_TORTURE_COUNT=FILE it writes the count to FILE at exit.
 * Without either variable it only counts: the tests behave as usual.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t nmemb, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t nmemb, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_ulong count;
static unsigned long fail_at; /* 0: never */

static void
report(void)
{
	const char *path = getenv("SK_TORTURE_COUNT");
	FILE *f;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%lu\n", (unsigned long)atomic_load(&count));
	fclose(f);
}

__attribute__((constructor)) static void
torture_init(void)
{
	const char *v = getenv("SK_TORTURE_FAIL");
	char *end;

	if (v != NULL) {
		fail_at = strtoul(v, &end, 10);
		if (*end != '\0')
			fail_at = 0;
	}
	atexit(report);
}

/* Is this allocation the one to fail? */
static int
fail_now(void)
{
	unsigned long n = atomic_fetch_add(&count, 1) + 1;

	if (fail_at == 0 || n != fail_at)
		return 0;
	errno = ENOMEM;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t nmemb, size_t n)
{
	return fail_now() ? NULL : __real_calloc(nmemb, n);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	return fail_now() ? NULL : __real_strndup(s, n);
}

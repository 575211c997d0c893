/*
 * Unit tests for common/opts.c (the option parser of sekisho and
 * sekishoctl) and common/err.c:
 * - short and long options, flags and arguments, "--name=value"
 * - stop at the first operand (a command's own arguments) or not
 * - unknown options and missing arguments are refused, not skipped
 * - a table over SK_OPTS_MAX is refused
 * - the usage lists every option with help, aligned, and no other
 * - every SK_ERR_* code has its own message
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sekisho/err.h"
#include "sekisho/opts.h"

static const struct sk_opt tab[] = {
    {'c', "config", "FILE", "configuration file"},
    {'t', "test", NULL, "check the configuration and exit"},
    {0, "delay", "SECONDS", "how long to wait"},
    {'q', NULL, NULL, NULL},
};
#define NTAB (sizeof(tab) / sizeof(tab[0]))

/* Parses argv (NULL-terminated); the indexes seen go to got[] ("c=FILE"
 * for an argument), -2 ends it. Returns what the last sk_opts_next()
 * returned; *first is optind after it. */
static int
parse(char **argv, bool stop, char got[][64], size_t *ngot, int *first)
{
	struct sk_opts o;
	const char *arg;
	int argc = 0, i;

	while (argv[argc] != NULL)
		argc++;
	assert_int_equal(sk_opts_start(&o, tab, NTAB, stop), 0);
	*ngot = 0;
	while ((i = sk_opts_next(&o, argc, argv, &arg)) >= 0) {
		snprintf(got[*ngot], 64, "%d=%s", i, arg ? arg : "");
		(*ngot)++;
	}
	*first = optind;
	return i;
}

static void
test_short_long_and_arguments(void **state)
{
	char a0[] = "sekisho", a1[] = "-c", a2[] = "/etc/s.yaml", a3[] = "-t",
	     a4[] = "--delay=30", a5[] = "--config", a6[] = "x", a7[] = "-q";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, NULL};
	char got[8][64];
	size_t n;
	int first;

	(void)state;
	assert_int_equal(parse(argv, false, got, &n, &first), -1);
	assert_int_equal(n, 5);
	assert_string_equal(got[0], "0=/etc/s.yaml");
	assert_string_equal(got[1], "1=");
	assert_string_equal(got[2], "2=30");
	assert_string_equal(got[3], "0=x");
	assert_string_equal(got[4], "3=");
	assert_int_equal(first, 8);
}

static void
test_stop_at_first_operand(void **state)
{
	char a0[] = "sekishoctl", a1[] = "-c", a2[] = "f", a3[] = "keys",
	     a4[] = "rotate", a5[] = "-t";
	char *argv[] = {a0, a1, a2, a3, a4, a5, NULL};
	char got[8][64];
	size_t n;
	int first;

	(void)state;
	assert_int_equal(parse(argv, true, got, &n, &first), -1);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], "0=f");
	/* The command and its own "-t" are left for the command. */
	assert_int_equal(first, 3);
	assert_string_equal(argv[first], "keys");
}

static void
test_refusals(void **state)
{
	char a0[] = "sekisho", u1[] = "--nope", m1[] = "-c", l1[] = "--delay",
	     q1[] = "-q=1";
	char *unknown[] = {a0, u1, NULL};
	char *missing[] = {a0, m1, NULL};
	char *missing_long[] = {a0, l1, NULL};
	char got[8][64];
	size_t n;
	int first;

	(void)state;
	opterr = 0; /* keep getopt's own line off the test output */
	assert_int_equal(parse(unknown, false, got, &n, &first), -2);
	assert_int_equal(parse(missing, false, got, &n, &first), -2);
	assert_int_equal(parse(missing_long, false, got, &n, &first), -2);
	/* "-q=1" is -q then -= (unknown), never a value for a flag. */
	{
		char *flagval[] = {a0, q1, NULL};

		assert_int_equal(parse(flagval, false, got, &n, &first), -2);
	}
	opterr = 1;
}

static void
test_table_too_large(void **state)
{
	struct sk_opt big[SK_OPTS_MAX + 1];
	struct sk_opts o;
	size_t i;

	(void)state;
	for (i = 0; i < SK_OPTS_MAX + 1; i++)
		big[i] = (struct sk_opt){(int)('a' + i), NULL, NULL, "x"};
	assert_int_equal(sk_opts_start(&o, big, SK_OPTS_MAX + 1, false),
			 SK_ERR_INVALID);
	assert_int_equal(sk_opts_start(&o, big, SK_OPTS_MAX, false), 0);
}

static void
test_usage(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	sk_opts_usage(f, "usage: sekisho [options]", tab, NTAB);
	fclose(f);
	assert_non_null(strstr(text, "usage: sekisho [options]"));
	assert_non_null(strstr(text, "-c, --config FILE"));
	assert_non_null(strstr(text, "configuration file"));
	assert_non_null(strstr(text, "--delay SECONDS"));
	assert_non_null(strstr(text, "check the configuration and exit"));
	/* An option without help is not listed. */
	assert_null(strstr(text, "-q"));
	free(text);
}

static void
test_err_strings(void **state)
{
	const char *seen[64];
	int e, n = 0, i;

	(void)state;
	assert_string_equal(sk_err_str(SK_OK), "success");
	for (e = -1; e >= SK_ERR__LAST; e--) {
		const char *s = sk_err_str(e);

		assert_non_null(s);
		assert_true(s[0] != '\0');
		for (i = 0; i < n; i++)
			assert_string_not_equal(seen[i], s);
		seen[n++] = s;
	}
	/* Unknown codes get a message too, never NULL. */
	assert_non_null(sk_err_str(SK_ERR__LAST - 1));
	assert_non_null(sk_err_str(12345));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_long_and_arguments),
	    cmocka_unit_test(test_stop_at_first_operand),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_table_too_large),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_err_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

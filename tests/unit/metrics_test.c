/*
 * Unit tests for broker/metrics.c:
 * - every route index up to the size given to sk_metrics_init() is counted
 *   (it used to stop at a fixed 32), out-of-range indices are ignored
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker_int.h"
#include "sekisho/err.h"

struct sk_daemon sk_daemon;

static void
test_many_routes(void **state)
{
	char *out = NULL;
	int r, n = 80, total = 0;
	const char *p;

	(void)state;
	assert_int_equal(sk_metrics_init(n), 0);
	for (r = 0; r < n; r++)
		sk_metrics_request(r, 200, 100);
	sk_metrics_request(n, 200, 100);  /* out of range: ignored */
	sk_metrics_request(-1, 200, 100); /* likewise */
	assert_int_equal(sk_metrics_render(&out), 0);
	/* Route names come from the real table: indices past it are all
	   "other"; count every 200 sample line's value. */
	for (p = out; (p = strstr(p, "status=\"200\"} ")) != NULL; p++)
		total += (int)strtol(p + strlen("status=\"200\"} "), NULL, 10);
	assert_int_equal(total, n);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Redis memory per session: creates N sessions through the real code path
 * (sk_session_create: the session hash plus the user's session index) and
 * prints the growth of Redis's used_memory divided by N.
 *
 *   session_bench unix:///path/redis.sock N
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/config.h"
#include "sekisho/session.h"
#include "sekisho/store.h"
#include "sekisho/util.h"

static long long
used_memory(void)
{
	int64_t v;

	return sk_store_used_memory(&v) == 0 ? (long long)v : -1;
}

int
main(int argc, char **argv)
{
	struct sk_config cfg;
	struct sk_session s;
	char uid[32], *sid = NULL;
	long long before, after;
	long i, n;

	if (argc != 3 || strncmp(argv[1], "unix://", 7) != 0) {
		fprintf(stderr,
			"usage: session_bench unix:///path/redis.sock N\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	memset(&cfg, 0, sizeof(cfg));
	cfg.redis.unix_path = argv[1] + 7;
	cfg.redis.connect_timeout_ms = 1000;
	cfg.redis.command_timeout_ms = 1000;
	if (sk_store_init(&cfg) != 0 || (before = used_memory()) < 0) {
		fprintf(stderr, "session_bench: redis unreachable\n");
		return 1;
	}
	memset(&s, 0, sizeof(s));
	s.tenant = "default";
	s.email = "alice.example@example.com";
	s.name = "Alice Example";
	s.provider = "google";
	s.amr = "otp mfa";
	s.roles = "";
	for (i = 0; i < n; i++) {
		/* one user per session: the worst case for the user index */
		snprintf(uid, sizeof(uid), "u_%020ld", i);
		s.user_id = uid;
		if (sk_session_create(&s, 36 * 3600, 7 * 86400, &sid) != 0) {
			fprintf(stderr, "session_bench: create failed\n");
			return 1;
		}
		sk_strfreezero(sid);
	}
	after = used_memory();
	printf("bytes_per_session %.0f\n",
	       (double)(after - before) / (double)n);
	sk_store_shutdown();
	return 0;
}

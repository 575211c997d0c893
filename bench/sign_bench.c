/*
 * Token issuance speed: how many access tokens one core signs per second
 * with Sekisho's keyset (key parsed once, as on the hot path), for the
 * ratio against `openssl speed ecdsap256` that bench/run.sh prints.
 *
 *   sign_bench KEY.pem SECONDS
 * prints "signs_per_s N".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/config.h"
#include "sekisho/keys.h"
#include "sekisho/util.h"

int
main(int argc, char **argv)
{
	struct sk_config cfg;
	char *files[1], *jwt = NULL;
	json_t *claims;
	int64_t start, end;
	long n = 0;
	double secs;

	if (argc != 3) {
		fprintf(stderr, "usage: sign_bench KEY.pem SECONDS\n");
		return 2;
	}
	secs = strtod(argv[2], NULL);
	memset(&cfg, 0, sizeof(cfg));
	files[0] = argv[1];
	cfg.keys.signing_key_files.v = files;
	cfg.keys.signing_key_files.n = 1;
	cfg.tokens.access_token_ttl = 300;
	if (sk_keys_init(&cfg, NULL) != 0) {
		fprintf(stderr, "sign_bench: cannot load %s\n", argv[1]);
		return 1;
	}
	/* The claims of a typical token (see broker/tokens.c). */
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:[], "
			   "s:[s], s:s}",
			   "iss", "https://login.example.com", "sub",
			   "u_A9lYVEmXkw8POAjMM6vP", "aud",
			   "https://login.example.com", "exp", (json_int_t)1800000300,
			   "iat", (json_int_t)1800000000, "jti",
			   "caMkSii7FF00KxydSiCLbQ", "sid",
			   "s_20dfb1f4b2f86441ed5e5355a233b7de92e6eaddf23ffeaceacf04c29bac30d9",
			   "tenant", "default", "roles", "amr", "otp", "email",
			   "alice@example.com");
	start = sk_monotonic_us();
	end = start + (int64_t)(secs * 1e6);
	while (sk_monotonic_us() < end) {
		if (sk_keys_sign(claims, &jwt) != 0) {
			fprintf(stderr, "sign_bench: signing failed\n");
			return 1;
		}
		free(jwt);
		n++;
	}
	printf("signs_per_s %.0f\n",
	       (double)n * 1e6 / (double)(sk_monotonic_us() - start));
	json_decref(claims);
	sk_keys_shutdown();
	return 0;
}

/*
 * Token issuance speed: how many access tokens one core signs per second
 * with Sekisho's keyset (key parsed once, as on the hot path), for the
 * ratio against `openssl speed ecdsap256` that bench/run.sh prints.
 *
 *   sign_bench KEY.pem SECONDS [verify]
 * prints "signs_per_s N"; with "verify", "verifies_per_s N" for the same
 * token checked again and again (sk_keys_verify, as /oauth2/introspect
 * does; tokens/jose.c, the stack that also checks providers' id_tokens).
 */
#include <jansson.h>
#include <stdbool.h>
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
	json_t *claims, *back = NULL;
	bool verify;
	int64_t start, end;
	long n = 0;
	double secs;

	if (argc < 3 || argc > 4 ||
	    (argc == 4 && strcmp(argv[3], "verify") != 0)) {
		fprintf(stderr, "usage: sign_bench KEY.pem SECONDS [verify]\n");
		return 2;
	}
	verify = argc == 4;
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
	claims = json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:[], "
	    "s:[s], s:s}",
	    "iss", "https://login.example.com", "sub", "u_A9lYVEmXkw8POAjMM6vP",
	    "aud", "https://login.example.com", "exp", (json_int_t)1800000300,
	    "iat", (json_int_t)1800000000, "jti", "caMkSii7FF00KxydSiCLbQ",
	    "sid",
	    "s_"
	    "20dfb1f4b2f86441ed5e5355a233b7de92e6eaddf23ffeaceacf04c29bac30d9",
	    "tenant", "default", "roles", "amr", "otp", "email",
	    "alice@example.com");
	if (verify && sk_keys_sign(claims, &jwt) != 0) {
		fprintf(stderr, "sign_bench: signing failed\n");
		return 1;
	}
	start = sk_monotonic_us();
	end = start + (int64_t)(secs * 1e6);
	while (verify && sk_monotonic_us() < end) {
		if (sk_keys_verify(jwt, &back) != 0) {
			fprintf(stderr, "sign_bench: verification failed\n");
			return 1;
		}
		json_decref(back);
		n++;
	}
	while (!verify && sk_monotonic_us() < end) {
		if (sk_keys_sign(claims, &jwt) != 0) {
			fprintf(stderr, "sign_bench: signing failed\n");
			return 1;
		}
		free(jwt);
		n++;
	}
	printf("%s %.0f\n", verify ? "verifies_per_s" : "signs_per_s",
	       (double)n * 1e6 / (double)(sk_monotonic_us() - start));
	if (verify)
		free(jwt);
	json_decref(claims);
	sk_keys_shutdown();
	return 0;
}

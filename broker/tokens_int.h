/* Private to broker/: minting and checking Sekisho's own tokens. */
#ifndef SEKISHO_TOKENS_INT_H
#define SEKISHO_TOKENS_INT_H

#include <jansson.h>
#include <stdint.h>

struct sk_session;

/* Whom a token speaks for. Borrowed strings. */
struct sk_token_subject {
	const char *user_id;
	const char *tenant;
	const char *email;
	const char *roles;     /* space-separated */
	const char *amr;       /* space-separated */
	const char *handle;    /* the sid: session or app-session handle */
	const char *client_id; /* app client, or NULL for browser sessions */
	/* Redis TIME of the session's last second factor (the mfa_time
	 * claim: the admin API's step-up check); 0: none. */
	int64_t mfa_at;
};

/*
 * Signs an access token valid from now (Redis TIME) for the configured
 * lifetime. *jwt newly allocated (free with sk_strfreezero()).
 */
int sk_token_mint(const struct sk_token_subject *ts, int64_t now, char **jwt,
		  int64_t *exp);

/* A token for a browser session, reused while more than half its life is
 * left. *jwt newly allocated (free with sk_strfreezero()). */
int sk_token_for_session(const struct sk_session *s, char **jwt);

/* Drops every cached token (tests, key rotation is not a reason). */
void sk_tokens_cache_clear(void);

/* Space-separated words as a new JSON array of strings. */
json_t *sk_words_array(const char *words);

#endif

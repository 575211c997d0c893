/*
 * App sessions, refresh tokens and authorization codes
 * (session/appsession.c), in the user's slot.
 */
#ifndef SEKISHO_APPSESSION_H
#define SEKISHO_APPSESSION_H

#include <stdbool.h>
#include <stdint.h>

/*
 * App sessions: what a refresh token stands for (mobile/desktop apps and
 * other OAuth clients). Refresh tokens are
 * "skr.<user>.<family>.<generation>.<mac>" where mac = HMAC-SHA256(key
 * derived from the master key, user.family.gen):
 * Redis keeps only the family's current generation, so nothing stored can
 * be turned back into a token. Each refresh moves to the next generation;
 * presenting an older one (a stolen, already-used token) ends the family.
 */
struct sk_app_session {
	char *user_id;
	char *tenant;
	char *email;
	char *amr;
	char *roles;
	char *client_id;
	char handle[32]; /* "a_" + family id: the sid of its access tokens */
	int64_t now;	 /* Redis TIME */
	int64_t abs_exp;
};
void sk_app_session_free(struct sk_app_session **a);

/*
 * Authorization codes (/oauth2/authorize): single use, short-lived, kept
 * in the user's slot so that a disable ends them with everything else.
 *
 * Issues a code for the signed-in browser session sid (whose user is
 * user_id) carrying blob (the broker's JSON), only if that session is
 * still signed in and its user not disabled (one script). On success
 * *code is newly allocated (free with sk_strfreezero()). SK_ERR_NOT_FOUND
 * when the session is gone or pending, SK_ERR_DENIED for a disabled user,
 * SK_ERR_TOO_LARGE when the user has too many codes outstanding.
 */
int sk_code_issue(const char *sid, const char *user_id, const char *blob,
		  int64_t ttl_s, char **code);
/* Reads a live code without spending it; *blob newly allocated
 * (sk_strfreezero()). SK_ERR_NOT_FOUND when unknown, used or expired. */
int sk_code_peek(const char *code, char **blob);
/* Spends a code (a failed exchange); no error when it is gone. */
int sk_code_spend(const char *code);

/*
 * Redeems code and starts a family from s (the code's data) in one
 * script: the code must still be there (single use: of two racing
 * exchanges one wins) and its user not disabled. *refresh newly
 * allocated (free with sk_strfreezero()); *out filled. SK_ERR_NOT_FOUND
 * when the code is gone, SK_ERR_DENIED when the user is disabled.
 */
int sk_app_session_create(const char *code, const struct sk_app_session *s,
			  int64_t idle_s, int64_t absolute_s, char **refresh,
			  struct sk_app_session **out);

/*
 * Rotates: on success *out describes the family and *refresh is the next
 * token. SK_ERR_NOT_FOUND for an unknown/expired/foreign token or a
 * disabled user (checked in the rotating script), SK_ERR_DENIED when
 * reuse was detected (the family is now ended).
 */
int sk_app_session_refresh(const char *token, const char *client_id,
			   char **refresh, struct sk_app_session **out);

/* Introspection without rotating: SK_ERR_NOT_FOUND unless current. */
int sk_app_session_peek(const char *token, struct sk_app_session **out);

/* Ends the family of token if it belongs to client_id (no error if not). */
int sk_app_session_revoke(const char *token, const char *client_id);

#endif

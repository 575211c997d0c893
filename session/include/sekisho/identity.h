/*
 * Who signed in, as an upstream provider vouches for it. Defined here, in
 * the session layer, because the user store links identities to users;
 * providers/ fill it (sekisho/provider.h).
 */
#ifndef SEKISHO_IDENTITY_H
#define SEKISHO_IDENTITY_H

#include <stdbool.h>

/*
 * Who the provider says signed in. All strings owned, except type; free
 * with sk_identity_free(). Each backend documents in docs/providers.md how
 * it fills these; (issuer, subject) is stable for one account and unique.
 */
struct sk_identity {
	const char *type; /* provider type that verified it (static string) */
	char *issuer;	  /* the verified issuer, in its canonical form */
	char *subject;	  /* stable id at that issuer */
	char *email;	  /* NULL when not given */
	/* The provider says it verified the address (for Microsoft and LINE:
	 * never, unless the provider config trusts it). */
	bool email_verified;
	/*
	 * The provider is authoritative for the address's domain (it runs
	 * that domain's accounts), so the address names this person now, not
	 * merely someone who once proved it. Only such an address may link a
	 * new identity to an existing user. Implies email_verified.
	 */
	bool email_trusted;
	char *name;
	char *hd; /* Google Workspace domain (google only), from the id_token */
	char *tid; /* Entra tenant id (microsoft only), checked against iss */
	char *amr; /* space-separated authentication methods (RFC 8176 and
		      LINE's values), as the id_token gave them; NULL if none */
};
void sk_identity_free(struct sk_identity **id);

#endif

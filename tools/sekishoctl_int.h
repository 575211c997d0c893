/* Private to tools/: the commands of sekishoctl kept in their own files. */
#ifndef SEKISHO_SEKISHOCTL_INT_H
#define SEKISHO_SEKISHOCTL_INT_H

#include <jansson.h>

#include "sekisho/config.h"

#define SK_CTL_DEFAULT_CONFIG "/etc/sekisho/sekisho.yaml"

/* sekishoctl policy get|set|patch (sekishoctl_policy.c): argv[0] is
 * "policy". Returns the exit status: 0, 1 failed, 2 usage. */
int sk_ctl_policy(int argc, char **argv);

/*
 * Loads the configuration at path (NULL: the default) and connects to
 * its Redis; on failure says why on stderr. Returns 0, or 1 (the exit
 * status). On success *cfg is newly allocated: sk_store_shutdown(), then
 * sk_config_free().
 */
int sk_ctl_open(const char *path, struct sk_config **cfg);

/*
 * Records key_rotated in every tenant of cfg, by the operator (details:
 * what rotated; borrowed). A failure is a warning on stderr: the keys
 * have rotated either way.
 */
void sk_ctl_key_rotated(const struct sk_config *cfg, json_t *details);

/* sekishoctl users, invite, sessions (sekishoctl_users.c): exit status. */
int sk_ctl_users(int argc, char **argv);
int sk_ctl_invite(int argc, char **argv);
int sk_ctl_sessions(int argc, char **argv);
/* Their usage lines, for sekishoctl help. */
#define SK_CTL_USERS_USAGE                                                     \
	"  users list [-t TENANT] [-q TEXT] [--cursor C] [--limit N]\n"        \
	"                            a tenant's users (address or name\n"      \
	"                            containing TEXT), a page at a time\n"     \
	"  users show|mfa-reset [-t TENANT] USER_ID\n"                         \
	"                            show a user; reset their second factor\n" \
	"  users role [-t TENANT] USER_ID admin|editor|viewer\n"               \
	"                            change a user's role (live sessions\n"    \
	"                            too)\n"                                   \
	"  users disable|enable [-t TENANT] USER_ID\n"                         \
	"                            disable a user (ending all sessions,\n"   \
	"                            app sessions and codes in one step)\n"    \
	"                            or enable again\n"                        \
	"  users devices [-t TENANT] USER_ID\n"                                \
	"                            the devices a user signed in from\n"      \
	"  users forget-device [-t TENANT] USER_ID DEVICE\n"                   \
	"                            forget one: its next sign-in is new\n"    \
	"  users reindex             put users from before the directory\n"    \
	"                            into it\n"                                \
	"  invite [-t TENANT] [--role ROLE] [--expires DURATION] EMAIL\n"      \
	"                            invite an address (default viewer, 7d)\n" \
	"  invite list|revoke ID [-t TENANT]\n"                                \
	"                            open invitations; withdraw one\n"         \
	"  sessions list [-t TENANT] USER_ID | sessions revoke SESSION_ID\n"   \
	"                            a user's sessions; end one\n"

#endif

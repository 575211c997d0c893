/*
 * The devices a user signed in from (session/device.c; docs/devices.md).
 *
 * A device is a browser named by the broker's device cookie: only the
 * SHA-256 hex of the cookie's value (the "device id") is stored, in the
 * user's slot, with when it was first and last seen at a completed
 * sign-in (Redis TIME), a short summary of its user agent and the
 * network of its address. At most SK_DEVICES_MAX per user: the least
 * recently seen is dropped for a new one; one not seen for
 * SK_DEVICE_KEEP_S is dropped too (its cookie has expired by then).
 *
 * The pure helpers (user agent, network, language) read request headers
 * and never fail on hostile input: they bound what they read and answer
 * a neutral value.
 */
#ifndef SEKISHO_DEVICE_H
#define SEKISHO_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Devices kept per user; the least recently seen goes first. */
#define SK_DEVICES_MAX 50
/* A device unseen this long is forgotten: the cookie lives 400 days. */
#define SK_DEVICE_KEEP_S (400LL * 86400)
/* New-device notifications per user and window (the event is always
 * recorded; past the limit its details say "notify": false). */
#define SK_DEVICE_NOTIFY_MAX 5
#define SK_DEVICE_NOTIFY_WINDOW_S 3600

/* Room for a user-agent summary ("Samsung Internet 25 on Android"). */
#define SK_DEVICE_UA_LEN 48
/* Room for a network ("2001:db8:1::/48", "203.0.113.0/24"). */
#define SK_DEVICE_NET_LEN 56

/*
 * A short summary of a User-Agent header in out: "Chrome 131 on
 * Windows", "Safari 17 on iOS", "curl 8"; "Unknown browser" for NULL or
 * anything unrecognised. Only the first 512 bytes are read; the summary
 * is built from fixed names and digits (and, for an unknown product, its
 * name when it is plain ASCII letters, digits, '.', '_', '-').
 */
void sk_device_ua_summary(const char *ua, char out[SK_DEVICE_UA_LEN]);

/*
 * The network of an address in out: the /24 of an IPv4 address
 * ("203.0.113.0/24", also for an IPv4-mapped IPv6 one), the /48 of an
 * IPv6 one ("2001:db8:1::/48"). SK_ERR_INVALID (out "unknown") for
 * NULL or anything that is not an address.
 */
int sk_device_network(const char *ip, char out[SK_DEVICE_NET_LEN]);

/*
 * The language to write to the user in, from an Accept-Language header:
 * "ja" or "en", whichever the header prefers (q-values honoured, "*"
 * counts for both, ties go to the one listed first); NULL when the header
 * is absent or accepts neither. Reads at most the first 1024 bytes.
 */
const char *sk_device_lang(const char *accept_language);

/* What sk_device_record() found. */
struct sk_device_seen {
	bool new_device; /* not in the user's registry (or no device id) */
	bool notify;	 /* new, and within the notification limit */
	int64_t now;	 /* Redis TIME, seconds */
};

/*
 * Records a completed sign-in of user_id from device (64 lowercase hex,
 * the device id; NULL: the browser sent no device cookie, which is new
 * every time and stored nowhere) with its user-agent summary ua and
 * network net, in one script: first seen kept, last seen now, the
 * registry bounded; when the device is new, a notification is counted
 * against the user's limit. SK_ERR_INVALID for a bad user or device id.
 */
int sk_device_record(const char *user_id, const char *device, const char *ua,
		     const char *net, struct sk_device_seen *out);

/*
 * The devices of tenant's user user_id, the most recently seen first. On
 * success *out is a new array of {"id", "first_seen", "last_seen"
 * (RFC 3339), "user_agent", "network"}. SK_ERR_NOT_FOUND for no such
 * user of tenant.
 */
int sk_device_list(const char *tenant, const char *user_id, json_t **out);

/*
 * Forgets one device of tenant's user user_id: its next sign-in is new
 * again. On success *out is what the registry held about it (as a
 * member of sk_device_list()'s array). SK_ERR_NOT_FOUND for no such user
 * of tenant, or no such device of the user; SK_ERR_INVALID for a device
 * id of the wrong shape.
 */
int sk_device_forget(const char *tenant, const char *user_id,
		     const char *device, json_t **out);

#endif

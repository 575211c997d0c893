/*
 * Private to hooks/: what a notification to a person says (hooks/notice.c),
 * for the email and line sinks. The text comes from plain-text templates,
 * web/mail/<lang>/<name>.txt, embedded into the binary at build time
 * with the pages' files (tools/embed_web.cmake), one per event type and
 * language, with a generic one for the other types; docs/notifications.md says
 * how to edit them. A template is
 *
 *   Subject: <one line>
 *   Line: <one line: the short text of a LINE message>
 *   <empty line>
 *   <the body of the mail>
 *
 * with {{name}} placeholders filled from the event (names below). Every
 * value is cleaned before it is put in (valid UTF-8, no control, line or
 * direction-override characters, bounded), so nothing an event carries
 * can add a line, a header or a hidden character to a notification.
 */
#ifndef SEKISHO_HOOKS_NOTICE_INT_H
#define SEKISHO_HOOKS_NOTICE_INT_H

#include "sekisho/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

/* One embedded file of web/mail: an event type's, "generic" or "words"
 * (a borrowed view of the embedded bytes). */
struct sk_notice_tpl {
	const char *text;
	size_t len;
};

/* Bounds of one substituted value, in bytes (a cut value ends in "..."). */
#define SK_NOTICE_VALUE_MAX 160
#define SK_NOTICE_LINK_MAX 1024

/* A notification rendered in one language. Strings owned (UTF-8). */
struct sk_notice {
	char lang[3];
	char *subject; /* one line */
	char *line;    /* one line: the short text (LINE) */
	char *body;    /* plain text, LF line ends */
};

/* False when the event's details say "notify": false (a new device past
 * its user's notification limit): nobody is told of it. */
bool sk_notice_wanted(const json_t *ev);

/*
 * The language to write in: details.lang when it is "ja" or "en" (the
 * browser's Accept-Language at the sign-in), else the event's tenant's
 * default_language, else "ja". A static string.
 */
const char *sk_notice_lang(const struct sk_config *cfg, const json_t *ev);

/*
 * Renders the notification of ev in lang ("ja" or "en"): the event type's
 * template, else the generic one. Placeholders: tenant (display name),
 * email, time (ja: Japan time, en: UTC, each said), ip, network, browser
 * (a short summary), event (the type's name in words), link (an
 * invitation's accept link), expires (the invitation's), until (the end
 * of a lockout). A value the event does not give reads "unknown" in the
 * language. now (Unix time) stands for an event without a valid "time".
 * On success fills *n (sk_notice_clear()). SK_ERR_INVALID for a template
 * naming an unknown placeholder (a bug the unit tests catch), NOMEM.
 */
int sk_notice_render(const struct sk_config *cfg, const json_t *ev,
		     const char *lang, int64_t now, struct sk_notice *n);
void sk_notice_clear(struct sk_notice *n);

/*
 * The cleaned form of in (NULL: none) at most max bytes (max >= 8):
 * invalid UTF-8 becomes U+FFFD; control characters (C0, DEL, C1), line
 * and paragraph separators and bidirectional controls become spaces;
 * spaces are collapsed and trimmed; a longer value is cut at a character
 * boundary and ends in "...". Newly allocated; NULL on NOMEM.
 */
char *sk_notice_clean(const char *in, size_t max);

/*
 * The LINE sink's request for a LINE user id (subject), from the rendered
 * notice: the parts of build() that need no store (hooks/line.c; the unit
 * tests call it).
 */
struct sk_hook_msg;
int sk_line_request(const struct sk_config *cfg, const struct sk_hook_conf *h,
		    const json_t *ev, const char *subject, int64_t now,
		    CURL *easy, struct sk_hook_msg *m);

#endif

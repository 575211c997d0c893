/*
 * Fuzz target: what an event brings into a mail (hooks/notice.c,
 * hooks/mail.c). The input is cut at its first NUL bytes into the user's
 * address, the user agent, the network, the invitation link and the
 * tenant's display name (missing pieces: absent), and the email sink
 * builds the mail of a new_device and a user_invited event.
 * Checks: a mail is built only for one plain address, which is the one
 * recipient; its head is lines of known headers (or folded encoded
 * words) without a bare CR or LF, each at most 998 bytes; the body is
 * base64 lines of at most 76; sk_notice_clean() of the input is bounded
 * and holds no control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "notice_int.h"
#include "sink_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const heads[] = {"From: ",
				    "To: ",
				    "Subject: ",
				    "Date: ",
				    "Message-ID: ",
				    "MIME-Version: ",
				    "Content-Type: ",
				    "Content-Transfer-Encoding: ",
				    "Content-Language: ",
				    "Auto-Submitted: ",
				    "X-Auto-Response-Suppress: ",
				    NULL};

static void
check_mail(const struct sk_hook_msg *m, const char *rcpt)
{
	const char *p = m->body, *end, *eol;
	size_t i, to = 0;

	if (m->rcpt == NULL || m->rcpt->next != NULL ||
	    strcmp(m->rcpt->data, rcpt) != 0 || strpbrk(rcpt, "\r\n<>, ") ||
	    (end = strstr(m->body, "\r\n\r\n")) == NULL)
		abort();
	for (; p < end; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (memchr(p, '\n', (size_t)(eol - p)) ||
		    memchr(p, '\r', (size_t)(eol - p)) || eol - p > 998)
			abort();
		if (*p == ' ')
			continue;
		for (i = 0; heads[i] != NULL; i++)
			if (strncmp(p, heads[i], strlen(heads[i])) == 0)
				break;
		if (heads[i] == NULL)
			abort();
		to += i == 1;
	}
	if (to != 1)
		abort();
	for (p = end + 4; *p != '\0'; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL || eol - p > 76 ||
		    strspn(
			p,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789+/=") != (size_t)(eol - p))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"new_device", "user_invited"};
	const char *part[5] = {NULL};
	struct sk_tenant_conf t;
	struct sk_hook_conf h;
	struct sk_config cfg;
	struct sk_hook_msg m;
	char *s, *c;
	size_t i, n = 0;
	CURL *easy;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (c = s; n < 5 && c <= s + size; c += strlen(c) + 1)
		part[n++] = c;

	if ((c = sk_notice_clean(s, 64)) != NULL) {
		for (i = 0; c[i] != '\0'; i++)
			if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
				abort();
		if (i > 64)
			abort();
		free(c);
	}

	memset(&cfg, 0, sizeof(cfg));
	memset(&t, 0, sizeof(t));
	memset(&h, 0, sizeof(h));
	t.id = "office";
	t.display_name = (char *)part[4];
	t.default_language = "ja";
	cfg.tenants = &t;
	cfg.ntenants = 1;
	cfg.smtp.url = "smtp://127.0.0.1:2525";
	cfg.smtp.from = "Sekisho <no-reply@example.com>";
	cfg.smtp.timeout_ms = 1000;
	h.id = "mail";
	h.type = SK_HOOK_EMAIL;
	h.timeout_ms = 1000;
	for (i = 0; i < 2; i++) {
		json_t *ev = json_pack(
		    "{s:s, s:s, s:s, s:s, s:{s:s?}, s:s, s:s?, s:{s:s?, s:s?, "
		    "s:s?, s:s}}",
		    "id", "ev_fuzz", "type", types[i], "time",
		    "2026-12-02T03:34:56.789Z", "tenant", "office", "user",
		    "email", part[0], "ip", "203.0.113.7", "user_agent",
		    part[1], "details", "user_agent", part[1], "network",
		    part[2], "link", part[3], "lang", i ? "en" : "ja");

		if (ev == NULL) /* not UTF-8: jansson refuses it */
			continue;
		if ((easy = curl_easy_init()) == NULL) {
			json_decref(ev);
			break;
		}
		memset(&m, 0, sizeof(m));
		if (sk_sink_email.build(&cfg, &h, ev, "{}", 1796182496, easy,
					&m) == 0)
			check_mail(&m, part[0]);
		sk_hook_msg_clear(&m);
		curl_easy_cleanup(easy);
		json_decref(ev);
	}
	free(s);
	return 0;
}

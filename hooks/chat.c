/*
 * The Slack and Microsoft Teams sinks: a short summary of the event in
 * each one's incoming-webhook format (Slack: {"text": ...}; Teams: a
 * message with an Adaptive Card, which Teams' Workflows webhooks and the
 * older connectors both take). The summary names the tenant, the event,
 * the user, the address and the device; never the event's details beyond
 * those, and nothing secret (the hook's URL, which holds its secret, is
 * only where the message goes).
 */
#include "post_int.h"

#include "sekisho/err.h"
#include "sekisho/hooks.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value shown is cut to this (user agents can be long). */
#define VALUE_MAX 160
#define FACTS_MAX 8

struct fact {
	const char *name;
	char value[VALUE_MAX + 1];
};

/* s cut to VALUE_MAX bytes at a character boundary, into f's value. */
static void
fact_set(struct fact *f, const char *name, const char *s)
{
	size_t used;

	f->name = name;
	used = sk_utf8_scrub(s, strlen(s), f->value, VALUE_MAX, &(size_t){0});
	f->value[used] = '\0';
}

static const char *
str_at(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The facts of an event worth a glance; returns how many. */
static size_t
facts_of(const json_t *ev, struct fact *f)
{
	const json_t *user = json_object_get(ev, "user");
	const json_t *details = json_object_get(ev, "details");
	const json_t *actor = json_object_get(details, "actor");
	const char *v, *net;
	char dev[VALUE_MAX + 1];
	size_t n = 0;

	if ((v = str_at(ev, "tenant")) != NULL)
		fact_set(&f[n++], "Tenant", v);
	if ((v = str_at(ev, "type")) != NULL)
		fact_set(&f[n++], "Event", v);
	if ((v = str_at(user, "email")) != NULL ||
	    (v = str_at(user, "id")) != NULL)
		fact_set(&f[n++], "User", v);
	if ((v = str_at(actor, "email")) != NULL ||
	    (v = str_at(actor, "id")) != NULL)
		fact_set(&f[n++], "By", v);
	if ((v = str_at(ev, "ip")) != NULL)
		fact_set(&f[n++], "IP address", v);
	/* The device: the short summary a new_device event carries, else
	 * the request's user agent; with the network when known. */
	if ((v = str_at(details, "user_agent")) != NULL ||
	    (v = str_at(ev, "user_agent")) != NULL) {
		net = str_at(details, "network");
		snprintf(dev, sizeof(dev), "%s%s%s%s", v, net ? " (" : "",
			 net ? net : "", net ? ")" : "");
		fact_set(&f[n++], "Device", dev);
	}
	if ((v = str_at(ev, "time")) != NULL)
		fact_set(&f[n++], "Time", v);
	return n;
}

/* Slack's three escapes in text (&, <, >), so stored data cannot make a
 * link or a mention. */
static void
add_slack_escaped(struct sk_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '&')
			sk_buf_adds(b, "&amp;");
		else if (*s == '<')
			sk_buf_adds(b, "&lt;");
		else if (*s == '>')
			sk_buf_adds(b, "&gt;");
		else
			sk_buf_add(b, s, 1);
	}
}

static json_t *
slack_message(const json_t *ev)
{
	struct fact f[FACTS_MAX];
	struct sk_buf b;
	json_t *o = NULL;
	char *text = NULL;
	size_t i, n = facts_of(ev, f);

	sk_buf_init(&b);
	sk_buf_adds(&b, "*Sekisho:* ");
	add_slack_escaped(&b,
			  str_at(ev, "type") ? str_at(ev, "type") : "event");
	if (str_at(ev, "tenant") != NULL) {
		sk_buf_adds(&b, " in ");
		add_slack_escaped(&b, str_at(ev, "tenant"));
	}
	for (i = 0; i < n; i++) {
		if (strcmp(f[i].name, "Tenant") == 0 ||
		    strcmp(f[i].name, "Event") == 0)
			continue;
		sk_buf_adds(&b, "\n");
		sk_buf_adds(&b, f[i].name);
		sk_buf_adds(&b, ": ");
		add_slack_escaped(&b, f[i].value);
	}
	if (sk_buf_take(&b, &text) == 0)
		o = json_pack("{s:s}", "text", text);
	free(text);
	return o;
}

static json_t *
teams_message(const json_t *ev)
{
	struct fact f[FACTS_MAX];
	json_t *facts, *card;
	char title[VALUE_MAX + 32];
	size_t i, n = facts_of(ev, f);

	if ((facts = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		json_array_append_new(facts, json_pack("{s:s, s:s}", "title",
						       f[i].name, "value",
						       f[i].value));
	snprintf(title, sizeof(title), "Sekisho: %s",
		 str_at(ev, "type") ? str_at(ev, "type") : "event");
	card = json_pack(
	    "{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b}, {s:s, s:o}]}",
	    "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
	    "type", "AdaptiveCard", "version", "1.4", "body", "type",
	    "TextBlock", "text", title, "weight", "Bolder", "size", "Medium",
	    "wrap", 1, "type", "FactSet", "facts", facts);
	return json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message",
			 "attachments", "contentType",
			 "application/vnd.microsoft.card.adaptive",
			 "contentUrl", "content", card);
}

/* POSTs msg (consumed) to the hook's URL. */
static int
post_json(const struct sk_config *cfg, const struct sk_hook_conf *h,
	  json_t *msg, CURL *easy, struct sk_hook_msg *m)
{
	char host[256];

	if (msg == NULL)
		return SK_ERR_NOMEM;
	m->body = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (m->body == NULL)
		return SK_ERR_NOMEM;
	m->len = strlen(m->body);
	sk_hook_target(cfg, h, host, sizeof(host));
	if (h->url == NULL)
		return SK_ERR_INVALID;
	if ((m->url = strdup(h->url)) == NULL ||
	    (m->target = strdup(host)) == NULL ||
	    !sk_hook_header(&m->headers, "Content-Type", "application/json"))
		return SK_ERR_NOMEM;
	return sk_hook_post(easy, m);
}

static int
slack_build(const struct sk_config *cfg, const struct sk_hook_conf *h,
	    const json_t *ev, const char *raw, int64_t now, CURL *easy,
	    struct sk_hook_msg *m)
{
	return post_json(cfg, h, slack_message(ev), easy, m);
}

static int
teams_build(const struct sk_config *cfg, const struct sk_hook_conf *h,
	    const json_t *ev, const char *raw, int64_t now, CURL *easy,
	    struct sk_hook_msg *m)
{
	return post_json(cfg, h, teams_message(ev), easy, m);
}

const struct sk_sink sk_sink_slack = {
    .type = SK_HOOK_SLACK,
    .build = slack_build,
};

const struct sk_sink sk_sink_teams = {
    .type = SK_HOOK_TEAMS,
    .build = teams_build,
};

/*
 * GET|POST /admin/policy (console_int.h; docs/console.md): the tenant's
 * runtime policy as a form. The form shows every member's effective value;
 * a POST sends what the administrator changed as a merge patch through
 * sk_policy_change(), the path of PATCH /admin/v1/.../policy: the same
 * validation (the configuration's keyword table: no second validator
 * here), the same lock-out rule, the same policy_changed event (via
 * "console", the administrator as actor). A form with any bad value
 * stores nothing and comes back with the administrator's input and one
 * message per bad line or field.
 */
#include "console_int.h"
#include "answer_int.h"
#include "form_int.h"
#include "sekisho/err.h"
#include "sekisho/log.h"
#include "sekisho/policy_store.h"
#include "sekisho/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 60 /* bytes of a bad value shown back */
#define WORD_MAX 64  /* longest value of a one-line field */

enum kind {
	LIST,	  /* one per line; an empty textarea is [] */
	WORD,	  /* one of a select's words */
	COUNT,	  /* a whole number; empty: the file's value */
	DURATION, /* "15m" or seconds; empty: the file's value */
};

/* The form's fields: the form and view name, where the value lives in
 * the policy document (section NULL: top level), what it is, and what a
 * bad line of it is called. */
static const struct field {
	const char *name;
	const char *section;
	const char *member;
	enum kind kind;
	const char *bad_line; /* LIST: "Line {line}: {value} is not ..." */
} fields[] = {
    {"ip_allowlist", NULL, "ip_allowlist", LIST,
     N_("Line {line}: {value} is not an address range.")},
    {"admin_ip_allowlist", NULL, "admin_ip_allowlist", LIST,
     N_("Line {line}: {value} is not an address range.")},
    {"mfa", NULL, "mfa", WORD, NULL},
    {"lockout_max_failures", "lockout", "max_failures", COUNT, NULL},
    {"lockout_user_max_failures", "lockout", "user_max_failures", COUNT, NULL},
    {"lockout_ip_max_failures", "lockout", "ip_max_failures", COUNT, NULL},
    {"lockout_window", "lockout", "window", DURATION, NULL},
    {"lockout_duration", "lockout", "duration", DURATION, NULL},
    {"lockout_max_duration", "lockout", "max_duration", DURATION, NULL},
    {"session_idle_timeout", "session", "idle_timeout", DURATION, NULL},
    {"session_absolute_timeout", "session", "absolute_timeout", DURATION, NULL},
    {"membership", NULL, "membership", WORD, NULL},
    {"allowed_email_domains", NULL, "allowed_email_domains", LIST,
     N_("Line {line}: {value} is not a domain name.")},
    {"allowed_hd", NULL, "allowed_hd", LIST,
     N_("Line {line}: {value} is not a domain name.")},
    {"allowed_tid", NULL, "allowed_tid", LIST,
     N_("Line {line}: {value} is not a directory ID.")},
};
#define NFIELDS SK_ARRAY_SIZE(fields)

/* The select's words, each with a view flag "<name>_is_<word>". */
static const char *const words[] = {"optional", "required", "admins", "open",
				    "invite_only"};

static const struct sk_console_msg done_msgs[] = {
    {"saved", N_("The policy was saved. It is in force within a second.")},
    {"unchanged", N_("Nothing was changed: the form held the policy as it "
		     "was.")},
    {NULL, NULL},
};

/* What the administrator sent for one field. */
struct input {
	char *raw;	  /* as sent (shown again on a refusal) */
	json_t *value;	  /* as the policy document has it */
	size_t *lines;	  /* LIST: the line number of each item */
	json_t *problems; /* [msgid view items] for this field */
};

static void
inputs_free(struct input *in)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++) {
		free(in[i].raw);
		json_decref(in[i].value);
		free(in[i].lines);
		json_decref(in[i].problems);
	}
}

/* The effective value of f in the view's "policy". */
static const json_t *
effective(const json_t *policy, const struct field *f)
{
	if (f->section != NULL)
		policy = json_object_get(policy, f->section);
	return json_object_get(policy, f->member);
}

/* The stored override of f, if any. */
static bool
overridden(const json_t *overrides, const struct field *f)
{
	return effective(overrides, f) != NULL;
}

/* v as the form shows it: a list one per line, a number as digits. */
static void
set_value(struct sk_view *v, const char *name, const json_t *val)
{
	struct sk_buf b;
	char *s = NULL;
	const json_t *x;
	size_t i;

	if (json_is_string(val)) {
		sk_view_set(v, name, json_string_value(val));
	} else if (json_is_integer(val)) {
		sk_view_set_int(v, name, (long long)json_integer_value(val));
	} else if (json_is_array(val)) {
		sk_buf_init(&b);
		json_array_foreach(val, i, x) {
			if (i > 0)
				sk_buf_adds(&b, "\n");
			sk_buf_adds(&b, json_string_value(x) != NULL
					    ? json_string_value(x)
					    : "");
		}
		if (sk_buf_take(&b, &s) == 0) {
			sk_view_set(v, name, s);
			free(s);
		}
	}
}

/*
 * A bad value as the page shows it back (escaped there): at most
 * SHOWN_MAX bytes of it, control characters and bytes that are not UTF-8
 * as "?", so that nothing invisible hides in a message.
 */
static void
shown(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0, n, k;
	unsigned char ch;

	while (i < len && o + 8 < outlen) {
		ch = (unsigned char)s[i];
		n = ch < 0x80		? 1
		    : (ch >> 5) == 0x6	? 2
		    : (ch >> 4) == 0xe	? 3
		    : (ch >> 3) == 0x1e ? 4
					: 0;
		for (k = 1; n > 1 && k < n; k++)
			if (i + k >= len ||
			    ((unsigned char)s[i + k] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || (n == 1 && (ch < 0x20 || ch == 0x7f))) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o >= SHOWN_MAX) {
			memcpy(out + o, "\xe2\x80\xa6", 3); /* ... */
			o += 3;
			break;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

/* Adds a message (msgid) for field f, with {line} and {value}. */
static void
add_problem(struct input *in, const char *msgid, size_t line, const char *value,
	    const char *problem)
{
	json_t *p;

	if (in->problems == NULL && (in->problems = json_array()) == NULL)
		return;
	p = json_pack("{s:s, s:I, s:s, s:s}", "msgid", msgid, "line",
		      (json_int_t)line, "value", value != NULL ? value : "",
		      "problem", problem != NULL ? problem : "");
	json_array_append_new(in->problems, p);
}

/* Valid UTF-8 (json_string() takes nothing else). */
static bool
utf8_ok(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

/* A textarea: one item a line, blank lines skipped, spaces trimmed. */
static int
parse_list(struct input *in, const struct field *f)
{
	const char *p = in->raw, *eol, *a, *z;
	size_t line = 0, n = 0, cap = 0;
	char buf[SHOWN_MAX + 16];
	size_t *lines;

	if ((in->value = json_array()) == NULL)
		return SK_ERR_NOMEM;
	while (*p != '\0') {
		line++;
		eol = strchr(p, '\n');
		z = eol != NULL ? eol : p + strlen(p);
		for (a = p; a < z && (*a == ' ' || *a == '\t'); a++)
			;
		while (z > a &&
		       (z[-1] == '\r' || z[-1] == ' ' || z[-1] == '\t'))
			z--;
		p = eol != NULL ? eol + 1 : z + strlen(z);
		if (z == a)
			continue;
		if (!utf8_ok(a, (size_t)(z - a))) {
			/* Not text at all: the same message, never stored. */
			shown(a, (size_t)(z - a), buf, sizeof(buf));
			add_problem(in, f->bad_line, line, buf, NULL);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((lines = realloc(in->lines,
					     cap * sizeof(*lines))) == NULL)
				return SK_ERR_NOMEM;
			in->lines = lines;
		}
		in->lines[n++] = line;
		if (json_array_append_new(
			in->value, json_stringn(a, (size_t)(z - a))) != 0)
			return SK_ERR_NOMEM;
	}
	return 0;
}

/* A one-line field: empty is null (COUNT, DURATION: the file's value),
 * digits are a number, anything else goes to the validator as text. */
static int
parse_one(struct input *in, const struct field *f)
{
	const char *s = in->raw;
	size_t len = strlen(s);

	if (len > WORD_MAX || !utf8_ok(s, len)) {
		char buf[SHOWN_MAX + 16];

		shown(s, len, buf, sizeof(buf));
		add_problem(in, N_("{value} is not accepted here."), 0, buf,
			    NULL);
		in->value = json_null();
		return 0;
	}
	if (f->kind != WORD && len == 0)
		in->value = json_null();
	else if (f->kind != WORD && len <= 9 && strspn(s, "0123456789") == len)
		in->value = json_integer(strtoll(s, NULL, 10));
	else
		in->value = json_string(s);
	return in->value != NULL ? 0 : SK_ERR_NOMEM;
}

/*
 * Reads every field of the form into in. A field missing, repeated or
 * malformed (a bad escape, a NUL) refuses the whole form: a missing
 * allowlist must never read as "every address".
 */
static int
read_form(struct sk_console *c, struct input *in)
{
	bool dup;
	size_t i;
	int r;

	for (i = 0; i < NFIELDS; i++) {
		dup = false;
		in[i].raw = sk_form_field(c->req, fields[i].name, &dup);
		if (in[i].raw == NULL || dup)
			return SK_ERR_INVALID;
		r = fields[i].kind == LIST ? parse_list(&in[i], &fields[i])
					   : parse_one(&in[i], &fields[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * The merge patch: each field whose value differs from the effective
 * one (an empty one-line field: the override removed, if there is one).
 * *patch a new reference, possibly empty.
 */
static int
build_patch(const struct input *in, const json_t *pv, json_t **patch)
{
	const json_t *policy = json_object_get(pv, "policy");
	const json_t *over = json_object_get(pv, "overrides");
	json_t *p = json_object(), *sec;
	size_t i;

	*patch = NULL;
	if (p == NULL)
		return SK_ERR_NOMEM;
	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];

		if (json_is_null(in[i].value)
			? !overridden(over, f)
			: json_equal(in[i].value, effective(policy, f)))
			continue;
		if (f->section == NULL) {
			json_object_set(p, f->member, in[i].value);
			continue;
		}
		if ((sec = json_object_get(p, f->section)) == NULL) {
			sec = json_object();
			if (json_object_set_new(p, f->section, sec) != 0) {
				json_decref(p);
				return SK_ERR_NOMEM;
			}
		}
		json_object_set(sec, f->member, in[i].value);
	}
	*patch = p;
	return 0;
}

/* "ip_allowlist[2]" or "lockout.window": the field, and the index. */
static const struct field *
problem_field(const char *path, long *index)
{
	const char *br = strchr(path, '[');
	size_t n = br != NULL ? (size_t)(br - path) : strlen(path), i;
	char name[80];
	const char *dot;

	*index = br != NULL ? strtol(br + 1, NULL, 10) : -1;
	for (i = 0; i < NFIELDS; i++) {
		if (fields[i].section == NULL) {
			if (strlen(fields[i].member) == n &&
			    strncmp(fields[i].member, path, n) == 0)
				return &fields[i];
			continue;
		}
		snprintf(name, sizeof(name), "%s.%s", fields[i].section,
			 fields[i].member);
		dot = name;
		if (strlen(dot) == n && strncmp(dot, path, n) == 0)
			return &fields[i];
	}
	return NULL;
}

/* The validator's problems, each set on its field (by line for a list);
 * those of members the form does not show go into *others. */
static void
map_problems(struct input *in, const json_t *problems, json_t *others)
{
	const json_t *p;
	const char *path, *why;
	const struct field *f;
	char buf[SHOWN_MAX + 16];
	const json_t *item;
	size_t i, k;
	long idx;

	json_array_foreach(problems, i, p) {
		path = json_string_value(json_object_get(p, "field"));
		why = json_string_value(json_object_get(p, "problem"));
		if (path == NULL)
			continue;
		if ((f = problem_field(path, &idx)) == NULL) {
			json_array_append_new(
			    others, json_pack("{s:s, s:s}", "field", path,
					      "problem", why ? why : ""));
			continue;
		}
		k = (size_t)(f - fields);
		if (f->kind == LIST && idx >= 0 &&
		    (item = json_array_get(in[k].value, (size_t)idx)) != NULL) {
			shown(json_string_value(item), json_string_length(item),
			      buf, sizeof(buf));
			add_problem(&in[k], f->bad_line, in[k].lines[idx], buf,
				    why);
		} else {
			add_problem(&in[k], N_("Not accepted: {problem}"), 0,
				    "", why);
		}
	}
}

/* What a problem's view item shows. */
static const char *const problem_members[] = {"line", "value", "problem", NULL};
static const char *const other_members[] = {"field", "problem", NULL};

/* Per-field values and flags of the form. */
static void
fill_form(struct sk_view *v, const json_t *pv, const struct input *in)
{
	const json_t *policy = json_object_get(pv, "policy");
	const json_t *over = json_object_get(pv, "overrides");
	const json_t *p;
	const char *word;
	char name[96];
	size_t i, j, k;
	struct sk_view *item;

	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];

		if (in != NULL)
			sk_view_set(v, f->name, in[i].raw);
		else
			set_value(v, f->name, effective(policy, f));
		snprintf(name, sizeof(name), "%s_set_here", f->name);
		sk_view_set_bool(v, name, overridden(over, f));
		if (f->kind == WORD) {
			word = in != NULL
				   ? in[i].raw
				   : json_string_value(effective(policy, f));
			for (j = 0; word != NULL && j < SK_ARRAY_SIZE(words);
			     j++)
				if (strcmp(word, words[j]) == 0) {
					snprintf(name, sizeof(name), "%s_is_%s",
						 f->name, words[j]);
					sk_view_set_bool(v, name, true);
				}
		}
		if (in == NULL || in[i].problems == NULL)
			continue;
		snprintf(name, sizeof(name), "%s_problems", f->name);
		json_array_foreach(in[i].problems, k, p) {
			if ((item = sk_view_add(v, name)) == NULL)
				return;
			sk_console_set_json(item, p, problem_members);
			sk_view_set_msg(
			    item, "text",
			    json_string_value(json_object_get(p, "msgid")));
		}
		sk_view_set_bool(v, "has_problems", true);
	}
}

/* The page: the effective policy (in NULL), or the form as sent with its
 * problems (a refusal). */
static void
page(struct sk_console *c, int status, const json_t *pv, const struct input *in,
     const json_t *others, const char *why)
{
	struct sk_view *v = sk_console_view(c, N_("Policy"), "policy");
	struct sk_view *item;
	char url[192];
	const json_t *p;
	size_t i;

	if (v != NULL) {
		sk_console_flash(c, v, done_msgs);
		sk_console_url(url, sizeof(url), "/policy");
		sk_view_set(v, "action_url", url);
		sk_view_set_int(v, "version",
				(long long)json_integer_value(
				    json_object_get(pv, "version")));
		fill_form(v, pv, in);
		json_array_foreach(others, i, p) {
			if ((item = sk_view_add(v, "other_problems")) == NULL)
				break;
			sk_console_set_json(item, p, other_members);
			sk_view_set_bool(v, "has_problems", true);
		}
		if (why != NULL) {
			sk_view_set_msg(v, "refusal", why);
			sk_view_set(v, "ip", c->who.ip);
		}
		if (in != NULL && why != NULL)
			sk_view_set_bool(v, "offer_force", true);
	}
	sk_console_send(c, status, "console_policy", &v);
}

static void
save(struct sk_console *c)
{
	struct input in[NFIELDS];
	struct sk_policy_change ch;
	json_t *pv = NULL, *patch = NULL, *problems = NULL, *view = NULL;
	json_t *actor = NULL, *others = NULL;
	char *force = NULL;
	bool bad = false;
	size_t i;
	int r;

	memset(in, 0, sizeof(in));
	if (!sk_console_post_ok(c))
		return;
	if ((r = read_form(c, in)) != 0) {
		if (r == SK_ERR_INVALID)
			sk_req_refuse(c->req, c->resp, SK_ERR_INVALID,
				      N_("Bad request"),
				      N_("The form was incomplete or "
					 "malformed. Nothing was changed. "
					 "Reload the page and try again."));
		else
			sk_console_fail(c, r);
		goto out;
	}
	force = sk_form_short(c->req, "force", 8);
	if ((r = sk_policy_view(sk_daemon.cfg, c->who.tenant->id, &pv)) != 0) {
		sk_console_fail(c, r);
		goto out;
	}
	if ((others = json_array()) == NULL) {
		c->resp->oom = true;
		goto out;
	}
	for (i = 0; i < NFIELDS; i++)
		bad |= in[i].problems != NULL;
	if (bad) {
		/* Lines that are not even text: refused before the
		 * validator, with the same messages. */
		page(c, 400, pv, in, others, NULL);
		goto out;
	}
	if ((r = build_patch(in, pv, &patch)) != 0) {
		sk_console_fail(c, r);
		goto out;
	}
	if (json_object_size(patch) == 0) {
		sk_console_done(c, "/policy", "unchanged");
		goto out;
	}
	if ((actor = sk_admin_actor(&c->who)) == NULL) {
		c->resp->oom = true;
		goto out;
	}
	memset(&ch, 0, sizeof(ch));
	ch.tenant = c->who.tenant->id;
	ch.body = patch;
	ch.patch = true;
	/* The admin API's lock-out rule, and its force. */
	if (force == NULL || strcmp(force, "yes") != 0) {
		ch.accept = sk_admin_keeps_caller;
		ch.arg = &c->who;
	}
	ch.actor = actor;
	ch.ip = c->who.ip;
	ch.via = "console";
	r = sk_policy_change(sk_daemon.cfg, &ch, &problems, &view);
	switch (r) {
	case 0:
		sk_info("console: %s changed the policy of %s" SK_REQ_FMT,
			c->who.who, c->who.tenant->id, SK_REQ_ARGS(c->req));
		sk_console_done(c, "/policy", "saved");
		break;
	case SK_ERR_INVALID:
		map_problems(in, problems, others);
		page(c, 400, pv, in, others, NULL);
		break;
	case SK_ERR_DENIED:
		page(c, 409, pv, in, others,
		     N_("This change would lock you out: your address ({ip}) "
			"would not be in the new IP allowlist or administrator "
			"allowlist. Nothing was saved. Add your address, or "
			"tick \"Save even if it locks me out\"."));
		break;
	default:
		sk_console_fail(c, r);
		break;
	}
out:
	inputs_free(in);
	free(force);
	json_decref(pv);
	json_decref(patch);
	json_decref(problems);
	json_decref(view);
	json_decref(actor);
	json_decref(others);
}

void
sk_console_policy(struct sk_console *c, const char *method, const char *rest)
{
	json_t *pv = NULL;
	int r;

	if (rest[0] != '\0') {
		sk_console_not_found(c);
		return;
	}
	if (strcmp(method, "POST") == 0) {
		save(c);
		return;
	}
	if ((r = sk_policy_view(sk_daemon.cfg, c->who.tenant->id, &pv)) != 0) {
		sk_console_fail(c, r);
		return;
	}
	page(c, 200, pv, NULL, NULL, NULL);
	json_decref(pv);
}

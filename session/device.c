/*
 * The device registry per user (sekisho/device.h): the keys
 * SK_KEY_DEVICES, SK_KEY_DEVICES_SEEN and SK_KEY_DEVICE_NOTICES of the
 * user's slot, and the pure helpers that summarise a request's browser,
 * network and language.
 */
#include "sekisho/device.h"
#include "schema_int.h"
#include "session_int.h"
#include "store_int.h"

#include "sekisho/err.h"
#include "sekisho/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The most of a header the helpers read. */
#define UA_READ 512
#define AL_READ 1024
/* The most digits of a major version shown. */
#define VERSION_DIGITS 5
/* The longest unknown product name shown. */
#define PRODUCT_MAX 24

/* ---- user agent ---- */

/* Browsers, most specific first: Edge and Opera also say Chrome, Chrome
 * also says Safari. The version follows the token; Safari's follows
 * "Version/". */
static const struct {
	const char *token;
	const char *name;
} browsers[] = {
    {"Edg/", "Edge"},
    {"EdgA/", "Edge"},
    {"EdgiOS/", "Edge"},
    {"Edge/", "Edge"},
    {"OPR/", "Opera"},
    {"SamsungBrowser/", "Samsung Internet"},
    {" Line/", "LINE"},
    {"Firefox/", "Firefox"},
    {"FxiOS/", "Firefox"},
    {"CriOS/", "Chrome"},
    {"Chrome/", "Chrome"}, /* HeadlessChrome/ too */
    {"Chromium/", "Chrome"},
    {"Version/", "Safari"}, /* with Safari/ (checked below) */
    {"Trident/", "Internet Explorer"},
};

/* Systems, most specific first: iOS browsers say "like Mac OS X",
 * Android ones say Linux. */
static const struct {
	const char *token;
	const char *name;
} systems[] = {
    {"Windows", "Windows"}, {"Android", "Android"}, {"iPhone", "iOS"},
    {"iPad", "iOS"},	    {"iPod", "iOS"},	    {"CrOS", "ChromeOS"},
    {"Mac OS X", "macOS"},  {"Macintosh", "macOS"}, {"Linux", "Linux"},
};

/* The major version at v (digits up to the first non-digit) in out;
 * "" when there is none. */
static void
major(const char *v, char out[VERSION_DIGITS + 1])
{
	size_t n = 0;

	while (n < VERSION_DIGITS && isdigit((unsigned char)v[n])) {
		out[n] = v[n];
		n++;
	}
	out[n] = '\0';
}

/* The first product of ua ("curl/8.5.0" -> "curl", "8") when its name is
 * plain; false when not. */
static bool
product(const char *ua, char name[PRODUCT_MAX + 1],
	char ver[VERSION_DIGITS + 1])
{
	size_t n = strspn(ua, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
			      "vwxyz0123456789._-");

	if (n == 0 || n > PRODUCT_MAX || ua[n] != '/')
		return false;
	memcpy(name, ua, n);
	name[n] = '\0';
	major(ua + n + 1, ver);
	return true;
}

void
sk_device_ua_summary(const char *ua, char out[SK_DEVICE_UA_LEN])
{
	char buf[UA_READ + 1], ver[VERSION_DIGITS + 1] = "",
						    pname[PRODUCT_MAX + 1];
	const char *name = NULL, *os = NULL, *p;
	size_t i;

	snprintf(out, SK_DEVICE_UA_LEN, "Unknown browser");
	if (ua == NULL)
		return;
	/* A bounded copy: the searches below never read past it. */
	snprintf(buf, sizeof(buf), "%s", ua);
	for (i = 0; i < sizeof(browsers) / sizeof(browsers[0]); i++) {
		if ((p = strstr(buf, browsers[i].token)) == NULL)
			continue;
		if (strcmp(browsers[i].name, "Safari") == 0 &&
		    strstr(buf, "Safari/") == NULL)
			continue;
		name = browsers[i].name;
		if (strcmp(browsers[i].token, "Trident/") != 0)
			major(p + strlen(browsers[i].token), ver);
		break;
	}
	if (name == NULL && strstr(buf, "Safari/") != NULL)
		name = "Safari";
	for (i = 0; i < sizeof(systems) / sizeof(systems[0]); i++)
		if (strstr(buf, systems[i].token) != NULL) {
			os = systems[i].name;
			break;
		}
	if (name == NULL && os == NULL && product(buf, pname, ver))
		name = pname;
	if (name == NULL)
		name = "Unknown browser";
	snprintf(out, SK_DEVICE_UA_LEN, "%s%s%s%s%s", name,
		 ver[0] != '\0' ? " " : "", ver, os != NULL ? " on " : "",
		 os != NULL ? os : "");
}

/* ---- network ---- */

int
sk_device_network(const char *ip, char out[SK_DEVICE_NET_LEN])
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	snprintf(out, SK_DEVICE_NET_LEN, "unknown");
	if (ip == NULL)
		return SK_ERR_INVALID;
	if (inet_pton(AF_INET, ip, a) == 1) {
		a[3] = 0;
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
			memmove(a, a + 12, 4);
			a[3] = 0;
		} else {
			/* A site usually holds a /48: its hosts are one
			 * network to the user. */
			memset(a + 6, 0, 10);
			if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
				return SK_ERR_INVALID;
			snprintf(out, SK_DEVICE_NET_LEN, "%s/48", text);
			return 0;
		}
	} else {
		return SK_ERR_INVALID;
	}
	if (inet_ntop(AF_INET, a, text, sizeof(text)) == NULL)
		return SK_ERR_INVALID;
	snprintf(out, SK_DEVICE_NET_LEN, "%s/24", text);
	return 0;
}

/* ---- language ---- */

/* A q-value ("1", "0.8", "1.000") in thousandths; -1 when malformed. */
static int
qvalue(const char *s, size_t n)
{
	int q, scale = 100;
	size_t i;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = (s[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return -1;
	for (i = 2; i < n; i++, scale /= 10) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q <= 1000 ? q : -1;
}

/* One "tag;q=v" of the list (spaces around parts allowed): the primary
 * language subtag in tag (lowercase; "" when too long) and its q. */
static int
entry(const char *s, size_t n, char tag[9])
{
	size_t i = 0, t, k;
	int q = 1000;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (t = 0; i + t < n && isalpha((unsigned char)s[i + t]); t++)
		;
	if (t == 0 && i < n && s[i] == '*')
		t = 1;
	if (t == 0 || t > 8)
		return -1;
	for (k = 0; k < t; k++)
		tag[k] = (char)tolower((unsigned char)s[i + k]);
	tag[t] = '\0';
	/* Any subtags, then the parameters: only q matters. */
	for (i += t; i < n && s[i] != ';'; i++)
		;
	while (i < n) {
		size_t start, end;
		for (i++; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
			;
		for (start = i; i < n && s[i] != ';'; i++)
			;
		for (end = i;
		     end > start && (s[end - 1] == ' ' || s[end - 1] == '\t');
		     end--)
			;
		if (end - start >= 2 && (s[start] == 'q' || s[start] == 'Q') &&
		    s[start + 1] == '=')
			q = qvalue(s + start + 2, end - start - 2);
	}
	return q;
}

const char *
sk_device_lang(const char *al)
{
	char buf[AL_READ + 1], tag[9];
	/* q of ja, en and "*" (-1: not listed) and where listed. */
	int qja = -1, qen = -1, qany = -1, pja = 0, pen = 0, pos = 0, q;
	const char *p, *end;

	if (al == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", al);
	for (p = buf; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		pos++;
		if ((q = entry(p, (size_t)(end - p), tag)) < 0)
			continue; /* malformed: ignored, as RFC 9110 allows */
		/* The first mention of a language counts. */
		if (strcmp(tag, "ja") == 0 && qja < 0) {
			qja = q;
			pja = pos;
		} else if (strcmp(tag, "en") == 0 && qen < 0) {
			qen = q;
			pen = pos;
		} else if (strcmp(tag, "*") == 0 && qany < 0) {
			qany = q;
		}
	}
	/* "*" stands for the languages not listed, after those listed. */
	if (qja < 0) {
		qja = qany > 0 ? qany : 0;
		pja = pos + 2;
	}
	if (qen < 0) {
		qen = qany > 0 ? qany : 0;
		pen = pos + 1;
	}
	if (qja == 0 && qen == 0)
		return NULL;
	if (qja != qen)
		return qja > qen ? "ja" : "en";
	return pja < pen ? "ja" : "en";
}

/* ---- the registry ---- */

static bool
device_id_ok(const char *d)
{
	return d != NULL && strlen(d) == 64 &&
	       strspn(d, "0123456789abcdef") == 64;
}

/*
 * KEYS: devices hash, seen set, notices counter. ARGV: device id ("":
 * none), ua, net, max devices, notices max, notices window s, keep s.
 * Returns {new, notify, now}.
 */
static struct sk_script record_script = {
    .src = "local now = tonumber(redis.call('TIME')[1])\n"
	   "local dev, new = ARGV[1], 1\n"
	   "if dev ~= '' then\n"
	   "  local first = now\n"
	   "  local old = redis.call('HGET', KEYS[1], dev)\n"
	   "  if old then\n"
	   "    new = 0\n"
	   "    local ok, o = pcall(cjson.decode, old)\n"
	   "    if ok and type(o) == 'table' and tonumber(o.first) then\n"
	   "      first = tonumber(o.first)\n"
	   "    end\n"
	   "  end\n"
	   "  redis.call('HSET', KEYS[1], dev, cjson.encode({first = first,\n"
	   "    last = now, ua = ARGV[2], net = ARGV[3]}))\n"
	   "  redis.call('ZADD', KEYS[2], now, dev)\n"
	   "  local keep = tonumber(ARGV[7])\n"
	   /* Unseen for keep seconds: the cookie is gone, so is the device. */
	   "  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf',\n"
	   "    '(' .. (now - keep))\n"
	   "  local n = redis.call('ZCARD', KEYS[2]) - #gone\n"
	   "  local max = tonumber(ARGV[4])\n"
	   "  if n > max then\n"
	   "    for _, d in ipairs(redis.call('ZRANGE', KEYS[2], #gone,\n"
	   "        #gone + n - max - 1)) do\n"
	   "      gone[#gone + 1] = d\n"
	   "    end\n"
	   "  end\n"
	   "  for _, d in ipairs(gone) do\n"
	   "    redis.call('HDEL', KEYS[1], d)\n"
	   "    redis.call('ZREM', KEYS[2], d)\n"
	   "  end\n"
	   "  redis.call('EXPIRE', KEYS[1], keep)\n"
	   "  redis.call('EXPIRE', KEYS[2], keep)\n"
	   "end\n"
	   "local notify = 0\n"
	   "if new == 1 then\n"
	   "  local c = redis.call('INCR', KEYS[3])\n"
	   "  if redis.call('TTL', KEYS[3]) < 0 then\n"
	   "    redis.call('EXPIRE', KEYS[3], ARGV[6])\n"
	   "  end\n"
	   "  if c <= tonumber(ARGV[5]) then notify = 1 end\n"
	   "end\n"
	   "return {new, notify, now}\n",
};

int
sk_device_record(const char *user_id, const char *device, const char *ua,
		 const char *net, struct sk_device_seen *out)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	memset(out, 0, sizeof(*out));
	if (!sk_user_id_ok(user_id) ||
	    (device != NULL && !device_id_ok(device)))
		return SK_ERR_INVALID;
	sk_cmd_init(&c);
	sk_cmd_add_fmt(&c, SK_KEY_DEVICES, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_DEVICES_SEEN, user_id);
	sk_cmd_add_fmt(&c, SK_KEY_DEVICE_NOTICES, user_id);
	sk_cmd_add_str(&c, device != NULL ? device : "");
	sk_cmd_add_str(&c, ua != NULL ? ua : "");
	sk_cmd_add_str(&c, net != NULL ? net : "");
	sk_cmd_add_int(&c, SK_DEVICES_MAX);
	sk_cmd_add_int(&c, SK_DEVICE_NOTIFY_MAX);
	sk_cmd_add_int(&c, SK_DEVICE_NOTIFY_WINDOW_S);
	sk_cmd_add_int(&c, SK_DEVICE_KEEP_S);
	if ((r = sk_cmd_eval(&c, &record_script, 3, &rep)) != 0)
		return r;
	if (rep->type != SK_REPLY_ARRAY || rep->nelem != 3 ||
	    rep->elem[0]->type != SK_REPLY_INTEGER ||
	    rep->elem[1]->type != SK_REPLY_INTEGER ||
	    rep->elem[2]->type != SK_REPLY_INTEGER) {
		r = SK_ERR_STORE;
		goto out;
	}
	out->new_device = rep->elem[0]->integer == 1;
	out->notify = rep->elem[1]->integer == 1;
	out->now = rep->elem[2]->integer;
out:
	sk_reply_free(&rep);
	return r;
}

/* A stored device (id, its JSON) as the API shows it; NULL when the
 * stored value does not parse. */
static json_t *
device_json(const char *id, const char *stored, size_t len)
{
	json_t *v = json_loadb(stored, len, 0, NULL), *o = NULL;
	const char *ua, *net;

	if (!json_is_object(v))
		goto out;
	ua = json_string_value(json_object_get(v, "ua"));
	net = json_string_value(json_object_get(v, "net"));
	o = json_pack(
	    "{s:s, s:o, s:o, s:s, s:s}", "id", id, "first_seen",
	    sk_json_time(json_integer_value(json_object_get(v, "first"))),
	    "last_seen",
	    sk_json_time(json_integer_value(json_object_get(v, "last"))),
	    "user_agent", ua != NULL ? ua : "", "network",
	    net != NULL ? net : "");
out:
	json_decref(v);
	return o;
}

/* KEYS: user hash, devices hash, seen set. ARGV: tenant. false for no
 * user of the tenant, else {id, stored, ...}, the last seen first. */
static struct sk_script list_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then\n"
	   "  return false\n"
	   "end\n"
	   "local out = {}\n"
	   "for _, d in ipairs(redis.call('ZREVRANGE', KEYS[3], 0, -1)) do\n"
	   "  local v = redis.call('HGET', KEYS[2], d)\n"
	   "  if v then\n"
	   "    out[#out + 1] = d\n"
	   "    out[#out + 1] = v\n"
	   "  end\n"
	   "end\n"
	   "return out\n",
};

/* KEYS and ARGV as the list's, and ARGV[2] the device. Returns -1 for no
 * user of the tenant, 0 for no such device, else what was stored. */
static struct sk_script forget_script = {
    .src = "if redis.call('HGET', KEYS[1], 'tenant') ~= ARGV[1] then\n"
	   "  return -1\n"
	   "end\n"
	   "local v = redis.call('HGET', KEYS[2], ARGV[2])\n"
	   "redis.call('ZREM', KEYS[3], ARGV[2])\n"
	   "if not v then return 0 end\n"
	   "redis.call('HDEL', KEYS[2], ARGV[2])\n"
	   "return v\n",
};

static bool
registry_keys(struct sk_cmd *c, const char *tenant, const char *uid)
{
	if (!sk_tenant_id_ok(tenant) || !sk_user_id_ok(uid))
		return false;
	sk_cmd_init(c);
	sk_cmd_add_fmt(c, SK_KEY_USER, uid);
	sk_cmd_add_fmt(c, SK_KEY_DEVICES, uid);
	sk_cmd_add_fmt(c, SK_KEY_DEVICES_SEEN, uid);
	sk_cmd_add_str(c, tenant);
	return true;
}

int
sk_device_list(const char *tenant, const char *user_id, json_t **out)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	json_t *a = NULL, *o;
	size_t i;
	int r;

	*out = NULL;
	if (!registry_keys(&c, tenant, user_id))
		return SK_ERR_NOT_FOUND;
	if ((r = sk_cmd_eval(&c, &list_script, 3, &rep)) != 0)
		return r;
	r = SK_ERR_NOT_FOUND;
	if (rep->type == SK_REPLY_NIL)
		goto out;
	r = SK_ERR_STORE;
	if (rep->type != SK_REPLY_ARRAY)
		goto out;
	r = SK_ERR_NOMEM;
	if ((a = json_array()) == NULL)
		goto out;
	for (i = 0; i + 1 < rep->nelem; i += 2) {
		if (rep->elem[i]->type != SK_REPLY_STRING ||
		    rep->elem[i + 1]->type != SK_REPLY_STRING)
			continue;
		/* A value that does not parse is skipped, not an error: the
		 * list still shows the rest. */
		if ((o = device_json(rep->elem[i]->str, rep->elem[i + 1]->str,
				     rep->elem[i + 1]->len)) != NULL &&
		    json_array_append_new(a, o) != 0)
			goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
out:
	json_decref(a);
	sk_reply_free(&rep);
	return r;
}

int
sk_device_forget(const char *tenant, const char *user_id, const char *device,
		 json_t **out)
{
	struct sk_reply *rep = NULL;
	struct sk_cmd c;
	int r;

	*out = NULL;
	if (!device_id_ok(device))
		return SK_ERR_INVALID;
	if (!registry_keys(&c, tenant, user_id))
		return SK_ERR_NOT_FOUND;
	sk_cmd_add_str(&c, device);
	if ((r = sk_cmd_eval(&c, &forget_script, 3, &rep)) != 0)
		return r;
	if (rep->type == SK_REPLY_INTEGER)
		r = SK_ERR_NOT_FOUND;
	else if (rep->type != SK_REPLY_STRING)
		r = SK_ERR_STORE;
	else if ((*out = device_json(device, rep->str, rep->len)) == NULL &&
		 (*out = json_pack("{s:s}", "id", device)) == NULL)
		r = SK_ERR_NOMEM;
	sk_reply_free(&rep);
	return r;
}

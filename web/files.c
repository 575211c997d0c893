/*
 * The embedded files (tools/embed_web.cmake) and the static ones' types
 * and content hashes, computed once.
 */
#include "web_int.h"

#include "sekisho/util.h"

#include <pthread.h>
#include <string.h>

const struct sk_web_file *
sk_web_file(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && sk_web_files[i].name != NULL; i++)
		if (strcmp(sk_web_files[i].name, name) == 0)
			return &sk_web_files[i];
	return NULL;
}

#define MAX_STATIC 16

static struct {
	char name[64];
	char hash[17];
	struct sk_web_static st;
} statics[MAX_STATIC];
static size_t nstatics;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *
type_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return "application/octet-stream";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

static void
index_static(void)
{
	char hex[65];
	size_t i;

	for (i = 0; sk_web_files[i].name != NULL && nstatics < MAX_STATIC;
	     i++) {
		const struct sk_web_file *f = &sk_web_files[i];
		if (strncmp(f->name, "static/", 7) != 0 ||
		    strlen(f->name + 7) >= sizeof(statics[0].name))
			continue;
		memcpy(statics[nstatics].name, f->name + 7,
		       strlen(f->name + 7) + 1);
		sk_sha256_hex(f->data, f->len, hex);
		memcpy(statics[nstatics].hash, hex, 16);
		statics[nstatics].hash[16] = '\0';
		statics[nstatics].st.data = f->data;
		statics[nstatics].st.len = f->len;
		statics[nstatics].st.content_type = type_of(f->name);
		statics[nstatics].st.hash = statics[nstatics].hash;
		nstatics++;
	}
}

const struct sk_web_static *
sk_web_static(const char *name)
{
	size_t i;

	pthread_once(&once, index_static);
	for (i = 0; name != NULL && i < nstatics; i++)
		if (strcmp(statics[i].name, name) == 0)
			return &statics[i].st;
	return NULL;
}

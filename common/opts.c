/*
 * Command-line options: a table (struct sk_opt) read by getopt_long(3),
 * and the usage lines made from the same table.
 */
#include "sekisho/opts.h"
#include "sekisho/err.h"

#include <string.h>

int
sk_opts_start(struct sk_opts *o, const struct sk_opt *tab, size_t n, bool stop)
{
	size_t i, s = 0, l = 0;

	memset(o, 0, sizeof(*o));
	if (n > SK_OPTS_MAX)
		return SK_ERR_INVALID;
	o->tab = tab;
	o->n = n;
	if (stop)
		o->shortopts[s++] = '+';
	for (i = 0; i < n; i++) {
		if (tab[i].letter != 0) {
			o->shortopts[s++] = (char)tab[i].letter;
			if (tab[i].arg != NULL)
				o->shortopts[s++] = ':';
		}
		if (tab[i].name != NULL) {
			o->longopts[l].name = tab[i].name;
			o->longopts[l].has_arg = tab[i].arg != NULL
						     ? required_argument
						     : no_argument;
			o->longopts[l].val = 256 + (int)i;
			l++;
		}
	}
	optind = 0; /* glibc: a full reset, for a second parse */
	return 0;
}

int
sk_opts_next(struct sk_opts *o, int argc, char **argv, const char **arg)
{
	size_t i;
	int ch;

	*arg = NULL;
	if ((ch = getopt_long(argc, argv, o->shortopts, o->longopts, NULL)) ==
	    -1)
		return -1;
	if (ch >= 256 && (size_t)(ch - 256) < o->n) {
		*arg = optarg;
		return ch - 256;
	}
	for (i = 0; i < o->n; i++) {
		if (o->tab[i].letter != 0 && ch == o->tab[i].letter) {
			*arg = optarg;
			return (int)i;
		}
	}
	return -2; /* '?': getopt has told why */
}

/* "-c FILE", "--delay DURATION", "-c, --config FILE" */
static void
label(char *buf, size_t len, const struct sk_opt *opt)
{
	snprintf(buf, len, "%s%s%s%s%s%s%s", opt->letter ? "-" : "",
		 opt->letter ? (char[]){(char)opt->letter, '\0'} : "",
		 opt->letter && opt->name ? ", " : "", opt->name ? "--" : "",
		 opt->name ? opt->name : "", opt->arg ? " " : "",
		 opt->arg ? opt->arg : "");
}

void
sk_opts_usage(FILE *f, const char *head, const struct sk_opt *tab, size_t n)
{
	char buf[96];
	size_t i, w = 0;

	fputs(head, f);
	for (i = 0; i < n; i++) {
		label(buf, sizeof(buf), &tab[i]);
		if (tab[i].help != NULL && strlen(buf) > w)
			w = strlen(buf);
	}
	for (i = 0; i < n; i++) {
		if (tab[i].help == NULL)
			continue;
		label(buf, sizeof(buf), &tab[i]);
		fprintf(f, "  %-*s  %s\n", (int)w, buf, tab[i].help);
	}
}

/*
 * Command-line options of sekisho and sekishoctl: one table format read
 * by getopt_long(3), and one usage printer.
 */
#ifndef SEKISHO_OPTS_H
#define SEKISHO_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SK_OPTS_MAX 16

/* One option: -letter and/or --name, a flag or taking an argument. */
struct sk_opt {
	int letter;	  /* 'c' for -c; 0: only --name */
	const char *name; /* "delay" for --delay; NULL: only -letter */
	const char *arg;  /* what it takes, in the usage ("FILE"); NULL: a
			     flag */
	const char *help; /* its line in the usage; NULL: not listed */
};

/* A parse under way (sk_opts_start(), then sk_opts_next()). */
struct sk_opts {
	const struct sk_opt *tab;
	size_t n;
	char shortopts[SK_OPTS_MAX * 2 + 2];
	struct option longopts[SK_OPTS_MAX + 1];
};

/*
 * Starts parsing argv from argv[1] against tab (n options, at most
 * SK_OPTS_MAX): getopt_long's state is reset. With stop, options end at
 * the first operand (a command's own arguments follow); otherwise
 * operands may come between options. Returns 0, or SK_ERR_INVALID when
 * the table is too large.
 */
int sk_opts_start(struct sk_opts *o, const struct sk_opt *tab, size_t n,
		  bool stop);
/*
 * The next option given: its index in the table, with *arg its argument
 * (NULL for a flag); -1 when there are no more (optind is then the first
 * operand); -2 for an unknown option or a missing argument (getopt has
 * said which on stderr).
 */
int sk_opts_next(struct sk_opts *o, int argc, char **argv, const char **arg);

/* Prints head, then one line per option with help
 * ("  -c FILE  configuration file"), aligned. */
void sk_opts_usage(FILE *f, const char *head, const struct sk_opt *tab,
		   size_t n);

#endif

/*
 * sekishoctl: the Sekisho admin command line.
 *
 *   sekishoctl version
 *   sekishoctl check-config [-c FILE]
 *   sekishoctl help
 *
 * Exit status: 0 success, 1 the command failed (e.g. a bad config),
 * 2 usage error.
 */
#include "sekisho/config.h"
#include "sekisho/err.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/sekisho/sekisho.yaml"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: sekishoctl COMMAND [OPTIONS]\n"
		"\n"
		"commands:\n"
		"  version                   print the version\n"
		"  check-config [-c FILE]    check a configuration file\n"
		"                            (default " DEFAULT_CONFIG ")\n"
		"  help                      print this help\n");
}

static int
cmd_version(int argc, char **argv)
{
	if (argc > 1) {
		usage(stderr);
		return 2;
	}
	printf("sekishoctl %s\n", SK_VERSION);
	return 0;
}

static int
cmd_check_config(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	struct sk_config *cfg = NULL;
	char *errors = NULL;
	int ch, r;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	r = sk_config_load(path, &cfg, &errors);
	if (r != 0) {
		if (errors != NULL && errors[0] != '\0')
			fputs(errors, stderr);
		else
			fprintf(stderr, "%s: %s\n", path, sk_err_str(r));
		free(errors);
		return 1;
	}
	sk_config_free(&cfg);
	printf("%s: ok\n", path);
	return 0;
}

static int
cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"version", cmd_version},
    {"check-config", cmd_check_config},
    {"help", cmd_help},
    {"-h", cmd_help},
    {"--help", cmd_help},
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "sekishoctl: unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}

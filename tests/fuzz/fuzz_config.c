/*
 * Fuzz target: the YAML configuration parser. Any input must either load
 * or produce error lines; never crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/config.h"
#include "sekisho/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/sk-fuzz-config-XXXXXX";
	struct sk_config *cfg = NULL;
	char *errors = NULL;
	int fd, r;

	if ((fd = mkstemp(path)) < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	r = sk_config_load(path, sk_provider_kinds, &cfg, &errors);
	if (r == 0 && (cfg == NULL || errors != NULL))
		abort();
	if (r != 0 && cfg != NULL)
		abort();
	sk_config_free(&cfg);
	free(errors);
	unlink(path);
	return 0;
}

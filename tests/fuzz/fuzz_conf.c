/*
 * fuzz_conf.c - libFuzzer target for the configuration parser: parse the
 * input as a whole file (includes disabled, so no file is ever opened),
 * check the result's basic invariants, free it.
 */
#include "compat.h"

#include <stdio.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *conf;
	char *error = NULL;
	size_t i;

	conf = conf_parse_buffer("fuzz.conf", (const char *)data, size,
	    CONF_PARSE_NO_INCLUDE, &error);
	if (conf == NULL) {
		/* every error names the file */
		if (error == NULL || strncmp(error, "fuzz.conf:", 10) != 0)
			abort();
		free(error);
		return 0;
	}
	if (conf->listener_count == 0)
		abort();
	for (i = 0; i < conf->listener_count; i++) {
		if (conf->listeners[i].port == 0 ||
		    conf->listeners[i].address_count == 0)
			abort();
	}
	if (conf->user_expire_ms < CONF_USER_EXPIRE_MIN_MS)
		abort();
	conf_free(&conf);
	return 0;
}

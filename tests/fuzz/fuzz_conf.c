/*
 * fuzz_conf.c - libFuzzer target for the configuration parser: parse the
 * input as a whole file (includes disabled, so no file is ever opened),
 * check the result's basic invariants, free it.
 */
#include "compat.h"

#include <stdio.h>

#include "conf.h"
#include "fuzz_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *conf;
	char *error = NULL;

	conf = conf_parse_buffer("fuzz.conf", (const char *)data, size,
	    CONF_PARSE_NO_INCLUDE, &error);
	if (conf == NULL) {
		/* every error names the file */
		if (error == NULL || strncmp(error, "fuzz.conf:", 10) != 0)
			abort();
		free(error);
		return 0;
	}
	fuzz_check_conf(conf);
	conf_free(&conf);
	return 0;
}

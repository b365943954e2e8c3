/*
 * fuzz_conf.h - the check every configuration fuzzer applies to a parsed
 * struct conf: at least one listener, each with a port and an address,
 * and director_user_expire at least Dovecot's minimum.  Aborts (a fuzzer
 * finding) otherwise.
 */
#ifndef DIRECTOR_FUZZ_CONF_H
#define DIRECTOR_FUZZ_CONF_H

#include <stdlib.h>

#include "conf.h"

static inline void
fuzz_check_conf(const struct conf *conf)
{
	size_t i;

	if (conf->listener_count == 0)
		abort();
	for (i = 0; i < conf->listener_count; i++) {
		if (conf->listeners[i].port == 0 ||
		    conf->listeners[i].address_count == 0)
			abort();
	}
	if (conf->user_expire_ms < CONF_USER_EXPIRE_MIN_MS)
		abort();
}

#endif

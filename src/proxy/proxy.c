/*
 * proxy.c - what the proxies share (see proxy.h).
 */
#include "compat.h"

#include <stdlib.h>

#include "proxy.h"

void
proxy_session_id(struct proxy_env *env, char *buf, size_t size)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint64_t seq = ++env->session_seq;
	uint32_t r = arc4random();
	size_t i;

	for (i = 0; i + 1 < size && i < 16; i++) {
		unsigned int v;

		if (i < 10) {
			v = (unsigned int)(seq & 63);
			seq >>= 6;
		} else {
			v = r & 63;
			r >>= 6;
		}
		buf[i] = b64[v];
	}
	buf[i] = '\0';
}

/*
 * strnum.c - strict decimal numbers (see strnum.h).
 */
#include "compat.h"

#include "strnum.h"

int
str_to_uint64(const char *s, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*v_r = v;
	return 0;
}

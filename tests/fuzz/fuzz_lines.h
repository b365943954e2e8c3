/*
 * fuzz_lines.h - the output check every line-protocol fuzzer shares:
 * at most max bytes, no NUL, every LF preceded by CR, ends with a full
 * line.  Aborts (a fuzzer finding) otherwise.
 */
#ifndef DIRECTOR_FUZZ_LINES_H
#define DIRECTOR_FUZZ_LINES_H

#include <stdlib.h>

#include "buf.h"

static inline void
fuzz_check_lines(const struct buf *out, size_t max)
{
	size_t i;

	if (out->len > max)
		abort();
	for (i = 0; i < out->len; i++) {
		if (out->data[i] == '\0')
			abort();
		if (out->data[i] == '\n' &&
		    (i == 0 || out->data[i - 1] != '\r'))
			abort();
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		abort();
}

#endif

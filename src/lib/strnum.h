/*
 * strnum.h - strict decimal numbers from untrusted text.
 */
#ifndef DIRECTOR_STRNUM_H
#define DIRECTOR_STRNUM_H

#include <stdint.h>

/* Parses s, one or more ASCII digits and nothing else (no sign, no
 * blanks), into *v_r.  Returns 0, or -1 (nothing set) when s is not such
 * a number or exceeds max. */
int str_to_uint64(const char *s, uint64_t max, uint64_t *v_r);

#endif

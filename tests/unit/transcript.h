/*
 * transcript.h - the text a unit test builds while it plays the shell
 * around a pure protocol module: bytes the module wrote and "<ACTION>"
 * marks, compared with the expected conversation at the end.
 *
 * Header-only, for the test programs.  Define TRANSCRIPT_MAX before
 * including it to change the size.  Needs cmocka.h included first.
 */
#ifndef DIRECTOR_TEST_TRANSCRIPT_H
#define DIRECTOR_TEST_TRANSCRIPT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef TRANSCRIPT_MAX
#define TRANSCRIPT_MAX 65536
#endif

struct transcript {
	char text[TRANSCRIPT_MAX];
	size_t len;
};

static inline void
transcript_add(struct transcript *t, const char *s, size_t len)
{
	assert_true(t->len + len < sizeof(t->text));
	memcpy(t->text + t->len, s, len);
	t->len += len;
	t->text[t->len] = '\0';
}

static inline void __attribute__((format(printf, 2, 3)))
transcript_printf(struct transcript *t, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	transcript_add(t, tmp, (size_t)n);
}

#endif

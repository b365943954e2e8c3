/*
 * buf.h - a growable byte buffer with a hard size limit.
 *
 * Used for replies that pure protocol modules produce and the shell
 * writes out.  Appending past `max` fails instead of growing: remote input
 * can never make a buffer grow without bound.  The buffer owns its data.
 */
#ifndef DIRECTOR_BUF_H
#define DIRECTOR_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

/* Initialises an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* Wipes (explicit_bzero) and frees the data; the buffer is empty again. */
void buf_deinit(struct buf *b);
/* Appends len bytes; returns 0, or -1 (buffer unchanged) past max. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Removes the first n (<= len) bytes. */
void buf_consume(struct buf *b, size_t n);
/* Empties the buffer, wiping the old contents. */
void buf_clear(struct buf *b);

#endif

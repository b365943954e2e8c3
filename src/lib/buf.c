/*
 * buf.c - a growable byte buffer with a hard size limit.
 *
 * Invariants: len <= cap, len <= max; data is NULL only while cap == 0.
 * Contents are wiped when consumed or freed, because replies and requests
 * that pass through here may carry credentials.
 */
#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "xmalloc.h"

#define BUF_MIN_CAP 64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_deinit(struct buf *b)
{
	if (b->data != NULL)
		freezero(b->data, b->cap);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static int
buf_reserve(struct buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (more > b->max - b->len)
		return -1;
	need = b->len + more;
	if (need <= b->cap)
		return 0;
	cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	/* Grow by copy so that the old block can be wiped. */
	p = xmalloc(cap);
	if (b->len > 0)
		memcpy(p, b->data, b->len);
	if (b->data != NULL)
		freezero(b->data, b->cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (buf_reserve(b, len) == -1)
		return -1;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_clear(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	explicit_bzero(b->data + b->len - n, n);
	b->len -= n;
}

void
buf_clear(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	b->len = 0;
}

/*
 * linebuf.c - line finding with a length bound (see linebuf.h).
 *
 * Invariants: a struct linebuf never holds more than max + 1 bytes (a
 * line of max bytes and its CR) plus the NUL written after a complete
 * line; bytes it drops are wiped; after TOO_LONG it takes nothing more
 * until it is reset.
 */
#include "compat.h"

#include "linebuf.h"
#include "xmalloc.h"

/* The bound on the n bytes of a line seen before its LF (at_max is the
 * byte at offset max, if n > max).  Returns 0 if they may still form a
 * line, else the number of bytes up to and including the first one that
 * cannot: a byte at offset max other than CR, or any byte after it. */
static size_t
linebuf_overrun(size_t n, char at_max, size_t max)
{
	if (n <= max || (n == max + 1 && at_max == '\r'))
		return 0;
	return at_max == '\r' ? max + 2 : max + 1;
}

enum linebuf_status
linebuf_scan(
    const char *p, size_t len, size_t max, size_t *line_len_r, size_t *used_r)
{
	const char *lf = memchr(p, '\n', len);
	size_t n = lf != NULL ? (size_t)(lf - p) : len;
	size_t over = linebuf_overrun(n, n > max ? p[max] : '\0', max);

	*line_len_r = 0;
	*used_r = 0;
	if (over > 0) {
		*used_r = over;
		return LINEBUF_TOO_LONG;
	}
	if (lf == NULL)
		return LINEBUF_MORE;
	*used_r = n + 1;
	*line_len_r = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
	return LINEBUF_LINE;
}

void
linebuf_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
	lb->data = xmalloc(max + 2);
}

void
linebuf_deinit(struct linebuf *lb)
{
	if (lb->data != NULL)
		freezero(lb->data, lb->max + 2);
	memset(lb, 0, sizeof(*lb));
}

void
linebuf_reset(struct linebuf *lb)
{
	explicit_bzero(lb->data, lb->max + 2);
	lb->len = 0;
	lb->done = false;
	lb->too_long = false;
}

void
linebuf_drop(struct linebuf *lb)
{
	if (!lb->done)
		return;
	explicit_bzero(lb->data, lb->len + 1);
	lb->len = 0;
	lb->done = false;
}

bool
linebuf_at_start(const struct linebuf *lb)
{
	return lb->len == 0 || lb->done;
}

enum linebuf_status
linebuf_feed(struct linebuf *lb, const void *data, size_t len, size_t *used_r,
    const char **line_r, size_t *line_len_r)
{
	const char *p = data, *lf;
	size_t chunk, total, over;
	char at_max;

	*used_r = 0;
	*line_r = NULL;
	*line_len_r = 0;
	if (lb->too_long)
		return LINEBUF_TOO_LONG;
	linebuf_drop(lb);
	lf = memchr(p, '\n', len);
	chunk = lf != NULL ? (size_t)(lf - p) : len;
	total = lb->len + chunk;
	at_max = '\0';
	if (total > lb->max)
		at_max = lb->max < lb->len ? lb->data[lb->max]
					   : p[lb->max - lb->len];
	over = linebuf_overrun(total, at_max, lb->max);
	if (over > 0) {
		/* lb->len <= max + 1 with a CR at max: over > lb->len */
		*used_r = over - lb->len;
		lb->too_long = true;
		return LINEBUF_TOO_LONG;
	}
	memcpy(lb->data + lb->len, p, chunk);
	lb->len = total;
	if (lf == NULL) {
		*used_r = len;
		return LINEBUF_MORE;
	}
	*used_r = chunk + 1;
	if (total > 0 && lb->data[total - 1] == '\r')
		total--;
	lb->data[total] = '\0';
	lb->done = true;
	*line_r = lb->data;
	*line_len_r = total;
	return LINEBUF_LINE;
}

/*
 * fuzz_linebuf.c - libFuzzer target for the bounded line finder.
 *
 * The first input byte picks max (0..63) and a piece size (1..4); the
 * rest is fed whole, in pieces and through linebuf_scan().  Checks: all
 * three see the same lines and the same TOO_LONG offset; no line is
 * longer than max or holds a LF; used never exceeds what was offered.
 */
#include "compat.h"

#include "linebuf.h"

#define FUZZ_LINES_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one way of feeding saw: line ends and lengths, and where it
 * stopped (offset after the offending byte, or 0). */
struct seen {
	size_t end[FUZZ_LINES_MAX], len[FUZZ_LINES_MAX];
	size_t n, too_long_at;
};

static void
feed(const char *in, size_t len, size_t max, size_t piece, struct seen *r)
{
	struct linebuf lb;
	enum linebuf_status st;
	const char *line;
	size_t pos = 0, n, used, llen;

	memset(r, 0, sizeof(*r));
	linebuf_init(&lb, max);
	while (pos < len && r->n < FUZZ_LINES_MAX) {
		n = MIN_OF(piece, len - pos);
		st = linebuf_feed(&lb, in + pos, n, &used, &line, &llen);
		if (used > n)
			abort();
		pos += used;
		if (st == LINEBUF_TOO_LONG) {
			r->too_long_at = pos;
			break;
		}
		if (st == LINEBUF_LINE) {
			if (llen > max || memchr(line, '\n', llen) != NULL ||
			    line[llen] != '\0')
				abort();
			r->end[r->n] = pos;
			r->len[r->n++] = llen;
		} else if (used != n)
			abort();
	}
	linebuf_deinit(&lb);
}

static void
scan(const char *in, size_t len, size_t max, struct seen *r)
{
	enum linebuf_status st;
	size_t pos = 0, used, llen;

	memset(r, 0, sizeof(*r));
	while (pos < len && r->n < FUZZ_LINES_MAX) {
		st = linebuf_scan(in + pos, len - pos, max, &llen, &used);
		if (st == LINEBUF_MORE)
			break;
		if (used > len - pos)
			abort();
		pos += used;
		if (st == LINEBUF_TOO_LONG) {
			r->too_long_at = pos;
			break;
		}
		r->end[r->n] = pos;
		r->len[r->n++] = llen;
	}
}

static void
same(const struct seen *a, const struct seen *b)
{
	if (a->n != b->n || a->too_long_at != b->too_long_at ||
	    memcmp(a->end, b->end, a->n * sizeof(a->end[0])) != 0 ||
	    memcmp(a->len, b->len, a->n * sizeof(a->len[0])) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen whole, pieces, scanned;
	size_t max, piece;

	if (size < 1)
		return 0;
	max = data[0] & 0x3f;
	piece = 1 + (data[0] >> 6);
	feed((const char *)data + 1, size - 1, max, size, &whole);
	feed((const char *)data + 1, size - 1, max, piece, &pieces);
	scan((const char *)data + 1, size - 1, max, &scanned);
	same(&whole, &pieces);
	same(&whole, &scanned);
	return 0;
}

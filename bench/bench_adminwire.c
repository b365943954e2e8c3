/*
 * bench_adminwire.c - directorctl's side of a large admin reply: a
 * USER-LIST of many users read in 4 KiB pieces and cut into rows, then
 * rendered as the text table and as JSON (what `directorctl map` and
 * `directorctl --json map` do with it).  Prints rows a second for each
 * step, the best of BENCH_REPS runs.  Usage: bench_adminwire [ROWS]
 */
#include "compat.h"

#include "load_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "adminwire.h"
#include "buf.h"

#define BENCH_ROWS 200000u
#define BENCH_REPS 5
#define BENCH_PIECE 4096u

static const struct adminwire_col bench_cols[] = {
    {"hash", "hash", ADMINWIRE_COL_NUM},
    {"expires", "expires", ADMINWIRE_COL_TIME},
    {"host", "host", ADMINWIRE_COL_STR},
    {"user", "user", ADMINWIRE_COL_OPT},
};

/* The reply: one line per user, as a director sends USER-LIST. */
static void
bench_reply(struct buf *in, size_t rows)
{
	size_t i;

	for (i = 0; i < rows; i++)
		if (buf_printf(in,
			"%u\t%u\t10.0.%zu.%zu\tuser%zu@example.com\n",
			(unsigned)(i * 2654435761u), 1700000000u + (unsigned)i,
			i / 250 % 256, i % 250 + 1, i) == -1) {
			fprintf(stderr, "bench_adminwire: reply too large\n");
			exit(1);
		}
}

/* Reads the reply in pieces into a new table; returns it. */
static struct adminwire_table *
bench_read(const struct buf *in)
{
	struct adminwire_table *t = adminwire_table_new(bench_cols, 4);
	struct adminwire_reader r;
	char *line, *f[ADMINWIRE_FIELDS_MAX];
	size_t pos, n;

	adminwire_reader_init(&r);
	for (pos = 0; pos < in->len; pos += n) {
		n = MIN_OF(BENCH_PIECE, in->len - pos);
		adminwire_reader_feed(&r, in->data + pos, n);
		while (adminwire_reader_next(&r, &line) == ADMINWIRE_LINE) {
			size_t count;

			if (adminwire_split(line, f, nitems(f), &count) == 0 &&
			    count == 4)
				adminwire_table_add(t, (const char *const *)f);
		}
	}
	adminwire_reader_deinit(&r);
	return t;
}

int
main(int argc, char **argv)
{
	size_t rows = argc > 1 ? strtoul(argv[1], NULL, 10) : BENCH_ROWS;
	double best[3] = {1e9, 1e9, 1e9}, t0, t1, t2, t3;
	struct adminwire_table *t;
	struct buf in, out;
	size_t text_len = 0;
	int rep;

	if (rows == 0) {
		fprintf(stderr, "usage: bench_adminwire [ROWS]\n");
		return 2;
	}
	buf_init(&in, (size_t)1 << 32);
	buf_init(&out, (size_t)1 << 32);
	bench_reply(&in, rows);
	for (rep = 0; rep < BENCH_REPS; rep++) {
		t0 = load_now();
		t = bench_read(&in);
		t1 = load_now();
		buf_clear(&out);
		if (adminwire_table_text(t, &out) == -1)
			return 1;
		text_len = out.len;
		t2 = load_now();
		buf_clear(&out);
		if (adminwire_table_json(t, &out) == -1)
			return 1;
		t3 = load_now();
		if (adminwire_table_rows(t) != rows)
			return 1;
		adminwire_table_free(&t);
		best[0] = MIN_OF(best[0], t1 - t0);
		best[1] = MIN_OF(best[1], t2 - t1);
		best[2] = MIN_OF(best[2], t3 - t2);
	}
	printf("admin reply of %zu users (%zu bytes), best of %d:\n", rows,
	    in.len, BENCH_REPS);
	printf("  read in %u-byte pieces: %8.1f ms  %10.0f rows/s\n",
	    BENCH_PIECE, best[0] * 1e3, (double)rows / best[0]);
	printf("  text table (%zu bytes): %8.1f ms  %10.0f rows/s\n", text_len,
	    best[1] * 1e3, (double)rows / best[1]);
	printf("  JSON (%zu bytes):       %8.1f ms  %10.0f rows/s\n", out.len,
	    best[2] * 1e3, (double)rows / best[2]);
	buf_deinit(&in);
	buf_deinit(&out);
	return 0;
}

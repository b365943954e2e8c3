/*
 * test_linebuf.c - the bounded line finder.  Every input is fed whole,
 * one byte at a time and in pieces of three; the list of lines (and the
 * TOO_LONG verdict with the byte it was given at) must be the same, and
 * must match a byte-at-a-time model of the rule in linebuf.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "linebuf.h"

#define RESULT_MAX 4096

/* "[line]" per line, "<TOO_LONG@n>" with n the input offset after the
 * offending byte, "<MORE n>" with n bytes of partial line at the end. */
struct result {
	char text[RESULT_MAX];
	size_t len;
};

static void
result_add(struct result *r, const char *s, size_t len)
{
	assert_true(r->len + len < sizeof(r->text));
	memcpy(r->text + r->len, s, len);
	r->len += len;
	r->text[r->len] = '\0';
}

/* Adds "<what n>". */
static void
result_mark(struct result *r, const char *what, size_t n)
{
	char tmp[64];

	(void)snprintf(tmp, sizeof(tmp), "<%s%zu>", what, n);
	result_add(r, tmp, strlen(tmp));
}

/* Feeds in[] chunk bytes at a time through linebuf_feed(). */
static void
run_feed(const char *in, size_t len, size_t max, size_t chunk, struct result *r)
{
	struct linebuf lb;
	enum linebuf_status st;
	const char *line;
	size_t pos = 0, n, used, llen;

	r->len = 0;
	r->text[0] = '\0';
	linebuf_init(&lb, max);
	assert_true(linebuf_at_start(&lb));
	while (pos < len) {
		n = MIN_OF(chunk, len - pos);
		st = linebuf_feed(&lb, in + pos, n, &used, &line, &llen);
		assert_true(used <= n);
		pos += used;
		if (st == LINEBUF_TOO_LONG) {
			result_mark(r, "TOO_LONG@", pos);
			/* sticky until reset */
			st = linebuf_feed(&lb, "x\n", 2, &used, &line, &llen);
			assert_int_equal(st, LINEBUF_TOO_LONG);
			assert_int_equal(used, 0);
			break;
		}
		if (st == LINEBUF_LINE) {
			assert_true(llen <= max);
			assert_int_equal(line[llen], '\0');
			assert_true(linebuf_at_start(&lb));
			result_add(r, "[", 1);
			result_add(r, line, llen);
			result_add(r, "]", 1);
		} else
			assert_int_equal(used, n);
	}
	if (pos == len && lb.len > 0 && !lb.done && !lb.too_long)
		result_mark(r, "MORE ", lb.len);
	linebuf_deinit(&lb);
	assert_null(lb.data);
}

/* The same through the stateless linebuf_scan() on the whole input. */
static void
run_scan(const char *in, size_t len, size_t max, struct result *r)
{
	enum linebuf_status st;
	size_t pos = 0, used, llen;

	r->len = 0;
	r->text[0] = '\0';
	while (pos < len) {
		st = linebuf_scan(in + pos, len - pos, max, &llen, &used);
		if (st == LINEBUF_MORE) {
			assert_int_equal(used, 0);
			result_mark(r, "MORE ", len - pos);
			return;
		}
		pos += used;
		if (st == LINEBUF_TOO_LONG) {
			result_mark(r, "TOO_LONG@", pos);
			return;
		}
		result_add(r, "[", 1);
		result_add(r, in + pos - used, llen);
		result_add(r, "]", 1);
	}
}

/* The rule of linebuf.h written out byte by byte. */
static void
run_model(const char *in, size_t len, size_t max, struct result *r)
{
	char line[RESULT_MAX];
	size_t i, n = 0;

	r->len = 0;
	r->text[0] = '\0';
	for (i = 0; i < len; i++) {
		if (in[i] != '\n') {
			if (n > max || (n == max && in[i] != '\r')) {
				result_mark(r, "TOO_LONG@", i + 1);
				return;
			}
			line[n++] = in[i];
			continue;
		}
		if (n > 0 && line[n - 1] == '\r')
			n--;
		result_add(r, "[", 1);
		result_add(r, line, n);
		result_add(r, "]", 1);
		n = 0;
	}
	if (n > 0)
		result_mark(r, "MORE ", n);
}

/* Results may hold NUL bytes: compare them whole. */
static void
same(const struct result *a, const struct result *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->text, b->text, a->len);
}

/* All four ways agree, and with expect when it is not NULL. */
static void
check(const char *in, size_t len, size_t max, const char *expect)
{
	struct result whole, bytes, threes, scan, model;

	run_feed(in, len, max, len, &whole);
	run_feed(in, len, max, 1, &bytes);
	run_feed(in, len, max, 3, &threes);
	run_scan(in, len, max, &scan);
	run_model(in, len, max, &model);
	if (expect != NULL)
		assert_string_equal(whole.text, expect);
	same(&whole, &model);
	same(&bytes, &model);
	same(&threes, &model);
	same(&scan, &model);
}

#define CHECK(in, max, expect) check(in, sizeof(in) - 1, max, expect)

static void
test_line_endings(void **state)
{
	CHECK("a\r\nb\nc\r\r\n\r\n\n", 8, "[a][b][c\r][][]");
	CHECK("mid\rcr\r\n", 8, "[mid\rcr]");
	CHECK("partial", 8, "<MORE 7>");
	CHECK("done\r\npart\r", 8, "[done]<MORE 5>");
	CHECK("", 8, "");
}

static void
test_nul_is_content(void **state)
{
	struct result r;

	run_feed("NO\0OP\r\nx\n", 9, 16, 1, &r);
	assert_int_equal(r.len, 10);
	assert_memory_equal(r.text, "[NO\0OP][x]", 10);
	check("NO\0OP\r\nx\n", 9, 16, NULL);
}

static void
test_bound(void **state)
{
	/* max bytes, with CRLF, bare LF, or CR alone at the end */
	CHECK("12345\r\n", 5, "[12345]");
	CHECK("12345\n", 5, "[12345]");
	CHECK("12345\r", 5, "<MORE 6>");
	/* byte max + 1 is not a CR: refused at that byte */
	CHECK("123456\r\n", 5, "<TOO_LONG@6>");
	/* a CR at max + 1 must be followed by the LF */
	CHECK("12345\rx\n", 5, "<TOO_LONG@7>");
	CHECK("12345\r\r\n", 5, "<TOO_LONG@7>");
	/* lines before the long one are still returned */
	CHECK("ok\n1234567890", 5, "[ok]<TOO_LONG@9>");
	CHECK("\n", 0, "[]");
	CHECK("x\n", 0, "<TOO_LONG@1>");
}

static void
test_reset_and_secrets(void **state)
{
	struct linebuf lb;
	const char *line;
	size_t used, llen;

	linebuf_init(&lb, 4);
	assert_int_equal(
	    linebuf_feed(&lb, "pass", 4, &used, &line, &llen), LINEBUF_MORE);
	assert_false(linebuf_at_start(&lb));
	linebuf_reset(&lb);
	assert_true(linebuf_at_start(&lb));
	assert_int_equal(lb.data[0], '\0');
	assert_int_equal(linebuf_feed(&lb, "12345", 5, &used, &line, &llen),
	    LINEBUF_TOO_LONG);
	linebuf_reset(&lb);
	assert_int_equal(
	    linebuf_feed(&lb, "pw\r\nz", 5, &used, &line, &llen), LINEBUF_LINE);
	assert_int_equal(used, 4);
	assert_string_equal(line, "pw");
	/* the next call wipes the line it returned */
	assert_int_equal(
	    linebuf_feed(&lb, "z", 1, &used, &line, &llen), LINEBUF_MORE);
	assert_memory_equal(lb.data, "z\0\0\0", 4);
	linebuf_deinit(&lb);
}

/* Pseudo-random inputs over a small alphabet rich in CR and LF. */
static void
test_random_against_model(void **state)
{
	static const char alphabet[] = "ab\r\n\r\n\0";
	char in[64];
	uint32_t seed = 12345;
	size_t round, i, len, max;

	for (round = 0; round < 3000; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(in);
		max = (seed >> 8) % 9;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		check(in, len, max, NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line_endings),
	    cmocka_unit_test(test_nul_is_content),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_reset_and_secrets),
	    cmocka_unit_test(test_random_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_adminwire.c - the client side of the director-doveadm admin
 * protocol: tab-escaping both ways, request lines, the line reader (fed
 * whole, one byte at a time and in odd chunks, with the same lines), reply
 * parsers on good and hostile lines, and the text/JSON tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>
#include <time.h>

#include "adminwire.h"
#include "buf.h"

#define OUT_MAX (1024 * 1024)
/* Most lines one reader test collects. */
#define LINES_MAX 16

/* Escapes s into text (at most size bytes, NUL-terminated). */
static void
escaped(const char *s, char *text, size_t size)
{
	struct buf b;

	buf_init(&b, OUT_MAX);
	assert_int_equal(adminwire_escape(&b, s), 0);
	assert_true(b.len < size);
	memcpy(text, b.data != NULL ? b.data : "", b.len);
	text[b.len] = '\0';
	buf_deinit(&b);
}

static void
test_escape_roundtrip(void **state)
{
	static const struct {
		const char *plain, *wire;
	} cases[] = {
	    {"", ""},
	    {"alice", "alice"},
	    {"a\tb", "a\001tb"},
	    {"a\nb\rc", "a\001nb\001rc"},
	    {"\001", "\0011"},
	    {"\001t", "\0011t"},
	    {"\t\t", "\001t\001t"},
	    {"x\001\t\r\ny", "x\0011\001t\001r\001ny"},
	    {"\xc3\xa4@example.com", "\xc3\xa4@example.com"},
	    {"back\\slash", "back\\slash"},
	};
	char text[256];
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		escaped(cases[i].plain, text, sizeof(text));
		assert_string_equal(text, cases[i].wire);
		assert_null(strchr(text, '\t'));
		assert_null(strchr(text, '\n'));
		assert_int_equal(adminwire_unescape(text), 0);
		assert_string_equal(text, cases[i].plain);
	}
}

static void
test_unescape_bad(void **state)
{
	static const char *const bad[] = {
	    "\001",
	    "abc\001",
	    "\001x",
	    "a\0010b",
	    "\001\001",
	};
	char text[32];
	size_t i;

	for (i = 0; i < nitems(bad); i++) {
		strlcpy(text, bad[i], sizeof(text));
		assert_int_equal(adminwire_unescape(text), -1);
	}
}

static void
test_request(void **state)
{
	const char *args[] = {"we\tird", "", "10.0.0.1"};
	struct buf b;

	buf_init(&b, OUT_MAX);
	assert_int_equal(adminwire_request(&b, "HOST-LIST", NULL, 0), 0);
	assert_int_equal(adminwire_request(&b, "USER-MOVE", args, 3), 0);
	assert_int_equal(b.len,
	    strlen("HOST-LIST\nUSER-MOVE\twe\001tird\t\t"
		   "10.0.0.1\n"));
	assert_memory_equal(
	    b.data, "HOST-LIST\nUSER-MOVE\twe\001tird\t\t10.0.0.1\n", b.len);
	buf_deinit(&b);

	/* a full buffer is reported, not overrun */
	buf_init(&b, 12);
	assert_int_equal(adminwire_request(&b, "USER-MOVE", args, 3), -1);
	assert_true(b.len <= 12);
	buf_deinit(&b);
}

static void
test_split(void **state)
{
	char *f[ADMINWIRE_FIELDS_MAX];
	char line[128];
	size_t n;

	strlcpy(line, "10.0.0.1\t100\t\t\001t\001n\tU", sizeof(line));
	assert_int_equal(adminwire_split(line, f, nitems(f), &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(f[0], "10.0.0.1");
	assert_string_equal(f[1], "100");
	assert_string_equal(f[2], "");
	assert_string_equal(f[3], "\t\n");
	assert_string_equal(f[4], "U");

	strlcpy(line, "", sizeof(line));
	assert_int_equal(adminwire_split(line, f, nitems(f), &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(f[0], "");

	strlcpy(line, "a\tb\tc", sizeof(line));
	assert_int_equal(adminwire_split(line, f, 2, &n), -1);
	strlcpy(line, "a\tb\001", sizeof(line));
	assert_int_equal(adminwire_split(line, f, nitems(f), &n), -1);
}

static void
test_handshake(void **state)
{
	static const struct {
		const char *line;
		bool ok;
	} cases[] = {
	    {"VERSION\tdirector-doveadm\t1\t0", true},
	    {"VERSION\tdirector-doveadm\t1\t3", true},
	    {"VERSION\tdirector-doveadm\t2\t0", false},
	    {"VERSION\tdirector-doveadm\t1\t", false},
	    {"VERSION\tdirector-doveadm\t1\tx", false},
	    {"VERSION\tdirector-doveadm\t1\t0\textra", false},
	    {"VERSION\tdirector\t1\t0", false},
	    {"VERSION\tdoveadm-server\t1\t0", false},
	    {"* OK IMAP4rev1", false},
	    {"", false},
	};
	size_t i;

	for (i = 0; i < nitems(cases); i++)
		assert_int_equal(
		    adminwire_handshake_ok(cases[i].line), cases[i].ok);
	/* what we send is what we accept */
	{
		char hs[64];

		strlcpy(hs, ADMINWIRE_HANDSHAKE, sizeof(hs));
		hs[strlen(hs) - 1] = '\0';
		assert_true(adminwire_handshake_ok(hs));
	}
}

/* Feeds in to a reader chunk bytes at a time, collecting lines (joined
 * with '|') into got; returns the final status. */
static enum adminwire_status
read_lines(const char *in, size_t len, size_t chunk, char *got, size_t size)
{
	struct adminwire_reader r;
	enum adminwire_status st = ADMINWIRE_MORE;
	size_t pos = 0, n;
	char *line;

	got[0] = '\0';
	adminwire_reader_init(&r);
	while (pos < len) {
		n = MIN_OF(chunk, len - pos);
		adminwire_reader_feed(&r, in + pos, n);
		pos += n;
		while (
		    (st = adminwire_reader_next(&r, &line)) == ADMINWIRE_LINE) {
			strlcat(got, line, size);
			strlcat(got, "|", size);
		}
		if (st != ADMINWIRE_MORE)
			break;
	}
	adminwire_reader_deinit(&r);
	return st;
}

static void
test_reader_chunks(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *lines;
		enum adminwire_status end;
	} cases[] = {
#define C(s, l, e) {s, sizeof(s) - 1, l, e}
	    C("OK\n", "OK|", ADMINWIRE_MORE),
	    C("VERSION\tdirector-doveadm\t1\t0\nOK\n",
		"VERSION\tdirector-doveadm\t1\t0|OK|", ADMINWIRE_MORE),
	    C("a\tb\r\n\nc", "a\tb||", ADMINWIRE_MORE),
	    C("\n\n", "||", ADMINWIRE_MORE),
	    C("partial", "", ADMINWIRE_MORE),
	    C("ok\nbad\0line\n", "ok|", ADMINWIRE_BAD),
	    C("\0", "", ADMINWIRE_BAD),
#undef C
	};
	char whole[256], got[256];
	static const size_t chunks[] = {1, 2, 3, 7, 4096};
	size_t i, c;
	enum adminwire_status st;

	for (i = 0; i < nitems(cases); i++) {
		st = read_lines(cases[i].in, cases[i].len, cases[i].len, whole,
		    sizeof(whole));
		assert_string_equal(whole, cases[i].lines);
		assert_int_equal(st, cases[i].end);
		for (c = 0; c < nitems(chunks); c++) {
			assert_int_equal(read_lines(cases[i].in, cases[i].len,
					     chunks[c], got, sizeof(got)),
			    st);
			assert_string_equal(got, whole);
		}
	}
}

static void
test_reader_limits(void **state)
{
	struct adminwire_reader r;
	size_t len = ADMINWIRE_LINE_MAX + 2;
	char *big = malloc(len + 1), *line;

	assert_non_null(big);
	/* exactly ADMINWIRE_LINE_MAX bytes (with CRLF) is fine */
	memset(big, 'x', len);
	big[len - 2] = '\r';
	big[len - 1] = '\n';
	adminwire_reader_init(&r);
	adminwire_reader_feed(&r, big, len);
	assert_int_equal(adminwire_reader_next(&r, &line), ADMINWIRE_LINE);
	assert_int_equal(strlen(line), ADMINWIRE_LINE_MAX);
	assert_int_equal(adminwire_reader_next(&r, &line), ADMINWIRE_MORE);
	adminwire_reader_deinit(&r);

	/* one more byte fails, with or without the LF, and stays failed */
	memset(big, 'x', len);
	big[len - 1] = '\n';
	adminwire_reader_init(&r);
	adminwire_reader_feed(&r, big, len);
	assert_int_equal(adminwire_reader_next(&r, &line), ADMINWIRE_TOO_LONG);
	adminwire_reader_feed(&r, "OK\n", 3);
	assert_int_equal(adminwire_reader_next(&r, &line), ADMINWIRE_TOO_LONG);
	adminwire_reader_deinit(&r);

	adminwire_reader_init(&r);
	adminwire_reader_feed(&r, big, len - 1);
	assert_int_equal(adminwire_reader_next(&r, &line), ADMINWIRE_TOO_LONG);
	adminwire_reader_deinit(&r);

	/* below the limit without LF: waits */
	adminwire_reader_init(&r);
	adminwire_reader_feed(&r, big, ADMINWIRE_LINE_MAX);
	assert_int_equal(adminwire_reader_next(&r, &line), ADMINWIRE_MORE);
	adminwire_reader_deinit(&r);
	free(big);
}

/* Feeds len bytes of in piece bytes at a time, asking for a line after
 * each piece; returns the first status other than MORE (or MORE), with
 * the line's length in *line_len_r. */
static enum adminwire_status
feed_pieces(const char *in, size_t len, size_t piece, size_t *line_len_r)
{
	struct adminwire_reader r;
	enum adminwire_status st = ADMINWIRE_MORE;
	size_t pos = 0, n;
	char *line;

	*line_len_r = 0;
	adminwire_reader_init(&r);
	while (pos < len && st == ADMINWIRE_MORE) {
		n = MIN_OF(piece, len - pos);
		adminwire_reader_feed(&r, in + pos, n);
		pos += n;
		st = adminwire_reader_next(&r, &line);
	}
	if (st == ADMINWIRE_LINE)
		*line_len_r = strlen(line);
	adminwire_reader_deinit(&r);
	return st;
}

/* The limits hold however the bytes arrive: a line is scanned once for
 * its end, not once per piece, so its last piece decides. */
static void
test_reader_limits_in_pieces(void **state)
{
	static const size_t pieces[] = {1, 1000, 4095, 65536};
	size_t len = ADMINWIRE_LINE_MAX + 3, i, n;
	char *big = malloc(len);

	assert_non_null(big);
	for (i = 0; i < nitems(pieces); i++) {
		/* ADMINWIRE_LINE_MAX bytes, CR, LF: a line */
		memset(big, 'x', len);
		big[len - 3] = '\r';
		big[len - 2] = '\n';
		assert_int_equal(
		    feed_pieces(big, len - 1, pieces[i], &n), ADMINWIRE_LINE);
		assert_int_equal(n, ADMINWIRE_LINE_MAX);
		/* the CR at the limit waits for its LF; another byte fails */
		big[len - 2] = 'x';
		assert_int_equal(
		    feed_pieces(big, len - 2, pieces[i], &n), ADMINWIRE_MORE);
		assert_int_equal(feed_pieces(big, len - 1, pieces[i], &n),
		    ADMINWIRE_TOO_LONG);
		/* one byte over the limit without CR fails before any LF */
		memset(big, 'x', len);
		assert_int_equal(
		    feed_pieces(big, ADMINWIRE_LINE_MAX + 1, pieces[i], &n),
		    ADMINWIRE_TOO_LONG);
		/* a NUL in a later piece fails the line before its end */
		big[ADMINWIRE_LINE_MAX - 1] = '\0';
		assert_int_equal(
		    feed_pieces(big, ADMINWIRE_LINE_MAX, pieces[i], &n),
		    ADMINWIRE_BAD);
		/* the LF in a later piece ends the line there */
		memset(big, 'x', len);
		big[ADMINWIRE_LINE_MAX / 2] = '\n';
		assert_int_equal(
		    feed_pieces(big, len, pieces[i], &n), ADMINWIRE_LINE);
		assert_int_equal(n, ADMINWIRE_LINE_MAX / 2);
	}
	free(big);
}

static void
test_reply_kind(void **state)
{
	static const struct {
		const char *line;
		enum adminwire_reply kind;
	} cases[] = {
	    {"OK", ADMINWIRE_REPLY_OK},
	    {"NOTFOUND", ADMINWIRE_REPLY_NOTFOUND},
	    {"TRYAGAIN", ADMINWIRE_REPLY_TRYAGAIN},
	    {"host is already being updated - try again later",
		ADMINWIRE_REPLY_TRYAGAIN},
	    {"Ring sync timed out", ADMINWIRE_REPLY_TRYAGAIN},
	    {"vhost count too large", ADMINWIRE_REPLY_ERROR},
	    {"ok", ADMINWIRE_REPLY_ERROR},
	    {"OK ", ADMINWIRE_REPLY_ERROR},
	    {"", ADMINWIRE_REPLY_ERROR},
	};
	size_t i;

	for (i = 0; i < nitems(cases); i++)
		assert_int_equal(
		    adminwire_reply_kind(cases[i].line), cases[i].kind);
}

/* Splits a copy of line into f (storage in copy) and returns the count. */
static size_t
split_copy(const char *line, char *copy, size_t size, char **f)
{
	size_t n;

	strlcpy(copy, line, size);
	assert_int_equal(adminwire_split(copy, f, ADMINWIRE_FIELDS_MAX, &n), 0);
	return n;
}

static void
test_parse_host(void **state)
{
	static const char *const bad[] = {
	    "10.0.0.1\t100\t0\t\tU",
	    "\t100\t0\t\tU\t0",
	    "10.0.0.1\t-1\t0\t\tU\t0",
	    "10.0.0.1\t100\tx\t\tU\t0",
	    "10.0.0.1\t100\t0\t\tu\t0",
	    "10.0.0.1\t100\t0\t\tUD\t0",
	    "10.0.0.1\t100\t0\t\tU\t",
	    "10.0.0.1\t100\t0\t\tU\t1x",
	    "10.0.0.1\t4294967296\t0\t\tU\t0",
	    "10.0.0.1\t 100\t0\t\tU\t0",
	};
	struct adminwire_host h;
	char copy[128], *f[ADMINWIRE_FIELDS_MAX];
	size_t n, i;

	n = split_copy("10.0.0.1\t100\t12\tarch\001tive\tD\t1700000000", copy,
	    sizeof(copy), f);
	assert_int_equal(adminwire_parse_host(f, n, &h), 0);
	assert_string_equal(h.ip, "10.0.0.1");
	assert_int_equal(h.vhosts, 100);
	assert_int_equal(h.users, 12);
	assert_string_equal(h.tag, "arch\tive");
	assert_false(h.up);
	assert_int_equal(h.changed, 1700000000);
	assert_string_equal(h.name, "");

	n = split_copy("::1\t0\t4294967295\t\tU\t0\tmail.example.com", copy,
	    sizeof(copy), f);
	assert_int_equal(adminwire_parse_host(f, n, &h), 0);
	assert_true(h.up);
	assert_int_equal(h.users, 4294967295u);
	assert_string_equal(h.name, "mail.example.com");

	for (i = 0; i < nitems(bad); i++) {
		n = split_copy(bad[i], copy, sizeof(copy), f);
		assert_int_equal(adminwire_parse_host(f, n, &h), -1);
	}
}

static void
test_parse_lookup_and_user(void **state)
{
	struct adminwire_lookup lk;
	struct adminwire_user u;
	char copy[128], *f[ADMINWIRE_FIELDS_MAX];
	size_t n;

	n = split_copy("\t0\t10.0.0.2\t10.0.0.3", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_lookup(f, n, &lk), 0);
	assert_string_equal(lk.current, "");
	assert_int_equal(lk.expires, 0);
	assert_string_equal(lk.hashed, "10.0.0.2");
	assert_string_equal(lk.initial, "10.0.0.3");
	n = split_copy("10.0.0.1\t1700000900\t\t", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_lookup(f, n, &lk), 0);
	assert_string_equal(lk.current, "10.0.0.1");
	assert_int_equal(lk.expires, 1700000900);
	n = split_copy("10.0.0.1\tsoon\t\t", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_lookup(f, n, &lk), -1);
	n = split_copy("10.0.0.1\t0\t10.0.0.2", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_lookup(f, n, &lk), -1);

	n = split_copy(
	    "708027221\t1700000000\t10.0.0.1", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_user(f, n, &u), 0);
	assert_int_equal(u.hash, 708027221);
	assert_int_equal(u.expires, 1700000000);
	assert_string_equal(u.ip, "10.0.0.1");
	n = split_copy("4294967296\t0\t10.0.0.1", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_user(f, n, &u), -1);
	n = split_copy("1\t0\t", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_user(f, n, &u), -1);
	n = split_copy("1\t0", copy, sizeof(copy), f);
	assert_int_equal(adminwire_parse_user(f, n, &u), -1);
}

/* Renders s with f into a NUL-terminated static string. */
static const char *
render(int (*f)(struct buf *, const char *), const char *s)
{
	static char text[512];
	struct buf b;

	buf_init(&b, OUT_MAX);
	assert_int_equal(f(&b, s), 0);
	assert_true(b.len < sizeof(text));
	memcpy(text, b.data != NULL ? b.data : "", b.len);
	text[b.len] = '\0';
	buf_deinit(&b);
	return text;
}

static void
test_json_and_text_strings(void **state)
{
	static const struct {
		const char *in, *json, *text;
	} cases[] = {
	    {"", "\"\"", ""},
	    {"plain", "\"plain\"", "plain"},
	    {"q\"b\\", "\"q\\\"b\\\\\"", "q\"b\\"},
	    {"t\tn\n\x01\x1b\x7f", "\"t\\u0009n\\u000a\\u0001\\u001b\\u007f\"",
		"t\\x09n\\x0a\\x01\\x1b\\x7f"},
	    {"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80",
		"\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\"",
		"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"},
	    /* invalid UTF-8: lone continuation, truncated, overlong,
	     * surrogate, beyond U+10FFFF */
	    {"a\x80z", "\"a\\ufffdz\"", "a\\x80z"},
	    {"\xc3", "\"\\ufffd\"", "\\xc3"},
	    {"\xc0\xaf", "\"\\ufffd\\ufffd\"", "\\xc0\\xaf"},
	    {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", "\\xe0\\x80\\xaf"},
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\\xed\\xa0\\x80"},
	    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
		"\\xf4\\x90\\x80\\x80"},
	};
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		assert_string_equal(
		    render(adminwire_json_str, cases[i].in), cases[i].json);
		assert_string_equal(
		    render(adminwire_text_str, cases[i].in), cases[i].text);
	}
}

static const struct adminwire_col cols[] = {
    {"host", "host", ADMINWIRE_COL_STR},
    {"tag", "tag", ADMINWIRE_COL_OPT},
    {"vhosts", "vhosts", ADMINWIRE_COL_NUM},
    {"changed", "changed", ADMINWIRE_COL_TIME},
};

static void
test_table(void **state)
{
	static const char *const rows[][4] = {
	    {"10.0.0.1", "", "100", "0"},
	    {"10.0.0.10", "\xc3\xa4x", "7", "1700000000"},
	    {"h\tx", "t", "", "never"},
	    {"10.0.0.2", "", "x", "1700000100.007"},
	    {"10.0.0.3", "", "0", "1.x"},
	};
	struct adminwire_table *t = adminwire_table_new(cols, nitems(cols));
	struct buf b;
	size_t i;

	setenv("TZ", "UTC", 1);
	tzset();
	for (i = 0; i < nitems(rows); i++)
		adminwire_table_add(t, rows[i]);
	assert_int_equal(adminwire_table_rows(t), 5);
	assert_string_equal(adminwire_table_cell(t, 1, 1), "\xc3\xa4x");

	buf_init(&b, OUT_MAX);
	assert_int_equal(adminwire_table_text(t, &b), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_string_equal(b.data,
	    "host       tag  vhosts  changed\n"
	    "10.0.0.1   -       100  -\n"
	    "10.0.0.10  \xc3\xa4x        7  2023-11-14 22:13:20\n"
	    "h\\x09x     t         -  never\n"
	    "10.0.0.2   -         x  2023-11-14 22:15:00\n"
	    "10.0.0.3   -         0  1.x\n");
	buf_clear(&b);
	assert_int_equal(adminwire_table_json(t, &b), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_string_equal(b.data,
	    "[\n"
	    "  {\"host\": \"10.0.0.1\", \"tag\": null, \"vhosts\": 100, "
	    "\"changed\": null},\n"
	    "  {\"host\": \"10.0.0.10\", \"tag\": \"\xc3\xa4x\", \"vhosts\": "
	    "7, "
	    "\"changed\": 1700000000},\n"
	    "  {\"host\": \"h\\u0009x\", \"tag\": \"t\", \"vhosts\": null, "
	    "\"changed\": null},\n"
	    "  {\"host\": \"10.0.0.2\", \"tag\": null, \"vhosts\": \"x\", "
	    "\"changed\": 1700000100.007},\n"
	    "  {\"host\": \"10.0.0.3\", \"tag\": null, \"vhosts\": 0, "
	    "\"changed\": null}\n"
	    "]\n");
	buf_deinit(&b);
	adminwire_table_free(&t);
	assert_null(t);
	adminwire_table_free(&t);

	/* empty */
	t = adminwire_table_new(cols, 1);
	buf_init(&b, OUT_MAX);
	assert_int_equal(adminwire_table_json(t, &b), 0);
	assert_int_equal(adminwire_table_text(t, &b), 0);
	assert_int_equal(b.len, strlen("[]\nhost\n"));
	assert_memory_equal(b.data, "[]\nhost\n", b.len);
	buf_deinit(&b);
	adminwire_table_free(&t);

	/* a full output buffer is an error, not an overrun */
	t = adminwire_table_new(cols, nitems(cols));
	adminwire_table_add(t, rows[1]);
	buf_init(&b, 20);
	assert_int_equal(adminwire_table_text(t, &b), -1);
	buf_clear(&b);
	assert_int_equal(adminwire_table_json(t, &b), -1);
	assert_true(b.len <= 20);
	buf_deinit(&b);
	adminwire_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_roundtrip),
	    cmocka_unit_test(test_unescape_bad),
	    cmocka_unit_test(test_request),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_handshake),
	    cmocka_unit_test(test_reader_chunks),
	    cmocka_unit_test(test_reader_limits),
	    cmocka_unit_test(test_reader_limits_in_pieces),
	    cmocka_unit_test(test_reply_kind),
	    cmocka_unit_test(test_parse_host),
	    cmocka_unit_test(test_parse_lookup_and_user),
	    cmocka_unit_test(test_json_and_text_strings),
	    cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

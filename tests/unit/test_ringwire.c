/*
 * test_ringwire.c - the director ring codec: every command parsed and
 * formatted back byte for byte, the version gates of formatting, every
 * class of parse error, the line reader fed whole and one byte at a
 * time, hostile input, and the lines a real Dovecot 2.3 director sent
 * (tests/vectors/ring_lines.txt, from scripts/gen-ring-vectors.py).
 * Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "hosts.h"
#include "ringwire.h"

#define OUT_MAX (64 * 1024)
#define ERR_MAX 512
#define VECTORS "tests/vectors/ring_lines.txt"
/* Lines in the reader tests. */
#define LINES_MAX 8

_Static_assert(RINGWIRE_TAG_MAX == HOST_TAG_MAX, "tag limit");
_Static_assert(RINGWIRE_HOSTNAME_MAX == HOST_NAME_MAX_LEN, "name limit");

/* Parses line (a C string), or fails the test with the error. */
static void
parse_ok(const char *line, struct ringwire_msg *msg)
{
	char err[ERR_MAX];

	if (ringwire_parse(line, strlen(line), msg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* Formats msg for minor into text (NUL-terminated); returns the result. */
static enum ringwire_fmt
format(
    const struct ringwire_msg *msg, unsigned int minor, char *text, size_t size)
{
	enum ringwire_fmt ret;
	struct buf b;

	buf_init(&b, OUT_MAX);
	ret = ringwire_format(msg, minor, &b);
	assert_true(b.len < size);
	if (b.len > 0)
		memcpy(text, b.data, b.len);
	text[b.len] = '\0';
	if (ret != RINGWIRE_FMT_OK)
		assert_int_equal(b.len, 0);
	buf_deinit(&b);
	return ret;
}

/* line parses as cmd, formats back to itself for minor 9, and that
 * parses to the same message. */
static void
roundtrip(const char *line, enum ringwire_cmd cmd)
{
	struct ringwire_msg msg, again;
	char text[OUT_MAX], want[OUT_MAX];

	parse_ok(line, &msg);
	assert_int_equal(msg.cmd, cmd);
	assert_int_equal(
	    format(&msg, RINGWIRE_MINOR, text, sizeof(text)), RINGWIRE_FMT_OK);
	snprintf(want, sizeof(want), "%s\n", line);
	assert_string_equal(text, want);
	/* the LF is not part of the line */
	text[strlen(text) - 1] = '\0';
	parse_ok(text, &again);
	assert_memory_equal(&msg, &again, sizeof(msg));
}

static void
test_roundtrip(void **state)
{
	static const struct {
		const char *line;
		enum ringwire_cmd cmd;
	} cases[] = {
	    {"VERSION\tdirector\t1\t9", RINGWIRE_VERSION},
	    {"ME\t127.0.0.11\t9090\t1700000000", RINGWIRE_ME},
	    {"ME\t::1\t9090", RINGWIRE_ME},
	    {"DONE", RINGWIRE_DONE},
	    {"OPTIONS\tconsistent-hashing", RINGWIRE_OPTIONS},
	    {"OPTIONS\tconsistent-hashing\tx\001ty", RINGWIRE_OPTIONS},
	    {"OPTIONS", RINGWIRE_OPTIONS},
	    {"HOST-HAND-START\t1", RINGWIRE_HOST_HAND_START},
	    {"HOST-HAND-START\t0", RINGWIRE_HOST_HAND_START},
	    {"HOST-HAND-END\t1", RINGWIRE_HOST_HAND_END},
	    {"HOST\t127.0.1.1\t100\t\tU0\t", RINGWIRE_HOST_HAND},
	    {"HOST\t127.0.1.2\t50\tred\tD1700000000\tmail2.example",
		RINGWIRE_HOST_HAND},
	    {"HOST\t2001:db8::1\t0\tt\001t\001n\0011\001r\tU5\tn",
		RINGWIRE_HOST_HAND},
	    {"U\t708027221\t127.0.1.1\t1700000000", RINGWIRE_U},
	    {"U\t4294967295\t127.0.1.1\t0\tw", RINGWIRE_U},
	    {"DIRECTOR\t127.0.0.12\t9090", RINGWIRE_DIRECTOR},
	    {"DIRECTOR-REMOVE\t127.0.0.12\t65535", RINGWIRE_DIRECTOR_REMOVE},
	    {"HOST\t127.0.0.11\t9090\t7\t127.0.1.3\t100\t\tU0\t",
		RINGWIRE_HOST},
	    {"HOST\t127.0.0.11\t9090\t8\t127.0.1.3\t0\tblue\tD17\tname",
		RINGWIRE_HOST},
	    {"HOST-REMOVE\t127.0.0.11\t9090\t9\t127.0.1.3",
		RINGWIRE_HOST_REMOVE},
	    {"HOST-FLUSH\t127.0.0.11\t9090\t10\t127.0.1.3",
		RINGWIRE_HOST_FLUSH},
	    {"USER\t1\t127.0.1.1\t1700000000", RINGWIRE_USER},
	    {"USER\t1\t127.0.1.1", RINGWIRE_USER},
	    {"USER-WEAK\t127.0.0.11\t9090\t11\t2\t127.0.1.2",
		RINGWIRE_USER_WEAK},
	    {"USER-MOVE\t127.0.0.11\t9090\t4294967295\t3\t127.0.1.2",
		RINGWIRE_USER_MOVE},
	    {"USER-KILLED\t3", RINGWIRE_USER_KILLED},
	    {"USER-KILLED-EVERYWHERE\t127.0.0.11\t9090\t12\t3",
		RINGWIRE_USER_KILLED_EVERYWHERE},
	    {"USER-KICK\t127.0.0.11\t9090\t13\tuser\001tname@ex",
		RINGWIRE_USER_KICK},
	    {"USER-KICK\t127.0.0.11\t9090\t13\t", RINGWIRE_USER_KICK},
	    {"USER-KICK-ALT\t127.0.0.11\t9090\t14\tmaster\tbob",
		RINGWIRE_USER_KICK_ALT},
	    {"USER-KICK-HASH\t127.0.0.11\t9090\t15\t3\t127.0.1.1",
		RINGWIRE_USER_KICK_HASH},
	    {"SYNC\t127.0.0.11\t9090\t1\t9\t1700000000\t3735928559",
		RINGWIRE_SYNC},
	    {"SYNC\t127.0.0.11\t9090\t1", RINGWIRE_SYNC},
	    {"CONNECT\t127.0.0.13\t9090", RINGWIRE_CONNECT},
	    {"PING\t1700000000\t0", RINGWIRE_PING},
	    {"PING", RINGWIRE_PING},
	    {"PONG\t1700000000\t18446744073709551615", RINGWIRE_PONG},
	    {"QUIT\tReplacing with 127.0.0.13:9090/right", RINGWIRE_QUIT},
	    {"X-HOST-KILLED\t127.0.0.11\t9090\t7\t127.0.1.2",
		RINGWIRE_X_HOST_KILLED},
	    {"X-HOST-KILLED-EVERYWHERE\t127.0.0.11\t9090\t16\t127.0.1.2\t"
	     "127.0.0.12\t9091\t7",
		RINGWIRE_X_HOST_KILLED_EVERYWHERE},
	    {"X-USER-KILLED\t127.0.0.11\t9090\t7\t3", RINGWIRE_X_USER_KILLED},
	    {"X-USER-KILLED\t127.0.0.11\t9090\t7\t3\t127.0.1.2",
		RINGWIRE_X_USER_KILLED},
	    {"X-HOST-HEALTH\t127.0.0.11\t9090\t18\t127.0.1.2\tdown\t"
	     "127.0.0.12\t9091",
		RINGWIRE_X_HOST_HEALTH},
	    {"X-HOST-HEALTH\t127.0.0.11\t9090\t19\t127.0.1.2\tup\t"
	     "127.0.0.12\t9091",
		RINGWIRE_X_HOST_HEALTH},
	    {"X-USER-KILLED-EVERYWHERE\t127.0.0.11\t9090\t17\t3\t127.0.0.12\t"
	     "9091\t7",
		RINGWIRE_X_USER_KILLED_EVERYWHERE},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		roundtrip(cases[i].line, cases[i].cmd);
}

/* Typed fields of a few lines. */
static void
test_fields(void **state)
{
	struct ringwire_msg msg;
	char ip[IPADDR_STR_MAX];

	parse_ok(
	    "HOST\t127.0.0.11\t9090\t8\t127.0.1.3\t7\tblue\tD17\tnm", &msg);
	assert_string_equal(ipaddr_format(&msg.dir.ip, ip), "127.0.0.11");
	assert_int_equal(msg.dir.port, 9090);
	assert_int_equal(msg.dir.seq, 8);
	assert_string_equal(ipaddr_format(&msg.host.ip, ip), "127.0.1.3");
	assert_int_equal(msg.host.vhost_count, 7);
	assert_string_equal(msg.host.tag, "blue");
	assert_true(msg.host.down);
	assert_int_equal(msg.host.updown_ts, 17);
	assert_string_equal(msg.host.name, "nm");

	/* a pre-1.9 handshake user */
	parse_ok("USER\t5\t127.0.1.1\t100\tw", &msg);
	assert_int_equal(msg.cmd, RINGWIRE_U);
	assert_true(msg.user.weak && msg.user.has_ts);
	assert_int_equal(msg.user.ts, 100);

	parse_ok("OPTIONS\tconsistent-hashing", &msg);
	assert_int_equal(msg.options_count, 1);
	assert_string_equal(msg.options[0], RINGWIRE_OPT_CONSISTENT_HASHING);

	parse_ok("USER-KICK\t127.0.0.11\t9090\t13\ta\001tb", &msg);
	assert_string_equal(msg.username, "a\tb");

	parse_ok("SYNC\t127.0.0.11\t9090\t2\t9\t100\t3735928559", &msg);
	assert_true(msg.sync.has_extra);
	assert_int_equal(msg.sync.hosts_hash, 3735928559u);

	/* QUIT reasons are joined like 2.3 logs them */
	parse_ok("QUIT\ta\tb", &msg);
	assert_string_equal(msg.reason, "a b");
}

static void
test_version_gates(void **state)
{
	static const struct {
		const char *line;
		unsigned int minor;
		enum ringwire_fmt ret;
		const char *out;
	} cases[] = {
	    /* handshake users: U from 9, USER before */
	    {"U\t1\t10.0.0.1\t100\tw", 8, RINGWIRE_FMT_OK,
		"USER\t1\t10.0.0.1\t100\tw\n"},
	    {"U\t1\t10.0.0.1\t100", 9, RINGWIRE_FMT_OK,
		"U\t1\t10.0.0.1\t100\n"},
	    /* USER: the timestamp from 9 */
	    {"USER\t1\t10.0.0.1\t100", 8, RINGWIRE_FMT_OK,
		"USER\t1\t10.0.0.1\n"},
	    {"USER\t1\t10.0.0.1\t100", 0, RINGWIRE_FMT_OK,
		"USER\t1\t10.0.0.1\n"},
	    /* HOST: up/down and name from 6, the tag from 7 */
	    {"HOST\t10.0.0.1\t100\t\tD5\tn", 5, RINGWIRE_FMT_OK,
		"HOST\t10.0.0.1\t100\n"},
	    {"HOST\t10.0.0.1\t100\t\tD5\tn", 6, RINGWIRE_FMT_OK,
		"HOST\t10.0.0.1\t100\t\tD5\tn\n"},
	    {"HOST\t10.0.0.1\t100\ttag\tD5\tn", 6, RINGWIRE_FMT_UNSUPPORTED,
		""},
	    {"HOST\t10.0.0.1\t100\ttag\tD5\tn", 5, RINGWIRE_FMT_UNSUPPORTED,
		""},
	    {"HOST\t10.0.0.1\t100\ttag\tD5\tn", 7, RINGWIRE_FMT_OK,
		"HOST\t10.0.0.1\t100\ttag\tD5\tn\n"},
	    {"HOST\t10.0.0.9\t9090\t1\t10.0.0.1\t100\t\tU0\t", 5,
		RINGWIRE_FMT_OK, "HOST\t10.0.0.9\t9090\t1\t10.0.0.1\t100\n"},
	    {"HOST\t10.0.0.9\t9090\t1\t10.0.0.1\t100\tt\tU0\t", 6,
		RINGWIRE_FMT_UNSUPPORTED, ""},
	    /* SYNC: the extra fields only to minor > 0 */
	    {"SYNC\t10.0.0.9\t9090\t1\t9\t100\t5", 0, RINGWIRE_FMT_OK,
		"SYNC\t10.0.0.9\t9090\t1\n"},
	    {"SYNC\t10.0.0.9\t9090\t1\t9\t100\t5", 1, RINGWIRE_FMT_OK,
		"SYNC\t10.0.0.9\t9090\t1\t9\t100\t5\n"},
	    /* commands newer than the peer */
	    {"USER-WEAK\t10.0.0.9\t9090\t1\t2\t10.0.0.1", 0, RINGWIRE_FMT_SKIP,
		""},
	    {"USER-WEAK\t10.0.0.9\t9090\t1\t2\t10.0.0.1", 1, RINGWIRE_FMT_OK,
		"USER-WEAK\t10.0.0.9\t9090\t1\t2\t10.0.0.1\n"},
	    {"DIRECTOR-REMOVE\t10.0.0.9\t9090", 1, RINGWIRE_FMT_SKIP, ""},
	    {"DIRECTOR-REMOVE\t10.0.0.9\t9090", 2, RINGWIRE_FMT_OK,
		"DIRECTOR-REMOVE\t10.0.0.9\t9090\n"},
	    {"QUIT\tbye", 2, RINGWIRE_FMT_SKIP, ""},
	    {"QUIT\tbye", 3, RINGWIRE_FMT_OK, "QUIT\tbye\n"},
	    {"USER-KICK\t10.0.0.9\t9090\t1\tu", 3, RINGWIRE_FMT_SKIP, ""},
	    {"USER-KICK\t10.0.0.9\t9090\t1\tu", 4, RINGWIRE_FMT_OK,
		"USER-KICK\t10.0.0.9\t9090\t1\tu\n"},
	    {"USER-KICK-HASH\t10.0.0.9\t9090\t1\t2\t10.0.0.1", 3,
		RINGWIRE_FMT_SKIP, ""},
	    {"USER-KICK-HASH\t10.0.0.9\t9090\t1\t2\t10.0.0.1", 4,
		RINGWIRE_FMT_OK,
		"USER-KICK-HASH\t10.0.0.9\t9090\t1\t2\t10.0.0.1\n"},
	    {"OPTIONS\tconsistent-hashing", 4, RINGWIRE_FMT_SKIP, ""},
	    {"OPTIONS\tconsistent-hashing", 5, RINGWIRE_FMT_OK,
		"OPTIONS\tconsistent-hashing\n"},
	    {"USER-KICK-ALT\t10.0.0.9\t9090\t1\tf\tv", 7, RINGWIRE_FMT_SKIP,
		""},
	    {"USER-KICK-ALT\t10.0.0.9\t9090\t1\tf\tv", 8, RINGWIRE_FMT_OK,
		"USER-KICK-ALT\t10.0.0.9\t9090\t1\tf\tv\n"},
	    /* the rest go to everyone */
	    {"USER-MOVE\t10.0.0.9\t9090\t1\t2\t10.0.0.1", 0, RINGWIRE_FMT_OK,
		"USER-MOVE\t10.0.0.9\t9090\t1\t2\t10.0.0.1\n"},
	    {"PING\t1\t2", 0, RINGWIRE_FMT_OK, "PING\t1\t2\n"},
	};
	struct ringwire_msg msg;
	char text[OUT_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].line, &msg);
		assert_int_equal(
		    format(&msg, cases[i].minor, text, sizeof(text)),
		    cases[i].ret);
		assert_string_equal(text, cases[i].out);
	}
	assert_int_equal(ringwire_cmd_min_minor(RINGWIRE_USER_KICK_ALT), 8);
	assert_string_equal(ringwire_cmd_name(RINGWIRE_HOST_HAND), "HOST");
}

/* A full buffer leaves it as it was. */
static void
test_format_full(void **state)
{
	struct ringwire_msg msg;
	struct buf b;

	parse_ok(
	    "HOST\t127.0.0.11\t9090\t8\t127.0.1.3\t7\tblue\tD17\tnm", &msg);
	buf_init(&b, 20);
	assert_int_equal(buf_append_str(&b, "x"), 0);
	assert_int_equal(ringwire_format(&msg, 9, &b), RINGWIRE_FMT_FULL);
	assert_int_equal(b.len, 1);
	buf_deinit(&b);
}

/* Parses line[0..len) and expects an error containing want, printable. */
static void
parse_bad(const char *line, size_t len, const char *want)
{
	struct ringwire_msg msg;
	char err[ERR_MAX];
	size_t i;

	if (ringwire_parse(line, len, &msg, err, sizeof(err)) == 0)
		fail_msg("parsed: %s", line);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	for (i = 0; err[i] != '\0'; i++)
		assert_true(err[i] >= 0x20 && err[i] < 0x7f);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *line;
		const char *err;
	} cases[] = {
	    {"", "empty line"},
	    {"NOPE\t1", "Command NOPE: Unknown command (input: NOPE\\t1)"},
	    {"user\t1\t10.0.0.1", "Unknown command"},
	    {"DONE\t1", "wrong number of fields (1, expected 0)"},
	    {"USER\t1", "wrong number of fields (1, expected 2 to 3)"},
	    {"USER\tx\t10.0.0.1", "Command USER: invalid user hash"},
	    {"USER\t4294967296\t10.0.0.1", "invalid user hash"},
	    {"USER\t-1\t10.0.0.1", "invalid user hash"},
	    {"USER\t+1\t10.0.0.1", "invalid user hash"},
	    {"USER\t 1\t10.0.0.1", "invalid user hash"},
	    {"USER\t1\t10.0.0.1\t99999999999999999999", "invalid timestamp"},
	    {"USER\t1\t10.0.0.256", "invalid backend IP address"},
	    {"USER\t1\t[::1]", "invalid backend IP address"},
	    {"USER\t1\tmail.example", "invalid backend IP address"},
	    {"USER\t1\t10.0.0.1\t5\tx", "invalid weak flag"},
	    {"U\t1\t10.0.0.1", "wrong number of fields"},
	    {"ME\t10.0.0.1\t0", "invalid port"},
	    {"ME\t10.0.0.1\t65536", "invalid port"},
	    {"ME\t10.0.0.1\t9090\tsoon", "invalid timestamp"},
	    {"VERSION\tdirector-doveadm\t1\t0", "wrong protocol"},
	    {"VERSION\tdirector\t1", "wrong number of fields"},
	    {"VERSION\tdirector\t1\tx", "invalid minor version"},
	    {"HOST-HAND-START\t2", "invalid ring handshaked flag"},
	    {"HOST\t10.0.0.1", "wrong number of fields"},
	    {"HOST\t10.0.0.1\tx", "invalid vhost count"},
	    {"HOST\t10.0.0.1\t1\t\tX5\tn", "invalid up/down state"},
	    {"HOST\t10.0.0.1\t1\t\tU\tn", "invalid up/down state"},
	    {"HOST\t10.0.0.1\t1\t\tU-5\tn", "invalid up/down state"},
	    {"HOST\t10.0.0.9\t9090\tx\t10.0.0.1\t1", "invalid sequence"},
	    {"HOST\t10.0.0.9\t9090\t1\t10.0.0.1\t1\t\tU5\tn\tz",
		"wrong number of fields (9, expected 5 to 8)"},
	    {"HOST\t10.0.0.1\t1\t"
	     "12345678901234567890123456789012345678901234567890123456789012345"
	     "\tU1\t",
		"tag too long (65 bytes, at most 64)"},
	    {"HOST-REMOVE\t10.0.0.9\t9090\t1", "wrong number of fields"},
	    {"HOST-FLUSH\t10.0.0.9\t9090\t1\t", "invalid backend IP address"},
	    {"USER-KICK-HASH\t10.0.0.9\t9090\t1\t2\tx", "invalid except IP"},
	    {"USER-KILLED\t1\t2", "wrong number of fields"},
	    {"X-HOST-KILLED\t10.0.0.9\t9090\t10.0.1.1",
		"wrong number of fields"},
	    {"X-HOST-KILLED\t10.0.0.9\t9090\t1\tx", "invalid backend IP"},
	    {"X-HOST-KILLED-EVERYWHERE\t10.0.0.9\t9090\t1\t10.0.1.1\t1",
		"wrong number of fields"},
	    {"X-HOST-KILLED-EVERYWHERE\t10.0.0.9\t9090\t1\t10.0.1.1\t"
	     "10.0.0.8\t9090\tr",
		"invalid round sequence number"},
	    {"X-USER-KILLED\t10.0.0.9\t9090\t1", "wrong number of fields"},
	    {"X-HOST-HEALTH\t10.0.0.9\t9090\t1\t10.0.1.1\tdead\t10.0.0.8\t1",
		"invalid health state"},
	    {"X-USER-KILLED-EVERYWHERE\t10.0.0.9\t9090\t1\t2\tx\t1\t1",
		"invalid director IP"},
	    {"SYNC\t10.0.0.9\t9090\t1\t9", "wrong number of fields"},
	    {"SYNC\t10.0.0.9\t9090\t1\t9\t1\t4294967296", "invalid hosts hash"},
	    {"DIRECTOR\t10.0.0.9", "wrong number of fields"},
	    {"PING\t1", "wrong number of fields"},
	    {"PONG\t1\t18446744073709551616", "invalid buffer size"},
	    {"DONE\001", "Invalid escape"},
	    {"USER-KICK\t10.0.0.9\t9090\t1\ta\001x", "Invalid escape"},
	    {"USER-KICK\t10.0.0.9\t9090\t1\ta\0010", "Invalid escape"},
	    {"OPTIONS\ta\tb\tc\td\te\tf\tg\th\ti", "wrong number of fields"},
	    {"A\tB\tC\tD\tE\tF\tG\tH\tI\tJ\tK\tL\tM\tN\tO\tP\tQ",
		"Too many fields"},
	    {"DONE\r", "Raw control byte"},
	    {"DO\rNE", "Raw control byte"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_bad(cases[i].line, strlen(cases[i].line), cases[i].err);
	/* an embedded NUL, and a LF that a reader would have cut at */
	parse_bad("DONE\0x", 6, "Raw control byte");
	parse_bad("DONE\nDONE", 9, "Raw control byte");
	/* control bytes of the input are shown escaped */
	parse_bad("\x1b[2J\t\\", 6, "(input: \\x1b[2J\\t\\x5c)");
}

/* Long lines: RING_LINE_MAX bytes with the LF is the most. */
static void
test_parse_long(void **state)
{
	static char line[RING_LINE_MAX + 2];
	struct ringwire_msg msg;
	char err[ERR_MAX];
	size_t n;

	memcpy(line, "QUIT\t", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	n = RING_LINE_MAX - 1;
	assert_int_equal(ringwire_parse(line, n, &msg, err, sizeof(err)), 0);
	assert_int_equal(strlen(msg.reason), n - 5);
	assert_int_equal(
	    ringwire_format(&msg, 9, &(struct buf){0}), RINGWIRE_FMT_FULL);
	parse_bad(line, n + 1, "Line too long");
	parse_bad(line, n + 2, "Line too long");
}

/* Feeds input whole (chunk 0) or chunk bytes at a time; collects lines
 * into lines (each NUL-terminated) and returns the final status. */
static enum ringwire_status
read_lines(const char *input, size_t len, size_t chunk,
    char lines[LINES_MAX][RING_LINE_MAX], size_t *count_r)
{
	struct ringwire_reader r;
	enum ringwire_status st = RINGWIRE_MORE;
	const char *line;
	size_t pos = 0, used, n, line_len;

	*count_r = 0;
	ringwire_reader_init(&r);
	while (pos < len) {
		n = chunk == 0 || len - pos < chunk ? len - pos : chunk;
		st = ringwire_reader_feed(
		    &r, input + pos, n, &used, &line, &line_len);
		if (st == RINGWIRE_TOO_LONG)
			break;
		pos += used;
		if (st == RINGWIRE_LINE) {
			assert_true(*count_r < LINES_MAX);
			memcpy(lines[*count_r], line, line_len + 1);
			(*count_r)++;
		}
	}
	ringwire_reader_deinit(&r);
	/* after the last complete line: waiting for more */
	return st == RINGWIRE_LINE ? RINGWIRE_MORE : st;
}

/* The same input fed whole and a byte at a time gives the same lines,
 * and they parse the same. */
static void
reader_same(
    const char *input, size_t len, size_t want_lines, enum ringwire_status want)
{
	static char a[LINES_MAX][RING_LINE_MAX], b[LINES_MAX][RING_LINE_MAX];
	struct ringwire_msg ma, mb;
	char ea[ERR_MAX], eb[ERR_MAX];
	size_t na, nb, i;
	int ra, rb;

	assert_int_equal(read_lines(input, len, 0, a, &na), want);
	assert_int_equal(read_lines(input, len, 1, b, &nb), want);
	assert_int_equal(na, want_lines);
	assert_int_equal(nb, want_lines);
	for (i = 0; i < na; i++) {
		assert_string_equal(a[i], b[i]);
		ra = ringwire_parse(a[i], strlen(a[i]), &ma, ea, sizeof(ea));
		rb = ringwire_parse(b[i], strlen(b[i]), &mb, eb, sizeof(eb));
		assert_int_equal(ra, rb);
		if (ra == 0)
			assert_memory_equal(&ma, &mb, sizeof(ma));
		else
			assert_string_equal(ea, eb);
	}
}

static void
test_reader(void **state)
{
	static const char input[] =
	    "VERSION\tdirector\t1\t9\nME\t127.0.0.11\t9090\t1700000000\r\n"
	    "HOST\t127.0.1.1\t100\t\tU0\t\nNOPE\nDONE\n";
	static char big[3 * RING_LINE_MAX];
	size_t n;

	reader_same(input, sizeof(input) - 1, 5, RINGWIRE_MORE);
	/* a partial last line stays inside */
	reader_same(input, sizeof(input) - 3, 4, RINGWIRE_MORE);

	/* 1023 bytes and the LF: the longest line */
	memset(big, 'x', sizeof(big));
	n = RING_LINE_MAX - 1;
	big[n] = '\n';
	reader_same(big, n + 1, 1, RINGWIRE_MORE);
	/* 1022 bytes, CR, LF */
	big[n - 1] = '\r';
	reader_same(big, n + 1, 1, RINGWIRE_MORE);
	/* 1023 bytes, CR, LF: 1025 bytes */
	big[n - 1] = 'x';
	big[n] = '\r';
	big[n + 1] = '\n';
	reader_same(big, n + 2, 0, RINGWIRE_TOO_LONG);
	/* 1024 bytes and the LF */
	memset(big, 'x', sizeof(big));
	big[RING_LINE_MAX] = '\n';
	reader_same(big, RING_LINE_MAX + 1, 0, RINGWIRE_TOO_LONG);
	/* a line after an over-long one is never returned */
	memcpy(big + RING_LINE_MAX + 1, "DONE\n", 5);
	reader_same(big, RING_LINE_MAX + 6, 0, RINGWIRE_TOO_LONG);
	/* an embedded NUL reaches the parser, which refuses it */
	reader_same("DO\0NE\nDONE\n", 11, 2, RINGWIRE_MORE);
}

/* Every line a real 2.3 director sent parses and formats back byte for
 * byte for minor 9. */
static void
test_vectors(void **state)
{
	static char line[RING_LINE_MAX + 2];
	struct ringwire_msg msg;
	char text[OUT_MAX], err[ERR_MAX];
	size_t n, count = 0, cmds[RINGWIRE_CMD_COUNT] = {0};
	FILE *f = fopen(VECTORS, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		assert_true(n > 0 && line[n - 1] == '\n');
		if (line[0] == '#')
			continue;
		if (ringwire_parse(line, n - 1, &msg, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(
		    format(&msg, RINGWIRE_MINOR, text, sizeof(text)),
		    RINGWIRE_FMT_OK);
		if (strcmp(text, line) != 0)
			fail_msg("formatted \"%s\" as \"%s\"", line, text);
		cmds[msg.cmd]++;
		count++;
	}
	fclose(f);
	assert_true(count > 20);
	/* the handshake and the steady-state commands were all seen */
	assert_true(cmds[RINGWIRE_VERSION] > 0 && cmds[RINGWIRE_ME] > 0);
	assert_true(cmds[RINGWIRE_HOST_HAND] > 0 && cmds[RINGWIRE_U] > 0);
	assert_true(cmds[RINGWIRE_OPTIONS] > 0 && cmds[RINGWIRE_DONE] > 0);
	assert_true(cmds[RINGWIRE_HOST] > 0 && cmds[RINGWIRE_SYNC] > 0);
	assert_true(cmds[RINGWIRE_USER_MOVE] > 0 && cmds[RINGWIRE_USER] > 0);
	assert_true(cmds[RINGWIRE_USER_KILLED] > 0 &&
	    cmds[RINGWIRE_USER_KILLED_EVERYWHERE] > 0);
	assert_true(cmds[RINGWIRE_USER_KICK] > 0 &&
	    cmds[RINGWIRE_USER_KICK_ALT] > 0 &&
	    cmds[RINGWIRE_USER_KICK_HASH] > 0);
	assert_true(
	    cmds[RINGWIRE_HOST_REMOVE] > 0 && cmds[RINGWIRE_HOST_FLUSH] > 0);
	assert_true(
	    cmds[RINGWIRE_DIRECTOR] > 0 && cmds[RINGWIRE_DIRECTOR_REMOVE] > 0);
	assert_true(cmds[RINGWIRE_PING] > 0 && cmds[RINGWIRE_PONG] > 0 &&
	    cmds[RINGWIRE_QUIT] > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_version_gates),
	    cmocka_unit_test(test_format_full),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_parse_long),
	    cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

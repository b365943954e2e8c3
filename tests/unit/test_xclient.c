/*
 * test_xclient.c - the XCLIENT builder and its one escaping policy:
 * values that are their own xtext encoding go out verbatim, all others
 * (hostile or not) are left out, and nothing else reaches the line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "buf.h"
#include "xclient.h"

/* Builds "XCLIENT NAME=value" for one value; returns the line or "" if
 * the value was left out (then nothing at all is on the buffer). */
static const char *
one(const char *value)
{
	static char line[1024];
	struct xclient x;
	struct buf out;
	bool added, ended;

	buf_init(&out, 4096);
	(void)buf_append_str(&out, "PRE\r\n");
	xclient_begin(&x, &out);
	added = xclient_add(&x, "NAME", value);
	ended = xclient_end(&x);
	assert_int_equal(added, ended);
	assert_int_equal(added, xclient_value_ok(value));
	assert_true(out.len >= 5);
	assert_memory_equal(out.data, "PRE\r\n", 5);
	assert_true(out.len - 5 < sizeof(line));
	memcpy(line, out.data + 5, out.len - 5);
	line[out.len - 5] = '\0';
	buf_deinit(&out);
	return line;
}

static void
test_plain_values(void **state)
{
	assert_string_equal(one("192.0.2.1"), "XCLIENT NAME=192.0.2.1\r\n");
	assert_string_equal(one("2001:db8::1"), "XCLIENT NAME=2001:db8::1\r\n");
	assert_string_equal(
	    one("!~azAZ09-._/[]:"), "XCLIENT NAME=!~azAZ09-._/[]:\r\n");
}

static void
test_hostile_values(void **state)
{
	static const char *const bad[] = {
	    "",
	    "a b",
	    " ",
	    "a\r\nRSET",
	    "a\rb",
	    "a\nb",
	    "a\tb",
	    "a+2B",
	    "+",
	    "a=b",
	    "=",
	    "caf\xc3\xa9",
	    "\x7f",
	    "\x01",
	};
	char big[XCLIENT_VALUE_MAX + 2];
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		assert_string_equal(one(bad[i]), "");
	/* exactly at the limit, and one over */
	memset(big, 'x', sizeof(big));
	big[XCLIENT_VALUE_MAX] = '\0';
	assert_true(xclient_value_ok(big));
	assert_int_equal(
	    strlen(one(big)), strlen("XCLIENT NAME=\r\n") + XCLIENT_VALUE_MAX);
	big[XCLIENT_VALUE_MAX] = 'x';
	big[XCLIENT_VALUE_MAX + 1] = '\0';
	assert_false(xclient_value_ok(big));
	assert_string_equal(one(big), "");
}

static void
test_line(void **state)
{
	struct xclient x;
	struct buf out;

	buf_init(&out, 4096);
	xclient_begin(&x, &out);
	assert_true(xclient_add_addr(&x, "ADDR", "2001:db8::1", true));
	assert_true(xclient_add_addr(&x, "DESTADDR", "2001:db8::2", false));
	assert_true(xclient_add_addr(&x, "X", "192.0.2.1", true));
	assert_false(xclient_add_addr(&x, "Y", "::1 RSET", true));
	assert_true(xclient_add_uint(&x, "PORT", 0));
	assert_true(xclient_add_uint(&x, "TTL", 4294967295u));
	assert_false(xclient_add(&x, "HELO", "evil\r\nQUIT"));
	assert_true(xclient_add(&x, "SESSION", "abc"));
	assert_true(xclient_end(&x));
	(void)buf_append(&out, "", 1);
	assert_string_equal(out.data,
	    "XCLIENT ADDR=IPV6:2001:db8::1 DESTADDR=2001:db8::2 "
	    "X=192.0.2.1 PORT=0 TTL=4294967295 SESSION=abc\r\n");
	buf_deinit(&out);
}

static void
test_no_room(void **state)
{
	struct xclient x;
	struct buf out;

	/* room for "XCLIENT A=1" but not for the next attribute: the whole
	 * line goes, what was there before stays */
	buf_init(&out, 16);
	(void)buf_append_str(&out, "P");
	xclient_begin(&x, &out);
	assert_true(xclient_add(&x, "A", "1"));
	assert_false(xclient_add(&x, "BBBB", "2"));
	assert_false(xclient_add(&x, "C", "3"));
	assert_false(xclient_end(&x));
	assert_int_equal(out.len, 1);
	buf_deinit(&out);
	/* no room for "XCLIENT" at all */
	buf_init(&out, 4);
	xclient_begin(&x, &out);
	assert_false(xclient_add(&x, "A", "1"));
	assert_false(xclient_end(&x));
	assert_int_equal(out.len, 0);
	buf_deinit(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_values),
	    cmocka_unit_test(test_hostile_values),
	    cmocka_unit_test(test_line),
	    cmocka_unit_test(test_no_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

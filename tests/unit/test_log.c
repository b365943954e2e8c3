/*
 * test_log.c - log level names and the sanitiser for remote text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"
#include "log.h"

static void
test_level_parse(void **state)
{
	enum log_level level;

	assert_int_equal(log_level_parse("debug", &level), 0);
	assert_int_equal(level, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("warning", &level), 0);
	assert_int_equal(level, LOG_LEVEL_WARNING);
	assert_int_equal(log_level_parse("verbose", &level), -1);
	assert_string_equal(log_level_name(LOG_LEVEL_ERROR), "error");
}

static void
test_sanitize_plain(void **state)
{
	char buf[64];

	assert_string_equal(
	    log_sanitize(buf, sizeof(buf), "user42", 6), "user42");
}

static void
test_sanitize_escapes(void **state)
{
	char buf[64];
	const char in[] = "a\r\nb\\\x01\xff";

	assert_string_equal(log_sanitize(buf, sizeof(buf), in, sizeof(in) - 1),
	    "a\\x0d\\x0ab\\x5c\\x01\\xff");
}

static void
test_sanitize_truncates(void **state)
{
	char buf[12];
	const char *in = "abcdefghijklmnopqrstuvwxyz";

	log_sanitize(buf, sizeof(buf), in, strlen(in));
	assert_true(strlen(buf) < sizeof(buf));
	assert_non_null(strstr(buf, "..."));
	assert_memory_equal(buf, "abcd", 4);
}

static void
test_sanitize_tiny(void **state)
{
	char buf[1];

	log_sanitize(buf, sizeof(buf), "abc", 3);
	assert_int_equal(buf[0], '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_parse),
	    cmocka_unit_test(test_sanitize_plain),
	    cmocka_unit_test(test_sanitize_escapes),
	    cmocka_unit_test(test_sanitize_truncates),
	    cmocka_unit_test(test_sanitize_tiny),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

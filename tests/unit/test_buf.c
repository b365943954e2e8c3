/*
 * test_buf.c - the bounded output buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"
#include "buf.h"

static void
test_append_and_consume(void **state)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(buf_append_str(&b, "* OK "), 0);
	assert_int_equal(buf_printf(&b, "%s %d\r\n", "ready", 42), 0);
	assert_int_equal(b.len, strlen("* OK ready 42\r\n"));
	assert_memory_equal(b.data, "* OK ready 42\r\n", b.len);
	buf_consume(&b, 5);
	assert_memory_equal(b.data, "ready 42\r\n", b.len);
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	buf_deinit(&b);
	assert_null(b.data);
}

static void
test_limit_enforced(void **state)
{
	struct buf b;
	char big[300];
	int i;

	memset(big, 'x', sizeof(big));
	buf_init(&b, 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(buf_append(&b, big, sizeof(big)), 0);
	/* 900 bytes in; 300 more would pass the limit and must fail
	 * without changing the contents. */
	assert_int_equal(buf_append(&b, big, sizeof(big)), -1);
	assert_int_equal(b.len, 900);
	assert_int_equal(buf_append(&b, big, 100), 0);
	assert_int_equal(b.len, 1000);
	assert_int_equal(buf_printf(&b, "x"), -1);
	assert_int_equal(b.len, 1000);
	buf_deinit(&b);
}

static void
test_growth_keeps_contents(void **state)
{
	struct buf b;
	char expect[5000];
	int i;

	buf_init(&b, sizeof(expect));
	for (i = 0; i < (int)sizeof(expect); i++) {
		expect[i] = (char)('a' + i % 26);
		assert_int_equal(buf_append(&b, &expect[i], 1), 0);
	}
	assert_memory_equal(b.data, expect, sizeof(expect));
	assert_true(b.cap <= b.max);
	buf_deinit(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_and_consume),
	    cmocka_unit_test(test_limit_enforced),
	    cmocka_unit_test(test_growth_keeps_contents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_strnum.c - strict decimal numbers from untrusted text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "strnum.h"

static void
test_str_to_uint64(void **state)
{
	uint64_t v;

	assert_int_equal(str_to_uint64("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_to_uint64("10", 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(str_to_uint64("11", 10, &v), -1);
	assert_int_equal(
	    str_to_uint64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(
	    str_to_uint64("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(str_to_uint64("", 10, &v), -1);
	assert_int_equal(str_to_uint64("+1", 10, &v), -1);
	assert_int_equal(str_to_uint64("1 ", 10, &v), -1);
	assert_int_equal(str_to_uint64("-0", 10, &v), -1);
	assert_int_equal(str_to_uint64("0x1", 10, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_str_to_uint64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

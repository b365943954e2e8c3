/*
 * test_penalty.c - failed logins per client address: the delay curve,
 * forgetting after an hour, IPv6 counted by /64, the bounded table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "penalty.h"

#define T0 1700000000000ull

static struct ipaddr
ip_of(const char *text)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(text, &ip), 0);
	return ip;
}

static void
test_delay_curve(void **state)
{
	static const uint64_t want[] = {0, 2000, 4000, 8000, 15000, 15000};
	struct penalty *p = penalty_new(42);
	struct ipaddr a = ip_of("192.0.2.1"), b = ip_of("192.0.2.2");
	size_t i;

	for (i = 0; i < nitems(want); i++)
		assert_int_equal(penalty_fail(p, &a, T0 + i), want[i]);
	assert_int_equal(penalty_failures(p, &a, T0 + 10), nitems(want));
	/* another address is not affected */
	assert_int_equal(penalty_fail(p, &b, T0 + 10), 0);
	assert_int_equal(penalty_count(p), 2);
	/* an hour after its last failure an address starts over */
	assert_int_equal(
	    penalty_failures(p, &a, T0 + 5 + PENALTY_FORGET_MS - 1),
	    nitems(want));
	assert_int_equal(
	    penalty_failures(p, &a, T0 + 5 + PENALTY_FORGET_MS), 0);
	assert_int_equal(penalty_fail(p, &a, T0 + 5 + PENALTY_FORGET_MS), 0);
	penalty_free(&p);
	assert_null(p);
}

static void
test_ipv6_by_prefix(void **state)
{
	struct penalty *p = penalty_new(7);
	struct ipaddr a = ip_of("2001:db8:1:2::1");
	struct ipaddr b = ip_of("2001:db8:1:2:ffff::9");
	struct ipaddr c = ip_of("2001:db8:1:3::1");

	assert_int_equal(penalty_fail(p, &a, T0), 0);
	/* same /64: the second failure of one client */
	assert_int_equal(penalty_fail(p, &b, T0), PENALTY_FIRST_MS);
	assert_int_equal(penalty_fail(p, &c, T0), 0);
	assert_int_equal(penalty_count(p), 2);
	penalty_free(&p);
}

static void
test_bounded(void **state)
{
	struct penalty *p = penalty_new(1);
	struct ipaddr ip = ip_of("10.0.0.0"), first = ip;
	unsigned int i;

	for (i = 0; i < PENALTY_ENTRIES_MAX + 100; i++) {
		ip.a[1] = (uint8_t)(i >> 16);
		ip.a[2] = (uint8_t)(i >> 8);
		ip.a[3] = (uint8_t)i;
		(void)penalty_fail(p, &ip, T0 + i);
	}
	assert_int_equal(penalty_count(p), PENALTY_ENTRIES_MAX);
	/* the oldest went first, the newest is there */
	assert_int_equal(penalty_failures(p, &first, T0 + i), 0);
	assert_int_equal(penalty_failures(p, &ip, T0 + i), 1);
	penalty_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delay_curve),
	    cmocka_unit_test(test_ipv6_by_prefix),
	    cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

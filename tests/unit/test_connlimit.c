/*
 * test_connlimit.c - per-IP connection counts: the limit, release,
 * no limit, IPv4 and IPv6 kept apart, growth and shrinking.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "connlimit.h"

static struct ipaddr
ip_of(const char *s)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(s, &ip), 0);
	return ip;
}

static void
test_limit(void **state)
{
	struct connlimit *cl = connlimit_new();
	struct ipaddr a = ip_of("192.0.2.1"), b = ip_of("::ffff:192.0.2.1");
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_true(connlimit_acquire(cl, &a, 3));
	assert_false(connlimit_acquire(cl, &a, 3));
	assert_int_equal(connlimit_count(cl, &a), 3);
	/* another family is another client */
	assert_true(connlimit_acquire(cl, &b, 3));
	assert_int_equal(connlimit_ip_count(cl), 2);
	connlimit_release(cl, &a);
	assert_true(connlimit_acquire(cl, &a, 3));
	/* 0 = unlimited */
	for (i = 0; i < 100; i++)
		assert_true(connlimit_acquire(cl, &a, 0));
	assert_int_equal(connlimit_count(cl, &a), 103);
	for (i = 0; i < 103; i++)
		connlimit_release(cl, &a);
	assert_int_equal(connlimit_count(cl, &a), 0);
	connlimit_release(cl, &a); /* not counted: ignored */
	assert_int_equal(connlimit_ip_count(cl), 1);
	connlimit_free(&cl);
	assert_null(cl);
}

static void
test_many_ips(void **state)
{
	struct connlimit *cl = connlimit_new();
	char text[64];
	struct ipaddr ip;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		ip = ip_of(text);
		assert_true(connlimit_acquire(cl, &ip, 1));
		assert_false(connlimit_acquire(cl, &ip, 1));
	}
	assert_int_equal(connlimit_ip_count(cl), 20000);
	for (i = 0; i < 20000; i += 2) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		ip = ip_of(text);
		connlimit_release(cl, &ip);
	}
	assert_int_equal(connlimit_ip_count(cl), 10000);
	ip = ip_of("10.0.0.1");
	assert_int_equal(connlimit_count(cl, &ip), 1);
	connlimit_free(&cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_many_ips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

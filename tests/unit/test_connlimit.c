/*
 * test_connlimit.c - per-IP connection counts: the limit, release,
 * no limit, IPv4 and IPv6 kept apart, IPv6 counted by prefix, growth and
 * shrinking, and a keyed hash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "connlimit.h"

#define TEST_KEY 0x0123456789abcdefull

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
	struct connlimit *cl = connlimit_new(TEST_KEY, 64);
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
	struct connlimit *cl = connlimit_new(TEST_KEY, 64);
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

static void
test_ipv6_prefix(void **state)
{
	struct connlimit *cl = connlimit_new(TEST_KEY, 64);
	struct ipaddr a = ip_of("2001:db8:1:2::1");
	struct ipaddr b = ip_of("2001:db8:1:2:ffff:ffff:ffff:fffe");
	struct ipaddr other = ip_of("2001:db8:1:3::1");

	(void)state;
	/* one /64 is one client, whatever its interface ids */
	assert_true(connlimit_acquire(cl, &a, 2));
	assert_true(connlimit_acquire(cl, &b, 2));
	assert_false(connlimit_acquire(cl, &a, 2));
	assert_false(connlimit_acquire(cl, &b, 2));
	assert_int_equal(connlimit_count(cl, &a), 2);
	assert_int_equal(connlimit_ip_count(cl), 1);
	/* the next /64 is another */
	assert_true(connlimit_acquire(cl, &other, 2));
	assert_int_equal(connlimit_ip_count(cl), 2);
	connlimit_release(cl, &b);
	assert_int_equal(connlimit_count(cl, &a), 1);
	assert_true(connlimit_acquire(cl, &b, 2));
	connlimit_release(cl, &a);
	connlimit_release(cl, &a);
	connlimit_release(cl, &other);
	assert_int_equal(connlimit_ip_count(cl), 0);
	connlimit_free(&cl);
}

static void
test_ipv4_mapped(void **state)
{
	struct connlimit *cl = connlimit_new(TEST_KEY, 64);
	struct ipaddr a = ip_of("::ffff:192.0.2.1");
	struct ipaddr b = ip_of("::ffff:198.51.100.2");

	(void)state;
	/* a dual-stack haproxy reports IPv4 clients like this: each is
	 * one client, not all of them one /64 */
	assert_true(connlimit_acquire(cl, &a, 1));
	assert_true(connlimit_acquire(cl, &b, 1));
	assert_false(connlimit_acquire(cl, &a, 1));
	assert_int_equal(connlimit_ip_count(cl), 2);
	connlimit_free(&cl);
}

static void
test_ipv6_prefix_lengths(void **state)
{
	struct connlimit *cl;
	struct ipaddr a = ip_of("2001:db8::1"), b = ip_of("2001:db8::2");
	struct ipaddr c = ip_of("2001:db8:0:0:8000::1");
	struct ipaddr v4a = ip_of("192.0.2.1"), v4b = ip_of("192.0.2.2");

	(void)state;
	/* /128: every address on its own; IPv4 is never grouped */
	cl = connlimit_new(TEST_KEY, 128);
	assert_true(connlimit_acquire(cl, &a, 1));
	assert_true(connlimit_acquire(cl, &b, 1));
	assert_true(connlimit_acquire(cl, &v4a, 1));
	assert_true(connlimit_acquire(cl, &v4b, 1));
	assert_int_equal(connlimit_ip_count(cl), 4);
	connlimit_free(&cl);
	/* /65 is not a whole byte: c differs from a in bit 65 */
	cl = connlimit_new(TEST_KEY, 65);
	assert_true(connlimit_acquire(cl, &a, 1));
	assert_false(connlimit_acquire(cl, &b, 1));
	assert_true(connlimit_acquire(cl, &c, 1));
	connlimit_free(&cl);
	cl = connlimit_new(TEST_KEY, 64);
	assert_true(connlimit_acquire(cl, &a, 2));
	assert_true(connlimit_acquire(cl, &c, 2));
	assert_false(connlimit_acquire(cl, &b, 2));
	assert_true(connlimit_acquire(cl, &v4a, 0));
	connlimit_free(&cl);
	/* /1: all of 2000::/1 */
	cl = connlimit_new(TEST_KEY, 1);
	assert_true(connlimit_acquire(cl, &a, 1));
	assert_false(connlimit_acquire(cl, &c, 1));
	connlimit_free(&cl);
}

static void
test_keyed_hash(void **state)
{
	struct connlimit *k1 = connlimit_new(1, 64), *k2 = connlimit_new(2, 64);
	struct ipaddr a = ip_of("2001:db8::1"), b = ip_of("192.0.2.1");
	struct ipaddr a2 = ip_of("2001:db8::2");

	(void)state;
	/* the same addresses with the same prefix: same bucket in one table */
	assert_int_equal(
	    connlimit_ip_hash(1, 64, &a), connlimit_ip_hash(1, 64, &a2));
	/* another key moves them */
	assert_int_not_equal(
	    connlimit_ip_hash(1, 64, &a), connlimit_ip_hash(2, 64, &a));
	assert_int_not_equal(
	    connlimit_ip_hash(1, 64, &b), connlimit_ip_hash(2, 64, &b));
	/* the host bits beyond the prefix count at /128 */
	assert_int_not_equal(
	    connlimit_ip_hash(1, 128, &a), connlimit_ip_hash(1, 128, &a2));
	assert_true(connlimit_acquire(k1, &a, 1));
	assert_true(connlimit_acquire(k2, &a, 1));
	connlimit_free(&k1);
	connlimit_free(&k2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_many_ips),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test(test_ipv4_mapped),
	    cmocka_unit_test(test_ipv6_prefix_lengths),
	    cmocka_unit_test(test_keyed_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

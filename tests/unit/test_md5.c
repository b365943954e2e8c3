/*
 * test_md5.c - MD5 (RFC 1321 suite), CRC-32 and the ipaddr type.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "ipaddr.h"
#include "md5.h"

static void
hex_digest(const uint8_t d[MD5_DIGEST_LEN], char out[33])
{
	unsigned int i;

	for (i = 0; i < MD5_DIGEST_LEN; i++)
		snprintf(out + i * 2, 3, "%02x", d[i]);
}

static void
test_md5_rfc1321(void **state)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"a", "0cc175b9c0f1b6a831c399e269772661"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	     "0123456789",
		"d174ab98d277d9f5a5611c2c9f419d9f"},
	    {"1234567890123456789012345678901234567890123456789012345678"
	     "9012345678901234567890",
		"57edf4a22be3c955ac49da2e2107b67a"},
	};
	uint8_t d[MD5_DIGEST_LEN];
	char hex[33];
	size_t i, j, len;
	struct md5_ctx ctx;

	for (i = 0; i < nitems(v); i++) {
		md5_get_digest(v[i].in, strlen(v[i].in), d);
		hex_digest(d, hex);
		assert_string_equal(hex, v[i].hex);
		/* fed one byte at a time: same digest */
		md5_init(&ctx);
		len = strlen(v[i].in);
		for (j = 0; j < len; j++)
			md5_update(&ctx, v[i].in + j, 1);
		md5_final(&ctx, d);
		hex_digest(d, hex);
		assert_string_equal(hex, v[i].hex);
	}
}

static void
test_md5_u32(void **state)
{
	/* ring point 0 of 127.0.1.1: md5 2e6f1e2d... */
	assert_int_equal(md5_get_u32_be("127.0.1.1-0", 11), 0x2e6f1e2du);
	assert_int_equal(md5_get_u32_be("user100", 7), 708027221u);
}

static void
test_crc32(void **state)
{
	uint32_t crc;

	assert_int_equal(crc32_update(0, "123456789", 9), 0xCBF43926u);
	crc = crc32_update(0, "1234", 4);
	crc = crc32_update(crc, "56789", 5);
	assert_int_equal(crc, 0xCBF43926u);
	assert_int_equal(crc32_update(0, "", 0), 0);
}

static void
test_ipaddr_parse_format(void **state)
{
	static const char *good[] = {
	    "127.0.0.1",
	    "10.1.2.3",
	    "::1",
	    "2001:db8::1",
	    "::",
	    "fe80::1:2",
	    "::ffff:1.2.3.4",
	};
	static const char *bad[] = {
	    "",
	    "1.2.3",
	    "1.2.3.256",
	    "localhost",
	    "1.2.3.4 ",
	    "[::1]",
	    "2001:db8::1::2",
	    "01.2.3.4x",
	};
	char buf[IPADDR_STR_MAX];
	struct ipaddr ip;
	size_t i;

	for (i = 0; i < nitems(good); i++) {
		assert_int_equal(ipaddr_parse(good[i], &ip), 0);
		assert_string_equal(ipaddr_format(&ip, buf), good[i]);
	}
	for (i = 0; i < nitems(bad); i++)
		assert_int_equal(ipaddr_parse(bad[i], &ip), -1);
	/* canonical form like inet_ntop */
	assert_int_equal(ipaddr_parse("2001:0DB8:0:0:0:0:0:0001", &ip), 0);
	assert_string_equal(ipaddr_format(&ip, buf), "2001:db8::1");
	assert_int_equal(ipaddr_parse_n("10.0.0.1-10.0.0.2", 8, &ip), 0);
	assert_string_equal(ipaddr_format(&ip, buf), "10.0.0.1");
}

static void
test_ipaddr_cmp(void **state)
{
	struct ipaddr a, b, c, d;

	assert_int_equal(ipaddr_parse("10.0.0.2", &a), 0);
	assert_int_equal(ipaddr_parse("10.0.0.10", &b), 0);
	assert_int_equal(ipaddr_parse("::1", &c), 0);
	assert_int_equal(ipaddr_parse("9.255.255.255", &d), 0);
	assert_true(ipaddr_cmp(&a, &b) < 0);
	assert_true(ipaddr_cmp(&b, &a) > 0);
	assert_true(ipaddr_cmp(&d, &a) < 0);
	/* IPv4 before IPv6 regardless of bytes */
	assert_true(ipaddr_cmp(&b, &c) < 0);
	assert_true(ipaddr_cmp(&c, &d) > 0);
	assert_true(ipaddr_equals(&a, &a));
	assert_false(ipaddr_equals(&a, &b));
}

static void
test_ipaddr_hash(void **state)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse("10.0.0.1", &ip), 0);
	/* in_addr read as a little-endian uint32 */
	assert_int_equal(ipaddr_hash(&ip), 0x0100000au);
	assert_int_equal(ipaddr_parse("2001:db8::1", &ip), 0);
	assert_int_equal(ipaddr_hash(&ip), 0x08020281u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_md5_rfc1321),
	    cmocka_unit_test(test_md5_u32),
	    cmocka_unit_test(test_crc32),
	    cmocka_unit_test(test_ipaddr_parse_format),
	    cmocka_unit_test(test_ipaddr_cmp),
	    cmocka_unit_test(test_ipaddr_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

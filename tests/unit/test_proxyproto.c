/*
 * test_proxyproto.c - PROXY protocol v1/v2 parser: valid headers, every
 * prefix of them (byte-by-byte arrival), truncation and garbage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"
#include "ipaddr.h"
#include "proxyproto.h"

#define V2SIG "\r\n\r\n\0\r\nQUIT\n"

/* Feeds every proper prefix of data (expecting MORE, as bytes arrive one
 * at a time), then the whole; returns the final status. */
static enum proxyproto_status
feed_all(const void *data, size_t len, size_t header_len, size_t *consumed_r,
    struct proxyproto_result *res_r)
{
	size_t i, consumed;
	struct proxyproto_result res;

	for (i = 0; i < header_len && i < len; i++) {
		assert_int_equal(proxyproto_parse(data, i, &consumed, &res),
		    PROXYPROTO_MORE);
		assert_int_equal(consumed, 0);
	}
	return proxyproto_parse(data, len, consumed_r, res_r);
}

static void
test_v1_tcp4(void **state)
{
	const char *h = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 143\r\n";
	char buf[128];
	struct proxyproto_result res;
	size_t consumed;

	snprintf(buf, sizeof(buf), "%sA1 LOGIN", h);
	assert_int_equal(feed_all(buf, strlen(buf), strlen(h), &consumed, &res),
	    PROXYPROTO_DONE);
	assert_int_equal(consumed, strlen(h));
	assert_int_equal(res.version, 1);
	assert_int_equal(res.command, PROXYPROTO_CMD_PROXY);
	assert_int_equal(res.family, PROXYPROTO_FAMILY_INET);
	assert_string_equal(res.src_ip, "192.168.0.1");
	assert_string_equal(res.dst_ip, "10.0.0.2");
	assert_int_equal(res.src_port, 56324);
	assert_int_equal(res.dst_port, 143);
}

static void
test_v1_tcp6_and_unknown(void **state)
{
	const char *h6 = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n";
	const char *hu = "PROXY UNKNOWN\r\n";
	const char *hu2 = "PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n";
	struct proxyproto_result res;
	size_t consumed;

	assert_int_equal(feed_all(h6, strlen(h6), strlen(h6), &consumed, &res),
	    PROXYPROTO_DONE);
	assert_int_equal(consumed, strlen(h6));
	assert_int_equal(res.family, PROXYPROTO_FAMILY_INET6);
	assert_string_equal(res.src_ip, "2001:db8::1");
	assert_string_equal(res.dst_ip, "::1");
	assert_int_equal(res.src_port, 0);
	assert_int_equal(res.dst_port, 65535);

	assert_int_equal(feed_all(hu, strlen(hu), strlen(hu), &consumed, &res),
	    PROXYPROTO_DONE);
	assert_int_equal(consumed, strlen(hu));
	assert_int_equal(res.command, PROXYPROTO_CMD_LOCAL);
	assert_int_equal(res.family, PROXYPROTO_FAMILY_UNSPEC);
	assert_string_equal(res.src_ip, "");
	assert_int_equal(
	    feed_all(hu2, strlen(hu2), strlen(hu2), &consumed, &res),
	    PROXYPROTO_DONE);
	assert_int_equal(res.command, PROXYPROTO_CMD_LOCAL);
}

static void
test_v1_bad(void **state)
{
	static const char *const bad[] = {
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
	    "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
	    "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
	    "PROXY TCP4 ::1 ::1 1 2\r\n",
	    "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
	    "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
	    "PROXY TCP4 host 5.6.7.8 1 2\r\n",
	    "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
	    "PROXY UNKNOWNX\r\n",
	    "PROXY\r\n",
	    "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
	    "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
	    "GET / HTTP/1.0\r\n",
	    "A1 LOGIN",
	};
	struct proxyproto_result res;
	size_t i, consumed;

	for (i = 0; i < nitems(bad); i++)
		assert_int_equal(
		    proxyproto_parse(bad[i], strlen(bad[i]), &consumed, &res),
		    PROXYPROTO_BAD);
	/* early: the first wrong byte is enough */
	assert_int_equal(
	    proxyproto_parse("A", 1, &consumed, &res), PROXYPROTO_BAD);
	assert_int_equal(
	    proxyproto_parse("PRX", 3, &consumed, &res), PROXYPROTO_BAD);
	assert_int_equal(
	    proxyproto_parse("PROXY X", 7, &consumed, &res), PROXYPROTO_BAD);
	assert_int_equal(
	    proxyproto_parse("PROXY TCP4 1\x01", 13, &consumed, &res),
	    PROXYPROTO_BAD);
}

static void
test_v1_length_limit(void **state)
{
	char buf[200];
	struct proxyproto_result res;
	size_t consumed;

	/* 107 bytes exactly (UNKNOWN with filler) is fine */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 105, "\r\n", 2);
	assert_int_equal(
	    proxyproto_parse(buf, 107, &consumed, &res), PROXYPROTO_DONE);
	assert_int_equal(consumed, 107);
	/* 108 is not */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	memcpy(buf + 106, "\r\n", 2);
	assert_int_equal(
	    proxyproto_parse(buf, 108, &consumed, &res), PROXYPROTO_BAD);
	/* and no CRLF in sight: BAD without waiting for more */
	assert_int_equal(
	    proxyproto_parse(buf, 106, &consumed, &res), PROXYPROTO_BAD);
	assert_int_equal(
	    proxyproto_parse(buf, 105, &consumed, &res), PROXYPROTO_MORE);
}

/* Builds a v2 header into out; returns its length. */
static size_t
build_v2(unsigned char *out, uint8_t ver_cmd, uint8_t fam, const void *body,
    size_t body_len)
{
	memcpy(out, V2SIG, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(body_len >> 8);
	out[15] = (uint8_t)body_len;
	if (body_len > 0)
		memcpy(out + 16, body, body_len);
	return 16 + body_len;
}

static void
test_v2_inet(void **state)
{
	static const unsigned char body[] = {
	    192,
	    0,
	    2,
	    1,
	    198,
	    51,
	    100,
	    7,
	    0xdc,
	    0x04,
	    0x00,
	    0x6e,
	    /* TLVs: ALPN "pop3", NOOP empty */
	    0x01,
	    0x00,
	    0x04,
	    'p',
	    'o',
	    'p',
	    '3',
	    0x04,
	    0x00,
	    0x00,
	};
	unsigned char buf[256];
	struct proxyproto_result res;
	size_t len, consumed;

	len = build_v2(buf, 0x21, 0x11, body, sizeof(body));
	memcpy(buf + len, "+OK", 3);
	assert_int_equal(
	    feed_all(buf, len + 3, len, &consumed, &res), PROXYPROTO_DONE);
	assert_int_equal(consumed, len);
	assert_int_equal(res.version, 2);
	assert_int_equal(res.command, PROXYPROTO_CMD_PROXY);
	assert_int_equal(res.family, PROXYPROTO_FAMILY_INET);
	assert_string_equal(res.src_ip, "192.0.2.1");
	assert_string_equal(res.dst_ip, "198.51.100.7");
	assert_int_equal(res.src_port, 56324);
	assert_int_equal(res.dst_port, 110);
}

static void
test_v2_inet6_and_local(void **state)
{
	unsigned char body[36], buf[256];
	struct proxyproto_result res;
	size_t len, consumed;

	memset(body, 0, sizeof(body));
	body[0] = 0x20;
	body[1] = 0x01;
	body[2] = 0x0d;
	body[3] = 0xb8;
	body[15] = 1;
	body[31] = 1;
	body[32] = 0x01;
	body[33] = 0x00;
	body[34] = 0x03;
	body[35] = 0xe1;
	len = build_v2(buf, 0x21, 0x21, body, sizeof(body));
	assert_int_equal(
	    feed_all(buf, len, len, &consumed, &res), PROXYPROTO_DONE);
	assert_int_equal(res.family, PROXYPROTO_FAMILY_INET6);
	assert_string_equal(res.src_ip, "2001:db8::1");
	assert_string_equal(res.dst_ip, "::1");
	assert_int_equal(res.src_port, 256);
	assert_int_equal(res.dst_port, 993);

	/* LOCAL, UNSPEC, no body */
	len = build_v2(buf, 0x20, 0x00, NULL, 0);
	assert_int_equal(
	    feed_all(buf, len, len, &consumed, &res), PROXYPROTO_DONE);
	assert_int_equal(consumed, 16);
	assert_int_equal(res.command, PROXYPROTO_CMD_LOCAL);
	assert_int_equal(res.family, PROXYPROTO_FAMILY_UNSPEC);
	/* LOCAL with an address block: ignored, but consumed */
	len = build_v2(buf, 0x20, 0x11, body, 12);
	assert_int_equal(
	    feed_all(buf, len, len, &consumed, &res), PROXYPROTO_DONE);
	assert_int_equal(consumed, 28);
	assert_int_equal(res.command, PROXYPROTO_CMD_LOCAL);
}

static void
test_v2_bad(void **state)
{
	unsigned char body[64], buf[4096];
	struct proxyproto_result res;
	size_t len, consumed;

	memset(body, 0, sizeof(body));
	/* bad signature at byte 5 */
	memcpy(buf, V2SIG, 12);
	buf[5] = 'x';
	assert_int_equal(
	    proxyproto_parse(buf, 6, &consumed, &res), PROXYPROTO_BAD);
	/* version 1 in the binary header */
	len = build_v2(buf, 0x11, 0x11, body, 12);
	assert_int_equal(
	    proxyproto_parse(buf, 13, &consumed, &res), PROXYPROTO_BAD);
	/* unknown command */
	len = build_v2(buf, 0x22, 0x11, body, 12);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	/* PROXY with UDP, UNIX, UNSPEC */
	len = build_v2(buf, 0x21, 0x12, body, 12);
	assert_int_equal(
	    proxyproto_parse(buf, 14, &consumed, &res), PROXYPROTO_BAD);
	len = build_v2(buf, 0x21, 0x31, body, 12);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	len = build_v2(buf, 0x21, 0x00, NULL, 0);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	/* length too short for the addresses */
	len = build_v2(buf, 0x21, 0x11, body, 11);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	len = build_v2(buf, 0x21, 0x21, body, 12);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	/* huge length: BAD from the 16-byte header alone */
	buf[14] = 0xff;
	buf[15] = 0xff;
	assert_int_equal(
	    proxyproto_parse(buf, 16, &consumed, &res), PROXYPROTO_BAD);
	buf[14] = (PROXYPROTO_V2_LEN_MAX + 1) >> 8;
	buf[15] = (PROXYPROTO_V2_LEN_MAX + 1) & 0xff;
	assert_int_equal(
	    proxyproto_parse(buf, 16, &consumed, &res), PROXYPROTO_BAD);
	/* truncated TLV */
	body[12] = 0x01;
	body[13] = 0x00;
	body[14] = 0x05;
	body[15] = 'a';
	len = build_v2(buf, 0x21, 0x11, body, 16);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	/* partial TLV header */
	len = build_v2(buf, 0x21, 0x11, body, 14);
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_BAD);
	/* truncated: MORE, never DONE */
	len = build_v2(buf, 0x21, 0x11, body, 12);
	assert_int_equal(
	    proxyproto_parse(buf, len - 1, &consumed, &res), PROXYPROTO_MORE);
	/* max length accepted */
	memset(buf, 0, sizeof(buf));
	body[12] = 0xe0;
	body[13] = (PROXYPROTO_V2_LEN_MAX - 15) >> 8;
	body[14] = (PROXYPROTO_V2_LEN_MAX - 15) & 0xff;
	len = build_v2(buf, 0x21, 0x11, body, 15);
	buf[14] = PROXYPROTO_V2_LEN_MAX >> 8;
	buf[15] = PROXYPROTO_V2_LEN_MAX & 0xff;
	len = PROXYPROTO_MAX;
	assert_int_equal(
	    proxyproto_parse(buf, len, &consumed, &res), PROXYPROTO_DONE);
	assert_int_equal(consumed, PROXYPROTO_MAX);
}

/* What we send a backend parses back as what we meant. */
static void
test_v2_build(void **state)
{
	static const uint8_t tls_tlv[] = {0x20, 0x00, 0x0f, 0x01, 0x00, 0x00,
	    0x00, 0x00, 0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3'};
	struct proxyproto_result res;
	struct ipaddr src, dst, v6;
	uint8_t out[PROXYPROTO_V2_OUT_MAX];
	size_t n, used;

	(void)state;
	assert_int_equal(ipaddr_parse("192.0.2.7", &src), 0);
	assert_int_equal(ipaddr_parse("198.51.100.1", &dst), 0);
	assert_int_equal(ipaddr_parse("2001:db8::5", &v6), 0);
	n = proxyproto_v2_build(out, sizeof(out), &src, 51234, &dst, 143, NULL);
	assert_int_equal(n, 16 + 12);
	assert_int_equal(out[12], 0x21);
	assert_int_equal(out[13], 0x11);
	assert_int_equal(
	    proxyproto_parse(out, n, &used, &res), PROXYPROTO_DONE);
	assert_int_equal(used, n);
	assert_int_equal(res.command, PROXYPROTO_CMD_PROXY);
	assert_string_equal(res.src_ip, "192.0.2.7");
	assert_int_equal(res.src_port, 51234);
	assert_string_equal(res.dst_ip, "198.51.100.1");
	assert_int_equal(res.dst_port, 143);
	/* with TLS: the SSL TLV, client flag and version */
	n = proxyproto_v2_build(
	    out, sizeof(out), &src, 51234, &dst, 993, "TLSv1.3");
	assert_int_equal(n, 16 + 12 + sizeof(tls_tlv));
	assert_memory_equal(out + 28, tls_tlv, sizeof(tls_tlv));
	assert_int_equal(
	    proxyproto_parse(out, n, &used, &res), PROXYPROTO_DONE);
	assert_int_equal(used, n);
	assert_int_equal(res.dst_port, 993);
	/* IPv6 */
	n = proxyproto_v2_build(out, sizeof(out), &v6, 1, &v6, 110, "TLSv1.2");
	assert_int_equal(out[13], 0x21);
	assert_int_equal(
	    proxyproto_parse(out, n, &used, &res), PROXYPROTO_DONE);
	assert_string_equal(res.src_ip, "2001:db8::5");
	assert_int_equal(res.dst_port, 110);
	/* mixed families, or no room: nothing */
	assert_int_equal(
	    proxyproto_v2_build(out, sizeof(out), &src, 1, &v6, 2, NULL), 0);
	assert_int_equal(
	    proxyproto_v2_build(out, 20, &src, 1, &dst, 2, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_tcp4),
	    cmocka_unit_test(test_v1_tcp6_and_unknown),
	    cmocka_unit_test(test_v1_bad),
	    cmocka_unit_test(test_v1_length_limit),
	    cmocka_unit_test(test_v2_inet),
	    cmocka_unit_test(test_v2_inet6_and_local),
	    cmocka_unit_test(test_v2_bad),
	    cmocka_unit_test(test_v2_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * proxyproto.c - PROXY protocol v1/v2 header parser (see proxyproto.h).
 *
 * Invariants: never reads past len; never accepts a header longer than
 * PROXYPROTO_MAX; a BAD verdict for a prefix stays BAD for every longer
 * input, and a MORE verdict only when some continuation can be valid.
 */
#include "compat.h"

#include <stdbool.h>
#include <string.h>

#include "ipaddr.h"
#include "proxyproto.h"

static const unsigned char proxyproto_v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

#define PROXYPROTO_V1_PREFIX "PROXY "
#define PROXYPROTO_V2_CMD_LOCAL 0x0
#define PROXYPROTO_V2_CMD_PROXY 0x1
#define PROXYPROTO_V2_TCP4 0x11
#define PROXYPROTO_V2_TCP6 0x21
#define PROXYPROTO_V2_ADDR4_LEN 12
#define PROXYPROTO_V2_ADDR6_LEN 36
#define PROXYPROTO_V2_TLV_HEADER 3
#define PROXYPROTO_PORT_DIGITS 5

/* Parses a decimal port of exactly len bytes. */
static int
proxyproto_parse_port(const char *s, size_t len, uint16_t *port_r)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > PROXYPROTO_PORT_DIGITS ||
	    (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT16_MAX)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

/* Parses an address of the given family and writes its text form. */
static int
proxyproto_parse_addr(
    const char *s, size_t len, uint8_t family, char out[PROXYPROTO_ADDR_MAX])
{
	struct ipaddr ip;
	char tmp[IPADDR_STR_MAX];

	if (len == 0 || len >= IPADDR_STR_MAX)
		return -1;
	if (ipaddr_parse_n(s, len, &ip) == -1 || ip.family != family)
		return -1;
	(void)strlcpy(out, ipaddr_format(&ip, tmp), PROXYPROTO_ADDR_MAX);
	return 0;
}

/* Splits the v1 fields after "PROXY TCPx " (line without CRLF). */
static enum proxyproto_status
proxyproto_v1_addrs(
    const char *p, size_t len, uint8_t family, struct proxyproto_result *res)
{
	const char *field[4];
	size_t flen[4], i, start = 0, n = 0;

	for (i = 0; i <= len && n < 4; i++) {
		if (i == len || p[i] == ' ') {
			field[n] = p + start;
			flen[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	/* exactly four fields, the last one running to the end */
	if (n != 4 || start != len + 1)
		return PROXYPROTO_BAD;
	if (proxyproto_parse_addr(field[0], flen[0], family, res->src_ip) ==
		-1 ||
	    proxyproto_parse_addr(field[1], flen[1], family, res->dst_ip) ==
		-1 ||
	    proxyproto_parse_port(field[2], flen[2], &res->src_port) == -1 ||
	    proxyproto_parse_port(field[3], flen[3], &res->dst_port) == -1)
		return PROXYPROTO_BAD;
	res->command = PROXYPROTO_CMD_PROXY;
	res->family = family == IPADDR_FAMILY_V4 ? PROXYPROTO_FAMILY_INET
						 : PROXYPROTO_FAMILY_INET6;
	return PROXYPROTO_DONE;
}

static enum proxyproto_status
proxyproto_parse_v1(const char *s, size_t len, size_t *consumed_r,
    struct proxyproto_result *res)
{
	static const char *const protos[] = {"TCP4 ", "TCP6 ", "UNKNOWN"};
	size_t i, plen = strlen(PROXYPROTO_V1_PREFIX), line_len;
	const char *rest;
	size_t rest_len;
	enum proxyproto_status st;

	if (memcmp(s, PROXYPROTO_V1_PREFIX, MIN_OF(len, plen)) != 0)
		return PROXYPROTO_BAD;
	/* printable ASCII only, up to the CR */
	for (i = 0; i < len && i < PROXYPROTO_V1_MAX; i++) {
		if (s[i] == '\r')
			break;
		if (s[i] < 0x20 || s[i] > 0x7e)
			return PROXYPROTO_BAD;
	}
	if (i >= PROXYPROTO_V1_MAX - 1)
		return PROXYPROTO_BAD;
	line_len = i;
	if (i < len && i + 1 < len && s[i + 1] != '\n')
		return PROXYPROTO_BAD;
	/* fail early on a bad protocol token */
	if (len > plen) {
		rest = s + plen;
		rest_len = MIN_OF(line_len, len) > plen
		    ? MIN_OF(line_len, len) - plen
		    : 0;
		for (i = 0; i < nitems(protos); i++) {
			size_t tlen = strlen(protos[i]);

			if (memcmp(rest, protos[i], MIN_OF(rest_len, tlen)) ==
			    0)
				break;
		}
		if (i == nitems(protos))
			return PROXYPROTO_BAD;
	}
	if (line_len >= len || line_len + 1 >= len)
		return PROXYPROTO_MORE;
	/* a complete line: s[0 .. line_len) + CRLF */
	if (line_len < plen)
		return PROXYPROTO_BAD;
	rest = s + plen;
	rest_len = line_len - plen;
	res->version = 1;
	if (rest_len >= 7 && memcmp(rest, "UNKNOWN", 7) == 0) {
		/* anything may follow after a space */
		if (rest_len > 7 && rest[7] != ' ')
			return PROXYPROTO_BAD;
		res->command = PROXYPROTO_CMD_LOCAL;
		res->family = PROXYPROTO_FAMILY_UNSPEC;
		st = PROXYPROTO_DONE;
	} else if (rest_len > 5 && memcmp(rest, "TCP4 ", 5) == 0) {
		st = proxyproto_v1_addrs(
		    rest + 5, rest_len - 5, IPADDR_FAMILY_V4, res);
	} else if (rest_len > 5 && memcmp(rest, "TCP6 ", 5) == 0) {
		st = proxyproto_v1_addrs(
		    rest + 5, rest_len - 5, IPADDR_FAMILY_V6, res);
	} else
		return PROXYPROTO_BAD;
	if (st == PROXYPROTO_DONE)
		*consumed_r = line_len + 2;
	return st;
}

/* Checks that the TLVs in p[0..len) exactly fill it. */
static int
proxyproto_check_tlvs(const unsigned char *p, size_t len)
{
	size_t off = 0, tlen;

	while (off < len) {
		if (len - off < PROXYPROTO_V2_TLV_HEADER)
			return -1;
		tlen = ((size_t)p[off + 1] << 8) | p[off + 2];
		off += PROXYPROTO_V2_TLV_HEADER;
		if (tlen > len - off)
			return -1;
		off += tlen;
	}
	return 0;
}

static void
proxyproto_format_bin(const unsigned char *a, size_t alen, uint8_t family,
    char out[PROXYPROTO_ADDR_MAX])
{
	struct ipaddr ip;
	char tmp[IPADDR_STR_MAX];

	memset(&ip, 0, sizeof(ip));
	ip.family = family;
	memcpy(ip.a, a, alen);
	(void)strlcpy(out, ipaddr_format(&ip, tmp), PROXYPROTO_ADDR_MAX);
}

static enum proxyproto_status
proxyproto_parse_v2(const unsigned char *s, size_t len, size_t *consumed_r,
    struct proxyproto_result *res)
{
	size_t body_len, alen, asize;
	unsigned int cmd;
	const unsigned char *body;

	if (memcmp(s, proxyproto_v2_sig,
		MIN_OF(len, sizeof(proxyproto_v2_sig))) != 0)
		return PROXYPROTO_BAD;
	if (len > 12 && (s[12] >> 4) != 2)
		return PROXYPROTO_BAD;
	cmd = len > 12 ? (s[12] & 0x0f) : 0;
	if (cmd != PROXYPROTO_V2_CMD_LOCAL && cmd != PROXYPROTO_V2_CMD_PROXY)
		return PROXYPROTO_BAD;
	if (len > 13 && cmd == PROXYPROTO_V2_CMD_PROXY &&
	    s[13] != PROXYPROTO_V2_TCP4 && s[13] != PROXYPROTO_V2_TCP6)
		return PROXYPROTO_BAD;
	if (len < PROXYPROTO_V2_HEADER)
		return PROXYPROTO_MORE;
	body_len = ((size_t)s[14] << 8) | s[15];
	if (body_len > PROXYPROTO_V2_LEN_MAX)
		return PROXYPROTO_BAD;
	asize = s[13] == PROXYPROTO_V2_TCP4 ? PROXYPROTO_V2_ADDR4_LEN
					    : PROXYPROTO_V2_ADDR6_LEN;
	if (cmd == PROXYPROTO_V2_CMD_PROXY && body_len < asize)
		return PROXYPROTO_BAD;
	if (len < PROXYPROTO_V2_HEADER + body_len)
		return PROXYPROTO_MORE;
	body = s + PROXYPROTO_V2_HEADER;
	res->version = 2;
	if (cmd == PROXYPROTO_V2_CMD_LOCAL) {
		/* addresses and TLVs are ignored (health check) */
		res->command = PROXYPROTO_CMD_LOCAL;
		res->family = PROXYPROTO_FAMILY_UNSPEC;
	} else {
		if (proxyproto_check_tlvs(body + asize, body_len - asize) == -1)
			return PROXYPROTO_BAD;
		res->command = PROXYPROTO_CMD_PROXY;
		if (s[13] == PROXYPROTO_V2_TCP4) {
			alen = 4;
			res->family = PROXYPROTO_FAMILY_INET;
			proxyproto_format_bin(
			    body, alen, IPADDR_FAMILY_V4, res->src_ip);
			proxyproto_format_bin(
			    body + alen, alen, IPADDR_FAMILY_V4, res->dst_ip);
		} else {
			alen = 16;
			res->family = PROXYPROTO_FAMILY_INET6;
			proxyproto_format_bin(
			    body, alen, IPADDR_FAMILY_V6, res->src_ip);
			proxyproto_format_bin(
			    body + alen, alen, IPADDR_FAMILY_V6, res->dst_ip);
		}
		res->src_port =
		    (uint16_t)((body[2 * alen] << 8) | body[2 * alen + 1]);
		res->dst_port =
		    (uint16_t)((body[2 * alen + 2] << 8) | body[2 * alen + 3]);
	}
	*consumed_r = PROXYPROTO_V2_HEADER + body_len;
	return PROXYPROTO_DONE;
}

enum proxyproto_status
proxyproto_parse(const void *data, size_t len, size_t *consumed_r,
    struct proxyproto_result *result_r)
{
	const unsigned char *s = data;
	enum proxyproto_status st;

	*consumed_r = 0;
	memset(result_r, 0, sizeof(*result_r));
	if (len == 0)
		return PROXYPROTO_MORE;
	if (s[0] == 'P')
		st = proxyproto_parse_v1(
		    (const char *)s, len, consumed_r, result_r);
	else if (s[0] == proxyproto_v2_sig[0])
		st = proxyproto_parse_v2(s, len, consumed_r, result_r);
	else
		st = PROXYPROTO_BAD;
	if (st != PROXYPROTO_DONE) {
		*consumed_r = 0;
		memset(result_r, 0, sizeof(*result_r));
	}
	return st;
}

/* -- the client side: a v2 header toward a backend -------------------------- */

#define PROXYPROTO_V2_TLV_SSL 0x20
#define PROXYPROTO_V2_SUBTYPE_SSL_VERSION 0x21
#define PROXYPROTO_V2_CLIENT_SSL 0x01

static void
proxyproto_put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t
proxyproto_v2_build(uint8_t *out, size_t size, const struct ipaddr *src,
    uint16_t src_port, const struct ipaddr *dst, uint16_t dst_port,
    const char *tls_version)
{
	bool v6 = src->family == IPADDR_FAMILY_V6;
	size_t alen = v6 ? 16 : 4, n, vlen = 0, tlv = 0, len;

	if (src->family != dst->family ||
	    (src->family != IPADDR_FAMILY_V4 && !v6))
		return 0;
	if (tls_version != NULL) {
		vlen = strlen(tls_version);
		if (vlen > 64)
			return 0;
		/* client flags, verify, then the version sub-TLV */
		tlv = PROXYPROTO_V2_TLV_HEADER + 1 + 4 +
		    PROXYPROTO_V2_TLV_HEADER + vlen;
	}
	len = 2 * alen + 4 + tlv;
	if (size < PROXYPROTO_V2_HEADER + len)
		return 0;
	memcpy(out, proxyproto_v2_sig, sizeof(proxyproto_v2_sig));
	out[12] = 0x20 | PROXYPROTO_V2_CMD_PROXY;
	out[13] = v6 ? PROXYPROTO_V2_TCP6 : PROXYPROTO_V2_TCP4;
	proxyproto_put16(out + 14, len);
	n = PROXYPROTO_V2_HEADER;
	memcpy(out + n, src->a, alen);
	memcpy(out + n + alen, dst->a, alen);
	n += 2 * alen;
	proxyproto_put16(out + n, src_port);
	proxyproto_put16(out + n + 2, dst_port);
	n += 4;
	if (tls_version != NULL) {
		out[n] = PROXYPROTO_V2_TLV_SSL;
		proxyproto_put16(out + n + 1, tlv - PROXYPROTO_V2_TLV_HEADER);
		out[n + 3] = PROXYPROTO_V2_CLIENT_SSL;
		memset(out + n + 4, 0, 4); /* verify: 0, no client cert */
		n += PROXYPROTO_V2_TLV_HEADER + 1 + 4;
		out[n] = PROXYPROTO_V2_SUBTYPE_SSL_VERSION;
		proxyproto_put16(out + n + 1, vlen);
		memcpy(out + n + PROXYPROTO_V2_TLV_HEADER, tls_version, vlen);
		n += PROXYPROTO_V2_TLV_HEADER + vlen;
	}
	return n;
}

size_t
proxyproto_v2_local(uint8_t *out, size_t size)
{
	if (size < PROXYPROTO_V2_HEADER)
		return 0;
	memcpy(out, proxyproto_v2_sig, sizeof(proxyproto_v2_sig));
	out[12] = 0x20 | PROXYPROTO_V2_CMD_LOCAL;
	out[13] = 0; /* UNSPEC */
	proxyproto_put16(out + 14, 0);
	return PROXYPROTO_V2_HEADER;
}

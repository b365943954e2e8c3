/*
 * ipaddr.c - parse, format, compare and hash IP addresses.
 *
 * Invariant: unused bytes of struct ipaddr.a are zero, so whole-struct
 * comparison is never needed but is always safe.
 */
#include "compat.h"

#include <arpa/inet.h>

#include "ipaddr.h"

int
ipaddr_parse(const char *str, struct ipaddr *ip_r)
{
	memset(ip_r, 0, sizeof(*ip_r));
	if (strchr(str, ':') != NULL) {
		if (inet_pton(AF_INET6, str, ip_r->a) != 1)
			goto fail;
		ip_r->family = IPADDR_FAMILY_V6;
		return 0;
	}
	if (inet_pton(AF_INET, str, ip_r->a) != 1)
		goto fail;
	ip_r->family = IPADDR_FAMILY_V4;
	return 0;
fail:
	memset(ip_r, 0, sizeof(*ip_r));
	return -1;
}

int
ipaddr_parse_n(const char *str, size_t len, struct ipaddr *ip_r)
{
	char tmp[IPADDR_STR_MAX];

	if (len >= sizeof(tmp) || memchr(str, '\0', len) != NULL) {
		memset(ip_r, 0, sizeof(*ip_r));
		return -1;
	}
	memcpy(tmp, str, len);
	tmp[len] = '\0';
	return ipaddr_parse(tmp, ip_r);
}

const char *
ipaddr_format(const struct ipaddr *ip, char buf[IPADDR_STR_MAX])
{
	int af = ip->family == IPADDR_FAMILY_V6 ? AF_INET6 : AF_INET;

	if (inet_ntop(af, ip->a, buf, IPADDR_STR_MAX) == NULL)
		strlcpy(buf, "?", IPADDR_STR_MAX);
	return buf;
}

size_t
ipaddr_len(const struct ipaddr *ip)
{
	return ip->family == IPADDR_FAMILY_V6 ? 16 : 4;
}

int
ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	/* AF_INET (2) < AF_INET6 (10): IPv4 sorts first, as in Dovecot. */
	if (a->family != b->family)
		return a->family == IPADDR_FAMILY_V4 ? -1 : 1;
	return memcmp(a->a, b->a, ipaddr_len(a));
}

bool
ipaddr_equals(const struct ipaddr *a, const struct ipaddr *b)
{
	return ipaddr_cmp(a, b) == 0;
}

uint32_t
ipaddr_hash(const struct ipaddr *ip)
{
	uint32_t h = 0, g;
	unsigned int i;

	if (ip->family != IPADDR_FAMILY_V6) {
		return (uint32_t)ip->a[0] | ((uint32_t)ip->a[1] << 8) |
		    ((uint32_t)ip->a[2] << 16) | ((uint32_t)ip->a[3] << 24);
	}
	for (i = 0; i < 16; i++) {
		h = (h << 4) + ip->a[i];
		if ((g = h & 0xf0000000u) != 0) {
			h ^= g >> 24;
			h ^= g;
		}
	}
	return h;
}

/*
 * sockaddr.c - socket addresses as text and back (see sockaddr.h).
 */
#include "compat.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "ipaddr.h"
#include "sockaddr.h"

void
sockaddr_text(
    const struct sockaddr *sa, char *ip, size_t ipsize, uint16_t *port_r)
{
	ip[0] = '\0';
	*port_r = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)ipsize);
		*port_r = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)ipsize);
		*port_r = ntohs(sin6->sin6_port);
	}
}

void
sockaddr_peer_text(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	sockaddr_text(sa, ip, sizeof(ip), &port);
	snprintf(buf, size, "%s:%u", ip[0] != '\0' ? ip : "?", port);
}

socklen_t
sockaddr_from_ip(
    const struct ipaddr *ip, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ip->family == IPADDR_FAMILY_V4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip->a, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	memcpy(&sin6->sin6_addr, ip->a, 16);
	return sizeof(*sin6);
}

bool
sockaddr_in_networks(
    const struct sockaddr *sa, const struct conf_network *nets, size_t count)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		return conf_networks_match(
		    nets, count, 4, (const uint8_t *)&sin->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		return conf_networks_match(
		    nets, count, 6, (const uint8_t *)&sin6->sin6_addr);
	}
	return false;
}

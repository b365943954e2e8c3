/*
 * proxy.c - what the proxies share (see proxy.h).
 */
#include "compat.h"

#include <stdlib.h>

#include <event2/bufferevent.h>

#include "ipaddr.h"
#include "proto.h"
#include "proxy.h"
#include "proxyproto.h"

void
proxy_session_id(struct proxy_env *env, char *buf, size_t size)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint64_t seq = ++env->session_seq;
	uint32_t r = arc4random();
	size_t i;

	for (i = 0; i + 1 < size && i < 16; i++) {
		unsigned int v;

		if (i < 10) {
			v = (unsigned int)(seq & 63);
			seq >>= 6;
		} else {
			v = r & 63;
			r >>= 6;
		}
		buf[i] = b64[v];
	}
	buf[i] = '\0';
}

int
proxy_send_header(struct bufferevent *bev, const struct proto_client_info *info,
    const char *tls_version)
{
	uint8_t hdr[PROXYPROTO_V2_OUT_MAX];
	struct ipaddr src, dst;
	size_t n;

	if (ipaddr_parse(info->client_ip, &src) == -1 ||
	    ipaddr_parse(info->local_ip, &dst) == -1)
		return -1;
	n = proxyproto_v2_build(hdr, sizeof(hdr), &src, info->client_port, &dst,
	    info->local_port, tls_version);
	if (n == 0 || bufferevent_write(bev, hdr, n) == -1)
		return -1;
	return 0;
}

/*
 * proxy.c - what the proxies share (see proxy.h).
 */
#include "compat.h"

#include <stdlib.h>

#include <event2/bufferevent.h>

#include "connlimit.h"
#include "ipaddr.h"
#include "penalty.h"
#include "proto.h"
#include "proxy.h"
#include "proxyproto.h"

void
proxy_env_init(struct proxy_env *env)
{
	atomic_init(&env->own_connections, 0);
	env->all_connections = &env->own_connections;
	LIST_INIT(&env->sessions);
	LIST_INIT(&env->lmtp_conns);
}

unsigned int
proxy_connections_add(struct proxy_env *env, int delta)
{
	env->connections += (unsigned int)delta;
	if (delta > 0)
		return atomic_fetch_add(env->all_connections, 1) + 1;
	return atomic_fetch_sub(env->all_connections, 1) - 1;
}

static void
proxy_lock(struct proxy_env *env)
{
	if (env->shared_lock != NULL)
		(void)pthread_mutex_lock(env->shared_lock);
}

static void
proxy_unlock(struct proxy_env *env)
{
	if (env->shared_lock != NULL)
		(void)pthread_mutex_unlock(env->shared_lock);
}

bool
proxy_ip_acquire(
    struct proxy_env *env, const struct ipaddr *ip, unsigned int max)
{
	bool ok;

	proxy_lock(env);
	ok = connlimit_acquire(env->connlimit, ip, max);
	proxy_unlock(env);
	return ok;
}

void
proxy_ip_release(struct proxy_env *env, const struct ipaddr *ip)
{
	proxy_lock(env);
	connlimit_release(env->connlimit, ip);
	proxy_unlock(env);
}

uint64_t
proxy_penalty_fail(
    struct proxy_env *env, const struct ipaddr *ip, uint64_t now_ms)
{
	uint64_t delay;

	proxy_lock(env);
	delay = penalty_fail(env->penalty, ip, now_ms);
	proxy_unlock(env);
	return delay;
}

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

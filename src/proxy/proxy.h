/*
 * proxy.h - what every proxied connection (IMAP, POP3, LMTP) shares:
 * the configuration, the event base, the router to the engine, the TLS
 * contexts, per-IP and total connection counts, and the lists of open
 * connections.  The daemon owns one struct proxy_env and hands it to
 * the listeners as the proxies' context; nothing here refers back to
 * the daemon.
 */
#ifndef DIRECTOR_PROXY_H
#define DIRECTOR_PROXY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/queue.h>

#include "stats.h"

struct conf;
struct connlimit;
struct event_base;
struct ipaddr;
struct lmtp_conn;
struct penalty;
struct router;
struct session;
struct ssl_ctx_st;

/* The proxy TTL we start with (Dovecot's default proxy_max_ttl). */
#define PROXY_TTL 5
#define PROXY_HOSTNAME_MAX 255

struct proxy_env {
	const struct conf *conf; /* the daemon's current configuration */
	struct event_base *base;
	struct router *router;
	struct connlimit *connlimit;
	struct penalty *penalty; /* failed logins per client address */
	struct ssl_ctx_st *tls_server; /* NULL without ssl_cert */
	struct ssl_ctx_st *tls_client; /* NULL with backend tls = no */
	LIST_HEAD(, session) sessions; /* IMAP and POP3 (session.c) */
	LIST_HEAD(, lmtp_conn) lmtp_conns; /* LMTP (lmtp_proxy.c) */
	unsigned int connections; /* open client connections */
	/* With worker threads (worker.h) the main thread's env and every
	 * worker's share: the count of all open client connections (else
	 * it points to own_connections) and the lock of the per-IP tables
	 * connlimit and penalty (else NULL). */
	atomic_uint *all_connections;
	atomic_uint own_connections;
	pthread_mutex_t *shared_lock;

	struct stats stats; /* counters for the metrics endpoint */
	uint64_t session_seq;
	bool shutting_down;
	/* a login could not reach the backend at ip (refused, timed out,
	 * closed before its greeting): the health checker looks soon */
	void (*backend_failed)(void *ctx, const struct ipaddr *ip);
	void *backend_failed_ctx;
	char hostname[PROXY_HOSTNAME_MAX + 1]; /* for LMTP greetings */
};

/* Makes env ready for use on one thread (all_connections points to its
 * own counter); the creator sets the rest. */
void proxy_env_init(struct proxy_env *env);

/* Counts one more open client connection (delta +1) or one less (-1);
 * returns the count of all of them (every worker's too). */
unsigned int proxy_connections_add(struct proxy_env *env, int delta);

/* The per-IP tables, under the shared lock when there is one. */
struct ipaddr;
bool proxy_ip_acquire(
    struct proxy_env *env, const struct ipaddr *ip, unsigned int max);
void proxy_ip_release(struct proxy_env *env, const struct ipaddr *ip);
uint64_t proxy_penalty_fail(
    struct proxy_env *env, const struct ipaddr *ip, uint64_t now_ms);

/* Writes a fresh session id (base64url text, NUL-terminated) to buf. */
void proxy_session_id(struct proxy_env *env, char *buf, size_t size);

/* Queues on bev (a backend connection, before anything else is sent) a
 * PROXY v2 header with info's client and local addresses, and the TLS
 * version the client used (NULL: plaintext).  Returns -1 if the
 * addresses do not make one (the two of different families). */
struct bufferevent;
struct proto_client_info;
int proxy_send_header(struct bufferevent *bev,
    const struct proto_client_info *info, const char *tls_version);

#endif

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
	struct stats stats; /* counters for the metrics endpoint */
	uint64_t session_seq;
	bool shutting_down;
	/* a login could not reach the backend at ip (refused, timed out,
	 * closed before its greeting): the health checker looks soon */
	void (*backend_failed)(void *ctx, const struct ipaddr *ip);
	void *backend_failed_ctx;
	char hostname[PROXY_HOSTNAME_MAX + 1]; /* for LMTP greetings */
};

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

/*
 * session.h - one proxied IMAP or POP3 client connection.
 *
 * A session is born in session_accept() (the listener handler), reads an
 * optional PROXY header, speaks the protocol's pre-login dialogue through
 * the pure client-side module, routes the user, logs in to the backend
 * through the backend-side module and then hands both connections to a
 * splice.  It frees itself when it ends; the engine knows it from routing
 * until it ends (struct router_client).
 */
#ifndef DIRECTOR_SESSION_H
#define DIRECTOR_SESSION_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "listener.h"

struct proxy_env;

/* The IMAP and POP3 listener handlers; context is the struct proxy_env. */
extern const struct listener_handler session_handler_imap;
extern const struct listener_handler session_handler_pop3;
extern const struct listener_handler session_handler_sieve;

/* Starts a session of proto on the accepted socket fd, in d. */
struct listener_info;
struct session_proto;
void session_accept(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, const struct session_proto *proto,
    struct proxy_env *d);

/* Closes every session, pre-login ones included, telling pre-login
 * clients that the server is shutting down. */
void session_close_all(struct proxy_env *d);

/* Sets TCP_NODELAY on fd (-1 is ignored): a proxy relays small writes,
 * which Nagle's algorithm and delayed ACKs would hold back. */
void session_nodelay(int fd);

/* Number of open sessions (pre-login and proxying). */
unsigned int session_count(const struct proxy_env *d);

/* What the metrics count of a session. */
enum session_phase {
	SESSION_PHASE_PRELOGIN, /* before or between login attempts */
	SESSION_PHASE_WAITING, /* its login waits for a move or the ring */
	SESSION_PHASE_LOGIN, /* logging in to its backend */
	SESSION_PHASE_PROXYING,
	SESSION_PHASE_CLOSING,
};
#define SESSION_PHASE_COUNT 5

struct ipaddr;
/* Calls fn for every IMAP and POP3 session with its protocol name
 * ("imap", "pop3"), phase and backend (NULL until proxying). */
void session_foreach(const struct proxy_env *d,
    void (*fn)(void *ctx, const char *proto, enum session_phase phase,
	const struct ipaddr *backend),
    void *ctx);
/* "prelogin", "waiting", "login", "proxying", "closing". */
const char *session_phase_name(enum session_phase phase);

#endif

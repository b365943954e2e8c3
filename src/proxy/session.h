/*
 * session.h - one proxied IMAP or POP3 client connection.
 *
 * A session is born in session_accept() (the listener handler), reads an
 * optional PROXY header, speaks the protocol's pre-login dialogue through
 * the pure client-side module, routes the user, logs in to the backend
 * through the backend-side module and then hands both connections to a
 * splice.  It frees itself when it ends; the director's registry points
 * at it only while it is proxying.
 */
#ifndef DIRECTOR_SESSION_H
#define DIRECTOR_SESSION_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "listener.h"

struct director;

/* The IMAP and POP3 listener handlers; context is the struct director. */
extern const struct listener_handler session_handler_imap;
extern const struct listener_handler session_handler_pop3;

/* Ends a proxying session whose user is kicked (registry kick function;
 * owner is the struct session). */
void session_kick(void *owner);

/* Closes every session, pre-login ones included, telling pre-login
 * clients that the server is shutting down. */
void session_close_all(struct director *d);

/* For the LMTP proxy too: the text form of a socket address (ip and
 * port; "" and 0 for other families), and a backend's sockaddr. */
void session_sockaddr_text(
    const struct sockaddr *sa, char *ip, size_t ipsize, uint16_t *port_r);
struct ipaddr;
struct sockaddr_storage;
socklen_t session_backend_sockaddr(
    const struct ipaddr *ip, uint16_t port, struct sockaddr_storage *ss);

/* Sets TCP_NODELAY on fd (-1 is ignored): a proxy relays small writes,
 * which Nagle's algorithm and delayed ACKs would hold back. */
void session_nodelay(int fd);

/* Number of open sessions (pre-login and proxying). */
unsigned int session_count(const struct director *d);

#endif

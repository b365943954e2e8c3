/*
 * listener.h - the listening sockets of directord and their accept loop.
 *
 * A listener_set binds every address of every `listen` block (as root,
 * before the privilege drop) and, once started on an event base, accepts
 * connections and hands each one to the handler of the listener's
 * protocol.  Listening code never looks at protocol names: what happens
 * to a connection is decided by the handler table alone.
 */
#ifndef DIRECTOR_LISTENER_H
#define DIRECTOR_LISTENER_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct event_base;
struct listener_set;

/* What a handler learns about the listener a connection came in on.
 * Owned by the listener_set; valid until it is freed. */
struct listener_info {
	char *name;
	enum conf_protocol protocol;
	enum conf_tls tls;
	bool haproxy;
	char *address; /* as configured: IP, "*" or "::" */
	uint16_t port;
};

/* One protocol's entry points. */
struct listener_handler {
	/* Takes ownership of fd, an accepted nonblocking close-on-exec
	 * socket from peer. */
	void (*accept)(int fd, const struct sockaddr *peer, socklen_t peer_len,
	    const struct listener_info *info, void *context);
};

/* Binds a socket for every address of every listener of conf.  Returns
 * NULL on the first failure with *error_r set to a malloc'd message naming
 * the listener, its file:line, the address and the errno text. */
struct listener_set *listener_set_bind(const struct conf *conf, char **error_r);

/* Which listeners listener_set_bind_some() binds: the IMAP, POP3 and
 * ManageSieve ones (the sessions), or all the others. */
enum listener_subset {
	LISTENER_SESSIONS,
	LISTENER_NOT_SESSIONS,
};
/* As listener_set_bind(), for the subset only; with reuseport every
 * socket gets SO_REUSEPORT, so that several sets (one per worker thread)
 * can listen on the same addresses, the kernel sharing the connections
 * out between them. */
struct listener_set *listener_set_bind_some(const struct conf *conf,
    enum listener_subset subset, bool reuseport, char **error_r);

/* Number of bound sockets. */
size_t listener_set_count(const struct listener_set *set);

/* Starts accepting on base.  handlers and contexts are indexed by enum
 * conf_protocol and must outlive the set; a connection's handler gets
 * the context of its protocol.
 * Returns 0 or -1 (error logged). */
int listener_set_start(struct listener_set *set, struct event_base *base,
    const struct listener_handler *const *handlers, void *const *contexts);

/* Closes every socket, frees *set and sets it to NULL (NULL is fine). */
void listener_set_free(struct listener_set **set);

#endif

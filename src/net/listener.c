/*
 * listener.c - bind, listen and accept for every configured listener.
 *
 * Invariants: accept never busy-loops.  A wakeup accepts at most
 * LISTENER_ACCEPT_BATCH connections; when the process runs out of file
 * descriptors (or the kernel of memory) the listener that hit the limit
 * pauses for LISTENER_PAUSE_MS and then resumes, so its pending
 * connections wait in the kernel backlog instead of spinning the loop.
 * The others go on: a flood on one listener does not stop the rest, which
 * get the descriptors that closing connections free.
 */
#include "compat.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>

#include "listener.h"
#include "log.h"
#include "xmalloc.h"

#define LISTENER_BACKLOG 511
#define LISTENER_ACCEPT_BATCH 64
#define LISTENER_PAUSE_MS 200

struct listener {
	struct listener_set *set;
	struct listener_info info;
	int fd;
	struct event *ev;
	struct event *resume_ev;
	bool paused;
};

struct listener_set {
	struct listener *listeners;
	size_t count;
	const struct listener_handler *const *handlers;
	void *const *contexts;
};

/* Fills ss for address ("*", "::" or an IP literal) and port. */
static int
listener_sockaddr(const char *address, uint16_t port,
    struct sockaddr_storage *ss, socklen_t *len_r)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(address, "*") == 0) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len_r = sizeof(*sin6);
		return 0;
	} else {
		return -1;
	}
	sin->sin_port = htons(port);
	*len_r = sizeof(*sin);
	return 0;
}

static int
listener_open(const struct listener_info *info, bool reuseport, char **errmsg_r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (listener_sockaddr(info->address, info->port, &ss, &len) == -1) {
		*errmsg_r = xstrdup("invalid address");
		return -1;
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1)
		goto fail;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		goto fail;
	if (listen(fd, LISTENER_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	*errmsg_r = xstrdup(strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/* Whether a listener of protocol p belongs to subset (-1: all). */
static bool
listener_in_subset(enum conf_protocol p, int subset)
{
	bool session = p == CONF_PROTOCOL_IMAP || p == CONF_PROTOCOL_POP3 ||
	    p == CONF_PROTOCOL_SIEVE;

	if (subset == -1)
		return true;
	return session == (subset == LISTENER_SESSIONS);
}

static struct listener_set *
listener_set_bind_which(
    const struct conf *conf, int subset, bool reuseport, char **error_r)
{
	struct listener_set *set = xcalloc(1, sizeof(*set));
	const struct conf_listener *cl;
	struct listener *l;
	char *errmsg;
	size_t i, j;

	for (i = 0; i < conf->listener_count; i++) {
		cl = &conf->listeners[i];
		if (!listener_in_subset(cl->protocol, subset))
			continue;
		for (j = 0; j < cl->address_count; j++) {
			set->listeners = xreallocarray(set->listeners,
			    set->count + 1, sizeof(*set->listeners));
			l = &set->listeners[set->count];
			memset(l, 0, sizeof(*l));
			l->set = set;
			l->info.name = xstrdup(cl->name);
			l->info.protocol = cl->protocol;
			l->info.tls = cl->tls;
			l->info.haproxy = cl->haproxy;
			l->info.address = xstrdup(cl->addresses[j]);
			l->info.port = cl->port;
			l->fd = -1;
			set->count++;
			l->fd = listener_open(&l->info, reuseport, &errmsg);
			if (l->fd == -1) {
				*error_r = xasprintf("%s: listen %s: cannot "
						     "listen on %s port %u: %s",
				    cl->loc, cl->name, cl->addresses[j],
				    cl->port, errmsg);
				free(errmsg);
				listener_set_free(&set);
				return NULL;
			}
		}
	}
	return set;
}

struct listener_set *
listener_set_bind(const struct conf *conf, char **error_r)
{
	return listener_set_bind_which(conf, -1, false, error_r);
}

struct listener_set *
listener_set_bind_some(const struct conf *conf, enum listener_subset subset,
    bool reuseport, char **error_r)
{
	return listener_set_bind_which(conf, (int)subset, reuseport, error_r);
}

size_t
listener_set_count(const struct listener_set *set)
{
	return set->count;
}

static void
listener_pause(struct listener *l)
{
	struct timeval tv = {
	    .tv_sec = LISTENER_PAUSE_MS / 1000,
	    .tv_usec = (LISTENER_PAUSE_MS % 1000) * 1000,
	};

	if (l->paused)
		return;
	l->paused = true;
	event_del(l->ev);
	evtimer_add(l->resume_ev, &tv);
}

static void
listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	l->paused = false;
	event_add(l->ev, NULL);
}

static void
listener_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener *l = arg;
	struct listener_set *set = l->set;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, n;

	for (n = 0; n < LISTENER_ACCEPT_BATCH; n++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_warn("listen %s: accept: %s; pausing "
					 "accepts for %d ms",
				    l->info.name, strerror(errno),
				    LISTENER_PAUSE_MS);
				listener_pause(l);
				return;
			default:
				log_error("listen %s: accept: %s", l->info.name,
				    strerror(errno));
				return;
			}
		}
		set->handlers[l->info.protocol]->accept(fd,
		    (struct sockaddr *)&ss, len, &l->info,
		    set->contexts[l->info.protocol]);
	}
}

int
listener_set_start(struct listener_set *set, struct event_base *base,
    const struct listener_handler *const *handlers, void *const *contexts)
{
	struct listener *l;
	size_t i;

	set->handlers = handlers;
	set->contexts = contexts;
	for (i = 0; i < set->count; i++) {
		l = &set->listeners[i];
		l->resume_ev = evtimer_new(base, listener_resume, l);
		l->ev = event_new(
		    base, l->fd, EV_READ | EV_PERSIST, listener_accept, l);
		if (l->ev == NULL || l->resume_ev == NULL ||
		    event_add(l->ev, NULL) == -1) {
			log_error("listen %s: cannot add the accept event",
			    l->info.name);
			return -1;
		}
	}
	return 0;
}

void
listener_set_free(struct listener_set **setp)
{
	struct listener_set *set = *setp;
	struct listener *l;
	size_t i;

	if (set == NULL)
		return;
	*setp = NULL;
	for (i = 0; i < set->count; i++) {
		l = &set->listeners[i];
		if (l->ev != NULL)
			event_free(l->ev);
		if (l->resume_ev != NULL)
			event_free(l->resume_ev);
		if (l->fd != -1)
			close(l->fd);
		free(l->info.name);
		free(l->info.address);
	}
	free(set->listeners);
	free(set);
}

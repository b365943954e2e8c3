/*
 * ring_conn.c - the director ring's TCP connections (see ring_conn.h):
 * accepted ones from the ring listener, outgoing ones the engine asks
 * for, leaving from our own ring address because a Dovecot director
 * knows its peers by their source address.
 *
 * The engine decides everything (src/engine/ring.h); this file only
 * cuts input into lines, hands them over, writes what the engine queued
 * and reports connects, drains and closes.  A connection is freed right
 * after engine_ring_closed(), never while the engine may still name its
 * link.
 */
#include "compat.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "director.h"
#include "engine.h"
#include "log.h"
#include "ring.h"
#include "ring_conn.h"
#include "ringwire.h"
#include "router.h"
#include "session.h"
#include "sockaddr.h"
#include "tls.h"
#include "xmalloc.h"

struct ring_conn {
	struct ring_conn *prev, *next; /* in d->ring_conns */
	struct director *d;
	struct ring_link *link;
	struct bufferevent *bev;
	struct ringwire_reader reader;
	bool closing; /* RING_CLOSE: free once the output is out */
	bool tls; /* bev is a TLS filter */
};

static void ring_conn_read(struct bufferevent *bev, void *arg);
static void ring_conn_write(struct bufferevent *bev, void *arg);
static void ring_conn_event(struct bufferevent *bev, short what, void *arg);

static void
ring_conn_free(struct ring_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->d->ring_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	ringwire_reader_deinit(&c->reader);
	free(c);
}

/* The link is gone for the engine too: tell it, then free. */
static void
ring_conn_gone(struct ring_conn *c, const char *why)
{
	struct director *d = c->d;

	engine_ring_closed(d->engine, router_now_ms(), c->link, why);
	ring_conn_free(c);
	router_run(d->router);
}

static struct ring_conn *
ring_conn_new(struct director *d, int fd)
{
	struct ring_conn *c = xcalloc(1, sizeof(*c));

	/* a ring line must not wait for an ACK: SYNC rounds and kill
	 * tokens cross every director one small line at a time */
	session_nodelay(fd);
	c->d = d;
	ringwire_reader_init(&c->reader);
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		ringwire_reader_deinit(&c->reader);
		free(c);
		return NULL;
	}
	bufferevent_setcb(
	    c->bev, ring_conn_read, ring_conn_write, ring_conn_event, c);
	c->next = d->ring_conns;
	if (c->next != NULL)
		c->next->prev = c;
	d->ring_conns = c;
	return c;
}

static void
ring_conn_read(struct bufferevent *bev, void *arg)
{
	struct ring_conn *c = arg;
	struct director *d = c->d;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v;
	const char *line;
	size_t used, len;
	uint64_t now = router_now_ms();

	while (!c->closing && evbuffer_peek(in, -1, NULL, &v, 1) > 0 &&
	    v.iov_len > 0) {
		switch (ringwire_reader_feed(
		    &c->reader, v.iov_base, v.iov_len, &used, &line, &len)) {
		case RINGWIRE_TOO_LONG:
			log_warn("ring: a director sent us more than %d bytes "
				 "in one line",
			    RING_LINE_MAX);
			ring_conn_gone(c, "line too long");
			return;
		case RINGWIRE_LINE:
			evbuffer_drain(in, used);
			engine_ring_input(d->engine, now, c->link, line, len);
			break;
		case RINGWIRE_MORE:
			evbuffer_drain(in, used);
			break;
		}
	}
	router_run(d->router);
}

static void
ring_conn_write(struct bufferevent *bev, void *arg)
{
	struct ring_conn *c = arg;

	if (c->closing) {
		ring_conn_gone(c, NULL);
		return;
	}
	engine_ring_drained(c->d->engine, router_now_ms(), c->link);
	router_run(c->d->router);
}

static void
ring_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ring_conn *c = arg;
	char why[128];

	if ((what & BEV_EVENT_CONNECTED) != 0) {
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		engine_ring_connected(c->d->engine, router_now_ms(), c->link);
		router_run(c->d->router);
		return;
	}
	if ((what & BEV_EVENT_EOF) != 0)
		snprintf(why, sizeof(why), "connection closed");
	else if (c->tls)
		snprintf(why, sizeof(why), "TLS: %s", tls_error_string(bev));
	else
		snprintf(why, sizeof(why), "%s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	ring_conn_gone(c, c->closing ? NULL : why);
}

/* -- the listener ----------------------------------------------------------- */

static void
ring_conn_accept(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	struct director *d = context;
	struct ipaddr ip;
	char text[SOCKADDR_TEXT_MAX];
	uint16_t port;
	struct ring_conn *c;

	sockaddr_text(peer, text, sizeof(text), &port);
	if (!engine_ring_enabled(d->engine) || ipaddr_parse(text, &ip) == -1) {
		log_info("ring: connection from %s refused: %s", text,
		    engine_ring_enabled(d->engine)
			? "not an IP address"
			: "this director is not in a ring (director_servers)");
		close(fd);
		return;
	}
	c = ring_conn_new(d, fd);
	if (c == NULL) {
		close(fd);
		return;
	}
	c->link = engine_ring_accept(d->engine, router_now_ms(), &ip, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	router_run(d->router);
}

const struct listener_handler ring_conn_handler = {
    .accept = ring_conn_accept,
};

/* -- the engine's effects ----------------------------------------------------- */

void
ring_conn_connect(struct director *d, struct ring_link *link)
{
	const struct ring_addr *to = ring_link_target(link);
	struct sockaddr_storage ss, self;
	socklen_t len, self_len;
	struct ring_conn *c;
	char why[160];
	int fd;

	len = sockaddr_from_ip(&to->ip, to->port, &ss);
	self_len = sockaddr_from_ip(&d->ring_self.ip, 0, &self);
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&self, self_len) == -1) {
		snprintf(why, sizeof(why),
		    "cannot connect from our ring "
		    "address: %s",
		    strerror(errno));
		if (fd != -1)
			close(fd);
		engine_ring_closed(d->engine, router_now_ms(), link, why);
		return;
	}
	c = ring_conn_new(d, fd);
	if (c == NULL) {
		close(fd);
		engine_ring_closed(
		    d->engine, router_now_ms(), link, "out of memory");
		return;
	}
	c->link = link;
	ring_link_set_owner(link, c);
	if (bufferevent_socket_connect(
		c->bev, (struct sockaddr *)&ss, (int)len) == -1) {
		snprintf(why, sizeof(why), "connect: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		engine_ring_closed(d->engine, router_now_ms(), link, why);
		ring_conn_free(c);
	}
}

void
ring_conn_close(struct director *d, struct ring_link *link)
{
	struct ring_conn *c = ring_link_owner(link);

	if (c == NULL) {
		/* never connected: nothing to close */
		engine_ring_closed(d->engine, router_now_ms(), link, NULL);
		return;
	}
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 ||
	    (bufferevent_get_enabled(c->bev) & EV_WRITE) == 0) {
		engine_ring_closed(d->engine, router_now_ms(), link, NULL);
		ring_conn_free(c);
	}
	/* else ring_conn_write() frees it once the QUIT is out */
}

/* Writes what the engine queued on c's link to c's bufferevent. */
static void
ring_conn_write_out(struct ring_conn *c)
{
	const void *data;
	size_t len;

	data = ring_link_output(c->link, &len);
	if (len > 0 && bufferevent_write(c->bev, data, len) == -1)
		log_error("ring: cannot queue %zu bytes", len);
	ring_link_output_taken(c->link);
}

void
ring_conn_starttls(struct director *d, struct ring_link *link, bool accept)
{
	struct ring_conn *c = ring_link_owner(link);
	struct bufferevent *bev;

	/* the last plaintext line (our answer to the offer) goes first */
	ring_conn_write_out(c);
	bev = tls_wrap_ring(c->bev,
	    accept ? d->ring_tls_server : d->ring_tls_client, accept,
	    ring_link_peer_ip(link));
	c->bev = bev;
	if (bev == NULL) {
		ring_conn_gone(c, "cannot start TLS");
		return;
	}
	c->tls = true;
	ringwire_reader_deinit(&c->reader);
	ringwire_reader_init(&c->reader);
	bufferevent_setcb(
	    c->bev, ring_conn_read, ring_conn_write, ring_conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	engine_ring_tls_started(d->engine, router_now_ms(), link);
}

void
ring_conn_flush(struct director *d)
{
	struct ring_link *link;
	struct ring_conn *c;

	while ((link = engine_ring_next_output(d->engine)) != NULL) {
		c = ring_link_owner(link);
		ring_conn_write_out(c);
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
		    d->conf->output_buffer_size) {
			log_warn("ring: output buffer to a director is over "
				 "director_output_buffer_size, disconnecting");
			bufferevent_disable(c->bev, EV_WRITE);
			ring_conn_gone(c, "output buffer full");
		}
	}
}

void
ring_conn_free_all(struct director *d)
{
	struct ring_conn *c;

	/* at exit: the engine forgets its links without telling us */
	while ((c = d->ring_conns) != NULL)
		ring_conn_free(c);
}

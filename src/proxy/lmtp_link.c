/*
 * lmtp_link.c - the LMTP proxy's backend connections (see lmtp_int.h):
 * one link per backend per transaction; it connects, does its handshake
 * through the backend module, sends MAIL before its first RCPT and the
 * body once both its 354 and the client's end marker are there.  A kick
 * of a recipient aborts its link: every recipient on it gets 451 and is
 * no longer counted on that backend.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevio.h"
#include "buf.h"
#include "conf.h"
#include "lmtp_int.h"
#include "lmtp_server.h"
#include "proxy.h"
#include "session.h"
#include "sockaddr.h"
#include "tls.h"
#include "xmalloc.h"

static void lmtp_link_event(struct lmtp_link *l, enum lmtp_backend_event ev);

/* -- links ---------------------------------------------------------------- */

void
lmtp_link_flush(struct lmtp_link *l)
{
	struct buf *out = lmtp_backend_output(l->b);

	if (out->len > 0 && l->bev != NULL) {
		bevio_write(l->bev, out->data, out->len);
		buf_consume(out, out->len);
	}
}

void
lmtp_link_free(struct lmtp_link *l)
{
	if (l->bev != NULL)
		bufferevent_free(l->bev);
	lmtp_backend_free(&l->b);
	free(l);
}

/* The recipient's delivery is over (failed, refused, or its transaction
 * ended): the engine stops counting it on its backend. */
void
lmtp_rcpt_unroute(struct lmtp_conn *c, struct lmtp_rcpt *r)
{
	if (r->route == NULL)
		return;
	router_end(c->d->router, &r->route->rc);
	free(r->route);
	r->route = NULL;
}

/* Answers a recipient whose backend failed (not yet answered). */
void
lmtp_rcpt_fail(struct lmtp_conn *c, unsigned int i, const char *why)
{
	struct lmtp_rcpt *r = &c->rcpts[i];
	char reply[LMTP_REPLY_MAX + 1];

	snprintf(reply, sizeof(reply), "451 4.4.0 <%s> backend %s: %s", r->addr,
	    r->link != NULL ? r->link->name : "-", why);
	strlcpy(r->code, "451", sizeof(r->code));
	lmtp_rcpt_unroute(c, r);
	if (r->state == LMTP_RCPT_ROUTING) {
		r->state = LMTP_RCPT_REFUSED;
		lmtp_server_rcpt_reply(c->srv, reply);
		c->waiting = false;
	} else if (r->state == LMTP_RCPT_ACCEPTED && !r->answered &&
	    c->replies_due > 0) {
		r->answered = true;
		c->replies_due--;
		(void)lmtp_server_data_reply(c->srv, i, reply);
	}
}

/* The backend connection failed or closed: its recipients still waiting
 * for a reply get 4xx. */
void
lmtp_link_lost(struct lmtp_link *l, const char *why)
{
	struct lmtp_conn *c = l->c;
	unsigned int i;

	if (l->closed)
		return;
	l->closed = true;
	/* a kept connection between transactions may end quietly */
	lmtp_log(c, l->idle ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING,
	    "backend %s: %s", l->name, why);
	for (i = 0; i < c->rcpt_count; i++) {
		if (c->rcpts[i].link != l)
			continue;
		lmtp_rcpt_fail(c, i, why);
		/* answered ones too: nothing more reaches that backend */
		lmtp_rcpt_unroute(c, &c->rcpts[i]);
	}
	lmtp_tx_maybe_done(c);
	lmtp_client_flush(c);
}

static void
lmtp_link_process(struct lmtp_link *l)
{
	struct evbuffer *in;
	enum lmtp_backend_event ev;
	size_t len, consumed;

	while (!l->closed) {
		in = bufferevent_get_input(l->bev);
		len = evbuffer_get_length(in);
		ev = lmtp_backend_input(l->b,
		    len == 0 ? "" : (const void *)evbuffer_pullup(in, -1), len,
		    &consumed);
		evbuffer_drain(in, consumed);
		lmtp_link_flush(l);
		if (ev == LMTP_BACKEND_EV_MORE) {
			if (consumed == 0)
				return;
			continue;
		}
		lmtp_link_event(l, ev);
	}
}

static void
lmtp_on_link_read(struct bufferevent *bev, void *arg)
{
	struct lmtp_conn *c = ((struct lmtp_link *)arg)->c;

	(void)bev;
	lmtp_link_process(arg);
	lmtp_process(c);
}

static void
lmtp_on_link_event(struct bufferevent *bev, short what, void *arg)
{
	struct lmtp_link *l = arg;
	struct lmtp_conn *c = l->c;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		l->connected = true;
		if (c->d->conf->backend.tls == CONF_TLS_IMPLICIT) {
			l->bev = tls_wrap_backend(l->bev, c->d->tls_client,
			    c->d->conf->backend.ssl_name, &l->ip);
			if (l->bev == NULL) {
				lmtp_link_lost(l, "TLS setup failed");
				lmtp_process(c);
				return;
			}
			bufferevent_setcb(l->bev, lmtp_on_link_read, NULL,
			    lmtp_on_link_event, l);
			bufferevent_enable(l->bev, EV_READ | EV_WRITE);
		}
		return;
	}
	/* never reached: the health checker looks at it soon (a refused
	 * delivery already got its 4xx) */
	if (!l->connected && c->d->backend_failed != NULL)
		c->d->backend_failed(c->d->backend_failed_ctx, &l->ip);
	if (what & BEV_EVENT_TIMEOUT)
		lmtp_link_lost(l, "timed out");
	else if (what & BEV_EVENT_EOF)
		lmtp_link_lost(l, "connection closed");
	else
		lmtp_link_lost(l,
		    EVUTIL_SOCKET_ERROR() != 0
			? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
			: tls_error_string(l->bev));
	lmtp_process(c);
}

static void
lmtp_link_timeouts(struct lmtp_link *l, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	    .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	bufferevent_set_timeouts(l->bev, &tv, &tv);
}

struct lmtp_link *
lmtp_link_get(struct lmtp_conn *c, const struct ipaddr *ip)
{
	const struct conf *conf = c->d->conf;
	struct lmtp_backend_settings set = {
	    .hostname = c->d->hostname,
	    .starttls = conf->backend.tls == CONF_TLS_STARTTLS,
	};
	char ipstr[IPADDR_STR_MAX];
	struct sockaddr_storage ss;
	struct lmtp_link *l;
	socklen_t sslen;

	for (l = c->links; l != NULL; l = l->next) {
		if (ipaddr_equals(&l->ip, ip))
			return l;
	}
	l = xcalloc(1, sizeof(*l));
	l->c = c;
	l->ip = *ip;
	l->want_rcpt = -1;
	snprintf(l->name, sizeof(l->name),
	    ip->family == IPADDR_FAMILY_V6 ? "[%s]:%u" : "%s:%u",
	    ipaddr_format(ip, ipstr), conf->backend.lmtp_port);
	l->next = c->links;
	c->links = l;
	c->info.proxy_header = conf->backend.proxy_protocol;
	l->b = lmtp_backend_new(&set, &c->info, lmtp_server_helo(c->srv));
	l->bev = bufferevent_socket_new(c->d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (l->b == NULL || l->bev == NULL ||
	    (c->info.proxy_header &&
		proxy_send_header(l->bev, &c->info,
		    c->tls_active ? tls_session_version(c->client) : NULL) ==
		    -1)) {
		l->closed = true;
		return l;
	}
	bufferevent_setcb(
	    l->bev, lmtp_on_link_read, NULL, lmtp_on_link_event, l);
	lmtp_link_timeouts(l, conf->backend.connect_timeout_ms);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	sslen = sockaddr_from_ip(&l->ip, conf->backend.lmtp_port, &ss);
	if (bufferevent_socket_connect(
		l->bev, (struct sockaddr *)&ss, (int)sslen) == -1)
		l->closed = true;
	else
		session_nodelay(bufferevent_getfd(l->bev));
	return l;
}

/* Sends MAIL (first time) and the waiting RCPT of a ready link. */
void
lmtp_link_send_rcpt(struct lmtp_link *l)
{
	struct lmtp_conn *c = l->c;
	unsigned int i;

	if (!l->ready || l->want_rcpt < 0)
		return;
	i = (unsigned int)l->want_rcpt;
	l->want_rcpt = -1;
	if (!l->mail_sent) {
		if (lmtp_backend_mail(l->b, lmtp_server_mail_from(c->srv),
			lmtp_server_mail_params(c->srv)) == -1) {
			lmtp_rcpt_fail(c, i, "MAIL FROM not accepted");
			return;
		}
		l->mail_sent = true;
		l->idle = false;
	}
	if (lmtp_backend_rcpt(l->b, i, c->rcpts[i].addr) == -1) {
		lmtp_rcpt_fail(c, i, "address not accepted");
		return;
	}
	lmtp_link_flush(l);
}

/* Streams the body to a link once both its 354 and the whole body are
 * there. */
void
lmtp_link_send_body(struct lmtp_link *l)
{
	struct lmtp_conn *c = l->c;
	struct evbuffer *out;
	int fd;

	if (!l->data_ready || !c->body_complete || l->body_sent || l->closed)
		return;
	l->body_sent = true;
	lmtp_link_flush(l);
	out = bufferevent_get_output(l->bev);
	/* the whole body is in the file (lmtp_spool_sync()) */
	if (c->spool_fd != -1) {
		fd = dup(c->spool_fd);
		if (fd == -1 ||
		    evbuffer_add_file(out, fd, 0, (ev_off_t)c->spool_len) ==
			-1) {
			if (fd != -1)
				close(fd);
			lmtp_link_lost(l, "cannot read the spooled message");
			return;
		}
	} else if (c->spool_len > 0 &&
	    evbuffer_add_buffer_reference(out, c->spool) == -1) {
		/* a reference shares the spool's memory; else copy it */
		evbuffer_add(out, evbuffer_pullup(c->spool, -1),
		    evbuffer_get_length(c->spool));
	}
	if (lmtp_backend_data_end(l->b) == -1) {
		lmtp_link_lost(l, "protocol state error at the end of DATA");
		return;
	}
	lmtp_link_flush(l);
}

/* A move or kick of a user with a delivery on this link (or on its way
 * to it): abort the link (its recipients get 451) and resume the client
 * from the loop, not from inside the router's effects. */
void
lmtp_on_kick(struct router_client *rc)
{
	struct lmtp_route *route = (struct lmtp_route *)rc;
	struct lmtp_conn *c = route->c;
	struct lmtp_rcpt *r = &c->rcpts[route->index];
	struct lmtp_link *l = r->link;

	if (l == NULL || l->closed) {
		lmtp_rcpt_unroute(c, r);
		return;
	}
	if (l->bev != NULL) {
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
	lmtp_link_lost(l, "delivery aborted: user moved or kicked");
	event_active(c->resume_ev, 0, 0);
}

static void
lmtp_link_event(struct lmtp_link *l, enum lmtp_backend_event ev)
{
	struct lmtp_conn *c = l->c;
	const char *reply;
	unsigned int i;

	switch (ev) {
	case LMTP_BACKEND_EV_MORE:
		break;
	case LMTP_BACKEND_EV_STARTTLS:
		l->bev = tls_wrap_backend(l->bev, c->d->tls_client,
		    c->d->conf->backend.ssl_name, &l->ip);
		if (l->bev == NULL) {
			lmtp_link_lost(l, "STARTTLS setup failed");
			break;
		}
		bufferevent_setcb(
		    l->bev, lmtp_on_link_read, NULL, lmtp_on_link_event, l);
		bufferevent_enable(l->bev, EV_READ | EV_WRITE);
		lmtp_backend_tls_started(l->b);
		lmtp_link_flush(l);
		break;
	case LMTP_BACKEND_EV_READY:
		l->ready = true;
		l->idle = true;
		lmtp_link_timeouts(l, c->d->conf->lmtp_backend_timeout_ms);
		lmtp_link_send_rcpt(l);
		break;
	case LMTP_BACKEND_EV_RCPT_REPLY:
		i = lmtp_backend_reply_index(l->b);
		reply = lmtp_backend_reply(l->b);
		if (i >= c->rcpt_count ||
		    c->rcpts[i].state != LMTP_RCPT_ROUTING) {
			lmtp_link_lost(l, "reply for an unknown recipient");
			break;
		}
		strlcpy(c->rcpts[i].code, reply, sizeof(c->rcpts[i].code));
		if (reply[0] == '2') {
			c->rcpts[i].state = LMTP_RCPT_ACCEPTED;
			l->accepted++;
			/* the backend knows the user: the assignment lasts
			 * (an unknown recipient's does not) */
			if (c->rcpts[i].route != NULL)
				router_alive(
				    c->d->router, &c->rcpts[i].route->rc);
		} else {
			c->rcpts[i].state = LMTP_RCPT_REFUSED;
			lmtp_rcpt_unroute(c, &c->rcpts[i]);
		}
		lmtp_server_rcpt_reply(c->srv, reply);
		lmtp_client_flush(c);
		c->waiting = false;
		break;
	case LMTP_BACKEND_EV_DATA_READY:
		l->data_ready = true;
		lmtp_link_send_body(l);
		break;
	case LMTP_BACKEND_EV_DATA_REPLY:
		i = lmtp_backend_reply_index(l->b);
		reply = lmtp_backend_reply(l->b);
		if (i >= c->rcpt_count || c->rcpts[i].link != l ||
		    c->rcpts[i].answered) {
			lmtp_link_lost(l, "reply for an unknown recipient");
			break;
		}
		c->rcpts[i].answered = true;
		strlcpy(c->rcpts[i].code, reply, sizeof(c->rcpts[i].code));
		c->replies_due--;
		(void)lmtp_server_data_reply(c->srv, i, reply);
		lmtp_tx_maybe_done(c);
		lmtp_client_flush(c);
		break;
	case LMTP_BACKEND_EV_DONE:
		l->idle = true;
		break;
	case LMTP_BACKEND_EV_CLOSE:
		lmtp_link_lost(l,
		    lmtp_backend_error(l->b)[0] != '\0'
			? lmtp_backend_error(l->b)
			: "closed");
		break;
	}
}

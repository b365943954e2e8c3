/*
 * lmtp_link.c - the LMTP proxy's backend connections (see lmtp_int.h):
 * one link per backend per transaction; it connects, does its handshake
 * through the backend module and sends MAIL before its first RCPT.  The
 * body goes to every link while it arrives from the client: in BDAT
 * chunks of LMTP_BDAT_MIN bytes or more (the spool's bytes as they are,
 * from the file with sendfile(2)) to a backend that offers CHUNKING, else
 * after DATA and its 354, dot-stuffed again; the end of the body (BDAT
 * LAST, or the end marker) goes only after the client's end marker.  At
 * most LMTP_LINK_OUT_HIGH bytes wait in a link's output; its write
 * callback asks for more.  While the body is being sent the backend owes
 * no reply, so only the write timeout runs.  A kick of a recipient
 * aborts its link: every recipient on it gets 451 and is no longer
 * counted on that backend.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
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

/* Body bytes queued toward a backend before we wait for its socket, and
 * the mark under which its write callback asks for more. */
#define LMTP_LINK_OUT_HIGH (1024 * 1024)
#define LMTP_LINK_OUT_LOW (256 * 1024)
/* Largest write to a backend (libevent's default is 16 KiB). */
#define LMTP_LINK_WRITE_MAX (1024 * 1024)
/* Smallest BDAT chunk but the last: each chunk costs the backend a
 * command and a reply (Dovecot 2.3's lmtp: 4.5 ms of CPU per MB in
 * 16 KiB chunks, 3.2 in 1 MiB ones, 5.3 with DATA). */
#define LMTP_BDAT_MIN (256 * 1024)

static void lmtp_link_event(struct lmtp_link *l, enum lmtp_backend_event ev);
static void lmtp_on_link_read(struct bufferevent *bev, void *arg);
static void lmtp_on_link_write(struct bufferevent *bev, void *arg);
static void lmtp_on_link_event(struct bufferevent *bev, short what, void *arg);

static void
lmtp_link_setcb(struct lmtp_link *l)
{
	bufferevent_setcb(l->bev, lmtp_on_link_read, lmtp_on_link_write,
	    lmtp_on_link_event, l);
	bufferevent_setwatermark(l->bev, EV_WRITE, LMTP_LINK_OUT_LOW, 0);
	bufferevent_set_max_single_write(l->bev, LMTP_LINK_WRITE_MAX);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
}

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
	/* an answered recipient keeps the code its client was given */
	if (!r->answered)
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

/* The link's output went under LMTP_LINK_OUT_LOW: more of the body. */
static void
lmtp_on_link_write(struct bufferevent *bev, void *arg)
{
	struct lmtp_link *l = arg;
	struct lmtp_conn *c = l->c;

	(void)bev;
	lmtp_link_pump(l);
	/* a lost link may have ended the transaction */
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
			lmtp_link_setcb(l);
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

/* While the body is being sent the backend owes no reply (however slowly
 * the client sends it: lmtp_transaction_timeout bounds that), but it
 * must take our bytes in time. */
static void
lmtp_link_body_timeouts(struct lmtp_link *l, bool sending)
{
	uint64_t ms = l->c->d->conf->lmtp_backend_timeout_ms;
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	    .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	bufferevent_set_timeouts(l->bev, sending ? NULL : &tv, &tv);
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
	lmtp_link_setcb(l);
	lmtp_link_timeouts(l, conf->backend.connect_timeout_ms);
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

int
lmtp_link_body_start(struct lmtp_link *l)
{
	l->body_off = 0;
	l->stuff_bol = true;
	l->body_sent = false;
	l->data_sent = true;
	if (lmtp_backend_chunking(l->b)) {
		/* no command and no 354 to wait for */
		l->bdat = true;
		l->data_ready = true;
		lmtp_link_body_timeouts(l, true);
		return 0;
	}
	l->bdat = false;
	if (lmtp_backend_data(l->b) == -1) {
		lmtp_link_lost(l, "protocol state error at DATA");
		return -1;
	}
	lmtp_link_flush(l);
	return 0;
}

/* The end of the body is queued: the backend's replies are due. */
static void
lmtp_link_body_sent(struct lmtp_link *l)
{
	l->body_sent = true;
	lmtp_link_body_timeouts(l, false);
	lmtp_link_flush(l);
}

/* BDAT chunks of what is spooled and not sent yet. */
static void
lmtp_link_pump_bdat(struct lmtp_link *l, struct evbuffer *out)
{
	struct lmtp_conn *c = l->c;
	uint64_t avail = lmtp_spool_readable(c);
	size_t n;
	bool last;

	while (evbuffer_get_length(out) < LMTP_LINK_OUT_HIGH) {
		n = (size_t)MIN_OF(avail - l->body_off, LMTP_LINK_OUT_HIGH);
		last = c->body_complete && l->body_off + n == c->spool_len;
		if (!last && n < LMTP_BDAT_MIN)
			return;
		if (lmtp_backend_bdat(l->b, n, last) == -1) {
			lmtp_link_lost(l, "protocol state error at BDAT");
			return;
		}
		/* the command line, then its chunk right after it */
		lmtp_link_flush(l);
		if (n > 0 && lmtp_spool_send(c, out, l->body_off, n) == -1) {
			lmtp_link_lost(l, "cannot read the spooled message");
			return;
		}
		l->body_off += n;
		if (last) {
			lmtp_link_body_sent(l);
			return;
		}
	}
}

/* Appends body bytes (len > 0) to out in DATA form: a line that starts
 * with a dot gets one more (RFC 5321 4.5.2). */
static void
lmtp_link_stuff(
    struct lmtp_link *l, struct evbuffer *out, const char *p, size_t len)
{
	const char *end = p + len, *run = p, *dot = p;

	while ((dot = memchr(dot, '.', (size_t)(end - dot))) != NULL) {
		if (dot == p ? l->stuff_bol : dot[-1] == '\n') {
			(void)evbuffer_add(out, run, (size_t)(dot - run));
			(void)evbuffer_add(out, ".", 1);
			run = dot;
		}
		dot++;
	}
	(void)evbuffer_add(out, run, (size_t)(end - run));
	l->stuff_bol = end[-1] == '\n';
}

/* DATA: the spooled bytes after the 354, then the end marker. */
static void
lmtp_link_pump_data(struct lmtp_link *l, struct evbuffer *out)
{
	struct lmtp_conn *c = l->c;
	uint64_t avail = lmtp_spool_readable(c);
	const char *p;
	ssize_t n;

	while (l->body_off < avail &&
	    evbuffer_get_length(out) < LMTP_LINK_OUT_HIGH) {
		n = lmtp_spool_peek(c, l->body_off,
		    (size_t)MIN_OF(avail - l->body_off, LMTP_LINK_OUT_HIGH),
		    &p);
		if (n <= 0) {
			lmtp_link_lost(l, "cannot read the spooled message");
			return;
		}
		lmtp_link_stuff(l, out, p, (size_t)n);
		l->body_off += (uint64_t)n;
	}
	if (!c->body_complete || l->body_off < c->spool_len)
		return;
	/* the body ends with CRLF (or is empty): the marker follows */
	if (lmtp_backend_data_end(l->b) == -1) {
		lmtp_link_lost(l, "protocol state error at the end of DATA");
		return;
	}
	lmtp_link_body_sent(l);
}

void
lmtp_link_pump(struct lmtp_link *l)
{
	struct lmtp_conn *c = l->c;

	if (!l->data_ready || l->body_sent || l->closed || l->bev == NULL ||
	    c->spool == NULL || c->spool_full)
		return;
	/* whatever the module queued goes first */
	lmtp_link_flush(l);
	if (l->bdat)
		lmtp_link_pump_bdat(l, bufferevent_get_output(l->bev));
	else
		lmtp_link_pump_data(l, bufferevent_get_output(l->bev));
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
		lmtp_link_setcb(l);
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
		lmtp_link_body_timeouts(l, true);
		lmtp_link_pump(l);
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

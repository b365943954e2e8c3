/*
 * lmtp_proxy.c - the LMTP proxy shell (see lmtp_proxy.h): what a client
 * says, and its transactions (its connection is in lmtp_client.c).
 *
 * One struct lmtp_conn per client connection; per transaction, one
 * struct lmtp_link per distinct backend.  RCPTs are handled one at a
 * time (the server module holds the next command until the current one
 * is answered), so a recipient's reply is always its backend's reply to
 * that very RCPT.  A link connects, does its handshake and then sends
 * MAIL before its first RCPT.  At DATA the links with accepted
 * recipients start the body (BDAT, or DATA and its 354), and each gets
 * the body while it arrives, from the spool (lmtp_link.c); the client
 * hears the replies only after its end marker, each recipient its own
 * backend's.  When the transaction ends, links that are idle again are
 * kept for the client's next transaction; the others are closed.
 */
#include "compat.h"

#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "lmtp_proxy.h"
#include "lmtp_int.h"
#include "lmtp_server.h"
#include "proxy.h"
#include "xmalloc.h"

/* -- transactions ------------------------------------------------------- */

void
lmtp_tx_end_links(struct lmtp_conn *c, bool keep_idle)
{
	struct lmtp_link *l, *next, **prevp = &c->links;

	for (l = c->links; l != NULL; l = next) {
		next = l->next;
		if (keep_idle && l->idle && !l->closed && l->bev != NULL &&
		    evbuffer_get_length(bufferevent_get_output(l->bev)) == 0) {
			/* reused by the next transaction of this client:
			 * no new connect, LHLO and XCLIENT */
			l->mail_sent = l->data_sent = l->data_ready = false;
			l->body_sent = l->bdat = false;
			l->body_off = 0;
			l->accepted = 0;
			l->want_rcpt = -1;
			prevp = &l->next;
			continue;
		}
		*prevp = next;
		lmtp_link_free(l);
	}
}

void
lmtp_tx_end(struct lmtp_conn *c)
{
	unsigned int i;

	for (i = 0; i < c->rcpt_count; i++) {
		lmtp_rcpt_unroute(c, &c->rcpts[i]);
		free(c->rcpts[i].addr);
	}
	lmtp_tx_end_links(c, true);
	c->rcpt_count = 0;
	c->replies_due = 0;
	c->tx_finished = false;
	free(c->from);
	c->from = NULL;
	lmtp_spool_free(c);
}

static void
lmtp_tx_log(struct lmtp_conn *c)
{
	char rcpts[LMTP_LOG_RCPTS_MAX], one[512];
	struct timeval now;
	unsigned int i;
	long long ms;

	rcpts[0] = '\0';
	for (i = 0; i < c->rcpt_count; i++) {
		const struct lmtp_rcpt *r = &c->rcpts[i];

		if (r->code[0] != '\0')
			stats_delivery(&c->d->stats, r->code);
		snprintf(one, sizeof(one), "%s<%s>@%s=%s", i > 0 ? " " : "",
		    r->addr, r->link != NULL ? r->link->name : "-",
		    r->code[0] != '\0' ? r->code : "-");
		if (strlcat(rcpts, one, sizeof(rcpts)) >= sizeof(rcpts))
			break;
	}
	gettimeofday(&now, NULL);
	ms = (long long)(now.tv_sec - c->tx_started.tv_sec) * 1000 +
	    (now.tv_usec - c->tx_started.tv_usec) / 1000;
	lmtp_log(c, LOG_LEVEL_INFO,
	    "delivery: from=<%s>, size=%llu, rcpts: %s, time=%lldms",
	    c->from != NULL ? c->from : "", (unsigned long long)c->spool_len,
	    rcpts, ms);
}

/* All DATA replies given: log and resume the client.  The links are
 * closed by lmtp_process(), outside their own callbacks.  Called before
 * the last replies are flushed, so the log line is there before the
 * client has its answer. */
void
lmtp_tx_maybe_done(struct lmtp_conn *c)
{
	if (!c->body_complete || c->replies_due > 0 || c->tx_finished)
		return;
	lmtp_tx_log(c);
	c->tx_finished = true;
	c->waiting = false;
}

/* The last recipient (c->rcpt_count - 1) got its backend: send its
 * RCPT there. */
static void
lmtp_rcpt_routed(struct lmtp_conn *c)
{
	unsigned int i = c->rcpt_count - 1;
	struct lmtp_rcpt *r = &c->rcpts[i];
	struct lmtp_link *l;

	l = lmtp_link_get(c, router_backend(&r->route->rc));
	r->link = l;
	if (l->closed) {
		lmtp_rcpt_fail(c, i, "cannot connect");
		return;
	}
	l->want_rcpt = (int)i;
	lmtp_link_send_rcpt(l);
}

/* A recipient that waited for its user's move got its backend. */
static void
lmtp_on_routed(struct router_client *rc)
{
	struct lmtp_conn *c = ((struct lmtp_route *)rc)->c;

	lmtp_rcpt_routed(c);
	lmtp_client_flush(c);
	lmtp_process(c);
}

static void
lmtp_on_route_failed(struct router_client *rc, const char *why)
{
	struct lmtp_route *route = (struct lmtp_route *)rc;
	struct lmtp_conn *c = route->c;

	lmtp_rcpt_fail(c, route->index, why);
	lmtp_client_flush(c);
	lmtp_process(c);
}

static const struct router_client_ops lmtp_router_ops = {
    .routed = lmtp_on_routed,
    .failed = lmtp_on_route_failed,
    .kick = lmtp_on_kick,
};

/* Routes the last recipient (c->rcpt_count - 1) and registers it. */
static void
lmtp_rcpt_route(struct lmtp_conn *c)
{
	unsigned int i = c->rcpt_count - 1;
	struct lmtp_rcpt *r = &c->rcpts[i];
	const char *err = NULL;

	if (router_rcpt_hash(c->d->router, r->addr, &r->hash, &err) == -1) {
		lmtp_rcpt_fail(c, i, err);
		return;
	}
	r->route = xcalloc(1, sizeof(*r->route));
	r->route->rc.ops = &lmtp_router_ops;
	r->route->c = c;
	r->route->index = i;
	switch (router_route(c->d->router, &r->route->rc, r->hash, LMTP_TAG)) {
	case ENGINE_ROUTE_OK:
		lmtp_rcpt_routed(c);
		break;
	case ENGINE_ROUTE_WAIT:
		/* bounded: a move ends after its kicks and the kick delay */
		break;
	case ENGINE_ROUTE_FAIL:
		lmtp_rcpt_fail(c, i, "no usable backend");
		break;
	}
}

static void
lmtp_on_rcpt(struct lmtp_conn *c)
{
	struct lmtp_rcpt *r;

	if (lmtp_server_rcpt_index(c->srv) == 0) {
		/* a new transaction */
		lmtp_tx_end(c);
		gettimeofday(&c->tx_started, NULL);
		c->from = xstrdup(lmtp_server_mail_from(c->srv));
	}
	if (c->rcpt_count == c->rcpt_cap) {
		c->rcpt_cap = c->rcpt_cap == 0 ? 8 : c->rcpt_cap * 2;
		c->rcpts = xreallocarray(c->rcpts, c->rcpt_cap, sizeof(*r));
	}
	r = &c->rcpts[c->rcpt_count++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(lmtp_server_rcpt_addr(c->srv));
	r->state = LMTP_RCPT_ROUTING;
	c->waiting = true;
	lmtp_rcpt_route(c);
}

static void
lmtp_on_data_start(struct lmtp_conn *c)
{
	struct lmtp_link *l;
	unsigned int i;

	if (lmtp_spool_budget_spent(c->d->conf)) {
		lmtp_log(c, LOG_LEVEL_WARNING,
		    "spool budget spent (lmtp_spool_memory_total, "
		    "lmtp_spool_disk_total): DATA refused");
		lmtp_server_data_refuse(
		    c->srv, "452 4.3.1 Insufficient system storage");
		lmtp_tx_end(c);
		return;
	}
	c->spool = evbuffer_new();
	if (c->spool == NULL) {
		lmtp_server_data_refuse(
		    c->srv, "451 4.3.0 Out of memory for the message");
		lmtp_tx_end(c);
		return;
	}
	c->spool_fd = -1;
	c->spool_len = c->spool_written = 0;
	c->spool_bol = true;
	c->spool_full = false;
	c->replies_due = 0;
	for (i = 0; i < c->rcpt_count; i++) {
		if (c->rcpts[i].state == LMTP_RCPT_ACCEPTED)
			c->replies_due++;
	}
	for (l = c->links; l != NULL; l = l->next) {
		if (l->accepted > 0 && !l->closed)
			(void)lmtp_link_body_start(l);
	}
	lmtp_server_data_go(c->srv);
}

/* The body does not fit the spool budget: the backends that have a part
 * of it lose their connection (a body cannot be withdrawn in-band);
 * their recipients are answered at the end (lmtp_spool_refuse()). */
static void
lmtp_links_drop_body(struct lmtp_conn *c)
{
	struct lmtp_link *l;

	for (l = c->links; l != NULL; l = l->next) {
		if (!l->data_sent || l->closed)
			continue;
		if (l->bev != NULL)
			bufferevent_free(l->bev);
		l->bev = NULL;
		l->closed = true;
	}
}

/* The body did not fit the spool budget: every accepted recipient not
 * answered yet gets 452 4.3.1. */
static void
lmtp_spool_refuse(struct lmtp_conn *c)
{
	static const char reply[] = "452 4.3.1 Insufficient system storage";
	unsigned int i;

	lmtp_log(c, LOG_LEVEL_WARNING,
	    "spool budget spent (lmtp_spool_memory_total, "
	    "lmtp_spool_disk_total): message refused");
	for (i = 0; i < c->rcpt_count; i++) {
		struct lmtp_rcpt *r = &c->rcpts[i];

		if (r->state != LMTP_RCPT_ACCEPTED || r->answered)
			continue;
		r->answered = true;
		strlcpy(r->code, "452", sizeof(r->code));
		c->replies_due--;
		(void)lmtp_server_data_reply(c->srv, i, reply);
		lmtp_rcpt_unroute(c, r);
	}
	lmtp_tx_maybe_done(c);
	lmtp_client_flush(c);
}

/* The spool failed (logged): the client is told and closed.  Returns
 * -1 (c is closing or freed). */
static int
lmtp_spool_failed(struct lmtp_conn *c)
{
	lmtp_log(c, LOG_LEVEL_ERROR, "cannot spool the message; closing");
	bufferevent_write(
	    c->client, "421 4.3.0 Cannot store the message\r\n", 37);
	lmtp_close_after_flush(c);
	return -1;
}

/* The client's end marker: the links get the rest of the body and its
 * end.  Returns 0, or -1 when c is closing. */
static int
lmtp_on_data_end(struct lmtp_conn *c)
{
	struct lmtp_link *l;
	unsigned int i;

	c->body_complete = true;
	c->waiting = true;
	if (c->spool_full) {
		lmtp_spool_refuse(c);
		return 0;
	}
	if (lmtp_spool_sync(c) == -1)
		return lmtp_spool_failed(c);
	/* recipients whose link died before the end: 4xx now */
	for (i = 0; i < c->rcpt_count; i++) {
		struct lmtp_rcpt *r = &c->rcpts[i];

		if (r->state == LMTP_RCPT_ACCEPTED && !r->answered &&
		    (r->link == NULL || r->link->closed))
			lmtp_rcpt_fail(c, i, "connection lost");
	}
	for (l = c->links; l != NULL; l = l->next)
		lmtp_link_pump(l);
	lmtp_tx_maybe_done(c);
	lmtp_client_flush(c);
	return 0;
}

/* Spools a body chunk; once the budget is spent the rest of the body is
 * read and dropped.  Returns 0, or -1 when c is closing. */
static int
lmtp_spool_chunk(struct lmtp_conn *c, const char *chunk, size_t len)
{
	if (c->spool_full)
		return 0;
	switch (lmtp_spool_add(c, chunk, len)) {
	case LMTP_SPOOL_OK:
		return 0;
	case LMTP_SPOOL_FULL:
		/* its share goes back to the budget at once */
		c->spool_full = true;
		lmtp_spool_free(c);
		lmtp_links_drop_body(c);
		return 0;
	case LMTP_SPOOL_ERROR:
		break;
	}
	return lmtp_spool_failed(c);
}

/* After a batch of client input: what was spooled goes to the file and
 * on to the links.  Returns 0, or -1 when c is closing. */
static int
lmtp_body_progress(struct lmtp_conn *c)
{
	struct lmtp_link *l;

	if (c->spool == NULL || c->spool_full || c->body_complete)
		return 0;
	if (lmtp_spool_sync(c) == -1)
		return lmtp_spool_failed(c);
	for (l = c->links; l != NULL; l = l->next)
		lmtp_link_pump(l);
	return 0;
}

/* lmtp_transaction_timeout passed with the client still owing the rest
 * of a transaction or a command line, however slowly it sent it. */
static void
lmtp_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	static const char bye[] = "421 4.4.2 Transaction timed out\r\n";
	struct lmtp_conn *c = arg;

	if (c->closing)
		return;
	lmtp_log(c, LOG_LEVEL_INFO,
	    "client did not finish within lmtp_transaction_timeout "
	    "(%llu ms; %llu message bytes so far); closing",
	    (unsigned long long)c->d->conf->lmtp_transaction_timeout_ms,
	    (unsigned long long)c->spool_len);
	lmtp_tx_end(c);
	lmtp_tx_end_links(c, false);
	lmtp_client_flush(c);
	bufferevent_write(c->client, bye, sizeof(bye) - 1);
	lmtp_close_after_flush(c);
}

struct event *
lmtp_deadline_new(struct lmtp_conn *c)
{
	return evtimer_new(c->d->base, lmtp_on_deadline, c);
}

/* Arms the deadline when the client starts to owe us something, and
 * disarms it when it has delivered. */
static void
lmtp_deadline_update(struct lmtp_conn *c)
{
	uint64_t ms = c->d->conf->lmtp_transaction_timeout_ms;
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	    .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	bool armed = evtimer_pending(c->deadline_ev, NULL);

	if (lmtp_server_client_busy(c->srv)) {
		if (!armed)
			evtimer_add(c->deadline_ev, &tv);
	} else if (armed)
		evtimer_del(c->deadline_ev);
}

/* Feeds client input to the server module until it needs more or an
 * event is being answered.  Returns 0, or -1 when c is closing or freed. */
static int
lmtp_process_input(struct lmtp_conn *c)
{
	enum lmtp_server_event ev;
	struct evbuffer *in;
	const char *chunk;
	size_t len, consumed, chunk_len;

	while (!c->waiting && !c->closing) {
		in = bufferevent_get_input(c->client);
		len = evbuffer_get_length(in);
		chunk = NULL;
		chunk_len = 0;
		ev = lmtp_server_input(c->srv,
		    len == 0 ? "" : (const void *)evbuffer_pullup(in, -1), len,
		    &consumed, &chunk, &chunk_len);
		if (ev == LMTP_SERVER_EV_DATA_CHUNK && chunk_len > 0 &&
		    lmtp_spool_chunk(c, chunk, chunk_len) == -1)
			return -1;
		evbuffer_drain(in, consumed);
		lmtp_deadline_update(c);
		lmtp_client_flush(c);
		switch (ev) {
		case LMTP_SERVER_EV_MORE:
			if (consumed == 0)
				return 0;
			break;
		case LMTP_SERVER_EV_RCPT:
			lmtp_on_rcpt(c);
			lmtp_client_flush(c);
			break;
		case LMTP_SERVER_EV_DATA_START:
			lmtp_on_data_start(c);
			lmtp_client_flush(c);
			break;
		case LMTP_SERVER_EV_DATA_CHUNK:
			break;
		case LMTP_SERVER_EV_DATA_END:
			if (lmtp_on_data_end(c) == -1)
				return -1;
			break;
		case LMTP_SERVER_EV_DATA_ABORT:
			lmtp_log(c, LOG_LEVEL_INFO,
			    "message over lmtp_max_message_size refused");
			lmtp_tx_end(c);
			break;
		case LMTP_SERVER_EV_RESET:
			lmtp_tx_end(c);
			break;
		case LMTP_SERVER_EV_STARTTLS:
			/* the module refuses STARTTLS in a transaction; no
			 * route, link or spool may cross into TLS anyway */
			lmtp_tx_end(c);
			lmtp_tx_end_links(c, false);
			if (lmtp_client_start_tls(c) == -1)
				return -1;
			lmtp_server_tls_started(c->srv);
			break;
		case LMTP_SERVER_EV_CLOSE:
			lmtp_close_after_flush(c);
			return -1;
		}
	}
	return c->closing ? -1 : 0;
}

/* Runs the server module over the client's input, moves the body on
 * and sets the client's reading.  May free c. */
void
lmtp_process(struct lmtp_conn *c)
{
	if (c->tx_finished) {
		c->tx_finished = false;
		lmtp_tx_end(c);
	}
	if (lmtp_process_input(c) == -1 || lmtp_body_progress(c) == -1)
		return;
	lmtp_client_reading(c);
}

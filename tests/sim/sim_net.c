/*
 * sim_net.c - the simulated network between the directors' ring
 * addresses (see sim.h), driven like src/daemon/ring_conn.c drives the
 * real one: accepted links get engine_ring_accept(), dialled ones
 * engine_ring_connected() or engine_ring_closed(), every line goes to
 * engine_ring_input() without its LF, engine_ring_drained() follows
 * when a side's output has arrived, and after every call the caller
 * takes all output (sim_settle() -> sim_net_flush()).
 *
 * A connection has two ends and a FIFO pipe per direction.  A chunk
 * (the output of one engine call) arrives after the link's delay plus a
 * jitter, never before the chunk ahead of it.  A closed end sends a FIN
 * after its data; its peer reads up to it, then sees the close.  Data
 * for an end that has closed is dropped (a reset).  Across a partition
 * nothing arrives until it heals (TCP retransmits), and a SYN is lost.
 * An end's link is owned by its director's engine; the end forgets it
 * when the engine is told the link is closed.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"
#include "xmalloc.h"

/* A SYN lost across a partition is sent again this much later. */
#define SIM_SYN_RETRY_MS 1000

static struct sim_conn *
sim_conn_new(struct sim_world *w)
{
	struct sim_conn *c = NULL;
	uint32_t i;

	for (i = 0; i < w->nconns; i++) {
		if (!w->conns[i]->in_use) {
			c = w->conns[i];
			break;
		}
	}
	if (c == NULL) {
		if (w->nconns == w->conns_cap) {
			w->conns_cap =
			    w->conns_cap == 0 ? 16 : w->conns_cap * 2;
			w->conns = xreallocarray(
			    w->conns, w->conns_cap, sizeof(*w->conns));
		}
		c = xcalloc(1, sizeof(*c));
		c->index = w->nconns;
		w->conns[w->nconns++] = c;
	}
	c->in_use = true;
	c->state = SIM_CONN_CONNECTING;
	for (i = 0; i < 2; i++) {
		memset(&c->end[i], 0, sizeof(c->end[i]));
		c->end[i].conn = c;
		c->end[i].side = i;
		c->pipe[i].head = c->pipe[i].count = 0;
		c->pipe[i].last_at = 0;
	}
	return c;
}

static void
sim_pipe_clear(struct sim_pipe *p)
{
	while (p->count > 0) {
		free(p->q[p->head].data);
		p->head = (p->head + 1) % p->cap;
		p->count--;
	}
	p->head = 0;
}

/* Frees c once neither end is open; events that name it go stale. */
static void
sim_conn_maybe_free(struct sim_conn *c)
{
	if (!c->in_use || c->end[0].open || c->end[1].open)
		return;
	sim_pipe_clear(&c->pipe[0]);
	sim_pipe_clear(&c->pipe[1]);
	c->in_use = false;
	c->gen++;
}

/* Queues a chunk (data, or the FIN when fin) from end side of c. */
static void
sim_pipe_push(struct sim_world *w, struct sim_conn *c, uint32_t side,
    const void *data, size_t len, bool fin)
{
	struct sim_pipe *p = &c->pipe[side];
	struct sim_chunk *ch, *q;
	struct sim_event ev;
	size_t i, cap;
	uint64_t at;

	if (p->count == p->cap) {
		/* a ring buffer: unrolled into the grown array */
		cap = p->cap == 0 ? 8 : p->cap * 2;
		q = xreallocarray(NULL, cap, sizeof(*q));
		for (i = 0; i < p->count; i++)
			q[i] = p->q[(p->head + i) % p->cap];
		free(p->q);
		p->q = q;
		p->head = 0;
		p->cap = cap;
	}
	at = w->now_ms + c->delay_ms +
	    sim_rng_range(&w->rng, 0, c->delay_ms / 2);
	if (at < p->last_at)
		at = p->last_at; /* TCP keeps the order */
	p->last_at = at;
	ch = &p->q[(p->head + p->count++) % p->cap];
	ch->at = at;
	ch->fin = fin;
	ch->len = len;
	ch->data = NULL;
	if (len > 0) {
		ch->data = xmalloc(len);
		memcpy(ch->data, data, len);
	}
	memset(&ev, 0, sizeof(ev));
	ev.at = at;
	ev.type = SIM_EV_DELIVER;
	ev.client = c->index;
	ev.gen = c->gen;
	ev.sess = side;
	sim_queue_push(&w->queue, &ev);
}

static void
sim_end_open(struct sim_end *end, const struct sim_director *d)
{
	end->dir = d->id;
	end->gen = d->gen;
	end->open = true;
	ringwire_reader_init(&end->reader);
}

/* The end's socket goes away (its engine, if any, has been told or is
 * gone): the peer sees a FIN after the data ahead of it. */
static void
sim_end_shut(struct sim_world *w, struct sim_end *end)
{
	struct sim_conn *c = end->conn;

	if (!end->open)
		return;
	end->open = false;
	end->link = NULL;
	end->accept_pending = false;
	ringwire_reader_deinit(&end->reader);
	if (c->state == SIM_CONN_UP)
		sim_pipe_push(w, c, end->side, NULL, 0, true);
}

/* The end's director closes it (the engine learns it now). */
static void
sim_end_close(struct sim_world *w, struct sim_end *end, const char *why)
{
	struct sim_director *d = &w->dirs[end->dir];
	struct ring_link *l = end->link;
	struct sim_end *peer = &end->conn->end[1 - end->side];

	sim_trace_dir(w, SIM_TR_LINK, d->id, (int32_t)peer->dir,
	    why == NULL ? SIM_LINK_CLOSE : SIM_LINK_CLOSED);
	sim_end_shut(w, end);
	if (l != NULL)
		engine_ring_closed(d->engine, w->now_ms, l, why);
}

static struct sim_director *
sim_dir_of(struct sim_world *w, const struct ring_addr *a)
{
	uint32_t i;

	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].addr.port == a->port &&
		    ipaddr_equals(&w->dirs[i].addr.ip, &a->ip))
			return &w->dirs[i];
	}
	return NULL;
}

bool
sim_net_reachable(const struct sim_world *w, uint32_t from, uint32_t to)
{
	return w->dirs[from].group == w->dirs[to].group;
}

/* -- output ------------------------------------------------------------ */

void
sim_net_flush(struct sim_world *w, struct sim_director *d)
{
	struct ring_link *l;
	struct sim_end *end;
	const void *data;
	size_t len;

	while ((l = engine_ring_next_output(d->engine)) != NULL) {
		end = ring_link_owner(l);
		data = ring_link_output(l, &len);
		if (end->open && end->conn->state == SIM_CONN_UP)
			sim_pipe_push(
			    w, end->conn, end->side, data, len, false);
		ring_link_output_taken(l);
	}
}

/* -- the engine's effects ------------------------------------------------ */

void
sim_net_connect(
    struct sim_world *w, struct sim_director *d, struct ring_link *l)
{
	struct sim_director *t = sim_dir_of(w, ring_link_target(l));
	struct sim_conn *c;
	struct sim_event ev;

	if (t == NULL) {
		engine_ring_closed(d->engine, w->now_ms, l, "no route to host");
		return;
	}
	c = sim_conn_new(w);
	c->delay_ms = sim_rng_range(&w->rng, 0, w->p.net_delay_max_ms);
	sim_end_open(&c->end[0], d);
	c->end[0].link = l;
	c->end[1].dir = t->id;
	ring_link_set_owner(l, &c->end[0]);
	sim_trace_dir(w, SIM_TR_LINK, d->id, (int32_t)t->id, SIM_LINK_CONNECT);
	memset(&ev, 0, sizeof(ev));
	/* SYN, SYN-ACK */
	ev.at = w->now_ms + 2 * c->delay_ms + 1;
	ev.type = SIM_EV_CONNECT;
	ev.client = c->index;
	ev.gen = c->gen;
	sim_queue_push(&w->queue, &ev);
}

void
sim_net_close(struct sim_world *w, struct sim_director *d, struct ring_link *l)
{
	struct sim_end *end = ring_link_owner(l);
	struct sim_conn *c;

	if (end == NULL) {
		engine_ring_closed(d->engine, w->now_ms, l, NULL);
		return;
	}
	c = end->conn;
	sim_end_close(w, end, NULL);
	if (c->state == SIM_CONN_CONNECTING) {
		/* the SYN never got an answer: nothing to tell anyone */
		c->end[1].open = false;
	}
	sim_conn_maybe_free(c);
}

/* -- events ------------------------------------------------------------ */

static void
sim_net_accept(struct sim_world *w, struct sim_conn *c)
{
	struct sim_director *from = &w->dirs[c->end[0].dir];
	struct sim_director *t = &w->dirs[c->end[1].dir];

	c->end[1].accept_pending = false;
	sim_trace_dir(w, SIM_TR_LINK, t->id, (int32_t)from->id, SIM_LINK_UP);
	sim_enter(w, t);
	c->end[1].link = engine_ring_accept(
	    t->engine, w->now_ms, &from->addr.ip, &c->end[1]);
}

static void
sim_net_syn(struct sim_world *w, const struct sim_event *ev, struct sim_conn *c)
{
	struct sim_director *d = &w->dirs[c->end[0].dir];
	struct sim_director *t = &w->dirs[c->end[1].dir];
	struct ring_link *l = c->end[0].link;
	struct sim_event again;

	if (!sim_net_reachable(w, d->id, t->id)) {
		again = *ev;
		again.at = w->now_ms + SIM_SYN_RETRY_MS;
		sim_queue_push(&w->queue, &again);
		return;
	}
	sim_enter(w, d);
	if (t->engine == NULL) {
		sim_trace_dir(
		    w, SIM_TR_LINK, d->id, (int32_t)t->id, SIM_LINK_REFUSED);
		sim_end_shut(w, &c->end[0]); /* no FIN: never connected */
		sim_conn_maybe_free(c);
		engine_ring_closed(
		    d->engine, w->now_ms, l, "connection refused");
		sim_settle(w, d);
		return;
	}
	c->state = SIM_CONN_UP;
	sim_end_open(&c->end[1], t);
	sim_trace_dir(w, SIM_TR_LINK, d->id, (int32_t)t->id, SIM_LINK_UP);
	if (t->hung)
		c->end[1].accept_pending = true; /* its kernel accepted */
	else
		sim_net_accept(w, c);
	sim_enter(w, d);
	engine_ring_connected(d->engine, w->now_ms, l);
	sim_settle(w, d);
	if (!t->hung)
		sim_settle(w, t);
}

/* Feeds one chunk to end's engine, a line at a time. */
static void
sim_end_input(
    struct sim_world *w, struct sim_end *end, const struct sim_chunk *ch)
{
	struct sim_director *d = &w->dirs[end->dir];
	const char *data = ch->data, *line;
	size_t left = ch->len, used, len;

	while (left > 0 && end->open) {
		switch (ringwire_reader_feed(
		    &end->reader, data, left, &used, &line, &len)) {
		case RINGWIRE_TOO_LONG:
			sim_end_close(w, end, "line too long");
			return;
		case RINGWIRE_LINE:
			if (w->verbose)
				printf("  t=%8llu %s <- d%u: %.*s\n",
				    (unsigned long long)(w->now_ms % 100000000),
				    d->name, end->conn->end[1 - end->side].dir,
				    (int)len, line);
			engine_ring_input(
			    d->engine, w->now_ms, end->link, line, len);
			break;
		case RINGWIRE_MORE:
			break;
		}
		data += used;
		left -= used;
	}
}

static void
sim_net_deliver(
    struct sim_world *w, const struct sim_event *ev, struct sim_conn *c)
{
	struct sim_pipe *p = &c->pipe[ev->sess];
	struct sim_end *from = &c->end[ev->sess], *to = &c->end[1 - ev->sess];
	struct sim_director *rd = &w->dirs[to->dir];
	struct sim_director *sd = &w->dirs[from->dir];
	struct ring_link *drained = NULL;
	struct sim_event again;
	struct sim_chunk ch;
	bool fin = false, got = false;

	if (!sim_net_reachable(w, from->dir, to->dir)) {
		again = *ev;
		again.at = w->heal_at > w->now_ms ? w->heal_at : w->now_ms + 1;
		sim_queue_push(&w->queue, &again);
		return;
	}
	sim_enter(w, rd);
	while (p->count > 0 && p->q[p->head].at <= w->now_ms && !fin) {
		ch = p->q[p->head];
		p->head = (p->head + 1) % p->cap;
		p->count--;
		if (to->open && to->link != NULL) {
			got = true;
			if (ch.len > 0)
				sim_end_input(w, to, &ch);
			fin = ch.fin;
		}
		free(ch.data);
	}
	if (fin && to->open)
		sim_end_close(w, to, "connection closed");
	if (p->count == 0 && from->open && from->link != NULL &&
	    sim_dir_runs(sd) && sd->gen == from->gen)
		drained = from->link;
	sim_conn_maybe_free(c);
	if (got)
		sim_settle(w, rd);
	if (drained != NULL) {
		sim_enter(w, sd);
		engine_ring_drained(sd->engine, w->now_ms, drained);
		sim_settle(w, sd);
	}
}

void
sim_net_event(struct sim_world *w, const struct sim_event *ev)
{
	struct sim_conn *c = w->conns[ev->client];

	if (ev->type == SIM_EV_CONNECT)
		sim_net_syn(w, ev, c);
	else
		sim_net_deliver(w, ev, c);
}

/* -- faults ------------------------------------------------------------ */

void
sim_net_resume(struct sim_world *w, struct sim_director *d)
{
	struct sim_conn *c;
	uint32_t i;

	for (i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		if (c->in_use && c->end[1].open && c->end[1].dir == d->id &&
		    c->end[1].accept_pending)
			sim_net_accept(w, c);
	}
}

void
sim_net_kill(struct sim_world *w, struct sim_director *d)
{
	struct sim_conn *c;
	uint32_t i, side;

	for (i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		if (!c->in_use)
			continue;
		for (side = 0; side < 2; side++) {
			if (c->end[side].open && c->end[side].dir == d->id) {
				if (c->state == SIM_CONN_CONNECTING)
					c->end[1].open = false;
				/* the kernel closes it; the engine is
				 * freed with its links */
				sim_end_shut(w, &c->end[side]);
			}
		}
		sim_conn_maybe_free(c);
	}
}

/* An established link with an end whose director runs. */
static bool
sim_net_droppable(const struct sim_world *w, const struct sim_conn *c)
{
	return c->in_use && c->state == SIM_CONN_UP && c->end[0].open &&
	    c->end[1].open &&
	    (sim_dir_runs(&w->dirs[c->end[0].dir]) ||
		sim_dir_runs(&w->dirs[c->end[1].dir]));
}

bool
sim_net_drop(struct sim_world *w)
{
	struct sim_director *d0, *d1;
	struct sim_conn *c = NULL;
	uint32_t i, n = 0, pick;

	for (i = 0; i < w->nconns; i++)
		n += sim_net_droppable(w, w->conns[i]);
	if (n == 0)
		return false;
	pick = (uint32_t)sim_rng_range(&w->rng, 0, n - 1);
	for (i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		if (sim_net_droppable(w, c) && pick-- == 0)
			break;
	}
	if (c == NULL)
		return false;
	d0 = &w->dirs[c->end[0].dir];
	d1 = &w->dirs[c->end[1].dir];
	sim_trace_dir(w, SIM_TR_FAULT, d0->id, (int32_t)d1->id, SIM_FAULT_DROP);
	/* a reset: what was in flight is lost */
	sim_pipe_clear(&c->pipe[0]);
	sim_pipe_clear(&c->pipe[1]);
	/* an end whose director is hung reads the reset when it resumes:
	 * the other end's FIN stands for it */
	if (sim_dir_runs(d0)) {
		sim_enter(w, d0);
		sim_end_close(w, &c->end[0], "connection reset by peer");
	}
	if (sim_dir_runs(d1)) {
		sim_enter(w, d1);
		sim_end_close(w, &c->end[1], "connection reset by peer");
	}
	sim_conn_maybe_free(c);
	if (sim_dir_runs(d0))
		sim_settle(w, d0);
	if (sim_dir_runs(d1))
		sim_settle(w, d1);
	return true;
}

void
sim_net_free(struct sim_world *w)
{
	struct sim_conn *c;
	uint32_t i, side;

	for (i = 0; i < w->nconns; i++) {
		c = w->conns[i];
		for (side = 0; side < 2; side++) {
			if (c->in_use && c->end[side].open)
				ringwire_reader_deinit(&c->end[side].reader);
			sim_pipe_clear(&c->pipe[side]);
			free(c->pipe[side].q);
		}
		free(c);
	}
	free(w->conns);
}

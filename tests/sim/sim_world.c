/*
 * sim_world.c - the simulated world: the PRNG, the event queue, the
 * director(s) with their engines, the clients and the admin.
 *
 * Every engine call happens in an event handler; the effects it queues
 * are drained right after and only schedule events (a kick completes
 * later, a routed session logs in later), as a daemon would execute
 * them after the engine has returned.  Every event carries its client's
 * generation, so an event of a client that has gone is ignored.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"
#include "xmalloc.h"

/* The virtual clock starts near today's unix time, in ms. */
#define SIM_EPOCH_MS 1700000000000ull
/* A client's next step after the previous one: 0..this ms. */
#define SIM_CLIENT_GAP_MS 20
/* An LMTP DATA phase lasts 1..this ms. */
#define SIM_DATA_MS_MAX 2000

/* -- PRNG -------------------------------------------------------------- */

static uint64_t
sim_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void
sim_rng_seed(struct sim_rng *rng, uint64_t seed)
{
	size_t i;

	for (i = 0; i < 4; i++)
		rng->s[i] = sim_splitmix64(&seed);
}

static uint64_t
sim_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
sim_rng_next(struct sim_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = sim_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sim_rotl(s[3], 45);
	return result;
}

uint64_t
sim_rng_range(struct sim_rng *rng, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	/* the modulo bias is irrelevant for a simulation */
	return span == 0 ? sim_rng_next(rng) : lo + sim_rng_next(rng) % span;
}

bool
sim_rng_pct(struct sim_rng *rng, unsigned int pct)
{
	return sim_rng_range(rng, 0, 99) < pct;
}

/* -- event queue ------------------------------------------------------- */

static bool
sim_event_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void
sim_queue_push(struct sim_queue *q, const struct sim_event *ev)
{
	struct sim_event tmp;
	size_t i, parent;

	if (q->count == q->cap) {
		q->cap = q->cap == 0 ? 256 : q->cap * 2;
		q->ev = xreallocarray(q->ev, q->cap, sizeof(*q->ev));
	}
	i = q->count++;
	q->ev[i] = *ev;
	q->ev[i].seq = q->seq++;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!sim_event_before(&q->ev[i], &q->ev[parent]))
			break;
		tmp = q->ev[i];
		q->ev[i] = q->ev[parent];
		q->ev[parent] = tmp;
		i = parent;
	}
}

bool
sim_queue_pop(struct sim_queue *q, struct sim_event *ev_r)
{
	struct sim_event tmp;
	size_t i = 0, l, r, m;

	if (q->count == 0)
		return false;
	*ev_r = q->ev[0];
	q->ev[0] = q->ev[--q->count];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < q->count && sim_event_before(&q->ev[l], &q->ev[m]))
			m = l;
		if (r < q->count && sim_event_before(&q->ev[r], &q->ev[m]))
			m = r;
		if (m == i)
			break;
		tmp = q->ev[i];
		q->ev[i] = q->ev[m];
		q->ev[m] = tmp;
		i = m;
	}
	return true;
}

static void
sim_schedule(struct sim_world *w, uint64_t delay_ms, enum sim_ev_type type,
    const struct sim_client *c, uint32_t slot)
{
	struct sim_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = w->now_ms + delay_ms;
	ev.type = type;
	if (c != NULL) {
		ev.dir = c->dir;
		ev.client = c->index;
		ev.gen = c->gen;
		ev.sess = slot;
	}
	sim_queue_push(&w->queue, &ev);
}

/* -- clients ----------------------------------------------------------- */

static struct sim_client *
sim_client_new(struct sim_world *w)
{
	struct sim_client *c;
	uint32_t i;

	if (w->nfree > 0)
		c = w->clients[w->free_clients[--w->nfree]];
	else {
		if (w->nclients == w->clients_cap) {
			w->clients_cap =
			    w->clients_cap == 0 ? 64 : w->clients_cap * 2;
			w->clients = xreallocarray(
			    w->clients, w->clients_cap, sizeof(*w->clients));
			w->free_clients = xreallocarray(w->free_clients,
			    w->clients_cap, sizeof(*w->free_clients));
		}
		/* clients never move: the engine holds their sessions */
		c = xcalloc(1, sizeof(*c));
		c->index = w->nclients;
		w->clients[w->nclients++] = c;
		for (i = 0; i < SIM_LMTP_RCPTS_MAX; i++) {
			c->sess[i].es.owner = &c->sess[i];
			c->sess[i].client = c;
			c->sess[i].slot = i;
		}
	}
	c->in_use = true;
	c->next = 0;
	c->route_queued = c->end_queued = false;
	return c;
}

static void
sim_client_free(struct sim_world *w, struct sim_client *c)
{
	c->in_use = false;
	c->gen++;
	w->free_clients[w->nfree++] = c->index;
}

static int
sim_backend_index(const struct sim_world *w, const struct ipaddr *ip)
{
	int b;

	for (b = 0; b < (int)w->p.backends; b++) {
		if (ipaddr_equals(&w->ip[b], ip))
			return b;
	}
	fatal("sim: the engine routed to a backend the simulator never named");
}

/* What the client does once its latest session is settled: route the
 * next recipient, start the DATA phase / stay logged in, or go. */
static void
sim_client_progress(struct sim_world *w, struct sim_client *c)
{
	struct sim_session *s;
	bool alive = false;
	uint32_t i;

	if (c->next > 0) {
		s = &c->sess[c->next - 1];
		if (s->state == SIM_SESS_WAITING || s->state == SIM_SESS_ROUTED)
			return;
	}
	if (c->next < c->nsess) {
		if (!c->route_queued) {
			c->route_queued = true;
			sim_schedule(w,
			    sim_rng_range(&w->rng, 0, SIM_CLIENT_GAP_MS),
			    SIM_EV_ROUTE, c, c->next);
		}
		return;
	}
	for (i = 0; i < c->nsess; i++)
		alive = alive || c->sess[i].state == SIM_SESS_ALIVE;
	if (!alive) {
		sim_client_free(w, c);
		return;
	}
	if (c->end_queued)
		return;
	c->end_queued = true;
	sim_schedule(w,
	    c->kind == SIM_CLIENT_IMAP
		? sim_rng_range(&w->rng, 0, w->p.stay_ms_max)
		: sim_rng_range(&w->rng, 1, SIM_DATA_MS_MAX),
	    SIM_EV_END, c, 0);
}

static uint64_t
sim_login_latency(struct sim_world *w, int backend)
{
	uint64_t ms = sim_rng_range(&w->rng, 1, w->p.login_ms_max);

	return w->p.slow[backend] ? ms * w->p.slow_factor : ms;
}

/* s has been routed (at once, or after waiting). */
static void
sim_session_routed(struct sim_world *w, struct sim_session *s)
{
	s->backend = sim_backend_index(w, &s->es.backend);
	s->state = SIM_SESS_ROUTED;
	sim_check_open(w, s->user, s->backend);
	sim_schedule(w, sim_login_latency(w, s->backend), SIM_EV_LOGIN_DONE,
	    s->client, s->slot);
}

static void
sim_session_end(struct sim_world *w, struct sim_session *s)
{
	struct sim_director *d = &w->dirs[s->client->dir];
	bool open = s->state == SIM_SESS_ROUTED || s->state == SIM_SESS_ALIVE;

	engine_session_end(d->engine, w->now_ms, &s->es);
	if (open)
		sim_check_close(w, s->user, s->backend);
	sim_trace(w, SIM_TR_END, s->client, (int32_t)s->user,
	    open ? s->backend : -1, open);
	s->state = SIM_SESS_IDLE;
	s->kicked = false;
}

/* Executes the effects the director's engine has queued. */
static void
sim_drain(struct sim_world *w, struct sim_director *d)
{
	struct engine_effect eff;
	struct sim_session *s;

	while (engine_next_effect(d->engine, &eff)) {
		s = eff.session != NULL ? eff.session->owner : NULL;
		switch (eff.type) {
		case ENGINE_EFFECT_ROUTED:
			sim_trace(w, SIM_TR_ROUTED, s->client, (int32_t)s->user,
			    sim_backend_index(w, &s->es.backend), 0);
			sim_session_routed(w, s);
			break;
		case ENGINE_EFFECT_FAILED:
			sim_trace(w, SIM_TR_FAILED, s->client, (int32_t)s->user,
			    -1, 0);
			s->state = SIM_SESS_IDLE;
			sim_client_progress(w, s->client);
			break;
		case ENGINE_EFFECT_KICK:
			sim_trace(w, SIM_TR_KICK, s->client, (int32_t)s->user,
			    s->backend, 0);
			s->kicked = true;
			sim_schedule(w,
			    sim_rng_range(&w->rng, 0, w->p.kick_ms_max),
			    SIM_EV_KICK_DONE, s->client, s->slot);
			break;
		case ENGINE_EFFECT_SAVE_HOSTS:
			break;
		case ENGINE_EFFECT_ADMIN_REPLY:
			sim_trace(w, SIM_TR_REPLY, NULL, -1, -1, 0);
			break;
		case ENGINE_EFFECT_RING_CONNECT:
		case ENGINE_EFFECT_RING_CLOSE:
		case ENGINE_EFFECT_RING_STARTTLS:
			break; /* one director: no ring */
		}
	}
}

static void
sim_arrival(struct sim_world *w)
{
	struct sim_client *c = sim_client_new(w);
	uint32_t i;

	c->dir = (uint32_t)sim_rng_range(&w->rng, 0, w->ndirs - 1);
	c->kind = sim_rng_pct(&w->rng, w->p.lmtp_pct) ? SIM_CLIENT_LMTP
						      : SIM_CLIENT_IMAP;
	c->nsess = c->kind == SIM_CLIENT_IMAP
	    ? 1
	    : (uint32_t)sim_rng_range(&w->rng, 1, SIM_LMTP_RCPTS_MAX);
	for (i = 0; i < c->nsess; i++)
		c->sess[i].user =
		    (uint32_t)sim_rng_range(&w->rng, 0, w->p.users - 1);
	sim_client_progress(w, c);
	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.arrival_ms_max),
	    SIM_EV_ARRIVAL, NULL, 0);
}

static void
sim_route(struct sim_world *w, struct sim_client *c)
{
	struct sim_director *d = &w->dirs[c->dir];
	struct sim_session *s = &c->sess[c->next++];
	enum engine_route_result r;

	c->route_queued = false;
	r = engine_route(
	    d->engine, w->now_ms, &s->es, w->user_hash[s->user], "");
	sim_trace(w, SIM_TR_ROUTE, c, (int32_t)s->user,
	    r == ENGINE_ROUTE_OK ? sim_backend_index(w, &s->es.backend) : -1,
	    (int32_t)r);
	switch (r) {
	case ENGINE_ROUTE_OK:
		sim_session_routed(w, s);
		break;
	case ENGINE_ROUTE_WAIT:
		s->state = SIM_SESS_WAITING;
		break;
	case ENGINE_ROUTE_FAIL:
		sim_client_progress(w, c);
		return;
	}
	sim_schedule(w, w->p.timeout_ms, SIM_EV_TIMEOUT, c, s->slot);
}

static void
sim_login_done(struct sim_world *w, struct sim_session *s)
{
	struct sim_director *d = &w->dirs[s->client->dir];

	if (s->state != SIM_SESS_ROUTED)
		return;
	if (sim_rng_pct(&w->rng, w->p.reject_pct))
		sim_session_end(w, s);
	else {
		engine_session_alive(d->engine, w->now_ms, &s->es);
		s->state = SIM_SESS_ALIVE;
		sim_trace(w, SIM_TR_ALIVE, s->client, (int32_t)s->user,
		    s->backend, 0);
	}
	sim_client_progress(w, s->client);
}

static void
sim_end_all(struct sim_world *w, struct sim_client *c)
{
	uint32_t i;

	for (i = 0; i < c->nsess; i++) {
		if (c->sess[i].state != SIM_SESS_IDLE)
			sim_session_end(w, &c->sess[i]);
	}
}

/* -- admin ------------------------------------------------------------- */

static const unsigned int sim_vhosts[] = {0, 1, 10, 100, 300};

static void
sim_admin(struct sim_world *w, struct sim_director *d)
{
	struct engine_admin_op op;
	int32_t b = (int32_t)sim_rng_range(&w->rng, 0, w->p.backends - 1);
	uint32_t user = (uint32_t)sim_rng_range(&w->rng, 0, w->p.users - 1);
	uint64_t pick = sim_rng_range(&w->rng, 0, 99);

	memset(&op, 0, sizeof(op));
	op.ip = &w->ip[b];
	op.who = "sim";
	if (pick < 25) {
		op.type = ENGINE_ADMIN_USER_MOVE;
		op.user_hash = w->user_hash[user];
	} else if (pick < 38) {
		op.type = ENGINE_ADMIN_HOST_RESET_USERS;
		op.max_parallel = (unsigned int)sim_rng_range(&w->rng, 0, 3);
		if (sim_rng_pct(&w->rng, 30)) {
			op.ip = NULL;
			b = -1;
		}
	} else if (pick < 53) {
		op.type = ENGINE_ADMIN_HOST_SET;
		op.have_vhosts = true;
		op.vhosts = sim_vhosts[sim_rng_range(
		    &w->rng, 0, nitems(sim_vhosts) - 1)];
	} else if (pick < 68) {
		op.type = sim_rng_pct(&w->rng, w->p.down_pct)
		    ? ENGINE_ADMIN_HOST_DOWN
		    : ENGINE_ADMIN_HOST_UP;
	} else if (pick < 76) {
		op.type = ENGINE_ADMIN_HOST_REMOVE;
	} else if (pick < 90 || !w->p.unsafe_flush) {
		op.type = ENGINE_ADMIN_USER_KICK;
		op.user_hash = w->user_hash[user];
	} else {
		op.type = ENGINE_ADMIN_HOST_FLUSH;
		w->unsafe_flushes++;
	}
	sim_trace(w, SIM_TR_ADMIN, NULL, op.user_hash != 0 ? (int32_t)user : -1,
	    b, (int32_t)op.type);
	engine_admin(d->engine, w->now_ms, &op, w);
	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.admin_ms_max),
	    SIM_EV_ADMIN, NULL, 0);
}

/* A random configured list; applied at start or as a reload. */
static void
sim_configure(struct sim_world *w, struct sim_director *d, bool reload)
{
	struct hosts_spec_entry spec[SIM_BACKENDS_MAX];
	size_t n = 0;
	uint32_t b, mask = 0;

	memset(spec, 0, sizeof(spec));
	for (b = 0; b < w->p.backends; b++) {
		d->view.configured[b] = sim_rng_pct(&w->rng, 70);
		if (!d->view.configured[b])
			continue;
		spec[n++].ip = w->ip[b];
		mask |= 1u << b;
	}
	if (reload) {
		sim_trace(w, SIM_TR_RELOAD, NULL, -1, -1, (int32_t)mask);
		engine_reload(d->engine, w->now_ms, spec, n);
	} else
		engine_configure(d->engine, w->now_ms, spec, n);
}

/* -- the world --------------------------------------------------------- */

static void
sim_params_draw(struct sim_world *w, bool unsafe)
{
	struct sim_params *p = &w->p;
	struct sim_rng *r = &w->rng;
	uint32_t b;

	p->users = (uint32_t)sim_rng_range(r, 20, SIM_USERS_MAX);
	p->backends = (uint32_t)sim_rng_range(r, 1, SIM_BACKENDS_MAX);
	p->kick_delay_ms = sim_rng_range(r, 0, 5000);
	/* long enough that a user idle since its last session cannot
	 * expire within the kick delay (second-granular timestamps,
	 * refreshed every expire/4) */
	p->user_expire_secs =
	    (uint32_t)(p->kick_delay_ms / 1000 * 2 + sim_rng_range(r, 4, 40));
	p->arrival_ms_max = sim_rng_range(r, 2, 200);
	p->stay_ms_max = sim_rng_range(r, 100, 30000);
	p->login_ms_max = sim_rng_range(r, 1, 300);
	p->slow_factor = (uint32_t)sim_rng_range(r, 5, 50);
	for (b = 0; b < SIM_BACKENDS_MAX; b++)
		p->slow[b] = sim_rng_pct(r, 25);
	p->timeout_ms = sim_rng_range(r, 500, 30000);
	p->kick_ms_max = sim_rng_range(r, 0, 3000);
	p->admin_ms_max = sim_rng_range(r, 20, 5000);
	p->down_pct = (unsigned int)sim_rng_range(r, 20, 80);
	p->reject_pct = (unsigned int)sim_rng_range(r, 0, 20);
	p->lmtp_pct = (unsigned int)sim_rng_range(r, 0, 50);
	p->unsafe_flush = unsafe;
}

struct sim_world *
sim_world_new(uint64_t seed, uint64_t max_steps, bool unsafe, bool verbose)
{
	struct sim_world *w = xcalloc(1, sizeof(*w));
	struct engine_settings set;
	struct sim_director *d;
	char ip[IPADDR_STR_MAX];
	uint32_t i;

	w->seed = seed;
	w->max_steps = max_steps;
	w->verbose = verbose;
	log_set_level(verbose ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR);
	sim_rng_seed(&w->rng, seed);
	sim_params_draw(w, unsafe);
	w->now_ms = SIM_EPOCH_MS + sim_rng_range(&w->rng, 0, 1000000000);
	for (i = 0; i < SIM_USERS_MAX; i++)
		w->user_hash[i] = i * 0x9e3779b1u + 12345; /* distinct */
	for (i = 0; i < SIM_BACKENDS_MAX; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%u", i + 1);
		if (ipaddr_parse(ip, &w->ip[i]) == -1)
			fatal("sim: bad address %s", ip);
	}
	memset(&set, 0, sizeof(set));
	set.method = sim_rng_pct(&w->rng, 50) ? SELECT_METHOD_DOVECOT
					      : SELECT_METHOD_RENDEZVOUS;
	set.user_expire_secs = w->p.user_expire_secs;
	set.kick_delay_ms = w->p.kick_delay_ms;
	set.max_parallel_moves = (unsigned int)sim_rng_range(&w->rng, 1, 4);
	w->ndirs = SIM_DIRECTORS_MAX;
	for (i = 0; i < w->ndirs; i++) {
		d = &w->dirs[i];
		d->id = i;
		d->engine = engine_new(&set, w->now_ms);
		sim_configure(w, d, false);
	}
	sim_schedule(w, 0, SIM_EV_ARRIVAL, NULL, 0);
	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.admin_ms_max),
	    SIM_EV_ADMIN, NULL, 0);
	sim_schedule(w, w->p.admin_ms_max * sim_rng_range(&w->rng, 2, 10),
	    SIM_EV_RELOAD, NULL, 0);
	return w;
}

void
sim_world_free(struct sim_world **wp)
{
	struct sim_world *w = *wp;
	struct engine_effect eff;
	uint32_t i;

	if (w == NULL)
		return;
	*wp = NULL;
	for (i = 0; i < w->nclients; i++) {
		if (w->clients[i]->in_use)
			sim_end_all(w, w->clients[i]);
		free(w->clients[i]);
	}
	for (i = 0; i < w->ndirs; i++) {
		while (engine_next_effect(w->dirs[i].engine, &eff))
			;
		engine_free(&w->dirs[i].engine);
	}
	free(w->clients);
	free(w->free_clients);
	free(w->queue.ev);
	free(w);
}

/* Queues the director's tick if it is due earlier than the one queued. */
static void
sim_tick_plan(struct sim_world *w, struct sim_director *d)
{
	uint64_t at = engine_next_deadline(d->engine);
	struct sim_event ev;

	if (at < w->now_ms)
		at = w->now_ms;
	if (d->tick_at != 0 && d->tick_at <= at)
		return;
	d->tick_at = at;
	memset(&ev, 0, sizeof(ev));
	ev.at = at;
	ev.type = SIM_EV_TICK;
	ev.dir = d->id;
	sim_queue_push(&w->queue, &ev);
}

/* Runs ev; false if it is stale (nothing done). */
static bool
sim_run(struct sim_world *w, const struct sim_event *ev)
{
	struct sim_director *d = &w->dirs[ev->dir];
	struct sim_client *c = NULL;
	struct sim_session *s = NULL;

	if (ev->type == SIM_EV_TICK && ev->at != d->tick_at)
		return false;
	if (ev->type >= SIM_EV_ROUTE && ev->type <= SIM_EV_KICK_DONE) {
		c = w->clients[ev->client];
		if (!c->in_use || c->gen != ev->gen)
			return false;
		s = &c->sess[ev->sess];
	}
	w->now_ms = ev->at;
	w->step++;
	sim_trace(w, SIM_TR_EVENT, c, s != NULL ? (int32_t)s->user : -1,
	    s != NULL ? s->backend : -1, (int32_t)ev->type);
	switch (ev->type) {
	case SIM_EV_TICK:
		d->tick_at = 0;
		engine_tick(d->engine, w->now_ms);
		break;
	case SIM_EV_ARRIVAL:
		sim_arrival(w);
		break;
	case SIM_EV_ROUTE:
		sim_route(w, c);
		break;
	case SIM_EV_LOGIN_DONE:
		sim_login_done(w, s);
		break;
	case SIM_EV_TIMEOUT:
		if (s->state != SIM_SESS_WAITING && s->state != SIM_SESS_ROUTED)
			break;
		sim_session_end(w, s);
		sim_client_progress(w, c);
		break;
	case SIM_EV_END:
		sim_end_all(w, c);
		sim_client_progress(w, c);
		break;
	case SIM_EV_KICK_DONE:
		if (s->state == SIM_SESS_IDLE)
			break;
		sim_session_end(w, s);
		sim_client_progress(w, c);
		break;
	case SIM_EV_ADMIN:
		sim_admin(w, d);
		break;
	case SIM_EV_RELOAD:
		sim_configure(w, d, true);
		sim_schedule(w,
		    w->p.admin_ms_max * sim_rng_range(&w->rng, 2, 10),
		    SIM_EV_RELOAD, NULL, 0);
		break;
	}
	sim_drain(w, d);
	sim_tick_plan(w, d);
	return true;
}

bool
sim_world_step(struct sim_world *w)
{
	struct sim_event ev;

	if (w->violated || w->step >= w->max_steps)
		return false;
	do {
		if (!sim_queue_pop(&w->queue, &ev))
			return false;
	} while (!sim_run(w, &ev));
	sim_check_step(w);
	return !w->violated;
}

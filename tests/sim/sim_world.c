/*
 * sim_world.c - the simulated world: the PRNG, the event queue, the
 * directors with their engines, and the step loop (see sim.h).
 *
 * Every engine call happens in an event handler and is followed by
 * sim_settle(): the effects it queued are executed (they only schedule
 * events or touch the simulated network, as a daemon would execute them
 * after the engine has returned), its ring output is sent, and its next
 * tick is planned.  Every event carries the generation of its client,
 * link or director, so an event of something that has gone is ignored.
 * An event that would call a hung director's engine waits until the
 * director runs again.
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

void
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

void
sim_schedule_dir(struct sim_world *w, uint64_t at, enum sim_ev_type type,
    const struct sim_director *d)
{
	struct sim_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.at = at;
	ev.type = type;
	ev.dir = d->id;
	ev.gen = d->gen;
	sim_queue_push(&w->queue, &ev);
}

/* -- directors --------------------------------------------------------- */

bool
sim_dir_runs(const struct sim_director *d)
{
	return d->engine != NULL && !d->hung;
}

void
sim_enter(struct sim_world *w, const struct sim_director *d)
{
	log_init(d->name, 1);
}

/* Queues d's tick if it is due earlier than the one queued. */
static void
sim_tick_plan(struct sim_world *w, struct sim_director *d)
{
	uint64_t at = engine_next_deadline(d->engine);

	if (at < w->now_ms)
		at = w->now_ms;
	if (d->tick_at != 0 && d->tick_at <= at)
		return;
	d->tick_at = at;
	sim_schedule_dir(w, at, SIM_EV_TICK, d);
}

void
sim_settle(struct sim_world *w, struct sim_director *d)
{
	struct engine_effect eff;

	sim_enter(w, d);
	for (;;) {
		/* what a RING_CLOSE's link said last goes out before it */
		sim_net_flush(w, d);
		if (!engine_next_effect(d->engine, &eff))
			break;
		switch (eff.type) {
		case ENGINE_EFFECT_RING_CONNECT:
			sim_net_connect(w, d, eff.link);
			break;
		case ENGINE_EFFECT_RING_CLOSE:
			sim_net_close(w, d, eff.link);
			break;
		case ENGINE_EFFECT_RING_STARTTLS:
			abort(); /* the simulated ring runs without TLS */
		default:
			sim_client_effect(w, d, &eff);
			break;
		}
	}
	sim_tick_plan(w, d);
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
	/* drawn after the single-director ones: a seed of the old
	 * simulator keeps its parameters */
	p->burst_pct = (unsigned int)sim_rng_range(r, 0, 20);
	p->net_delay_max_ms = sim_rng_range(r, 0, 100);
	p->fault_ms_max = sim_rng_range(r, 2000, 30000);
	p->ping_idle_timeout_ms = sim_rng_range(r, 6000, 12000);
	p->reload_spread_ms = sim_rng_range(r, 0, 5000);
	/* shorter than 2.3's 30 s, so that users expire within a run,
	 * and the expiry as short as a ring allows (the daemon refuses a
	 * shorter one) */
	p->move_timeout_ms = sim_rng_range(r, 10000, 30000);
}

/* 1 director (no ring) for some seeds, 2 for a few (left and right are
 * one peer), 3..SIM_DIRECTORS_MAX for most. */
static uint32_t
sim_ndirs_draw(struct sim_rng *r)
{
	uint64_t pick = sim_rng_range(r, 0, 99);

	if (pick < 15)
		return 1;
	if (pick < 25)
		return 2;
	return (uint32_t)sim_rng_range(r, 3, SIM_DIRECTORS_MAX);
}

struct sim_world *
sim_world_new(uint64_t seed, const struct sim_opts *o)
{
	struct sim_world *w = xcalloc(1, sizeof(*w));
	struct sim_director *d;
	char ip[IPADDR_STR_MAX];
	uint64_t min_ms;
	uint32_t i;

	w->seed = seed;
	w->max_steps = o->steps;
	w->verbose = o->verbose;
	w->partitions = o->partitions;
	w->count_only = o->count_only || o->partitions;
	log_set_level(o->verbose
		? (getenv("SIM_DEBUG") != NULL ? LOG_LEVEL_DEBUG
					       : LOG_LEVEL_INFO)
		: LOG_LEVEL_ERROR);
	if (o->verbose) /* the engines log to stderr: keep the order */
		setvbuf(stdout, NULL, _IOLBF, 0);
	sim_rng_seed(&w->rng, seed);
	sim_params_draw(w, o->unsafe);
	w->now_ms = SIM_EPOCH_MS + sim_rng_range(&w->rng, 0, 1000000000);
	for (i = 0; i < SIM_USERS_MAX; i++)
		w->user_hash[i] = i * 0x9e3779b1u + 12345; /* distinct */
	for (i = 0; i < SIM_BACKENDS_MAX; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%u", i + 1);
		if (ipaddr_parse(ip, &w->ip[i]) == -1)
			fatal("sim: bad address %s", ip);
	}
	w->eset.method = sim_rng_pct(&w->rng, 50) ? SELECT_METHOD_DOVECOT
						  : SELECT_METHOD_RENDEZVOUS;
	w->eset.user_expire_secs = w->p.user_expire_secs;
	w->eset.kick_delay_ms = w->p.kick_delay_ms;
	w->eset.max_parallel_moves = (unsigned int)sim_rng_range(&w->rng, 1, 4);
	w->ndirs = sim_ndirs_draw(&w->rng);
	if (o->ndirs != 0)
		w->ndirs = o->ndirs;
	if (w->ndirs > 1) {
		min_ms = ring_user_expire_min_ms(
		    w->p.ping_idle_timeout_ms, w->p.move_timeout_ms);
		if (w->p.user_expire_secs * 1000ULL < min_ms)
			w->p.user_expire_secs = (uint32_t)(min_ms / 1000) +
			    (uint32_t)sim_rng_range(&w->rng, 0, 10);
		w->eset.user_expire_secs = w->p.user_expire_secs;
	}
	sim_config_draw(w);
	for (i = 0; i < w->ndirs; i++) {
		d = &w->dirs[i];
		d->id = i;
		snprintf(d->name, sizeof(d->name), "d%u", i);
		snprintf(ip, sizeof(ip), "10.9.0.%u", i + 1);
		if (ipaddr_parse(ip, &d->addr.ip) == -1)
			fatal("sim: bad address %s", ip);
		d->addr.port = SIM_RING_PORT;
		w->ring_addrs[i] = d->addr;
	}
	for (i = 0; i < w->ndirs; i++)
		sim_dir_start(w, &w->dirs[i]);
	sim_schedule(w, 0, SIM_EV_ARRIVAL, NULL, 0);
	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.admin_ms_max),
	    SIM_EV_ADMIN, NULL, 0);
	sim_schedule(w, w->p.admin_ms_max * sim_rng_range(&w->rng, 2, 10),
	    SIM_EV_RELOAD, NULL, 0);
	if (w->ndirs > 1)
		sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.fault_ms_max),
		    SIM_EV_FAULT, NULL, 0);
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
	sim_clients_free(w);
	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].engine == NULL)
			continue;
		sim_enter(w, &w->dirs[i]);
		while (engine_next_effect(w->dirs[i].engine, &eff))
			;
		engine_free(&w->dirs[i].engine);
	}
	sim_net_free(w);
	free(w->queue.ev);
	free(w);
}

/* The director whose engine ev calls, or NULL. */
static struct sim_director *
sim_event_dir(struct sim_world *w, const struct sim_event *ev)
{
	const struct sim_conn *c;

	switch (ev->type) {
	case SIM_EV_TICK:
	case SIM_EV_RELOAD_DIR:
	case SIM_EV_ROUTE:
	case SIM_EV_LOGIN_DONE:
	case SIM_EV_TIMEOUT:
	case SIM_EV_END:
	case SIM_EV_KICK_DONE:
		return &w->dirs[ev->dir];
	case SIM_EV_CONNECT:
	case SIM_EV_DELIVER:
		c = w->conns[ev->client];
		if (!c->in_use || c->gen != ev->gen)
			return NULL;
		/* CONNECT: the dialer hears the answer; DELIVER: the
		 * receiving end */
		return &w->dirs[c->end[ev->type == SIM_EV_CONNECT
					 ? 0
					 : 1 - ev->sess]
				    .dir];
	default:
		return NULL;
	}
}

/* Whether ev is stale (its client, link or director has gone). */
static bool
sim_event_stale(struct sim_world *w, const struct sim_event *ev)
{
	const struct sim_director *d = &w->dirs[ev->dir];
	const struct sim_client *c;
	const struct sim_conn *conn;

	switch (ev->type) {
	case SIM_EV_TICK:
		return d->engine == NULL || ev->gen != d->gen ||
		    ev->at != d->tick_at;
	case SIM_EV_RELOAD_DIR:
		return d->engine == NULL || ev->gen != d->gen;
	case SIM_EV_RESTART:
		return d->engine != NULL || ev->gen != d->gen;
	case SIM_EV_RESUME:
		return !d->hung || ev->gen != d->gen || ev->at != d->resume_at;
	case SIM_EV_ROUTE:
	case SIM_EV_LOGIN_DONE:
	case SIM_EV_TIMEOUT:
	case SIM_EV_END:
	case SIM_EV_KICK_DONE:
		c = w->clients[ev->client];
		return !c->in_use || c->gen != ev->gen;
	case SIM_EV_CONNECT:
	case SIM_EV_DELIVER:
		conn = w->conns[ev->client];
		return !conn->in_use || conn->gen != ev->gen;
	default:
		return false;
	}
}

/* Runs ev; false if it is stale or deferred (nothing done). */
static bool
sim_run(struct sim_world *w, const struct sim_event *ev)
{
	struct sim_director *d;
	struct sim_event later;

	if (sim_event_stale(w, ev))
		return false;
	d = sim_event_dir(w, ev);
	if (d != NULL && d->hung) {
		if (ev->type == SIM_EV_TICK) {
			d->tick_at = 0; /* planned again when it resumes */
			return false;
		}
		/* its process is stopped: this waits (in order) */
		later = *ev;
		later.at = d->resume_at;
		sim_queue_push(&w->queue, &later);
		return false;
	}
	w->now_ms = ev->at;
	w->step++;
	if (w->quiet)
		w->quiet_steps++;
	sim_trace(w, SIM_TR_EVENT, NULL, -1, -1, (int32_t)ev->type);
	switch (ev->type) {
	case SIM_EV_TICK:
		d->tick_at = 0;
		sim_enter(w, d);
		engine_tick(d->engine, w->now_ms);
		sim_settle(w, d);
		break;
	case SIM_EV_ARRIVAL:
		if (!w->quiet)
			sim_arrival(w);
		break;
	case SIM_EV_ROUTE:
	case SIM_EV_LOGIN_DONE:
	case SIM_EV_TIMEOUT:
	case SIM_EV_END:
	case SIM_EV_KICK_DONE:
		sim_client_event(w, ev, w->clients[ev->client]);
		break;
	case SIM_EV_ADMIN:
		if (!w->quiet)
			sim_admin(w);
		break;
	case SIM_EV_RELOAD:
		if (w->quiet)
			break;
		sim_config_draw(w);
		sim_config_apply(w, NULL, true);
		sim_schedule(w,
		    w->p.admin_ms_max * sim_rng_range(&w->rng, 2, 10),
		    SIM_EV_RELOAD, NULL, 0);
		break;
	case SIM_EV_RELOAD_DIR:
		sim_config_apply(w, d, true);
		break;
	case SIM_EV_CONNECT:
	case SIM_EV_DELIVER:
		sim_net_event(w, ev);
		break;
	case SIM_EV_FAULT:
		if (!w->quiet)
			sim_fault(w);
		break;
	case SIM_EV_HEAL:
	case SIM_EV_RESTART:
	case SIM_EV_RESUME:
		sim_fault_event(w, ev);
		break;
	}
	return true;
}

/* Whether every director is up and synced: the quiet period may end. */
static bool
sim_all_synced(const struct sim_world *w)
{
	struct ring_status st;
	uint32_t i;

	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].engine == NULL || w->dirs[i].hung)
			return false;
		engine_ring_status(w->dirs[i].engine, &st);
		if (!st.synced)
			return false;
	}
	return true;
}

bool
sim_world_step(struct sim_world *w)
{
	struct sim_event ev;

	if (w->broken || (w->violated && !w->count_only))
		return false;
	if (!w->quiet && w->step >= w->max_steps) {
		if (w->ndirs < 2)
			return false;
		sim_quiet(w);
	}
	if (w->quiet && w->quiet_steps >= SIM_QUIET_STEPS_MAX)
		return false;
	do {
		if (!sim_queue_pop(&w->queue, &ev))
			return false;
		if (w->quiet && ev.at > w->quiet_end_ms &&
		    (ev.at > w->quiet_end_ms + SIM_QUIET_GRACE_MS ||
			sim_all_synced(w)))
			return false;
	} while (!sim_run(w, &ev));
	sim_check_step(w);
	return !w->broken && (!w->violated || w->count_only);
}

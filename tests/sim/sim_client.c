/*
 * sim_client.c - the simulated clients, their sessions at the
 * directors, the admin and the configured backend list (see sim.h).
 *
 * A client connects to one director (a random one that is up) and stays
 * with it; an LMTP client routes its recipients one after another.  The
 * effects of a director's engine that name a session only schedule
 * events: a kick completes later, a routed session logs in later.  A
 * director that is killed takes its clients with it: their sessions end
 * at once, as the kernel closes their backend connections.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"
#include "xmalloc.h"

/* A client's next step after the previous one: 0..this ms. */
#define SIM_CLIENT_GAP_MS 20
/* An LMTP DATA phase lasts 1..this ms. */
#define SIM_DATA_MS_MAX 2000

static struct sim_client *
sim_client_new(struct sim_world *w, uint32_t dir)
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
		/* clients never move: the engines hold their sessions */
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
	c->dir = dir;
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

int
sim_backend_index(const struct sim_world *w, const struct ipaddr *ip)
{
	int b;

	for (b = 0; b < (int)w->p.backends; b++) {
		if (ipaddr_equals(&w->ip[b], ip))
			return b;
	}
	fatal("sim: the engine routed to a backend the simulator never named");
}

const char *
sim_username(uint32_t user, char *buf, size_t size)
{
	snprintf(buf, size, "u%u", user);
	return buf;
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
	sim_check_open(w, s->client->dir, s->user, s->backend);
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
		sim_check_close(w, d->id, s->user, s->backend);
	sim_trace(w, SIM_TR_END, s->client, (int32_t)s->user,
	    open ? s->backend : -1, open);
	s->state = SIM_SESS_IDLE;
	s->kicked = false;
}

void
sim_client_effect(struct sim_world *w, struct sim_director *d,
    const struct engine_effect *eff)
{
	struct sim_session *s =
	    eff->session != NULL ? eff->session->owner : NULL;

	switch (eff->type) {
	case ENGINE_EFFECT_ROUTED:
		sim_trace(w, SIM_TR_ROUTED, s->client, (int32_t)s->user,
		    sim_backend_index(w, &s->es.backend), 0);
		sim_session_routed(w, s);
		break;
	case ENGINE_EFFECT_FAILED:
		sim_trace(w, SIM_TR_FAILED, s->client, (int32_t)s->user, -1, 0);
		s->state = SIM_SESS_IDLE;
		sim_client_progress(w, s->client);
		break;
	case ENGINE_EFFECT_KICK:
		sim_trace(
		    w, SIM_TR_KICK, s->client, (int32_t)s->user, s->backend, 0);
		s->kicked = true;
		sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.kick_ms_max),
		    SIM_EV_KICK_DONE, s->client, s->slot);
		break;
	case ENGINE_EFFECT_SAVE_HOSTS:
		break;
	case ENGINE_EFFECT_ADMIN_REPLY:
		sim_trace_dir(w, SIM_TR_REPLY, d->id, -1, 0);
		break;
	default:
		fatal("sim: effect %d is not a client's", (int)eff->type);
	}
}

/* A director that is up (maybe hung: its kernel still accepts), or
 * NULL. */
static struct sim_director *
sim_pick_dir(struct sim_world *w, bool running)
{
	uint32_t i, n = 0, pick;

	for (i = 0; i < w->ndirs; i++)
		n +=
		    w->dirs[i].engine != NULL && (!running || !w->dirs[i].hung);
	if (n == 0)
		return NULL;
	pick = (uint32_t)sim_rng_range(&w->rng, 0, n - 1);
	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].engine == NULL || (running && w->dirs[i].hung))
			continue;
		if (pick-- == 0)
			break;
	}
	return &w->dirs[i];
}

void
sim_arrival(struct sim_world *w)
{
	struct sim_director *d = sim_pick_dir(w, false);
	struct sim_client *c;
	uint32_t i, n = 1, user;

	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.arrival_ms_max),
	    SIM_EV_ARRIVAL, NULL, 0);
	if (d == NULL)
		return;
	if (w->ndirs > 1 && sim_rng_pct(&w->rng, w->p.burst_pct)) {
		/* one user through several directors at the same time */
		n = (uint32_t)sim_rng_range(&w->rng, 2, 3);
		user = (uint32_t)sim_rng_range(&w->rng, 0, w->p.users - 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				d = sim_pick_dir(w, false);
			c = sim_client_new(w, d->id);
			c->kind = SIM_CLIENT_IMAP;
			c->nsess = 1;
			c->sess[0].user = user;
			sim_client_progress(w, c);
		}
		return;
	}
	c = sim_client_new(w, d->id);
	c->kind = sim_rng_pct(&w->rng, w->p.lmtp_pct) ? SIM_CLIENT_LMTP
						      : SIM_CLIENT_IMAP;
	c->nsess = c->kind == SIM_CLIENT_IMAP
	    ? 1
	    : (uint32_t)sim_rng_range(&w->rng, 1, SIM_LMTP_RCPTS_MAX);
	for (i = 0; i < c->nsess; i++)
		c->sess[i].user =
		    (uint32_t)sim_rng_range(&w->rng, 0, w->p.users - 1);
	sim_client_progress(w, c);
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

void
sim_client_event(
    struct sim_world *w, const struct sim_event *ev, struct sim_client *c)
{
	struct sim_director *d = &w->dirs[c->dir];
	struct sim_session *s = &c->sess[ev->sess];

	sim_enter(w, d);
	switch (ev->type) {
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
	default:
		break;
	}
	sim_settle(w, d);
}

void
sim_clients_kill(struct sim_world *w, struct sim_director *d)
{
	struct sim_client *c;
	uint32_t i;

	for (i = 0; i < w->nclients; i++) {
		c = w->clients[i];
		if (!c->in_use || c->dir != d->id)
			continue;
		/* the engine goes with them: ended only so that it is
		 * freed with no session */
		sim_end_all(w, c);
		sim_client_free(w, c);
	}
}

void
sim_clients_free(struct sim_world *w)
{
	struct sim_client *c;
	uint32_t i;

	for (i = 0; i < w->nclients; i++) {
		c = w->clients[i];
		if (c->in_use && w->dirs[c->dir].engine != NULL) {
			sim_enter(w, &w->dirs[c->dir]);
			sim_end_all(w, c);
		}
		free(c);
	}
	free(w->clients);
	free(w->free_clients);
}

/* -- admin ------------------------------------------------------------- */

static const unsigned int sim_vhosts[] = {0, 1, 10, 100, 300};

void
sim_admin(struct sim_world *w)
{
	struct sim_director *d = sim_pick_dir(w, true);
	struct engine_admin_op op;
	int32_t b = (int32_t)sim_rng_range(&w->rng, 0, w->p.backends - 1);
	uint32_t user = (uint32_t)sim_rng_range(&w->rng, 0, w->p.users - 1);
	uint64_t pick = sim_rng_range(&w->rng, 0, 99);
	char name[16];

	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.admin_ms_max),
	    SIM_EV_ADMIN, NULL, 0);
	if (d == NULL)
		return;
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
		op.type = sim_rng_pct(&w->rng, 80) ? ENGINE_ADMIN_HOST_SET
						   : ENGINE_ADMIN_HOST_UPDATE;
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
		op.username = sim_username(user, name, sizeof(name));
	} else {
		op.type = ENGINE_ADMIN_HOST_FLUSH;
		w->unsafe_flushes++;
	}
	sim_trace(w, SIM_TR_ADMIN, NULL, op.user_hash != 0 ? (int32_t)user : -1,
	    b, (int32_t)op.type);
	w->trace[(w->ntrace - 1) % SIM_TRACE_LEN].dir = (int32_t)d->id;
	if (w->verbose)
		sim_trace_print(&w->trace[(w->ntrace - 1) % SIM_TRACE_LEN]);
	sim_enter(w, d);
	engine_admin(d->engine, w->now_ms, &op, w);
	sim_settle(w, d);
}

/* -- the configured list ----------------------------------------------- */

void
sim_config_draw(struct sim_world *w)
{
	uint32_t b;

	w->configured = 0;
	for (b = 0; b < w->p.backends; b++) {
		if (sim_rng_pct(&w->rng, 70))
			w->configured |= 1u << b;
	}
}

/* d == NULL: every director that is up reloads, each a little later
 * than the previous (an operator's loop over the ring). */
void
sim_config_apply(struct sim_world *w, struct sim_director *d, bool reload)
{
	struct hosts_spec_entry spec[SIM_BACKENDS_MAX];
	size_t n = 0;
	uint32_t b, i;

	if (d == NULL) {
		sim_trace(
		    w, SIM_TR_RELOAD, NULL, -1, -1, (int32_t)w->configured);
		for (i = 0; i < w->ndirs; i++) {
			if (w->dirs[i].engine == NULL)
				continue; /* it reads the new one at start */
			sim_schedule_dir(w,
			    w->now_ms +
				sim_rng_range(
				    &w->rng, 0, w->p.reload_spread_ms),
			    SIM_EV_RELOAD_DIR, &w->dirs[i]);
		}
		return;
	}
	memset(spec, 0, sizeof(spec));
	for (b = 0; b < w->p.backends; b++) {
		if ((w->configured & (1u << b)) != 0)
			spec[n++].ip = w->ip[b];
	}
	sim_enter(w, d);
	if (!reload) {
		engine_configure(d->engine, w->now_ms, spec, n);
		return;
	}
	sim_trace_dir(w, SIM_TR_RELOAD, d->id, -1, (int32_t)w->configured);
	engine_reload(d->engine, w->now_ms, spec, n);
	sim_settle(w, d);
}

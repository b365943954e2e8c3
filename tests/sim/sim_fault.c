/*
 * sim_fault.c - directors starting, and the faults the simulator
 * injects into the ring (see sim.h for which ones the invariant must
 * survive): link drops, kills and restarts, hangs, partitions; and the
 * quiet period at the end of a run, when every fault is undone.
 *
 * A killed director's engine is freed: its clients' sessions end at
 * once (the kernel closes their sockets) and its links close as a peer
 * sees a dead process's.  A hung director's engine gets no call until
 * it resumes; what would have called it waits (sim_world.c), and when
 * it resumes its clock has jumped by the hang.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim.h"
#include "xmalloc.h"

/* A killed director starts again after this long (ms). */
#define SIM_RESTART_MS_MIN 500
#define SIM_RESTART_MS_MAX 30000
/* A long hang (--partitions): the ring drops the director. */
#define SIM_LONG_HANG_MS_MIN 40000
#define SIM_LONG_HANG_MS_MAX 80000
#define SIM_PARTITION_MS_MIN 3000
#define SIM_PARTITION_MS_MAX 60000
/* Like the daemon's default for director_ping_max_timeout. */
#define SIM_PING_MAX_TIMEOUT_MS 60000
#define SIM_REQUEST_TIMEOUT_MS 30000

/* USER-KICK names a user: "u<index>". */
static int
sim_hash_user(void *ctx, const char *name, uint32_t *hash_r)
{
	const struct sim_world *w = ctx;
	unsigned int user;
	char extra;

	if (sscanf(name, "u%u%c", &user, &extra) != 1 || user >= w->p.users)
		return -1;
	*hash_r = w->user_hash[user];
	return 0;
}

void
sim_dir_start(struct sim_world *w, struct sim_director *d)
{
	struct ring_settings set;

	d->engine = engine_new(&w->eset, w->now_ms);
	d->hung = false;
	d->tick_at = 0;
	sim_config_apply(w, d, false);
	if (w->ndirs > 1) {
		memset(&set, 0, sizeof(set));
		set.self = d->addr;
		set.servers = w->ring_addrs;
		set.server_count = w->ndirs;
		set.ping_idle_timeout_ms = w->p.ping_idle_timeout_ms;
		set.ping_max_timeout_ms = SIM_PING_MAX_TIMEOUT_MS;
		set.request_timeout_ms = SIM_REQUEST_TIMEOUT_MS;
		set.move_timeout_ms = w->p.move_timeout_ms;
		set.dovecot_hashing = w->eset.method == SELECT_METHOD_DOVECOT;
		set.hash_user = sim_hash_user;
		set.hash_ctx = w;
		if (engine_ring_start(d->engine, w->now_ms, &set) == -1)
			fatal("sim: engine_ring_start failed");
	}
	sim_settle(w, d);
}

static void
sim_dir_kill(struct sim_world *w, struct sim_director *d)
{
	struct engine_effect eff;

	sim_trace_dir(w, SIM_TR_FAULT, d->id, -1, SIM_FAULT_KILL);
	sim_enter(w, d);
	sim_clients_kill(w, d);
	sim_net_kill(w, d);
	while (engine_next_effect(d->engine, &eff))
		;
	engine_free(&d->engine);
	d->gen++;
	d->tick_at = 0;
	d->hung = false;
	sim_schedule_dir(w,
	    w->now_ms +
		sim_rng_range(&w->rng, SIM_RESTART_MS_MIN, SIM_RESTART_MS_MAX),
	    SIM_EV_RESTART, d);
}

static void
sim_dir_hang(struct sim_world *w, struct sim_director *d, uint64_t ms)
{
	sim_trace_dir(
	    w, SIM_TR_FAULT, d->id, (int32_t)(ms / 1000), SIM_FAULT_HANG);
	d->hung = true;
	d->resume_at = w->now_ms + ms;
	sim_schedule_dir(w, d->resume_at, SIM_EV_RESUME, d);
}

static void
sim_dir_resume(struct sim_world *w, struct sim_director *d)
{
	bool tick_first = sim_rng_pct(&w->rng, 50);

	sim_trace_dir(w, SIM_TR_FAULT, d->id, tick_first, SIM_FAULT_RESUME);
	d->hung = false;
	sim_enter(w, d);
	/* after SIGCONT the timer or the sockets may come first: with the
	 * sockets first, what waited for it is run before its tick */
	if (tick_first)
		engine_tick(d->engine, w->now_ms);
	sim_net_resume(w, d);
	sim_settle(w, d);
}

static void
sim_partition(struct sim_world *w)
{
	uint32_t i, n = 0;

	for (i = 0; i < w->ndirs; i++) {
		w->dirs[i].group = (uint32_t)sim_rng_range(&w->rng, 0, 1);
		n += w->dirs[i].group;
	}
	if (n == 0)
		w->dirs[sim_rng_range(&w->rng, 0, w->ndirs - 1)].group = 1;
	else if (n == w->ndirs)
		w->dirs[sim_rng_range(&w->rng, 0, w->ndirs - 1)].group = 0;
	w->partitioned = true;
	w->heal_at = w->now_ms +
	    sim_rng_range(&w->rng, SIM_PARTITION_MS_MIN, SIM_PARTITION_MS_MAX);
	n = 0;
	for (i = 0; i < w->ndirs; i++)
		n |= w->dirs[i].group << i;
	sim_trace_dir(w, SIM_TR_FAULT, 0, (int32_t)n, SIM_FAULT_PARTITION);
	sim_schedule(w, w->heal_at - w->now_ms, SIM_EV_HEAL, NULL, 0);
}

static void
sim_heal(struct sim_world *w)
{
	uint32_t i;

	if (!w->partitioned)
		return;
	sim_trace_dir(w, SIM_TR_FAULT, 0, -1, SIM_FAULT_HEAL);
	for (i = 0; i < w->ndirs; i++)
		w->dirs[i].group = 0;
	w->partitioned = false;
}

/* A director to fault: up and running, and (for a kill) not the last
 * one that is up.  NULL if none. */
static struct sim_director *
sim_fault_pick(struct sim_world *w, bool kill)
{
	uint32_t i, up = 0, n = 0, pick;

	for (i = 0; i < w->ndirs; i++) {
		up += w->dirs[i].engine != NULL;
		n += sim_dir_runs(&w->dirs[i]);
	}
	if (n == 0 || (kill && up < 2))
		return NULL;
	pick = (uint32_t)sim_rng_range(&w->rng, 0, n - 1);
	for (i = 0; i < w->ndirs; i++) {
		if (sim_dir_runs(&w->dirs[i]) && pick-- == 0)
			return &w->dirs[i];
	}
	return NULL;
}

void
sim_fault(struct sim_world *w)
{
	uint64_t pick = sim_rng_range(&w->rng, 0, 99);
	struct sim_director *d;

	sim_schedule(w, sim_rng_range(&w->rng, 0, w->p.fault_ms_max),
	    SIM_EV_FAULT, NULL, 0);
	w->faults++;
	if (pick < 45) {
		(void)sim_net_drop(w);
		return;
	}
	if (pick < 65) {
		d = sim_fault_pick(w, true);
		if (d != NULL)
			sim_dir_kill(w, d);
		return;
	}
	if (pick < 80 || !w->partitions) {
		/* shorter than the ping timeout: the ring keeps it */
		d = sim_fault_pick(w, false);
		if (d != NULL)
			sim_dir_hang(w, d,
			    sim_rng_range(
				&w->rng, 100, w->p.ping_idle_timeout_ms / 2));
		return;
	}
	if (pick < 90) {
		d = sim_fault_pick(w, false);
		if (d != NULL)
			sim_dir_hang(w, d,
			    sim_rng_range(&w->rng, SIM_LONG_HANG_MS_MIN,
				SIM_LONG_HANG_MS_MAX));
		return;
	}
	if (!w->partitioned)
		sim_partition(w);
}

void
sim_fault_event(struct sim_world *w, const struct sim_event *ev)
{
	struct sim_director *d = &w->dirs[ev->dir];

	switch (ev->type) {
	case SIM_EV_HEAL:
		if (w->partitioned && w->now_ms >= w->heal_at)
			sim_heal(w);
		break;
	case SIM_EV_RESTART:
		sim_trace_dir(w, SIM_TR_FAULT, d->id, -1, SIM_FAULT_RESTART);
		sim_dir_start(w, d);
		break;
	case SIM_EV_RESUME:
		sim_dir_resume(w, d);
		break;
	default:
		break;
	}
}

void
sim_quiet(struct sim_world *w)
{
	struct sim_director *d;
	uint32_t i;

	w->quiet = true;
	w->quiet_end_ms = w->now_ms + SIM_QUIET_MS;
	sim_trace_dir(w, SIM_TR_FAULT, 0, -1, SIM_FAULT_QUIET);
	sim_heal(w);
	for (i = 0; i < w->ndirs; i++) {
		d = &w->dirs[i];
		if (d->engine == NULL)
			sim_schedule_dir(w, w->now_ms, SIM_EV_RESTART, d);
		else if (d->hung) {
			d->resume_at = w->now_ms;
			sim_schedule_dir(w, w->now_ms, SIM_EV_RESUME, d);
		}
	}
}

/*
 * sim_check.c - the simulator's invariant checker, its liveness check
 * and its trace.
 *
 * The checker keeps its own record of the sessions of every user on
 * every backend, world-wide (from what the simulated clients did, not
 * from any engine), and flags:
 *   (1) a session of user U routed to backend B while U has open
 *       sessions (routed or alive, through any director) on another
 *       backend B', or less than kick_delay_ms after U's last session on
 *       B' ended - an invariant violation (fatal, or counted with
 *       --partitions);
 *   (2) an engine whose session counts (in total, and of the user last
 *       touched) disagree with the sessions the simulator routed through
 *       its director - always fatal (broken bookkeeping);
 * and at the end of a ring run, after the quiet period: every director
 * up, synced and not alone, the rights forming one cycle through all of
 * them, and one hosts_hash.
 * The trace keeps the last SIM_TRACE_LEN records for the report.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hosts.h"
#include "sim.h"

static void sim_violation(
    struct sim_world *w, int32_t user, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void sim_broken(struct sim_world *w, int32_t user, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
static void sim_live_failure(struct sim_world *w, const char *fmt, ...)
    ATTR_PRINTF(2, 3);

static void
sim_record(struct sim_world *w, int32_t user, const char *fmt, va_list ap)
{
	if (w->violated)
		return;
	w->violated = true;
	w->violation_user = user;
	vsnprintf(w->violation, sizeof(w->violation), fmt, ap);
}

/* An invariant violation; user is the one at fault, or -1. */
static void
sim_violation(struct sim_world *w, int32_t user, const char *fmt, ...)
{
	va_list ap;

	w->violations++;
	va_start(ap, fmt);
	sim_record(w, user, fmt, ap);
	va_end(ap);
}

static void
sim_broken(struct sim_world *w, int32_t user, const char *fmt, ...)
{
	va_list ap;

	w->broken = true;
	w->violations++;
	/* it replaces a counted violation's message: it is the worse */
	w->violated = false;
	va_start(ap, fmt);
	sim_record(w, user, fmt, ap);
	va_end(ap);
}

static void
sim_live_failure(struct sim_world *w, const char *fmt, ...)
{
	va_list ap;

	if (w->live_failed)
		return;
	w->live_failed = true;
	va_start(ap, fmt);
	vsnprintf(w->live_failure, sizeof(w->live_failure), fmt, ap);
	va_end(ap);
}

void
sim_trace(struct sim_world *w, enum sim_trace_kind kind,
    const struct sim_client *c, int32_t user, int32_t backend, int32_t a)
{
	struct sim_trace_rec *r = &w->trace[w->ntrace++ % SIM_TRACE_LEN];

	r->at = w->now_ms;
	r->step = w->step;
	r->kind = kind;
	r->dir = c != NULL ? (int32_t)c->dir : -1;
	r->client = c != NULL ? (int32_t)c->index : -1;
	r->user = user;
	r->backend = backend;
	r->a = a;
	if (w->verbose && kind != SIM_TR_ADMIN)
		sim_trace_print(r);
}

void
sim_trace_dir(struct sim_world *w, enum sim_trace_kind kind, uint32_t dir,
    int32_t other, int32_t a)
{
	struct sim_trace_rec *r = &w->trace[w->ntrace++ % SIM_TRACE_LEN];

	r->at = w->now_ms;
	r->step = w->step;
	r->kind = kind;
	r->dir = (int32_t)dir;
	r->client = -1;
	r->user = -1;
	r->backend = other;
	r->a = a;
	if (w->verbose)
		sim_trace_print(r);
}

void
sim_check_open(struct sim_world *w, uint32_t dir, uint32_t user, int backend)
{
	struct sim_check *k = &w->check;
	uint64_t ago;
	int b;

	for (b = 0; b < SIM_BACKENDS_MAX; b++) {
		if (b == backend)
			continue;
		if (k->open[user][b] > 0) {
			sim_violation(w, (int32_t)user,
			    "user %u routed to backend %d by d%u while %u of "
			    "its sessions are open on backend %d",
			    user, backend, dir, k->open[user][b], b);
		}
		if (k->last_end[user][b] == 0)
			continue;
		ago = w->now_ms - k->last_end[user][b];
		if (ago < w->p.kick_delay_ms) {
			sim_violation(w, (int32_t)user,
			    "user %u routed to backend %d by d%u %llu ms after "
			    "its last session on backend %d ended (kick delay "
			    "%llu ms)",
			    user, backend, dir, (unsigned long long)ago, b,
			    (unsigned long long)w->p.kick_delay_ms);
		}
	}
	if (k->open[user][backend]++ == 0 && ++k->backends_open[user] == 2)
		k->users_on_two++;
	k->via[user][dir]++;
	w->dirs[dir].sessions++;
	k->sessions++;
	k->user_touched = user;
	k->touched = true;
}

void
sim_check_close(struct sim_world *w, uint32_t dir, uint32_t user, int backend)
{
	struct sim_check *k = &w->check;

	if (k->open[user][backend] == 0 || k->via[user][dir] == 0) {
		sim_broken(w, (int32_t)user,
		    "simulator: user %u closes on backend %d via d%u with "
		    "nothing open",
		    user, backend, dir);
		return;
	}
	if (--k->open[user][backend] == 0 && k->backends_open[user]-- == 2)
		k->users_on_two--;
	k->via[user][dir]--;
	w->dirs[dir].sessions--;
	k->last_end[user][backend] = w->now_ms;
	k->sessions--;
	k->user_touched = user;
	k->touched = true;
}

void
sim_check_step(struct sim_world *w)
{
	struct sim_check *k = &w->check;
	const struct sim_director *d;
	uint32_t u = k->user_touched, i;
	size_t got;

	for (i = 0; i < w->ndirs; i++) {
		d = &w->dirs[i];
		if (d->engine == NULL) {
			if (d->sessions != 0)
				sim_broken(w, -1,
				    "d%u is down with %zu sessions", i,
				    d->sessions);
			continue;
		}
		got = engine_session_count(d->engine);
		if (got != d->sessions)
			sim_broken(w, -1,
			    "d%u's engine counts %zu sessions, simulator %zu",
			    i, got, d->sessions);
		if (!k->touched)
			continue;
		got = engine_user_sessions(d->engine, w->user_hash[u]);
		if (got != k->via[u][i])
			sim_broken(w, (int32_t)u,
			    "d%u's engine counts %zu sessions of user %u, "
			    "simulator %u",
			    i, got, u, (unsigned int)k->via[u][i]);
	}
	k->touched = false;
}

void
sim_check_full(struct sim_world *w)
{
	const struct sim_check *k = &w->check;
	uint32_t u, on;
	int b, first;

	for (u = 0; u < w->p.users; u++) {
		on = 0;
		first = -1;
		for (b = 0; b < SIM_BACKENDS_MAX; b++) {
			if (k->open[u][b] == 0)
				continue;
			if (first >= 0)
				sim_violation(w, (int32_t)u,
				    "user %u has sessions on backends %d "
				    "and %d",
				    u, first, b);
			first = b;
			on++;
		}
		if (on != k->backends_open[u])
			sim_broken(
			    w, (int32_t)u, "simulator: user %u open count", u);
	}
}

/* The index of the director at a, or -1. */
static int
sim_dir_index(const struct sim_world *w, const struct ring_addr *a)
{
	uint32_t i;

	for (i = 0; i < w->ndirs; i++) {
		if (w->dirs[i].addr.port == a->port &&
		    ipaddr_equals(&w->dirs[i].addr.ip, &a->ip))
			return (int)i;
	}
	return -1;
}

void
sim_check_live(struct sim_world *w)
{
	int right[SIM_DIRECTORS_MAX];
	struct ring_dir_status ds;
	struct ring_status st;
	struct engine *e;
	uint32_t i, hash = 0, n;
	size_t j;
	int at;

	if (w->ndirs < 2)
		return;
	if (w->quiet_steps >= SIM_QUIET_STEPS_MAX) {
		sim_live_failure(w, "the quiet period took over %d steps",
		    SIM_QUIET_STEPS_MAX);
		return;
	}
	for (i = 0; i < w->ndirs; i++) {
		e = w->dirs[i].engine;
		right[i] = -1;
		if (e == NULL || w->dirs[i].hung) {
			sim_live_failure(w, "d%u is %s at the end", i,
			    e == NULL ? "down" : "hung");
			return;
		}
		engine_ring_status(e, &st);
		if (!st.synced || !st.handshaked || st.alone) {
			sim_live_failure(w,
			    "d%u is %s%s%s after %u s of quiet (sync_seq %u, "
			    "%zu links, %zu waiting)",
			    i, st.handshaked ? "" : "not handshaked, ",
			    st.synced ? "synced" : "not synced",
			    st.alone ? ", alone" : "", SIM_QUIET_MS / 1000,
			    st.sync_seq, st.link_count, st.waiting_requests);
			return;
		}
		for (j = 0; engine_ring_dir(e, j, &ds); j++) {
			if (ds.role == RING_ROLE_RIGHT ||
			    ds.role == RING_ROLE_LEFT_RIGHT)
				right[i] = sim_dir_index(w, &ds.addr);
		}
		if (i == 0)
			hash = hosts_hash(engine_hosts(e));
		else if (hosts_hash(engine_hosts(e)) != hash) {
			sim_live_failure(w,
			    "d%u's hosts_hash %u differs from d0's %u", i,
			    hosts_hash(engine_hosts(e)), hash);
			return;
		}
	}
	for (at = 0, n = 0; n < w->ndirs; n++) {
		at = right[at];
		if (at < 0) {
			sim_live_failure(w, "a director has no right");
			return;
		}
		if (at == 0)
			break;
	}
	if (at != 0 || n + 1 != w->ndirs)
		sim_live_failure(w,
		    "the rights do not form one ring through all %u "
		    "directors",
		    w->ndirs);
}

const char *
sim_ev_name(enum sim_ev_type type)
{
	static const char *const names[] = {
	    [SIM_EV_TICK] = "tick",
	    [SIM_EV_ARRIVAL] = "arrival",
	    [SIM_EV_ROUTE] = "route",
	    [SIM_EV_LOGIN_DONE] = "login-done",
	    [SIM_EV_TIMEOUT] = "timeout",
	    [SIM_EV_END] = "end",
	    [SIM_EV_KICK_DONE] = "kick-done",
	    [SIM_EV_ADMIN] = "admin",
	    [SIM_EV_RELOAD] = "reload",
	    [SIM_EV_RELOAD_DIR] = "reload-dir",
	    [SIM_EV_CONNECT] = "syn",
	    [SIM_EV_DELIVER] = "deliver",
	    [SIM_EV_FAULT] = "fault",
	    [SIM_EV_HEAL] = "heal",
	    [SIM_EV_RESTART] = "restart",
	    [SIM_EV_RESUME] = "resume",
	};

	return names[type];
}

static const char *
sim_admin_name(int32_t type)
{
	static const char *const names[] = {
	    [ENGINE_ADMIN_HOST_SET] = "HOST-SET",
	    [ENGINE_ADMIN_HOST_UPDATE] = "HOST-UPDATE",
	    [ENGINE_ADMIN_HOST_UP] = "HOST-UP",
	    [ENGINE_ADMIN_HOST_DOWN] = "HOST-DOWN",
	    [ENGINE_ADMIN_HOST_REMOVE] = "HOST-REMOVE",
	    [ENGINE_ADMIN_HOST_FLUSH] = "HOST-FLUSH (unsafe)",
	    [ENGINE_ADMIN_HOST_RESET_USERS] = "HOST-RESET-USERS",
	    [ENGINE_ADMIN_USER_MOVE] = "USER-MOVE",
	    [ENGINE_ADMIN_USER_KICK] = "USER-KICK",
	};

	return names[type];
}

static void
sim_fault_print(const struct sim_trace_rec *r)
{
	static const char *const names[] = {
	    [SIM_FAULT_DROP] = "link reset",
	    [SIM_FAULT_KILL] = "killed",
	    [SIM_FAULT_RESTART] = "restarted",
	    [SIM_FAULT_HANG] = "hangs",
	    [SIM_FAULT_RESUME] = "resumes",
	    [SIM_FAULT_PARTITION] = "partition",
	    [SIM_FAULT_HEAL] = "partition healed",
	    [SIM_FAULT_QUIET] = "faults stop: quiet period",
	};

	printf("FAULT %s", names[r->a]);
	switch (r->a) {
	case SIM_FAULT_DROP:
		printf(" (to d%d)\n", r->backend);
		break;
	case SIM_FAULT_HANG:
		printf(" for %d s\n", r->backend);
		break;
	case SIM_FAULT_RESUME:
		printf(" (%s first)\n", r->backend ? "tick" : "input");
		break;
	case SIM_FAULT_PARTITION:
		printf(" (directors in 0x%x apart)\n", (unsigned)r->backend);
		break;
	default:
		printf("\n");
		break;
	}
}

void
sim_trace_print(const struct sim_trace_rec *r)
{
	static const char *const route[] = {"OK", "WAIT", "FAIL"};
	static const char *const link[] = {
	    [SIM_LINK_CONNECT] = "connecting to",
	    [SIM_LINK_UP] = "connection up with",
	    [SIM_LINK_REFUSED] = "connection refused by",
	    [SIM_LINK_CLOSE] = "closes its link to",
	    [SIM_LINK_CLOSED] = "link closed by",
	};

	printf("  step %6llu t=%8llu ", (unsigned long long)r->step,
	    (unsigned long long)(r->at % 100000000));
	if (r->dir >= 0)
		printf("d%d ", r->dir);
	else
		printf("   ");
	if (r->kind == SIM_TR_FAULT) {
		sim_fault_print(r);
		return;
	}
	if (r->kind == SIM_TR_LINK) {
		printf("%s d%d\n", link[r->a], r->backend);
		return;
	}
	printf("client %4d user %3d ", r->client, r->user);
	switch (r->kind) {
	case SIM_TR_EVENT:
		printf("event %s\n", sim_ev_name((enum sim_ev_type)r->a));
		break;
	case SIM_TR_ROUTE:
		if (r->a == ENGINE_ROUTE_OK)
			printf("engine_route -> OK backend %d\n", r->backend);
		else
			printf("engine_route -> %s\n", route[r->a]);
		break;
	case SIM_TR_ROUTED:
		printf("ROUTED (after waiting) to backend %d\n", r->backend);
		break;
	case SIM_TR_FAILED:
		printf("FAILED\n");
		break;
	case SIM_TR_ALIVE:
		printf("alive on backend %d\n", r->backend);
		break;
	case SIM_TR_END:
		printf("session_end (%s) backend %d\n",
		    r->a ? "was open" : "was waiting", r->backend);
		break;
	case SIM_TR_KICK:
		printf("KICK on backend %d\n", r->backend);
		break;
	case SIM_TR_ADMIN:
		printf(
		    "admin %s backend %d\n", sim_admin_name(r->a), r->backend);
		break;
	case SIM_TR_RELOAD:
		printf("reload: backends 0x%x\n", (unsigned int)r->a);
		break;
	case SIM_TR_REPLY:
		printf("admin reply\n");
		break;
	default:
		printf("\n");
		break;
	}
}

static bool
sim_trace_shown(const struct sim_trace_rec *r, int32_t user)
{
	return r->user == user || r->kind == SIM_TR_ADMIN ||
	    r->kind == SIM_TR_RELOAD || r->kind == SIM_TR_FAULT;
}

/* Each director's ring state and backend list, as it is now. */
static void
sim_report_dirs(const struct sim_world *w)
{
	const struct sim_director *d;
	struct ring_status st;
	struct hosts *hosts;
	const struct host *h;
	uint32_t i;
	size_t j;

	for (i = 0; i < w->ndirs; i++) {
		d = &w->dirs[i];
		if (d->engine == NULL) {
			printf("sim: d%u: down\n", i);
			continue;
		}
		engine_ring_status(d->engine, &st);
		hosts = engine_hosts(d->engine);
		printf("sim: d%u:%s%s%s hosts_hash %u:", i,
		    d->hung ? " hung," : "",
		    st.synced ? " synced" : " unsynced",
		    st.alone ? ", alone," : ",", hosts_hash(hosts));
		for (j = 0; j < hosts_count(hosts); j++) {
			h = hosts_get(hosts, j);
			printf(" b%d/%u%s", sim_backend_index(w, &h->ip),
			    h->vhost_count, h->down ? "D" : "");
		}
		printf("\n");
	}
}

void
sim_report(const struct sim_world *w)
{
	const struct sim_trace_rec *r;
	uint64_t i, from, n = 0;

	if (w->violated || w->broken)
		printf("sim: VIOLATION seed %llu step %llu t=%llu ms: %s\n",
		    (unsigned long long)w->seed, (unsigned long long)w->step,
		    (unsigned long long)w->now_ms, w->violation);
	if (w->live_failed)
		printf("sim: LIVENESS seed %llu: %s\n",
		    (unsigned long long)w->seed, w->live_failure);
	printf("sim: %u directors, kick_delay %llu ms, user_expire %u s, %u "
	       "users, %u backends, %llu faults; last events (t mod 1e8):\n",
	    w->ndirs, (unsigned long long)w->p.kick_delay_ms,
	    w->p.user_expire_secs, w->p.users, w->p.backends,
	    (unsigned long long)w->faults);
	sim_report_dirs(w);
	from = w->ntrace > SIM_TRACE_SHOW ? w->ntrace - SIM_TRACE_SHOW : 0;
	for (i = from; i < w->ntrace; i++)
		sim_trace_print(&w->trace[i % SIM_TRACE_LEN]);
	if (!w->violated || w->violation_user < 0)
		goto replay;
	/* the user's own story, and the admin operations and faults */
	from = w->ntrace > SIM_TRACE_LEN ? w->ntrace - SIM_TRACE_LEN : 0;
	for (i = w->ntrace; i > from && n < SIM_TRACE_USER; i--) {
		r = &w->trace[(i - 1) % SIM_TRACE_LEN];
		n += sim_trace_shown(r, w->violation_user);
	}
	printf("sim: the last events of user %d and the admin operations "
	       "and faults among them:\n",
	    w->violation_user);
	for (; i < w->ntrace; i++) {
		r = &w->trace[i % SIM_TRACE_LEN];
		if (sim_trace_shown(r, w->violation_user))
			sim_trace_print(r);
	}
replay:
	printf("sim: replay with: sim --seed %llu --steps %llu --directors "
	       "%u%s%s -v\n",
	    (unsigned long long)w->seed, (unsigned long long)w->max_steps,
	    w->ndirs, w->p.unsafe_flush ? " --unsafe" : "",
	    w->partitions ? " --partitions" : "");
}

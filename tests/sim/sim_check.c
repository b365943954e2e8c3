/*
 * sim_check.c - the simulator's invariant checker and its trace.
 *
 * The checker keeps its own record of the sessions of every user on
 * every backend (from what the simulated clients did, not from the
 * engine) and fails the run on the first step where:
 *   (1) a user has open sessions (routed or alive) on two backends;
 *   (2) a session of user U is routed to backend B while U has open
 *       sessions on another backend B', or less than kick_delay_ms after
 *       U's last session on B' ended;
 *   (3) the engine's session counts disagree with the simulator's.
 * The trace keeps the last SIM_TRACE_LEN records for the report.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

static void sim_violation(
    struct sim_world *w, int32_t user, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Records the first violation; user is the one at fault, or -1. */
static void
sim_violation(struct sim_world *w, int32_t user, const char *fmt, ...)
{
	va_list ap;

	if (w->violated)
		return;
	w->violated = true;
	w->violation_user = user;
	va_start(ap, fmt);
	vsnprintf(w->violation, sizeof(w->violation), fmt, ap);
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
	r->client = c != NULL ? (int32_t)c->index : -1;
	r->user = user;
	r->backend = backend;
	r->a = a;
	if (w->verbose)
		sim_trace_print(r);
}

void
sim_check_open(struct sim_world *w, uint32_t user, int backend)
{
	struct sim_check *k = &w->check;
	uint64_t ago;
	int b;

	for (b = 0; b < SIM_BACKENDS_MAX; b++) {
		if (b == backend)
			continue;
		if (k->open[user][b] > 0) {
			sim_violation(w, (int32_t)user,
			    "user %u routed to backend %d while %u of its "
			    "sessions are open on backend %d",
			    user, backend, k->open[user][b], b);
		}
		if (k->last_end[user][b] == 0)
			continue;
		ago = w->now_ms - k->last_end[user][b];
		if (ago < w->p.kick_delay_ms) {
			sim_violation(w, (int32_t)user,
			    "user %u routed to backend %d %llu ms after its "
			    "last session on backend %d ended (kick delay "
			    "%llu ms)",
			    user, backend, (unsigned long long)ago, b,
			    (unsigned long long)w->p.kick_delay_ms);
		}
	}
	if (k->open[user][backend]++ == 0 && ++k->backends_open[user] == 2)
		k->users_on_two++;
	k->sessions++;
	k->user_touched = user;
	k->touched = true;
}

void
sim_check_close(struct sim_world *w, uint32_t user, int backend)
{
	struct sim_check *k = &w->check;

	if (k->open[user][backend] == 0) {
		sim_violation(w, (int32_t)user,
		    "simulator: user %u closes on backend %d "
		    "with nothing open",
		    user, backend);
		return;
	}
	if (--k->open[user][backend] == 0 && k->backends_open[user]-- == 2)
		k->users_on_two--;
	k->last_end[user][backend] = w->now_ms;
	k->sessions--;
	k->user_touched = user;
	k->touched = true;
}

void
sim_check_step(struct sim_world *w)
{
	struct sim_check *k = &w->check;
	const struct engine *e = w->dirs[0].engine;
	size_t n = 0, got;
	int b;

	if (k->users_on_two > 0)
		sim_violation(w, -1, "%u users have sessions on two backends",
		    k->users_on_two);
	got = engine_session_count(e);
	if (got != k->sessions)
		sim_violation(w, -1,
		    "engine counts %zu sessions, simulator %zu", got,
		    k->sessions);
	if (!k->touched)
		return;
	k->touched = false;
	for (b = 0; b < SIM_BACKENDS_MAX; b++)
		n += k->open[k->user_touched][b];
	got = engine_user_sessions(e, w->user_hash[k->user_touched]);
	if (got != n)
		sim_violation(w, (int32_t)k->user_touched,
		    "engine counts %zu sessions of user %u, "
		    "simulator %zu",
		    got, k->user_touched, n);
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
			sim_violation(
			    w, (int32_t)u, "simulator: user %u open count", u);
	}
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

void
sim_trace_print(const struct sim_trace_rec *r)
{
	static const char *const route[] = {"OK", "WAIT", "FAIL"};

	printf("  step %6llu t=%8llu client %4d user %3d ",
	    (unsigned long long)r->step,
	    (unsigned long long)(r->at % 100000000), r->client, r->user);
	switch (r->kind) {
	case SIM_TR_EVENT:
		printf("event %s\n", sim_ev_name((enum sim_ev_type)r->a));
		break;
	case SIM_TR_ROUTE:
		printf("engine_route -> %s%s%d\n", route[r->a],
		    r->a == ENGINE_ROUTE_OK ? " backend " : "",
		    r->a == ENGINE_ROUTE_OK ? r->backend : 0);
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
	}
}

void
sim_report(const struct sim_world *w)
{
	const struct sim_trace_rec *r;
	uint64_t i, from, n = 0;

	printf("sim: VIOLATION seed %llu step %llu t=%llu ms: %s\n",
	    (unsigned long long)w->seed, (unsigned long long)w->step,
	    (unsigned long long)w->now_ms, w->violation);
	printf("sim: kick_delay %llu ms, user_expire %u s, %u users, %u "
	       "backends; last events (t mod 1e8):\n",
	    (unsigned long long)w->p.kick_delay_ms, w->p.user_expire_secs,
	    w->p.users, w->p.backends);
	from = w->ntrace > SIM_TRACE_SHOW ? w->ntrace - SIM_TRACE_SHOW : 0;
	for (i = from; i < w->ntrace; i++)
		sim_trace_print(&w->trace[i % SIM_TRACE_LEN]);
	if (w->violation_user < 0)
		goto replay;
	/* the user's own story, and the admin operations among it */
	from = w->ntrace > SIM_TRACE_LEN ? w->ntrace - SIM_TRACE_LEN : 0;
	for (i = w->ntrace; i > from && n < SIM_TRACE_USER; i--) {
		r = &w->trace[(i - 1) % SIM_TRACE_LEN];
		n += r->user == w->violation_user || r->kind == SIM_TR_ADMIN ||
		    r->kind == SIM_TR_RELOAD;
	}
	printf("sim: the last events of user %d and the admin operations "
	       "among them:\n",
	    w->violation_user);
	for (; i < w->ntrace; i++) {
		r = &w->trace[i % SIM_TRACE_LEN];
		if (r->user == w->violation_user || r->kind == SIM_TR_ADMIN ||
		    r->kind == SIM_TR_RELOAD)
			sim_trace_print(r);
	}
replay:
	printf("sim: replay with: sim --seed %llu%s -v\n",
	    (unsigned long long)w->seed, w->p.unsafe_flush ? " --unsafe" : "");
}

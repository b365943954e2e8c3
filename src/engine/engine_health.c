/*
 * engine_health.c - what the engine does with the health checker's
 * verdicts (see engine_host_health() in engine.h).
 *
 * A checker can be wrong: a backend that is alive may fail its checks.
 * So a dead backend's users never go elsewhere directly: each is moved
 * through a move fence (engine_fence.c; in a ring the move's kill token
 * goes around first), so its sessions on the old backend have ended and
 * the kick delay has passed before any login reaches the new one.  The
 * health state is not the admin state: an operator's "down" stays, and
 * the checker never changes weights (hosts_set_healthy() does not enter
 * hosts_hash either, so directors may differ in it without desyncing).
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"

static void
engine_health_flush(struct engine *e, struct host *host)
{
	struct engine_flush *fl;

	fl = engine_flush_new(e, host, e->set.max_parallel_moves, NULL);
	fl->health = true;
	fl->health_ip = host->ip;
	log_info("backend %s is unhealthy: moving its %zu users, at most %u "
		 "at a time",
	    host->ip_str, fl->count, fl->max_parallel);
	(void)engine_flush_step(e, fl);
}

/* The backend is healthy again: the moves not yet started are dropped
 * (the ones under way finish). */
static void
engine_health_unflush(struct engine *e, const struct host *host)
{
	struct engine_flush *fl, *next;

	for (fl = TAILQ_FIRST(&e->flushes); fl != NULL; fl = next) {
		next = TAILQ_NEXT(fl, link);
		if (!fl->health || !ipaddr_equals(&fl->health_ip, &host->ip))
			continue;
		fl->count = fl->next;
		(void)engine_flush_step(e, fl);
	}
}

void
engine_health_apply(struct engine *e, struct host *host, bool healthy,
    bool move_users, const char *why)
{
	if (host->unhealthy == !healthy)
		return;
	hosts_set_healthy(e->hosts, host, healthy);
	log_info("backend %s health: %s (%s)%s", host->ip_str,
	    healthy ? "up" : "down", why,
	    host->down ? "; it stays down by admin" : "");
	if (healthy)
		engine_health_unflush(e, host);
	else if (move_users)
		engine_health_flush(e, host);
}

int
engine_host_health(struct engine *e, uint64_t now_ms, const struct ipaddr *ip,
    bool healthy, const char *why)
{
	struct host *host;

	engine_see_time(e, now_ms);
	host = hosts_lookup(e->hosts, ip);
	if (host == NULL)
		return -1;
	host->health_local_down = !healthy;
	/* in a ring of ours the verdict is shared (ring_health.c) */
	if (ring_health_verdict(e, host, why))
		return 0;
	engine_health_apply(e, host, healthy, true, why);
	return 0;
}

struct engine_fence *
engine_health_move(
    struct engine *e, const struct engine_session *s, const struct user *u)
{
	struct host *from = hosts_lookup_id(e->hosts, u->host), *to;
	struct engine_fence *f;
	const char *status = NULL;

	if (from == NULL || !from->unhealthy)
		return NULL;
	to = hosts_select(e->hosts, hosts_tag_name(s->tag), s->user_hash);
	if (to == NULL || to == from)
		return NULL; /* nowhere better: try the one it has */
	f = engine_move_start(e, s->user_hash, to, &status);
	if (f != NULL)
		log_info("user %u logs in while its backend %s is unhealthy: "
			 "moving it to %s first",
		    s->user_hash, from->ip_str, to->ip_str);
	return f;
}

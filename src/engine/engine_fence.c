/*
 * engine_fence.c - the engine's fences (see engine_int.h): moves,
 * removals and evictions hold logins back until the sessions they wait
 * for have ended and the kick delay has passed; a ring move also waits
 * for its kill token to go around the ring (ring_user.c).
 *
 * Invariants: a fence is set up (and a ring move announced) before any
 * kick it asks for is queued; it counts only sessions routed before it;
 * its waiters are routed again only when it ends.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"
#include "xmalloc.h"

/* -- fences ------------------------------------------------------------ */

bool
engine_fence_matches(
    const struct engine_fence *f, const struct engine_session *s)
{
	if (s->seq >= f->seq)
		return false;
	if (f->kind == ENGINE_FENCE_MOVE)
		return s->user_hash == f->user_hash &&
		    !ipaddr_equals(&s->backend, &f->backend);
	return ipaddr_equals(&s->backend, &f->backend);
}

void
engine_fence_pending_done(struct engine *e, struct engine_fence *f)
{
	if (f->ring && f->kill != ENGINE_KILL_DELAY) {
		/* the ring's kill token decides when the delay starts */
		f->deadline_ms = UINT64_MAX;
		if (f->kind == ENGINE_FENCE_MOVE)
			ring_move_killed_local(e, f);
		else
			ring_host_killed_local(e, f);
		return;
	}
	f->deadline_ms = e->now_ms + e->set.kick_delay_ms;
}

/* Counts (and kicks) the open sessions f waits for. */
void
engine_fence_collect(struct engine *e, struct engine_fence *f)
{
	struct engine_session *s;
	struct engine_user *u;
	size_t i;

	if (f->kind == ENGINE_FENCE_MOVE) {
		u = engine_user_find(e, f->user_hash);
		for (s = u != NULL ? u->sessions : NULL; s != NULL;
		     s = s->next) {
			if (engine_fence_matches(f, s)) {
				f->pending++;
				engine_kick(e, s);
			}
		}
	} else {
		for (i = 0; i < e->nbuckets; i++) {
			for (u = e->buckets[i]; u != NULL; u = u->bucket_next) {
				for (s = u->sessions; s != NULL; s = s->next) {
					if (!engine_fence_matches(f, s))
						continue;
					f->pending++;
					engine_kick(e, s);
				}
			}
		}
	}
	if (f->pending == 0)
		engine_fence_pending_done(e, f);
}

struct engine_fence *
engine_fence_new(struct engine *e, enum engine_fence_kind kind,
    struct host_tag *tag, const struct ipaddr *backend)
{
	struct engine_fence *f = xcalloc(1, sizeof(*f));

	f->kind = kind;
	f->tag = tag;
	f->backend = *backend;
	/* every session routed so far is older than the fence */
	f->seq = ++e->seq;
	TAILQ_INSERT_TAIL(&e->fences, f, link);
	e->nfences++;
	if (kind == ENGINE_FENCE_MOVE)
		e->nmoves++;
	return f;
}

struct engine_fence *
engine_find_move(
    const struct engine *e, uint32_t user_hash, const struct host_tag *tag)
{
	struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_MOVE && f->tag == tag &&
		    f->user_hash == user_hash)
			return f;
	}
	return NULL;
}

struct engine_fence *
engine_find_removal(const struct engine *e, const struct host_tag *tag)
{
	struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_REMOVAL && f->tag == tag)
			return f;
	}
	return NULL;
}

bool
engine_user_moving(const struct engine *e, uint32_t user_hash, const char *tag)
{
	const struct host_tag *t = hosts_tag_lookup(e->hosts, tag);

	return t != NULL && engine_find_move(e, user_hash, t) != NULL;
}

void
engine_user_mark(
    struct engine *e, uint32_t user_hash, struct host_tag *tag, bool on)
{
	struct users *users = hosts_tag_users(tag);
	struct user *u = users_lookup(users, user_hash, engine_now_secs(e));
	const uint32_t flags = USER_FLAG_MOVING | USER_FLAG_KILLING;

	if (u == NULL)
		return;
	if (on) {
		u->flags |= flags;
		/* an operator's move makes it lasting */
		u->flags &= ~(uint32_t)USER_FLAG_PROVISIONAL;
	} else
		u->flags &= ~flags;
}

/* Ends f: its waiters are routed again (they may wait on another fence),
 * its requester gets "OK" and its flush may start more moves. */
static void
engine_fence_finish(struct engine *e, struct engine_fence *f)
{
	struct engine_session *s;
	char ip[IPADDR_STR_MAX];

	TAILQ_REMOVE(&e->fences, f, link);
	e->nfences--;
	if (f->backend.family == 0)
		strlcpy(ip, "no backend", sizeof(ip)); /* an eviction */
	else
		ipaddr_format(&f->backend, ip);
	if (f->kind == ENGINE_FENCE_MOVE) {
		e->nmoves--;
		log_info("user %u move to %s finished", f->user_hash, ip);
		/* a later move of the user stands: the user is its */
		if (engine_find_move(e, f->user_hash, f->tag) == NULL) {
			engine_move_settle(e, f);
			engine_user_mark(e, f->user_hash, f->tag, false);
			if (f->ring)
				ring_move_finished(e, f);
		}
	} else
		log_info("sessions of retired backend %s have wound down", ip);
	while ((s = f->waiters) != NULL) {
		f->waiters = s->next;
		s->next = s->prev = NULL;
		s->fence = NULL;
		s->state = ENGINE_SESSION_IDLE;
		engine_route_again(e, s);
	}
	engine_reply(e, f->requester, "OK");
	if (f->flush != NULL)
		engine_flush_moved(e, f->flush);
	free(f);
}

/* Ends the fences whose time has come. */
void
engine_fences_run(struct engine *e)
{
	struct engine_fence *f, *next;

	for (f = TAILQ_FIRST(&e->fences); f != NULL; f = next) {
		next = TAILQ_NEXT(f, link);
		if (f->pending == 0 && f->deadline_ms <= e->now_ms) {
			engine_fence_finish(e, f);
			/* finishing may have started or ended others */
			next = TAILQ_FIRST(&e->fences);
		}
	}
}

bool
engine_fences_unshared(const struct engine *e)
{
	const struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_REMOVAL || !f->ring)
			return true;
	}
	return false;
}

/* Takes back a move fence that has nothing to wait for. */
static void
engine_move_drop(struct engine *e, struct engine_fence *f)
{
	TAILQ_REMOVE(&e->fences, f, link);
	e->nfences--;
	e->nmoves--;
	engine_user_mark(e, f->user_hash, f->tag, false);
	free(f);
}

struct engine_fence *
engine_move_start(struct engine *e, uint32_t user_hash, struct host *host,
    const char **status_r)
{
	struct users *users = hosts_tag_users(host->tag);
	uint32_t now = engine_now_secs(e);
	struct host *old = NULL;
	struct engine_fence *f;
	struct user *u;

	if (engine_find_move(e, user_hash, host->tag) != NULL) {
		*status_r = "TRYAGAIN";
		return NULL;
	}
	u = users_lookup(users, user_hash, now);
	if (engine_ring_enabled(e) && u != NULL && u->host == host->id &&
	    !engine_sessions_elsewhere(e, user_hash, host)) {
		/* already there: refreshed, and the ring is told (2.3) */
		u->flags &= ~(uint32_t)USER_FLAG_PROVISIONAL;
		users_refresh(users, u, now, now);
		ring_user_announce(e, host, u);
		*status_r = "OK";
		return NULL;
	}
	if (u != NULL) {
		old = hosts_lookup_id(e->hosts, u->host);
		users_set_host(users, u, host->id);
		users_refresh(users, u, now, now);
	} else {
		u = users_add(users, user_hash, host->id, now, now);
		if (u == NULL) {
			*status_r = "user directory is full";
			return NULL;
		}
	}
	/* the fence stands (and the ring is told) before any kick is asked
	 * for */
	f = engine_fence_new(e, ENGINE_FENCE_MOVE, host->tag, &host->ip);
	f->user_hash = user_hash;
	engine_user_mark(e, user_hash, host->tag, true);
	ring_move_announce(e, f, host);
	engine_fence_collect(e, f);
	if (old == host && f->pending == 0 && !f->ring) {
		/* already there and nowhere else: just refreshed */
		engine_move_drop(e, f);
		*status_r = "OK";
		return NULL;
	}
	log_info("user %u moving from %s to %s: %zu sessions kicked, "
		 "waiting for them to end and %llu ms",
	    user_hash, old != NULL ? old->ip_str : "(none)", host->ip_str,
	    f->pending, (unsigned long long)e->set.kick_delay_ms);
	return f;
}

bool
engine_sessions_elsewhere(
    const struct engine *e, uint32_t user_hash, const struct host *host)
{
	const struct engine_user *u = engine_user_find(e, user_hash);
	const struct engine_session *s;

	for (s = u != NULL ? u->sessions : NULL; s != NULL; s = s->next) {
		if (s->tag == host->tag &&
		    !ipaddr_equals(&s->backend, &host->ip))
			return true;
	}
	return false;
}

/* Points user_hash at host and sets up a move fence there (kicks). */
static struct engine_fence *
engine_fence_user(
    struct engine *e, uint32_t user_hash, struct host *host, bool ring)
{
	struct users *users = hosts_tag_users(host->tag);
	uint32_t now = engine_now_secs(e);
	struct engine_fence *f;
	struct user *u;

	u = users_lookup(users, user_hash, now);
	if (u != NULL) {
		users_set_host(users, u, host->id);
		users_refresh(users, u, now, now);
	} else if (users_add(users, user_hash, host->id, now, now) == NULL)
		return NULL;
	f = engine_fence_new(e, ENGINE_FENCE_MOVE, host->tag, &host->ip);
	f->user_hash = user_hash;
	if (ring) {
		f->ring = true;
		f->kill = ENGINE_KILL_KILLING;
		f->ring_deadline_ms = e->now_ms + e->ring->set.move_timeout_ms;
	}
	engine_user_mark(e, user_hash, host->tag, true);
	engine_fence_collect(e, f);
	return f;
}

struct engine_fence *
engine_move_fence(struct engine *e, uint32_t user_hash, struct host *host)
{
	return engine_fence_user(e, user_hash, host, true);
}

struct engine_fence *
engine_move_fence_unknown(
    struct engine *e, uint32_t user_hash, const struct ipaddr *ip)
{
	uint32_t now = engine_now_secs(e);
	struct host_tag *tag = NULL, *t;
	struct engine_fence *f;
	struct user *u;
	size_t i;

	/* the user's tag if it has a backend here (which is not its new
	 * one: every session of it is kicked), else the default */
	for (i = 0; i < hosts_tag_count(e->hosts) && tag == NULL; i++) {
		t = hosts_tag_get(e->hosts, i);
		u = users_lookup(hosts_tag_users(t), user_hash, now);
		if (u != NULL) {
			users_remove(hosts_tag_users(t), u);
			tag = t;
		}
	}
	if (tag == NULL)
		tag = hosts_tag_lookup(e->hosts, "");
	if (tag == NULL)
		return NULL;
	f = engine_fence_new(e, ENGINE_FENCE_MOVE, tag, ip);
	f->user_hash = user_hash;
	f->ring = true;
	f->kill = ENGINE_KILL_KILLING;
	f->ring_deadline_ms = e->now_ms + e->ring->set.move_timeout_ms;
	engine_fence_collect(e, f);
	return f;
}

void
engine_move_retarget(
    struct engine *e, struct engine_fence *f, struct host *host)
{
	struct users *users = hosts_tag_users(f->tag);
	uint32_t now = engine_now_secs(e);
	struct user *u = users_lookup(users, f->user_hash, now);

	f->backend = host->ip;
	if (u != NULL) {
		users_set_host(users, u, host->id);
		users_refresh(users, u, now, now);
	} else
		(void)users_add(users, f->user_hash, host->id, now, now);
	engine_user_mark(e, f->user_hash, f->tag, true);
	/* counted again: what it waits for depends on the target */
	f->pending = 0;
	engine_fence_collect(e, f);
}

struct engine_fence *
engine_move_local(struct engine *e, uint32_t user_hash, struct host *host)
{
	struct engine_fence *f = engine_fence_user(e, user_hash, host, false);

	if (f == NULL || f->pending > 0)
		return f;
	engine_move_drop(e, f);
	return NULL;
}

struct engine_fence *
engine_evict_user(struct engine *e, uint32_t user_hash, struct host_tag *tag)
{
	struct engine_fence *f;
	struct ipaddr none;

	/* a move to no backend: every session of the user counts */
	memset(&none, 0, sizeof(none));
	f = engine_fence_new(e, ENGINE_FENCE_MOVE, tag, &none);
	f->user_hash = user_hash;
	engine_fence_collect(e, f);
	log_info("user %u has no backend left: %zu sessions kicked, its "
		 "logins wait for them to end and %llu ms",
	    user_hash, f->pending, (unsigned long long)e->set.kick_delay_ms);
	return f;
}

int
engine_retire_host(struct engine *e, struct host **hostp, const char *new_tag,
    const struct engine_round *round, const char *why)
{
	struct host *host = *hostp;
	struct host_tag *tag = host->tag;
	char ip_str[IPADDR_STR_MAX];
	struct ipaddr ip = host->ip;
	struct engine_fence *f;
	size_t users;

	users = hosts_user_count(e->hosts, host);
	if (new_tag == NULL)
		hosts_remove(e->hosts, hostp);
	else if (hosts_set_tag(e->hosts, host, new_tag) == -1)
		return -1;
	f = engine_fence_new(e, ENGINE_FENCE_REMOVAL, tag, &ip);
	if (round != NULL && new_tag == NULL && ring_host_fences(e))
		ring_host_fence_start(e, f, round);
	engine_fence_collect(e, f);
	log_info("backend %s %s%s (%s): %zu users forgotten, %zu sessions "
		 "kicked%s",
	    ipaddr_format(&ip, ip_str),
	    new_tag == NULL ? "removed" : "moved to tag ",
	    new_tag == NULL ? "" : new_tag, why, users, f->pending,
	    f->ring ? "; new users of its old tag wait until no director "
		      "has a session there and the kick delay has passed"
		: users > 0 || f->pending > 0
		? "; new users of its old tag wait for its sessions to end "
		  "and the kick delay"
		: "");
	if (users == 0 && f->pending == 0 && !f->ring) {
		/* nobody was there: nothing to fence */
		TAILQ_REMOVE(&e->fences, f, link);
		e->nfences--;
		free(f);
	}
	return 0;
}

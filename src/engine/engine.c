/*
 * engine.c - the director's state machine (see engine.h): sessions by
 * user, routing, fences (moves and removals), the effect queue and the
 * tick.  Admin operations and the configured list are in engine_admin.c.
 *
 * Invariants: a session is in exactly one place: idle (nowhere), in the
 * waiter list of one fence, or in the session list of its user; a fence
 * never routes a waiter before its pending count is 0 and its deadline
 * has passed; fences are set up before the kicks they ask for are
 * queued, and effects are only executed by the caller after the engine
 * has returned, so no kick runs while the engine's state is half made.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"
#include "xmalloc.h"

#define ENGINE_BUCKETS_MIN 64
/* How often the tick runs when nothing else is due. */
#define ENGINE_TICK_MS 1000

static uint32_t
engine_secs(uint64_t now_ms)
{
	return (uint32_t)(now_ms / 1000);
}

void
engine_see_time(struct engine *e, uint64_t now_ms)
{
	uint64_t gap;

	/* the engine's clock never goes back */
	if (now_ms <= e->now_ms)
		return;
	gap = now_ms - e->now_ms;
	e->now_ms = now_ms;
	/* the tick comes at least every ENGINE_TICK_MS: a longer silence
	 * means the process was stopped, and the ring went on without us */
	if (engine_ring_enabled(e) && gap > e->ring->set.ping_idle_timeout_ms &&
	    !e->ring->frozen) {
		log_warn("ring: our clock jumped by %llu ms (the process was "
			 "stopped or the machine suspended): leaving the ring; "
			 "nothing is routed until we have rejoined it",
		    (unsigned long long)gap);
		ring_freeze(e);
	}
}

struct engine *
engine_new(const struct engine_settings *set, uint64_t now_ms)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->set = *set;
	if (e->set.user_expire_secs == 0)
		e->set.user_expire_secs = 1;
	if (e->set.max_parallel_moves == 0)
		e->set.max_parallel_moves = 1;
	e->hosts = hosts_new(set->method, e->set.user_expire_secs);
	e->nbuckets = ENGINE_BUCKETS_MIN;
	e->buckets = xcalloc(e->nbuckets, sizeof(*e->buckets));
	TAILQ_INIT(&e->fences);
	TAILQ_INIT(&e->flushes);
	e->now_ms = now_ms;
	e->last_refresh_ms = now_ms;
	return e;
}

void
engine_free(struct engine **ep)
{
	struct engine *e = *ep;
	struct engine_fence *f;
	struct engine_user *u, *next;
	size_t i;

	if (e == NULL)
		return;
	*ep = NULL;
	while ((f = TAILQ_FIRST(&e->fences)) != NULL) {
		TAILQ_REMOVE(&e->fences, f, link);
		free(f);
	}
	engine_flush_free_all(e);
	for (i = 0; i < e->nbuckets; i++) {
		for (u = e->buckets[i]; u != NULL; u = next) {
			next = u->bucket_next;
			free(u);
		}
	}
	free(e->buckets);
	free(e->effects);
	free(e->configured);
	engine_ring_free(e);
	hosts_free(&e->hosts);
	free(e);
}

struct hosts *
engine_hosts(const struct engine *e)
{
	return e->hosts;
}

size_t
engine_moves(const struct engine *e)
{
	return e->nmoves;
}

size_t
engine_fences(const struct engine *e)
{
	return e->nfences;
}

size_t
engine_session_count(const struct engine *e)
{
	return e->nsessions;
}

/* -- effects ----------------------------------------------------------- */

void
engine_effect_add(struct engine *e, enum engine_effect_type type,
    struct engine_session *s, void *requester, const char *text)
{
	struct engine_effect *eff;

	if (e->effects_head > 0 && e->effects_head == e->effects_count) {
		e->effects_head = 0;
		e->effects_count = 0;
	}
	if (e->effects_count == e->effects_cap) {
		e->effects_cap = e->effects_cap == 0 ? 16 : e->effects_cap * 2;
		e->effects = xreallocarray(
		    e->effects, e->effects_cap, sizeof(*e->effects));
	}
	eff = &e->effects[e->effects_count++];
	memset(eff, 0, sizeof(*eff));
	eff->type = type;
	eff->session = s;
	eff->requester = requester;
	if (text != NULL)
		strlcpy(eff->text, text, sizeof(eff->text));
}

void
engine_reply(struct engine *e, void *requester, const char *text)
{
	if (requester != NULL)
		engine_effect_add(
		    e, ENGINE_EFFECT_ADMIN_REPLY, NULL, requester, text);
}

void
engine_save_hosts(struct engine *e)
{
	size_t i;

	for (i = e->effects_head; i < e->effects_count; i++) {
		if (e->effects[i].type == ENGINE_EFFECT_SAVE_HOSTS)
			return;
	}
	engine_effect_add(e, ENGINE_EFFECT_SAVE_HOSTS, NULL, NULL, NULL);
}

/* Drops the queued effects for which drop() says so. */
static void
engine_effects_filter(struct engine *e,
    bool (*drop)(const struct engine_effect *, const void *), const void *what)
{
	size_t i, j = e->effects_head;

	for (i = e->effects_head; i < e->effects_count; i++) {
		if (drop(&e->effects[i], what))
			continue;
		if (i != j)
			e->effects[j] = e->effects[i];
		j++;
	}
	e->effects_count = j;
}

static bool
engine_effect_names_session(const struct engine_effect *eff, const void *s)
{
	return eff->session == s;
}

static bool
engine_effect_names_link(const struct engine_effect *eff, const void *l)
{
	return eff->link == l;
}

void
engine_effects_drop_link(struct engine *e, const struct ring_link *l)
{
	engine_effects_filter(e, engine_effect_names_link, l);
}

static bool
engine_effect_names_requester(const struct engine_effect *eff, const void *r)
{
	return eff->type == ENGINE_EFFECT_ADMIN_REPLY && eff->requester == r;
}

bool
engine_next_effect(struct engine *e, struct engine_effect *eff_r)
{
	if (e->effects_head == e->effects_count)
		return false;
	*eff_r = e->effects[e->effects_head++];
	return true;
}

/* -- sessions by user -------------------------------------------------- */

static size_t
engine_bucket(const struct engine *e, uint32_t hash)
{
	/* user hashes are MD5 bits already; mix anyway for test inputs */
	return (size_t)((hash * 2654435761u) >> 7) & (e->nbuckets - 1);
}

struct engine_user *
engine_user_find(const struct engine *e, uint32_t hash)
{
	struct engine_user *u;

	for (u = e->buckets[engine_bucket(e, hash)]; u != NULL;
	     u = u->bucket_next) {
		if (u->hash == hash)
			return u;
	}
	return NULL;
}

static void
engine_grow(struct engine *e)
{
	struct engine_user **old = e->buckets, *u, *next;
	size_t i, oldn = e->nbuckets, b;

	e->nbuckets *= 2;
	e->buckets = xcalloc(e->nbuckets, sizeof(*e->buckets));
	for (i = 0; i < oldn; i++) {
		for (u = old[i]; u != NULL; u = next) {
			next = u->bucket_next;
			b = engine_bucket(e, u->hash);
			u->bucket_next = e->buckets[b];
			e->buckets[b] = u;
		}
	}
	free(old);
}

size_t
engine_user_sessions(const struct engine *e, uint32_t user_hash)
{
	const struct engine_user *u = engine_user_find(e, user_hash);

	return u != NULL ? u->count : 0;
}

/* Links s (routed to backend) into its user's list. */
static void
engine_register(
    struct engine *e, struct engine_session *s, const struct ipaddr *backend)
{
	struct engine_user *u = engine_user_find(e, s->user_hash);
	size_t b;

	if (u == NULL) {
		if (e->nusers >= e->nbuckets)
			engine_grow(e);
		u = xcalloc(1, sizeof(*u));
		u->hash = s->user_hash;
		b = engine_bucket(e, u->hash);
		u->bucket_next = e->buckets[b];
		e->buckets[b] = u;
		e->nusers++;
	}
	s->backend = *backend;
	s->state = ENGINE_SESSION_ROUTED;
	s->seq = ++e->seq;
	s->kicked = false;
	s->user = u;
	s->prev = NULL;
	s->next = u->sessions;
	if (u->sessions != NULL)
		u->sessions->prev = s;
	u->sessions = s;
	u->count++;
	e->nsessions++;
}

static void
engine_unregister(struct engine *e, struct engine_session *s)
{
	struct engine_user *u = s->user;
	struct engine_user **pp;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		u->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->user = NULL;
	u->count--;
	e->nsessions--;
	if (u->count > 0)
		return;
	pp = &e->buckets[engine_bucket(e, u->hash)];
	while (*pp != u)
		pp = &(*pp)->bucket_next;
	*pp = u->bucket_next;
	e->nusers--;
	free(u);
}

void
engine_kick(struct engine *e, struct engine_session *s)
{
	if (s->kicked)
		return;
	s->kicked = true;
	engine_effect_add(e, ENGINE_EFFECT_KICK, s, NULL, NULL);
}

size_t
engine_kick_user(
    struct engine *e, uint32_t user_hash, const struct ipaddr *except)
{
	struct engine_user *u = engine_user_find(e, user_hash);
	struct engine_session *s;
	size_t n = 0;

	if (u == NULL)
		return 0;
	for (s = u->sessions; s != NULL; s = s->next) {
		if (except != NULL && ipaddr_equals(&s->backend, except))
			continue;
		engine_kick(e, s);
		n++;
	}
	return n;
}

/*
 * Keeps the assignment of a user whose session s (routed or alive) is on
 * its backend: refreshed if it still points there; re-made there if it
 * was lost while connected (an unsafe flush) and the user is not being
 * moved (an eviction leaves it with none); left alone if the user has
 * been moved elsewhere.
 */
static void
engine_refresh(struct engine *e, const struct engine_session *s)
{
	struct users *users = hosts_tag_users(s->tag);
	uint32_t now = engine_secs(e->now_ms);
	struct host *host;
	struct user *u;

	u = users_lookup(users, s->user_hash, now);
	if (u != NULL) {
		host = hosts_lookup_id(e->hosts, u->host);
		if (host != NULL && ipaddr_equals(&host->ip, &s->backend) &&
		    u->timestamp < now) {
			/* a logged-in session makes it lasting, whatever
			 * age a peer's copy came with */
			if (s->state == ENGINE_SESSION_ALIVE)
				u->flags &= ~(uint32_t)USER_FLAG_PROVISIONAL;
			users_refresh(users, u, now, now);
			ring_user_announce(e, host, u);
		}
		return;
	}
	if (engine_find_move(e, s->user_hash, s->tag) != NULL)
		return;
	host = hosts_lookup(e->hosts, &s->backend);
	if (host != NULL && host->tag == s->tag) {
		u = users_add(users, s->user_hash, host->id, now, now);
		if (u != NULL)
			ring_user_announce(e, host, u);
	}
}

/* Sets or clears flag on the assignment of s's user in s's tag. */
static void
engine_user_flag(
    struct engine *e, const struct engine_session *s, uint32_t flag, bool on)
{
	struct users *users = hosts_tag_users(s->tag);
	struct user *u =
	    users_lookup(users, s->user_hash, engine_secs(e->now_ms));

	if (u == NULL)
		return;
	if (on)
		u->flags |= flag;
	else
		u->flags &= ~flag;
}

/* -- routing ----------------------------------------------------------- */

/* Routes s (its user_hash and tag set) or queues it on a fence. */
static enum engine_route_result
engine_route_now(struct engine *e, struct engine_session *s)
{
	uint32_t now = engine_secs(e->now_ms);
	struct engine_fence *f;
	struct host *host;
	bool created;

	struct user *u;

	if (e->shutting_down)
		return ENGINE_ROUTE_FAIL;
	u = users_lookup(hosts_tag_users(s->tag), s->user_hash, now);
	f = engine_find_move(e, s->user_hash, s->tag);
	if (f == NULL && u == NULL)
		f = engine_find_removal(e, s->tag);
	if (f == NULL && !ring_route_allowed(e, s, u)) {
		ring_waiter_add(e, s);
		return ENGINE_ROUTE_WAIT;
	}
	/* a dead backend's user moves (safely) on its next login */
	if (f == NULL && u != NULL)
		f = engine_health_move(e, s, u);
	if (f != NULL) {
		s->state = ENGINE_SESSION_WAITING;
		s->fence = f;
		s->prev = NULL;
		s->next = f->waiters;
		if (f->waiters != NULL)
			f->waiters->prev = s;
		f->waiters = s;
		return ENGINE_ROUTE_WAIT;
	}
	host = hosts_route_user(
	    e->hosts, hosts_tag_name(s->tag), s->user_hash, now, &created);
	if (host == NULL)
		return ENGINE_ROUTE_FAIL;
	if (created) {
		engine_user_flag(e, s, USER_FLAG_PROVISIONAL, true);
		/* a ring hears of it at once (as Dovecot's USER before the
		 * login), with a short life that only a login extends */
		u = users_lookup(hosts_tag_users(s->tag), s->user_hash, now);
		if (u != NULL)
			ring_user_announce_provisional(e, host, u);
	}
	engine_register(e, s, &host->ip);
	return ENGINE_ROUTE_OK;
}

void
engine_route_again(struct engine *e, struct engine_session *s)
{
	switch (engine_route_now(e, s)) {
	case ENGINE_ROUTE_OK:
		engine_effect_add(e, ENGINE_EFFECT_ROUTED, s, NULL, NULL);
		break;
	case ENGINE_ROUTE_FAIL:
		engine_effect_add(
		    e, ENGINE_EFFECT_FAILED, s, NULL, "no usable backend");
		break;
	case ENGINE_ROUTE_WAIT:
		break;
	}
}

enum engine_route_result
engine_route(struct engine *e, uint64_t now_ms, struct engine_session *s,
    uint32_t user_hash, const char *tag)
{
	struct host_tag *t;

	engine_see_time(e, now_ms);
	if (s->state != ENGINE_SESSION_IDLE)
		engine_session_end(e, now_ms, s);
	t = hosts_tag_lookup(e->hosts, tag != NULL ? tag : "");
	if (t == NULL)
		return ENGINE_ROUTE_FAIL;
	s->user_hash = user_hash;
	s->tag = t;
	return engine_route_now(e, s);
}

void
engine_session_alive(
    struct engine *e, uint64_t now_ms, struct engine_session *s)
{
	struct user *u;
	struct host *host;

	engine_see_time(e, now_ms);
	if (s->state != ENGINE_SESSION_ROUTED)
		return;
	s->state = ENGINE_SESSION_ALIVE;
	engine_user_flag(e, s, USER_FLAG_PROVISIONAL, false);
	/* lasting now: the ring hears of it (every login, as 2.3 does) */
	u = users_lookup(
	    hosts_tag_users(s->tag), s->user_hash, engine_secs(e->now_ms));
	host = u != NULL ? hosts_lookup_id(e->hosts, u->host) : NULL;
	if (host != NULL && ipaddr_equals(&host->ip, &s->backend))
		ring_user_announce(e, host, u);
}

/*
 * The last session of a provisional user ended without a login: cut the
 * assignment to expire after the kick delay (rounded up to whole seconds
 * plus one, as timestamps are seconds).
 */
static void
engine_unprovision(struct engine *e, const struct engine_session *s)
{
	struct users *users = hosts_tag_users(s->tag);
	uint32_t now = engine_secs(e->now_ms), keep, host;
	const struct engine_session *o;
	struct user *u;

	u = users_lookup(users, s->user_hash, now);
	if (u == NULL || (u->flags & USER_FLAG_PROVISIONAL) == 0)
		return;
	for (o = s->user != NULL ? s->user->sessions : NULL; o != NULL;
	     o = o->next) {
		if (o != s && o->tag == s->tag)
			return; /* another login of it is under way */
	}
	/* in a ring, as long as the peers were told (ring_user.c) */
	keep = e->ring != NULL && engine_ring_enabled(e)
	    ? ring_provisional_keep_secs(e)
	    : (uint32_t)((e->set.kick_delay_ms + 999) / 1000) + 1;
	if (keep >= users_expire_secs(users))
		return;
	host = u->host;
	users_remove(users, u);
	u = users_add(users, s->user_hash, host,
	    now - users_expire_secs(users) + keep, now);
	if (u == NULL)
		return;
	u->flags |= USER_FLAG_PROVISIONAL;
	ring_user_announce_provisional(e, hosts_lookup_id(e->hosts, host), u);
}

void
engine_session_end(struct engine *e, uint64_t now_ms, struct engine_session *s)
{
	struct engine_fence *f;

	engine_see_time(e, now_ms);
	switch (s->state) {
	case ENGINE_SESSION_IDLE:
		return;
	case ENGINE_SESSION_WAITING:
		f = s->fence;
		if (f == NULL) {
			ring_waiter_remove(e, s);
			break;
		}
		if (s->prev != NULL)
			s->prev->next = s->next;
		else
			f->waiters = s->next;
		if (s->next != NULL)
			s->next->prev = s->prev;
		s->prev = s->next = NULL;
		s->fence = NULL;
		break;
	case ENGINE_SESSION_ALIVE:
	case ENGINE_SESSION_ROUTED:
		if (s->state == ENGINE_SESSION_ALIVE)
			engine_refresh(e, s);
		else
			engine_unprovision(e, s);
		engine_unregister(e, s);
		TAILQ_FOREACH (f, &e->fences, link) {
			if (f->pending > 0 && engine_fence_matches(f, s) &&
			    --f->pending == 0)
				engine_fence_pending_done(e, f);
		}
		break;
	}
	engine_effects_filter(e, engine_effect_names_session, s);
	s->state = ENGINE_SESSION_IDLE;
	s->kicked = false;
}

/* -- time -------------------------------------------------------------- */

/* Keeps the assignments of users with open sessions fresh. */
static void
engine_refresh_all(struct engine *e)
{
	struct engine_session *s;
	struct engine_user *u;
	size_t i;

	for (i = 0; i < e->nbuckets; i++) {
		for (u = e->buckets[i]; u != NULL; u = u->bucket_next) {
			for (s = u->sessions; s != NULL; s = s->next)
				engine_refresh(e, s);
		}
	}
}

void
engine_tick(struct engine *e, uint64_t now_ms)
{
	uint64_t every = (uint64_t)e->set.user_expire_secs * 1000 / 4;
	size_t n;

	engine_see_time(e, now_ms);
	if (every < ENGINE_TICK_MS)
		every = ENGINE_TICK_MS;
	/* refresh before expiring, so live users are never dropped */
	if (e->now_ms - e->last_refresh_ms >= every) {
		engine_refresh_all(e);
		e->last_refresh_ms = e->now_ms;
	}
	n = hosts_expire_users(e->hosts, engine_secs(e->now_ms));
	if (n > 0)
		log_debug("%zu idle users expired", n);
	engine_fences_run(e);
	engine_flush_step_all(e);
	if (e->ring != NULL)
		ring_tick(e);
}

uint64_t
engine_next_deadline(const struct engine *e)
{
	uint64_t next = e->now_ms + ENGINE_TICK_MS;
	const struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->pending == 0 && f->deadline_ms < next)
			next = f->deadline_ms;
	}
	if (e->ring != NULL)
		next = ring_next_deadline(e, next);
	return next;
}

void
engine_admin_forget(struct engine *e, void *requester)
{
	struct engine_fence *f;
	struct engine_flush *fl;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->requester == requester)
			f->requester = NULL;
	}
	TAILQ_FOREACH (fl, &e->flushes, link) {
		if (fl->requester == requester)
			fl->requester = NULL;
	}
	ring_admin_forget(e, requester);
	engine_effects_filter(e, engine_effect_names_requester, requester);
}

void
engine_shutdown(struct engine *e, uint64_t now_ms)
{
	struct engine_session *s;
	struct engine_user *u;
	struct engine_fence *f;
	size_t i;

	engine_see_time(e, now_ms);
	e->shutting_down = true;
	for (i = 0; i < e->nbuckets; i++) {
		for (u = e->buckets[i]; u != NULL; u = u->bucket_next) {
			for (s = u->sessions; s != NULL; s = s->next)
				engine_kick(e, s);
		}
	}
	/* waiters are told to fail; nothing is routed any more */
	TAILQ_FOREACH (f, &e->fences, link) {
		f->pending = 0;
		f->deadline_ms = 0;
	}
	engine_fences_run(e);
	engine_flush_free_all(e);
	if (e->ring != NULL)
		ring_shutdown(e);
}

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

#include "engine_int.h"
#include "log.h"
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

static void
engine_see_time(struct engine *e, uint64_t now_ms)
{
	/* the engine's clock never goes back */
	if (now_ms > e->now_ms)
		e->now_ms = now_ms;
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

static struct engine_user *
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

static void
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

static struct engine_fence *engine_find_move(
    const struct engine *e, uint32_t user_hash, const struct host_tag *tag);

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
		if (host != NULL && ipaddr_equals(&host->ip, &s->backend))
			users_refresh(users, u, now, now);
		return;
	}
	if (engine_find_move(e, s->user_hash, s->tag) != NULL)
		return;
	host = hosts_lookup(e->hosts, &s->backend);
	if (host != NULL && host->tag == s->tag)
		(void)users_add(users, s->user_hash, host->id, now, now);
}

/* -- fences ------------------------------------------------------------ */

static bool
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

static void
engine_fence_pending_done(struct engine *e, struct engine_fence *f)
{
	f->deadline_ms = e->now_ms + e->set.kick_delay_ms;
}

/* Counts (and kicks) the open sessions f waits for. */
static void
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

static struct engine_fence *
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

static struct engine_fence *
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

static struct engine_fence *
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

static void
engine_user_mark(
    struct engine *e, uint32_t user_hash, struct host_tag *tag, bool on)
{
	struct users *users = hosts_tag_users(tag);
	struct user *u = users_lookup(users, user_hash, engine_secs(e->now_ms));
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

static enum engine_route_result engine_route_now(
    struct engine *e, struct engine_session *s);

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
		engine_move_settle(e, f);
		engine_user_mark(e, f->user_hash, f->tag, false);
		log_info("user %u move to %s finished", f->user_hash, ip);
	} else
		log_info("sessions of retired backend %s have wound down", ip);
	while ((s = f->waiters) != NULL) {
		f->waiters = s->next;
		s->next = s->prev = NULL;
		s->fence = NULL;
		s->state = ENGINE_SESSION_IDLE;
		switch (engine_route_now(e, s)) {
		case ENGINE_ROUTE_OK:
			engine_effect_add(
			    e, ENGINE_EFFECT_ROUTED, s, NULL, NULL);
			break;
		case ENGINE_ROUTE_FAIL:
			engine_effect_add(e, ENGINE_EFFECT_FAILED, s, NULL,
			    "no usable backend");
			break;
		case ENGINE_ROUTE_WAIT:
			break;
		}
	}
	engine_reply(e, f->requester, "OK");
	if (f->flush != NULL)
		engine_flush_moved(e, f->flush);
	free(f);
}

/* Ends the fences whose time has come. */
static void
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

struct engine_fence *
engine_move_start(struct engine *e, uint32_t user_hash, struct host *host,
    const char **status_r)
{
	struct users *users = hosts_tag_users(host->tag);
	uint32_t now = engine_secs(e->now_ms);
	struct host *old = NULL;
	struct engine_fence *f;
	struct user *u;

	if (engine_find_move(e, user_hash, host->tag) != NULL) {
		*status_r = "TRYAGAIN";
		return NULL;
	}
	u = users_lookup(users, user_hash, now);
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
	/* the fence stands before any kick is asked for */
	f = engine_fence_new(e, ENGINE_FENCE_MOVE, host->tag, &host->ip);
	f->user_hash = user_hash;
	engine_user_mark(e, user_hash, host->tag, true);
	engine_fence_collect(e, f);
	if (old == host && f->pending == 0) {
		/* already there and nowhere else: just refreshed */
		TAILQ_REMOVE(&e->fences, f, link);
		e->nfences--;
		e->nmoves--;
		engine_user_mark(e, user_hash, host->tag, false);
		free(f);
		*status_r = "OK";
		return NULL;
	}
	log_info("user %u moving from %s to %s: %zu sessions kicked, "
		 "waiting for them to end and %llu ms",
	    user_hash, old != NULL ? old->ip_str : "(none)", host->ip_str,
	    f->pending, (unsigned long long)e->set.kick_delay_ms);
	return f;
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
engine_retire_host(
    struct engine *e, struct host **hostp, const char *new_tag, const char *why)
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
	engine_fence_collect(e, f);
	log_info("backend %s %s%s (%s): %zu users forgotten, %zu sessions "
		 "kicked%s",
	    ipaddr_format(&ip, ip_str),
	    new_tag == NULL ? "removed" : "moved to tag ",
	    new_tag == NULL ? "" : new_tag, why, users, f->pending,
	    users > 0 || f->pending > 0
		? "; new users of its old tag wait for its sessions to end "
		  "and the kick delay"
		: "");
	if (users == 0 && f->pending == 0) {
		/* nobody was there: nothing to fence */
		TAILQ_REMOVE(&e->fences, f, link);
		e->nfences--;
		free(f);
	}
	return 0;
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

	if (e->shutting_down)
		return ENGINE_ROUTE_FAIL;
	f = engine_find_move(e, s->user_hash, s->tag);
	if (f == NULL &&
	    users_lookup(hosts_tag_users(s->tag), s->user_hash, now) == NULL)
		f = engine_find_removal(e, s->tag);
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
	if (created)
		engine_user_flag(e, s, USER_FLAG_PROVISIONAL, true);
	engine_register(e, s, &host->ip);
	return ENGINE_ROUTE_OK;
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
	engine_see_time(e, now_ms);
	if (s->state != ENGINE_SESSION_ROUTED)
		return;
	s->state = ENGINE_SESSION_ALIVE;
	engine_user_flag(e, s, USER_FLAG_PROVISIONAL, false);
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
	keep = (uint32_t)((e->set.kick_delay_ms + 999) / 1000) + 1;
	if (keep >= users_expire_secs(users))
		return;
	host = u->host;
	users_remove(users, u);
	u = users_add(users, s->user_hash, host,
	    now - users_expire_secs(users) + keep, now);
	if (u != NULL)
		u->flags |= USER_FLAG_PROVISIONAL;
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
}

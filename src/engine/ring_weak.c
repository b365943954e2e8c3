/*
 * ring_weak.c - weak users: a near-expiry user taken over by its new
 * backend (USER-WEAK, 2.3's rule), and the weak rounds of Dovecot
 * peers.
 *
 * Our takeover: the user goes weak on its new backend here and nothing
 * is routed to it until (1) our USER-WEAK has come back and (2) a SYNC
 * round started after that has passed.  The SYNC goes through every
 * director of the ring, each passing on what it flooded before it, so
 * when it is back every director has seen the USER-WEAK and any
 * objection has reached us; our USER-WEAK alone may come back over a
 * short cycle (a director hung, a link about to be replaced) that left
 * some director out.  A director whose sessions of the user are open on
 * the old backend objects: it sends USER for the old backend, and a weak
 * user gives way to any non-weak USER (ring_user_apply()), so the user
 * stays where its sessions are.  A takeover that does not finish within
 * the request timeout goes back to the old backend.
 */
#include "compat.h"

#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"
#include "xmalloc.h"

static uint32_t
ring_weak_now(const struct engine *e)
{
	return (uint32_t)(e->now_ms / 1000);
}

static struct ring_takeover *
ring_takeover_find(struct ring *r, uint32_t hash)
{
	size_t i;

	for (i = 0; i < r->ntakeovers; i++) {
		if (r->takeovers[i].hash == hash)
			return &r->takeovers[i];
	}
	return NULL;
}

static void
ring_takeover_drop(struct ring *r, struct ring_takeover *t)
{
	*t = r->takeovers[--r->ntakeovers];
}

/* The user of t, if it is still weak on t's new backend here. */
static struct user *
ring_takeover_user(struct engine *e, const struct ring_takeover *t)
{
	struct host *to = hosts_lookup_id(e->hosts, t->to);
	struct user *u;

	if (to == NULL)
		return NULL;
	u = users_lookup(hosts_tag_users(to->tag), t->hash, ring_weak_now(e));
	if (u == NULL || u->host != t->to || (u->flags & USER_FLAG_WEAK) == 0)
		return NULL;
	return u;
}

bool
ring_weak_takeover(
    struct engine *e, const struct engine_session *s, struct user *u)
{
	struct users *users = hosts_tag_users(s->tag);
	uint32_t now = ring_weak_now(e);
	struct ring *r = e->ring;
	struct ring_takeover *t;
	struct host *sel, *old;

	sel = hosts_select(e->hosts, hosts_tag_name(s->tag), u->hash);
	old = hosts_lookup_id(e->hosts, u->host);
	if (sel == NULL || old == NULL || sel->id == u->host ||
	    engine_sessions_elsewhere(e, u->hash, sel))
		return true;
	log_info("ring: user %u is near expiry on %s and hashes to %s now: "
		 "taking it over through a weak round",
	    u->hash, old->ip_str, sel->ip_str);
	t = ring_takeover_find(r, u->hash);
	if (t == NULL) {
		if (r->ntakeovers == r->takeovers_cap) {
			r->takeovers_cap = r->takeovers_cap * 2 + 8;
			r->takeovers = xreallocarray(r->takeovers,
			    r->takeovers_cap, sizeof(*r->takeovers));
		}
		t = &r->takeovers[r->ntakeovers++];
	}
	t->hash = u->hash;
	t->from = old->id;
	t->to = sel->id;
	t->barrier = 0;
	t->deadline_ms = e->now_ms + r->set.request_timeout_ms;
	users_set_host(users, u, sel->id);
	users_refresh(users, u, now, now);
	u->flags |= USER_FLAG_WEAK;
	ring_originate_user(e, RINGWIRE_USER_WEAK, u->hash, &sel->ip);
	return false;
}

/* t failed: the user goes back to its old backend, ring-wide (a weak
 * copy elsewhere gives way to the USER). */
static void
ring_takeover_revert(struct engine *e, struct ring_takeover *t, const char *why)
{
	struct host *from = hosts_lookup_id(e->hosts, t->from);
	struct host *to = hosts_lookup_id(e->hosts, t->to);
	struct user *u = ring_takeover_user(e, t);

	if (u != NULL) {
		u->flags &= ~(uint32_t)USER_FLAG_WEAK;
		if (from != NULL && from->tag == to->tag) {
			log_warn("ring: taking user %u over to %s %s: it stays "
				 "on %s",
			    t->hash, to->ip_str, why, from->ip_str);
			users_set_host(hosts_tag_users(to->tag), u, from->id);
			ring_user_send(e, NULL, from, u);
		} else {
			log_warn("ring: taking user %u over to %s %s: "
				 "forgotten",
			    t->hash, to->ip_str, why);
			users_remove(hosts_tag_users(to->tag), u);
		}
	}
	ring_takeover_drop(e->ring, t);
}

void
ring_weak_run(struct engine *e)
{
	struct ring *r = e->ring;
	struct ring_takeover *t;
	struct host *to;
	struct user *u;
	size_t i = 0;

	while (i < r->ntakeovers) {
		t = &r->takeovers[i];
		u = ring_takeover_user(e, t);
		if (u == NULL) { /* it gave way, moved or expired */
			ring_takeover_drop(r, t);
			continue;
		}
		if (t->barrier == 0 || !ring_sync_passed(e, t->barrier)) {
			i++;
			continue;
		}
		to = hosts_lookup_id(e->hosts, t->to);
		u->flags &= ~(uint32_t)USER_FLAG_WEAK;
		log_debug(
		    "ring: user %u taken over by %s", t->hash, to->ip_str);
		ring_user_send(e, NULL, to, u);
		ring_takeover_drop(r, t);
	}
}

void
ring_weak_tick(struct engine *e)
{
	struct ring *r = e->ring;
	size_t i = 0;

	if (r->weak_sync_wanted) {
		r->weak_sync_wanted = false;
		ring_sync_start(e);
	}
	while (i < r->ntakeovers) {
		if (r->takeovers[i].deadline_ms <= e->now_ms)
			ring_takeover_revert(
			    e, &r->takeovers[i], "did not finish in time");
		else
			i++;
	}
}

uint64_t
ring_weak_deadline(const struct engine *e, uint64_t next)
{
	const struct ring *r = e->ring;
	size_t i;

	if (r->weak_sync_wanted)
		return e->now_ms;
	for (i = 0; i < r->ntakeovers; i++) {
		if (r->takeovers[i].deadline_ms < next)
			next = r->takeovers[i].deadline_ms;
	}
	return next;
}

void
ring_weak_unstick(struct engine *e, const struct engine_session *s)
{
	struct ring_takeover *t = ring_takeover_find(e->ring, s->user_hash);
	struct user *u;

	if (t != NULL) {
		ring_takeover_revert(e, t, "timed out");
		return;
	}
	/* a weak round of a Dovecot peer: 2.3 assumes a bug and clears the
	 * weakness, so the user is not locked out for good */
	u = users_lookup(
	    hosts_tag_users(s->tag), s->user_hash, ring_weak_now(e));
	if (u != NULL && (u->flags & USER_FLAG_WEAK) != 0) {
		log_warn("ring: user %u weakness appears to be stuck, "
			 "clearing it",
		    u->hash);
		u->flags &= ~(uint32_t)USER_FLAG_WEAK;
	}
}

/* The backend other than host (in its tag) where sessions of hash are
 * routed or open here; NULL: none. */
static struct host *
ring_weak_busy_host(struct engine *e, uint32_t hash, const struct host *host)
{
	const struct engine_user *eu = engine_user_find(e, hash);
	const struct engine_session *s;

	for (s = eu != NULL ? eu->sessions : NULL; s != NULL; s = s->next) {
		if (s->tag == host->tag &&
		    (s->state == ENGINE_SESSION_ROUTED ||
			s->state == ENGINE_SESSION_ALIVE) &&
		    !ipaddr_equals(&s->backend, &host->ip))
			return hosts_lookup(e->hosts, &s->backend);
	}
	return NULL;
}

void
ring_weak_handle(struct engine *e, struct ring_link *l,
    const struct ringwire_msg *msg, bool ours_back)
{
	struct host *host = hosts_lookup(e->hosts, &msg->user.ip), *busy;
	uint32_t now = ring_weak_now(e);
	struct ring *r = e->ring;
	struct ring_takeover *t;
	struct users *users;
	struct user *u;

	if (host == NULL)
		return;
	users = hosts_tag_users(host->tag);
	u = users_lookup(users, msg->user.hash, now);
	if (ours_back) {
		t = ring_takeover_find(r, msg->user.hash);
		if (t != NULL && t->barrier == 0 && t->to == host->id &&
		    ring_takeover_user(e, t) != NULL) {
			/* every director but one left out by a short cycle
			 * has seen it: a SYNC round makes sure of that */
			t->barrier = r->sync_seq + 1;
			r->weak_sync_wanted = true;
		}
		return;
	}
	busy = ring_weak_busy_host(e, msg->user.hash, host);
	if (u == NULL && busy != NULL)
		u = users_add(users, msg->user.hash, busy->id, now, now);
	if (u != NULL && u->host != host->id &&
	    (u->flags & USER_FLAG_WEAK) == 0 &&
	    (busy != NULL ||
		u->timestamp + e->set.user_expire_secs / 2 >= now)) {
		/* in use here, or recently: keep ours, tell everyone */
		if (busy != NULL)
			users_refresh(users, u, now, now);
		ring_user_send(e, NULL, hosts_lookup_id(e->hosts, u->host), u);
		return;
	}
	u = ring_user_take(e, u, msg->user.hash, host, now);
	if (u != NULL)
		u->flags |= USER_FLAG_WEAK;
	ring_flood(e, l, msg);
}

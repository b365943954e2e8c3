/*
 * ring_user.c - user assignments across the ring: USER and handshake U
 * lines with their conflict rules, moves with the kill token
 * (USER-MOVE, USER-KILLED hop by hop, USER-KILLED-EVERYWHERE), kicks,
 * weak users from Dovecot peers, logins waiting for the ring and admin
 * replies waiting for a SYNC round (see ring.h, ring_int.h).
 *
 * Invariants: a provisional assignment is never sent; a timestamp taken
 * from a peer is clamped to our now and never lowers ours; a peer's
 * assignment that replaces ours with live sessions elsewhere goes
 * through a local fence (kick, wait, kick delay) like a move.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"
#include "xmalloc.h"

static uint32_t
ring_now_secs(const struct engine *e)
{
	return (uint32_t)(e->now_ms / 1000);
}

/* Dovecot's near-expiry window: 10 % of the expiry, 3 to 30 s. */
static uint32_t
ring_near_expiry_secs(uint32_t expire)
{
	uint32_t near = expire / 10;

	return near < 3 ? 3 : near > 30 ? 30 : near;
}

static bool
ring_user_near_expiry(const struct engine *e, const struct user *u)
{
	uint32_t expire = e->set.user_expire_secs;
	uint32_t near = ring_near_expiry_secs(expire);

	if (near >= expire)
		return true;
	return u->timestamp + (expire - near) <= ring_now_secs(e);
}

/* -- announcing ------------------------------------------------------------ */

/* USER hash ip ts to every link but except. */
static void
ring_user_flood(struct engine *e, struct ring_link *except, uint32_t hash,
    const struct host *host, uint32_t ts)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_USER;
	m->user.hash = hash;
	m->user.ip = host->ip;
	m->user.has_ts = true;
	m->user.ts = ts;
	ring_flood(e, except, m);
}

void
ring_user_announce(
    struct engine *e, const struct host *host, const struct user *u)
{
	if (engine_ring_enabled(e) && (u->flags & USER_FLAG_PROVISIONAL) == 0)
		ring_user_flood(e, NULL, u->hash, host, u->timestamp);
}

uint32_t
ring_provisional_keep_secs(const struct engine *e)
{
	uint32_t expire = e->set.user_expire_secs;
	uint32_t keep = 3 * ring_near_expiry_secs(expire) +
	    (uint32_t)((e->set.kick_delay_ms + 999) / 1000) + 1;

	return keep < expire ? keep : expire;
}

/* Whether an assignment refreshed at ts has no more than the life of a
 * provisional one left. */
static bool
ring_ts_aged(const struct engine *e, uint32_t ts)
{
	uint32_t keep = ring_provisional_keep_secs(e);

	/* a user_expire this short leaves no age to tell them apart */
	if (keep >= e->set.user_expire_secs)
		return false;
	return (uint64_t)ts + e->set.user_expire_secs <=
	    (uint64_t)ring_now_secs(e) + keep;
}

/* When an assignment announced with ts was made: an aged timestamp is a
 * provisional one, announced ring_provisional_keep_secs() before its
 * expiry. */
static uint32_t
ring_user_made_at(const struct engine *e, uint32_t ts)
{
	if (!ring_ts_aged(e, ts))
		return ts;
	return ts + e->set.user_expire_secs - ring_provisional_keep_secs(e);
}

/* The timestamp a provisional assignment is announced with: its life
 * left is ring_provisional_keep_secs(). */
static uint32_t
ring_provisional_ts(const struct engine *e)
{
	uint32_t now = ring_now_secs(e), keep = ring_provisional_keep_secs(e);
	uint32_t expire = e->set.user_expire_secs;

	return now + keep > expire ? now + keep - expire : 0;
}

void
ring_user_announce_provisional(
    struct engine *e, const struct host *host, const struct user *u)
{
	if (engine_ring_enabled(e) && host != NULL)
		ring_user_flood(e, NULL, u->hash, host, ring_provisional_ts(e));
}

void
ring_provisional_tick(struct engine *e)
{
	struct ring *r = e->ring;
	uint64_t every =
	    (uint64_t)ring_near_expiry_secs(e->set.user_expire_secs) * 1000 / 2;
	struct engine_user *eu;
	struct engine_session *s;
	struct user *u;
	size_t i;

	if (!engine_ring_enabled(e) || e->now_ms - r->provisional_ms < every)
		return;
	r->provisional_ms = e->now_ms;
	for (i = 0; i < e->nbuckets; i++) {
		for (eu = e->buckets[i]; eu != NULL; eu = eu->bucket_next) {
			for (s = eu->sessions; s != NULL; s = s->next) {
				if (s->state != ENGINE_SESSION_ROUTED)
					continue;
				u = users_lookup(hosts_tag_users(s->tag),
				    s->user_hash, ring_now_secs(e));
				if (u != NULL &&
				    (u->flags & USER_FLAG_PROVISIONAL) != 0)
					ring_user_announce_provisional(e,
					    hosts_lookup_id(e->hosts, u->host),
					    u);
			}
		}
	}
}

void
ring_user_send(struct engine *e, struct ring_link *except,
    const struct host *host, const struct user *u)
{
	ring_user_flood(e, except, u->hash, host, u->timestamp);
}

/* -- logins waiting for the ring --------------------------------------------- */

static const char *
ring_wait_reason(const struct engine *e)
{
	const struct ring *r = e->ring;

	if (r->frozen)
		return "ring not rejoined after a freeze";
	if (!r->handshaked)
		return "ring not handshaked";
	return "ring not synced";
}

bool
ring_route_allowed(
    struct engine *e, const struct engine_session *s, struct user *u)
{
	const struct ring *r = e->ring;

	if (r == NULL || r->ndirs < 2)
		return true;
	if (r->frozen || !r->handshaked)
		return false;
	if (u != NULL && (u->flags & USER_FLAG_WEAK) != 0)
		return false;
	if (r->alone)
		return true;
	if (u == NULL)
		return r->synced;
	if (!ring_user_near_expiry(e, u))
		return true;
	if (!r->synced)
		return false;
	return ring_weak_takeover(e, s, u);
}

void
ring_waiter_add(struct engine *e, struct engine_session *s)
{
	struct ring *r = e->ring;

	s->state = ENGINE_SESSION_WAITING;
	s->fence = NULL;
	s->wait_deadline_ms = e->now_ms + r->set.request_timeout_ms;
	s->prev = NULL;
	s->next = r->waiters;
	if (r->waiters != NULL)
		r->waiters->prev = s;
	r->waiters = s;
	r->nwaiters++;
	if (e->now_ms - r->last_unsynced_warn_ms >= 2000 && r->nwaiters == 1) {
		r->last_unsynced_warn_ms = e->now_ms;
		log_info("ring: delaying %s requests until the ring is "
			 "synced (%s)",
		    r->handshaked ? "new user" : "all", ring_wait_reason(e));
	}
}

void
ring_waiter_remove(struct engine *e, struct engine_session *s)
{
	struct ring *r = e->ring;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		r->waiters = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	r->nwaiters--;
}

void
ring_waiters_run(struct engine *e)
{
	struct ring *r = e->ring;
	struct engine_session *list, *s;

	ring_weak_run(e);
	list = r->waiters;
	r->waiters = NULL;
	r->nwaiters = 0;
	while ((s = list) != NULL) {
		list = s->next;
		s->prev = s->next = NULL;
		s->state = ENGINE_SESSION_IDLE;
		engine_route_again(e, s);
	}
}

static void
ring_waiters_expire(struct engine *e)
{
	struct ring *r = e->ring;
	struct engine_session *s, *next;
	char why[ENGINE_REPLY_MAX];

	for (s = r->waiters; s != NULL; s = next) {
		next = s->next;
		if (s->wait_deadline_ms > e->now_ms)
			continue;
		ring_waiter_remove(e, s);
		s->state = ENGINE_SESSION_IDLE;
		ring_weak_unstick(e, s);
		snprintf(why, sizeof(why),
		    "timeout because %s - queued for "
		    "%llu secs",
		    ring_wait_reason(e),
		    (unsigned long long)(r->set.request_timeout_ms / 1000));
		log_warn("ring: request for user %u: %s", s->user_hash, why);
		engine_effect_add(e, ENGINE_EFFECT_FAILED, s, NULL, why);
	}
}

/* -- admin replies after a SYNC round ----------------------------------------- */

void
ring_admin_wait(struct engine *e, void *requester)
{
	struct ring *r = e->ring;
	struct ring_admin_waiter *w;

	if (requester == NULL)
		return;
	if (!engine_ring_enabled(e) || r->alone ||
	    r->admin_count >= RING_ADMIN_WAITERS_MAX) {
		engine_reply(e, requester, "OK");
		return;
	}
	if (r->admin_waiters == NULL)
		r->admin_waiters =
		    xcalloc(RING_ADMIN_WAITERS_MAX, sizeof(*r->admin_waiters));
	w = &r->admin_waiters[r->admin_count++];
	w->requester = requester;
	w->sync_seq = r->sync_seq;
	w->deadline_ms = e->now_ms + RING_ADMIN_SYNC_TIMEOUT_MS;
}

uint32_t
ring_sync_barrier(const struct engine *e)
{
	if (!engine_ring_enabled(e) || e->ring->alone)
		return 0;
	return e->ring->sync_seq;
}

bool
ring_sync_passed(const struct engine *e, uint32_t barrier)
{
	const struct ring *r = e->ring;

	if (barrier == 0 || !engine_ring_enabled(e))
		return true;
	return r->synced && !r->frozen && (r->alone || r->sync_seq >= barrier);
}

void
ring_admin_run(struct engine *e)
{
	struct ring *r = e->ring;
	struct ring_admin_waiter *w;
	size_t i = 0;

	while (i < r->admin_count) {
		w = &r->admin_waiters[i];
		if (ring_sync_passed(e, w->sync_seq))
			engine_reply(e, w->requester, "OK");
		else if (e->now_ms >= w->deadline_ms)
			engine_reply(e, w->requester,
			    "Ring sync timed out: the change is made here but "
			    "not yet confirmed by every director");
		else {
			i++;
			continue;
		}
		r->admin_waiters[i] = r->admin_waiters[--r->admin_count];
	}
}

void
ring_admin_forget(struct engine *e, void *requester)
{
	struct ring *r = e->ring;
	size_t i = 0;

	if (r == NULL)
		return;
	while (i < r->admin_count) {
		if (r->admin_waiters[i].requester == requester)
			r->admin_waiters[i] =
			    r->admin_waiters[--r->admin_count];
		else
			i++;
	}
}

/* -- USER and U ----------------------------------------------------------------- */

/* Our sessions of hash are not on host, where the ring has the user now
 * (we missed its move, or were cut off while we routed it): they are
 * fenced by a ring move of ours to host, so that every director waits
 * for them to end (and the kick delay) before it routes the user there;
 * a local fence if a move of the user already runs here, or alone. */
static void
ring_user_fence_ours(struct engine *e, uint32_t hash, struct host *host)
{
	const char *status = NULL;

	if (!e->ring->alone &&
	    engine_move_start(e, hash, host, &status) != NULL)
		return;
	(void)engine_move_local(e, hash, host);
}

/* Takes the peer's host for u (or a new record): a fence if our
 * sessions of the user are elsewhere. */
struct user *
ring_user_take(struct engine *e, struct user *u, uint32_t hash,
    struct host *host, uint32_t ts)
{
	struct users *users = hosts_tag_users(host->tag);
	uint32_t now = ring_now_secs(e);

	if (u == NULL)
		u = users_add(users, hash, host->id, ts, now);
	else {
		users_set_host(users, u, host->id);
		users_refresh(users, u, ts, now);
	}
	if (u == NULL)
		return NULL;
	u->flags &= ~(uint32_t)(USER_FLAG_PROVISIONAL | USER_FLAG_WEAK);
	if (engine_sessions_elsewhere(e, hash, host))
		ring_user_fence_ours(e, hash, host);
	return users_lookup(users, hash, now);
}

void
ring_user_apply(struct engine *e, struct ring_link *from,
    const struct ringwire_user *ru, bool handshake)
{
	struct host *host = hosts_lookup(e->hosts, &ru->ip), *ours;
	uint32_t now = ring_now_secs(e), ts;
	struct users *users;
	struct user *u;
	bool changed = false, was_weak;
	char a[IPADDR_STR_MAX], b[IPADDR_STR_MAX];

	if (host == NULL) {
		log_debug("ring: user %u on unknown backend %s ignored",
		    ru->hash, ipaddr_format(&ru->ip, a));
		return;
	}
	ts = ru->has_ts && ru->ts < now ? ru->ts : now;
	if ((uint64_t)ts + e->set.user_expire_secs <= now)
		return; /* expired already */
	if (host->flushed_ts != 0 &&
	    ring_user_made_at(e, ts) <= host->flushed_ts) {
		/* made before the backend's flush, still on its way then */
		log_debug("ring: user %u on %s from before its flush ignored",
		    ru->hash, host->ip_str);
		return;
	}
	users = hosts_tag_users(host->tag);
	u = users_lookup(users, ru->hash, now);
	was_weak = u != NULL && (u->flags & USER_FLAG_WEAK) != 0;
	if (u == NULL) {
		u = ring_user_take(e, NULL, ru->hash, host, ts);
		changed = u != NULL;
	} else if (u->host == host->id) {
		if ((u->flags & USER_FLAG_WEAK) != 0) {
			u->flags &= ~(uint32_t)USER_FLAG_WEAK;
			changed = true;
		}
		/* a login succeeded elsewhere: a fresh timestamp, not an
		 * aged (provisional) one */
		if ((u->flags & USER_FLAG_PROVISIONAL) != 0 &&
		    ts >= u->timestamp && !ring_ts_aged(e, ts))
			u->flags &= ~(uint32_t)USER_FLAG_PROVISIONAL;
		if (ts > u->timestamp) {
			users_refresh(users, u, ts, now);
			changed = true;
		}
	} else {
		ours = hosts_lookup_id(e->hosts, u->host);
		if ((u->flags & USER_FLAG_MOVING) != 0 &&
		    !(from != NULL && from->users_override))
			return; /* it predates the move */
		if ((from != NULL && from->users_override) ||
		    (u->flags & USER_FLAG_WEAK) != 0 ||
		    (handshake && ru->weak)) {
			/* a weak user gives way to any non-weak USER: an
			 * objection to a takeover (ring_weak.c); a weak U
			 * is a move we did not hear of: the user waits
			 * here until it has ended */
			u = ring_user_take(e, u, ru->hash, host, ts);
			changed = u != NULL;
		} else if ((u->flags & USER_FLAG_PROVISIONAL) != 0 ||
		    ring_user_near_expiry(e, u) || ours == NULL) {
			/* ours gives way only to a newer one (on a tie, the
			 * lower address): two of them going round at once
			 * must not take each other's place for ever */
			if (ours != NULL &&
			    (ts < u->timestamp ||
				(ts == u->timestamp &&
				    ipaddr_cmp(&host->ip, &ours->ip) > 0)))
				return;
			u = ring_user_take(e, u, ru->hash, host, ts);
			changed = u != NULL;
		} else {
			/* the newer assignment wins (a director that was
			 * cut off comes back with the one a move replaced),
			 * of two as new the lower address (2.3's rule); the
			 * loser's sessions are fenced ring-wide by a move,
			 * not just kicked (a director that has none would
			 * route to the winner while they still run
			 * elsewhere); directors that pick differently start
			 * two moves, which merge into one */
			struct host *winner = ts != u->timestamp
			    ? (ts > u->timestamp ? host : ours)
			    : ipaddr_cmp(&host->ip, &ours->ip) < 0 ? host
								   : ours;
			const char *status = NULL;

			log_error(
			    "ring: user hash %u is being redirected to "
			    "two hosts: %s and %s (old_ts=%u, new_ts=%u): "
			    "moving it to %s",
			    ru->hash, ipaddr_format(&ours->ip, a),
			    ipaddr_format(&host->ip, b), u->timestamp, ts,
			    winner->ip_str);
			(void)engine_move_start(e, ru->hash, winner, &status);
			return;
		}
	}
	/* an aged timestamp is a peer's provisional assignment (or one
	 * about to expire): a failed login here must not extend it */
	if (u != NULL && ring_ts_aged(e, u->timestamp))
		u->flags |= USER_FLAG_PROVISIONAL;
	/* a weak U (a user the sender is moving, or taking over) is not
	 * handed out here until a non-weak USER says where it went */
	if (handshake && ru->weak && u != NULL && changed)
		u->flags |= USER_FLAG_WEAK;
	/* passed on even from a handshake: a director further on may not
	 * know it (two rings merging), and sync before it hears of it; but
	 * not a weak one, which USER would make lasting before its move
	 * has ended (the move's end says where it went) */
	if (changed && u != NULL && !(handshake && ru->weak))
		ring_user_send(e, from, hosts_lookup_id(e->hosts, u->host), u);
	if (was_weak && u != NULL && (u->flags & USER_FLAG_WEAK) == 0)
		ring_waiters_run(e);
}

/* -- kicks ------------------------------------------------------------------------- */

void
ring_user_kick_announce(struct engine *e, const char *username)
{
	struct ringwire_msg *m;

	if (!engine_ring_enabled(e) || username == NULL)
		return;
	m = &e->ring->msg;
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_USER_KICK;
	strlcpy(m->username, username, sizeof(m->username));
	ring_originate(e, m);
	ring_flood(e, NULL, m);
}

int
ring_user_handle(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	const struct ring_settings *set = &e->ring->set;
	uint32_t hash;
	size_t n;

	switch (msg->cmd) {
	case RINGWIRE_USER:
		ring_user_apply(e, l, &msg->user, false);
		return 0;
	case RINGWIRE_USER_WEAK:
		ring_weak_handle(e, l, msg,
		    ring_dir_find(e->ring, &msg->dir.ip, msg->dir.port) ==
			e->ring->self);
		return 0;
	case RINGWIRE_USER_MOVE:
		ring_handle_user_move(e, l, msg);
		return 0;
	case RINGWIRE_USER_KILLED:
		ring_handle_user_killed(e, msg);
		return 0;
	case RINGWIRE_USER_KILLED_EVERYWHERE:
		ring_handle_killed_everywhere(e, l, msg);
		return 0;
	case RINGWIRE_X_USER_KILLED:
		if (l->rounds)
			ring_handle_user_killed(e, msg);
		return 0;
	case RINGWIRE_X_USER_KILLED_EVERYWHERE:
		if (l == NULL || l->rounds)
			ring_handle_killed_everywhere(e, l, msg);
		return 0;
	case RINGWIRE_X_HOST_HEALTH:
		if (l == NULL || l->rounds)
			ring_handle_host_health(e, l, msg);
		return 0;
	case RINGWIRE_X_HOST_KILLED:
		if (l->rounds)
			ring_handle_host_killed(e, msg);
		return 0;
	case RINGWIRE_X_HOST_KILLED_EVERYWHERE:
		if (l == NULL || l->rounds)
			ring_handle_host_killed_everywhere(e, l, msg);
		return 0;
	case RINGWIRE_USER_KICK:
		ring_flood(e, l, msg);
		if (set->hash_user == NULL ||
		    set->hash_user(set->hash_ctx, msg->username, &hash) == -1)
			return 0;
		n = engine_kick_user(e, hash, NULL);
		log_info(
		    "ring: user %u kicked by the ring: %zu sessions", hash, n);
		return 0;
	case RINGWIRE_USER_KICK_ALT:
		ring_flood(e, l, msg); /* no alt user fields here */
		return 0;
	case RINGWIRE_USER_KICK_HASH:
		ring_flood(e, l, msg);
		n = engine_kick_user(e, msg->user.hash, &msg->user.ip);
		if (n > 0)
			log_info("ring: user %u kicked by the ring from every "
				 "backend but its own: %zu sessions",
			    msg->user.hash, n);
		return 0;
	default:
		ring_link_close(
		    e, l, "sent a handshake command after DONE", true);
		return -1;
	}
}

/* -- the handshake's user list ---------------------------------------------------- */

void
ring_users_snapshot(struct engine *e, struct ring_link *l)
{
	uint32_t now = ring_now_secs(e);
	size_t i, n = 0, cap = 0;
	struct users *users;
	struct user *u;

	if (e->ring->frozen)
		return; /* our view is stale: the ring's wins */
	for (i = 0; i < hosts_tag_count(e->hosts); i++)
		cap += users_count(hosts_tag_users(hosts_tag_get(e->hosts, i)));
	if (cap == 0)
		return;
	l->hs_users = xreallocarray(NULL, cap, sizeof(*l->hs_users));
	for (i = 0; i < hosts_tag_count(e->hosts); i++) {
		users = hosts_tag_users(hosts_tag_get(e->hosts, i));
		for (u = users_first(users); u != NULL && n < cap;
		     u = users_next(users, u)) {
			if (users_is_expired(users, u, now))
				continue;
			l->hs_users[n].hash = u->hash;
			l->hs_users[n].tag = (uint32_t)i;
			n++;
		}
	}
	l->hs_count = n;
	l->hs_next = 0;
}

bool
ring_users_stream(struct engine *e, struct ring_link *l)
{
	uint32_t now = ring_now_secs(e);
	struct ringwire_msg *m = &e->ring->msg;
	const struct ring_hs_user *hu;
	struct users *users;
	struct host *host;
	struct user *u;
	size_t sent = 0;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_U;
	m->user.has_ts = true;
	while (l->hs_next < l->hs_count) {
		if (sent >= RING_HANDSHAKE_USERS_PER_ROUND ||
		    l->out.len >= RING_OUTPUT_FLUSH_BYTES)
			return false;
		hu = &l->hs_users[l->hs_next++];
		users = hosts_tag_users(hosts_tag_get(e->hosts, hu->tag));
		u = users_lookup(users, hu->hash, now);
		if (u == NULL)
			continue;
		host = hosts_lookup_id(e->hosts, u->host);
		if (host == NULL)
			continue;
		m->user.hash = u->hash;
		m->user.ip = host->ip;
		m->user.ts = u->timestamp;
		/* a provisional one as it was announced: aged (a login under
		 * way, or one that failed moments ago, is on its backend) */
		if ((u->flags & USER_FLAG_PROVISIONAL) != 0 &&
		    m->user.ts > ring_provisional_ts(e))
			m->user.ts = ring_provisional_ts(e);
		/* a user being moved: not to be handed out by the newcomer
		 * before the move has ended (ring_move_finished()) */
		m->user.weak =
		    (u->flags & (USER_FLAG_WEAK | USER_FLAG_MOVING)) != 0;
		if (!ring_send(e, l, m))
			return l->state == RING_LINK_CLOSING;
		sent++;
	}
	return true;
}

/* -- time ------------------------------------------------------------------------ */

void
ring_user_tick(struct engine *e)
{
	ring_provisional_tick(e);
	ring_weak_tick(e);
	ring_waiters_expire(e);
	ring_moves_timeout(e);
	ring_admin_run(e);
}

uint64_t
ring_user_deadline(const struct engine *e, uint64_t next)
{
	const struct ring *r = e->ring;
	const struct engine_session *s;
	const struct engine_fence *f;
	size_t i;

	next = ring_weak_deadline(e, next);
	for (s = r->waiters; s != NULL; s = s->next) {
		if (s->wait_deadline_ms < next)
			next = s->wait_deadline_ms;
	}
	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->ring && f->kill != ENGINE_KILL_DELAY &&
		    f->ring_deadline_ms < next)
			next = f->ring_deadline_ms;
	}
	for (i = 0; i < r->admin_count; i++) {
		if (r->admin_waiters[i].deadline_ms < next)
			next = r->admin_waiters[i].deadline_ms;
	}
	return next;
}

/*
 * ring_move.c - user moves across the ring (see ring.h, ring_int.h):
 * USER-MOVE flooded before any kick, each director's local fence, the
 * kill token (USER-KILLED) passed to the right hop by hop once a
 * director's own sessions have ended, USER-KILLED-EVERYWHERE when it came
 * back to the originator, and the move timeout.
 *
 * Invariants: a ring move's fence starts its kick delay only when
 * USER-KILLED-EVERYWHERE (or the timeout) says every director is done;
 * a token for a move a director does not have is passed on, and ended
 * ring-wide only if it comes back (its origin is gone).
 */
#include "compat.h"

#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"

/* -- moves ------------------------------------------------------------------------ */

static struct engine_fence *
ring_move_find(const struct engine *e, uint32_t hash)
{
	struct engine_fence *f, *found = NULL;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_MOVE && f->ring &&
		    f->user_hash == hash)
			found = f; /* the newest */
	}
	return found;
}

static void
ring_send_killed(struct engine *e, uint32_t hash)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;

	if (r->right == NULL)
		return; /* resent when a right comes (ring_moves_resend) */
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_USER_KILLED;
	m->user.hash = hash;
	(void)ring_send(e, r->right, m);
}

void
ring_fence_everywhere(struct engine *e, struct engine_fence *f)
{
	f->kill = ENGINE_KILL_DELAY;
	f->deadline_ms = e->now_ms + e->set.kick_delay_ms;
}

void
ring_move_announce(
    struct engine *e, struct engine_fence *f, const struct host *host)
{
	struct ringwire_msg *m;

	if (!engine_ring_enabled(e))
		return;
	f->ring = true;
	f->ring_origin = true;
	f->kill = ENGINE_KILL_KILLING;
	f->ring_deadline_ms = e->now_ms + RING_USER_MOVE_TIMEOUT_MS;
	m = &e->ring->msg;
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_USER_MOVE;
	m->user.hash = f->user_hash;
	m->user.ip = host->ip;
	ring_originate(e, m);
	ring_flood(e, NULL, m);
}

void
ring_move_killed_local(struct engine *e, struct engine_fence *f)
{
	struct ring *r = e->ring;

	if (r->alone || (r->left == NULL && r->right == NULL)) {
		ring_fence_everywhere(e, f);
		return;
	}
	/* the originator, or one whose left's token came first, passes
	 * the token on; the others wait for it */
	if (f->kill == ENGINE_KILL_KILLING && !f->ring_origin)
		f->kill = ENGINE_KILL_WAITING_NOTIFY;
	else if (f->kill == ENGINE_KILL_KILLING ||
	    f->kill == ENGINE_KILL_NOTIFY_RECEIVED) {
		ring_send_killed(e, f->user_hash);
		f->kill = ENGINE_KILL_WAITING_EVERYONE;
	}
}

void
ring_moves_resend(struct engine *e)
{
	struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_MOVE && f->ring && f->ring_origin &&
		    f->kill == ENGINE_KILL_WAITING_EVERYONE)
			ring_send_killed(e, f->user_hash);
	}
	ring_host_tokens_resend(e);
}

void
ring_handle_user_move(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct host *host = hosts_lookup(e->hosts, &msg->user.ip);
	struct engine_fence *f;

	ring_flood(e, l, msg);
	if (host == NULL)
		return;
	log_info("ring: user %u moving to %s (by %s)", msg->user.hash,
	    host->ip_str, l != NULL ? l->name : "us");
	f = engine_move_fence(e, msg->user.hash, host);
	if (f == NULL)
		return;
	f->ring = true;
	f->ring_origin = false;
	f->kill = ENGINE_KILL_KILLING;
	f->ring_deadline_ms = e->now_ms + RING_USER_MOVE_TIMEOUT_MS;
	if (f->pending == 0)
		ring_move_killed_local(e, f);
}

/* Whether a stray token for hash passed here recently; remembers it if
 * not. */
static bool
ring_stray_seen(struct engine *e, uint32_t hash)
{
	struct ring *r = e->ring;
	size_t i, oldest = 0;

	for (i = 0; i < RING_STRAYS_MAX; i++) {
		if (r->strays[i].at_ms != 0 && r->strays[i].hash == hash &&
		    e->now_ms - r->strays[i].at_ms <
			RING_USER_MOVE_TIMEOUT_MS) {
			r->strays[i].at_ms = 0;
			return true;
		}
		if (r->strays[i].at_ms < r->strays[oldest].at_ms)
			oldest = i;
	}
	r->strays[oldest].hash = hash;
	r->strays[oldest].at_ms = e->now_ms;
	return false;
}

void
ring_move_finished(struct engine *e, const struct engine_fence *f)
{
	struct users *users = hosts_tag_users(f->tag);
	struct user *u = users_lookup(users, f->user_hash, engine_now_secs(e));
	struct host *host;

	if (u == NULL || (u->flags & USER_FLAG_PROVISIONAL) != 0)
		return;
	u->flags &= ~(uint32_t)USER_FLAG_WEAK;
	host = hosts_lookup_id(e->hosts, u->host);
	if (host != NULL)
		ring_user_send(e, NULL, host, u);
}

void
ring_handle_user_killed(struct engine *e, const struct ringwire_msg *msg)
{
	struct engine_fence *f = ring_move_find(e, msg->user.hash);
	struct ringwire_msg *m = &e->ring->msg;

	if (f == NULL || f->kill == ENGINE_KILL_DELAY) {
		/* a move we don't have (we joined after it began, or it is
		 * over here): we have no session of it to wait for, so the
		 * token goes on; if it comes back, its origin is gone and
		 * the move is ended ring-wide so that nothing hangs */
		if (f == NULL && !ring_stray_seen(e, msg->user.hash)) {
			ring_send_killed(e, msg->user.hash);
			return;
		}
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_USER_KILLED_EVERYWHERE;
		m->user.hash = msg->user.hash;
		ring_originate(e, m);
		ring_flood(e, NULL, m);
		return;
	}
	switch (f->kill) {
	case ENGINE_KILL_KILLING:
		f->kill = ENGINE_KILL_NOTIFY_RECEIVED;
		return;
	case ENGINE_KILL_WAITING_NOTIFY:
		ring_send_killed(e, f->user_hash);
		f->kill = ENGINE_KILL_WAITING_EVERYONE;
		return;
	case ENGINE_KILL_WAITING_EVERYONE:
		if (!f->ring_origin && !ring_stray_seen(e, f->user_hash)) {
			/* a token sent again after the ring changed */
			ring_send_killed(e, f->user_hash);
			return;
		}
		/* ours came back, or one passed here twice: its origin is
		 * gone (or two moves of the user met); end it everywhere */
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_USER_KILLED_EVERYWHERE;
		m->user.hash = f->user_hash;
		ring_originate(e, m);
		ring_flood(e, NULL, m);
		ring_fence_everywhere(e, f);
		return;
	default:
		return;
	}
}

void
ring_handle_killed_everywhere(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct engine_fence *f = ring_move_find(e, msg->user.hash);

	ring_flood(e, l, msg);
	if (f != NULL && f->kill == ENGINE_KILL_WAITING_EVERYONE)
		ring_fence_everywhere(e, f);
}

void
ring_moves_timeout(struct engine *e)
{
	char ip[IPADDR_STR_MAX];
	struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (!f->ring || f->kill == ENGINE_KILL_DELAY ||
		    e->now_ms < f->ring_deadline_ms)
			continue;
		if (f->kind == ENGINE_FENCE_MOVE)
			log_error("ring: finishing user %u move timed out, its "
				  "state may now be inconsistent (%zu local "
				  "sessions still open)",
			    f->user_hash, f->pending);
		else
			log_error("ring: the kill token of removed backend %s "
				  "did not come back in time: its users may "
				  "reach a new backend before their sessions "
				  "elsewhere ended (%zu local sessions still "
				  "open)",
			    ipaddr_format(&f->backend, ip), f->pending);
		f->pending = 0;
		ring_fence_everywhere(e, f);
	}
}

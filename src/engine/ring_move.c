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

bool
ring_round_equal(const struct engine_round *a, const struct engine_round *b)
{
	return a->port == b->port && a->seq == b->seq &&
	    ipaddr_equals(&a->ip, &b->ip);
}

bool
ring_round_ours(const struct engine *e, const struct engine_round *round)
{
	const struct ring_addr *self = &e->ring->self->addr;

	return round->port == self->port &&
	    ipaddr_equals(&round->ip, &self->ip);
}

void
ring_round_from(struct engine_round *round_r, const struct ringwire_director *d)
{
	round_r->ip = d->ip;
	round_r->port = d->port;
	round_r->seq = d->seq;
}

static void
ring_round_put(struct ringwire_director *d, const struct engine_round *round)
{
	d->ip = round->ip;
	d->port = round->port;
	d->seq = round->seq;
}

/* Whether move round a wins over b when both move one user at once: the
 * lower origin, and of one origin the later (every director decides
 * alike, whatever order the two USER-MOVEs came in). */
static bool
ring_round_beats(const struct engine_round *a, const struct engine_round *b)
{
	int c = ipaddr_cmp(&a->ip, &b->ip);

	if (c == 0)
		c = (int)a->port - (int)b->port;
	return c != 0 ? c < 0 : a->seq > b->seq;
}

/* The kill token of round for hash to our right: named by its round for
 * a peer of ours, 2.3's anonymous USER-KILLED for others. */
static void
ring_send_killed(struct engine *e, uint32_t hash,
    const struct engine_round *round, const struct ipaddr *target)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;

	if (r->right == NULL)
		return; /* resent when a right comes (ring_moves_resend) */
	memset(m, 0, sizeof(*m));
	m->user.hash = hash;
	if (r->right->rounds && round != NULL) {
		m->cmd = RINGWIRE_X_USER_KILLED;
		ring_round_put(&m->dir, round);
		if (target != NULL)
			m->user.ip = *target;
	} else
		m->cmd = RINGWIRE_USER_KILLED;
	(void)ring_send(e, r->right, m);
}

/* USER-KILLED-EVERYWHERE (msg: its origin and seq, the hash, and the
 * round if known) on every link but except, named by its round for
 * peers of ours. */
static void
ring_flood_everywhere(
    struct engine *e, struct ring_link *except, const struct ringwire_msg *msg)
{
	struct ringwire_msg m = *msg;
	struct ring_link *l;

	TAILQ_FOREACH (l, &e->ring->links, entry) {
		if (l == except)
			continue;
		m.cmd = l->rounds && msg->round.port != 0
		    ? RINGWIRE_X_USER_KILLED_EVERYWHERE
		    : RINGWIRE_USER_KILLED_EVERYWHERE;
		(void)ring_send(e, l, &m);
	}
}

/* We end round (NULL: unknown) of hash's move ring-wide. */
static void
ring_originate_everywhere(
    struct engine *e, uint32_t hash, const struct engine_round *round)
{
	struct ringwire_msg m;

	memset(&m, 0, sizeof(m));
	m.user.hash = hash;
	if (round != NULL)
		ring_round_put(&m.round, round);
	ring_originate(e, &m);
	ring_flood_everywhere(e, NULL, &m);
}

static bool ring_round_ended(struct engine *e, uint32_t hash,
    const struct engine_round *round, bool record);

void
ring_fence_everywhere(struct engine *e, struct engine_fence *f)
{
	if (f->kind == ENGINE_FENCE_MOVE && f->round.port != 0)
		(void)ring_round_ended(e, f->user_hash, &f->round, true);
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
	f->ring_deadline_ms = e->now_ms + e->ring->set.move_timeout_ms;
	m = &e->ring->msg;
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_USER_MOVE;
	m->user.hash = f->user_hash;
	m->user.ip = host->ip;
	ring_originate(e, m);
	ring_round_from(&f->round, &m->dir);
	ring_flood(e, NULL, m);
}

void
ring_move_killed_local(struct engine *e, struct engine_fence *f)
{
	struct ring *r = e->ring;

	/* between links (a handshake under way) the token waits for a
	 * right; alone, there is no one else to wait for */
	if (r->alone) {
		ring_fence_everywhere(e, f);
		return;
	}
	/* the originator, or one whose left's token came first, passes
	 * the token on; the others wait for it */
	if (f->kill == ENGINE_KILL_KILLING && !f->ring_origin)
		f->kill = ENGINE_KILL_WAITING_NOTIFY;
	else if (f->kill == ENGINE_KILL_KILLING ||
	    f->kill == ENGINE_KILL_NOTIFY_RECEIVED) {
		ring_send_killed(e, f->user_hash, &f->round, &f->backend);
		f->kill = ENGINE_KILL_WAITING_EVERYONE;
	}
}

void
ring_fences_alone(struct engine *e)
{
	struct engine_fence *f;

	/* the tokens they wait for have no one left to pass */
	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->ring && f->pending == 0 &&
		    f->kill != ENGINE_KILL_DELAY && f->kill != ENGINE_KILL_NONE)
			ring_fence_everywhere(e, f);
	}
}

void
ring_moves_resend(struct engine *e)
{
	struct engine_fence *f;

	/* a token we passed on may have died with the director that had
	 * it: ours, and (named by their round, so that a second copy is
	 * harmless) those we passed on, go to the new right */
	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_MOVE && f->ring &&
		    f->kill == ENGINE_KILL_WAITING_EVERYONE &&
		    (f->ring_origin ||
			(e->ring->right != NULL && e->ring->right->rounds)))
			ring_send_killed(
			    e, f->user_hash, &f->round, &f->backend);
	}
	ring_host_tokens_resend(e);
}

/* Our fence f of a move loses to round (to host): it follows that one
 * now, kicking what is not on its backend, and waits for its token. */
static void
ring_move_follow(struct engine *e, struct engine_fence *f, struct host *host,
    const struct engine_round *round)
{
	char ip[IPADDR_STR_MAX];

	log_info("ring: user %u is moved by two directors at once: %s "
		 "(seq %u) wins, to %s",
	    f->user_hash, ipaddr_format(&round->ip, ip), round->seq,
	    host->ip_str);
	f->round = *round;
	f->ring_origin = false;
	f->kill = ENGINE_KILL_KILLING;
	f->ring_deadline_ms = e->now_ms + e->ring->set.move_timeout_ms;
	engine_move_retarget(e, f, host);
}

void
ring_handle_user_move(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct host *host = hosts_lookup(e->hosts, &msg->user.ip);
	struct engine_fence *f = ring_move_find(e, msg->user.hash);
	struct engine_round round;
	char ip[IPADDR_STR_MAX];

	ring_flood(e, l, msg);
	ring_round_from(&round, &msg->dir);
	if (host == NULL) {
		/* its HOST is still on its way: our sessions of the user
		 * must still end before the token goes on */
		if (f != NULL && f->kill != ENGINE_KILL_DELAY)
			return;
		log_info("ring: user %u moving to %s, a backend we do not "
			 "know yet: its sessions here are kicked",
		    msg->user.hash, ipaddr_format(&msg->user.ip, ip));
		f = engine_move_fence_unknown(e, msg->user.hash, &msg->user.ip);
		if (f == NULL)
			return;
		f->round = round;
		if (f->pending == 0)
			ring_move_killed_local(e, f);
		return;
	}
	if (f != NULL && f->kill != ENGINE_KILL_DELAY && f->tag == host->tag) {
		/* one fence a user: the winning move decides the target
		 * everywhere */
		if (ring_round_beats(&round, &f->round))
			ring_move_follow(e, f, host, &round);
		return;
	}
	log_info("ring: user %u moving to %s (by %s)", msg->user.hash,
	    host->ip_str, l != NULL ? l->name : "us");
	f = engine_move_fence(e, msg->user.hash, host);
	if (f == NULL)
		return;
	f->ring = true;
	f->ring_origin = false;
	f->round = round;
	f->kill = ENGINE_KILL_KILLING;
	f->ring_deadline_ms = e->now_ms + e->ring->set.move_timeout_ms;
	if (f->pending == 0)
		ring_move_killed_local(e, f);
}

/* Whether a token for hash passed here recently at least passes times
 * (1 for 2.3's anonymous tokens, more for ours: see
 * RING_ROUND_PASSES_MAX); counts this pass if not. */
static bool
ring_stray_seen(struct engine *e, uint32_t hash, unsigned int passes)
{
	struct ring *r = e->ring;
	size_t i, oldest = 0;

	for (i = 0; i < RING_STRAYS_MAX; i++) {
		if (r->strays[i].at_ms != 0 && r->strays[i].hash == hash &&
		    e->now_ms - r->strays[i].at_ms < r->set.move_timeout_ms) {
			if (++r->strays[i].passes <= passes)
				return false;
			r->strays[i].at_ms = 0;
			return true;
		}
		if (r->strays[i].at_ms < r->strays[oldest].at_ms)
			oldest = i;
	}
	r->strays[oldest].hash = hash;
	r->strays[oldest].at_ms = e->now_ms;
	r->strays[oldest].passes = 1;
	return false;
}

/* How often a token of round (NULL: anonymous) may pass before it is
 * taken for one whose origin is gone. */
static unsigned int
ring_round_passes(const struct engine_round *round)
{
	return round != NULL ? RING_ROUND_PASSES_MAX : 1;
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

/* Passes a token of round (NULL: 2.3's, anonymous) that is not for a
 * fence of ours on, unless it passed here already (its origin is gone):
 * then it ends ring-wide. */
static void
ring_pass_stray(struct engine *e, uint32_t hash,
    const struct engine_round *round, const struct ipaddr *target)
{
	if (!ring_stray_seen(e, hash, ring_round_passes(round)))
		ring_send_killed(e, hash, round, target);
	else if (round == NULL)
		ring_originate_everywhere(e, hash, round);
	else {
		/* copies of a token (sent again after the ring changed)
		 * pass here more than once too: that proves nothing about
		 * the others, so it is only dropped (the moves of a gone
		 * origin end by their timeout) */
		log_debug("ring: kill token of user %u (round %u) dropped "
			  "after passing here %u times",
		    hash, round->seq, (unsigned int)RING_ROUND_PASSES_MAX);
	}
}

/* Whether round's move of hash ended here lately (a late copy of its
 * token must not start it again); with record, remembers that it did. */
static bool
ring_round_ended(struct engine *e, uint32_t hash,
    const struct engine_round *round, bool record)
{
	struct ring *r = e->ring;
	struct ring_ended_round *er;
	size_t i;

	for (i = 0; i < RING_ENDED_ROUNDS; i++) {
		er = &r->ended[i];
		if (er->at_ms != 0 && er->hash == hash &&
		    ring_round_equal(&er->round, round) &&
		    e->now_ms - er->at_ms < r->set.move_timeout_ms)
			return true;
	}
	if (record) {
		er = &r->ended[r->ended_next++ % RING_ENDED_ROUNDS];
		er->hash = hash;
		er->round = *round;
		er->at_ms = e->now_ms;
	}
	return false;
}

/*
 * The token of a move we never heard of (its USER-MOVE was lost with a
 * link, or we joined after it): the move is under way, so the user is
 * fenced here as in any move (a login waits for its end) and the token
 * goes on once our sessions of the user that are not on its target have
 * ended.  With no target named (2.3's token), only if sessions are open
 * here, and then all of them are kicked.
 */
static bool
ring_move_join_late(struct engine *e, const struct ringwire_msg *msg,
    const struct engine_round *round)
{
	const struct engine_user *eu = engine_user_find(e, msg->user.hash);
	struct host *host = NULL;
	const struct engine_session *s;
	struct engine_fence *f;
	struct ipaddr none;

	if (round != NULL) {
		if (ring_round_ended(e, msg->user.hash, round, false))
			return false;
		if (msg->user.ip.family != 0)
			host = hosts_lookup(e->hosts, &msg->user.ip);
	}
	for (s = eu != NULL ? eu->sessions : NULL; s != NULL; s = s->next) {
		if (s->state == ENGINE_SESSION_ROUTED ||
		    s->state == ENGINE_SESSION_ALIVE)
			break;
	}
	if (host == NULL && s == NULL)
		return false;
	memset(&none, 0, sizeof(none));
	f = host != NULL ? engine_move_fence(e, msg->user.hash, host)
			 : engine_move_fence_unknown(e, msg->user.hash, &none);
	if (f == NULL)
		return false;
	log_warn("ring: kill token of user %u came for a move we did not "
		 "hear of: the user waits here until it has ended (%zu "
		 "sessions kicked)",
	    msg->user.hash, f->pending);
	if (round != NULL)
		f->round = *round;
	f->ring_origin = false;
	f->kill = ENGINE_KILL_NOTIFY_RECEIVED;
	if (f->pending == 0)
		ring_move_killed_local(e, f);
	return true;
}

void
ring_handle_user_killed(struct engine *e, const struct ringwire_msg *msg)
{
	struct engine_fence *f = ring_move_find(e, msg->user.hash);
	struct engine_round round, *rp = NULL;

	if (msg->cmd == RINGWIRE_X_USER_KILLED) {
		ring_round_from(&round, &msg->dir);
		rp = &round;
		if (ring_round_ours(e, rp)) {
			/* ours came back: every director passed it after its
			 * own sessions of the user had ended */
			ring_originate_everywhere(e, msg->user.hash, rp);
			if (f != NULL && ring_round_equal(&f->round, rp) &&
			    f->kill != ENGINE_KILL_DELAY)
				ring_fence_everywhere(e, f);
			return;
		}
		if (f != NULL && !ring_round_equal(&f->round, rp)) {
			/* a move that lost to ours, or one not heard of
			 * yet: on, once we have no session to wait for */
			if (f->pending == 0)
				ring_pass_stray(
				    e, msg->user.hash, rp, &msg->user.ip);
			return;
		}
	}
	if (f == NULL && ring_move_join_late(e, msg, rp))
		return;
	if (f == NULL || f->kill == ENGINE_KILL_DELAY) {
		/* a move we don't have (we joined after it began, or it is
		 * over here): we have no session of it to wait for, so the
		 * token goes on; if it comes back, its origin is gone and
		 * the move is ended ring-wide so that nothing hangs */
		ring_pass_stray(e, msg->user.hash, rp, &msg->user.ip);
		return;
	}
	switch (f->kill) {
	case ENGINE_KILL_KILLING:
		f->kill = ENGINE_KILL_NOTIFY_RECEIVED;
		return;
	case ENGINE_KILL_WAITING_NOTIFY:
		ring_send_killed(e, f->user_hash, &f->round, &f->backend);
		f->kill = ENGINE_KILL_WAITING_EVERYONE;
		return;
	case ENGINE_KILL_WAITING_EVERYONE:
		if (!f->ring_origin && rp != NULL) {
			/* a copy sent again after the ring changed */
			ring_pass_stray(e, f->user_hash, rp, &msg->user.ip);
			return;
		}
		if (!f->ring_origin &&
		    !ring_stray_seen(e, f->user_hash, ring_round_passes(rp))) {
			/* a token sent again after the ring changed */
			ring_send_killed(
			    e, f->user_hash, &f->round, &f->backend);
			return;
		}
		/* ours came back (from 2.3), or one passed here twice: its
		 * origin is gone; end it everywhere */
		ring_originate_everywhere(e, f->user_hash, &f->round);
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
	struct engine_round round;

	ring_flood_everywhere(e, l, msg);
	if (msg->cmd == RINGWIRE_X_USER_KILLED_EVERYWHERE) {
		ring_round_from(&round, &msg->round);
		(void)ring_round_ended(e, msg->user.hash, &round, true);
	}
	if (f == NULL)
		return;
	if (msg->cmd == RINGWIRE_X_USER_KILLED_EVERYWHERE) {
		/* only the round it names ends */
		if (ring_round_equal(&f->round, &round) &&
		    f->kill != ENGINE_KILL_DELAY)
			ring_fence_everywhere(e, f);
		return;
	}
	if (f->kill == ENGINE_KILL_WAITING_EVERYONE)
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

/*
 * ring_host_fence.c - a removed backend's fence across the ring (our
 * extension, see ring_int.h): when HOST-REMOVE takes a backend away,
 * every director forgets its users and kicks its own sessions there, and
 * a user forgotten here may still have sessions on it at another
 * director.  So new users of its tag wait, at every director, until a
 * kill token (X-HOST-KILLED) has gone round the ring, each director
 * passing it on only once its own sessions on the backend have ended,
 * and then for the kick delay (X-HOST-KILLED-EVERYWHERE).
 *
 * Used only when the last SYNC round went through directors of ours only
 * (RING_MINOR_OURS) and only towards peers that offered the option; a
 * ring with Dovecot directors keeps each director's own fence (the
 * Dovecot way).  A token and its end name their round, the HOST-REMOVE
 * (origin and seq) they follow: a backend removed, added back and
 * removed again, or removed by two directors at once, has one fence per
 * round, and no round ends another's.
 *
 * Invariants: a director passes a token on only when it has no session
 * on the backend left from before the round (or never had the backend);
 * a token for a backend that is still here is dropped (that round's
 * fences then end by their timeout).
 */
#include "compat.h"

#include <string.h>

#include "log.h"
#include "ring_int.h"

bool
ring_host_fences(const struct engine *e)
{
	const struct ring *r = e->ring;

	return engine_ring_enabled(e) && !r->alone &&
	    r->min_minor >= RING_MINOR_OURS;
}

static struct engine_fence *
ring_host_fence_find(const struct engine *e, const struct ipaddr *backend,
    const struct ringwire_director *d)
{
	struct engine_round round;
	struct engine_fence *f;

	ring_round_from(&round, d);
	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_REMOVAL && f->ring &&
		    ipaddr_equals(&f->backend, backend) &&
		    ring_round_equal(&f->round, &round))
			return f;
	}
	return NULL;
}

/* A fence of backend (any round) still waiting for our sessions there:
 * a token of another round waits with it. */
static struct engine_fence *
ring_host_fence_killing(const struct engine *e, const struct ipaddr *backend)
{
	struct engine_fence *f, *found = NULL;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind == ENGINE_FENCE_REMOVAL && f->ring &&
		    f->kill == ENGINE_KILL_KILLING &&
		    ipaddr_equals(&f->backend, backend))
			found = f; /* the newest: it waits for the most */
	}
	return found;
}

/* X-HOST-KILLED of round for backend, to our right. */
static void
ring_host_token_send(struct engine *e, const struct engine_round *round,
    const struct ipaddr *backend)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;
	char ip[IPADDR_STR_MAX];

	if (r->right == NULL || !r->right->rounds) {
		log_debug("ring: kill token for removed backend %s not passed "
			  "on: no right that takes it",
		    ipaddr_format(backend, ip));
		return;
	}
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_X_HOST_KILLED;
	m->dir.ip = round->ip;
	m->dir.port = round->port;
	m->dir.seq = round->seq;
	m->host.ip = *backend;
	(void)ring_send(e, r->right, m);
}

void
ring_host_fence_start(
    struct engine *e, struct engine_fence *f, const struct engine_round *round)
{
	f->ring = true;
	f->round = *round;
	/* ours (zeroed): the token waits for ring_host_fence_originate() */
	f->ring_origin = round->port != 0 && ring_round_ours(e, round);
	f->kill = ENGINE_KILL_KILLING;
	f->ring_deadline_ms = e->now_ms + e->ring->set.move_timeout_ms;
}

void
ring_host_killed_local(struct engine *e, struct engine_fence *f)
{
	struct ring *r = e->ring;
	struct engine_fence *k;
	size_t i;

	/* between links (a handshake under way) the token waits for a
	 * right; alone, there is no one else to wait for */
	if (r->alone) {
		ring_fence_everywhere(e, f);
		return;
	}
	f->kill = ENGINE_KILL_WAITING_EVERYONE;
	if (f->ring_origin && !f->token_sent) {
		ring_host_token_send(e, &f->round, &f->backend);
		f->token_sent = true;
	}
	/* the tokens of other rounds wait for every session there */
	k = ring_host_fence_killing(e, &f->backend);
	for (i = 0; i < f->nheld; i++) {
		if (k == NULL)
			ring_host_token_send(e, &f->held[i], &f->backend);
		else if (k->nheld < ENGINE_FENCE_TOKENS_MAX)
			k->held[k->nheld++] = f->held[i];
	}
	f->nheld = 0;
}

void
ring_host_fence_originate(struct engine *e, const struct ipaddr *backend)
{
	const struct ring *r = e->ring;
	struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->kind != ENGINE_FENCE_REMOVAL || !f->ring ||
		    f->round.port != 0 || !ipaddr_equals(&f->backend, backend))
			continue;
		f->round.ip = r->self->addr.ip;
		f->round.port = r->self->addr.port;
		f->round.seq = r->seq; /* the HOST-REMOVE's */
		f->ring_origin = true;
		if (f->kill == ENGINE_KILL_WAITING_EVERYONE)
			ring_host_killed_local(e, f);
		return;
	}
}

void
ring_host_tokens_resend(struct engine *e)
{
	struct engine_fence *f;

	TAILQ_FOREACH (f, &e->fences, link) {
		/* ours, or one we passed on (it may have died with the
		 * director that had it) */
		if (f->kind == ENGINE_FENCE_REMOVAL && f->ring &&
		    f->round.port != 0 &&
		    f->kill == ENGINE_KILL_WAITING_EVERYONE)
			ring_host_token_send(e, &f->round, &f->backend);
	}
}

/* Our round's token came back: every director passed it after its own
 * sessions on the backend had ended. */
static void
ring_host_round_done(
    struct engine *e, const struct ringwire_msg *token, struct engine_fence *f)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_X_HOST_KILLED_EVERYWHERE;
	m->host.ip = token->host.ip;
	m->round = token->dir;
	ring_originate(e, m);
	ring_flood(e, NULL, m);
	if (f != NULL && f->kill != ENGINE_KILL_DELAY)
		ring_fence_everywhere(e, f);
}

void
ring_handle_host_killed(struct engine *e, const struct ringwire_msg *msg)
{
	struct engine_fence *f =
	    ring_host_fence_find(e, &msg->host.ip, &msg->dir);
	struct engine_fence *k;
	struct engine_round round;
	char ip[IPADDR_STR_MAX];

	ring_round_from(&round, &msg->dir);
	if (ring_round_ours(e, &round)) {
		ring_host_round_done(e, msg, f);
		return;
	}
	/* held while any session of ours there is still open */
	k = ring_host_fence_killing(e, &msg->host.ip);
	if (k != NULL) {
		if (k->nheld < ENGINE_FENCE_TOKENS_MAX)
			k->held[k->nheld++] = round;
		return;
	}
	if (f == NULL) {
		if (hosts_lookup(e->hosts, &msg->host.ip) != NULL) {
			log_warn("ring: kill token for backend %s came before "
				 "its removal: dropped (the removal's fences "
				 "end by their timeout)",
			    ipaddr_format(&msg->host.ip, ip));
			return;
		}
	}
	/* no session of ours there (any more) */
	ring_host_token_send(e, &round, &msg->host.ip);
}

void
ring_handle_host_killed_everywhere(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct engine_fence *f =
	    ring_host_fence_find(e, &msg->host.ip, &msg->round);

	ring_flood(e, l, msg);
	if (f != NULL && f->kill != ENGINE_KILL_DELAY)
		ring_fence_everywhere(e, f);
}

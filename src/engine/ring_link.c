/*
 * ring_link.c - the ring's links: which director is our right and our
 * left, connecting and reconnecting, the handshake both ways, pings and
 * the timeouts of every stage (see ring.h, ring_int.h).
 *
 * Invariants: at most one outgoing link is being made at a time
 * (r->connecting); left and right are READY links; a CLOSING link gets
 * no more output and its input is ignored; a link is freed only by
 * engine_ring_closed().
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "users.h"
#include "xmalloc.h"

/* -- ordering ------------------------------------------------------------ */

/* Distance going right from self: 1 for the next one, ndirs-1 for the
 * one just before self (our natural left). */
static size_t
ring_dir_distance(const struct ring *r, const struct ring_dir *d)
{
	size_t i, self = 0, pos = 0;

	for (i = 0; i < r->ndirs; i++) {
		if (r->dirs[i] == r->self)
			self = i;
		if (r->dirs[i] == d)
			pos = i;
	}
	return (pos + r->ndirs - self) % r->ndirs;
}

int
ring_dir_cmp_right(
    const struct ring *r, const struct ring_dir *a, const struct ring_dir *b)
{
	size_t da = ring_dir_distance(r, a), db = ring_dir_distance(r, b);

	return da < db ? 1 : da > db ? -1 : 0;
}

/* -- links --------------------------------------------------------------- */

struct ring_link *
ring_link_new(struct engine *e, bool outgoing)
{
	struct ring_link *l = xcalloc(1, sizeof(*l));

	l->outgoing = outgoing;
	l->state = outgoing ? RING_LINK_CONNECTING : RING_LINK_HANDSHAKE;
	l->minor = RINGWIRE_MINOR;
	l->created_ms = e->now_ms;
	buf_init(&l->out, RING_OUTPUT_MAX);
	TAILQ_INSERT_TAIL(&e->ring->links, l, entry);
	return l;
}

static void
ring_link_free(struct engine *e, struct ring_link *l)
{
	TAILQ_REMOVE(&e->ring->links, l, entry);
	l->out.len = 0; /* ring traffic is not secret: no wipe needed */
	buf_deinit(&l->out);
	free(l->hs_users);
	free(l->hand_hosts);
	free(l);
}

bool
ring_send(struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	if (l->state == RING_LINK_CLOSING || l->state == RING_LINK_CONNECTING)
		return false;
	if (ringwire_cmd_is_ours(msg->cmd) && !l->rounds)
		return false; /* a Dovecot peer would drop the link */
	switch (ringwire_format(msg, l->minor, &l->out)) {
	case RINGWIRE_FMT_OK:
		return true;
	case RINGWIRE_FMT_SKIP:
	case RINGWIRE_FMT_UNSUPPORTED:
		return false;
	case RINGWIRE_FMT_FULL:
		ring_link_close(e, l, "output buffer full", false);
		return false;
	}
	return false;
}

void
ring_send_simple(struct engine *e, struct ring_link *l, enum ringwire_cmd cmd)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = cmd;
	(void)ring_send(e, l, m);
}

void
ring_link_name(struct ring_link *l)
{
	char ip[IPADDR_STR_MAX];

	if (l->peer != NULL)
		snprintf(l->name, sizeof(l->name), "%s%s", l->peer->name,
		    l->outgoing ? " (right)" : " (left)");
	else
		snprintf(l->name, sizeof(l->name), "%s (incoming)",
		    ipaddr_format(&l->peer_ip, ip));
}

static bool
ring_link_is_neighbour(const struct ring *r, const struct ring_link *l)
{
	return l == r->left || l == r->right;
}

void
ring_link_close(
    struct engine *e, struct ring_link *l, const char *why, bool protocol_error)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;
	bool neighbour = ring_link_is_neighbour(r, l);

	if (l->state == RING_LINK_CLOSING)
		return;
	if (why != NULL) {
		if (protocol_error || neighbour)
			log_warn("ring: director %s: %s, disconnecting",
			    l->name, why);
		else
			log_info("ring: director %s: %s, disconnecting",
			    l->name, why);
	}
	if (why != NULL && l->state != RING_LINK_CONNECTING && l->got_version &&
	    l->minor >= RINGWIRE_MINOR_QUIT) {
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_QUIT;
		strlcpy(m->reason, why, sizeof(m->reason));
		(void)ring_send(e, l, m);
	}
	if (l->peer != NULL && protocol_error)
		l->peer->protocol_failure_ms = e->now_ms;
	if (l->outgoing && l->peer != NULL && !l->counted_failure &&
	    (l->state != RING_LINK_READY ||
		e->now_ms - l->connected_ms < 40000)) {
		/* a right that did not last: don't come back at once */
		l->peer->network_failure_ms = e->now_ms;
		l->counted_failure = true;
	}
	l->state = RING_LINK_CLOSING;
	if (l == r->connecting)
		r->connecting = NULL;
	if (l == r->left)
		r->left = NULL;
	if (l == r->right)
		r->right = NULL;
	engine_effect_add(e, ENGINE_EFFECT_RING_CLOSE, NULL, NULL, NULL);
	e->effects[e->effects_count - 1].link = l;
	if (neighbour)
		ring_topology_changed(e);
}

/* -- connecting to the right ---------------------------------------------- */

static bool
ring_dir_failed(const struct engine *e, const struct ring_dir *d)
{
	uint64_t now = e->now_ms;

	return (d->network_failure_ms != 0 &&
		   now - d->network_failure_ms < RING_RECONNECT_RETRY_MS) ||
	    (d->protocol_failure_ms != 0 &&
		now - d->protocol_failure_ms < RING_RECONNECT_RETRY_MS);
}

/* The first director after us worth dialling; if we have a right, only
 * one closer than it. */
static struct ring_dir *
ring_pick_right(const struct engine *e, bool ignore_failures)
{
	const struct ring *r = e->ring;
	struct ring_dir *d, *best = NULL;
	size_t i;

	for (i = 0; i < r->ndirs; i++) {
		d = r->dirs[i];
		if (d->self || d->removed)
			continue;
		if (!ignore_failures && ring_dir_failed(e, d))
			continue;
		if (best == NULL || ring_dir_cmp_right(r, d, best) > 0)
			best = d;
	}
	if (best != NULL && r->right != NULL &&
	    ring_dir_cmp_right(r, best, r->right->peer) <= 0)
		return NULL;
	return best;
}

static void
ring_become_alone(struct engine *e)
{
	struct ring *r = e->ring;

	if (!r->alone)
		log_warn("ring: couldn't connect to a right side for %u s, we "
			 "must be the only director left",
		    RING_MIN_WAIT_MS / 1000);
	/* first: closing the left must not make us look for a ring */
	r->alone = true;
	if (r->left != NULL)
		ring_link_close(e, r->left, "assuming it is dead", false);
	r->min_minor = RINGWIRE_MINOR;
	r->handshaked = true;
	r->synced = true;
	r->frozen = false;
	ring_fences_alone(e);
	ring_waiters_run(e);
	ring_admin_run(e);
	engine_flush_step_all(e);
}

void
ring_connect_right(struct engine *e)
{
	struct ring *r = e->ring;
	struct ring_dir *d;
	struct ring_link *l;
	size_t i;

	if (r->connecting != NULL || r->ndirs < 2 || e->shutting_down)
		return;
	if (r->alone && r->right == NULL) {
		/* alone we try everyone, but not more often than this: a
		 * dial that fails at once must not be retried at once */
		if (e->now_ms < r->alone_retry_ms)
			return;
		r->alone_retry_ms = e->now_ms + RING_QUICK_RECONNECT_MS;
	}
	d = ring_pick_right(e, r->alone);
	if (d == NULL) {
		if (r->right != NULL)
			return;
		if (r->trying_since_ms == 0)
			r->trying_since_ms = e->now_ms;
		if (!r->alone &&
		    e->now_ms - r->trying_since_ms >= RING_MIN_WAIT_MS) {
			ring_become_alone(e);
			r->next_connect_ms = e->now_ms + RING_SYNC_TIMEOUT_MS;
			return;
		}
		/* keep trying everyone, quickly, before giving up */
		for (i = 0; i < r->ndirs; i++) {
			r->dirs[i]->network_failure_ms = 0;
			r->dirs[i]->protocol_failure_ms = 0;
		}
		r->next_connect_ms = e->now_ms + RING_QUICK_RECONNECT_MS;
		return;
	}
	l = ring_link_new(e, true);
	l->target = d->addr;
	l->peer = d;
	ring_link_name(l);
	l->deadline_ms = e->now_ms + RING_CONNECT_TIMEOUT_MS;
	r->connecting = l;
	r->next_connect_ms = 0;
	log_debug("ring: connecting to %s", d->name);
	engine_effect_add(e, ENGINE_EFFECT_RING_CONNECT, NULL, NULL, NULL);
	e->effects[e->effects_count - 1].link = l;
}

void
engine_ring_input(struct engine *e, uint64_t now_ms, struct ring_link *l,
    const char *line, size_t len)
{
	struct ringwire_msg msg;
	char err[256];
	int ret;

	engine_see_time(e, now_ms);
	if (l->state == RING_LINK_CLOSING || l->state == RING_LINK_CONNECTING)
		return;
	l->last_input_ms = e->now_ms;
	if (ringwire_parse(line, len, &msg, err, sizeof(err)) == -1) {
		ring_link_close(e, l, err, true);
		return;
	}
	if (!l->got_version && msg.cmd != RINGWIRE_VERSION) {
		ring_link_close(e, l, "did not start with VERSION", true);
		return;
	}
	ret = ring_tls_line(e, l, &msg);
	if (ret != 0)
		return;
	ret = ring_link_handle(e, l, &msg);
	if (ret != 0)
		return;
	if (!l->got_me) {
		ring_link_close(e, l, "sent a command before ME", true);
		return;
	}
	(void)ring_sync_handle(e, l, &msg);
}

void
engine_ring_closed(
    struct engine *e, uint64_t now_ms, struct ring_link *l, const char *why)
{
	engine_see_time(e, now_ms);
	if (l->state != RING_LINK_CLOSING) {
		ring_link_close(
		    e, l, why != NULL ? why : "connection lost", false);
	}
	/* a queued RING_CLOSE for it must not outlive it */
	engine_effects_drop_link(e, l);
	ring_link_free(e, l);
	ring_connect_right(e);
}

struct ring_link *
engine_ring_next_output(struct engine *e)
{
	struct ring_link *l;

	if (e->ring == NULL)
		return NULL;
	TAILQ_FOREACH (l, &e->ring->links, entry) {
		if (l->out.len > 0 && l->owner != NULL)
			return l;
	}
	return NULL;
}

const void *
ring_link_output(const struct ring_link *l, size_t *len_r)
{
	*len_r = l->out.len;
	return l->out.data;
}

void
ring_link_output_taken(struct ring_link *l)
{
	l->out.len = 0;
}

void
ring_link_set_owner(struct ring_link *l, void *owner)
{
	l->owner = owner;
}

void *
ring_link_owner(const struct ring_link *l)
{
	return l->owner;
}

const struct ring_addr *
ring_link_target(const struct ring_link *l)
{
	return &l->target;
}

const struct ipaddr *
ring_link_peer_ip(const struct ring_link *l)
{
	return l->outgoing ? &l->target.ip : &l->peer_ip;
}

/* -- time ------------------------------------------------------------------ */

static void
ring_link_tick(struct engine *e, struct ring_link *l)
{
	struct ringwire_msg *m = &e->ring->msg;
	uint64_t now = e->now_ms, interval;

	if (l->state == RING_LINK_CLOSING)
		return;
	if (l->deadline_ms != 0 && now >= l->deadline_ms) {
		ring_link_close(e, l,
		    l->state == RING_LINK_CONNECTING ? "connect timed out"
			: !l->got_me  ? "handshaking ME timed out"
			: l->outgoing ? "sending handshake timed out"
				      : "handshaking DONE timed out",
		    false);
		return;
	}
	if (l->close_at_ms != 0 && now >= l->close_at_ms) {
		ring_link_close(e, l, "did not go where we told it", false);
		return;
	}
	if (l->state != RING_LINK_READY)
		return;
	if (l->ping_sent_ms != 0) {
		if (now - l->last_input_ms >=
		    e->ring->set.ping_idle_timeout_ms) {
			ring_link_close(e, l, "ping timed out", false);
			return;
		}
		if (now - l->ping_sent_ms >= e->ring->set.ping_max_timeout_ms) {
			ring_link_close(e, l,
			    "PONG reply not received although other input "
			    "keeps coming",
			    false);
			return;
		}
	}
	if (now < l->next_ping_ms)
		return;
	interval = e->ring->synced ? RING_PING_INTERVAL_MS
				   : RING_PING_SYNC_INTERVAL_MS;
	l->next_ping_ms = now + interval;
	if (l->ping_sent_ms == 0)
		l->ping_sent_ms = now;
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_PING;
	m->time = (int64_t)engine_now_secs(e);
	m->outbuf_size = l->out.len;
	(void)ring_send(e, l, m);
}

void
ring_links_tick(struct engine *e)
{
	struct ring *r = e->ring;
	struct ring_link *l;

	TAILQ_FOREACH (l, &r->links, entry)
		ring_link_tick(e, l);
	if (r->next_connect_ms != 0 && e->now_ms >= r->next_connect_ms) {
		r->next_connect_ms = 0;
		ring_connect_right(e);
	} else if (r->right == NULL && r->connecting == NULL &&
	    r->next_connect_ms == 0)
		ring_connect_right(e);
	else if (r->right != NULL && r->synced && r->connecting == NULL &&
	    e->now_ms - r->right->handshaked_ms >=
		RING_PREFERRED_RECONNECT_MS &&
	    ring_pick_right(e, false) != NULL)
		ring_connect_right(e); /* a closer right came back */
}

uint64_t
ring_links_deadline(const struct engine *e, uint64_t next)
{
	const struct ring *r = e->ring;
	const struct ring_link *l;

	TAILQ_FOREACH (l, &r->links, entry) {
		if (l->state == RING_LINK_CLOSING)
			continue;
		if (l->deadline_ms != 0 && l->deadline_ms < next)
			next = l->deadline_ms;
		if (l->close_at_ms != 0 && l->close_at_ms < next)
			next = l->close_at_ms;
		if (l->state == RING_LINK_READY && l->next_ping_ms < next)
			next = l->next_ping_ms;
	}
	if (r->next_connect_ms != 0 && r->next_connect_ms < next)
		next = r->next_connect_ms;
	return next;
}

void
ring_freeze(struct engine *e)
{
	struct ring *r = e->ring;
	struct ring_link *l;

	TAILQ_FOREACH (l, &r->links, entry)
		ring_link_close(e, l, "we were frozen", false);
	r->left = r->right = NULL;
	r->connecting = NULL;
	r->alone = false;
	r->handshaked = false;
	r->synced = false;
	r->frozen = true;
	r->trying_since_ms = e->now_ms;
	r->next_connect_ms = 0;
	ring_connect_right(e);
}

void
ring_shutdown(struct engine *e)
{
	struct ring_link *l;

	ring_waiters_run(e); /* the engine refuses them now */
	TAILQ_FOREACH (l, &e->ring->links, entry)
		ring_link_close(e, l, "shutting down", false);
}

void
ring_tick(struct engine *e)
{
	if (e->ring->ndirs < 2)
		return;
	ring_links_tick(e);
	ring_sync_tick(e);
	ring_user_tick(e);
	ring_health_tick(e);
}

uint64_t
ring_next_deadline(const struct engine *e, uint64_t next)
{
	if (e->ring->ndirs < 2)
		return next;
	next = ring_links_deadline(e, next);
	next = ring_sync_deadline(e, next);
	next = ring_health_deadline(e, next);
	return ring_user_deadline(e, next);
}

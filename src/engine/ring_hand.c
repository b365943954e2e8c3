/*
 * ring_hand.c - the ring's handshake (see ring.h, ring_int.h): VERSION
 * and ME both ways; the connecting side sends its directors, backends,
 * users (streamed, a round at a time) and OPTIONS, then DONE; the
 * accepting side answers DONE.  Also which incoming director becomes our
 * left (CONNECT redirection), which outgoing one our right, and the
 * point-to-point commands (PING, PONG, QUIT, CONNECT).
 *
 * Invariants: a link becomes left or right only when DONE went both
 * ways; a frozen director sends no users (the ring's view wins) and
 * says its ring is not handshaked, so its stale backends are ignored.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "xmalloc.h"

static const char *const ring_hashing_options[] = {
    RINGWIRE_OPT_CONSISTENT_HASHING,
    "rendezvous-hashing",
};

static const char *
ring_hashing_option(const struct ring *r)
{
	return ring_hashing_options[r->set.dovecot_hashing ? 0 : 1];
}

/* -- handshake ------------------------------------------------------------ */

#define RING_OPT_STARTTLS "x-starttls"

/* OPTIONS with our hashing method, our extensions, and the TLS offer or
 * answer (2.3 ignores options it does not know). */
static void
ring_send_options(struct engine *e, struct ring_link *l, bool starttls)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_OPTIONS;
	strlcpy(m->options[m->options_count++], ring_hashing_option(e->ring),
	    sizeof(m->options[0]));
	strlcpy(m->options[m->options_count++], RING_OPT_FENCE_ROUNDS,
	    sizeof(m->options[0]));
	if (starttls)
		strlcpy(m->options[m->options_count++], RING_OPT_STARTTLS,
		    sizeof(m->options[0]));
	(void)ring_send(e, l, m);
}

/* The outgoing side's DIRECTOR lines: every director we know. */
static void
ring_send_directors(struct engine *e, struct ring_link *l)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;
	size_t i;

	for (i = 0; i < r->ndirs; i++) {
		if (r->dirs[i]->removed)
			continue;
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_DIRECTOR;
		m->dir.ip = r->dirs[i]->addr.ip;
		m->dir.port = r->dirs[i]->addr.port;
		(void)ring_send(e, l, m);
	}
}

static void
ring_send_greeting(struct engine *e, struct ring_link *l)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_VERSION;
	m->major = RINGWIRE_MAJOR;
	m->minor = RINGWIRE_MINOR;
	(void)ring_send(e, l, m);
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_ME;
	m->dir.ip = r->self->addr.ip;
	m->dir.port = r->self->addr.port;
	m->has_time = true;
	m->time = (int64_t)engine_now_secs(e);
	(void)ring_send(e, l, m);
	if (!l->outgoing)
		return;
	if (r->set.tls && l->tls == RING_TLS_OFF) {
		/* offer TLS; the PING is a barrier: a peer that takes the
		 * offer answers it with OPTIONS x-starttls, others PONG */
		ring_send_options(e, l, true);
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_PING;
		m->time = (int64_t)engine_now_secs(e);
		(void)ring_send(e, l, m);
		l->tls = RING_TLS_OFFERED;
		return;
	}
	ring_send_directors(e, l);
}

struct ring_link *
engine_ring_accept(struct engine *e, uint64_t now_ms,
    const struct ipaddr *peer_ip, void *owner)
{
	struct ring_link *l;

	engine_see_time(e, now_ms);
	l = ring_link_new(e, false);
	l->owner = owner;
	l->peer_ip = *peer_ip;
	l->connected_ms = e->now_ms;
	l->last_input_ms = e->now_ms;
	l->deadline_ms = e->now_ms + RING_ME_TIMEOUT_MS;
	ring_link_name(l);
	ring_send_greeting(e, l);
	return l;
}

void
engine_ring_connected(struct engine *e, uint64_t now_ms, struct ring_link *l)
{
	engine_see_time(e, now_ms);
	if (l->state != RING_LINK_CONNECTING)
		return;
	l->state = RING_LINK_HANDSHAKE;
	l->connected_ms = e->now_ms;
	l->last_input_ms = e->now_ms;
	l->deadline_ms = e->now_ms + RING_ME_TIMEOUT_MS;
	ring_send_greeting(e, l);
}

/* Outgoing: the peer's VERSION came; send it our state. */
static void
ring_send_state(struct engine *e, struct ring_link *l)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;
	size_t i;

	l->sent_state = true;
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_HOST_HAND_START;
	m->ring_handshaked = r->handshaked && !r->frozen;
	(void)ring_send(e, l, m);
	for (i = 0; i < hosts_count(e->hosts); i++) {
		ring_host_msg(e, hosts_get(e->hosts, i), true, m);
		(void)ring_send(e, l, m);
	}
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_HOST_HAND_END;
	m->ring_handshaked = r->handshaked && !r->frozen;
	(void)ring_send(e, l, m);
	ring_users_snapshot(e, l);
	l->deadline_ms = e->now_ms + RING_SEND_USERS_TIMEOUT_MS;
	engine_ring_drained(e, e->now_ms, l);
}

void
engine_ring_drained(struct engine *e, uint64_t now_ms, struct ring_link *l)
{
	engine_see_time(e, now_ms);
	if (l->state != RING_LINK_HANDSHAKE || !l->sent_state || l->sent_done)
		return;
	if (!ring_users_stream(e, l)) {
		l->hs_waiting = true;
		return;
	}
	l->hs_waiting = false;
	free(l->hs_users);
	l->hs_users = NULL;
	ring_send_options(e, l, false);
	ring_send_simple(e, l, RINGWIRE_DONE);
	l->sent_done = true;
}

static void
ring_send_connect(
    struct engine *e, struct ring_link *l, const struct ring_dir *to)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_CONNECT;
	m->dir.ip = to->addr.ip;
	m->dir.port = to->addr.port;
	(void)ring_send(e, l, m);
}

/* Incoming: who is it, and should it be our left? */
static int
ring_handle_me_incoming(
    struct engine *e, struct ring_link *l, struct ring_dir *d)
{
	struct ring *r = e->ring;
	struct ring_link *left = r->left;

	if (l->peer != NULL) {
		/* its ME again, inside TLS: where it goes was decided */
		if (l->peer == d) {
			l->deadline_ms = e->now_ms + RING_DONE_TIMEOUT_MS;
			return 0;
		}
		ring_link_close(e, l, "its ME changed inside TLS", true);
		return -1;
	}
	if (!ipaddr_equals(&d->addr.ip, &l->peer_ip)) {
		ring_link_close(e, l,
		    "its ME names another address than it connects from", true);
		return -1;
	}
	l->peer = d;
	ring_link_name(l);
	/* it may have restarted: its sequence numbers start again */
	d->seq_known = false;
	d->sync_known = false;
	d->network_failure_ms = 0;
	l->users_override = r->frozen;
	l->deadline_ms = e->now_ms + RING_DONE_TIMEOUT_MS;
	if (left == NULL || left->peer == d) {
		ring_connect_right(e);
		return 0;
	}
	if (ring_dir_cmp_right(r, d, left->peer) < 0) {
		/* it sits between our left and us: our left should
		 * connect to it instead of us */
		log_info("ring: %s is between %s and us, telling %s to "
			 "connect to it",
		    d->name, left->peer->name, left->peer->name);
		ring_send_connect(e, left, d);
		return 0;
	}
	if (e->now_ms - left->last_input_ms < 2 * RING_PING_INTERVAL_MS) {
		/* our left is alive and closer: send it there */
		log_info("ring: %s connected to us but our left %s is "
			 "alive: telling it to connect there",
		    d->name, left->peer->name);
		ring_send_connect(e, l, left->peer);
		l->close_at_ms = e->now_ms + RING_WAIT_DISCONNECT_MS;
	}
	return 0;
}

static int
ring_handle_me(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ring *r = e->ring;
	struct ring_dir *d;
	int64_t diff;

	if (l->got_me) {
		ring_link_close(e, l, "sent ME twice", true);
		return -1;
	}
	l->got_me = true;
	if (msg->has_time) {
		diff = msg->time - (int64_t)engine_now_secs(e);
		if (diff > 1 || diff < -1)
			log_warn("ring: director %s clock differs from ours "
				 "by %lld secs",
			    l->name, (long long)diff);
	}
	if (l->outgoing) {
		if (!ipaddr_equals(&msg->dir.ip, &l->target.ip) ||
		    msg->dir.port != l->target.port) {
			ring_link_close(e, l,
			    "remote director thinks it's someone else", true);
			return -1;
		}
		l->deadline_ms = e->now_ms + RING_SEND_USERS_TIMEOUT_MS;
		return 0;
	}
	d = ring_dir_find(r, &msg->dir.ip, msg->dir.port);
	if (d == NULL || d->removed) {
		ring_link_close(e, l,
		    d == NULL ? "not in director_servers and not added at "
				"runtime (directorctl ring add)"
			      : "it was removed from the ring",
		    true);
		return -1;
	}
	if (d->self) {
		ring_link_close(e, l, "it claims to be us", true);
		return -1;
	}
	return ring_handle_me_incoming(e, l, d);
}

/* The handshake of l is over both ways. */
static void
ring_link_ready(struct engine *e, struct ring_link *l)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;
	struct ring_link *old;

	l->state = RING_LINK_READY;
	l->deadline_ms = 0;
	l->handshaked_ms = e->now_ms;
	l->next_ping_ms = e->now_ms + RING_PING_INTERVAL_MS;
	log_info("ring: handshake with %s finished in %llu ms", l->name,
	    (unsigned long long)(e->now_ms - l->connected_ms));
	if (l->outgoing) {
		if (l == r->connecting)
			r->connecting = NULL;
		old = r->right;
		if (old != NULL && old->peer != l->peer &&
		    ring_dir_cmp_right(r, l->peer, old->peer) <= 0) {
			ring_link_close(
			    e, l, "aborting incorrect outgoing link", false);
			return;
		}
		r->right = l;
		r->trying_since_ms = 0;
		if (old != NULL)
			ring_link_close(
			    e, old, "replaced by a closer right", false);
		ring_moves_resend(e);
	} else {
		old = r->left;
		if (old != NULL && old->peer != l->peer &&
		    ring_dir_cmp_right(r, l->peer, old->peer) > 0) {
			ring_link_close(
			    e, l, "our left is closer than it", false);
			return;
		}
		r->left = l;
		if (old != NULL)
			ring_link_close(
			    e, old, "replaced by a closer left", false);
		/* tell the others it is (back) in the ring */
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_DIRECTOR;
		m->dir.ip = l->peer->addr.ip;
		m->dir.port = l->peer->addr.port;
		ring_flood(e, l, m);
	}
	r->alone = false;
	ring_topology_changed(e);
}

static int
ring_handle_options(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	const char *want = ring_hashing_option(e->ring);
	unsigned int i;

	l->got_options = true;
	for (i = 0; i < msg->options_count; i++) {
		if (strcmp(msg->options[i], want) == 0)
			l->options_ok = true;
		if (strcmp(msg->options[i], RING_OPT_FENCE_ROUNDS) == 0)
			l->rounds = true;
	}
	if (!l->options_ok) {
		char why[200];

		snprintf(why, sizeof(why),
		    "its hashing method differs from ours (we need option "
		    "'%s'): set director_hashing = %s on every director",
		    want,
		    e->ring->set.dovecot_hashing ? "dovecot" : "rendezvous");
		ring_link_close(e, l, why, true);
		return -1;
	}
	return 0;
}

static int
ring_handle_done(struct engine *e, struct ring_link *l)
{
	if (l->got_done) {
		ring_link_close(e, l, "sent DONE twice", true);
		return -1;
	}
	l->got_done = true;
	if (l->outgoing) {
		if (!l->sent_done) {
			ring_link_close(e, l, "sent DONE before we did", true);
			return -1;
		}
		ring_link_ready(e, l);
		return 0;
	}
	if (!l->got_me) {
		ring_link_close(e, l, "sent DONE before ME", true);
		return -1;
	}
	if (!l->got_options && !e->ring->set.dovecot_hashing) {
		ring_link_close(e, l,
		    "sent no OPTIONS: it hashes the Dovecot way; set "
		    "director_hashing = dovecot on every director",
		    true);
		return -1;
	}
	/* a peer of ours learns that we take its extensions too (2.3
	 * never offers them, and gets no OPTIONS from us here) */
	if (l->rounds)
		ring_send_options(e, l, false);
	ring_send_simple(e, l, RINGWIRE_DONE);
	l->sent_done = true;
	ring_link_ready(e, l);
	return 0;
}

static void
ring_handle_connect(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ring *r = e->ring;
	struct ring_dir *d = ring_dir_find(r, &msg->dir.ip, msg->dir.port);

	if (d == NULL || d->removed || d->self ||
	    (r->right != NULL && r->right->peer == d)) {
		log_info("ring: %s told us to connect to %s:%u: ignored",
		    l->name, d != NULL ? d->name : "an unknown director",
		    msg->dir.port);
		return;
	}
	if (r->right != NULL && ring_dir_cmp_right(r, d, r->right->peer) < 0) {
		log_info("ring: %s told us to connect to %s, but our right "
			 "is closer: ignored",
		    l->name, d->name);
		return;
	}
	log_info("ring: %s told us to connect to %s", l->name, d->name);
	d->network_failure_ms = 0;
	d->protocol_failure_ms = 0;
	if (r->connecting != NULL && r->connecting->peer != d)
		ring_link_close(
		    e, r->connecting, "connecting elsewhere", false);
	ring_connect_right(e);
}

int
ring_link_handle(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ringwire_msg *m = &e->ring->msg;

	switch (msg->cmd) {
	case RINGWIRE_VERSION:
		if (msg->major != RINGWIRE_MAJOR) {
			ring_link_close(
			    e, l, "incompatible major version", true);
			return -1;
		}
		l->got_version = true;
		l->minor =
		    msg->minor < RINGWIRE_MINOR ? msg->minor : RINGWIRE_MINOR;
		if (l->outgoing && !l->sent_state &&
		    l->tls != RING_TLS_OFFERED && l->tls != RING_TLS_SWITCHING)
			ring_send_state(e, l);
		return 1;
	case RINGWIRE_ME:
		return ring_handle_me(e, l, msg) == -1 ? -1 : 1;
	case RINGWIRE_OPTIONS:
		return ring_handle_options(e, l, msg) == -1 ? -1 : 1;
	case RINGWIRE_DONE:
		return ring_handle_done(e, l) == -1 ? -1 : 1;
	case RINGWIRE_HOST_HAND_START:
		/* a handshaked ring's hosts replace those of a director
		 * joining it; a joining director's are ignored by the ring */
		l->in_host_hand = msg->ring_handshaked ||
		    !e->ring->handshaked || e->ring->frozen;
		l->replace_hosts = msg->ring_handshaked &&
		    (!e->ring->handshaked || e->ring->frozen);
		l->hand_host_count = 0;
		return 1;
	case RINGWIRE_HOST_HAND:
		if (l->in_host_hand && ring_host_hand(e, l, &msg->host) == -1)
			return -1;
		return 1;
	case RINGWIRE_HOST_HAND_END:
		if (l->in_host_hand)
			ring_host_hand_end(e, l);
		l->in_host_hand = false;
		return 1;
	case RINGWIRE_U:
		ring_user_apply(e, l, &msg->user, true);
		return 1;
	case RINGWIRE_PING:
		memset(m, 0, sizeof(*m));
		m->cmd = RINGWIRE_PONG;
		m->time = (int64_t)engine_now_secs(e);
		m->outbuf_size = l->out.len;
		(void)ring_send(e, l, m);
		return 1;
	case RINGWIRE_PONG:
		l->ping_sent_ms = 0;
		return 1;
	case RINGWIRE_QUIT:
		log_info("ring: director %s disconnected us with reason: %s",
		    l->name, msg->reason);
		ring_link_close(e, l, NULL, false);
		return -1;
	case RINGWIRE_CONNECT:
		ring_handle_connect(e, l, msg);
		return 1;
	default:
		return 0;
	}
}

/* -- TLS ------------------------------------------------------------------ */

static bool
ring_msg_offers_tls(const struct ringwire_msg *msg)
{
	unsigned int i;

	if (msg->cmd != RINGWIRE_OPTIONS)
		return false;
	for (i = 0; i < msg->options_count; i++) {
		if (strcmp(msg->options[i], RING_OPT_STARTTLS) == 0)
			return true;
	}
	return false;
}

/* The peer did not take or make the TLS offer: allowed only from the
 * networks of director_ring_plaintext_networks. */
static int
ring_tls_plain(struct engine *e, struct ring_link *l)
{
	const struct ring_settings *set = &e->ring->set;
	const struct ipaddr *ip = ring_link_peer_ip(l);

	if (set->plaintext_ok == NULL ||
	    !set->plaintext_ok(set->hash_ctx, ip)) {
		ring_link_close(e, l,
		    "it does not speak TLS and is not in "
		    "director_ring_plaintext_networks",
		    true);
		return -1;
	}
	log_info("ring: link with %s is not encrypted (the peer does not "
		 "offer TLS; allowed by director_ring_plaintext_networks)",
	    l->name);
	l->tls = RING_TLS_PLAIN;
	return 0;
}

static void
ring_tls_switch(struct engine *e, struct ring_link *l, bool accept)
{
	l->tls = RING_TLS_SWITCHING;
	engine_effect_add(e, ENGINE_EFFECT_RING_STARTTLS, NULL, NULL, NULL);
	e->effects[e->effects_count - 1].link = l;
	e->effects[e->effects_count - 1].accept = accept;
}

int
ring_tls_line(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	if (!e->ring->set.tls)
		return 0;
	switch (l->tls) {
	case RING_TLS_OFFERED:
		if (msg->cmd == RINGWIRE_PONG) {
			if (ring_tls_plain(e, l) == -1)
				return -1;
			ring_send_directors(e, l);
			if (l->got_version && !l->sent_state)
				ring_send_state(e, l);
			return 1;
		}
		if (ring_msg_offers_tls(msg)) {
			if (ring_handle_options(e, l, msg) == -1)
				return -1;
			ring_tls_switch(e, l, false);
			return 1;
		}
		return 0;
	case RING_TLS_OFF:
		if (l->outgoing || !l->got_me || msg->cmd == RINGWIRE_VERSION ||
		    msg->cmd == RINGWIRE_ME)
			return 0;
		if (ring_msg_offers_tls(msg)) {
			l->tls = RING_TLS_PEER_OFFERED;
			return 0; /* its hashing method is checked too */
		}
		return ring_tls_plain(e, l);
	case RING_TLS_PEER_OFFERED:
		if (msg->cmd != RINGWIRE_PING)
			return 0;
		ring_send_options(e, l, true);
		ring_tls_switch(e, l, true);
		return 1;
	case RING_TLS_SWITCHING:
		ring_link_close(
		    e, l, "sent plaintext after the TLS switch", true);
		return -1;
	default:
		return 0;
	}
}

void
engine_ring_tls_started(struct engine *e, uint64_t now_ms, struct ring_link *l)
{
	engine_see_time(e, now_ms);
	if (l->state != RING_LINK_HANDSHAKE || l->tls != RING_TLS_SWITCHING)
		return;
	l->tls = RING_TLS_ON;
	/* the handshake starts again, inside TLS */
	l->got_version = l->got_me = l->got_done = l->sent_done = false;
	l->sent_state = l->got_options = l->options_ok = false;
	l->rounds = false;
	l->minor = RINGWIRE_MINOR;
	l->deadline_ms = e->now_ms + RING_ME_TIMEOUT_MS;
	ring_send_greeting(e, l);
}

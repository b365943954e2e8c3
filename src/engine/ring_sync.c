/*
 * ring_sync.c - the ring's shared state: the director list, flooding
 * with per-origin sequence de-duplication, SYNC rounds with the hosts
 * hash, and the backend list's HOST, HOST-REMOVE and HOST-FLUSH (see
 * ring.h, ring_int.h).
 *
 * Invariants: a flooded command is applied at most once per origin and
 * sequence number; one from an unknown or removed origin is re-sent as
 * ours so that it still reaches everyone; we are synced only when our
 * latest SYNC came back around with our hosts hash, and any change of
 * left or right (or of the backend list by anyone) starts a new round.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ring_int.h"
#include "xmalloc.h"

#define RING_HELD_SYNCS_MAX 16
#define RING_REMOVED_PURGE_MS 30000

/* -- directors ------------------------------------------------------------ */

struct ring_dir *
ring_dir_find(const struct ring *r, const struct ipaddr *ip, uint16_t port)
{
	size_t i;

	for (i = 0; i < r->ndirs; i++) {
		if (r->dirs[i]->addr.port == port &&
		    ipaddr_equals(&r->dirs[i]->addr.ip, ip))
			return r->dirs[i];
	}
	return NULL;
}

static int
ring_dir_cmp_addr(const struct ring_dir *a, const struct ring_addr *b)
{
	int c = ipaddr_cmp(&a->addr.ip, &b->ip);

	if (c != 0)
		return c;
	return a->addr.port < b->port ? -1 : a->addr.port > b->port;
}

struct ring_dir *
ring_dir_add(struct ring *r, const struct ring_addr *addr)
{
	struct ring_dir *d = xcalloc(1, sizeof(*d));
	char ip[IPADDR_STR_MAX];
	size_t i;

	d->addr = *addr;
	ipaddr_format(&addr->ip, ip);
	snprintf(d->name, sizeof(d->name),
	    addr->ip.family == 6 ? "[%s]:%u" : "%s:%u", ip, addr->port);
	if (r->ndirs == r->dirs_cap) {
		r->dirs_cap = r->dirs_cap == 0 ? 8 : r->dirs_cap * 2;
		r->dirs = xreallocarray(r->dirs, r->dirs_cap, sizeof(*r->dirs));
	}
	for (i = r->ndirs; i > 0 && ring_dir_cmp_addr(r->dirs[i - 1], addr) > 0;
	     i--)
		r->dirs[i] = r->dirs[i - 1];
	r->dirs[i] = d;
	r->ndirs++;
	return d;
}

/* Forgets a removed director, unless a link still names it. */
static bool
ring_dir_purge(struct ring *r, struct ring_dir *d)
{
	struct ring_link *l;
	size_t i;

	TAILQ_FOREACH (l, &r->links, entry) {
		if (l->peer == d)
			return false;
	}
	for (i = 0; i < r->ndirs; i++) {
		if (r->dirs[i] == d)
			break;
	}
	memmove(&r->dirs[i], &r->dirs[i + 1],
	    (r->ndirs - i - 1) * sizeof(*r->dirs));
	r->ndirs--;
	free(d);
	return true;
}

int
engine_ring_start(
    struct engine *e, uint64_t now_ms, const struct ring_settings *set)
{
	struct ring *r;
	size_t i;

	if (set->self.ip.family == 0 || set->self.port == 0)
		return -1;
	engine_see_time(e, now_ms);
	r = xcalloc(1, sizeof(*r));
	r->set = *set;
	TAILQ_INIT(&r->links);
	r->self = ring_dir_add(r, &set->self);
	r->self->self = true;
	for (i = 0; i < set->server_count; i++) {
		if (ring_dir_find(
			r, &set->servers[i].ip, set->servers[i].port) == NULL)
			(void)ring_dir_add(r, &set->servers[i]);
	}
	r->set.servers = NULL;
	r->set.server_count = 0;
	if (r->set.move_timeout_ms == 0)
		r->set.move_timeout_ms = RING_USER_MOVE_TIMEOUT_MS;
	/* a restarted director must not repeat its old sequence numbers:
	 * start from the clock (peers also reset on our ME) */
	r->seq = (uint32_t)(e->now_ms / 1000);
	r->min_minor = RINGWIRE_MINOR;
	e->ring = r;
	if (r->ndirs < 2) {
		r->alone = true;
		r->handshaked = true;
		r->synced = true;
		return 0;
	}
	log_info(
	    "ring: we are %s, one of %zu directors", r->self->name, r->ndirs);
	r->trying_since_ms = e->now_ms;
	ring_connect_right(e);
	return 0;
}

uint64_t
ring_user_expire_min_ms(uint64_t ping_idle_timeout_ms, uint64_t move_timeout_ms)
{
	uint64_t a = 2 * move_timeout_ms, b = 4 * ping_idle_timeout_ms;

	return a > b ? a : b;
}

void
engine_ring_free(struct engine *e)
{
	struct ring *r = e->ring;
	struct ring_link *l;
	size_t i;

	if (r == NULL)
		return;
	while ((l = TAILQ_FIRST(&r->links)) != NULL) {
		TAILQ_REMOVE(&r->links, l, entry);
		buf_deinit(&l->out);
		free(l->hs_users);
		free(l->hand_hosts);
		free(l);
	}
	for (i = 0; i < r->ndirs; i++)
		free(r->dirs[i]);
	free(r->dirs);
	free(r->held_syncs);
	free(r->admin_waiters);
	free(r->takeovers);
	free(r);
	e->ring = NULL;
}

bool
engine_ring_enabled(const struct engine *e)
{
	return e->ring != NULL && e->ring->ndirs > 1;
}

bool
engine_ring_synced(const struct engine *e)
{
	return e->ring == NULL || (e->ring->synced && !e->ring->frozen);
}

/* -- flooding ------------------------------------------------------------- */

void
ring_flood(
    struct engine *e, struct ring_link *except, const struct ringwire_msg *msg)
{
	struct ring_link *l;

	if (e->ring == NULL)
		return;
	TAILQ_FOREACH (l, &e->ring->links, entry) {
		if (l != except)
			(void)ring_send(e, l, msg);
	}
}

void
ring_originate(struct engine *e, struct ringwire_msg *msg)
{
	struct ring *r = e->ring;

	msg->dir.ip = r->self->addr.ip;
	msg->dir.port = r->self->addr.port;
	msg->dir.seq = ++r->seq;
}

void
ring_originate_user(struct engine *e, enum ringwire_cmd cmd, uint32_t hash,
    const struct ipaddr *ip)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = cmd;
	m->user.hash = hash;
	m->user.ip = *ip;
	ring_originate(e, m);
	ring_flood(e, NULL, m);
}

enum ring_seen {
	RING_SEEN_NEW,
	RING_SEEN_OLD, /* a duplicate, or our own come back */
	RING_SEEN_ORPHAN, /* from an unknown or removed director */
};

static enum ring_seen
ring_seen(struct ring *r, const struct ringwire_msg *msg)
{
	struct ring_dir *d = ring_dir_find(r, &msg->dir.ip, msg->dir.port);

	if (d == NULL || d->removed)
		return RING_SEEN_ORPHAN;
	if (d->self)
		return RING_SEEN_OLD;
	if (d->seq_known && msg->dir.seq <= d->last_seq)
		return RING_SEEN_OLD;
	d->seq_known = true;
	d->last_seq = msg->dir.seq;
	return RING_SEEN_NEW;
}

/* -- SYNC ------------------------------------------------------------------ */

static void
ring_send_sync(struct engine *e)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;

	if (r->right == NULL)
		return;
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_SYNC;
	m->dir.ip = r->self->addr.ip;
	m->dir.port = r->self->addr.port;
	m->dir.seq = r->sync_seq;
	m->sync.has_extra = true;
	m->sync.minor = RING_MINOR_OURS;
	m->sync.ts = (uint32_t)(e->now_ms / 1000);
	m->sync.hosts_hash = hosts_hash(e->hosts);
	(void)ring_send(e, r->right, m);
	r->sync_sent_ms = e->now_ms;
}

void
ring_sync_start(struct engine *e)
{
	struct ring *r = e->ring;

	if (r == NULL || r->ndirs < 2)
		return;
	r->sync_seq++;
	if (r->alone) {
		r->synced = true;
		ring_admin_run(e);
		return;
	}
	if (r->synced)
		log_debug("ring: syncing (seq %u)", r->sync_seq);
	r->synced = false;
	r->sync_started_ms = e->now_ms;
	ring_send_sync(e);
}

/* Keeps a SYNC to pass on later (one per origin: the latest). */
static void
ring_sync_hold(struct ring *r, const struct ringwire_msg *sync)
{
	size_t i;

	for (i = 0; i < r->held_count; i++) {
		if (r->held_syncs[i].dir.port == sync->dir.port &&
		    ipaddr_equals(&r->held_syncs[i].dir.ip, &sync->dir.ip)) {
			r->held_syncs[i] = *sync;
			return;
		}
	}
	if (r->held_count < RING_HELD_SYNCS_MAX) {
		if (r->held_syncs == NULL)
			r->held_syncs = xcalloc(
			    RING_HELD_SYNCS_MAX, sizeof(*r->held_syncs));
		r->held_syncs[r->held_count++] = *sync;
	}
}

static void
ring_held_syncs_release(struct engine *e)
{
	struct ring *r = e->ring;
	size_t i;

	if (r->right == NULL || engine_fences_unshared(e))
		return;
	for (i = 0; i < r->held_count; i++)
		(void)ring_send(e, r->right, &r->held_syncs[i]);
	r->held_count = 0;
}

void
ring_topology_changed(struct engine *e)
{
	struct ring *r = e->ring;

	if (r->left != NULL && r->right != NULL) {
		r->alone = false;
		ring_held_syncs_release(e);
		ring_sync_start(e);
		return;
	}
	if (r->alone)
		return;
	if (r->synced)
		log_info("ring: lost a neighbour (left %s, right %s): new "
			 "users wait until the ring is synced again",
		    r->left != NULL ? r->left->peer->name : "none",
		    r->right != NULL ? r->right->peer->name : "none");
	r->synced = false;
	r->sync_seq++;
	if (r->right == NULL)
		ring_connect_right(e);
}

static void
ring_synced(struct engine *e, const struct ringwire_msg *msg)
{
	struct ring *r = e->ring;
	bool first = !r->handshaked;
	size_t i;

	if (msg->sync.has_extra &&
	    msg->sync.hosts_hash != hosts_hash(e->hosts)) {
		log_warn("ring: hosts unexpectedly changed during SYNC reply "
			 "- resending");
		ring_sync_start(e);
		return;
	}
	r->min_minor = msg->sync.has_extra ? msg->sync.minor : 0;
	r->last_sync_ms = e->now_ms - r->sync_started_ms;
	r->synced = true;
	r->handshaked = true;
	r->frozen = false;
	for (i = 0; i < hosts_count(e->hosts); i++)
		hosts_set_desynced(e->hosts, hosts_get(e->hosts, i), false);
	for (i = 0; i < r->ndirs;) {
		if (!r->dirs[i]->removed || !ring_dir_purge(r, r->dirs[i]))
			i++;
	}
	if (first)
		log_info("ring: handshaked with %zu directors (sync took %llu "
			 "ms, hosts_hash=%u)",
		    r->ndirs, (unsigned long long)r->last_sync_ms,
		    hosts_hash(e->hosts));
	else
		log_info("ring: synced, continuing delayed requests (sync "
			 "took %llu ms, hosts_hash=%u)",
		    (unsigned long long)r->last_sync_ms, hosts_hash(e->hosts));
	ring_waiters_run(e);
	ring_admin_run(e);
	engine_flush_step_all(e); /* removals waiting for this round */
}

static void
ring_reflood_hosts(struct engine *e)
{
	struct ringwire_msg *m = &e->ring->msg;
	size_t i;

	/* desynced: a peer re-flooding a different view at the same time is
	 * merged (smaller vhosts, newer or down), not taken as it is, so the
	 * two views converge instead of swapping */
	for (i = 0; i < hosts_count(e->hosts); i++) {
		hosts_set_desynced(e->hosts, hosts_get(e->hosts, i), true);
		ring_host_msg(e, hosts_get(e->hosts, i), false, m);
		ring_originate(e, m);
		ring_flood(e, NULL, m);
	}
}

static void
ring_handle_sync(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ring *r = e->ring;
	struct ring_dir *d = ring_dir_find(r, &msg->dir.ip, msg->dir.port);
	struct ringwire_msg fwd;

	if (d == NULL)
		return; /* an origin we don't know: let it die here */
	if (d->self) {
		if (msg->dir.seq == r->sync_seq && !r->synced)
			ring_synced(e, msg);
		return;
	}
	if (d->sync_known) {
		if (msg->dir.seq < d->sync_seq &&
		    msg->sync.ts < d->sync_ts + RING_SYNC_STALE_RESET_SECS)
			return; /* stale */
		if (msg->dir.seq == d->sync_seq && msg->sync.ts == d->sync_ts &&
		    ++d->sync_dups > RING_SYNC_MAX_DUPLICATES)
			return; /* looping: its origin left the ring */
	}
	if (!d->sync_known || msg->dir.seq != d->sync_seq ||
	    msg->sync.ts != d->sync_ts)
		d->sync_dups = 0;
	d->sync_known = true;
	d->sync_seq = msg->dir.seq;
	d->sync_ts = msg->sync.ts;
	if (msg->sync.has_extra &&
	    msg->sync.hosts_hash != hosts_hash(e->hosts)) {
		if (r->wrong_hosts_hash == msg->sync.hosts_hash) {
			log_warn("ring: director %s SYNC request hosts don't "
				 "match us - resending hosts",
			    d->name);
			ring_reflood_hosts(e);
		}
		r->wrong_hosts_hash = msg->sync.hosts_hash;
		return;
	}
	fwd = *msg;
	if (fwd.sync.has_extra && fwd.sync.minor > RING_MINOR_OURS)
		fwd.sync.minor = RING_MINOR_OURS;
	/* while a fence of ours that a director joining now cannot know of
	 * runs (a removal, a local move), others' SYNCs wait here: such a
	 * director stays unsynced, and assigns no new user, until it ends */
	if (r->right != NULL && !engine_fences_unshared(e)) {
		(void)ring_send(e, r->right, &fwd);
		return;
	}
	ring_sync_hold(r, &fwd);
}

/* -- directors joining and leaving ----------------------------------------- */

static void
ring_handle_director(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ring *r = e->ring;
	struct ring_dir *d = ring_dir_find(r, &msg->dir.ip, msg->dir.port);
	struct ring_addr a;
	bool forward;

	if (d == NULL) {
		a.ip = msg->dir.ip;
		a.port = msg->dir.port;
		d = ring_dir_add(r, &a);
		log_info("ring: director %s joined the ring (told by %s)",
		    d->name, l->name);
		ring_flood(e, l, msg);
		ring_connect_right(e); /* it may be closer than our right */
		ring_moves_resend(e);
		return;
	}
	if (d->self || d->removed)
		return;
	if (d->reset_ms != 0 &&
	    e->now_ms - d->reset_ms < RING_DIRECTOR_RESET_HOLD_MS)
		return; /* a copy that went round */
	d->reset_ms = e->now_ms;
	/* known: it (re)connected somewhere, so it may have restarted */
	forward = d->seq_known || d->sync_known;
	d->seq_known = false;
	d->sync_known = false;
	d->network_failure_ms = 0;
	if (forward) {
		ring_flood(e, l, msg);
		ring_moves_resend(e);
	}
}

static void
ring_handle_director_remove(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ring *r = e->ring;
	struct ring_dir *d = ring_dir_find(r, &msg->dir.ip, msg->dir.port);
	struct ring_link *x, *next;

	if (d == NULL || d->removed)
		return;
	if (d->self) {
		log_warn("ring: %s removed us from the ring", l->name);
		return;
	}
	log_info("ring: director %s removed from the ring (told by %s)",
	    d->name, l->name);
	d->removed = true;
	d->removed_ms = e->now_ms;
	ring_flood(e, l, msg);
	for (x = TAILQ_FIRST(&r->links); x != NULL; x = next) {
		next = TAILQ_NEXT(x, entry);
		if (x->peer == d)
			ring_link_close(
			    e, x, "it was removed from the ring", false);
	}
}

/* -- backends -------------------------------------------------------------- */

void
ring_host_msg(struct engine *e, const struct host *host, bool hand,
    struct ringwire_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	msg->cmd = hand ? RINGWIRE_HOST_HAND : RINGWIRE_HOST;
	msg->host.ip = host->ip;
	msg->host.vhost_count = host->vhost_count;
	strlcpy(
	    msg->host.tag, hosts_tag_name(host->tag), sizeof(msg->host.tag));
	msg->host.down = host->down;
	msg->host.updown_ts = host->last_updown_change;
	if (host->name != NULL)
		strlcpy(msg->host.name, host->name, sizeof(msg->host.name));
}

void
ring_host_announce(struct engine *e, struct host *host)
{
	struct ringwire_msg *m;

	if (!engine_ring_enabled(e))
		return;
	m = &e->ring->msg;
	hosts_set_desynced(e->hosts, host, true);
	ring_host_msg(e, host, false, m);
	ring_originate(e, m);
	ring_flood(e, NULL, m);
	ring_sync_start(e);
}

void
ring_host_remove_announce(
    struct engine *e, const struct ipaddr *ip, bool flush_only)
{
	struct ringwire_msg *m;

	if (!engine_ring_enabled(e))
		return;
	m = &e->ring->msg;
	memset(m, 0, sizeof(*m));
	m->cmd = flush_only ? RINGWIRE_HOST_FLUSH : RINGWIRE_HOST_REMOVE;
	m->host.ip = *ip;
	ring_originate(e, m);
	ring_flood(e, NULL, m);
	ring_sync_start(e);
}

/*
 * Applies a backend's state from a peer.  A backend we changed and have
 * not synced yet is merged the 2.3 way (the newer up/down change wins,
 * the smaller vhost count wins) and the result is sent on as ours.
 * Returns true if anything changed.
 */
static bool
ring_host_apply(struct engine *e, const struct ringwire_host *h, bool hand,
    bool *reannounce_r)
{
	struct host *host = hosts_lookup(e->hosts, &h->ip);
	unsigned int vhosts = h->vhost_count;
	bool down = h->down, changed = false;
	uint32_t ts = (uint32_t)h->updown_ts;
	const char *err = NULL;
	char ip[IPADDR_STR_MAX];

	*reannounce_r = false;
	if (vhosts > HOST_VHOST_COUNT_MAX)
		vhosts = HOST_VHOST_COUNT_MAX;
	if (host == NULL) {
		host = hosts_add(e->hosts, &h->ip, h->tag, vhosts, &err);
		if (host == NULL) {
			log_error("ring: backend %s: %s",
			    ipaddr_format(&h->ip, ip), err);
			return false;
		}
		if (down)
			hosts_set_down(e->hosts, host, true, ts);
		if (h->name[0] != '\0')
			(void)hosts_set_name(e->hosts, host, h->name);
		log_info("ring: backend %s%s%s added with %u vhosts%s",
		    host->ip_str, h->tag[0] != '\0' ? "@" : "", h->tag, vhosts,
		    down ? " (down)" : "");
		return true;
	}
	if (strcmp(hosts_tag_name(host->tag), h->tag) != 0) {
		if (engine_retire_host(e, &host, h->tag, NULL,
			"tag changed by the ring") == -1)
			return false;
		changed = true;
	}
	if (host->desynced && !hand) {
		if (host->vhost_count < vhosts)
			vhosts = host->vhost_count;
		/* the newer up/down wins; on a tie, down (the same answer
		 * on every director, so two views cannot swap for ever) */
		if (host->last_updown_change > ts ||
		    (host->last_updown_change == ts && host->down)) {
			down = host->down;
			ts = host->last_updown_change;
		}
		*reannounce_r = vhosts != h->vhost_count || down != h->down;
		if (*reannounce_r)
			log_warn("ring: backend %s is being updated before "
				 "our previous update had finished - setting "
				 "it to %s with %u vhosts",
			    host->ip_str, down ? "down" : "up", vhosts);
	} else if (!hand && host->down != down &&
	    (ts < host->last_updown_change ||
		(ts == host->last_updown_change && host->down))) {
		/* an older up/down than ours, re-flooded by a peer whose
		 * SYNC found our hosts different: ours goes out again, or
		 * its view never comes round to it */
		*reannounce_r = true;
	}
	if (host->vhost_count != vhosts) {
		log_info("ring: backend %s vhosts %u -> %u", host->ip_str,
		    host->vhost_count, vhosts);
		hosts_set_vhost_count(e->hosts, host, vhosts);
		changed = true;
	}
	if (host->down != down &&
	    (ts > host->last_updown_change ||
		(ts == host->last_updown_change && down))) {
		log_info("ring: backend %s is now %s", host->ip_str,
		    down ? "down" : "up");
		hosts_set_down(e->hosts, host, down, ts);
		changed = true;
	}
	if (h->name[0] != '\0' &&
	    (host->name == NULL || strcmp(host->name, h->name) != 0))
		(void)hosts_set_name(e->hosts, host, h->name);
	return changed;
}

int
ring_host_hand(
    struct engine *e, struct ring_link *l, const struct ringwire_host *h)
{
	bool reannounce;

	if (l->replace_hosts) {
		/* a peer's host list is as bounded as ours */
		if (l->hand_host_count >= HOSTS_MAX) {
			ring_link_close(e, l,
			    "sent more hosts than a director keeps", true);
			return -1;
		}
		if (l->hand_host_count == l->hand_host_cap) {
			l->hand_host_cap =
			    l->hand_host_cap == 0 ? 16 : l->hand_host_cap * 2;
			l->hand_hosts = xreallocarray(l->hand_hosts,
			    l->hand_host_cap, sizeof(*l->hand_hosts));
		}
		l->hand_hosts[l->hand_host_count++] = h->ip;
	}
	if (ring_host_apply(e, h, true, &reannounce))
		engine_save_hosts(e);
	return 0;
}

void
ring_host_hand_end(struct engine *e, struct ring_link *l)
{
	struct host *host;
	size_t i, j;

	if (!l->replace_hosts)
		return;
	for (i = hosts_count(e->hosts); i > 0; i--) {
		host = hosts_get(e->hosts, i - 1);
		for (j = 0; j < l->hand_host_count; j++) {
			if (ipaddr_equals(&l->hand_hosts[j], &host->ip))
				break;
		}
		if (j == l->hand_host_count) {
			(void)engine_retire_host(
			    e, &host, NULL, NULL, "not in the ring we joined");
			engine_save_hosts(e);
		}
	}
	free(l->hand_hosts);
	l->hand_hosts = NULL;
	l->hand_host_count = l->hand_host_cap = 0;
}

static void
ring_handle_host(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct engine_round round;
	struct host *host;
	bool reannounce;
	char ip[IPADDR_STR_MAX];

	switch (msg->cmd) {
	case RINGWIRE_HOST:
		if (!ring_host_apply(e, &msg->host, false, &reannounce) &&
		    !reannounce)
			return;
		engine_save_hosts(e);
		host = hosts_lookup(e->hosts, &msg->host.ip);
		if (reannounce && host != NULL)
			ring_host_announce(e, host);
		else
			ring_sync_start(e);
		return;
	case RINGWIRE_HOST_REMOVE:
		host = hosts_lookup(e->hosts, &msg->host.ip);
		if (host == NULL)
			return;
		round.ip = msg->dir.ip;
		round.port = msg->dir.port;
		round.seq = msg->dir.seq;
		(void)engine_retire_host(
		    e, &host, NULL, &round, "removed by the ring");
		engine_save_hosts(e);
		ring_sync_start(e);
		return;
	case RINGWIRE_HOST_FLUSH:
		host = hosts_lookup(e->hosts, &msg->host.ip);
		if (host == NULL)
			return;
		log_warn("ring: backend %s flushed by the ring (%zu users "
			 "forgotten without kicks)",
		    ipaddr_format(&msg->host.ip, ip),
		    hosts_flush_users(e->hosts, host, engine_now_secs(e)));
		return;
	default:
		return;
	}
}

/* -- dispatch --------------------------------------------------------------- */

static bool
ring_cmd_is_sequenced(enum ringwire_cmd cmd)
{
	switch (cmd) {
	case RINGWIRE_HOST:
	case RINGWIRE_HOST_REMOVE:
	case RINGWIRE_HOST_FLUSH:
	case RINGWIRE_USER_MOVE:
	case RINGWIRE_USER_KILLED_EVERYWHERE:
	case RINGWIRE_X_USER_KILLED_EVERYWHERE:
	case RINGWIRE_X_HOST_KILLED_EVERYWHERE:
	case RINGWIRE_X_HOST_HEALTH:
	case RINGWIRE_USER_KICK:
	case RINGWIRE_USER_KICK_ALT:
	case RINGWIRE_USER_KICK_HASH:
	case RINGWIRE_USER_WEAK:
		return true;
	default:
		return false;
	}
}

int
ring_sync_handle(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct ringwire_msg fwd;

	switch (msg->cmd) {
	case RINGWIRE_SYNC:
		ring_handle_sync(e, l, msg);
		return 0;
	case RINGWIRE_DIRECTOR:
		ring_handle_director(e, l, msg);
		return 0;
	case RINGWIRE_DIRECTOR_REMOVE:
		ring_handle_director_remove(e, l, msg);
		return 0;
	default:
		break;
	}
	if (!ring_cmd_is_sequenced(msg->cmd))
		return ring_user_handle(e, l, msg);
	fwd = *msg;
	switch (ring_seen(e->ring, msg)) {
	case RING_SEEN_OLD:
		if (msg->cmd != RINGWIRE_USER_WEAK)
			return 0;
		break;
	case RING_SEEN_ORPHAN:
		ring_originate(e, &fwd);
		l = NULL; /* as ours: to everyone */
		break;
	case RING_SEEN_NEW:
		break;
	}
	if (msg->cmd == RINGWIRE_HOST || msg->cmd == RINGWIRE_HOST_REMOVE ||
	    msg->cmd == RINGWIRE_HOST_FLUSH) {
		ring_flood(e, l, &fwd);
		ring_handle_host(e, l, &fwd);
		return 0;
	}
	return ring_user_handle(e, l, &fwd);
}

/* -- time ----------------------------------------------------------------- */

void
ring_sync_tick(struct engine *e)
{
	struct ring *r = e->ring;
	size_t i;

	if (r->held_count > 0)
		ring_held_syncs_release(e);
	if (!r->synced && !r->alone && r->right != NULL && r->left != NULL &&
	    e->now_ms - r->sync_sent_ms >= RING_SYNC_TIMEOUT_MS) {
		log_warn("ring: SYNC seq=%u appears to have got lost, "
			 "resending",
		    r->sync_seq);
		ring_send_sync(e);
	}
	for (i = 0; i < r->ndirs;) {
		if (!r->dirs[i]->removed ||
		    e->now_ms - r->dirs[i]->removed_ms <
			RING_REMOVED_PURGE_MS ||
		    !ring_dir_purge(r, r->dirs[i]))
			i++;
	}
}

uint64_t
ring_sync_deadline(const struct engine *e, uint64_t next)
{
	const struct ring *r = e->ring;
	uint64_t at;

	if (!r->synced && !r->alone && r->right != NULL && r->left != NULL) {
		at = r->sync_sent_ms + RING_SYNC_TIMEOUT_MS;
		if (at < next)
			next = at;
	}
	return next;
}

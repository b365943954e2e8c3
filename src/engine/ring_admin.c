/*
 * ring_admin.c - what the admin socket asks of the ring (see ring.h):
 * DIRECTOR-ADD and DIRECTOR-REMOVE, and the status of the ring and of
 * every director for DIRECTOR-LIST and `directorctl ring status`.
 *
 * A removal is flooded before the removed director's links are closed
 * and answers only after a SYNC round has gone around without it.
 */
#include "compat.h"

#include <string.h>

#include "log.h"
#include "ring_int.h"

/* -- the admin's DIRECTOR-ADD and DIRECTOR-REMOVE ---------------------------- */

static void
ring_admin_director_add(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	struct ring *r = e->ring;
	struct ring_dir *d = ring_dir_find(r, op->ip, op->port);
	struct ringwire_msg *m = &r->msg;
	struct ring_addr a;

	if (d != NULL && !d->removed) {
		engine_reply(e, requester, "OK");
		return;
	}
	if (d == NULL) {
		a.ip = *op->ip;
		a.port = op->port;
		d = ring_dir_add(r, &a);
	}
	d->removed = false;
	d->network_failure_ms = d->protocol_failure_ms = 0;
	log_info("admin %s: director %s added to the ring", op->who, d->name);
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_DIRECTOR;
	m->dir.ip = d->addr.ip;
	m->dir.port = d->addr.port;
	ring_flood(e, NULL, m);
	ring_connect_right(e);
	engine_reply(e, requester, "OK");
}

static void
ring_admin_director_remove(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	struct ring *r = e->ring;
	struct ringwire_msg *m = &r->msg;
	struct ring_link *l, *next;
	struct ring_dir *d = NULL;
	size_t i;

	for (i = 0; i < r->ndirs && d == NULL; i++) {
		if (ipaddr_equals(&r->dirs[i]->addr.ip, op->ip) &&
		    (op->port == 0 || r->dirs[i]->addr.port == op->port) &&
		    !r->dirs[i]->removed)
			d = r->dirs[i];
	}
	if (d == NULL) {
		engine_reply(e, requester, "NOTFOUND");
		return;
	}
	if (d->self) {
		engine_reply(e, requester, "can't remove self");
		return;
	}
	log_info(
	    "admin %s: director %s removed from the ring", op->who, d->name);
	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_DIRECTOR_REMOVE;
	m->dir.ip = d->addr.ip;
	m->dir.port = d->addr.port;
	ring_flood(e, NULL, m);
	d->removed = true;
	d->removed_ms = e->now_ms;
	for (l = TAILQ_FIRST(&r->links); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (l->peer == d)
			ring_link_close(
			    e, l, "it was removed from the ring", false);
	}
	ring_sync_start(e);
	ring_admin_wait(e, requester);
}

void
ring_admin_director(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	if (e->ring == NULL || op->ip == NULL) {
		engine_reply(e, requester,
		    op->type == ENGINE_ADMIN_DIRECTOR_REMOVE
			? "NOTFOUND"
			: "director ring is not supported by this director "
			  "(it has no ring listener)");
		return;
	}
	if (op->type == ENGINE_ADMIN_DIRECTOR_ADD)
		ring_admin_director_add(e, op, requester);
	else
		ring_admin_director_remove(e, op, requester);
}

void
engine_ring_reload(struct engine *e, uint64_t now_ms,
    const struct ring_addr *servers, size_t count)
{
	struct ring *r = e->ring;
	struct ring_dir *d;
	size_t i;

	engine_see_time(e, now_ms);
	if (r == NULL)
		return;
	for (i = 0; i < count; i++) {
		d = ring_dir_find(r, &servers[i].ip, servers[i].port);
		if (d != NULL && !d->removed)
			continue;
		if (d == NULL)
			d = ring_dir_add(r, &servers[i]);
		d->removed = false;
		log_info("ring: director %s added by a reload of "
			 "director_servers",
		    d->name);
	}
	ring_connect_right(e);
}

/* -- status ---------------------------------------------------------------- */

bool
ring_joined(const struct engine *e)
{
	const struct ring *r = e->ring;

	return !engine_ring_enabled(e) || (r->handshaked && !r->frozen);
}

bool
engine_ring_may_serve(const struct engine *e, uint64_t now_ms)
{
	const struct ring *r = e->ring;

	if (!engine_ring_enabled(e))
		return true;
	if (r->frozen)
		return false;
	return now_ms <= e->now_ms ||
	    now_ms - e->now_ms <= r->set.ping_idle_timeout_ms;
}

void
engine_ring_status(const struct engine *e, struct ring_status *st_r)
{
	const struct ring *r = e->ring;
	const struct ring_link *l;

	memset(st_r, 0, sizeof(*st_r));
	if (r == NULL) {
		st_r->alone = st_r->handshaked = st_r->synced = true;
		return;
	}
	st_r->enabled = r->ndirs > 1;
	st_r->alone = r->alone;
	st_r->handshaked = r->handshaked && !r->frozen;
	st_r->synced = r->synced && !r->frozen;
	st_r->sync_seq = r->sync_seq;
	st_r->ring_min_minor = r->min_minor;
	st_r->last_sync_ms = r->last_sync_ms;
	TAILQ_FOREACH (l, &r->links, entry)
		st_r->link_count++;
	st_r->waiting_requests = r->nwaiters;
}

bool
engine_ring_dir(const struct engine *e, size_t i, struct ring_dir_status *st_r)
{
	const struct ring *r = e->ring;
	const struct ring_dir *d;
	const struct ring_link *l;
	bool left, right;

	if (r == NULL || i >= r->ndirs)
		return false;
	d = r->dirs[i];
	memset(st_r, 0, sizeof(*st_r));
	st_r->addr = d->addr;
	left = r->left != NULL && r->left->peer == d;
	right = r->right != NULL && r->right->peer == d;
	st_r->role = d->self ? RING_ROLE_SELF
	    : left && right  ? RING_ROLE_LEFT_RIGHT
	    : left           ? RING_ROLE_LEFT
	    : right          ? RING_ROLE_RIGHT
			     : RING_ROLE_NONE;
	st_r->removed = d->removed;
	st_r->tls = (left && r->left->tls == RING_TLS_ON) ||
	    (right && r->right->tls == RING_TLS_ON);
	st_r->last_seq = d->last_seq;
	st_r->last_failure_ms = d->network_failure_ms > d->protocol_failure_ms
	    ? d->network_failure_ms
	    : d->protocol_failure_ms;
	TAILQ_FOREACH (l, &r->links, entry) {
		if (l->peer == d && l->state == RING_LINK_HANDSHAKE)
			st_r->handshaking = true;
	}
	return true;
}

/*
 * engine_admin.c - admin write operations, safe flushes, the configured
 * backend list and the state file's backend list, for the engine (see
 * engine.h; reply texts are Dovecot 2.3's director-doveadm ones).
 *
 * Every change is logged at info with who asked for it; changes to the
 * backend list queue ENGINE_EFFECT_SAVE_HOSTS.  A safe flush moves at
 * most max_parallel users at a time, each through a move fence.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "hoststate.h"
#include "log.h"
#include "ring_int.h"
#include "users.h"
#include "xmalloc.h"

/* -- the configured list ------------------------------------------------- */

static void
engine_add_configured(struct engine *e, const struct hosts_spec_entry *c)
{
	const char *err = NULL;
	char ip[IPADDR_STR_MAX];

	if (hosts_add(e->hosts, &c->ip, c->tag, HOST_VHOST_COUNT_DEFAULT,
		&err) == NULL) {
		log_error("backend %s: %s", ipaddr_format(&c->ip, ip), err);
		return;
	}
	log_info("backend %s%s%s added", ipaddr_format(&c->ip, ip),
	    c->tag[0] != '\0' ? "@" : "", c->tag);
}

static void
engine_set_configured(
    struct engine *e, const struct hosts_spec_entry *entries, size_t count)
{
	free(e->configured);
	e->configured = NULL;
	e->configured_count = count;
	if (count > 0) {
		e->configured = xreallocarray(NULL, count, sizeof(*entries));
		memcpy(e->configured, entries, count * sizeof(*entries));
	}
}

void
engine_configure(struct engine *e, uint64_t now_ms,
    const struct hosts_spec_entry *entries, size_t count)
{
	size_t i;

	engine_see_time(e, now_ms);
	engine_set_configured(e, entries, count);
	for (i = 0; i < count; i++)
		engine_add_configured(e, &entries[i]);
}

const struct hosts_spec_entry *
engine_configured(const struct engine *e, size_t *count_r)
{
	*count_r = e->configured_count;
	return e->configured;
}

static const struct hosts_spec_entry *
engine_spec_find(const struct hosts_spec_entry *entries, size_t count,
    const struct ipaddr *ip)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (ipaddr_equals(&entries[i].ip, ip))
			return &entries[i];
	}
	return NULL;
}

void
engine_reload(struct engine *e, uint64_t now_ms,
    const struct hosts_spec_entry *entries, size_t count)
{
	const struct hosts_spec_entry *c;
	struct host *host;
	size_t i;

	engine_see_time(e, now_ms);
	for (i = 0; i < e->configured_count; i++) {
		c = &e->configured[i];
		if (engine_spec_find(entries, count, &c->ip) != NULL)
			continue;
		host = hosts_lookup(e->hosts, &c->ip);
		if (host == NULL)
			continue;
		/* the ring's backend list is one: a reload changes it for
		 * every director (their own reloads then find it done) */
		if (engine_ring_enabled(e))
			engine_remove_host_ring(e, host, NULL,
			    "no longer in director_mail_servers");
		else
			(void)engine_retire_host(e, &host, NULL, NULL,
			    "no longer in director_mail_servers");
	}
	for (i = 0; i < count; i++) {
		c = &entries[i];
		host = hosts_lookup(e->hosts, &c->ip);
		if (host == NULL) {
			engine_add_configured(e, c);
			host = hosts_lookup(e->hosts, &c->ip);
		} else if (strcmp(hosts_tag_name(host->tag), c->tag) != 0) {
			if (engine_retire_host(e, &host, c->tag, NULL,
				"tag changed in director_mail_servers") == -1)
				continue;
		} else
			continue;
		if (host != NULL)
			ring_host_announce(e, host);
	}
	/* the "removed" records of the state file follow the new list */
	engine_set_configured(e, entries, count);
	engine_save_hosts(e);
}

/* -- the state file ------------------------------------------------------ */

static void
engine_apply_state(struct engine *e, const struct hoststate_entry *st)
{
	struct host *h = hosts_lookup(e->hosts, &st->ip);
	const char *err = NULL;
	char ip[IPADDR_STR_MAX];

	ipaddr_format(&st->ip, ip);
	if (st->removed) {
		if (h != NULL) {
			log_info("backend %s stays removed (state file)", ip);
			hosts_remove(e->hosts, &h);
		}
		return;
	}
	if (h == NULL) {
		h = hosts_add(
		    e->hosts, &st->ip, st->tag, st->vhost_count, &err);
		if (h == NULL) {
			log_error("state file: backend %s: %s", ip, err);
			return;
		}
		log_info("backend %s%s%s added (state file)", ip,
		    st->tag[0] != '\0' ? "@" : "", st->tag);
	} else if (strcmp(hosts_tag_name(h->tag), st->tag) != 0)
		(void)hosts_set_tag(e->hosts, h, st->tag);
	if (h->vhost_count != st->vhost_count)
		hosts_set_vhost_count(e->hosts, h, st->vhost_count);
	hosts_set_down(e->hosts, h, st->down, st->last_updown_change);
	/* the saved time even when the state did not change (no cache
	 * depends on it) */
	h->last_updown_change = st->last_updown_change;
	if (st->down || st->vhost_count != HOST_VHOST_COUNT_DEFAULT)
		log_info("backend %s: %u vhosts, %s (state file)", ip,
		    st->vhost_count, st->down ? "down" : "up");
}

void
engine_load_state(struct engine *e, uint64_t now_ms,
    const struct hoststate_entry *entries, size_t count)
{
	size_t i;

	engine_see_time(e, now_ms);
	/* before any session exists: nothing to kick or fence */
	for (i = 0; i < count; i++)
		engine_apply_state(e, &entries[i]);
}

/* -- host operations ----------------------------------------------------- */

static void
engine_host_set(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	bool update = op->type == ENGINE_ADMIN_HOST_UPDATE;
	unsigned int vhosts =
	    op->have_vhosts ? op->vhosts : HOST_VHOST_COUNT_DEFAULT;
	struct host *host = hosts_lookup(e->hosts, op->ip);
	const char *err = NULL;

	if (host == NULL && update) {
		engine_reply(e, requester, "NOTFOUND");
		return;
	}
	if (host != NULL && op->tag != NULL &&
	    strcmp(hosts_tag_name(host->tag), op->tag) != 0) {
		engine_reply(e, requester, "host tag can't be changed");
		return;
	}
	if (host == NULL) {
		host = hosts_add(e->hosts, op->ip, op->tag, vhosts, &err);
		if (host == NULL) {
			engine_reply(e, requester, err);
			return;
		}
		log_info("admin %s: backend %s%s%s added with %u vhosts",
		    op->who, host->ip_str, op->tag != NULL ? "@" : "",
		    op->tag != NULL ? op->tag : "", vhosts);
	} else if (op->have_vhosts && host->vhost_count != vhosts) {
		log_info("admin %s: backend %s vhosts %u -> %u", op->who,
		    host->ip_str, host->vhost_count, vhosts);
		hosts_set_vhost_count(e->hosts, host, vhosts);
	}
	engine_save_hosts(e);
	ring_host_announce(e, host);
	ring_admin_wait(e, requester);
}

static void
engine_host_updown(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	bool down = op->type == ENGINE_ADMIN_HOST_DOWN;
	struct host *host = hosts_lookup(e->hosts, op->ip);

	if (host == NULL) {
		engine_reply(e, requester, "NOTFOUND");
		return;
	}
	if (host->down != down) {
		hosts_set_down(
		    e->hosts, host, down, (uint32_t)(e->now_ms / 1000));
		log_info("admin %s: backend %s is now %s (its %zu users stay "
			 "until moved or expired)",
		    op->who, host->ip_str, down ? "down" : "up",
		    hosts_user_count(e->hosts, host));
		engine_save_hosts(e);
		ring_host_announce(e, host);
	}
	ring_admin_wait(e, requester);
}

static void
engine_host_remove(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	struct host *host = hosts_lookup(e->hosts, op->ip);
	char why[160];

	if (host == NULL) {
		engine_reply(e, requester, "NOTFOUND");
		return;
	}
	/* unlike Dovecot, its sessions are kicked and its users wait: they
	 * can never be on two backends */
	snprintf(why, sizeof(why), "admin %s", op->who);
	if (engine_ring_enabled(e)) {
		engine_remove_host_ring(e, host, requester, why);
		return;
	}
	(void)engine_retire_host(e, &host, NULL, NULL, why);
	engine_save_hosts(e);
	ring_host_remove_announce(e, op->ip, false);
	ring_admin_wait(e, requester);
}

static void
engine_host_flush(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	struct host *host;
	size_t i, n = 0;

	if (op->ip == NULL) {
		for (i = 0; i < hosts_count(e->hosts); i++) {
			host = hosts_get(e->hosts, i);
			n += hosts_flush_users(
			    e->hosts, host, engine_now_secs(e));
			ring_host_remove_announce(e, &host->ip, true);
		}
		log_warn("admin %s: flushed all backend hosts with %zu users. "
			 "This is an unsafe operation: a user may be served by "
			 "two backends until its old sessions end",
		    op->who, n);
		ring_admin_wait(e, requester);
		return;
	}
	host = hosts_lookup(e->hosts, op->ip);
	if (host == NULL) {
		engine_reply(e, requester, "NOTFOUND");
		return;
	}
	n = hosts_flush_users(e->hosts, host, engine_now_secs(e));
	ring_host_remove_announce(e, &host->ip, true);
	log_warn("admin %s: flushed backend %s with %zu users without kicks. "
		 "This is an unsafe operation: a user may be served by two "
		 "backends until its old sessions end",
	    op->who, host->ip_str, n);
	ring_admin_wait(e, requester);
}

/* -- safe flush ---------------------------------------------------------- */

static void
engine_flush_free(struct engine *e, struct engine_flush *fl)
{
	struct engine_fence *f;

	TAILQ_REMOVE(&e->flushes, fl, link);
	TAILQ_FOREACH (f, &e->fences, link) {
		if (f->flush == fl)
			f->flush = NULL;
	}
	free(fl->hashes);
	free(fl->hosts);
	free(fl);
}

void
engine_flush_free_all(struct engine *e)
{
	struct engine_flush *fl;

	while ((fl = TAILQ_FIRST(&e->flushes)) != NULL)
		engine_flush_free(e, fl);
}

static void engine_flush_collect_removed(
    struct engine *e, struct engine_flush *fl);

bool
engine_flush_step(struct engine *e, struct engine_flush *fl)
{
	struct engine_round round;
	struct engine_fence *f;
	const char *status;
	struct host *to;

	if (fl->collect_barrier != 0) {
		if (!ring_sync_passed(e, fl->collect_barrier))
			return false;
		fl->collect_barrier = 0;
		engine_flush_collect_removed(e, fl);
	}
	while (fl->running < fl->max_parallel && fl->next < fl->count &&
	    !e->shutting_down) {
		to = hosts_lookup_id(e->hosts, fl->hosts[fl->next]);
		if (to != NULL) {
			f = engine_move_start(
			    e, fl->hashes[fl->next], to, &status);
			if (f != NULL) {
				f->flush = fl;
				fl->running++;
				fl->moved++;
			} else if (strcmp(status, "TRYAGAIN") == 0)
				break; /* being moved: after that move */
			else if (strcmp(status, "OK") == 0)
				fl->moved++;
		}
		fl->next++;
	}
	if (fl->running > 0 || (fl->next < fl->count && !e->shutting_down))
		return false;
	log_info("safe flush finished: %zu of %zu users moved", fl->moved,
	    fl->count);
	if (fl->remove_after) {
		/* the round is named by the HOST-REMOVE that follows (its
		 * SYNC carries the hosts without this one); our kill token
		 * goes after it */
		memset(&round, 0, sizeof(round));
		to = hosts_lookup(e->hosts, &fl->remove_ip);
		if (to != NULL) {
			(void)engine_retire_host(
			    e, &to, NULL, &round, "its users were moved");
			engine_save_hosts(e);
		}
		ring_host_remove_announce(e, &fl->remove_ip, false);
		ring_host_fence_originate(e, &fl->remove_ip);
		ring_admin_wait(e, fl->requester);
	} else
		engine_reply(e, fl->requester, "OK");
	engine_flush_free(e, fl);
	return true;
}

void
engine_flush_moved(struct engine *e, struct engine_flush *fl)
{
	fl->running--;
	(void)engine_flush_step(e, fl);
}

void
engine_flush_step_all(struct engine *e)
{
	struct engine_flush *fl, *next;

	for (fl = TAILQ_FIRST(&e->flushes); fl != NULL; fl = next) {
		next = TAILQ_NEXT(fl, link);
		(void)engine_flush_step(e, fl);
	}
}

void
engine_flush_collect(
    struct engine *e, struct engine_flush *fl, struct host *host)
{
	struct users *users = hosts_tag_users(host->tag);
	const char *tag = hosts_tag_name(host->tag);
	uint32_t now = (uint32_t)(e->now_ms / 1000);
	struct user *u, *next;
	struct host *to;

	for (u = users_next_on_host(users, NULL, host->id); u != NULL;
	     u = next) {
		next = users_next_on_host(users, u, host->id);
		if (users_is_expired(users, u, now))
			continue;
		to = hosts_select(e->hosts, tag, u->hash);
		if (to == host)
			continue;
		if (to == NULL) {
			/* in a ring it stays: forgotten with the backend,
			 * under the removal's ring-wide fence */
			if (engine_ring_enabled(e))
				continue;
			users_remove(users, u);
			(void)engine_evict_user(e, u->hash, host->tag);
			continue;
		}
		if (fl->count == fl->cap) {
			fl->cap = fl->cap == 0 ? 64 : fl->cap * 2;
			fl->hashes = xreallocarray(
			    fl->hashes, fl->cap, sizeof(uint32_t));
			fl->hosts =
			    xreallocarray(fl->hosts, fl->cap, sizeof(uint32_t));
		}
		fl->hashes[fl->count] = u->hash;
		fl->hosts[fl->count] = to->id;
		fl->count++;
	}
}

static void
engine_flush_collect_removed(struct engine *e, struct engine_flush *fl)
{
	struct host *host = hosts_lookup(e->hosts, &fl->remove_ip);

	if (host == NULL)
		return;
	engine_flush_collect(e, fl, host);
	log_info("backend %s being removed: moving its %zu users through the "
		 "ring first",
	    host->ip_str, fl->count);
}

struct engine_flush *
engine_flush_new(struct engine *e, struct host *host, unsigned int max_parallel,
    void *requester)
{
	struct engine_flush *fl = xcalloc(1, sizeof(*fl));

	fl->requester = requester;
	fl->max_parallel = max_parallel;
	TAILQ_INSERT_TAIL(&e->flushes, fl, link);
	if (host != NULL)
		engine_flush_collect(e, fl, host);
	return fl;
}

void
engine_remove_host_ring(
    struct engine *e, struct host *host, void *requester, const char *why)
{
	struct engine_flush *fl;

	if (!host->down) {
		hosts_set_down(e->hosts, host, true, engine_now_secs(e));
		engine_save_hosts(e);
		ring_host_announce(e, host);
	} else
		ring_sync_start(e);
	fl = engine_flush_new(e, NULL, e->set.max_parallel_moves, requester);
	fl->remove_after = true;
	fl->remove_ip = host->ip;
	log_info("backend %s being removed (%s): set down%s", host->ip_str, why,
	    ring_sync_barrier(e) != 0
		? ", its users are moved once every director has seen that"
		: "");
	/* users assigned by other directors before they saw it down are
	 * still on their way: collect after a SYNC round */
	fl->collect_barrier = ring_sync_barrier(e);
	if (fl->collect_barrier == 0)
		engine_flush_collect_removed(e, fl);
	(void)engine_flush_step(e, fl);
}

static void
engine_host_reset_users(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	struct host *host = NULL;
	struct engine_flush *fl;
	size_t i;

	if (op->ip != NULL) {
		host = hosts_lookup(e->hosts, op->ip);
		if (host == NULL) {
			engine_reply(e, requester, "NOTFOUND");
			return;
		}
	}
	fl = engine_flush_new(e, host,
	    op->max_parallel != 0 ? op->max_parallel
				  : e->set.max_parallel_moves,
	    requester);
	if (host == NULL) {
		for (i = 0; i < hosts_count(e->hosts); i++)
			engine_flush_collect(e, fl, hosts_get(e->hosts, i));
	}
	log_info("admin %s: safe flush of %s: moving %zu users, at most %u at "
		 "a time",
	    op->who, host != NULL ? host->ip_str : "all backends", fl->count,
	    fl->max_parallel);
	(void)engine_flush_step(e, fl);
}

/* -- users --------------------------------------------------------------- */

void
engine_move_settle(struct engine *e, const struct engine_fence *f)
{
	uint32_t now = (uint32_t)(e->now_ms / 1000);
	struct host *host;

	if (f->backend.family == 0)
		return; /* an eviction: no backend to keep */
	host = hosts_lookup(e->hosts, &f->backend);
	if (host != NULL && host->tag == f->tag)
		(void)users_add(
		    hosts_tag_users(f->tag), f->user_hash, host->id, now, now);
}

static void
engine_user_move(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	struct host *host = hosts_lookup(e->hosts, op->ip);
	struct engine_fence *f;
	const char *status;

	if (host == NULL) {
		engine_reply(e, requester, "NOTFOUND");
		return;
	}
	log_info("admin %s: move user %u to %s", op->who, op->user_hash,
	    host->ip_str);
	f = engine_move_start(e, op->user_hash, host, &status);
	if (f == NULL) {
		engine_reply(e, requester, status);
		return;
	}
	f->requester = requester;
}

static void
engine_user_kick(
    struct engine *e, const struct engine_admin_op *op, void *requester)
{
	size_t n = engine_kick_user(e, op->user_hash, NULL);

	log_info("admin %s: kicked user %u: %zu sessions", op->who,
	    op->user_hash, n);
	ring_user_kick_announce(e, op->username);
	engine_reply(e, requester, "OK");
}

void
engine_admin(struct engine *e, uint64_t now_ms,
    const struct engine_admin_op *op, void *requester)
{
	engine_see_time(e, now_ms);
	if (op->type != ENGINE_ADMIN_USER_KICK &&
	    op->type != ENGINE_ADMIN_DIRECTOR_ADD &&
	    op->type != ENGINE_ADMIN_DIRECTOR_REMOVE && !ring_joined(e)) {
		/* its view of users, moves and backends is not the ring's
		 * yet: a change made on it would miss directors that have
		 * not heard of it (and the ring's backend list replaces its
		 * own when it joins) */
		log_warn("admin %s: refused, this director has not joined "
			 "the ring yet",
		    op->who != NULL ? op->who : "?");
		engine_reply(e, requester,
		    "Ring not joined yet: try again once this director has "
		    "synced with the ring");
		return;
	}
	switch (op->type) {
	case ENGINE_ADMIN_HOST_SET:
	case ENGINE_ADMIN_HOST_UPDATE:
		engine_host_set(e, op, requester);
		break;
	case ENGINE_ADMIN_HOST_UP:
	case ENGINE_ADMIN_HOST_DOWN:
		engine_host_updown(e, op, requester);
		break;
	case ENGINE_ADMIN_HOST_REMOVE:
		engine_host_remove(e, op, requester);
		break;
	case ENGINE_ADMIN_HOST_FLUSH:
		engine_host_flush(e, op, requester);
		break;
	case ENGINE_ADMIN_HOST_RESET_USERS:
		engine_host_reset_users(e, op, requester);
		break;
	case ENGINE_ADMIN_USER_MOVE:
		engine_user_move(e, op, requester);
		break;
	case ENGINE_ADMIN_USER_KICK:
		engine_user_kick(e, op, requester);
		break;
	case ENGINE_ADMIN_DIRECTOR_ADD:
	case ENGINE_ADMIN_DIRECTOR_REMOVE:
		ring_admin_director(e, op, requester);
		break;
	}
}

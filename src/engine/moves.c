/*
 * moves.c - safe user moves on one director (see moves.h).
 *
 * Moves are few (an admin command, or at most
 * director_max_parallel_moves during a safe flush), so they live on a
 * plain list.  User records are looked up again by hash whenever they
 * are needed: the directory may relocate them as it grows.
 */
#include "compat.h"

#include <sys/time.h>

#include <event2/event.h>

#include "director.h"
#include "hosts.h"
#include "log.h"
#include "moves.h"
#include "registry.h"
#include "users.h"
#include "xmalloc.h"

struct move {
	struct move *prev, *next;
	struct director *d;
	/* A barrier holds the logins of users without an assignment in tag
	 * while the sessions of a retired backend wind down. */
	bool barrier;
	uint32_t user_hash;
	char tag[HOST_TAG_MAX + 1];
	struct ipaddr to;
	struct event *timer;
	move_done_fn *done;
	void *context;
	struct move_waiter *waiters;
};

static struct move *
moves_find(const struct director *d, uint32_t user_hash, const char *tag)
{
	struct move *m;

	for (m = d->moves; m != NULL; m = m->next) {
		if (!m->barrier && m->user_hash == user_hash &&
		    strcmp(m->tag, tag) == 0)
			return m;
	}
	return NULL;
}

/* A barrier of tag, if user_hash has no assignment there (one that has
 * cannot have been a user of the retired backend). */
static struct move *
moves_find_barrier(
    const struct director *d, uint32_t user_hash, const char *tag)
{
	struct host_tag *t;
	struct move *m;

	for (m = d->moves; m != NULL; m = m->next) {
		if (m->barrier && strcmp(m->tag, tag) == 0)
			break;
	}
	if (m == NULL)
		return NULL;
	t = hosts_tag_lookup(d->hosts, tag);
	if (t != NULL &&
	    users_lookup(hosts_tag_users(t), user_hash, director_now()) != NULL)
		return NULL;
	return m;
}

bool
moves_busy(const struct director *d, uint32_t user_hash, const char *tag)
{
	return moves_find(d, user_hash, tag) != NULL;
}

size_t
moves_count(const struct director *d)
{
	const struct move *m;
	size_t n = 0;

	for (m = d->moves; m != NULL; m = m->next) {
		if (!m->barrier)
			n++;
	}
	return n;
}

/* Clears the user's moving mark (if the user is still there). */
static void
moves_unmark(struct director *d, uint32_t user_hash, const char *tag)
{
	struct host_tag *t = hosts_tag_lookup(d->hosts, tag);
	struct user *u;

	if (t == NULL)
		return;
	u = users_lookup(hosts_tag_users(t), user_hash, director_now());
	if (u != NULL)
		u->flags &= ~(uint32_t)USER_FLAG_MOVING;
}

static void
moves_finish(struct move *m)
{
	struct director *d = m->d;
	struct move_waiter *w;

	if (!m->barrier)
		moves_unmark(d, m->user_hash, m->tag);
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		d->moves = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	event_free(m->timer);
	/* a woken waiter may unlink others: always take the head */
	while ((w = m->waiters) != NULL) {
		moves_unwait(w);
		w->cb(w->context);
	}
	if (m->done != NULL)
		m->done(m->context);
	free(m);
}

static void
moves_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct move *m = arg;
	char ip[IPADDR_STR_MAX];

	if (m->barrier)
		log_info("sessions of retired backend %s have wound down",
		    ipaddr_format(&m->to, ip));
	else
		log_info("user %u move to %s finished", m->user_hash,
		    ipaddr_format(&m->to, ip));
	moves_finish(m);
}

/* A new move or barrier in tag that ends after the kick delay. */
static struct move *
moves_arm(struct director *d, const char *tag, const struct ipaddr *to)
{
	struct timeval tv;
	struct move *m;

	m = xcalloc(1, sizeof(*m));
	m->d = d;
	strlcpy(m->tag, tag, sizeof(m->tag));
	m->to = *to;
	m->timer = event_new(d->base, -1, 0, moves_on_timer, m);
	tv.tv_sec = (time_t)(d->conf->user_kick_delay_ms / 1000);
	tv.tv_usec = (suseconds_t)(d->conf->user_kick_delay_ms % 1000) * 1000;
	if (m->timer == NULL || event_add(m->timer, &tv) == -1)
		fatal("cannot arm the move timer");
	m->next = d->moves;
	if (d->moves != NULL)
		d->moves->prev = m;
	d->moves = m;
	return m;
}

enum move_status
moves_start(struct director *d, uint32_t user_hash, struct host *host,
    move_done_fn *done, void *context)
{
	struct users *users = hosts_tag_users(host->tag);
	const char *tag = hosts_tag_name(host->tag);
	uint32_t now = director_now();
	struct host *old = NULL;
	struct user *u;
	struct move *m;
	size_t kicked;

	if (moves_busy(d, user_hash, tag))
		return MOVE_BUSY;
	u = users_lookup(users, user_hash, now);
	if (u != NULL) {
		old = hosts_lookup_id(d->hosts, u->host);
		users_set_host(users, u, host->id);
		users_refresh(users, u, now, now);
	} else {
		u = users_add(users, user_hash, host->id, now, now);
		if (u == NULL)
			return MOVE_FAILED;
	}
	u->flags |= USER_FLAG_MOVING;
	kicked = registry_kick_user(d->registry, user_hash, &host->ip);
	if (old == host && kicked == 0) {
		/* already there and nowhere else: just refreshed */
		moves_unmark(d, user_hash, tag);
		return MOVE_DONE;
	}
	log_info("user %u moving from %s to %s: %zu sessions kicked, "
		 "waiting %llu ms",
	    user_hash, old != NULL ? old->ip_str : "(none)", host->ip_str,
	    kicked, (unsigned long long)d->conf->user_kick_delay_ms);
	m = moves_arm(d, tag, &host->ip);
	m->user_hash = user_hash;
	m->done = done;
	m->context = context;
	return MOVE_STARTED;
}

/*
 * Takes host out of its tag: kicks its sessions and arms a barrier in
 * the tag if it had users or sessions.  remove: delete the host, else
 * move it to new_tag.  Returns -1 (nothing done) for a bad new_tag.
 */
static int
moves_retire(struct director *d, struct host **hostp, const char *new_tag,
    const char *why)
{
	struct host *host = *hostp;
	char tag[HOST_TAG_MAX + 1], ip_str[IPADDR_STR_MAX];
	struct ipaddr ip = host->ip;
	size_t users, kicked;
	struct move *m;

	strlcpy(tag, hosts_tag_name(host->tag), sizeof(tag));
	users = hosts_user_count(d->hosts, host);
	if (new_tag == NULL)
		hosts_remove(d->hosts, hostp);
	else if (hosts_set_tag(d->hosts, host, new_tag) == -1)
		return -1;
	kicked = registry_kick_backend(d->registry, &ip);
	log_info("backend %s %s%s (%s): %zu users forgotten, %zu sessions "
		 "kicked%s",
	    ipaddr_format(&ip, ip_str),
	    new_tag == NULL ? "removed" : "moved to tag ",
	    new_tag == NULL ? "" : new_tag, why, users, kicked,
	    users > 0 || kicked > 0 ? "; new users of its old tag wait for "
				      "the kick delay"
				    : "");
	if (users > 0 || kicked > 0) {
		m = moves_arm(d, tag, &ip);
		m->barrier = true;
	}
	return 0;
}

void
moves_retire_host(struct director *d, struct host **hostp, const char *why)
{
	(void)moves_retire(d, hostp, NULL, why);
}

int
moves_retag_host(
    struct director *d, struct host *host, const char *tag, const char *why)
{
	return moves_retire(d, &host, tag, why);
}

void
moves_forget(struct director *d, void *context)
{
	struct move *m;

	for (m = d->moves; m != NULL; m = m->next) {
		if (m->context == context) {
			m->done = NULL;
			m->context = NULL;
		}
	}
}

bool
moves_wait(struct director *d, uint32_t user_hash, const char *tag,
    struct move_waiter *w)
{
	struct move *m = moves_find(d, user_hash, tag);

	if (m == NULL)
		m = moves_find_barrier(d, user_hash, tag);
	if (m == NULL)
		return false;
	w->move = m;
	w->prev = NULL;
	w->next = m->waiters;
	if (m->waiters != NULL)
		m->waiters->prev = w;
	m->waiters = w;
	return true;
}

void
moves_unwait(struct move_waiter *w)
{
	struct move *m = w->move;

	if (m == NULL)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		m->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->move = NULL;
}

void
moves_free_all(struct director *d)
{
	while (d->moves != NULL)
		moves_finish(d->moves);
}

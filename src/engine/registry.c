/*
 * registry.c - live sessions by user: a chained hash table of users,
 * each with a doubly linked list of its members.
 *
 * Invariants: a registry_user exists exactly while it has members; the
 * table grows when it holds more users than buckets, so lookups stay
 * O(1).  Kicking iterates over a snapshot-safe walk: the kick function
 * may remove the member it is called for (and free its owner), so the
 * next pointer is taken before the call, and a user whose last member
 * goes away is freed only by registry_remove().
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "xmalloc.h"

#define REGISTRY_BUCKETS_MIN 64
#define REGISTRY_TAG_MAX 64

struct registry_user {
	struct registry_user *bucket_next;
	struct registry_member *members;
	size_t count;
	uint32_t hash;
	char tag[REGISTRY_TAG_MAX + 1];
};

struct registry {
	struct registry_user **buckets;
	size_t nbuckets; /* power of two */
	size_t nusers;
	size_t nsessions;
	registry_kick_fn *kick;
};

struct registry *
registry_new(registry_kick_fn *kick)
{
	struct registry *reg = xcalloc(1, sizeof(*reg));

	reg->nbuckets = REGISTRY_BUCKETS_MIN;
	reg->buckets = xcalloc(reg->nbuckets, sizeof(*reg->buckets));
	reg->kick = kick;
	return reg;
}

void
registry_free(struct registry **regp)
{
	struct registry *reg = *regp;
	struct registry_user *u, *next;
	size_t i;

	if (reg == NULL)
		return;
	*regp = NULL;
	for (i = 0; i < reg->nbuckets; i++) {
		for (u = reg->buckets[i]; u != NULL; u = next) {
			next = u->bucket_next;
			free(u);
		}
	}
	free(reg->buckets);
	free(reg);
}

static size_t
registry_bucket(const struct registry *reg, uint32_t hash)
{
	/* user hashes are MD5 bits already; mix anyway for test inputs */
	return (size_t)((hash * 2654435761u) >> 7) & (reg->nbuckets - 1);
}

static struct registry_user *
registry_find(const struct registry *reg, uint32_t hash, const char *tag)
{
	struct registry_user *u;

	for (u = reg->buckets[registry_bucket(reg, hash)]; u != NULL;
	     u = u->bucket_next) {
		if (u->hash == hash &&
		    (tag == NULL || strcmp(u->tag, tag) == 0))
			return u;
	}
	return NULL;
}

static void
registry_grow(struct registry *reg)
{
	struct registry_user **old = reg->buckets, *u, *next;
	size_t i, oldn = reg->nbuckets, b;

	reg->nbuckets *= 2;
	reg->buckets = xcalloc(reg->nbuckets, sizeof(*reg->buckets));
	for (i = 0; i < oldn; i++) {
		for (u = old[i]; u != NULL; u = next) {
			next = u->bucket_next;
			b = registry_bucket(reg, u->hash);
			u->bucket_next = reg->buckets[b];
			reg->buckets[b] = u;
		}
	}
	free(old);
}

void
registry_add(struct registry *reg, struct registry_member *m,
    uint32_t user_hash, const char *tag, const struct ipaddr *backend,
    void *owner)
{
	struct registry_user *u;
	size_t b;

	if (tag == NULL)
		tag = "";
	u = registry_find(reg, user_hash, tag);
	if (u == NULL) {
		if (reg->nusers >= reg->nbuckets)
			registry_grow(reg);
		u = xcalloc(1, sizeof(*u));
		u->hash = user_hash;
		strlcpy(u->tag, tag, sizeof(u->tag));
		b = registry_bucket(reg, user_hash);
		u->bucket_next = reg->buckets[b];
		reg->buckets[b] = u;
		reg->nusers++;
	}
	m->user = u;
	m->backend = *backend;
	m->owner = owner;
	m->prev = NULL;
	m->next = u->members;
	if (u->members != NULL)
		u->members->prev = m;
	u->members = m;
	u->count++;
	reg->nsessions++;
}

static void
registry_unlink_user(struct registry *reg, struct registry_user *u)
{
	struct registry_user **pp =
	    &reg->buckets[registry_bucket(reg, u->hash)];

	while (*pp != u)
		pp = &(*pp)->bucket_next;
	*pp = u->bucket_next;
	reg->nusers--;
	free(u);
}

void
registry_remove(struct registry *reg, struct registry_member *m)
{
	struct registry_user *u = m->user;

	if (u == NULL)
		return;
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		u->members = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	m->user = NULL;
	m->prev = m->next = NULL;
	u->count--;
	reg->nsessions--;
	if (u->count == 0)
		registry_unlink_user(reg, u);
}

size_t
registry_user_sessions(const struct registry *reg, uint32_t user_hash)
{
	const struct registry_user *u;
	size_t n = 0;

	for (u = reg->buckets[registry_bucket(reg, user_hash)]; u != NULL;
	     u = u->bucket_next) {
		if (u->hash == user_hash)
			n += u->count;
	}
	return n;
}

size_t
registry_user_count(const struct registry *reg)
{
	return reg->nusers;
}

size_t
registry_session_count(const struct registry *reg)
{
	return reg->nsessions;
}

/*
 * Collects the owners to kick first, then kicks them: a kick may remove
 * any member (even other users' ones, when a session's end triggers more
 * work), so no list is walked while kicks run.
 */
struct registry_kick_list {
	struct registry_kick {
		registry_kick_fn *fn;
		void *owner;
	} * kicks;
	size_t count, cap;
};

static void
registry_kick_collect(struct registry_kick_list *kl,
    const struct registry_user *u, const struct ipaddr *only,
    const struct ipaddr *except)
{
	const struct registry_member *m;

	for (m = u->members; m != NULL; m = m->next) {
		if (only != NULL && !ipaddr_equals(&m->backend, only))
			continue;
		if (except != NULL && ipaddr_equals(&m->backend, except))
			continue;
		if (kl->count == kl->cap) {
			kl->cap = kl->cap == 0 ? 8 : kl->cap * 2;
			kl->kicks = xreallocarray(
			    kl->kicks, kl->cap, sizeof(*kl->kicks));
		}
		kl->kicks[kl->count].fn = m->kick;
		kl->kicks[kl->count++].owner = m->owner;
	}
}

static size_t
registry_kick_run(struct registry *reg, struct registry_kick_list *kl)
{
	size_t i, n = kl->count;

	for (i = 0; i < n; i++) {
		if (kl->kicks[i].fn != NULL)
			kl->kicks[i].fn(kl->kicks[i].owner);
		else
			reg->kick(kl->kicks[i].owner);
	}
	free(kl->kicks);
	return n;
}

size_t
registry_kick_user(
    struct registry *reg, uint32_t user_hash, const struct ipaddr *except)
{
	struct registry_kick_list kl = {0};
	const struct registry_user *u;

	for (u = reg->buckets[registry_bucket(reg, user_hash)]; u != NULL;
	     u = u->bucket_next) {
		if (u->hash == user_hash)
			registry_kick_collect(&kl, u, NULL, except);
	}
	return registry_kick_run(reg, &kl);
}

static size_t
registry_kick_matching(struct registry *reg, const struct ipaddr *only)
{
	struct registry_kick_list kl = {0};
	const struct registry_user *u;
	size_t i;

	for (i = 0; i < reg->nbuckets; i++) {
		for (u = reg->buckets[i]; u != NULL; u = u->bucket_next)
			registry_kick_collect(&kl, u, only, NULL);
	}
	return registry_kick_run(reg, &kl);
}

size_t
registry_kick_backend(struct registry *reg, const struct ipaddr *backend)
{
	return registry_kick_matching(reg, backend);
}

size_t
registry_kick_all(struct registry *reg)
{
	return registry_kick_matching(reg, NULL);
}

void
registry_foreach_user(
    const struct registry *reg, registry_user_fn *fn, void *context)
{
	const struct registry_user *u;
	size_t i;

	for (i = 0; i < reg->nbuckets; i++) {
		for (u = reg->buckets[i]; u != NULL; u = u->bucket_next)
			fn(u->hash, u->tag, &u->members->backend, context);
	}
}

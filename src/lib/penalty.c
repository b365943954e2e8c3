/*
 * penalty.c - failed logins per client address (see penalty.h).
 *
 * A chained hash table of entries, and a list of them ordered by their
 * last failure (oldest first) for forgetting and eviction; every entry
 * is in both.  Expired entries are dropped from the head of the list
 * whenever the table is touched.
 */
#include "compat.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "penalty.h"
#include "xmalloc.h"

#define PENALTY_BUCKETS 4096 /* power of two */
#define PENALTY_V6_PREFIX 8 /* bytes of an IPv6 address that count */

struct penalty_entry {
	struct penalty_entry *bucket_next;
	TAILQ_ENTRY(penalty_entry) age;
	uint8_t family;
	uint8_t addr[16];
	unsigned int failures;
	uint64_t last_ms;
};

struct penalty {
	uint64_t key;
	struct penalty_entry *buckets[PENALTY_BUCKETS];
	TAILQ_HEAD(, penalty_entry) by_age;
	size_t count;
};

struct penalty *
penalty_new(uint64_t key)
{
	struct penalty *p = xcalloc(1, sizeof(*p));

	p->key = key;
	TAILQ_INIT(&p->by_age);
	return p;
}

void
penalty_free(struct penalty **pp)
{
	struct penalty *p = *pp;
	struct penalty_entry *e;

	if (p == NULL)
		return;
	*pp = NULL;
	while ((e = TAILQ_FIRST(&p->by_age)) != NULL) {
		TAILQ_REMOVE(&p->by_age, e, age);
		free(e);
	}
	free(p);
}

/* The part of ip that counts: all of IPv4, the /64 of IPv6. */
static size_t
penalty_key_bytes(const struct ipaddr *ip)
{
	return ip->family == IPADDR_FAMILY_V6 ? PENALTY_V6_PREFIX : 4;
}

static size_t
penalty_bucket(const struct penalty *p, const struct ipaddr *ip)
{
	uint64_t h = p->key ^ ip->family;
	size_t i, n = penalty_key_bytes(ip);

	/* a keyed multiply-xorshift mix of each byte */
	for (i = 0; i < n; i++) {
		h = (h ^ ip->a[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h ^= p->key >> 17;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	return (size_t)h & (PENALTY_BUCKETS - 1);
}

static void
penalty_unlink(struct penalty *p, struct penalty_entry *e)
{
	struct penalty_entry **pp;
	struct ipaddr ip;

	ip.family = e->family;
	memcpy(ip.a, e->addr, sizeof(ip.a));
	pp = &p->buckets[penalty_bucket(p, &ip)];
	while (*pp != e)
		pp = &(*pp)->bucket_next;
	*pp = e->bucket_next;
	TAILQ_REMOVE(&p->by_age, e, age);
	p->count--;
	free(e);
}

/* Forgets entries whose last failure is an hour old. */
static void
penalty_expire(struct penalty *p, uint64_t now_ms)
{
	struct penalty_entry *e;

	while ((e = TAILQ_FIRST(&p->by_age)) != NULL &&
	    now_ms >= e->last_ms + PENALTY_FORGET_MS)
		penalty_unlink(p, e);
}

static struct penalty_entry *
penalty_find(const struct penalty *p, const struct ipaddr *ip)
{
	struct penalty_entry *e;
	size_t n = penalty_key_bytes(ip);

	for (e = p->buckets[penalty_bucket(p, ip)]; e != NULL;
	     e = e->bucket_next) {
		if (e->family == ip->family && memcmp(e->addr, ip->a, n) == 0)
			return e;
	}
	return NULL;
}

uint64_t
penalty_fail(struct penalty *p, const struct ipaddr *ip, uint64_t now_ms)
{
	struct penalty_entry *e;
	uint64_t delay;
	size_t b;

	penalty_expire(p, now_ms);
	e = penalty_find(p, ip);
	if (e == NULL) {
		if (p->count >= PENALTY_ENTRIES_MAX)
			penalty_unlink(p, TAILQ_FIRST(&p->by_age));
		e = xcalloc(1, sizeof(*e));
		e->family = ip->family;
		memcpy(e->addr, ip->a, penalty_key_bytes(ip));
		b = penalty_bucket(p, ip);
		e->bucket_next = p->buckets[b];
		p->buckets[b] = e;
		p->count++;
	} else
		TAILQ_REMOVE(&p->by_age, e, age);
	e->last_ms = now_ms;
	TAILQ_INSERT_TAIL(&p->by_age, e, age);
	if (e->failures < UINT_MAX)
		e->failures++;
	if (e->failures < 2)
		return 0;
	delay = PENALTY_FIRST_MS;
	for (unsigned int i = 2; i < e->failures && delay < PENALTY_MAX_MS; i++)
		delay *= 2;
	return delay < PENALTY_MAX_MS ? delay : PENALTY_MAX_MS;
}

unsigned int
penalty_failures(struct penalty *p, const struct ipaddr *ip, uint64_t now_ms)
{
	const struct penalty_entry *e;

	penalty_expire(p, now_ms);
	e = penalty_find(p, ip);
	return e != NULL ? e->failures : 0;
}

size_t
penalty_count(const struct penalty *p)
{
	return p->count;
}

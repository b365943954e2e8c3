/*
 * connlimit.c - per-IP connection counts in a chained hash table that
 * grows with the number of distinct IPs; an entry is freed when its
 * count drops to zero, so memory follows the live connections.
 */
#include "compat.h"

#include <stdlib.h>

#include "connlimit.h"
#include "xmalloc.h"

#define CONNLIMIT_BUCKETS_MIN 64

struct connlimit_entry {
	struct connlimit_entry *next;
	struct ipaddr ip;
	unsigned int count;
};

struct connlimit {
	struct connlimit_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t nentries;
};

struct connlimit *
connlimit_new(void)
{
	struct connlimit *cl = xcalloc(1, sizeof(*cl));

	cl->nbuckets = CONNLIMIT_BUCKETS_MIN;
	cl->buckets = xcalloc(cl->nbuckets, sizeof(*cl->buckets));
	return cl;
}

void
connlimit_free(struct connlimit **clp)
{
	struct connlimit *cl = *clp;
	struct connlimit_entry *e, *next;
	size_t i;

	if (cl == NULL)
		return;
	*clp = NULL;
	for (i = 0; i < cl->nbuckets; i++) {
		for (e = cl->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(cl->buckets);
	free(cl);
}

static struct connlimit_entry **
connlimit_slot(const struct connlimit *cl, const struct ipaddr *ip)
{
	struct connlimit_entry **pp;

	pp = &cl->buckets[ipaddr_hash(ip) & (cl->nbuckets - 1)];
	while (*pp != NULL && !ipaddr_equals(&(*pp)->ip, ip))
		pp = &(*pp)->next;
	return pp;
}

static void
connlimit_grow(struct connlimit *cl)
{
	struct connlimit_entry **old = cl->buckets, *e, *next;
	size_t i, oldn = cl->nbuckets, b;

	cl->nbuckets *= 2;
	cl->buckets = xcalloc(cl->nbuckets, sizeof(*cl->buckets));
	for (i = 0; i < oldn; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			b = ipaddr_hash(&e->ip) & (cl->nbuckets - 1);
			e->next = cl->buckets[b];
			cl->buckets[b] = e;
		}
	}
	free(old);
}

bool
connlimit_acquire(
    struct connlimit *cl, const struct ipaddr *ip, unsigned int limit)
{
	struct connlimit_entry **pp = connlimit_slot(cl, ip), *e = *pp;

	if (e == NULL) {
		if (cl->nentries >= cl->nbuckets) {
			connlimit_grow(cl);
			pp = connlimit_slot(cl, ip);
		}
		e = xcalloc(1, sizeof(*e));
		e->ip = *ip;
		*pp = e;
		cl->nentries++;
	}
	if (limit != 0 && e->count >= limit)
		return false;
	e->count++;
	return true;
}

void
connlimit_release(struct connlimit *cl, const struct ipaddr *ip)
{
	struct connlimit_entry **pp = connlimit_slot(cl, ip), *e = *pp;

	if (e == NULL || e->count == 0)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
		cl->nentries--;
	}
}

unsigned int
connlimit_count(const struct connlimit *cl, const struct ipaddr *ip)
{
	struct connlimit_entry *e = *connlimit_slot(cl, ip);

	return e == NULL ? 0 : e->count;
}

size_t
connlimit_ip_count(const struct connlimit *cl)
{
	return cl->nentries;
}

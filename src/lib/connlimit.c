/*
 * connlimit.c - per-IP connection counts in a chained hash table that
 * grows with the number of distinct IPs (IPv6 prefixes); an entry is
 * freed when its count drops to zero, so memory follows the live
 * connections.  Entries hold the counted prefix, never a full IPv6
 * address.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "connlimit.h"
#include "xmalloc.h"

#define CONNLIMIT_BUCKETS_MIN 64

struct connlimit_entry {
	struct connlimit_entry *next;
	struct ipaddr ip;
	unsigned int count;
};

struct connlimit {
	uint64_t key;
	unsigned int v6_prefix; /* 1..CONNLIMIT_V6_PREFIX_MAX */
	struct connlimit_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t nentries;
};

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack haproxy
 * reports IPv4 clients) is one IPv4 client, not part of a prefix. */
static bool
connlimit_v4_mapped(const struct ipaddr *ip)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(ip->a, mapped, sizeof(mapped)) == 0;
}

void
connlimit_ip_prefix(
    const struct ipaddr *ip, unsigned int v6_prefix, struct ipaddr *prefix_r)
{
	size_t whole;

	*prefix_r = *ip;
	if (ip->family != IPADDR_FAMILY_V6 ||
	    v6_prefix >= CONNLIMIT_V6_PREFIX_MAX || connlimit_v4_mapped(ip))
		return;
	whole = v6_prefix / 8;
	if (v6_prefix % 8 != 0)
		prefix_r->a[whole++] &= (uint8_t)(0xff << (8 - v6_prefix % 8));
	memset(prefix_r->a + whole, 0, sizeof(prefix_r->a) - whole);
}

uint64_t
connlimit_ip_hash(uint64_t key, unsigned int v6_prefix, const struct ipaddr *ip)
{
	struct ipaddr p;
	uint64_t h = key ^ ip->family;
	size_t i, n;

	connlimit_ip_prefix(ip, v6_prefix, &p);
	n = ipaddr_len(&p);
	/* a keyed multiply-xorshift mix of each byte */
	for (i = 0; i < n; i++) {
		h = (h ^ p.a[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h ^= key >> 17;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	return h;
}

struct connlimit *
connlimit_new(uint64_t key, unsigned int v6_prefix)
{
	struct connlimit *cl = xcalloc(1, sizeof(*cl));

	cl->key = key;
	if (v6_prefix < 1)
		v6_prefix = 1;
	if (v6_prefix > CONNLIMIT_V6_PREFIX_MAX)
		v6_prefix = CONNLIMIT_V6_PREFIX_MAX;
	cl->v6_prefix = v6_prefix;
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

static size_t
connlimit_bucket(const struct connlimit *cl, const struct ipaddr *ip)
{
	return (size_t)connlimit_ip_hash(cl->key, cl->v6_prefix, ip) &
	    (cl->nbuckets - 1);
}

/* The slot of ip's entry, or the empty one at the end of its chain;
 * *prefix_r is the key the entry holds. */
static struct connlimit_entry **
connlimit_slot(const struct connlimit *cl, const struct ipaddr *ip,
    struct ipaddr *prefix_r)
{
	struct connlimit_entry **pp;

	connlimit_ip_prefix(ip, cl->v6_prefix, prefix_r);
	pp = &cl->buckets[connlimit_bucket(cl, prefix_r)];
	while (*pp != NULL && !ipaddr_equals(&(*pp)->ip, prefix_r))
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
			b = connlimit_bucket(cl, &e->ip);
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
	struct ipaddr prefix;
	struct connlimit_entry **pp = connlimit_slot(cl, ip, &prefix), *e = *pp;

	if (e == NULL) {
		if (cl->nentries >= cl->nbuckets) {
			connlimit_grow(cl);
			pp = connlimit_slot(cl, ip, &prefix);
		}
		e = xcalloc(1, sizeof(*e));
		e->ip = prefix;
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
	struct ipaddr prefix;
	struct connlimit_entry **pp = connlimit_slot(cl, ip, &prefix), *e = *pp;

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
	struct ipaddr prefix;
	struct connlimit_entry *e = *connlimit_slot(cl, ip, &prefix);

	return e == NULL ? 0 : e->count;
}

size_t
connlimit_ip_count(const struct connlimit *cl)
{
	return cl->nentries;
}

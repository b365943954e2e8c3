/*
 * select.c - the vhost ring (Dovecot 2.3) and weighted rendezvous
 * hashing.
 *
 * Both methods first sort the candidates by IP (net_ip_cmp order), so an
 * entry's index doubles as its IP rank and every tie-break is "lower IP
 * wins".  That makes the result independent of the order hosts were
 * added in, which every director of a ring relies on.
 *
 * Rendezvous: host i with weight w_i and seed s_i (first 8 bytes of
 * MD5(ip_str), big-endian) gets for user hash h the value
 * x_i = mix64(s_i ^ h * RDV_USER_MULT), u_i = (x_i | 1) / 2^64 and the
 * score w_i / -ln(u_i); the highest score wins.  -log2 is used instead of
 * -ln (a common factor).  Hosts of equal weight are compared by x alone
 * (the score is monotonic in x), so only one logarithm per distinct
 * weight is computed; across weights the scores are compared exactly by
 * cross-multiplication, ties by higher x, then lower IP.
 */
#include "compat.h"

#include <stdio.h>

#include "md5.h"
#include "select.h"
#include "xmalloc.h"

#define RDV_USER_MULT 0x9E3779B97F4A7C15ull
/* sqrt(2) and 1/ln(2) in Q1.63 */
#define SQRT2_Q63 0xB504F333F9DE6484ull
#define INV_LN2_Q63 0xB8AA3B295C17F0BCull
#define ATANH_TERMS_MAX 24

typedef unsigned __int128 select_u128;

struct select_vhost {
	uint32_t hash;
	uint32_t entry;
};

struct select_group {
	uint32_t weight;
	uint32_t start, end; /* entries[start..end-1] */
};

struct select {
	enum select_method method;
	struct select_entry *entries; /* sorted by IP (rendezvous: weight) */
	size_t nentries;
	/* dovecot */
	struct select_vhost *vhosts;
	size_t nvhosts;
	/* rendezvous */
	uint64_t *seeds;
	struct select_group *groups;
	size_t ngroups;
};

/* floor((2^64 - 1) / k) for odd k: the atanh series divisors. */
#define RECIP(k) (UINT64_MAX / (k))
static const uint64_t atanh_recip[ATANH_TERMS_MAX] = {RECIP(1), RECIP(3),
    RECIP(5), RECIP(7), RECIP(9), RECIP(11), RECIP(13), RECIP(15), RECIP(17),
    RECIP(19), RECIP(21), RECIP(23), RECIP(25), RECIP(27), RECIP(29), RECIP(31),
    RECIP(33), RECIP(35), RECIP(37), RECIP(39), RECIP(41), RECIP(43), RECIP(45),
    RECIP(47)};

static inline uint64_t
mulhi64(uint64_t a, uint64_t b)
{
	return (uint64_t)(((select_u128)a * b) >> 64);
}

static inline uint64_t
select_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

select_u128
select_neglog2_q64(uint64_t x)
{
	select_u128 num, den, lg;
	uint64_t m, t, t2, term, sum;
	unsigned int k, n, i;
	bool below_one;

	if (x == 0)
		x = 1;
	k = 63 - (unsigned int)__builtin_clzll(x);
	m = x << (63 - k); /* mantissa in [1, 2), Q1.63 */
	/*
	 * Reduce to a mantissa in [sqrt(2)/2, sqrt(2)) so that the atanh
	 * argument t = (m - 1) / (m + 1) stays below 0.172.  m - 1 is
	 * exact, which keeps the relative error small as u -> 1.
	 */
	if (m > SQRT2_Q63) {
		/* u = 2^(k-63) * (m / 2), m / 2 = M / 2^64 in (0.707, 1) */
		below_one = true;
		n = 63 - k;
		num = ((select_u128)1 << 64) - m;
		den = ((select_u128)1 << 64) + m;
	} else {
		below_one = false;
		n = 64 - k;
		num = m - ((uint64_t)1 << 63);
		den = (select_u128)m + ((uint64_t)1 << 63);
	}
	t = (uint64_t)((num << 64) / den);
	/* atanh(t) = t + t^3/3 + t^5/5 + ... */
	t2 = mulhi64(t, t);
	sum = t;
	term = t;
	for (i = 1; i < ATANH_TERMS_MAX; i++) {
		term = mulhi64(term, t2);
		if (term == 0)
			break;
		sum += mulhi64(term, atanh_recip[i]);
	}
	/* |log2(mantissa)| = 2 * atanh(t) / ln 2 */
	lg = ((select_u128)sum * INV_LN2_Q63) >> 62;
	if (below_one)
		return ((select_u128)n << 64) + lg;
	return ((select_u128)n << 64) - lg;
}

struct select *
select_new(enum select_method method)
{
	struct select *sel = xcalloc(1, sizeof(*sel));

	sel->method = method;
	return sel;
}

static void
select_clear(struct select *sel)
{
	free(sel->entries);
	free(sel->vhosts);
	free(sel->seeds);
	free(sel->groups);
	sel->entries = NULL;
	sel->vhosts = NULL;
	sel->seeds = NULL;
	sel->groups = NULL;
	sel->nentries = sel->nvhosts = sel->ngroups = 0;
}

void
select_free(struct select **sel)
{
	if (*sel == NULL)
		return;
	select_clear(*sel);
	free(*sel);
	*sel = NULL;
}

enum select_method
select_get_method(const struct select *sel)
{
	return sel->method;
}

int
select_method_parse(const char *name, enum select_method *method_r)
{
	if (strcmp(name, "dovecot") == 0)
		*method_r = SELECT_METHOD_DOVECOT;
	else if (strcmp(name, "rendezvous") == 0)
		*method_r = SELECT_METHOD_RENDEZVOUS;
	else
		return -1;
	return 0;
}

const char *
select_method_name(enum select_method method)
{
	return method == SELECT_METHOD_DOVECOT ? "dovecot" : "rendezvous";
}

uint32_t
select_dovecot_point(const struct ipaddr *ip, unsigned int i)
{
	char ipstr[IPADDR_STR_MAX], buf[IPADDR_STR_MAX + 16];
	int len;

	len = snprintf(buf, sizeof(buf), "%s-%u", ipaddr_format(ip, ipstr), i);
	return md5_get_u32_be(buf, (size_t)len);
}

static int
select_entry_cmp_ip(const void *p1, const void *p2)
{
	const struct select_entry *a = p1, *b = p2;

	return ipaddr_cmp(&a->ip, &b->ip);
}

static int
select_entry_cmp_weight(const void *p1, const void *p2)
{
	const struct select_entry *a = p1, *b = p2;

	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	return ipaddr_cmp(&a->ip, &b->ip);
}

static int
select_vhost_cmp(const void *p1, const void *p2)
{
	const struct select_vhost *a = p1, *b = p2;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	/* entries are sorted by IP: index order is net_ip_cmp order */
	if (a->entry != b->entry)
		return a->entry < b->entry ? -1 : 1;
	return 0;
}

static void
select_build_dovecot(struct select *sel)
{
	size_t i, total = 0, n = 0;
	uint32_t v;

	qsort(sel->entries, sel->nentries, sizeof(*sel->entries),
	    select_entry_cmp_ip);
	for (i = 0; i < sel->nentries; i++)
		total += sel->entries[i].weight;
	sel->vhosts =
	    xreallocarray(NULL, MAX_OF(total, 1), sizeof(*sel->vhosts));
	for (i = 0; i < sel->nentries; i++) {
		for (v = 0; v < sel->entries[i].weight; v++) {
			sel->vhosts[n].hash =
			    select_dovecot_point(&sel->entries[i].ip, v);
			sel->vhosts[n].entry = (uint32_t)i;
			n++;
		}
	}
	qsort(sel->vhosts, n, sizeof(*sel->vhosts), select_vhost_cmp);
	sel->nvhosts = n;
}

static void
select_build_rendezvous(struct select *sel)
{
	char ipstr[IPADDR_STR_MAX];
	uint8_t d[MD5_DIGEST_LEN];
	size_t i;
	unsigned int j;
	uint64_t seed;

	qsort(sel->entries, sel->nentries, sizeof(*sel->entries),
	    select_entry_cmp_weight);
	sel->seeds =
	    xreallocarray(NULL, MAX_OF(sel->nentries, 1), sizeof(*sel->seeds));
	sel->groups =
	    xreallocarray(NULL, MAX_OF(sel->nentries, 1), sizeof(*sel->groups));
	for (i = 0; i < sel->nentries; i++) {
		ipaddr_format(&sel->entries[i].ip, ipstr);
		md5_get_digest(ipstr, strlen(ipstr), d);
		for (seed = 0, j = 0; j < 8; j++)
			seed = (seed << 8) | d[j];
		sel->seeds[i] = seed;
		if (i == 0 ||
		    sel->entries[i].weight != sel->entries[i - 1].weight) {
			sel->groups[sel->ngroups].weight =
			    sel->entries[i].weight;
			sel->groups[sel->ngroups].start = (uint32_t)i;
			sel->ngroups++;
		}
		sel->groups[sel->ngroups - 1].end = (uint32_t)i + 1;
	}
}

void
select_build(struct select *sel, const struct select_entry *entries, size_t n)
{
	size_t i;

	select_clear(sel);
	sel->entries = xreallocarray(NULL, MAX_OF(n, 1), sizeof(*sel->entries));
	for (i = 0; i < n; i++) {
		if (entries[i].weight == 0)
			continue;
		sel->entries[sel->nentries] = entries[i];
		if (entries[i].weight > SELECT_WEIGHT_MAX)
			sel->entries[sel->nentries].weight = SELECT_WEIGHT_MAX;
		sel->nentries++;
	}
	if (sel->method == SELECT_METHOD_DOVECOT)
		select_build_dovecot(sel);
	else
		select_build_rendezvous(sel);
}

static int
select_pick_dovecot(const struct select *sel, uint32_t h, uint32_t *id_r)
{
	size_t lo = 0, hi = sel->nvhosts, mid, idx;

	if (sel->nvhosts == 0)
		return -1;
	/*
	 * Dovecot's array_bsearch_insert_pos(): on an exact match the
	 * first probed equal element is returned, not the first equal one.
	 */
	idx = SIZE_MAX;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (sel->vhosts[mid].hash < h) {
			lo = mid + 1;
		} else if (sel->vhosts[mid].hash > h) {
			hi = mid;
		} else {
			idx = mid;
			break;
		}
	}
	if (idx == SIZE_MAX)
		idx = lo;
	if (idx == sel->nvhosts)
		idx = 0;
	*id_r = sel->entries[sel->vhosts[idx].entry].id;
	return 0;
}

static int
select_pick_rendezvous(const struct select *sel, uint32_t h, uint32_t *id_r)
{
	uint64_t hx = (uint64_t)h * RDV_USER_MULT, x, gx, best_x = 0;
	select_u128 gl, best_l = 0, lhs, rhs;
	uint32_t gi, best = UINT32_MAX, best_w = 0, j;
	size_t g;

	for (g = 0; g < sel->ngroups; g++) {
		const struct select_group *grp = &sel->groups[g];

		gi = grp->start;
		gx = select_mix64(sel->seeds[gi] ^ hx);
		for (j = grp->start + 1; j < grp->end; j++) {
			x = select_mix64(sel->seeds[j] ^ hx);
			/* ties keep the earlier, lower IP */
			if (x > gx) {
				gx = x;
				gi = j;
			}
		}
		gl = select_neglog2_q64(gx | 1);
		if (best != UINT32_MAX) {
			/* gw / gl > best_w / best_l ? (L > 0 always) */
			lhs = (select_u128)grp->weight * best_l;
			rhs = (select_u128)best_w * gl;
			if (lhs < rhs)
				continue;
			if (lhs == rhs) {
				if (gx < best_x)
					continue;
				if (gx == best_x &&
				    ipaddr_cmp(&sel->entries[gi].ip,
					&sel->entries[best].ip) > 0)
					continue;
			}
		}
		best = gi;
		best_x = gx;
		best_l = gl;
		best_w = grp->weight;
	}
	if (best == UINT32_MAX)
		return -1;
	*id_r = sel->entries[best].id;
	return 0;
}

int
select_pick(const struct select *sel, uint32_t user_hash, uint32_t *id_r)
{
	if (sel->method == SELECT_METHOD_DOVECOT)
		return select_pick_dovecot(sel, user_hash, id_r);
	return select_pick_rendezvous(sel, user_hash, id_r);
}

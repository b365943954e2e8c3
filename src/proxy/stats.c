/*
 * stats.c - the proxies' counters (see stats.h).
 *
 * Per-backend counters are kept for every backend a login ever reached
 * (bounded by HOSTS_MAX in practice: logins only go to known backends),
 * sorted by address for a binary search on every login.
 */
#include "compat.h"

#include "stats.h"
#include "xmalloc.h"

static const char *const stats_proto_names[] = {
    "imap", "pop3", "sieve", "lmtp"};
static const char *const stats_result_names[] = {
    "ok", "auth_failed", "no_backend", "backend_unreachable", "backend_error"};
static const char *const stats_delivery_names[] = {
    "delivered", "tempfail", "permfail"};
static_assert(nitems(stats_proto_names) == STATS_PROTO_COUNT, "protos");
static_assert(nitems(stats_result_names) == STATS_RESULT_COUNT, "results");
static_assert(
    nitems(stats_delivery_names) == STATS_DELIVERY_COUNT, "deliveries");

static size_t
stats_find(const struct stats *st, const struct ipaddr *ip, bool *found_r)
{
	size_t lo = 0, hi = st->nbackends, mid;
	int cmp;

	*found_r = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = ipaddr_cmp(&st->backends[mid].ip, ip);
		if (cmp == 0) {
			*found_r = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
stats_login(struct stats *st, enum stats_proto proto,
    const struct ipaddr *backend, enum stats_result result)
{
	struct stats_backend *b;
	bool found;
	size_t i;

	st->logins[proto][result]++;
	if (backend == NULL || backend->family == 0)
		return;
	i = stats_find(st, backend, &found);
	if (!found) {
		st->backends = xreallocarray(
		    st->backends, st->nbackends + 1, sizeof(*st->backends));
		memmove(&st->backends[i + 1], &st->backends[i],
		    (st->nbackends - i) * sizeof(*st->backends));
		b = &st->backends[i];
		memset(b, 0, sizeof(*b));
		b->ip = *backend;
		st->nbackends++;
	}
	st->backends[i].logins[proto][result]++;
}

void
stats_merge(struct stats *dst, const struct stats *src)
{
	struct stats_backend *b;
	bool found;
	size_t i, k, p, r;

	for (p = 0; p < STATS_PROTO_COUNT; p++)
		for (r = 0; r < STATS_RESULT_COUNT; r++)
			dst->logins[p][r] += src->logins[p][r];
	dst->delayed += src->delayed;
	for (i = 0; i < STATS_DELIVERY_COUNT; i++)
		dst->deliveries[i] += src->deliveries[i];
	for (k = 0; k < src->nbackends; k++) {
		i = stats_find(dst, &src->backends[k].ip, &found);
		if (!found) {
			dst->backends = xreallocarray(dst->backends,
			    dst->nbackends + 1, sizeof(*dst->backends));
			memmove(&dst->backends[i + 1], &dst->backends[i],
			    (dst->nbackends - i) * sizeof(*dst->backends));
			b = &dst->backends[i];
			memset(b, 0, sizeof(*b));
			b->ip = src->backends[k].ip;
			dst->nbackends++;
		}
		for (p = 0; p < STATS_PROTO_COUNT; p++)
			for (r = 0; r < STATS_RESULT_COUNT; r++)
				dst->backends[i].logins[p][r] +=
				    src->backends[k].logins[p][r];
	}
}

void
stats_delivery(struct stats *st, const char *code)
{
	if (code[0] == '2')
		st->deliveries[STATS_DELIVERED]++;
	else if (code[0] == '5')
		st->deliveries[STATS_DELIVERY_PERMFAIL]++;
	else
		st->deliveries[STATS_DELIVERY_TEMPFAIL]++;
}

const struct stats_backend *
stats_backend(const struct stats *st, const struct ipaddr *ip)
{
	bool found;
	size_t i = stats_find(st, ip, &found);

	return found ? &st->backends[i] : NULL;
}

void
stats_free(struct stats *st)
{
	free(st->backends);
	st->backends = NULL;
	st->nbackends = 0;
}

const char *
stats_proto_name(enum stats_proto proto)
{
	return stats_proto_names[proto];
}

enum stats_proto
stats_proto_from_name(const char *name)
{
	if (strcmp(name, "pop3") == 0)
		return STATS_POP3;
	if (strcmp(name, "sieve") == 0)
		return STATS_SIEVE;
	if (strcmp(name, "lmtp") == 0)
		return STATS_LMTP;
	return STATS_IMAP;
}

const char *
stats_result_name(enum stats_result result)
{
	return stats_result_names[result];
}

const char *
stats_delivery_name(enum stats_delivery d)
{
	return stats_delivery_names[d];
}

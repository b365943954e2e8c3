/*
 * stats.h - the proxies' counters for the metrics endpoint: logins by
 * protocol, backend and result, logins that had to wait, and LMTP
 * deliveries by outcome.  Counters only grow (Prometheus counters);
 * gauges (sessions, users, spool bytes) are read from their owners when
 * the metrics are written.
 *
 * One struct stats lives in the proxies' environment (proxy.h); it is
 * touched only by the event loop's thread.
 */
#ifndef DIRECTOR_STATS_H
#define DIRECTOR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

enum stats_proto {
	STATS_IMAP,
	STATS_POP3,
	STATS_SIEVE, /* ManageSieve */
	STATS_LMTP,
};
#define STATS_PROTO_COUNT 4

/* How a login (or an LMTP recipient's routing) ended. */
enum stats_result {
	STATS_OK,
	STATS_AUTH_FAILED, /* the backend refused the credentials */
	STATS_NO_BACKEND, /* none usable, or a wait that ran out */
	STATS_BACKEND_UNREACHABLE, /* connect refused, timeout, reset */
	STATS_BACKEND_ERROR, /* anything else on the way (temporary) */
};
#define STATS_RESULT_COUNT 5

enum stats_delivery {
	STATS_DELIVERED, /* 2xx */
	STATS_DELIVERY_TEMPFAIL, /* 4xx */
	STATS_DELIVERY_PERMFAIL, /* 5xx */
};
#define STATS_DELIVERY_COUNT 3

struct stats_backend {
	struct ipaddr ip;
	uint64_t logins[STATS_PROTO_COUNT][STATS_RESULT_COUNT];
};

struct stats {
	uint64_t logins[STATS_PROTO_COUNT][STATS_RESULT_COUNT];
	uint64_t delayed; /* logins that waited for a move or the ring */
	uint64_t deliveries[STATS_DELIVERY_COUNT]; /* LMTP, per recipient */
	struct stats_backend *backends; /* sorted by ipaddr_cmp */
	size_t nbackends;
};

/* Counts a login of proto with result, on backend (NULL: none). */
void stats_login(struct stats *st, enum stats_proto proto,
    const struct ipaddr *backend, enum stats_result result);
/* Counts an LMTP recipient's delivery from its reply code ("250"). */
void stats_delivery(struct stats *st, const char *code);
/* The counters of a backend, or NULL (no login reached it yet). */
const struct stats_backend *stats_backend(
    const struct stats *st, const struct ipaddr *ip);
/* Adds the counters of src to dst. */
void stats_merge(struct stats *dst, const struct stats *src);
/* Frees the per-backend counters. */
void stats_free(struct stats *st);

/* "imap", "pop3", "sieve", "lmtp"; the enum from a session protocol's name
 * (anything unknown counts as imap). */
const char *stats_proto_name(enum stats_proto proto);
enum stats_proto stats_proto_from_name(const char *name);
/* "ok", "auth_failed", "no_backend", "backend_unreachable",
 * "backend_error". */
const char *stats_result_name(enum stats_result result);
/* "delivered", "tempfail", "permfail". */
const char *stats_delivery_name(enum stats_delivery d);

#endif

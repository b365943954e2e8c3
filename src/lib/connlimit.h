/*
 * connlimit.h - open connections per client IP, for max_connections_per_ip.
 *
 * Pure bookkeeping: callers count a connection in once its client
 * address is final (after a PROXY header) and out when it closes.
 */
#ifndef DIRECTOR_CONNLIMIT_H
#define DIRECTOR_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "ipaddr.h"

struct connlimit;

struct connlimit *connlimit_new(void);
void connlimit_free(struct connlimit **cl);

/*
 * Counts one more connection from ip unless it already has limit (0 =
 * no limit) connections.  Returns true if it was counted.
 */
bool connlimit_acquire(
    struct connlimit *cl, const struct ipaddr *ip, unsigned int limit);
/* Counts one connection from ip out (after a successful acquire). */
void connlimit_release(struct connlimit *cl, const struct ipaddr *ip);
/* Connections counted for ip, and distinct IPs with connections. */
unsigned int connlimit_count(
    const struct connlimit *cl, const struct ipaddr *ip);
size_t connlimit_ip_count(const struct connlimit *cl);

#endif

/*
 * connlimit.h - open connections per client IP, for max_connections_per_ip.
 *
 * Pure bookkeeping: callers count a connection in once its client
 * address is final (after a PROXY header) and out when it closes.
 * IPv4 addresses count one by one, IPv6 addresses by a prefix (a host
 * usually owns a whole /64, so counting single IPv6 addresses would
 * limit nothing).  The hash is keyed, so a client cannot choose
 * addresses that collide.
 *
 * connlimit_ip_prefix() and connlimit_ip_hash() are also the address
 * key and hash of penalty.c.
 */
#ifndef DIRECTOR_CONNLIMIT_H
#define DIRECTOR_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

/* max_connections_per_ip_ipv6_prefix: its default and range */
#define CONNLIMIT_V6_PREFIX_DEFAULT 64
#define CONNLIMIT_V6_PREFIX_MAX 128

struct connlimit;

/*
 * A new table hashing with key (random in the daemon) that counts IPv6
 * addresses by their first v6_prefix bits (1..128; out of range is
 * clamped).
 */
struct connlimit *connlimit_new(uint64_t key, unsigned int v6_prefix);
void connlimit_free(struct connlimit **cl);

/*
 * Counts one more connection from ip unless it already has limit (0 =
 * no limit) connections.  Returns true if it was counted.
 */
bool connlimit_acquire(
    struct connlimit *cl, const struct ipaddr *ip, unsigned int limit);
/* Counts one connection from ip out (after a successful acquire). */
void connlimit_release(struct connlimit *cl, const struct ipaddr *ip);
/* Connections counted for ip (its prefix), and distinct IPs (prefixes)
 * with connections. */
unsigned int connlimit_count(
    const struct connlimit *cl, const struct ipaddr *ip);
size_t connlimit_ip_count(const struct connlimit *cl);

/* ip as it is counted: IPv4 and IPv4-mapped IPv6 whole, other IPv6
 * with the bits past v6_prefix cleared. */
void connlimit_ip_prefix(
    const struct ipaddr *ip, unsigned int v6_prefix, struct ipaddr *prefix_r);
/* A keyed hash of connlimit_ip_prefix(ip, v6_prefix). */
uint64_t connlimit_ip_hash(
    uint64_t key, unsigned int v6_prefix, const struct ipaddr *ip);

#endif

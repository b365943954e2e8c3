/*
 * penalty.h - failed logins per client address, and how long the next
 * failure's reply should wait (a brake on password guessing that costs
 * an honest user who mistypes once nothing).
 *
 * Pure: time comes in as now_ms.  IPv4 addresses count one by one, IPv6
 * addresses by their /64 (one host usually owns a whole /64).  The
 * table is bounded: past PENALTY_ENTRIES_MAX addresses the one whose
 * last failure is oldest is forgotten.  Its hash is keyed, so a client
 * cannot choose addresses that collide.
 */
#ifndef DIRECTOR_PENALTY_H
#define DIRECTOR_PENALTY_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define PENALTY_ENTRIES_MAX 65536
/* The first failure is free; then 2 s, 4 s, 8 s, at most 15 s. */
#define PENALTY_FIRST_MS 2000
#define PENALTY_MAX_MS 15000
/* An address's failures are forgotten an hour after its last one. */
#define PENALTY_FORGET_MS (60 * 60 * 1000)

struct penalty;

/* A new table hashing with key (random in the daemon). */
struct penalty *penalty_new(uint64_t key);
void penalty_free(struct penalty **p);

/* Counts a failed login from ip at now_ms; returns how long its reply
 * should wait, in ms. */
uint64_t penalty_fail(
    struct penalty *p, const struct ipaddr *ip, uint64_t now_ms);
/* Failures counted for ip (0 once forgotten), and addresses tracked. */
unsigned int penalty_failures(
    struct penalty *p, const struct ipaddr *ip, uint64_t now_ms);
size_t penalty_count(const struct penalty *p);

#endif

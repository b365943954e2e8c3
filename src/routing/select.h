/*
 * select.h - choose the backend for a new user from a 32-bit user hash.
 *
 * Two methods over a fixed candidate list (built by hosts.c from the
 * eligible hosts of one tag):
 *  - SELECT_METHOD_DOVECOT: Dovecot 2.3's vhost ring, bit-exact.
 *  - SELECT_METHOD_RENDEZVOUS: weighted highest-random-weight hashing,
 *    computed with integer arithmetic only so that every machine agrees.
 * A struct select is immutable between select_build() calls; picking
 * allocates nothing.
 */
#ifndef DIRECTOR_SELECT_H
#define DIRECTOR_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

#define SELECT_WEIGHT_MAX 1000

enum select_method {
	SELECT_METHOD_DOVECOT,
	SELECT_METHOD_RENDEZVOUS,
};

struct select_entry {
	struct ipaddr ip;
	uint32_t weight; /* vhost_count, 1..SELECT_WEIGHT_MAX */
	uint32_t id; /* returned by select_pick */
};

struct select;

struct select *select_new(enum select_method method);
void select_free(struct select **sel);
/*
 * Replaces the candidates with a copy of entries[0..n-1].  Entries with
 * weight 0 are ignored; weights above SELECT_WEIGHT_MAX are clamped.
 * The result does not depend on the order of entries.
 */
void select_build(
    struct select *sel, const struct select_entry *entries, size_t n);
/* Picks a candidate for user_hash.  Returns 0 with *id_r, or -1 if none. */
int select_pick(const struct select *sel, uint32_t user_hash, uint32_t *id_r);
enum select_method select_get_method(const struct select *sel);
/* Parses "dovecot" / "rendezvous".  Returns 0 or -1. */
int select_method_parse(const char *name, enum select_method *method_r);
const char *select_method_name(enum select_method method);

/* Dovecot ring point i of ip: MD5("<ip_str>-<i>") first 4 bytes BE. */
uint32_t select_dovecot_point(const struct ipaddr *ip, unsigned int i);
/*
 * -log2(x / 2^64) for x >= 1 as an unsigned Q64.64 fixed-point value,
 * integer arithmetic only.  Relative error < 1e-9 while the result is
 * above 2^-40 (absolute error about 2^-62 below that).  Exposed for tests.
 */
unsigned __int128 select_neglog2_q64(uint64_t x);

#endif

/*
 * users.h - the user directory of one tag: user hash -> backend, with
 * expiry.
 *
 * Records live in fixed-size slabs (no per-user malloc) and are found
 * through an open-addressing table keyed by the 32-bit user hash.  A
 * doubly linked list orders them by timestamp, oldest first, so expiry
 * only looks at the head.  Time is injected: every function that needs
 * it takes `now` (unix seconds).  A user is expired when
 * timestamp + expire_secs <= now.
 *
 * Invariants: timestamps never go backwards and never beyond the `now`
 * passed in; list order is non-decreasing in timestamp; per-host user
 * counts always equal the number of records naming that host.
 */
#ifndef DIRECTOR_USERS_H
#define DIRECTOR_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USERS_HOST_NONE UINT32_MAX
#define USERS_MAX (1u << 30)

enum user_flag {
	USER_FLAG_WEAK = 0x01,
	/* kill/move in progress: users_expire() does not remove it */
	USER_FLAG_KILLING = 0x02,
	USER_FLAG_MOVING = 0x04,
	/* made for a login that has not succeeded yet (engine.h) */
	USER_FLAG_PROVISIONAL = 0x08,
};

/*
 * One user record.  Callers may read every field and may change `flags`;
 * everything else changes only through users_* calls.  Pointers stay
 * valid until the user is removed.
 */
struct user {
	uint32_t hash;
	uint32_t host; /* host id (see hosts.h) */
	uint32_t timestamp;
	uint32_t flags; /* enum user_flag bits */
	uint32_t prev, next; /* private: timestamp list */
};

struct users;

/* A new, empty directory whose users expire after expire_secs (>= 1). */
struct users *users_new(uint32_t expire_secs);
void users_free(struct users **users);

/* The live (not expired at now) user with this hash, or NULL. */
struct user *users_lookup(struct users *users, uint32_t hash, uint32_t now);
/*
 * Adds a user on host with timestamp min(ts, now).  If the hash is
 * already present its host is replaced and its timestamp refreshed.
 * Returns NULL (nothing changed) if the timestamp is already expired at
 * now or the directory holds USERS_MAX users.
 */
struct user *users_add(struct users *users, uint32_t hash, uint32_t host,
    uint32_t ts, uint32_t now);
/* timestamp := max(old, min(ts, now)); keeps the list ordered. */
void users_refresh(
    struct users *users, struct user *user, uint32_t ts, uint32_t now);
/* Moves user to another host, keeping the per-host counts right. */
void users_set_host(struct users *users, struct user *user, uint32_t host);
/* Removes user; the pointer is invalid afterwards. */
void users_remove(struct users *users, struct user *user);
/* Removes expired users from the head (not USER_FLAG_KILLING ones). */
size_t users_expire(struct users *users, uint32_t now);
/* Removes every user of host; returns how many. */
size_t users_remove_host(struct users *users, uint32_t host);
/* True if user has expired at now. */
bool users_is_expired(
    const struct users *users, const struct user *user, uint32_t now);

/*
 * Iteration in timestamp order, oldest first (including expired users
 * not yet removed).  Removing the current user is allowed if the next
 * one was fetched first.
 */
struct user *users_first(struct users *users);
struct user *users_next(struct users *users, const struct user *user);

/* The next user (after `user`, or the first if NULL) on host, or NULL. */
struct user *users_next_on_host(
    struct users *users, const struct user *user, uint32_t host);

size_t users_count(const struct users *users);
size_t users_host_count(const struct users *users, uint32_t host);
uint32_t users_expire_secs(const struct users *users);
/* Bytes of our own allocations (table, slabs, counters). */
size_t users_memory_bytes(const struct users *users);

#endif

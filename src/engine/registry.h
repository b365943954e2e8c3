/*
 * registry.h - the live proxied sessions of this director, by user.
 *
 * Every session that has logged in to a backend is registered under its
 * user hash and tag until it ends, so that the director can refresh the
 * routing core's assignment of users who are still connected, and kick
 * a user's sessions (or all sessions on a backend) when a user is moved.
 * Pure bookkeeping: the registry never touches a socket; it calls the
 * kick function the caller gave for each member it kicks.
 */
#ifndef DIRECTOR_REGISTRY_H
#define DIRECTOR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

struct registry;
struct registry_user;

/*
 * One registered session.  The caller embeds it in its session struct
 * and leaves the fields alone between registry_add() and
 * registry_remove().
 */
/* Asks the owner of a member to end its session; the owner must call
 * registry_remove() (now or later). */
typedef void registry_kick_fn(void *owner);

struct registry_member {
	struct registry_user *user; /* NULL while not registered */
	struct registry_member *prev, *next; /* within the user */
	struct ipaddr backend;
	void *owner; /* passed to the kick function */
	/* Set by the caller before registry_add() to kick this member
	 * differently; NULL: the registry's kick function. */
	registry_kick_fn *kick;
};

struct registry *registry_new(registry_kick_fn *kick);
/* Frees the registry; members must have been removed. */
void registry_free(struct registry **reg);

/* Registers m (owned by owner) for user_hash in tag on backend. */
void registry_add(struct registry *reg, struct registry_member *m,
    uint32_t user_hash, const char *tag, const struct ipaddr *backend,
    void *owner);
/* Unregisters m; does nothing if it is not registered. */
void registry_remove(struct registry *reg, struct registry_member *m);

/* Sessions of user_hash (any tag). */
size_t registry_user_sessions(const struct registry *reg, uint32_t user_hash);
/* Number of users with at least one session, and of sessions. */
size_t registry_user_count(const struct registry *reg);
size_t registry_session_count(const struct registry *reg);

/*
 * Kicks every session of user_hash (any tag) whose backend is not
 * except (NULL: all).  Returns how many kicks were asked for.
 */
size_t registry_kick_user(
    struct registry *reg, uint32_t user_hash, const struct ipaddr *except);
/* Kicks every session on backend; returns how many. */
size_t registry_kick_backend(
    struct registry *reg, const struct ipaddr *backend);
/* Kicks every session (shutdown); returns how many. */
size_t registry_kick_all(struct registry *reg);

/*
 * Calls fn for every user with sessions: its hash, tag and the backend
 * of its first session.  fn must not add or remove members.
 */
typedef void registry_user_fn(uint32_t user_hash, const char *tag,
    const struct ipaddr *backend, void *context);
void registry_foreach_user(
    const struct registry *reg, registry_user_fn *fn, void *context);

#endif

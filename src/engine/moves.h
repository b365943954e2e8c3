/*
 * moves.h - moving users between backends safely on one director.
 *
 * A move of user U to backend H (USER-MOVE, or a safe flush) first
 * points U's assignment at H and marks U as moving, so no login is sent
 * anywhere; then kicks U's sessions on every other backend (proxied ones
 * and logins still on their way to a backend);
 * then waits director_user_kick_delay so the old backend's processes can
 * finish writing; only then are logins for U let through, to H.  Logins
 * that arrive meanwhile wait on the move (bounded by their own
 * login_timeout) and continue when it ends.
 *
 * Invariant: while a user is marked moving, no login of it is routed; a
 * move always ends when the kick delay has passed (kicks on one director
 * are immediate), and its end wakes every waiter.
 */
#ifndef DIRECTOR_MOVES_H
#define DIRECTOR_MOVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct director;
struct host;
struct move;

enum move_status {
	MOVE_DONE, /* finished (or nothing to do) */
	MOVE_STARTED, /* done callback follows */
	MOVE_BUSY, /* the user is already being moved: TRYAGAIN */
	MOVE_FAILED, /* the user could not be assigned (directory full) */
};

typedef void move_done_fn(void *context);

/*
 * A login (or anything else) waiting for a user's move to end.  Embed
 * it; move_wait() links it, and it is unlinked before its callback runs
 * or by move_unwait().
 */
struct move_waiter {
	struct move_waiter *prev, *next;
	struct move *move; /* NULL when not waiting */
	move_done_fn *cb;
	void *context;
};

/*
 * Moves user_hash to host (in host's tag).  done(context) runs when the
 * move has finished, unless MOVE_DONE/BUSY/FAILED is returned (then it
 * never runs).  Moving a user to its current backend refreshes it.
 */
enum move_status moves_start(struct director *d, uint32_t user_hash,
    struct host *host, move_done_fn *done, void *context);
/*
 * Removes *hostp (clearing it) without breaking the invariant: kicks its
 * sessions, forgets its users, and for director_user_kick_delay holds
 * the logins of users that have no assignment in its tag (its former
 * users among them) so they reach another backend only once the old
 * one's processes are gone.  why is logged.
 */
void moves_retire_host(
    struct director *d, struct host **hostp, const char *why);
/* The same for moving host to another tag (its users there are
 * forgotten); returns -1 (nothing done) if tag is invalid. */
int moves_retag_host(
    struct director *d, struct host *host, const char *tag, const char *why);
/* Forgets done callbacks registered with context (its owner is going
 * away); the moves themselves go on. */
void moves_forget(struct director *d, void *context);

/* Whether user_hash is being moved in tag (barriers do not count). */
bool moves_busy(const struct director *d, uint32_t user_hash, const char *tag);
/*
 * Queues w on the move of user_hash in tag, or on a retirement barrier
 * of tag if the user has no assignment there; returns false (and does
 * nothing) if there is none.  w->cb(w->context) runs when it ends.
 */
bool moves_wait(struct director *d, uint32_t user_hash, const char *tag,
    struct move_waiter *w);
/* Unlinks a waiting w (its owner is going away). */
void moves_unwait(struct move_waiter *w);

/* User moves in progress. */
size_t moves_count(const struct director *d);
/* Ends every move now (shutdown); waiters are woken. */
void moves_free_all(struct director *d);

#endif

/*
 * engine_int.h - what the engine's own files share (engine.c: sessions,
 * routing, fences, effects, the tick; engine_admin.c: admin operations,
 * safe flushes, the configured list and the state file).  Not for use
 * outside src/engine.
 *
 * A fence holds logins back until the sessions it waits for have ended
 * and the kick delay has passed since:
 *   MOVE     user U in tag T goes to backend B: waits for U's sessions
 *            on every other backend; holds U's logins in T.
 *   REMOVAL  backend B left tag T (removed, or moved to another tag):
 *            waits for B's sessions; holds the logins of users with no
 *            assignment in T (B's former users among them).
 * A fence counts the sessions routed before it (seq) that match it, so a
 * session can count for several fences, and sessions routed later never
 * do.
 */
#ifndef DIRECTOR_ENGINE_INT_H
#define DIRECTOR_ENGINE_INT_H

#include <sys/queue.h>

#include "engine.h"

enum engine_fence_kind {
	ENGINE_FENCE_MOVE,
	ENGINE_FENCE_REMOVAL,
};

struct engine_flush;
struct ring;
struct user;

/* Where a ring move is in its kill token's round (2.3's kill states). */
enum engine_kill_state {
	ENGINE_KILL_NONE, /* not a ring move */
	ENGINE_KILL_KILLING, /* our sessions are being kicked */
	ENGINE_KILL_NOTIFY_RECEIVED, /* the token came before we finished */
	ENGINE_KILL_WAITING_NOTIFY, /* finished; the token has not come */
	ENGINE_KILL_WAITING_EVERYONE, /* token passed on; wait for the end */
	ENGINE_KILL_DELAY, /* done everywhere: the kick delay runs */
};

/* Kill tokens of other directors a removal's fence holds at most. */
#define ENGINE_FENCE_TOKENS_MAX 4

/* A removal round in the ring: the HOST-REMOVE's origin and seq. */
struct engine_round {
	struct ipaddr ip;
	uint16_t port;
	uint32_t seq;
};

struct engine_fence {
	TAILQ_ENTRY(engine_fence) link;
	enum engine_fence_kind kind;
	uint32_t user_hash; /* MOVE */
	struct host_tag *tag;
	struct ipaddr backend; /* MOVE: the target; REMOVAL: the one gone */
	uint64_t seq; /* sessions routed before this count */
	size_t pending; /* of those, still open */
	uint64_t deadline_ms; /* set once pending is 0 */
	struct engine_session *waiters;
	void *requester; /* admin reply "OK" when done, or NULL */
	struct engine_flush *flush; /* the safe flush it belongs to */
	/* a ring move: deadline_ms is set only once the ring is done */
	bool ring, ring_origin;
	enum engine_kill_state kill;
	uint64_t ring_deadline_ms; /* the move times out */
	/* a removal's ring fence (ring_host_fence.c): the HOST-REMOVE
	 * that started it (its origin and seq); whether our own token
	 * went out (if we are that origin); the tokens of other removals
	 * of the backend held until our sessions there have ended */
	struct engine_round round;
	bool token_sent;
	struct engine_round held[ENGINE_FENCE_TOKENS_MAX];
	size_t nheld;
};
TAILQ_HEAD(engine_fence_list, engine_fence);

/* A safe flush (HOST-RESET-USERS): users to move, a few at a time. */
struct engine_flush {
	TAILQ_ENTRY(engine_flush) link;
	uint32_t *hashes;
	uint32_t *hosts; /* host ids */
	size_t count, next, running, moved;
	size_t cap; /* of hashes[] and hosts[] */
	unsigned int max_parallel;
	void *requester;
	/* a removal in a ring: the backend (set down first) goes once all
	 * its users were moved, each through the ring's kill token */
	bool remove_after;
	struct ipaddr remove_ip;
	/* users are collected once this ring barrier has passed (0: they
	 * were): assignments made elsewhere before the backend went down
	 * are still on their way here until then */
	uint32_t collect_barrier;
	/* moves the users off a backend the health checker found dead;
	 * stops starting moves once it is healthy again */
	bool health;
	struct ipaddr health_ip;
};
TAILQ_HEAD(engine_flush_list, engine_flush);

/* The sessions of one user hash (every tag). */
struct engine_user {
	struct engine_user *bucket_next;
	uint32_t hash;
	struct engine_session *sessions;
	size_t count;
};

struct engine {
	struct engine_settings set;
	struct hosts *hosts;
	struct hosts_spec_entry *configured;
	size_t configured_count;

	struct engine_user **buckets;
	size_t nbuckets, nusers, nsessions;
	uint64_t seq;

	struct engine_fence_list fences;
	struct engine_flush_list flushes;
	size_t nmoves, nfences;

	struct engine_effect *effects;
	size_t effects_head, effects_count, effects_cap;

	struct ring *ring; /* NULL: a director on its own */

	uint64_t now_ms; /* latest time seen */
	uint64_t last_refresh_ms;
	bool shutting_down;
};

/* engine.c */
/* Every entry point starts here: the engine's clock moves forward only,
 * and a jump longer than the ring's ping timeout freezes the ring. */
void engine_see_time(struct engine *e, uint64_t now_ms);
void engine_effect_add(struct engine *e, enum engine_effect_type type,
    struct engine_session *s, void *requester, const char *text);
void engine_reply(struct engine *e, void *requester, const char *text);
void engine_save_hosts(struct engine *e);
/* Kicks the sessions of user_hash (any tag) not on except (NULL: all);
 * returns how many kicks were asked for. */
size_t engine_kick_user(
    struct engine *e, uint32_t user_hash, const struct ipaddr *except);
/*
 * Starts moving user_hash to host.  Returns the fence (the move goes
 * on), or NULL with *status_r: "OK" (already there, nothing to wait
 * for), "TRYAGAIN" (already moving) or a failure text.
 */
struct engine_fence *engine_move_start(struct engine *e, uint32_t user_hash,
    struct host *host, const char **status_r);
/*
 * Forgets nothing itself: the caller has dropped user_hash's assignment
 * in tag because no backend can take it.  Kicks every session of the
 * user and holds its logins in tag until they have ended and the kick
 * delay has passed (a move fence with no target).  Returns the fence.
 */
struct engine_fence *engine_evict_user(
    struct engine *e, uint32_t user_hash, struct host_tag *tag);
/* Takes *hostp out of its tag (removal when new_tag is NULL, else a tag
 * change): kicks its sessions, forgets its users, fences the old tag.
 * Returns -1 (nothing done) for an invalid new_tag.  round: the
 * HOST-REMOVE (ours or the ring's) of a removal fenced ring-wide when
 * the ring allows (ring_host_fence.c), or NULL. */
/* A ring move of user_hash to ip, a backend we do not know (yet): the
 * user is forgotten here and every session of it kicked, so that the
 * kill token waits for them.  NULL if there is no tag to fence. */
struct engine_fence *engine_move_fence_unknown(
    struct engine *e, uint32_t user_hash, const struct ipaddr *ip);
/* Sets host's health (engine_health.c): unhealthy, it gets no new user,
 * and (move_users) its users are moved off it safely; healthy again,
 * the moves not started yet are dropped.  Logged with why. */
void engine_health_apply(struct engine *e, struct host *host, bool healthy,
    bool move_users, const char *why);
/* f (a move of this tag) goes to host instead: the user points there,
 * sessions elsewhere are kicked and counted afresh. */
void engine_move_retarget(
    struct engine *e, struct engine_fence *f, struct host *host);
int engine_retire_host(struct engine *e, struct host **hostp,
    const char *new_tag, const struct engine_round *round, const char *why);

static inline uint32_t
engine_now_secs(const struct engine *e)
{
	return (uint32_t)(e->now_ms / 1000);
}

/* The sessions of a user hash, or NULL. */
struct engine_user *engine_user_find(const struct engine *e, uint32_t hash);
/* Whether a fence runs that a director joining the ring now would not
 * learn of (a removal's, or a move that is not a ring move): SYNCs of
 * others wait for it to end (ring_sync.c). */
bool engine_fences_unshared(const struct engine *e);
/* Queues a kick of s (once). */
void engine_kick(struct engine *e, struct engine_session *s);
/* Sets or clears MOVING|KILLING on the user's assignment in tag. */
void engine_user_mark(
    struct engine *e, uint32_t user_hash, struct host_tag *tag, bool on);
/* Whether user_hash has sessions in host's tag on another backend. */
bool engine_sessions_elsewhere(
    const struct engine *e, uint32_t user_hash, const struct host *host);

/* engine_fence.c */
/* Whether f waits for s. */
bool engine_fence_matches(
    const struct engine_fence *f, const struct engine_session *s);
/* f waits for no session any more: the kick delay (or the ring) next. */
void engine_fence_pending_done(struct engine *e, struct engine_fence *f);
/* Counts (and kicks) the open sessions f waits for. */
void engine_fence_collect(struct engine *e, struct engine_fence *f);
struct engine_fence *engine_fence_new(struct engine *e,
    enum engine_fence_kind kind, struct host_tag *tag,
    const struct ipaddr *backend);
struct engine_fence *engine_find_move(
    const struct engine *e, uint32_t user_hash, const struct host_tag *tag);
struct engine_fence *engine_find_removal(
    const struct engine *e, const struct host_tag *tag);
/* Ends the fences whose time has come. */
void engine_fences_run(struct engine *e);
/* Routes a session that was waiting (idle again) and queues ROUTED or
 * FAILED, or parks it again. */
void engine_route_again(struct engine *e, struct engine_session *s);
/*
 * Points user_hash at host (in host's tag) and fences it there: its
 * sessions elsewhere are kicked and its logins wait for them and the
 * kick delay.  engine_move_local() drops the fence again if nothing had
 * to be kicked; engine_move_fence() keeps it (a ring move's token must
 * pass).  NULL if the user directory is full (or nothing to fence).
 */
struct engine_fence *engine_move_local(
    struct engine *e, uint32_t user_hash, struct host *host);
struct engine_fence *engine_move_fence(
    struct engine *e, uint32_t user_hash, struct host *host);
/* Withdraws queued effects that name a ring link. */
void engine_effects_drop_link(struct engine *e, const struct ring_link *l);

/* engine_health.c */
/*
 * The login of s's user would reach u's backend, which the health
 * checker found dead: starts moving the user to the backend it would
 * get now and returns the move's fence for s to wait on.  NULL: the
 * backend is healthy, or no other can take the user, or nothing to
 * wait for.
 */
struct engine_fence *engine_health_move(
    struct engine *e, const struct engine_session *s, const struct user *u);

/* engine_admin.c */
/* Removes host in a ring (ring_enabled): down, its users moved through
 * the ring's kill tokens, then HOST-REMOVE; requester (may be NULL) gets
 * "OK" at the end. */
void engine_remove_host_ring(
    struct engine *e, struct host *host, void *requester, const char *why);
/*
 * Makes the target of the move f the user's backend again as f ends.
 * The fence keeps the assignment from being removed, not from expiring:
 * if the loop stalled longer than director_user_expire, the user would
 * otherwise be hashed anew while sessions stand on the target.
 */
void engine_move_settle(struct engine *e, const struct engine_fence *f);
/* Adds the users of host whose hash now maps elsewhere to fl; users with no backend left at all are forgotten, kicked
 * and fenced (a login that retries must not reach a backend added before
 * their sessions end). */
void engine_flush_collect(
    struct engine *e, struct engine_flush *fl, struct host *host);
/* A flush of max_parallel moves at a time that requester (or NULL) waits
 * for, with the users of host (NULL: none yet) collected. */
struct engine_flush *engine_flush_new(struct engine *e, struct host *host,
    unsigned int max_parallel, void *requester);
/* Starts moves up to the parallel limit; once all have ended, replies
 * and frees fl.  Returns true if fl was freed. */
bool engine_flush_step(struct engine *e, struct engine_flush *fl);
/* A move of a flush ended. */
void engine_flush_moved(struct engine *e, struct engine_flush *fl);
/* Starts what the running flushes may start; replies for finished ones. */
void engine_flush_step_all(struct engine *e);
void engine_flush_free_all(struct engine *e);

#endif

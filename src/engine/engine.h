/*
 * engine.h - the director's state machine: the backend list, the user
 * directories, the sessions routed to backends, moves, flushes and the
 * effects of admin operations.  Pure: no clock, no socket, no event
 * loop.  Time comes in as an argument (now_ms: unix time in ms), events
 * come in as calls, and what the world must do comes out as effects.
 *
 * Events in:  engine_route / engine_session_alive / engine_session_end
 *             (a route request, its login's success, its end or cancel,
 *             which is also how a kick completes), engine_admin (an admin
 *             write operation), engine_tick, engine_reload.
 * Effects out (engine_next_effect, in order): a waiting session was
 *             routed or failed; kick a session; save the host state;
 *             reply to an admin request.
 * The engine says when it next needs a tick: engine_next_deadline().
 *
 * The invariant it keeps: a user's sessions are never on two backends at
 * once, and after a move (admin move, safe flush, backend removal) no
 * session of the user reaches the new backend until every session on the
 * old one has ended and director_user_kick_delay has passed since.  A
 * session is registered in the same step that routes it, so nothing
 * routed is ever invisible to a kick; a move's fence is set up before
 * any kick is asked for, so a kicked login that retries at once waits.
 *
 * Provisional assignments: routing a user who has none makes one, but
 * only a login that succeeds (engine_session_alive) makes it lasting.
 * When the last session of a provisional user ends without ever being
 * alive (a wrong password, a backend error), the assignment is cut to
 * expire once the kick delay has passed: failed logins cannot fill the
 * user directory, and a half-done login on that backend is over before
 * the user can be hashed elsewhere.  In a ring a provisional assignment
 * is announced as it is made, before its login (as Dovecot does), since
 * a peer that does not know it may hash the user elsewhere once the
 * backend list changed; timestamps only move forward on the ring, so it
 * is announced with an aged timestamp that gives it a short life
 * everywhere, renewed while its login runs (ring_int.h).
 *
 * Threads: the engine has a single writer.  Every entry point is a
 * message (a session handle plus plain values) and every answer is an
 * effect naming the handle, so a daemon may run the proxies on worker
 * threads and carry these calls to the engine's thread in a queue.
 *
 * Ownership: the caller owns every struct engine_session (usually
 * embedded in its own session object) and must call engine_session_end()
 * before freeing it; effects that name it are withdrawn then.
 */
#ifndef DIRECTOR_ENGINE_H
#define DIRECTOR_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hosts.h"
#include "ipaddr.h"
#include "select.h"

struct engine;
struct engine_fence;
struct engine_user;

/* Longest admin reply text an effect carries. */
#define ENGINE_REPLY_MAX 128

struct engine_settings {
	enum select_method method;
	uint32_t user_expire_secs; /* >= 1 */
	uint64_t kick_delay_ms;
	unsigned int max_parallel_moves; /* default for a safe flush */
};

enum engine_session_state {
	ENGINE_SESSION_IDLE, /* not known to the engine */
	ENGINE_SESSION_WAITING, /* behind a move or a removal */
	ENGINE_SESSION_ROUTED, /* on its way to its backend */
	ENGINE_SESSION_ALIVE, /* logged in on its backend */
};

/*
 * A session as the engine sees it.  Embed it, zero it once, and leave
 * every field but `owner` alone; read `state` and `backend` freely.
 */
struct engine_session {
	void *owner; /* the caller's, handed back in effects */
	enum engine_session_state state;
	struct ipaddr backend; /* valid once routed */
	/* private */
	uint32_t user_hash;
	struct host_tag *tag;
	uint64_t seq; /* routing order, for fences */
	bool kicked;
	struct engine_user *user;
	struct engine_session *prev, *next; /* in user, or in fence */
	struct engine_fence *fence; /* waited on (NULL: on the ring) */
	uint64_t wait_deadline_ms; /* waiting on the ring: fail then */
};

enum engine_route_result {
	ENGINE_ROUTE_OK, /* routed: session->backend is its backend */
	ENGINE_ROUTE_WAIT, /* an ENGINE_EFFECT_ROUTED or _FAILED follows */
	ENGINE_ROUTE_FAIL, /* no usable backend; not registered */
};

enum engine_effect_type {
	ENGINE_EFFECT_ROUTED, /* a waiting session got session->backend */
	ENGINE_EFFECT_FAILED, /* a waiting session cannot be routed: text */
	ENGINE_EFFECT_KICK, /* end this session (then engine_session_end) */
	ENGINE_EFFECT_SAVE_HOSTS, /* the backend list changed */
	ENGINE_EFFECT_ADMIN_REPLY, /* reply text to requester */
	/* ring.h: connect link to ring_link_target(link) from our ring
	 * address, then engine_ring_connected() or engine_ring_closed() */
	ENGINE_EFFECT_RING_CONNECT,
	/* ring.h: send what link has queued, close it, then
	 * engine_ring_closed() */
	ENGINE_EFFECT_RING_CLOSE,
	/* ring.h: send what link has queued in plaintext, then start TLS
	 * on it (server side if accept) and call engine_ring_tls_started() */
	ENGINE_EFFECT_RING_STARTTLS,
};

struct ring_link;

struct engine_effect {
	enum engine_effect_type type;
	struct engine_session *session;
	void *requester;
	struct ring_link *link;
	bool accept; /* RING_STARTTLS: the TLS server side */
	char text[ENGINE_REPLY_MAX];
};

enum engine_admin_type {
	ENGINE_ADMIN_HOST_SET, /* ip, tag (NULL: keep/default), vhosts */
	ENGINE_ADMIN_HOST_UPDATE, /* ip, vhosts */
	ENGINE_ADMIN_HOST_UP, /* ip */
	ENGINE_ADMIN_HOST_DOWN, /* ip */
	ENGINE_ADMIN_HOST_REMOVE, /* ip */
	ENGINE_ADMIN_HOST_FLUSH, /* ip (all: NULL); unsafe, no kicks */
	ENGINE_ADMIN_HOST_RESET_USERS, /* ip (all: NULL), max_parallel */
	ENGINE_ADMIN_USER_MOVE, /* user_hash, ip */
	ENGINE_ADMIN_USER_KICK, /* user_hash */
	ENGINE_ADMIN_DIRECTOR_ADD, /* ip, port (ring.h) */
	ENGINE_ADMIN_DIRECTOR_REMOVE, /* ip, port (0: the first with ip) */
};

/* An admin write operation; `who` names the requester in logs. */
struct engine_admin_op {
	enum engine_admin_type type;
	const struct ipaddr *ip; /* NULL: every backend (flushes) */
	const char *tag;
	bool have_vhosts;
	unsigned int vhosts;
	unsigned int max_parallel; /* 0: the settings' default */
	uint32_t user_hash;
	const char *username; /* USER_KICK: for the ring's USER-KICK */
	uint16_t port; /* DIRECTOR_*: the ring port */
	const char *who;
};

/* A new engine with no backends. */
struct engine *engine_new(const struct engine_settings *set, uint64_t now_ms);
/* Frees it; every session must have ended. */
void engine_free(struct engine **e);

/*
 * The configured backend list (director_mail_servers), kept for the
 * state file and HOST-LIST-REMOVED.  engine_configure() sets it at start
 * and adds its backends (up, default vhosts); engine_reload() applies a
 * new list: backends that left it are retired (kicked, their users
 * fenced), new ones added, tag changes applied (as a retirement from the
 * old tag); backends added at runtime are kept.
 */
void engine_configure(struct engine *e, uint64_t now_ms,
    const struct hosts_spec_entry *entries, size_t count);
void engine_reload(struct engine *e, uint64_t now_ms,
    const struct hosts_spec_entry *entries, size_t count);
const struct hosts_spec_entry *engine_configured(
    const struct engine *e, size_t *count_r);

/*
 * Routes a session of user_hash in tag and registers it, in one step.
 * The session must be idle.  OK: the user's live assignment (refreshed)
 * or a new one; WAIT: the user is being moved, or its tag is fenced
 * after a removal, and an effect follows; FAIL: no usable backend (the
 * session stays idle).
 */
enum engine_route_result engine_route(struct engine *e, uint64_t now_ms,
    struct engine_session *s, uint32_t user_hash, const char *tag);
/* The routed session logged in on its backend. */
void engine_session_alive(
    struct engine *e, uint64_t now_ms, struct engine_session *s);
/*
 * The session ended (or was cancelled while waiting, or completed a
 * kick).  A session that was alive refreshes its user's assignment.
 * Effects that name it are withdrawn.  The session becomes idle and may
 * be routed again.  Idle sessions are ignored.
 */
void engine_session_end(
    struct engine *e, uint64_t now_ms, struct engine_session *s);

/*
 * Runs an admin write operation for requester (an opaque handle); the
 * reply comes as an ENGINE_EFFECT_ADMIN_REPLY, at once or when a move
 * or flush has finished.
 */
void engine_admin(struct engine *e, uint64_t now_ms,
    const struct engine_admin_op *op, void *requester);
/* requester is going away: its pending replies are dropped (the moves
 * and flushes go on). */
void engine_admin_forget(struct engine *e, void *requester);

/*
 * The health checker's verdict on the backend at ip (engine_health.c).
 * Unhealthy: no new user gets it from now on, and its users are moved
 * away the safe way (a flush of at most max_parallel_moves moves at a
 * time: each kicks the user's sessions and waits for them and the kick
 * delay); a login of a user not yet moved starts its move itself.
 * Healthy: new users may get it again; moves not yet started are
 * dropped.  Admin state and weights are never touched.  why is logged.
 * Returns -1 if no backend has that address.
 */
int engine_host_health(struct engine *e, uint64_t now_ms,
    const struct ipaddr *ip, bool healthy, const char *why);

/* Applies a backend list read from the state file over the configured
 * one (hoststate.h entries). */
struct hoststate_entry;
void engine_load_state(struct engine *e, uint64_t now_ms,
    const struct hoststate_entry *entries, size_t count);

/* Expires idle users, refreshes users with live sessions, ends fences
 * whose delay has passed.  Call it at engine_next_deadline() (earlier
 * is harmless). */
void engine_tick(struct engine *e, uint64_t now_ms);
/* When the engine next needs engine_tick(). */
uint64_t engine_next_deadline(const struct engine *e);

/* Takes the next effect; false when there is none.  Effects can be
 * added while the caller executes earlier ones: loop until false. */
bool engine_next_effect(struct engine *e, struct engine_effect *eff_r);

/* Kicks every session (shutdown) and ends every fence now. */
void engine_shutdown(struct engine *e, uint64_t now_ms);

/* Read-only views for status commands.  Change nothing through them. */
struct hosts *engine_hosts(const struct engine *e);
/* Moves and removal fences in progress. */
size_t engine_moves(const struct engine *e);
size_t engine_fences(const struct engine *e);
/* Sessions routed or alive, in total and of one user (any tag). */
size_t engine_session_count(const struct engine *e);
size_t engine_user_sessions(const struct engine *e, uint32_t user_hash);
/* Whether user_hash is being moved in tag. */
bool engine_user_moving(
    const struct engine *e, uint32_t user_hash, const char *tag);

#endif

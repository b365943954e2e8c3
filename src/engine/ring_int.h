/*
 * ring_int.h - what the ring's files share (ring_link.c: links,
 * topology, handshakes, pings; ring_sync.c: flooding, de-duplication,
 * SYNC, directors and backends; ring_user.c: user assignments, moves,
 * kicks, waiting logins and admin replies).  Not for use outside
 * src/engine.
 *
 * Directors are kept sorted by (IP, port); our right is the first
 * reachable one after us (wrapping around), our left the one before us
 * that connected to us.  A link is usable as left or right only once
 * both sides have finished the handshake; before that it already gets
 * every flooded line.
 */
#ifndef DIRECTOR_RING_INT_H
#define DIRECTOR_RING_INT_H

#include <sys/queue.h>

#include "buf.h"
#include "engine_int.h"
#include "ring.h"
#include "ringwire.h"

/* Most bytes queued on one link before it is closed as stuck. */
#define RING_OUTPUT_MAX (64 * 1024 * 1024)
/* Ping cadence on a synced link (2.3 waits 15 s; we want a hung
 * director out of the ring within ping_idle_timeout of its last
 * answer). */
#define RING_PING_INTERVAL_MS 2000
#define RING_ADMIN_WAITERS_MAX 1024
#define RING_STRAYS_MAX 32
/* A token named by its round that passes a director more often than this
 * (copies are sent again when the ring changes) is dropped there; one of
 * 2.3 that passes twice is taken for one whose origin is gone. */
#define RING_ROUND_PASSES_MAX 4
/* A DIRECTOR line for a known director resets what we saw from it (it
 * may have restarted) and goes on, at most once in this long: copies of
 * it, and of what that director flooded before, must not go round a
 * ring that no longer includes it for ever. */
#define RING_DIRECTOR_RESET_HOLD_MS 1000
/* The minor version our SYNCs carry (our VERSION line says 9): 2.3
 * lowers it to its own as it passes one on, so a SYNC that comes back
 * with it went round directors of ours only, and our extensions (the
 * OPTIONS below) may be used ring-wide. */
#define RING_MINOR_OURS 10
/* Offered in our OPTIONS: we take X-USER-KILLED and X-HOST-KILLED. */
#define RING_OPT_FENCE_ROUNDS "x-fence-rounds"

struct ring_dir {
	struct ring_addr addr;
	char name[IPADDR_STR_MAX + 8]; /* "ip:port" for logs */
	bool self;
	bool removed;
	uint64_t removed_ms;
	bool seq_known;
	uint32_t last_seq; /* flooded commands seen from it */
	bool sync_known;
	uint32_t sync_seq, sync_ts; /* its last SYNC seen */
	unsigned int sync_dups;
	uint64_t network_failure_ms, protocol_failure_ms;
	uint64_t reset_ms; /* a DIRECTOR line last reset what we saw of it */
};

enum ring_link_state {
	RING_LINK_CONNECTING, /* outgoing, TCP not up yet */
	RING_LINK_HANDSHAKE,
	RING_LINK_READY, /* handshake done both ways */
	RING_LINK_CLOSING, /* RING_CLOSE asked for; input ignored */
};

/* A handshake user: streamed from a snapshot of hashes, each looked up
 * again when sent (it may have expired or moved meanwhile). */
struct ring_hs_user {
	uint32_t hash;
	uint32_t tag; /* index of its tag (hosts_tag_get) */
};

/* TLS on a link (ring.h, ring_settings.tls). */
enum ring_tls {
	RING_TLS_OFF, /* not decided yet, or no TLS configured */
	RING_TLS_OFFERED, /* we dialled and offered: go or PONG next */
	RING_TLS_PEER_OFFERED, /* dialled us and offered: its PING next */
	RING_TLS_SWITCHING, /* RING_STARTTLS asked for */
	RING_TLS_ON,
	RING_TLS_PLAIN, /* decided: plaintext (allowed peer) */
};

struct ring_link {
	TAILQ_ENTRY(ring_link) entry;
	void *owner;
	bool outgoing;
	enum ring_link_state state;
	struct ring_addr target; /* outgoing: whom we dial */
	struct ipaddr peer_ip; /* incoming: where it came from */
	struct ring_dir *peer; /* known once ME came (outgoing: target) */
	char name[IPADDR_STR_MAX + 16]; /* for logs */

	unsigned int minor; /* the peer's; ours until VERSION */
	bool got_version, got_me, got_done, sent_done;
	bool sent_state; /* outgoing: HOST-HAND-START and what follows */
	bool options_ok; /* incoming: OPTIONS agreed on the hashing */
	bool rounds; /* the peer offered OPTIONS x-fence-rounds (ours) */
	bool got_options;
	/* HOST-HAND-START seen: its flag, and whether we replace our
	 * backends with the peer's (we join a handshaked ring) */
	bool in_host_hand, replace_hosts;
	struct ipaddr *hand_hosts; /* the HOST lines seen, for replace */
	size_t hand_host_count, hand_host_cap;
	/* the peer's users override ours: we join after a freeze */
	bool users_override;
	enum ring_tls tls;

	struct ring_hs_user *hs_users;
	size_t hs_count, hs_next;
	bool hs_waiting; /* for engine_ring_drained() */

	uint64_t created_ms, connected_ms, handshaked_ms;
	uint64_t deadline_ms; /* of the current handshake stage, 0: none */
	uint64_t last_input_ms;
	uint64_t ping_sent_ms; /* 0: no PING outstanding */
	uint64_t next_ping_ms;
	uint64_t close_at_ms; /* told to go elsewhere (CONNECT): 0 none */
	bool counted_failure;

	struct buf out;
};
TAILQ_HEAD(ring_link_list, ring_link);

/* A login waiting for the ring (engine_session.prev/next link them). */
struct ring_admin_waiter {
	void *requester;
	uint32_t sync_seq; /* answered once a SYNC >= this came back */
	uint64_t deadline_ms;
};

/* Move rounds remembered as ended (ring_move.c), so that a late copy of
 * their kill token does not start a fence again. */
#define RING_ENDED_ROUNDS 64
struct ring_ended_round {
	uint32_t hash;
	struct engine_round round;
	uint64_t at_ms; /* 0: unused */
};

/* Our near-expiry takeover of a user (ring_weak.c). */
struct ring_takeover {
	uint32_t hash;
	uint32_t from, to; /* host ids */
	/* 0: our USER-WEAK has not come back; then the SYNC round that must
	 * pass (ring_sync_passed()) */
	uint32_t barrier;
	uint64_t deadline_ms; /* then it goes back to from */
};

struct ring {
	struct ring_settings set;
	struct ring_addr *servers;
	struct ring_dir **dirs; /* sorted by address */
	size_t ndirs, dirs_cap;
	struct ring_dir *self;
	uint32_t seq; /* our flooded commands' sequence */

	struct ring_link_list links;
	struct ring_link *left, *right;
	struct ring_link *connecting; /* our outgoing link being made */

	bool alone; /* no other director reachable: synced by ourselves */
	bool handshaked; /* our SYNC came back once (since start/freeze) */
	bool synced; /* our last SYNC came back; nothing changed since */
	bool frozen; /* the clock jumped: serve nothing until handshaked */
	uint32_t sync_seq;
	uint64_t sync_sent_ms, sync_started_ms, last_sync_ms;
	uint32_t min_minor; /* the ring's lowest minor (last SYNC) */
	uint64_t trying_since_ms; /* looking for a right; 0: not */
	uint64_t next_connect_ms; /* 0: nothing planned */
	uint64_t alone_retry_ms; /* alone: no dial before this */
	uint64_t last_unsynced_warn_ms;
	uint64_t provisional_ms; /* last ring_provisional_tick() round */
	/* USER-KILLED tokens of moves we do not have, passed on: one that
	 * comes back has lost its origin and is ended ring-wide */
	struct ring_stray_token {
		uint32_t hash;
		uint64_t at_ms;
		unsigned int passes;
	} strays[RING_STRAYS_MAX];
	uint32_t wrong_hosts_hash; /* a SYNC's hash that differed, once */
	struct ring_ended_round ended[RING_ENDED_ROUNDS];
	size_t ended_next;

	/* SYNCs of others held while we have no right */
	struct ringwire_msg *held_syncs;
	size_t held_count;

	/* our near-expiry takeovers under way (ring_weak.c) */
	struct ring_takeover *takeovers;
	size_t ntakeovers, takeovers_cap;
	bool weak_sync_wanted; /* a SYNC round to start at the next tick */

	/* logins waiting for the ring (sessions in WAITING state) */
	struct engine_session *waiters;
	size_t nwaiters;

	struct ring_admin_waiter *admin_waiters;
	size_t admin_count;

	struct ringwire_msg msg; /* scratch for formatting */
};

/* ring_link.c */
struct ring_link *ring_link_new(struct engine *e, bool outgoing);
/* Formats msg onto l (for its peer's minor); false if it was skipped. */
bool ring_send(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
void ring_send_simple(
    struct engine *e, struct ring_link *l, enum ringwire_cmd cmd);
/* Sets l->name from its peer ("ip:port (left)") or address. */
void ring_link_name(struct ring_link *l);
/* Closes l with a reason (QUIT if the peer speaks it), logs why. */
void ring_link_close(struct engine *e, struct ring_link *l, const char *why,
    bool protocol_error);
/* Starts connecting to our right if we need one and none is underway. */
void ring_connect_right(struct engine *e);
void ring_links_tick(struct engine *e);
uint64_t ring_links_deadline(const struct engine *e, uint64_t next);
/* Handshake commands (VERSION, ME, HOST-HAND-*, HOST, U, OPTIONS,
 * DONE) and the point-to-point ones (PING, PONG, QUIT, CONNECT).
 * Returns 1 if handled, 0 if not one of them, -1 if l was closed. */
int ring_link_handle(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
/* 1 if a is closer than b going right (clockwise) from self, -1 if
 * further, 0 if the same. */
int ring_dir_cmp_right(
    const struct ring *r, const struct ring_dir *a, const struct ring_dir *b);
/* We were frozen: drop every link, serve nothing until handshaked. */
void ring_freeze(struct engine *e);

/* ring_hand.c: the handshake, TLS negotiation, point-to-point commands.
 * ring_tls_line(): TLS negotiation for a line, before its usual
 * handling; returns 1 if the line was consumed, 0 to handle it as
 * usual, -1 if l was closed. */
int ring_tls_line(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);

/* ring_sync.c */
struct ring_dir *ring_dir_find(
    const struct ring *r, const struct ipaddr *ip, uint16_t port);
struct ring_dir *ring_dir_add(struct ring *r, const struct ring_addr *addr);
/* Sends msg on every link but except (NULL: all). */
void ring_flood(
    struct engine *e, struct ring_link *except, const struct ringwire_msg *msg);
/* Fills msg's origin with ourselves and a new sequence number. */
void ring_originate(struct engine *e, struct ringwire_msg *msg);
/* Sends a new command of ours about user hash (on ip) to every link:
 * USER-WEAK, USER-KICK-HASH. */
void ring_originate_user(struct engine *e, enum ringwire_cmd cmd, uint32_t hash,
    const struct ipaddr *ip);
/* A new SYNC round: we are unsynced until it comes back. */
void ring_sync_start(struct engine *e);
/* Left or right changed, or a link went: re-evaluate. */
void ring_topology_changed(struct engine *e);
/* Steady-state commands.  Returns 0, or -1 if l was closed. */
int ring_sync_handle(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
/* The handshake's HOST line, and the end of the host list. */
/* Returns -1 if l was closed (more hosts than HOSTS_MAX). */
int ring_host_hand(
    struct engine *e, struct ring_link *l, const struct ringwire_host *h);
void ring_host_hand_end(struct engine *e, struct ring_link *l);
/* Fills msg with host (handshake form when hand). */
void ring_host_msg(struct engine *e, const struct host *host, bool hand,
    struct ringwire_msg *msg);
/* We changed host (added or updated it): tell the ring, re-sync. */
void ring_host_announce(struct engine *e, struct host *host);
/* We removed or flushed ip: tell the ring, re-sync. */
void ring_host_remove_announce(
    struct engine *e, const struct ipaddr *ip, bool flush_only);
void ring_sync_tick(struct engine *e);
uint64_t ring_sync_deadline(const struct engine *e, uint64_t next);

/* ring_user.c */
/* A handshake U line or a USER. */
void ring_user_apply(struct engine *e, struct ring_link *from,
    const struct ringwire_user *u, bool handshake);
int ring_user_handle(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
/* The ring became synced (or alone): route the waiting logins. */
void ring_waiters_run(struct engine *e);
/* Answers admin requests whose change has gone around the ring. */
void ring_admin_run(struct engine *e);
void ring_user_tick(struct engine *e);
uint64_t ring_user_deadline(const struct engine *e, uint64_t next);
/* Starts streaming our users to an outgoing link's peer. */
void ring_users_snapshot(struct engine *e, struct ring_link *l);
/* Sends users until the round's budget; true when all were sent. */
bool ring_users_stream(struct engine *e, struct ring_link *l);
/* USER for u (on host) to every link but except. */
void ring_user_send(struct engine *e, struct ring_link *except,
    const struct host *host, const struct user *u);

/* Takes the peer's host for u (or a new record): a local fence if our
 * sessions of the user are elsewhere.  Returns the record, or NULL. */
struct user *ring_user_take(struct engine *e, struct user *u, uint32_t hash,
    struct host *host, uint32_t ts);

/* ring_weak.c: near-expiry takeovers and USER-WEAK.
 * ring_weak_takeover(): s's user u is near expiry; returns true if s may
 * be routed to it now, false if u went weak here (a takeover). */
bool ring_weak_takeover(
    struct engine *e, const struct engine_session *s, struct user *u);
void ring_weak_handle(struct engine *e, struct ring_link *l,
    const struct ringwire_msg *msg, bool ours_back);
/* A login timed out waiting behind a weak user. */
void ring_weak_unstick(struct engine *e, const struct engine_session *s);
/* Ends the takeovers whose SYNC round has passed (before the waiting
 * logins are routed again). */
void ring_weak_run(struct engine *e);
void ring_weak_tick(struct engine *e);
uint64_t ring_weak_deadline(const struct engine *e, uint64_t next);

/* ring_move.c: USER-MOVE, USER-KILLED, USER-KILLED-EVERYWHERE (and our
 * X- forms, named by their round) */
bool ring_round_equal(
    const struct engine_round *a, const struct engine_round *b);
/* Whether round was started by us. */
bool ring_round_ours(const struct engine *e, const struct engine_round *round);
void ring_round_from(
    struct engine_round *round_r, const struct ringwire_director *d);
void ring_handle_user_move(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
void ring_handle_user_killed(struct engine *e, const struct ringwire_msg *msg);
void ring_handle_killed_everywhere(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
/* Ends the ring moves whose timeout has passed (logged). */
void ring_moves_timeout(struct engine *e);
/* Kill tokens: a fence of a ring move has no local session left. */
void ring_move_killed_local(struct engine *e, struct engine_fence *f);
/* A ring move's fence ended here: USER for the user (non-weak), which
 * releases a director that joined during the move (it got the user weak
 * in its handshake). */
void ring_move_finished(struct engine *e, const struct engine_fence *f);
/* We are alone now: the ring fences whose sessions here have ended are
 * done everywhere (their kick delay starts). */
void ring_fences_alone(struct engine *e);
/* A new right: resend the kill tokens that may have been lost. */
void ring_moves_resend(struct engine *e);

/* ring_host_fence.c: a removed backend's fence across the ring.
 * Whether removals are fenced ring-wide now (the last SYNC round saw
 * only directors of ours). */
bool ring_host_fences(const struct engine *e);
/* f (REMOVAL) becomes a ring fence of round: it ends once the kill token
 * went round and the kick delay passed.  A zeroed round is ours, named
 * by ring_host_fence_originate() once our HOST-REMOVE went out. */
void ring_host_fence_start(
    struct engine *e, struct engine_fence *f, const struct engine_round *round);
/* Our HOST-REMOVE of backend went out: it names our round, and our
 * token starts once our own sessions there have ended. */
void ring_host_fence_originate(struct engine *e, const struct ipaddr *backend);
/* f has no local session left: our token (if the round is ours) and the
 * tokens held for it go on. */
void ring_host_killed_local(struct engine *e, struct engine_fence *f);
void ring_host_tokens_resend(struct engine *e);
void ring_handle_host_killed(struct engine *e, const struct ringwire_msg *msg);
void ring_handle_host_killed_everywhere(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
/* Done everywhere: f's kick delay starts (once its own sessions end). */
void ring_fence_everywhere(struct engine *e, struct engine_fence *f);

/* ring_health.c: health checks shared across a ring of ours.  Our
 * checker's verdict on host (host->health_local_down): returns false if
 * the ring does not share health (each director applies its own). */
bool ring_health_verdict(struct engine *e, struct host *host, const char *why);
void ring_handle_host_health(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg);
/* Says again the downs we own; lets others' lapse when not said. */
void ring_health_tick(struct engine *e);
uint64_t ring_health_deadline(const struct engine *e, uint64_t next);

/* -- called by the engine (engine.c, engine_admin.c) -------------------- */
void engine_ring_free(struct engine *e);
/* Whether s may be routed now (u: the user's live assignment or NULL);
 * if not, the engine parks it with ring_waiter_add().  A near-expiry
 * user that hashes elsewhere now is made weak here (a takeover). */
bool ring_route_allowed(
    struct engine *e, const struct engine_session *s, struct user *u);
void ring_waiter_add(struct engine *e, struct engine_session *s);
void ring_waiter_remove(struct engine *e, struct engine_session *s);
/* A lasting assignment was made or refreshed: USER to the ring. */
void ring_user_announce(
    struct engine *e, const struct host *host, const struct user *u);
/*
 * A provisional assignment (engine.h) in a ring: announced when it is
 * made, with a timestamp aged so that it expires everywhere
 * ring_provisional_keep_secs() after the announcement unless a login
 * succeeds (then USER with now, as for any lasting one).  While its login
 * runs it is announced again every half near-expiry window, so a peer
 * never sees it near expiry (and never takes it over) while a session
 * may be on it; when the login fails, the local assignment is cut to the
 * same keep, so every director forgets it at about the same time.
 */
void ring_user_announce_provisional(
    struct engine *e, const struct host *host, const struct user *u);
uint32_t ring_provisional_keep_secs(const struct engine *e);
/* Announces again the provisional assignments with a login under way. */
void ring_provisional_tick(struct engine *e);
/* We start moving a user (f, to host): USER-MOVE before any kick. */
void ring_move_announce(
    struct engine *e, struct engine_fence *f, const struct host *host);
/* An admin kick by name: USER-KICK to the ring. */
void ring_user_kick_announce(struct engine *e, const char *username);
/* Replies "OK" to requester once the ring has synced after a change. */
void ring_admin_wait(struct engine *e, void *requester);
/* A barrier for what was flooded until now: every director has passed it
 * on, and everything they flooded before, once ring_sync_passed() says
 * so (a SYNC round; 0, always passed, outside a ring or when alone). */
uint32_t ring_sync_barrier(const struct engine *e);
bool ring_sync_passed(const struct engine *e, uint32_t barrier);
void ring_admin_forget(struct engine *e, void *requester);
/* Whether admin changes may be made here: not in a ring, or joined
 * (handshaked, not frozen; alone counts). */
bool ring_joined(const struct engine *e);
/* DIRECTOR-ADD and DIRECTOR-REMOVE. */
void ring_admin_director(
    struct engine *e, const struct engine_admin_op *op, void *requester);
void ring_tick(struct engine *e);
/* Fails the waiting logins, says QUIT on every link. */
void ring_shutdown(struct engine *e);
uint64_t ring_next_deadline(const struct engine *e, uint64_t next);

#endif

/*
 * ring.h - the director ring, as part of the engine: several directors
 * keep one backend list, one user map and one director list by speaking
 * Dovecot 2.3's director ring protocol v1.9 (reference:
 * ../shared/reference/dovecot-director.md sections 1.6-1.10 and 2) with
 * each other and with Dovecot 2.3 directors.
 *
 * Pure like the rest of the engine: the daemon moves bytes and makes TCP
 * connections, the ring decides everything.  Events in: a link was
 * accepted, connected, sent a line, drained its output, went down.
 * Effects out (engine_next_effect): connect a new link to a director
 * (from our own ring address), close a link.  Bytes to send are kept per
 * link; after every engine call the caller takes them
 * (engine_ring_next_output()), since routing a session may announce a
 * user to the ring without producing an effect.
 *
 * What the ring adds to the engine's invariant (engine.h):
 * - a user gets a new assignment only while the ring is synced (every
 *   director has seen our last change come back around) or we are
 *   alone; otherwise the login waits, at most request_timeout_ms, and
 *   then fails with a temporary error.  Users that have an assignment
 *   are served while the ring is unsynced, except after the engine was
 *   frozen (its clock jumped by more than the ping timeout): then nothing
 *   is served until the ring has handshaked again and the ring's user map
 *   has replaced ours, kicking what it contradicts;
 * - a move is announced (USER-MOVE) before any kick, and the new backend
 *   gets the user's sessions only after the kill token (USER-KILLED) went
 *   around the ring, USER-KILLED-EVERYWHERE came back and the kick delay
 *   passed;
 * - assignments are announced (USER) as they are made, provisional ones
 *   with an aged timestamp (a short life everywhere that only a
 *   successful login extends), and timestamps sent only move forward; a
 *   peer's timestamp is never taken beyond our now;
 * - two directors that assigned one user to two backends resolve it the
 *   2.3 way (lower IP wins) and every director kicks the loser's sessions
 *   and fences the user locally before the winner gets new ones.
 *
 * Links are owned by the engine: one is created by engine_ring_accept()
 * or announced by an ENGINE_EFFECT_RING_CONNECT, and lives until the
 * caller calls engine_ring_closed() (after an ENGINE_EFFECT_RING_CLOSE,
 * or when the connection failed or ended by itself).
 */
#ifndef DIRECTOR_RING_H
#define DIRECTOR_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

struct engine;
struct ring_link;

/* A director of the ring: its ring address. */
struct ring_addr {
	struct ipaddr ip;
	uint16_t port;
};

struct ring_settings {
	struct ring_addr self;
	/* director_servers (self may be among them) */
	const struct ring_addr *servers;
	size_t server_count;
	/* no input for this long after a PING: the link is dead */
	uint64_t ping_idle_timeout_ms;
	/* PONG not back after this long although input comes */
	uint64_t ping_max_timeout_ms;
	/* a login that cannot be routed waits at most this long */
	uint64_t request_timeout_ms;
	/* a move's kill token (or a removal's) must have gone round
	 * within this long (0: RING_USER_MOVE_TIMEOUT_MS, 2.3's); user
	 * expiry must be well above it (ring_user_expire_min_ms()) */
	uint64_t move_timeout_ms;
	/* hashing method option sent in OPTIONS and required of peers:
	 * true for Dovecot's "consistent-hashing" */
	bool dovecot_hashing;
	/* hashes a user name for USER-KICK (the daemon's template) */
	int (*hash_user)(void *ctx, const char *name, uint32_t *hash_r);
	void *hash_ctx;
	/*
	 * TLS on ring links.  A director with tls offers it when it dials
	 * (OPTIONS x-starttls, then a PING as a barrier) and takes the offer
	 * when it is dialled (its answer to the PING is OPTIONS x-starttls,
	 * and both sides switch after that line: ENGINE_EFFECT_RING_STARTTLS,
	 * then engine_ring_tls_started()).  A peer that does not offer TLS
	 * (a Dovecot director) is refused unless plaintext_ok(hash_ctx, ip).
	 */
	bool tls;
	bool (*plaintext_ok)(void *ctx, const struct ipaddr *ip);
};

/*
 * The shortest user expiry a ring is safe with: no director may forget a
 * user while a move of it can still be under way elsewhere (twice the
 * move timeout), nor while the director that holds its sessions is
 * paused but still in the ring (a quarter of the expiry may pass between
 * refreshes; the pause can last until the ping idle timeout).
 */
uint64_t ring_user_expire_min_ms(
    uint64_t ping_idle_timeout_ms, uint64_t move_timeout_ms);

/* The ring's own constants (2.3's, except where a comment says). */
#define RING_CONNECT_TIMEOUT_MS 10000
#define RING_ME_TIMEOUT_MS 10000
#define RING_SEND_USERS_TIMEOUT_MS 30000
#define RING_DONE_TIMEOUT_MS 40000
#define RING_RECONNECT_RETRY_MS 60000
#define RING_QUICK_RECONNECT_MS 1000
#define RING_MIN_WAIT_MS 20000
#define RING_PREFERRED_RECONNECT_MS 30000
#define RING_SYNC_TIMEOUT_MS 5000
#define RING_SYNC_MAX_DUPLICATES 4
#define RING_SYNC_STALE_RESET_SECS 120
#define RING_USER_MOVE_TIMEOUT_MS 30000
#define RING_ADMIN_SYNC_TIMEOUT_MS 30000
#define RING_WAIT_DISCONNECT_MS 10000
#define RING_PING_SYNC_INTERVAL_MS 1000
/* users streamed in one go of a handshake, and the output kept before
 * waiting for engine_ring_drained() */
#define RING_HANDSHAKE_USERS_PER_ROUND 10000
#define RING_OUTPUT_FLUSH_BYTES (128 * 1024)

/*
 * Makes e a member of a ring.  Without other directors in servers (or
 * with none), e is alone for good and behaves as a single director.
 * Returns 0, or -1 if self is not a usable address.
 */
int engine_ring_start(
    struct engine *e, uint64_t now_ms, const struct ring_settings *set);

/* A reloaded director_servers: directors not known yet are added (and
 * dialled if closer than our right); ones that left the list stay until
 * DIRECTOR-REMOVE, as in Dovecot. */
void engine_ring_reload(struct engine *e, uint64_t now_ms,
    const struct ring_addr *servers, size_t count);

/* A director connected to us from peer_ip.  Returns the new link. */
struct ring_link *engine_ring_accept(struct engine *e, uint64_t now_ms,
    const struct ipaddr *peer_ip, void *owner);
/* The connection of an ENGINE_EFFECT_RING_CONNECT link is up. */
void engine_ring_connected(
    struct engine *e, uint64_t now_ms, struct ring_link *l);
/* One line from the link, without its LF (ringwire_reader). */
void engine_ring_input(struct engine *e, uint64_t now_ms, struct ring_link *l,
    const char *line, size_t len);
/* The link's output has been written out (below the caller's low-water
 * mark): a handshake that is streaming users goes on. */
void engine_ring_drained(
    struct engine *e, uint64_t now_ms, struct ring_link *l);
/* The link of an ENGINE_EFFECT_RING_STARTTLS now speaks TLS (its
 * handshake may still be under way): the ring handshake starts again
 * inside it. */
void engine_ring_tls_started(
    struct engine *e, uint64_t now_ms, struct ring_link *l);
/* The link's connection is gone (or never came up); why is for the log
 * (NULL after an ENGINE_EFFECT_RING_CLOSE).  Frees the link. */
void engine_ring_closed(
    struct engine *e, uint64_t now_ms, struct ring_link *l, const char *why);

/* A link with bytes to send, or NULL.  Take its bytes with
 * ring_link_output() and ring_link_output_taken(). */
struct ring_link *engine_ring_next_output(struct engine *e);
const void *ring_link_output(const struct ring_link *l, size_t *len_r);
void ring_link_output_taken(struct ring_link *l);

void ring_link_set_owner(struct ring_link *l, void *owner);
void *ring_link_owner(const struct ring_link *l);
/* The director an outgoing link goes to. */
const struct ring_addr *ring_link_target(const struct ring_link *l);
/* The address the link's peer must prove with its certificate: the
 * director dialled, or the source of an accepted connection. */
const struct ipaddr *ring_link_peer_ip(const struct ring_link *l);

/* Whether e is in a ring with other directors at all. */
bool engine_ring_enabled(const struct engine *e);
/* Whether new users may be assigned now (synced, or alone). */
bool engine_ring_synced(const struct engine *e);

/* -- status (DIRECTOR-LIST, directorctl ring status) ------------------- */

enum ring_dir_role {
	RING_ROLE_NONE,
	RING_ROLE_SELF,
	RING_ROLE_LEFT,
	RING_ROLE_RIGHT,
	RING_ROLE_LEFT_RIGHT, /* two directors: both links to one peer */
};

struct ring_dir_status {
	struct ring_addr addr;
	enum ring_dir_role role;
	bool removed;
	bool handshaking; /* a link to it is in its handshake */
	bool tls; /* its left/right link speaks TLS */
	uint32_t last_seq;
	uint64_t last_failure_ms; /* 0: none */
};

struct ring_status {
	bool enabled, alone, handshaked, synced;
	uint32_t sync_seq;
	uint32_t ring_min_minor;
	uint64_t last_sync_ms; /* how long the last sync took */
	size_t link_count, waiting_requests;
};

void engine_ring_status(const struct engine *e, struct ring_status *st_r);
/* Whether sessions already proxied may pass bytes at now_ms: not while
 * the engine is frozen (rejoining after its clock jumped), nor when the
 * clock has jumped past the ping timeout since the engine last saw it (a
 * stopped process resuming: the engine freezes once it sees that time,
 * and must first learn which users the ring moved meanwhile). */
bool engine_ring_may_serve(const struct engine *e, uint64_t now_ms);
/* The i-th known director (sorted by address), false past the end. */
bool engine_ring_dir(
    const struct engine *e, size_t i, struct ring_dir_status *st_r);

#endif

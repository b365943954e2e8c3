/*
 * sim.h - a deterministic simulator for the engine (src/engine) and its
 * director ring: a virtual clock, a seeded PRNG, an event queue ordered
 * by virtual time, 1 to SIM_DIRECTORS_MAX directors (each its own
 * engine, driven the way src/daemon drives one), a simulated network
 * between them, simulated IMAP/POP3 and LMTP clients, admin operations,
 * kicks that complete late, faults, and a checker.
 *
 * The checker (sim_check.c) verifies after every step, from the
 * simulator's own record of every session world-wide (not from any
 * engine), that no user is ever open on two backends at once and that a
 * user only reaches a new backend kick_delay_ms after its last session
 * on the old one ended.  At the end of a run with a ring, after the
 * faults have stopped and a quiet period has passed, it checks liveness:
 * every director is up, synced, not alone, the directors' rights form one
 * cycle through all of them, and they agree on the backend list
 * (hosts_hash).
 *
 * The network (sim_net.c): a ring link is a pair of FIFO byte streams
 * with a per-link delay (0..net_delay_max ms, drawn per seed); a
 * RING_CONNECT reaches its target after a connect delay if the target
 * is up and reachable, is refused if the target is down, and is lost
 * (the engine's connect timeout ends it) across a partition; a closed
 * end's peer sees the close after the data that was in flight.
 *
 * Faults (sim_fault.c), drawn from the seed, and the invariant:
 *   default mode - the invariant must hold, a violation is an engine bug:
 *     link drops (both ends see a reset), random link delays, director
 *     kills (the engine is freed, its sessions end at once as the kernel
 *     closes their sockets) and restarts (a fresh engine with the
 *     configured backends rejoins), short hangs (a director gets no
 *     call for less than the ping timeout: the ring keeps it), concurrent
 *     logins of one user through several directors, moves, safe flushes,
 *     host changes (HOST-SET/UPDATE/UP/DOWN/REMOVE) and reloads at
 *     random directors.
 *   --partitions - adds partitions (a set of directors cannot reach the
 *     others for a while, then heals) and long hangs (a director gets no
 *     call for longer than the ping timeout, 40..80 s; its engine sees
 *     the clock jump and freezes).  Dovecot's design cannot keep the
 *     invariant there: each side of a partition assigns and moves users
 *     on its own (reference section 2.8), and a hung director is, to the
 *     others, a dead one whose sessions are still open.  Violations are
 *     counted, not fatal; liveness after the heal is still required.
 *
 * What the default mode found in the engine, and how each was fixed, is
 * in the git log; the classes are: removals racing assignments, moves
 * racing moves, restarted and hung directors missing fences, USER
 * ping-pong, near-expiry takeovers over a ring that left a director out
 * (they now wait for a SYNC round, and a director with sessions of the
 * user objects), kill tokens of moves a director never heard of (they
 * name their target and fence the user there), conflicting assignments
 * (settled by a fenced ring move), joining directors that did not know a
 * removal's fence (others' SYNCs wait while one runs), admin changes
 * made before a director joined (refused), fences that took a handshake
 * for being alone, DIRECTOR lines and what they reset going round a ring
 * without their director for ever, and host lists that never converged.
 * `make check` runs 2000 ring seeds with the invariant fatal.  What
 * remains (about 1 seed in 1000, `sim --seeds 10000 --first 200000
 * --count`): a live director cut off from the ring for a moment by link
 * resets (both of its links, or its links and a hang) while a move or
 * removal completes over the ring that formed without it - a partition
 * of one, which the ring's design cannot tell from a dead director - and
 * backends removed and added back at several directors at once while
 * USERs for them are dropped by directors that do not know them yet.
 * SIM_DEBUG=1 with -v adds the engines' debug lines.
 *
 * Everything is a function of the seed (and the mode): a failing seed
 * replays exactly.
 */
#ifndef DIRECTOR_SIM_H
#define DIRECTOR_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "engine.h"
#include "ring.h"
#include "ringwire.h"

#define SIM_BACKENDS_MAX 8
#define SIM_USERS_MAX 200
#define SIM_DIRECTORS_MAX 7
#define SIM_LMTP_RCPTS_MAX 5
#define SIM_RING_PORT 9090
/* Records kept; the report prints the last SIM_TRACE_SHOW of them and
 * the last SIM_TRACE_USER of the user at fault. */
#define SIM_TRACE_LEN 4096
#define SIM_TRACE_SHOW 40
#define SIM_TRACE_USER 30
#define SIM_MSG_MAX 256
/* After the faults stop: this long with no new work before liveness is
 * checked, at most this many steps. */
#define SIM_QUIET_MS 150000
#define SIM_QUIET_STEPS_MAX 200000
/* A SYNC round started just before the quiet period ends (a removal's
 * last step, say) may finish this much later. */
#define SIM_QUIET_GRACE_MS 30000

/* xoshiro256** seeded through splitmix64. */
struct sim_rng {
	uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *rng, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *rng);
/* Uniform in [lo, hi] (lo <= hi). */
uint64_t sim_rng_range(struct sim_rng *rng, uint64_t lo, uint64_t hi);
/* True with probability pct/100. */
bool sim_rng_pct(struct sim_rng *rng, unsigned int pct);

enum sim_ev_type {
	SIM_EV_TICK, /* dir: its engine_next_deadline() */
	SIM_EV_ARRIVAL, /* a new client connects */
	SIM_EV_ROUTE, /* a client routes its next session */
	SIM_EV_LOGIN_DONE, /* the backend answered the login / RCPT */
	SIM_EV_TIMEOUT, /* the client gives up waiting */
	SIM_EV_END, /* the client ends its sessions (logout, DATA done) */
	SIM_EV_KICK_DONE, /* a kicked session has gone */
	SIM_EV_ADMIN, /* a random admin operation at a random director */
	SIM_EV_RELOAD, /* a new configured list for every director */
	SIM_EV_RELOAD_DIR, /* dir: engine_reload() with it */
	SIM_EV_CONNECT, /* conn: the dialer's SYN reaches the target */
	SIM_EV_DELIVER, /* conn, sess = side: data of that side arrives */
	SIM_EV_FAULT, /* a random fault */
	SIM_EV_HEAL, /* the partition heals */
	SIM_EV_RESTART, /* dir: a killed director starts again */
	SIM_EV_RESUME, /* dir: a hung director runs again */
};

struct sim_event {
	uint64_t at;
	uint64_t seq; /* ties in time: first queued, first run */
	enum sim_ev_type type;
	uint32_t dir;
	uint32_t client; /* index in world->clients, or of a conn */
	uint32_t gen; /* the client's, conn's or director's generation */
	uint32_t sess; /* session slot in the client; side of a conn */
};

/* A binary min-heap of events by (at, seq). */
struct sim_queue {
	struct sim_event *ev;
	size_t count, cap;
	uint64_t seq;
};

void sim_queue_push(struct sim_queue *q, const struct sim_event *ev);
bool sim_queue_pop(struct sim_queue *q, struct sim_event *ev_r);

enum sim_sess_state {
	SIM_SESS_IDLE, /* not started, or ended */
	SIM_SESS_WAITING, /* engine_route said WAIT */
	SIM_SESS_ROUTED, /* on its way to its backend */
	SIM_SESS_ALIVE, /* logged in / RCPT accepted */
};

/* One session (an IMAP/POP3 login or one LMTP recipient). */
struct sim_session {
	struct engine_session es; /* es.owner points here */
	struct sim_client *client;
	uint32_t slot;
	uint32_t user;
	enum sim_sess_state state;
	int backend; /* pool index while routed or alive */
	bool kicked;
};

enum sim_client_kind {
	SIM_CLIENT_IMAP, /* IMAP and POP3: one login */
	SIM_CLIENT_LMTP, /* recipients one after another, then DATA */
};

struct sim_client {
	uint32_t index;
	uint32_t gen; /* bumped on reuse: events of an old use are stale */
	bool in_use;
	enum sim_client_kind kind;
	uint32_t dir;
	uint32_t nsess, next; /* sessions, and the next one to route */
	bool route_queued, end_queued;
	struct sim_session sess[SIM_LMTP_RCPTS_MAX];
};

struct sim_director {
	uint32_t id;
	char name[16]; /* "d3": the log ident while its engine runs */
	struct engine *engine; /* NULL while killed */
	struct ring_addr addr;
	uint32_t gen; /* bumped by kill and restart */
	uint64_t tick_at; /* the tick queued, 0: none */
	bool hung;
	uint64_t resume_at; /* while hung */
	uint32_t group; /* partition side; reachable within one group */
	size_t sessions; /* its clients' routed or alive sessions */
};

/* One direction of a link: chunks in flight, oldest first. */
struct sim_chunk {
	uint64_t at; /* arrives then (never before the one ahead) */
	char *data;
	size_t len;
	bool fin; /* the sender closed after this */
};

struct sim_pipe {
	struct sim_chunk *q;
	size_t head, count, cap;
	uint64_t last_at;
};

/* One end of a link, on director dir (of generation gen). */
struct sim_end {
	struct sim_conn *conn;
	uint32_t side; /* 0: the dialer, 1: the acceptor */
	uint32_t dir, gen;
	struct ring_link *link; /* the engine's, NULL: none (yet/any more) */
	bool open; /* this end's socket exists */
	bool accept_pending; /* accepted by the kernel of a hung director */
	struct ringwire_reader reader;
};

enum sim_conn_state {
	SIM_CONN_CONNECTING,
	SIM_CONN_UP,
};

/* A TCP connection between two directors' ring addresses. */
struct sim_conn {
	uint32_t index, gen;
	bool in_use;
	enum sim_conn_state state;
	uint64_t delay_ms; /* this link's one-way delay */
	struct sim_end end[2];
	struct sim_pipe pipe[2]; /* pipe[i]: from end[i] to end[1 - i] */
};

/* Per seed, drawn from the seed. */
struct sim_params {
	uint32_t users, backends;
	uint64_t kick_delay_ms;
	uint32_t user_expire_secs;
	uint64_t arrival_ms_max; /* between clients: 0..this */
	uint64_t stay_ms_max; /* an IMAP session's life */
	uint64_t login_ms_max; /* a fast backend's login latency */
	uint32_t slow_factor; /* a slow backend is this much slower */
	bool slow[SIM_BACKENDS_MAX];
	uint64_t timeout_ms; /* a client gives up waiting after this */
	uint64_t kick_ms_max; /* a kick completes after 0..this */
	uint64_t admin_ms_max; /* between admin operations: 0..this */
	unsigned int down_pct; /* of HOST-UP/DOWN, how many are DOWN */
	unsigned int reject_pct; /* logins the backend refuses */
	unsigned int lmtp_pct; /* clients that are LMTP deliveries */
	unsigned int burst_pct; /* arrivals that log one user in through
				   several directors at once */
	bool unsafe_flush; /* also issue HOST_FLUSH (self-test) */
	/* the ring */
	uint64_t net_delay_max_ms; /* a link's delay: 0..this */
	uint64_t fault_ms_max; /* between faults: 0..this (0: none) */
	uint64_t ping_idle_timeout_ms;
	uint64_t reload_spread_ms; /* directors reload within this */
	/* the ring's move timeout; user_expire_secs is raised to what a
	 * ring needs (ring_user_expire_min_ms()) */
	uint64_t move_timeout_ms;
};

enum sim_trace_kind {
	SIM_TR_EVENT, /* an event ran: a = its type */
	SIM_TR_ROUTE, /* a = engine_route result */
	SIM_TR_ROUTED, /* routed to backend b */
	SIM_TR_FAILED,
	SIM_TR_ALIVE,
	SIM_TR_END, /* a session ended (a = 1: it was open) */
	SIM_TR_KICK, /* the engine asked for a kick */
	SIM_TR_ADMIN, /* a = engine_admin_type, b = backend, -1: all */
	SIM_TR_RELOAD, /* a = bitmap of the new list */
	SIM_TR_REPLY, /* an admin reply */
	SIM_TR_FAULT, /* a = enum sim_fault, backend = the other dir */
	SIM_TR_LINK, /* a = enum sim_link_event, backend = peer dir */
};

enum sim_fault {
	SIM_FAULT_DROP,
	SIM_FAULT_KILL,
	SIM_FAULT_RESTART,
	SIM_FAULT_HANG,
	SIM_FAULT_RESUME,
	SIM_FAULT_PARTITION,
	SIM_FAULT_HEAL,
	SIM_FAULT_QUIET,
};

enum sim_link_event {
	SIM_LINK_CONNECT, /* we dial peer */
	SIM_LINK_UP, /* the connection to/from peer is up */
	SIM_LINK_REFUSED,
	SIM_LINK_CLOSE, /* our engine closed it */
	SIM_LINK_CLOSED, /* the peer closed it */
};

struct sim_trace_rec {
	uint64_t at;
	uint64_t step;
	enum sim_trace_kind kind;
	int32_t dir, client, user, backend, a;
};

/* The simulator's own record of who is where (not the engines'). */
struct sim_check {
	uint32_t open[SIM_USERS_MAX][SIM_BACKENDS_MAX];
	/* of them, through each director (for the engines' counts) */
	uint16_t via[SIM_USERS_MAX][SIM_DIRECTORS_MAX];
	uint64_t last_end[SIM_USERS_MAX][SIM_BACKENDS_MAX]; /* 0: never */
	uint32_t backends_open[SIM_USERS_MAX]; /* with open > 0 */
	uint32_t users_on_two; /* users with backends_open > 1 */
	size_t sessions; /* routed or alive */
	uint32_t user_touched; /* the last user whose sessions changed */
	bool touched;
};

struct sim_world {
	uint64_t seed;
	uint64_t now_ms;
	uint64_t step, max_steps;
	bool verbose;
	bool partitions; /* --partitions mode */
	bool count_only; /* violations are counted, the run goes on */
	struct sim_rng rng;
	struct sim_queue queue;
	struct sim_params p;
	struct engine_settings eset;
	struct sim_director dirs[SIM_DIRECTORS_MAX];
	uint32_t ndirs;
	struct ring_addr ring_addrs[SIM_DIRECTORS_MAX];
	uint32_t configured; /* bitmap of the configured backends */
	struct sim_client **clients;
	uint32_t nclients, clients_cap;
	uint32_t *free_clients;
	uint32_t nfree;
	struct sim_conn **conns;
	uint32_t nconns, conns_cap;
	uint32_t user_hash[SIM_USERS_MAX];
	struct ipaddr ip[SIM_BACKENDS_MAX];
	struct sim_check check;
	struct sim_trace_rec trace[SIM_TRACE_LEN];
	uint64_t ntrace;
	/* the fault phase is over; the quiet one ends at quiet_end_ms */
	bool quiet;
	uint64_t quiet_end_ms, quiet_steps;
	bool partitioned;
	uint64_t heal_at;
	bool violated;
	bool broken; /* the engines' counts disagree: always fatal */
	uint64_t violations; /* --partitions: counted, the run goes on */
	int32_t violation_user;
	char violation[SIM_MSG_MAX];
	bool live_failed;
	char live_failure[SIM_MSG_MAX];
	uint64_t unsafe_flushes;
	uint64_t faults; /* injected */
};

/* sim_world.c */
/* A world for seed: o->unsafe adds HOST_FLUSH to the admin operations,
 * o->partitions the faults of --partitions; o->count_only (implied by
 * partitions) counts violations instead of ending the run. */
struct sim_opts {
	uint64_t steps;
	uint32_t ndirs; /* 0: drawn from the seed */
	bool unsafe, partitions, count_only, verbose;
};

struct sim_world *sim_world_new(uint64_t seed, const struct sim_opts *o);
/* Ends every open session, frees the engines and the world. */
void sim_world_free(struct sim_world **w);
/* Runs one event and checks; false when the run is over (the step bound
 * and the quiet period, an empty queue, or a fatal violation). */
bool sim_world_step(struct sim_world *w);
void sim_schedule(struct sim_world *w, uint64_t delay_ms, enum sim_ev_type type,
    const struct sim_client *c, uint32_t slot);
void sim_schedule_dir(struct sim_world *w, uint64_t at, enum sim_ev_type type,
    const struct sim_director *d);
/* Executes the effects of d's engine, sends its ring output, plans its
 * tick: after every call into d's engine. */
void sim_settle(struct sim_world *w, struct sim_director *d);
/* Sets the log ident to d's name (engine logs say which director). */
void sim_enter(struct sim_world *w, const struct sim_director *d);
/* d's engine may be called now (up and not hung). */
bool sim_dir_runs(const struct sim_director *d);

/* sim_client.c */
void sim_arrival(struct sim_world *w);
/* Runs a client event (ROUTE..KICK_DONE) of c's session slot. */
void sim_client_event(
    struct sim_world *w, const struct sim_event *ev, struct sim_client *c);
/* An effect of d's engine about a session or an admin request. */
void sim_client_effect(struct sim_world *w, struct sim_director *d,
    const struct engine_effect *eff);
/* d was killed: its clients' sessions end at once, the clients go. */
void sim_clients_kill(struct sim_world *w, struct sim_director *d);
void sim_clients_free(struct sim_world *w);
void sim_admin(struct sim_world *w);
/* A new configured list (at start: no reload). */
void sim_config_draw(struct sim_world *w);
void sim_config_apply(struct sim_world *w, struct sim_director *d, bool reload);
int sim_backend_index(const struct sim_world *w, const struct ipaddr *ip);
const char *sim_username(uint32_t user, char *buf, size_t size);

/* sim_net.c */
/* Sends d's queued ring output into its links' pipes. */
void sim_net_flush(struct sim_world *w, struct sim_director *d);
/* ENGINE_EFFECT_RING_CONNECT / _CLOSE of d's engine. */
void sim_net_connect(
    struct sim_world *w, struct sim_director *d, struct ring_link *l);
void sim_net_close(
    struct sim_world *w, struct sim_director *d, struct ring_link *l);
void sim_net_event(struct sim_world *w, const struct sim_event *ev);
/* d was resumed: the connections its kernel accepted reach the engine */
void sim_net_resume(struct sim_world *w, struct sim_director *d);
/* d's process is gone: its sockets close (the peers see it). */
void sim_net_kill(struct sim_world *w, struct sim_director *d);
/* Resets a random established link (both ends see it). */
bool sim_net_drop(struct sim_world *w);
bool sim_net_reachable(const struct sim_world *w, uint32_t from, uint32_t to);
void sim_net_free(struct sim_world *w);

/* sim_fault.c */
/* Starts d's engine (at world start and on restart). */
void sim_dir_start(struct sim_world *w, struct sim_director *d);
void sim_fault(struct sim_world *w);
void sim_fault_event(struct sim_world *w, const struct sim_event *ev);
/* The fault phase is over: heal, resume and restart everything. */
void sim_quiet(struct sim_world *w);

/* sim_check.c */
void sim_trace(struct sim_world *w, enum sim_trace_kind kind,
    const struct sim_client *c, int32_t user, int32_t backend, int32_t a);
void sim_trace_dir(struct sim_world *w, enum sim_trace_kind kind, uint32_t dir,
    int32_t other, int32_t a);
/* A session of user has become open on backend (routed) at dir. */
void sim_check_open(
    struct sim_world *w, uint32_t dir, uint32_t user, int backend);
/* A session of user on backend, at dir, has ended. */
void sim_check_close(
    struct sim_world *w, uint32_t dir, uint32_t user, int backend);
/* The checks to make after every step. */
void sim_check_step(struct sim_world *w);
/* Every user, every backend (end of a run). */
void sim_check_full(struct sim_world *w);
/* The ring after the quiet period. */
void sim_check_live(struct sim_world *w);
void sim_trace_print(const struct sim_trace_rec *r);
/* Prints the seed, step, time, message and the last events. */
void sim_report(const struct sim_world *w);
const char *sim_ev_name(enum sim_ev_type type);

#endif

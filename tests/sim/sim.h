/*
 * sim.h - a deterministic simulator for the engine (src/engine): a
 * virtual clock, a seeded PRNG, an event queue ordered by virtual time,
 * simulated IMAP/POP3 and LMTP clients, admin operations and kicks that
 * complete late, and a checker that verifies after every step, from the
 * simulator's own bookkeeping, that no user is ever served by two
 * backends and that a user only reaches a new backend kick_delay_ms
 * after its last session on the old one ended.
 *
 * The world holds directors (each with its own engine and its own view
 * of the configuration), the clients, the clock and the queue; today it
 * runs one director, and the network between directors is a placeholder
 * for a later simulation of delays, drops, partitions and crashes.
 *
 * Everything is a function of the seed: a failing seed replays exactly.
 */
#ifndef DIRECTOR_SIM_H
#define DIRECTOR_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#define SIM_BACKENDS_MAX 8
#define SIM_USERS_MAX 200
#define SIM_DIRECTORS_MAX 1
#define SIM_LMTP_RCPTS_MAX 5
/* Records kept; the report prints the last SIM_TRACE_SHOW of them and
 * the last SIM_TRACE_USER of the user at fault. */
#define SIM_TRACE_LEN 4096
#define SIM_TRACE_SHOW 30
#define SIM_TRACE_USER 20
#define SIM_MSG_MAX 256

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
	SIM_EV_TICK, /* the director's engine_next_deadline() */
	SIM_EV_ARRIVAL, /* a new client connects */
	SIM_EV_ROUTE, /* a client routes its next session */
	SIM_EV_LOGIN_DONE, /* the backend answered the login / RCPT */
	SIM_EV_TIMEOUT, /* the client gives up waiting */
	SIM_EV_END, /* the client ends its sessions (logout, DATA done) */
	SIM_EV_KICK_DONE, /* a kicked session has gone */
	SIM_EV_ADMIN, /* a random admin operation */
	SIM_EV_RELOAD, /* engine_reload() with a changed list */
};

struct sim_event {
	uint64_t at;
	uint64_t seq; /* ties in time: first queued, first run */
	enum sim_ev_type type;
	uint32_t dir;
	uint32_t client; /* index in world->clients */
	uint32_t gen; /* the client's generation when queued */
	uint32_t sess; /* session slot in the client */
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

/* What one director believes: its configured backend list. */
struct sim_view {
	bool configured[SIM_BACKENDS_MAX];
};

struct sim_director {
	uint32_t id;
	struct engine *engine;
	struct sim_view view;
	uint64_t tick_at; /* the tick queued, 0: none */
};

/* The network between directors (a later issue: delays, drops,
 * partitions, crashes).  Unused with one director. */
struct sim_net {
	uint64_t delay_min_ms, delay_max_ms;
	unsigned int drop_pct;
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
	bool unsafe_flush; /* also issue HOST_FLUSH (self-test) */
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
};

struct sim_trace_rec {
	uint64_t at;
	uint64_t step;
	enum sim_trace_kind kind;
	int32_t client, user, backend, a;
};

/* The simulator's own record of who is where (not the engine's). */
struct sim_check {
	uint32_t open[SIM_USERS_MAX][SIM_BACKENDS_MAX];
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
	struct sim_rng rng;
	struct sim_queue queue;
	struct sim_params p;
	struct sim_net net;
	struct sim_director dirs[SIM_DIRECTORS_MAX];
	uint32_t ndirs;
	struct sim_client **clients;
	uint32_t nclients, clients_cap;
	uint32_t *free_clients;
	uint32_t nfree;
	uint32_t user_hash[SIM_USERS_MAX];
	struct ipaddr ip[SIM_BACKENDS_MAX];
	struct sim_check check;
	struct sim_trace_rec trace[SIM_TRACE_LEN];
	uint64_t ntrace;
	bool violated;
	int32_t violation_user;
	char violation[SIM_MSG_MAX];
	uint64_t unsafe_flushes;
};

/* sim_world.c */
/* A world for seed; unsafe adds HOST_FLUSH to the admin operations. */
struct sim_world *sim_world_new(
    uint64_t seed, uint64_t max_steps, bool unsafe, bool verbose);
/* Ends every open session, frees the engines and the world. */
void sim_world_free(struct sim_world **w);
/* Runs one event and checks; false when the run is over (the step
 * bound, an empty queue, or a violation). */
bool sim_world_step(struct sim_world *w);

/* sim_check.c */
void sim_trace(struct sim_world *w, enum sim_trace_kind kind,
    const struct sim_client *c, int32_t user, int32_t backend, int32_t a);
/* A session of user has become open on backend (routed). */
void sim_check_open(struct sim_world *w, uint32_t user, int backend);
/* A session of user on backend has ended. */
void sim_check_close(struct sim_world *w, uint32_t user, int backend);
/* The checks to make after every step. */
void sim_check_step(struct sim_world *w);
/* Every user, every backend (end of a run). */
void sim_check_full(struct sim_world *w);
void sim_trace_print(const struct sim_trace_rec *r);
/* Prints the seed, step, time, message and the last events. */
void sim_report(const struct sim_world *w);
const char *sim_ev_name(enum sim_ev_type type);

#endif

/*
 * director.h - the running director's wiring: the engine (backends,
 * users, sessions, moves), the router that executes its effects, the
 * proxies' shared environment, the username hash template, the admin
 * socket, the state file and the one timer the engine asks for.
 *
 * Owned by the daemon.  What the engine keeps is described in engine.h;
 * this module only connects it to the clock, the event loop, the state
 * file and the admin connections.
 */
#ifndef DIRECTOR_DIRECTOR_H
#define DIRECTOR_DIRECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "proxy.h"
#include "session.h"
#include "ring.h"

struct admin;
struct checker;
struct engine;
struct event;
struct event_base;
struct memtrim;
struct stats;
struct workers;
struct ring_conn;
struct ssl_ctx_st;
struct router;
struct userhash_template;

/* A login that cannot be routed (the ring not synced) waits this long
 * before a temporary failure (Dovecot's 30 s). */
#define DIRECTOR_REQUEST_TIMEOUT_MS 30000

struct director {
	const struct conf *conf; /* the daemon's current configuration */
	struct event_base *base;
	struct engine *engine;
	struct router *router;
	struct userhash_template *userhash;
	struct proxy_env proxy; /* context of the IMAP, POP3, LMTP listeners */
	struct event *timer; /* engine_next_deadline() */
	struct admin *admin; /* the admin socket (admin.c), or NULL */
	struct checker *checker; /* backend health checks (checker.h) */
	struct memtrim *memtrim; /* gives memory back after bursts */
	struct workers *workers; /* session threads (workers = N), or NULL */
	/* set by the daemon before director_start(): the sessions' sockets
	 * of each worker, taken over (and NULLed) by workers_start() */
	struct listener_set **worker_listeners;
	char *state_path; /* the backend state file (hoststate.h) */
	struct ring_addr ring_self; /* our ring address (if in a ring) */
	struct ring_conn *ring_conns; /* ring_conn.c's connections */
	/* TLS on ring links (listen ring { tls = starttls }), or NULL */
	struct ssl_ctx_st *ring_tls_server, *ring_tls_client;
};

/*
 * Builds the director from conf: the backends of director_mail_servers
 * (up, 100 vhosts each) with the state file applied over them, the hash
 * template and the TLS contexts (this reads key files: call it before
 * dropping privileges).  Returns NULL with a malloc'ed *error_r.
 */
struct director *director_new(const struct conf *conf, char **error_r);
/* Starts the engine's timer on base.  Returns 0 or -1 (logged). */
int director_start(struct director *d, struct event_base *base);
/*
 * Applies a reloaded configuration (already validated, with the same
 * restart-only settings): the backend list changes as engine_reload()
 * says.  TLS files are not re-read (that needs a restart).  d->conf
 * becomes conf.
 */
void director_reload(struct director *d, const struct conf *conf);
/* Kicks every live session and closes every connection (shutdown). */
void director_shutdown(struct director *d);
void director_free(struct director **d);

/* The counters of every thread's sessions, added into st (zeroed; free
 * it with stats_free()). */
void director_stats(struct director *d, struct stats *st);
/* Calls fn for every IMAP, POP3 and ManageSieve session of every thread
 * (see session_foreach()). */
void director_session_foreach(struct director *d,
    void (*fn)(void *ctx, const char *proto, enum session_phase phase,
	const struct ipaddr *backend),
    void *ctx);

/* Saves the backend list to the state file, atomically, so a restart
 * keeps it.  Failures are logged. */
void director_hosts_changed(struct director *d);
/*
 * Applies the state file, if there is one, over the configured backends
 * (director_new() does it).  A missing file is fine; an unreadable or
 * corrupt one is logged and ignored.
 */
void director_load_state(struct director *d);

/*
 * Computes the user hash of a name (after the master-user separator is
 * applied).  Returns 0, or -1 with a static *error_r.
 */
int director_user_hash(const struct director *d, const char *username,
    uint32_t *hash_r, const char **error_r);

#endif

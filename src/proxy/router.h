/*
 * router.h - the one way a proxied session (IMAP, POP3, LMTP recipient)
 * reaches the engine: route and register in one call, report the login,
 * end.  Kicks and late routing answers come back through the client's
 * ops.
 *
 * The router also executes the engine's effects (router_run(), after a
 * tick or an admin operation): session effects go to the client's ops,
 * the others to the daemon's hooks.  router_route() and router_end()
 * produce no effects, so they never call back into the proxy; every
 * entry point tells the daemon when the engine next needs a tick.
 *
 * Today everything runs on one event loop.  The shape is that of
 * messages (a client handle and plain values in; ops called with the
 * handle out), so proxies on worker threads can later reach a
 * single-writer engine through a queue instead of locks.
 */
#ifndef DIRECTOR_ROUTER_H
#define DIRECTOR_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

struct router;
struct router_client;
struct userhash_template;

struct router_client_ops {
	/* A route that returned ENGINE_ROUTE_WAIT got its backend
	 * (router_backend()). */
	void (*routed)(struct router_client *c);
	/* A route that returned ENGINE_ROUTE_WAIT cannot be served. */
	void (*failed)(struct router_client *c, const char *why);
	/* End this session; call router_end() when it has (now or later:
	 * a move waits for it). */
	void (*kick)(struct router_client *c);
};

struct router_remote;

/* Embed it in the session object; zero it and set ops once. */
struct router_client {
	struct engine_session es;
	const struct router_client_ops *ops;
	/* a worker's session: its registration with the main thread's
	 * router (router_remote_new()), and whether its route waited for a
	 * move or the ring (set before ops->routed) */
	struct router_remote *remote;
	bool waited;
};

/* What the daemon does for the effects that are not a session's. */
struct router_hooks {
	void (*save_hosts)(void *context);
	void (*admin_reply)(void *context, void *requester, const char *text);
	/* The engine wants engine_tick() at deadline_ms (unix ms). */
	void (*schedule)(void *context, uint64_t deadline_ms);
	/* Ring effects (ring.h), and: write the ring's queued output,
	 * which any engine call may have added to.  May be NULL when the
	 * engine is not in a ring. */
	void (*ring_connect)(void *context, struct ring_link *link);
	void (*ring_close)(void *context, struct ring_link *link);
	void (*ring_starttls)(
	    void *context, struct ring_link *link, bool accept);
	void (*ring_flush)(void *context);
	void *context;
};

/* A router over e (borrowed) hashing user names with tmpl (borrowed),
 * master_separator and recipient_delimiter ("" for none; copied). */
struct router *router_new(struct engine *e, const struct router_hooks *hooks,
    const struct userhash_template *tmpl, const char *master_separator,
    const char *recipient_delimiter);
void router_free(struct router **r);

struct chan;
/*
 * A worker thread's router.  Routing, alive and end are posted on to_main
 * and run there on main (the main thread's router, the one engine); the
 * answers (routed, failed, kick) come back on to_me and call the client's
 * ops on the worker's loop.  router_route() then always returns
 * ENGINE_ROUTE_WAIT.  The hash functions run in the worker (the template
 * is read-only).  Free it after the worker's sessions have ended.
 */
struct router *router_remote_new(
    struct router *main, struct chan *to_main, struct chan *to_me);
/* Whether r is a worker's router. */
bool router_is_remote(const struct router *r);
/* The engine's clock: unix time in ms. */
uint64_t router_now_ms(void);

/*
 * The user hash of a login name or recipient (after the master user
 * separator).  Returns 0, or -1 with a static *error_r.
 */
int router_user_hash(const struct router *r, const char *name, uint32_t *hash_r,
    const char **error_r);

/*
 * The user hash of an LMTP recipient address: its detail (after the
 * recipient_delimiter) is removed first, so "alice+lists@example.com"
 * reaches alice's backend.  Returns 0, or -1 with a static *error_r.
 */
int router_rcpt_hash(const struct router *r, const char *addr, uint32_t *hash_r,
    const char **error_r);

/* Routes c (idle) for user_hash in tag and registers it for kicks. */
enum engine_route_result router_route(struct router *r, struct router_client *c,
    uint32_t user_hash, const char *tag);
/* The backend of a routed client. */
const struct ipaddr *router_backend(const struct router_client *c);
/* c's login succeeded. */
void router_alive(struct router *r, struct router_client *c);
/* c ended, was cancelled or completed its kick; c is idle again. */
void router_end(struct router *r, struct router_client *c);

/* Executes pending effects and reschedules the tick. */
void router_run(struct router *r);
/* Runs the engine's tick now, then its effects. */
void router_tick(struct router *r);

#endif

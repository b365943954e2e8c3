/*
 * router.c - proxied sessions to the engine and the engine's effects
 * back (see router.h).
 *
 * Only the tick and admin operations produce effects; routing and ending
 * a session never do, so a proxy that calls router_route() or
 * router_end() is never re-entered from inside that call.  Effects are
 * taken one at a time from the engine's queue, so an effect whose
 * execution ends another session (which withdraws that session's pending
 * effects) is safe.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "router.h"
#include "userhash.h"
#include "xmalloc.h"

struct router {
	struct engine *e; /* NULL in a worker */
	struct router_hooks hooks;
	const struct userhash_template *tmpl;
	char *master_separator;
	char *recipient_delimiter;
	/* a worker's router: the main thread's, and the channels */
	struct router *main;
	struct chan *to_main, *to_me;
};

static enum engine_route_result router_remote_route(
    struct router *r, struct router_client *c, uint32_t hash, const char *tag);
static void router_remote_alive(struct router *r, struct router_client *c);
static void router_remote_end(struct router *r, struct router_client *c);

struct router *
router_new(struct engine *e, const struct router_hooks *hooks,
    const struct userhash_template *tmpl, const char *master_separator,
    const char *recipient_delimiter)
{
	struct router *r = xcalloc(1, sizeof(*r));

	r->e = e;
	r->hooks = *hooks;
	r->tmpl = tmpl;
	r->master_separator = xstrdup(master_separator);
	r->recipient_delimiter = xstrdup(recipient_delimiter);
	return r;
}

void
router_free(struct router **rp)
{
	struct router *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	free(r->master_separator);
	free(r->recipient_delimiter);
	free(r);
}

struct router *
router_remote_new(struct router *main, struct chan *to_main, struct chan *to_me)
{
	struct router *r = xcalloc(1, sizeof(*r));

	r->tmpl = main->tmpl;
	r->master_separator = xstrdup(main->master_separator);
	r->recipient_delimiter = xstrdup(main->recipient_delimiter);
	r->main = main;
	r->to_main = to_main;
	r->to_me = to_me;
	return r;
}

bool
router_is_remote(const struct router *r)
{
	return r->main != NULL;
}

uint64_t
router_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
router_user_hash(const struct router *r, const char *name, uint32_t *hash_r,
    const char **error_r)
{
	return userhash_compute(
	    r->tmpl, name, r->master_separator, hash_r, error_r);
}

/* A session's end may have set a fence's deadline: the tick must come
 * in time for it. */
static void
router_schedule(struct router *r)
{
	if (r->hooks.ring_flush != NULL)
		r->hooks.ring_flush(r->hooks.context);
	r->hooks.schedule(r->hooks.context, engine_next_deadline(r->e));
}

int
router_rcpt_hash(const struct router *r, const char *addr, uint32_t *hash_r,
    const char **error_r)
{
	char user[USERHASH_EXPANSION_MAX + 1];

	if (userhash_strip_detail(
		addr, r->recipient_delimiter, user, sizeof(user)) == -1) {
		*error_r = "address too long";
		return -1;
	}
	return router_user_hash(r, user, hash_r, error_r);
}

void
router_run(struct router *r)
{
	struct router_client *c;
	struct engine_effect eff;

	while (engine_next_effect(r->e, &eff)) {
		c = eff.session != NULL ? eff.session->owner : NULL;
		switch (eff.type) {
		case ENGINE_EFFECT_ROUTED:
			c->ops->routed(c);
			break;
		case ENGINE_EFFECT_FAILED:
			c->ops->failed(c, eff.text);
			break;
		case ENGINE_EFFECT_KICK:
			c->ops->kick(c);
			break;
		case ENGINE_EFFECT_SAVE_HOSTS:
			r->hooks.save_hosts(r->hooks.context);
			break;
		case ENGINE_EFFECT_ADMIN_REPLY:
			r->hooks.admin_reply(
			    r->hooks.context, eff.requester, eff.text);
			break;
		case ENGINE_EFFECT_RING_CONNECT:
			r->hooks.ring_connect(r->hooks.context, eff.link);
			break;
		case ENGINE_EFFECT_RING_CLOSE:
			r->hooks.ring_close(r->hooks.context, eff.link);
			break;
		case ENGINE_EFFECT_RING_STARTTLS:
			r->hooks.ring_starttls(
			    r->hooks.context, eff.link, eff.accept);
			break;
		}
	}
	router_schedule(r);
}

void
router_tick(struct router *r)
{
	engine_tick(r->e, router_now_ms());
	router_run(r);
}

enum engine_route_result
router_route(struct router *r, struct router_client *c, uint32_t user_hash,
    const char *tag)
{
	enum engine_route_result res;

	if (r->main != NULL)
		return router_remote_route(r, c, user_hash, tag);
	c->es.owner = c;
	res = engine_route(r->e, router_now_ms(), &c->es, user_hash, tag);
	router_schedule(r);
	return res;
}

const struct ipaddr *
router_backend(const struct router_client *c)
{
	return &c->es.backend;
}

void
router_alive(struct router *r, struct router_client *c)
{
	if (r->main != NULL) {
		router_remote_alive(r, c);
		return;
	}
	engine_session_alive(r->e, router_now_ms(), &c->es);
	router_schedule(r); /* the ring may have been told */
}

void
router_end(struct router *r, struct router_client *c)
{
	if (r->main != NULL) {
		router_remote_end(r, c);
		return;
	}
	if (c->es.state == ENGINE_SESSION_IDLE)
		return;
	engine_session_end(r->e, router_now_ms(), &c->es);
	router_schedule(r);
}

/*
 * Worker routers.  One registration (struct router_remote) lives from the
 * worker's route to the main thread's answer to its end: the worker
 * creates it and frees it when ENDED comes back, after which no message
 * about it is on its way in either direction (each channel keeps the
 * order of its messages).  The main thread touches only rc, the worker
 * only c; messages carry what each side needs.
 */
struct router_remote {
	struct router_client rc; /* the main thread's: the engine's view */
	struct router_client *c; /* the worker's; NULL once it ended */
	struct router *wr; /* the worker's router */
	uint32_t hash;
	char *tag;
};

enum router_msg_type {
	ROUTER_MSG_ROUTE, /* to main */
	ROUTER_MSG_ALIVE,
	ROUTER_MSG_END,
	ROUTER_MSG_ROUTED, /* to the worker */
	ROUTER_MSG_FAILED,
	ROUTER_MSG_KICK,
	ROUTER_MSG_ENDED,
};

struct router_msg {
	struct chan_msg m;
	enum router_msg_type type;
	struct router_remote *rr;
	struct ipaddr backend; /* ROUTED */
	bool waited; /* ROUTED */
	char *why; /* FAILED */
};

static void router_remote_on_main(struct chan_msg *m);
static void router_remote_on_worker(struct chan_msg *m);

static void
router_remote_post(struct router_remote *rr, enum router_msg_type type,
    const struct ipaddr *backend, bool waited, const char *why)
{
	struct router_msg *msg = xcalloc(1, sizeof(*msg));
	bool to_main = type <= ROUTER_MSG_END;
	struct chan *ch;
	chan_fn *fn;

	msg->type = type;
	msg->rr = rr;
	if (backend != NULL)
		msg->backend = *backend;
	msg->waited = waited;
	msg->why = why != NULL ? xstrdup(why) : NULL;
	ch = to_main ? rr->wr->to_main : rr->wr->to_me;
	fn = to_main ? router_remote_on_main : router_remote_on_worker;
	/* nobody waits for a login's success or for the main thread's
	 * acknowledgement of an end: those cost no thread wake-up.  An end
	 * does: until it arrives, the engine counts the session as open (a
	 * flush in the meantime would give its user back its assignment)
	 * and a move waits for it. */
	if (type == ROUTER_MSG_ALIVE || type == ROUTER_MSG_ENDED)
		chan_post_lazy(ch, &msg->m, fn);
	else
		chan_post(ch, &msg->m, fn);
}

/* The engine's answers for a worker's session, on the main thread. */
static void
router_remote_routed(struct router_client *rc)
{
	struct router_remote *rr = (struct router_remote *)rc;

	router_remote_post(rr, ROUTER_MSG_ROUTED, &rc->es.backend, true, NULL);
}

static void
router_remote_failed(struct router_client *rc, const char *why)
{
	router_remote_post(
	    (struct router_remote *)rc, ROUTER_MSG_FAILED, NULL, false, why);
}

static void
router_remote_kick(struct router_client *rc)
{
	router_remote_post(
	    (struct router_remote *)rc, ROUTER_MSG_KICK, NULL, false, NULL);
}

static const struct router_client_ops router_remote_ops = {
    .routed = router_remote_routed,
    .failed = router_remote_failed,
    .kick = router_remote_kick,
};

static void
router_remote_on_main(struct chan_msg *m)
{
	struct router_msg *msg = (struct router_msg *)m;
	struct router_remote *rr = msg->rr;
	struct router *main = rr->wr->main;

	switch (msg->type) {
	case ROUTER_MSG_ROUTE:
		rr->rc.ops = &router_remote_ops;
		switch (router_route(main, &rr->rc, rr->hash, rr->tag)) {
		case ENGINE_ROUTE_OK:
			router_remote_post(rr, ROUTER_MSG_ROUTED,
			    &rr->rc.es.backend, false, NULL);
			break;
		case ENGINE_ROUTE_FAIL:
			router_remote_post(rr, ROUTER_MSG_FAILED, NULL, false,
			    "no usable backend");
			break;
		case ENGINE_ROUTE_WAIT:
			break; /* an effect answers */
		}
		break;
	case ROUTER_MSG_ALIVE:
		if (rr->rc.es.state != ENGINE_SESSION_IDLE)
			router_alive(main, &rr->rc);
		break;
	case ROUTER_MSG_END:
		router_end(main, &rr->rc);
		router_remote_post(rr, ROUTER_MSG_ENDED, NULL, false, NULL);
		break;
	default:
		break;
	}
	free(msg->why);
	free(msg);
}

static void
router_remote_on_worker(struct chan_msg *m)
{
	struct router_msg *msg = (struct router_msg *)m;
	struct router_remote *rr = msg->rr;
	struct router_client *c = rr->c;

	switch (msg->type) {
	case ROUTER_MSG_ROUTED:
		if (c == NULL)
			break;
		c->es.backend = msg->backend;
		c->es.state = ENGINE_SESSION_ROUTED;
		c->waited = msg->waited;
		c->ops->routed(c);
		break;
	case ROUTER_MSG_FAILED:
		if (c != NULL)
			c->ops->failed(c, msg->why != NULL ? msg->why : "");
		break;
	case ROUTER_MSG_KICK:
		if (c != NULL)
			c->ops->kick(c);
		break;
	case ROUTER_MSG_ENDED:
		free(rr->tag);
		free(rr);
		break;
	default:
		break;
	}
	free(msg->why);
	free(msg);
}

static enum engine_route_result
router_remote_route(
    struct router *r, struct router_client *c, uint32_t hash, const char *tag)
{
	struct router_remote *rr = xcalloc(1, sizeof(*rr));

	rr->c = c;
	rr->wr = r;
	rr->hash = hash;
	rr->tag = xstrdup(tag != NULL ? tag : "");
	c->remote = rr;
	c->es.owner = c;
	c->es.state = ENGINE_SESSION_WAITING;
	c->waited = false;
	router_remote_post(rr, ROUTER_MSG_ROUTE, NULL, false, NULL);
	return ENGINE_ROUTE_WAIT;
}

static void
router_remote_alive(struct router *r, struct router_client *c)
{
	if (c->remote == NULL)
		return;
	c->es.state = ENGINE_SESSION_ALIVE;
	router_remote_post(c->remote, ROUTER_MSG_ALIVE, NULL, false, NULL);
}

static void
router_remote_end(struct router *r, struct router_client *c)
{
	struct router_remote *rr = c->remote;

	if (rr == NULL)
		return;
	rr->c = NULL;
	c->remote = NULL;
	c->es.state = ENGINE_SESSION_IDLE;
	router_remote_post(rr, ROUTER_MSG_END, NULL, false, NULL);
}

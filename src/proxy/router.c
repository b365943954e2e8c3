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

#include "router.h"
#include "userhash.h"
#include "xmalloc.h"

struct router {
	struct engine *e;
	struct router_hooks hooks;
	const struct userhash_template *tmpl;
	char *master_separator;
	char *recipient_delimiter;
};

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
	engine_session_alive(r->e, router_now_ms(), &c->es);
	router_schedule(r); /* the ring may have been told */
}

void
router_end(struct router *r, struct router_client *c)
{
	if (c->es.state == ENGINE_SESSION_IDLE)
		return;
	engine_session_end(r->e, router_now_ms(), &c->es);
	router_schedule(r);
}

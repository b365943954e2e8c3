/*
 * worker.c - worker threads for the IMAP, POP3 and ManageSieve sessions
 * (see worker.h).
 *
 * Each worker owns an event loop, a channel into it and a proxy_env; the
 * main thread never touches a worker's env while the worker runs, it
 * sends messages: a new configuration, "close everything", "run this
 * for me" (workers_run_each()), "stop".  Each worker accepts on its own
 * listening sockets.  The
 * waiting kinds (run_each, set_conf) block the main thread on a condition
 * variable until the worker has run them; a worker never waits for the
 * main thread, so this cannot deadlock.
 */
#include "compat.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "bevio.h"
#include "chan.h"
#include "conf.h"
#include "ipaddr.h"
#include "listener.h"
#include "log.h"
#include "proxy.h"
#include "router.h"
#include "session.h"
#include "splice.h"
#include "stats.h"
#include "worker.h"
#include "xmalloc.h"

struct worker {
	struct workers *ws;
	unsigned int index;
	pthread_t thread;
	bool running;
	struct event_base *base;
	struct chan *in;
	struct proxy_env env;
	struct listener_set *listeners; /* its sessions' sockets */
	void *contexts[CONF_PROTOCOL_COUNT]; /* all &env */
};

/* The handlers of a worker's listeners (sessions only). */
static const struct listener_handler
    *const worker_handlers[CONF_PROTOCOL_COUNT] = {
	[CONF_PROTOCOL_IMAP] = &session_handler_imap,
	[CONF_PROTOCOL_POP3] = &session_handler_pop3,
	[CONF_PROTOCOL_SIEVE] = &session_handler_sieve,
};

struct workers {
	struct worker *w;
	unsigned int count, next;
	struct proxy_env *main;
	struct chan *main_in; /* the workers' messages to the main thread */
	pthread_mutex_t shared_lock; /* the per-IP tables */
	/* the main thread waits here for a waiting message to have run */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	unsigned int done;
};

/* -- messages to a worker --------------------------------------------- */

/* A message the main thread waits for: fn(env, arg) on the worker. */
struct worker_call {
	struct chan_msg m;
	struct worker *w;
	void (*fn)(struct proxy_env *env, void *arg);
	void *arg;
};

static void
worker_on_call(struct chan_msg *m)
{
	struct worker_call *c = (struct worker_call *)m;
	struct workers *ws = c->w->ws;

	c->fn(&c->w->env, c->arg);
	free(c);
	(void)pthread_mutex_lock(&ws->done_lock);
	ws->done++;
	(void)pthread_cond_signal(&ws->done_cond);
	(void)pthread_mutex_unlock(&ws->done_lock);
}

/* Runs fn on worker w and waits for it. */
static void
worker_call(
    struct worker *w, void (*fn)(struct proxy_env *env, void *arg), void *arg)
{
	struct workers *ws = w->ws;
	struct worker_call *c = xcalloc(1, sizeof(*c));

	c->w = w;
	c->fn = fn;
	c->arg = arg;
	(void)pthread_mutex_lock(&ws->done_lock);
	ws->done = 0;
	(void)pthread_mutex_unlock(&ws->done_lock);
	chan_post(w->in, &c->m, worker_on_call);
	(void)pthread_mutex_lock(&ws->done_lock);
	while (ws->done == 0)
		(void)pthread_cond_wait(&ws->done_cond, &ws->done_lock);
	(void)pthread_mutex_unlock(&ws->done_lock);
}

void
workers_run_each(
    struct workers *ws, void (*fn)(struct proxy_env *env, void *arg), void *arg)
{
	unsigned int i;

	for (i = 0; i < ws->count; i++) {
		if (ws->w[i].running)
			worker_call(&ws->w[i], fn, arg);
	}
}

static void
worker_set_conf(struct proxy_env *env, void *arg)
{
	env->conf = arg;
}

void
workers_set_conf(struct workers *ws, const struct conf *conf)
{
	workers_run_each(ws, worker_set_conf, (void *)conf);
}

static void
worker_add_stats(struct proxy_env *env, void *arg)
{
	stats_merge(arg, &env->stats);
}

void
workers_add_stats(struct workers *ws, struct stats *st)
{
	workers_run_each(ws, worker_add_stats, st);
}

static void
worker_close_all(struct proxy_env *env, void *arg)
{
	struct worker *w = arg;

	/* no new connection: its sockets close (and leave the kernel's
	 * group, so the others take them) */
	listener_set_free(&w->listeners);
	env->shutting_down = true;
	session_close_all(env);
}

void
workers_close_all(struct workers *ws)
{
	unsigned int i;

	for (i = 0; i < ws->count; i++) {
		if (ws->w[i].running)
			worker_call(&ws->w[i], worker_close_all, &ws->w[i]);
	}
}

static void
worker_stop(struct proxy_env *env, void *arg)
{
	event_base_loopbreak(env->base);
}

/* -- messages to the main thread -------------------------------------- */

struct worker_backend_failed {
	struct chan_msg m;
	struct workers *ws;
	struct ipaddr ip;
};

static void
worker_on_backend_failed(struct chan_msg *m)
{
	struct worker_backend_failed *bf = (struct worker_backend_failed *)m;
	struct proxy_env *main = bf->ws->main;

	if (main->backend_failed != NULL)
		main->backend_failed(main->backend_failed_ctx, &bf->ip);
	free(bf);
}

/* A worker's session found a backend dead: the checker (main) hears. */
static void
worker_backend_failed(void *ctx, const struct ipaddr *ip)
{
	struct worker *w = ctx;
	struct worker_backend_failed *bf = xcalloc(1, sizeof(*bf));

	bf->ws = w->ws;
	bf->ip = *ip;
	chan_post(w->ws->main_in, &bf->m, worker_on_backend_failed);
}

/* -- threads ------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->listeners != NULL &&
	    listener_set_start(
		w->listeners, w->base, worker_handlers, w->contexts) == -1) {
		log_error("worker %u cannot accept connections", w->index + 1);
		listener_set_free(&w->listeners);
	}
	(void)event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static int
worker_init(struct workers *ws, unsigned int i, struct listener_set **ls)
{
	struct worker *w = &ws->w[i];
	struct proxy_env *m = ws->main;
	unsigned int p;

	w->ws = ws;
	w->index = i;
	w->base = event_base_new();
	if (w->base == NULL)
		return -1;
	w->in = chan_new(w->base);
	if (w->in == NULL)
		return -1;
	proxy_env_init(&w->env);
	w->env.conf = m->conf;
	w->env.base = w->base;
	w->env.router = router_remote_new(m->router, ws->main_in, w->in);
	w->env.connlimit = m->connlimit;
	w->env.penalty = m->penalty;
	w->env.tls_server = m->tls_server;
	w->env.tls_client = m->tls_client;
	w->env.all_connections = m->all_connections;
	w->env.shared_lock = &ws->shared_lock;
	/* session ids stay unique: the worker's number in the top bits */
	w->env.session_seq = m->session_seq ^ ((uint64_t)(i + 1) << 56);
	w->env.backend_failed = worker_backend_failed;
	w->env.backend_failed_ctx = w;
	memcpy(w->env.hostname, m->hostname, sizeof(w->env.hostname));
	for (p = 0; p < CONF_PROTOCOL_COUNT; p++)
		w->contexts[p] = &w->env;
	if (ls != NULL) {
		w->listeners = ls[i];
		ls[i] = NULL;
	}
	/* before the thread starts: it adds every descriptor number to its
	 * map, which must not meet the main thread opening one meanwhile */
	bevio_presize_fdmap(w->base, bevio_fd_max());
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->running = true;
	return 0;
}

struct workers *
workers_start(struct proxy_env *main, unsigned int count,
    struct event_base *base, struct listener_set **listeners)
{
	struct workers *ws = xcalloc(1, sizeof(*ws));
	unsigned int i;

	ws->main = main;
	ws->count = count;
	ws->w = xcalloc(count, sizeof(*ws->w));
	(void)pthread_mutex_init(&ws->shared_lock, NULL);
	(void)pthread_mutex_init(&ws->done_lock, NULL);
	(void)pthread_cond_init(&ws->done_cond, NULL);
	ws->main_in = chan_new(base);
	if (ws->main_in == NULL)
		goto fail;
	/* from here on the main thread's LMTP takes the lock too */
	main->shared_lock = &ws->shared_lock;
	for (i = 0; i < count; i++) {
		if (worker_init(ws, i, listeners) == -1) {
			log_error("cannot start worker thread %u", i + 1);
			goto fail;
		}
	}
	log_info("%u worker threads carry the IMAP, POP3 and ManageSieve "
		 "sessions",
	    count);
	return ws;
fail:
	workers_free(&ws);
	return NULL;
}

void
workers_free(struct workers **wsp)
{
	struct workers *ws = *wsp;
	struct worker *w;
	unsigned int i;

	if (ws == NULL)
		return;
	*wsp = NULL;
	for (i = 0; i < ws->count; i++) {
		w = &ws->w[i];
		if (!w->running) {
			listener_set_free(&w->listeners);
			continue;
		}
		worker_call(w, worker_close_all, w);
		worker_call(w, worker_stop, NULL);
		(void)pthread_join(w->thread, NULL);
		w->running = false;
	}
	/* what the workers said last (their sessions' ends) reaches the
	 * engine; what the main thread said back is only freed */
	if (ws->main_in != NULL)
		chan_run(ws->main_in);
	for (i = 0; i < ws->count; i++) {
		w = &ws->w[i];
		if (w->in != NULL)
			chan_free(&w->in);
		router_free(&w->env.router);
		stats_free(&w->env.stats);
		if (w->base != NULL)
			event_base_free(w->base);
	}
	chan_free(&ws->main_in);
	ws->main->shared_lock = NULL;
	(void)pthread_mutex_destroy(&ws->shared_lock);
	(void)pthread_mutex_destroy(&ws->done_lock);
	(void)pthread_cond_destroy(&ws->done_cond);
	free(ws->w);
	free(ws);
}

/*
 * worker.h - worker threads for the IMAP, POP3 and ManageSieve sessions.
 *
 * With `workers = N` (N > 1) the main thread keeps the engine, the ring,
 * the admin socket, the health checks, the metrics and LMTP; N worker
 * threads, each with an event loop, a struct proxy_env and IMAP, POP3
 * and ManageSieve listening sockets of its own (SO_REUSEPORT: the kernel
 * shares the connections out), accept and run the sessions from the
 * greeting to their end: login, TLS, the byte copy.  A worker reaches the
 * engine only by message (router_remote_new()), so the engine stays the
 * one writer of the user map.  The per-IP tables (connection limits,
 * failed-login penalties) are shared under one lock; the connection count
 * is shared as an atomic.
 *
 * Everything here is called on the main thread.
 */
#ifndef DIRECTOR_WORKER_H
#define DIRECTOR_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct conf;
struct event_base;
struct proxy_env;
struct stats;
struct workers;

/* Most workers a configuration may ask for. */
#define WORKERS_MAX 64

/* Starts count worker threads that share main's configuration, TLS
 * contexts and per-IP tables and route through main's router.  Worker i
 * takes listeners[i] (its IMAP, POP3 and ManageSieve sockets, bound with
 * SO_REUSEPORT; the entry becomes NULL) and accepts on it on its own
 * loop: the kernel shares the connections out, the main thread is not on
 * their way.  Returns NULL (logged) if a thread or its loop cannot be
 * made. */
struct listener_set;
struct workers *workers_start(struct proxy_env *main, unsigned int count,
    struct event_base *base, struct listener_set **listeners);

/* Runs fn(env, arg) on each worker's thread in turn, with that worker's
 * proxy_env, and returns when the last one has run: the caller's data is
 * touched by one thread at a time. */
void workers_run_each(struct workers *ws,
    void (*fn)(struct proxy_env *env, void *arg), void *arg);

/* A reloaded configuration: every worker uses conf from now on (the old
 * one may be freed when this returns). */
void workers_set_conf(struct workers *ws, const struct conf *conf);

/* Adds every worker's counters to st. */
void workers_add_stats(struct workers *ws, struct stats *st);

/* Closes every session of every worker (shutdown). */
void workers_close_all(struct workers *ws);

/* Stops the threads (after workers_close_all()) and frees them. */
void workers_free(struct workers **wsp);

#endif

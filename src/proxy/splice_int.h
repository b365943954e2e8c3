/*
 * splice_int.h - internals shared by the two ways a splice copies bytes:
 * through bufferevents (splice.c, always possible, TLS included) and, when
 * both sides are plain sockets, with splice(2) through a pipe, the bytes
 * never entering user space (splice_zc.c).  Not a public interface.
 */
#ifndef DIRECTOR_SPLICE_INT_H
#define DIRECTOR_SPLICE_INT_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "splice.h"

struct event;
struct evbuffer;

/* One direction of a zero-copy splice: the bytes read from side `from`
 * and not yet written to the other side wait in a pipe or, when no pipe
 * could be had, in backlog; never in both. */
struct splice_flow {
	struct splice *sp;
	int from;
	int pipe[2]; /* -1: none (pipes come from a pool) */
	size_t inpipe;
	struct evbuffer *backlog;
	struct event *rd; /* readable: the `from` side */
	struct event *wr; /* writable: the other side */
};

struct splice {
	struct bufferevent *bev[2];
	struct splice_stats stats;
	uint64_t idle_timeout_ms;
	splice_end_cb *cb;
	void *arg;
	/* Set once a side is gone: we only flush towards the other one. */
	bool closing;
	enum splice_end why;
	/* what it read waits for the gate (splice_set_gate()) */
	bool held;
	TAILQ_ENTRY(splice) held_link;

	/* A plain socket facing a TLS side is read here, in large reads
	 * (a bufferevent reads 4 KiB at a time); NULL: its bufferevent
	 * reads. */
	struct event *rd[2];

	/* Zero-copy mode (splice_zc.c): both sides are plain sockets. */
	bool zc_able;
	bool zc;
	int fd[2];
	struct splice_flow flow[2]; /* by the side the bytes come from */
	struct event *timer; /* idle timeout, then the flush timeout */
	uint64_t last_io_ms;
};

/* How long the surviving side gets to take the last bytes. */
#define SPLICE_FLUSH_TIMEOUT_SECS 30

struct bufferevent;

/* splice.c: whether bev is a plain socket (no TLS, no filter); whether
 * the gate lets bytes through now; queues sp on the
 * held list; ends the splice (frees it, runs the end callback). */
bool splice_plain_socket(struct bufferevent *bev);
bool splice_gate_open(void);
void splice_hold(struct splice *sp);
void splice_finish(struct splice *sp);

/* splice_zc.c: whether sp's two bufferevents are plain sockets. */
bool splice_zc_able(struct splice *sp);
/* Switches sp to zero-copy mode if it can and nothing waits in its
 * bufferevents (call where that may have become true). */
void splice_zc_try(struct splice *sp);
/* A held zero-copy splice reads again. */
void splice_zc_release(struct splice *sp);
/* Frees what zero-copy mode set up (before the bufferevents go). */
void splice_zc_free(struct splice *sp);

#endif

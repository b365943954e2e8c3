/*
 * splice.h - copy bytes both ways between a client and a backend.
 *
 * After login the director is a pipe.  A splice owns the two bufferevents
 * it is given and frees them when it ends.  When both are plain sockets
 * it moves the bytes with splice(2), without copying them (splice_zc.c).  Flow control: when the output
 * of one side holds more than SPLICE_HIGH_WATER bytes, reading from the
 * other side stops until that output has drained below SPLICE_LOW_WATER,
 * so a slow reader never makes the director buffer without bound.
 */
#ifndef DIRECTOR_SPLICE_H
#define DIRECTOR_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct splice;

#define SPLICE_HIGH_WATER (64 * 1024)
#define SPLICE_LOW_WATER (16 * 1024)
/* Zero-copy mode (both sides plain sockets) moves bytes through pipes;
 * SPLICE_PIPES_IDLE empty ones are kept for reuse. */
#define SPLICE_PIPES_IDLE 32

enum splice_side {
	SPLICE_CLIENT,
	SPLICE_BACKEND,
};

/* Why a splice ended. */
enum splice_end {
	SPLICE_END_CLIENT_CLOSED,
	SPLICE_END_BACKEND_CLOSED,
	SPLICE_END_IDLE_TIMEOUT,
	SPLICE_END_KICKED,
	SPLICE_END_SHUTDOWN,
};

struct splice_stats {
	uint64_t client_to_backend;
	uint64_t backend_to_client;
};

/* Called once when the splice has ended and freed its bufferevents; the
 * splice itself is freed right after the callback returns. */
typedef void splice_end_cb(
    enum splice_end why, const struct splice_stats *stats, void *arg);

/* Starts copying.  Takes ownership of both bufferevents (their callbacks
 * and watermarks are replaced).  Bytes already in either input buffer are
 * forwarded at once.  idle_timeout_ms 0 disables the idle timeout. */
struct splice *splice_start(struct bufferevent *client,
    struct bufferevent *backend, uint64_t idle_timeout_ms, splice_end_cb *cb,
    void *arg);

/* Ends the splice now (kick, shutdown): pending output is dropped, both
 * connections are closed and the end callback runs with why. */
void splice_stop(struct splice *sp, enum splice_end why);

const char *splice_end_name(enum splice_end why);

/* Whether splices of this thread that start from now on may use
 * zero-copy mode, and how many pipes (two descriptors each) they may hold
 * at once; a direction that finds none copies through user space.
 * Default: on, 256. */
void splice_configure(bool zero_copy, unsigned int pipes_max);

/*
 * While gate(ctx) says no, a splice that reads something holds it (and
 * stops reading both sides) instead of passing it on: a director that
 * has just resumed from a stop must first learn which sessions the ring
 * moved away, and kick them, before any byte goes through.
 * splice_release_held() lets the held ones go on; a held splice that is
 * stopped meanwhile passes nothing.
 */
typedef bool splice_gate_fn(void *ctx);
void splice_set_gate(splice_gate_fn *gate, void *ctx);
size_t splice_held_count(void);
void splice_release_held(void);
/* The splices, the gate and the pipes are the calling thread's: a worker
 * thread sets splice_gate_published as its gate, which says what the
 * main thread last published with splice_gate_publish(): open, and not
 * older than max_age_ms (0: no limit) by the clock.  Held splices of
 * every thread: */
void splice_gate_publish(bool open, uint64_t now_ms, uint64_t max_age_ms);
bool splice_gate_published(void *ctx);
size_t splice_held_count_all(void);

#endif

/*
 * splice.c - copy bytes both ways between a client and a backend.
 *
 * Invariants: at most SPLICE_HIGH_WATER bytes (plus one read's worth) wait
 * in either output buffer, because reading from the peer side is disabled
 * while they do; the end callback runs exactly once; EOF and ERROR on
 * either side are the same thing ("peer gone"), as TLS peers that skip
 * close_notify show up as ERROR on some libevent paths (style-anchors
 * 7.5).  When one side closes, what we already read from it is still
 * flushed to the other side before that one is closed too.
 */
#include "compat.h"

#include <sys/queue.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "bevio.h"
#include "splice_int.h"
#include "xmalloc.h"

/* Largest single read and write: libevent's default, 4 KiB, costs four
 * system calls per 4 KiB of a bulk transfer. */
#define SPLICE_READ_MAX (256 * 1024)
/* One read of a plain socket facing TLS: four full TLS records. */
#define SPLICE_LARGE_READ (64 * 1024)

/* Each thread (the main one, every worker) has its own splices. */
static _Thread_local TAILQ_HEAD(, splice) splice_held; /* splice_held_init */
static _Thread_local size_t splice_nheld;
static _Thread_local splice_gate_fn *splice_gate;
static _Thread_local void *splice_gate_ctx;
/* held splices of all threads, and the gate the main thread publishes
 * for the workers */
static atomic_size_t splice_nheld_all;
static atomic_bool splice_pub_open = true;
static _Atomic uint64_t splice_pub_at_ms, splice_pub_max_age_ms;

void
splice_gate_publish(bool open, uint64_t now_ms, uint64_t max_age_ms)
{
	atomic_store(&splice_pub_at_ms, now_ms);
	atomic_store(&splice_pub_max_age_ms, max_age_ms);
	atomic_store(&splice_pub_open, open);
}

bool
splice_gate_published(void *ctx)
{
	struct timespec ts;
	uint64_t now, at, age;

	if (!atomic_load(&splice_pub_open))
		return false;
	age = atomic_load(&splice_pub_max_age_ms);
	if (age == 0)
		return true;
	/* the main thread looked too long ago: a stop we resume from */
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	at = atomic_load(&splice_pub_at_ms);
	return now <= at || now - at <= age;
}

size_t
splice_held_count_all(void)
{
	return atomic_load(&splice_nheld_all);
}

void
splice_set_gate(splice_gate_fn *gate, void *ctx)
{
	splice_gate = gate;
	splice_gate_ctx = ctx;
}

size_t
splice_held_count(void)
{
	return splice_nheld;
}

static void
splice_unhold(struct splice *sp)
{
	if (!sp->held)
		return;
	TAILQ_REMOVE(&splice_held, sp, held_link);
	splice_nheld--;
	atomic_fetch_sub(&splice_nheld_all, 1);
	sp->held = false;
}

static const char *const splice_end_names[] = {
    "client closed",
    "backend closed",
    "idle timeout",
    "kicked",
    "shutdown",
};
static_assert(
    nitems(splice_end_names) == SPLICE_END_SHUTDOWN + 1, "splice end names");

const char *
splice_end_name(enum splice_end why)
{
	return splice_end_names[why];
}

bool
splice_gate_open(void)
{
	return splice_gate == NULL || splice_gate(splice_gate_ctx);
}

void
splice_hold(struct splice *sp)
{
	if (sp->held)
		return;
	if (splice_held.tqh_last == NULL) /* a thread's first */
		TAILQ_INIT(&splice_held);
	sp->held = true;
	TAILQ_INSERT_TAIL(&splice_held, sp, held_link);
	splice_nheld++;
	atomic_fetch_add(&splice_nheld_all, 1);
}

void
splice_finish(struct splice *sp)
{
	struct splice_stats stats = sp->stats;
	splice_end_cb *cb = sp->cb;
	void *arg = sp->arg;
	enum splice_end why = sp->why;

	splice_unhold(sp);
	splice_zc_free(sp);
	for (int i = 0; i < 2; i++) {
		if (sp->rd[i] != NULL)
			event_free(sp->rd[i]);
	}
	bufferevent_free(sp->bev[SPLICE_CLIENT]);
	bufferevent_free(sp->bev[SPLICE_BACKEND]);
	free(sp);
	cb(why, &stats, arg);
}

static void
splice_set_timeouts(struct splice *sp)
{
	struct timeval tv;
	int i;

	if (sp->idle_timeout_ms == 0)
		return;
	tv.tv_sec = (time_t)(sp->idle_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(sp->idle_timeout_ms % 1000) * 1000;
	for (i = 0; i < 2; i++)
		bufferevent_set_timeouts(sp->bev[i], &tv, NULL);
}

static int
splice_side_of(struct splice *sp, struct bufferevent *bev)
{
	return bev == sp->bev[SPLICE_CLIENT] ? SPLICE_CLIENT : SPLICE_BACKEND;
}

/* Starts or stops reading side i. */
static void
splice_reading(struct splice *sp, int i, bool on)
{
	if (sp->rd[i] != NULL) {
		if (on)
			event_add(sp->rd[i], NULL);
		else
			event_del(sp->rd[i]);
	} else if (on) {
		bufferevent_enable(sp->bev[i], EV_READ);
	} else {
		bufferevent_disable(sp->bev[i], EV_READ);
	}
}

static void
splice_read_cb(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;
	int from = splice_side_of(sp, bev), to = !from;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(sp->bev[to]);
	size_t n = evbuffer_get_length(in);

	if (sp->closing) {
		evbuffer_drain(in, n);
		return;
	}
	if (!splice_gate_open()) {
		/* kept in the input buffer until splice_release_held() */
		splice_reading(sp, SPLICE_CLIENT, false);
		splice_reading(sp, SPLICE_BACKEND, false);
		splice_hold(sp);
		return;
	}
	if (from == SPLICE_CLIENT)
		sp->stats.client_to_backend += n;
	else
		sp->stats.backend_to_client += n;
	bevio_write_buffer(sp->bev[to], in);
	if (evbuffer_get_length(out) >= SPLICE_HIGH_WATER) {
		/* The other side reads slowly: stop reading here until its
		 * output drains below the low mark (its write callback). */
		splice_reading(sp, from, false);
		bufferevent_setwatermark(
		    sp->bev[to], EV_WRITE, SPLICE_LOW_WATER, 0);
	}
	/* Both directions are active: an idle timeout counts only while
	 * neither side sends anything, so reset the other side's too. */
	if (sp->idle_timeout_ms != 0)
		splice_set_timeouts(sp);
	splice_zc_try(sp);
}

static void
splice_write_cb(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;
	int to = splice_side_of(sp, bev), from = !to;

	if (sp->closing) {
		/* The other side is gone and this one has been flushed. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			splice_finish(sp);
		return;
	}
	/* Output drained below the low mark: resume reading the source. */
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	splice_reading(sp, from, true);
	splice_zc_try(sp);
}

static void
splice_begin_close(struct splice *sp, int gone, enum splice_end why)
{
	int other = !gone;
	struct bufferevent *obev = sp->bev[other];
	const struct timeval flush_timeout = {SPLICE_FLUSH_TIMEOUT_SECS, 0};

	sp->closing = true;
	sp->why = why;
	/* Forward whatever the departed side sent before it went away. */
	bevio_write_buffer(obev, bufferevent_get_input(sp->bev[gone]));
	bufferevent_disable(sp->bev[gone], EV_READ | EV_WRITE);
	splice_reading(sp, gone, false);
	splice_reading(sp, other, false);
	if (evbuffer_get_length(bufferevent_get_output(obev)) == 0) {
		splice_finish(sp);
		return;
	}
	/* Flush, then finish in the write callback (or on error, or when a
	 * peer that stopped reading lets SPLICE_FLUSH_TIMEOUT_SECS pass). */
	bufferevent_setwatermark(obev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(obev, NULL, &flush_timeout);
	bufferevent_enable(obev, EV_WRITE);
}

static void
splice_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct splice *sp = arg;
	int side = splice_side_of(sp, bev);

	if (sp->closing) {
		/* The side we were flushing to failed as well. */
		splice_finish(sp);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		splice_stop(sp, SPLICE_END_IDLE_TIMEOUT);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* Read what is left before deciding: the final bytes may
		 * arrive together with the EOF. */
		splice_begin_close(sp, side,
		    side == SPLICE_CLIENT ? SPLICE_END_CLIENT_CLOSED
					  : SPLICE_END_BACKEND_CLOSED);
	}
}

/* Reads a plain socket side in large reads (its bufferevent's reading
 * stays off), then goes on as the bufferevent's read callback would. */
static void
splice_large_read(struct splice *sp, int i)
{
	struct bufferevent *bev = sp->bev[i];
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec vec[2];
	struct iovec iov[2];
	int nvec, k;
	ssize_t n;
	size_t left;

	/* a bufferevent keeps the end of its input frozen: only it adds */
	(void)evbuffer_unfreeze(in, 0);
	nvec = evbuffer_reserve_space(in, SPLICE_LARGE_READ, vec, 2);
	if (nvec <= 0) {
		(void)evbuffer_freeze(in, 0);
		splice_event_cb(bev, BEV_EVENT_READING | BEV_EVENT_ERROR, sp);
		return;
	}
	for (k = 0; k < nvec; k++) {
		iov[k].iov_base = vec[k].iov_base;
		iov[k].iov_len = vec[k].iov_len;
	}
	n = readv(bufferevent_getfd(bev), iov, nvec);
	if (n <= 0) {
		(void)evbuffer_commit_space(in, vec, 0);
		(void)evbuffer_freeze(in, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		splice_event_cb(bev,
		    BEV_EVENT_READING |
			(n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
		    sp);
		return;
	}
	left = (size_t)n;
	for (k = 0; k < nvec; k++) {
		if (vec[k].iov_len > left)
			vec[k].iov_len = left;
		left -= vec[k].iov_len;
	}
	(void)evbuffer_commit_space(in, vec, nvec);
	(void)evbuffer_freeze(in, 0);
	splice_read_cb(bev, sp);
}

static void
splice_on_read_client(evutil_socket_t fd, short what, void *arg)
{
	splice_large_read(arg, SPLICE_CLIENT);
}

static void
splice_on_read_backend(evutil_socket_t fd, short what, void *arg)
{
	splice_large_read(arg, SPLICE_BACKEND);
}

bool
splice_plain_socket(struct bufferevent *bev)
{
	return bufferevent_get_underlying(bev) == NULL &&
	    bufferevent_openssl_get_ssl(bev) == NULL &&
	    bufferevent_getfd(bev) >= 0;
}

/* Side i, a plain socket facing TLS, gets its own large reads. */
static void
splice_reader_new(struct splice *sp, int i)
{
	struct bufferevent *bev = sp->bev[i];

	if (!splice_plain_socket(bev))
		return;
	sp->rd[i] = event_new(bufferevent_get_base(bev), bufferevent_getfd(bev),
	    EV_READ | EV_PERSIST,
	    i == SPLICE_CLIENT ? splice_on_read_client : splice_on_read_backend,
	    sp);
}

struct splice *
splice_start(struct bufferevent *client, struct bufferevent *backend,
    uint64_t idle_timeout_ms, splice_end_cb *cb, void *arg)
{
	struct splice *sp = xcalloc(1, sizeof(*sp));
	int i;

	sp->bev[SPLICE_CLIENT] = client;
	sp->bev[SPLICE_BACKEND] = backend;
	sp->idle_timeout_ms = idle_timeout_ms;
	sp->cb = cb;
	sp->arg = arg;
	sp->zc_able = splice_zc_able(sp);
	for (i = 0; i < 2; i++) {
		bufferevent_setcb(sp->bev[i], splice_read_cb, splice_write_cb,
		    splice_event_cb, sp);
		bufferevent_setwatermark(sp->bev[i], EV_READ, 0, 0);
		bufferevent_setwatermark(sp->bev[i], EV_WRITE, 0, 0);
		bufferevent_set_timeouts(sp->bev[i], NULL, NULL);
		bufferevent_set_max_single_read(sp->bev[i], SPLICE_READ_MAX);
		bufferevent_set_max_single_write(sp->bev[i], SPLICE_READ_MAX);
		bufferevent_enable(sp->bev[i], EV_WRITE);
		if (!sp->zc_able)
			splice_reader_new(sp, i);
		if (sp->rd[i] != NULL)
			bufferevent_disable(sp->bev[i], EV_READ);
		splice_reading(sp, i, true);
	}
	splice_set_timeouts(sp);
	/* Pipelined bytes that arrived before the splice started. */
	for (i = 0; i < 2; i++) {
		if (evbuffer_get_length(bufferevent_get_input(sp->bev[i])) > 0)
			splice_read_cb(sp->bev[i], sp);
	}
	splice_zc_try(sp);
	return sp;
}

void
splice_release_held(void)
{
	struct splice *sp;
	int i;

	if (splice_held.tqh_last == NULL)
		return; /* never held one */
	while ((sp = TAILQ_FIRST(&splice_held)) != NULL) {
		splice_unhold(sp);
		if (sp->zc) {
			splice_zc_release(sp);
			continue;
		}
		for (i = 0; i < 2; i++)
			splice_reading(sp, i, true);
		for (i = 0; i < 2 && !sp->held; i++) {
			if (evbuffer_get_length(
				bufferevent_get_input(sp->bev[i])) > 0)
				splice_read_cb(sp->bev[i], sp);
		}
	}
}

void
splice_stop(struct splice *sp, enum splice_end why)
{
	sp->why = why;
	splice_finish(sp);
}

/*
 * splice_zc.c - the zero-copy mode of a splice: when both sides are plain
 * sockets, bytes move with splice(2) from one socket into a pipe and from
 * the pipe into the other socket, never entering user space, with no
 * FIONREAD per read and as much per call as the socket holds.
 *
 * A splice starts out with bufferevents (splice.c) and switches here once
 * nothing waits in them (the login's pipelined bytes are through); from
 * then on the bufferevents only own the descriptors.  Each direction
 * (struct splice_flow) reads from its side only while nothing of its own
 * waits for the other side: the bytes in flight are at most one read, so
 * a slow reader holds back its peer (backpressure) and memory stays
 * bounded.  Pipes come from a small pool and go back to it as soon as
 * they are empty, so only the directions with bytes in flight hold one;
 * when none can be had (zero_copy_pipes in use, or pipe2() fails) a
 * direction reads into an evbuffer instead, the bytes then passing through
 * user space as before.
 *
 * Closing is as in splice.c: the bytes the departed side sent are still
 * written to the other side (for at most SPLICE_FLUSH_TIMEOUT_SECS), what
 * was on its way to the departed side is dropped, the end callback runs
 * once.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "splice_int.h"

/* Most bytes one splice(2) call moves into a pipe (its capacity bounds it
 * anyway: 64 KiB by default). */
#define SPLICE_ZC_CHUNK (1024 * 1024)
/* A direction without a pipe reads at most this much at a time. */
#define SPLICE_ZC_COPY_CHUNK (64 * 1024)
#define SPLICE_ZC_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

static uint64_t
splice_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The pipe pool: empty pipes kept for reuse, and how many exist. */
static _Thread_local int splice_pool[SPLICE_PIPES_IDLE][2];
static _Thread_local unsigned int splice_pool_len;
static _Thread_local unsigned int splice_pipes_open;
static _Thread_local unsigned int splice_pipes_max = 256;
static _Thread_local bool splice_zc_on = true;

void
splice_configure(bool zero_copy, unsigned int pipes_max)
{
	splice_zc_on = zero_copy;
	splice_pipes_max = pipes_max;
}

static int
splice_pipe_get(int p[2])
{
	if (splice_pool_len > 0) {
		splice_pool_len--;
		p[0] = splice_pool[splice_pool_len][0];
		p[1] = splice_pool[splice_pool_len][1];
		return 0;
	}
	if (splice_pipes_open >= splice_pipes_max ||
	    pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	splice_pipes_open++;
	return 0;
}

/* Gives an empty pipe back (pooled), or closes one that may hold bytes. */
static void
splice_pipe_put(int p[2], bool empty)
{
	if (p[0] == -1)
		return;
	if (empty && splice_pool_len < SPLICE_PIPES_IDLE) {
		splice_pool[splice_pool_len][0] = p[0];
		splice_pool[splice_pool_len][1] = p[1];
		splice_pool_len++;
	} else {
		(void)close(p[0]);
		(void)close(p[1]);
		splice_pipes_open--;
	}
	p[0] = p[1] = -1;
}

bool
splice_zc_able(struct splice *sp)
{
	int i;

	if (!splice_zc_on)
		return false;
	for (i = 0; i < 2; i++) {
		if (!splice_plain_socket(sp->bev[i]))
			return false;
	}
	return true;
}

static size_t
splice_flow_pending(const struct splice_flow *fl)
{
	return fl->inpipe +
	    (fl->backlog != NULL ? evbuffer_get_length(fl->backlog) : 0);
}

static void
splice_zc_arm_timer(struct splice *sp, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(sp->timer, &tv);
}

/* Side `gone` has closed or failed: flush what it sent to the other side,
 * drop what was on its way to it, then finish. */
static void
splice_zc_close(struct splice *sp, int gone)
{
	struct splice_flow *keep = &sp->flow[gone], *drop = &sp->flow[!gone];

	if (sp->closing) {
		/* the side we were flushing to failed as well */
		splice_finish(sp);
		return;
	}
	sp->closing = true;
	sp->why = gone == SPLICE_CLIENT ? SPLICE_END_CLIENT_CLOSED
					: SPLICE_END_BACKEND_CLOSED;
	event_del(keep->rd);
	event_del(drop->rd);
	event_del(drop->wr);
	if (splice_flow_pending(keep) == 0) {
		splice_finish(sp);
		return;
	}
	event_add(keep->wr, NULL);
	splice_zc_arm_timer(sp, SPLICE_FLUSH_TIMEOUT_SECS * 1000);
}

/* Writes what flow fl holds to the other side.  Returns 0, or -1 when
 * that side has failed (then the splice is closing or gone). */
static int
splice_zc_flush(struct splice_flow *fl)
{
	struct splice *sp = fl->sp;
	int to = !fl->from;
	ssize_t n;

	if (fl->inpipe > 0) {
		n = splice(fl->pipe[0], NULL, sp->fd[to], NULL, fl->inpipe,
		    SPLICE_ZC_FLAGS);
		if (n > 0)
			fl->inpipe -= (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			goto failed;
	}
	if (fl->backlog != NULL && evbuffer_get_length(fl->backlog) > 0 &&
	    evbuffer_write(fl->backlog, sp->fd[to]) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		goto failed;
	if (fl->inpipe == 0)
		splice_pipe_put(fl->pipe, true);
	if (splice_flow_pending(fl) > 0) {
		/* the other side is slow: stop reading this one */
		event_del(fl->rd);
		event_add(fl->wr, NULL);
	} else {
		event_del(fl->wr);
		if (sp->closing) {
			splice_finish(sp);
			return -1;
		}
		if (!sp->held)
			event_add(fl->rd, NULL);
	}
	return 0;
failed:
	splice_zc_close(sp, to);
	return -1;
}

/* Reads once from fl's side: into its pipe, or into its backlog when no
 * pipe can be had.  Returns the bytes read, 0 at EOF, -1 for nothing
 * (EAGAIN) and -2 for an error. */
static ssize_t
splice_zc_read(struct splice_flow *fl)
{
	int fd = fl->sp->fd[fl->from];
	ssize_t n;

	if (fl->pipe[0] != -1 || splice_pipe_get(fl->pipe) == 0) {
		n = splice(fd, NULL, fl->pipe[1], NULL, SPLICE_ZC_CHUNK,
		    SPLICE_ZC_FLAGS);
		if (n > 0)
			fl->inpipe += (size_t)n;
	} else {
		if (fl->backlog == NULL)
			fl->backlog = evbuffer_new();
		n = fl->backlog != NULL
		    ? evbuffer_read(fl->backlog, fd, SPLICE_ZC_COPY_CHUNK)
		    : -1;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -1 : -2;
	return n;
}

static void
splice_zc_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct splice_flow *fl = arg;
	struct splice *sp = fl->sp;
	ssize_t n;

	if (!splice_gate_open()) {
		/* nothing is read until splice_release_held() */
		event_del(sp->flow[SPLICE_CLIENT].rd);
		event_del(sp->flow[SPLICE_BACKEND].rd);
		splice_hold(sp);
		return;
	}
	n = splice_zc_read(fl);
	if (n == 0 || n == -2) {
		splice_zc_close(sp, fl->from);
		return;
	}
	if (n == -1) {
		if (fl->inpipe == 0)
			splice_pipe_put(fl->pipe, true);
		return;
	}
	if (fl->from == SPLICE_CLIENT)
		sp->stats.client_to_backend += (uint64_t)n;
	else
		sp->stats.backend_to_client += (uint64_t)n;
	sp->last_io_ms = splice_now_ms();
	(void)splice_zc_flush(fl);
}

static void
splice_zc_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct splice_flow *fl = arg;

	fl->sp->last_io_ms = splice_now_ms();
	(void)splice_zc_flush(fl);
}

/* The idle timeout (re-armed for what is left of it after traffic), or,
 * while closing, the flush timeout. */
static void
splice_zc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct splice *sp = arg;
	uint64_t idle;

	if (sp->closing) {
		splice_finish(sp);
		return;
	}
	idle = splice_now_ms() - sp->last_io_ms;
	if (idle < sp->idle_timeout_ms) {
		splice_zc_arm_timer(sp, sp->idle_timeout_ms - idle);
		return;
	}
	splice_stop(sp, SPLICE_END_IDLE_TIMEOUT);
}

void
splice_zc_try(struct splice *sp)
{
	struct event_base *base;
	struct splice_flow *fl;
	int i;

	if (sp->zc || !sp->zc_able || sp->closing || sp->held)
		return;
	for (i = 0; i < 2; i++) {
		if (evbuffer_get_length(bufferevent_get_input(sp->bev[i])) >
			0 ||
		    evbuffer_get_length(bufferevent_get_output(sp->bev[i])) > 0)
			return;
	}
	base = bufferevent_get_base(sp->bev[SPLICE_CLIENT]);
	for (i = 0; i < 2; i++)
		sp->fd[i] = bufferevent_getfd(sp->bev[i]);
	for (i = 0; i < 2; i++) {
		fl = &sp->flow[i];
		fl->sp = sp;
		fl->from = i;
		fl->pipe[0] = fl->pipe[1] = -1;
		fl->rd = event_new(base, sp->fd[i], EV_READ | EV_PERSIST,
		    splice_zc_on_read, fl);
		fl->wr = event_new(base, sp->fd[!i], EV_WRITE | EV_PERSIST,
		    splice_zc_on_write, fl);
	}
	sp->timer = evtimer_new(base, splice_zc_on_timer, sp);
	if (sp->flow[0].rd == NULL || sp->flow[0].wr == NULL ||
	    sp->flow[1].rd == NULL || sp->flow[1].wr == NULL ||
	    sp->timer == NULL) {
		splice_zc_free(sp); /* stays with the bufferevents */
		sp->zc_able = false;
		return;
	}
	for (i = 0; i < 2; i++) {
		bufferevent_disable(sp->bev[i], EV_READ | EV_WRITE);
		event_add(sp->flow[i].rd, NULL);
	}
	sp->zc = true;
	sp->last_io_ms = splice_now_ms();
	if (sp->idle_timeout_ms != 0)
		splice_zc_arm_timer(sp, sp->idle_timeout_ms);
}

void
splice_zc_release(struct splice *sp)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (splice_flow_pending(&sp->flow[i]) == 0)
			event_add(sp->flow[i].rd, NULL);
	}
}

void
splice_zc_free(struct splice *sp)
{
	struct splice_flow *fl;
	int i;

	for (i = 0; i < 2; i++) {
		fl = &sp->flow[i];
		if (fl->rd != NULL)
			event_free(fl->rd);
		if (fl->wr != NULL)
			event_free(fl->wr);
		fl->rd = fl->wr = NULL;
		if (fl->sp != NULL)
			splice_pipe_put(fl->pipe, fl->inpipe == 0);
		fl->inpipe = 0;
		if (fl->backlog != NULL)
			evbuffer_free(fl->backlog);
		fl->backlog = NULL;
	}
	if (sp->timer != NULL)
		event_free(sp->timer);
	sp->timer = NULL;
	sp->zc = false;
}

/*
 * test_bevio.c - write-through on socket bufferevents: bytes go out at
 * once when nothing is queued, keep their order when something is, and
 * errors still reach the bufferevent's event callback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevio.h"

struct pair {
	struct event_base *base;
	struct bufferevent *bev;
	int peer;
	short events;
};

static void
pair_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pair *p = arg;

	(void)bev;
	p->events |= what;
}

static void
pair_open(struct pair *p)
{
	int fds[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(evutil_make_socket_nonblocking(fds[0]), 0);
	assert_int_equal(evutil_make_socket_nonblocking(fds[1]), 0);
	p->base = event_base_new();
	assert_non_null(p->base);
	p->bev = bufferevent_socket_new(p->base, fds[0], BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(p->bev);
	bufferevent_setcb(p->bev, NULL, NULL, pair_event_cb, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	p->peer = fds[1];
}

static void
pair_close(struct pair *p)
{
	bufferevent_free(p->bev);
	if (p->peer >= 0)
		close(p->peer);
	event_base_free(p->base);
}

/* What the peer can read now, without running the event loop. */
static size_t
peer_read(struct pair *p, char *buf, size_t size)
{
	ssize_t n = recv(p->peer, buf, size, MSG_DONTWAIT);

	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return 0;
	}
	return (size_t)n;
}

static size_t
output_len(struct pair *p)
{
	return evbuffer_get_length(bufferevent_get_output(p->bev));
}

static void
test_write_goes_out_at_once(void **state)
{
	struct pair p;
	char buf[64];

	pair_open(&p);
	bevio_write(p.bev, "a1 OK done\r\n", 12);
	assert_int_equal(output_len(&p), 0);
	assert_int_equal(peer_read(&p, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "a1 OK done\r\n", 12);
	bevio_write(p.bev, "", 0);
	assert_int_equal(output_len(&p), 0);
	pair_close(&p);
}

static void
test_queued_bytes_keep_their_order(void **state)
{
	struct pair p;
	char buf[64];

	pair_open(&p);
	/* queued by the plain API: the event loop has not run yet */
	assert_int_equal(bufferevent_write(p.bev, "first ", 6), 0);
	bevio_write(p.bev, "second", 6);
	assert_int_equal(output_len(&p), 12);
	assert_int_equal(peer_read(&p, buf, sizeof(buf)), 0);
	assert_int_equal(event_base_loop(p.base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(output_len(&p), 0);
	assert_int_equal(peer_read(&p, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "first second", 12);
	pair_close(&p);
}

/* More than the socket takes: the rest is queued and follows in order. */
static void
test_partial_send_queues_the_rest(void **state)
{
	enum { TOTAL = 4 * 1024 * 1024 };
	static char data[TOTAL], got[TOTAL];
	struct evbuffer *buf = evbuffer_new();
	struct pair p;
	size_t have = 0, i;

	for (i = 0; i < TOTAL; i++)
		data[i] = (char)(i * 7 + i / 251);
	pair_open(&p);
	bevio_write(p.bev, data, TOTAL / 2);
	assert_true(output_len(&p) > 0);
	assert_true(output_len(&p) < TOTAL / 2);
	assert_int_equal(evbuffer_add(buf, data + TOTAL / 2, TOTAL / 2), 0);
	bevio_write_buffer(p.bev, buf);
	assert_int_equal(evbuffer_get_length(buf), 0);
	while (have < TOTAL) {
		size_t n = peer_read(&p, got + have, TOTAL - have);

		have += n;
		if (n == 0)
			assert_int_equal(
			    event_base_loop(p.base, EVLOOP_NONBLOCK), 0);
	}
	assert_memory_equal(got, data, TOTAL);
	assert_int_equal(output_len(&p), 0);
	evbuffer_free(buf);
	pair_close(&p);
}

static void
test_write_buffer_goes_out_at_once(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	struct pair p;
	char got[64];

	pair_open(&p);
	assert_int_equal(evbuffer_add(buf, "* 3 EXISTS\r\n", 12), 0);
	assert_int_equal(evbuffer_add(buf, "b OK\r\n", 6), 0);
	bevio_write_buffer(p.bev, buf);
	assert_int_equal(evbuffer_get_length(buf), 0);
	assert_int_equal(output_len(&p), 0);
	assert_int_equal(peer_read(&p, got, sizeof(got)), 18);
	assert_memory_equal(got, "* 3 EXISTS\r\nb OK\r\n", 18);
	evbuffer_free(buf);
	pair_close(&p);
}

/* A failed send() leaves the bytes to the bufferevent, whose own write
 * then reports the error through the event callback. */
static void
test_error_reaches_the_event_callback(void **state)
{
	struct pair p;
	int i;

	pair_open(&p);
	close(p.peer);
	p.peer = -1;
	bevio_write(p.bev, "lost\r\n", 6);
	assert_int_equal(output_len(&p), 6);
	for (i = 0; i < 100 && (p.events & BEV_EVENT_WRITING) == 0; i++)
		(void)event_base_loop(p.base, EVLOOP_NONBLOCK);
	assert_true(p.events & BEV_EVENT_ERROR);
	assert_true(p.events & BEV_EVENT_WRITING);
	pair_close(&p);
}

/* A filter (TLS is one) must see every byte: never bypassed. */
static void
test_filter_is_never_bypassed(void **state)
{
	struct pair p;
	struct bufferevent *filter;
	char buf[64];
	size_t n = 0;
	int i;

	pair_open(&p);
	filter = bufferevent_filter_new(
	    p.bev, NULL, NULL, BEV_OPT_CLOSE_ON_FREE, NULL, NULL);
	assert_non_null(filter);
	bufferevent_enable(filter, EV_WRITE);
	bevio_write(filter, "via filter\r\n", 12);
	/* the filter passed it on to the socket bufferevent's queue */
	assert_int_equal(output_len(&p), 12);
	assert_int_equal(peer_read(&p, buf, sizeof(buf)), 0);
	for (i = 0; i < 100 && (n = peer_read(&p, buf, sizeof(buf))) == 0; i++)
		(void)event_base_loop(p.base, EVLOOP_NONBLOCK);
	assert_int_equal(n, 12);
	assert_memory_equal(buf, "via filter\r\n", 12);
	/* the filter owns and frees p.bev */
	p.bev = filter;
	pair_close(&p);
}

/* No socket yet (a bufferevent before connect): queued. */
static void
test_no_socket_queues(void **state)
{
	struct event_base *base = event_base_new();
	struct bufferevent *bev;

	assert_non_null(base);
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(bev);
	bevio_write(bev, "x", 1);
	assert_int_equal(evbuffer_get_length(bufferevent_get_output(bev)), 1);
	bufferevent_free(bev);
	event_base_free(base);
}

/* The bytes a drain removes are zeroed where they lay: the chain still
 * holds "next", so the memory of the first line is still the buffer's. */
static void
test_drain_wipe_zeroes_the_drained_bytes(void **state)
{
	static const char line[] = "a LOGIN user secret\r\n";
	struct evbuffer *buf = evbuffer_new();
	char rest[8];
	unsigned char *p;
	size_t i, n = sizeof(line) - 1;

	assert_non_null(buf);
	evbuffer_add(buf, line, n);
	evbuffer_add(buf, "next", 4);
	p = evbuffer_pullup(buf, -1);
	assert_non_null(p);
	bevio_drain_wipe(buf, n);
	for (i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(evbuffer_get_length(buf), 4);
	assert_int_equal(evbuffer_copyout(buf, rest, sizeof(rest)), 4);
	assert_memory_equal(rest, "next", 4);
	/* more than there is: everything goes */
	bevio_drain_wipe(buf, 100);
	assert_int_equal(evbuffer_get_length(buf), 0);
	bevio_drain_wipe(buf, 0);
	evbuffer_free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_goes_out_at_once),
	    cmocka_unit_test(test_queued_bytes_keep_their_order),
	    cmocka_unit_test(test_partial_send_queues_the_rest),
	    cmocka_unit_test(test_write_buffer_goes_out_at_once),
	    cmocka_unit_test(test_error_reaches_the_event_callback),
	    cmocka_unit_test(test_filter_is_never_bypassed),
	    cmocka_unit_test(test_no_socket_queues),
	    cmocka_unit_test(test_drain_wipe_zeroes_the_drained_bytes),
	};

	/* as in directord: a write to a closed peer is an error, not a
	 * signal (libevent's own writes do not pass MSG_NOSIGNAL) */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * bevio.c - write-through for libevent socket bufferevents, and the
 * wiping drain for input that may hold credentials (see bevio.h).
 */
#include "compat.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "bevio.h"

/* Extents wiped per evbuffer_peek() round. */
#define BEVIO_WIPE_EXTENTS 8

/* The socket bev writes to, or -1 when a direct send() would bypass
 * something: bytes already queued, TLS, a filter, no socket yet. */
static int
bevio_direct_fd(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0 ||
	    bufferevent_get_underlying(bev) != NULL ||
	    bufferevent_openssl_get_ssl(bev) != NULL)
		return -1;
	return bufferevent_getfd(bev);
}

int
bevio_fd_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return BEVIO_FD_MAP_MAX;
	return rl.rlim_cur < BEVIO_FD_MAP_MAX ? (int)rl.rlim_cur
					      : BEVIO_FD_MAP_MAX;
}

static void
bevio_noop(evutil_socket_t fd, short what, void *arg)
{
}

/* This thread is in bevio_presize_fdmap(). */
static _Thread_local bool bevio_presizing;

void
bevio_presize_fdmap(struct event_base *base, int max)
{
	struct event ev;
	int fd;

	/* an add makes the entry, whether or not the descriptor is open
	 * (epoll refuses closed ones: nothing is left registered, and
	 * libevent's warning about each refusal is not logged) */
	bevio_presizing = true;
	for (fd = 0; fd < max; fd++) {
		event_assign(&ev, base, fd, EV_READ, bevio_noop, NULL);
		if (event_add(&ev, NULL) == 0)
			event_del(&ev);
	}
	bevio_presizing = false;
}

bool
bevio_quiet(void)
{
	return bevio_presizing;
}

void
bevio_write(struct bufferevent *bev, const void *data, size_t len)
{
	int fd = bevio_direct_fd(bev);
	ssize_t n;

	if (fd >= 0 && len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			data = (const char *)data + n;
			len -= (size_t)n;
		}
	}
	if (len > 0)
		(void)bufferevent_write(bev, data, len);
}

void
bevio_write_buffer(struct bufferevent *bev, struct evbuffer *buf)
{
	int fd = bevio_direct_fd(bev);

	/* evbuffer_write() drains what it wrote; -1 (EAGAIN or a real
	 * error) leaves buf whole for the bufferevent to try and report */
	if (fd >= 0 && evbuffer_get_length(buf) > 0)
		(void)evbuffer_write(buf, fd);
	if (evbuffer_get_length(buf) > 0)
		(void)bufferevent_write_buffer(bev, buf);
}

void
bevio_drain_wipe(struct evbuffer *buf, size_t len)
{
	struct evbuffer_iovec vec[BEVIO_WIPE_EXTENTS];
	size_t done, n;
	int i, count;

	if (len > evbuffer_get_length(buf))
		len = evbuffer_get_length(buf);
	while (len > 0) {
		count = evbuffer_peek(
		    buf, (ev_ssize_t)len, NULL, vec, (int)nitems(vec));
		if (count > (int)nitems(vec))
			count = (int)nitems(vec);
		done = 0;
		for (i = 0; i < count && done < len; i++) {
			n = vec[i].iov_len < len - done ? vec[i].iov_len
							: len - done;
			explicit_bzero(vec[i].iov_base, n);
			done += n;
		}
		if (done == 0)
			done = len; /* cannot happen: peek sees len bytes */
		evbuffer_drain(buf, done);
		len -= done;
	}
}

static void
bevio_on_output_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
bevio_on_close_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

void
bevio_close_after_output(struct bufferevent *bev)
{
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(
	    bev, NULL, bevio_on_output_done, bevio_on_close_event, NULL);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

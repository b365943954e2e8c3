/*
 * lmtp_client.c - the LMTP proxy's client connections (see lmtp_int.h):
 * accepting one, reading it, its callbacks, its log and output, TLS,
 * closing it.  What it says is handled in lmtp_proxy.c.
 *
 * A plain socket client is read here in reads of LMTP_READ_CHUNK bytes
 * into its bufferevent's input, its bufferevent's own reading off:
 * libevent 2.1 reads 4 KiB at a time (EVBUFFER_MAX_READ), with an
 * ioctl(FIONREAD) before each read, which made a 20 MB body 5,000 reads
 * and 5,000 ioctls.  lmtp_client_reading() alone turns reading on and
 * off.  A TLS client is read by its bufferevent, up to a watermark.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "bevio.h"
#include "buf.h"
#include "lmtp_proxy.h"
#include "lmtp_int.h"
#include "lmtp_server.h"
#include "proxy.h"
#include "session.h"
#include "sockaddr.h"
#include "tls.h"
#include "xmalloc.h"

static void lmtp_on_resume(evutil_socket_t fd, short what, void *arg);

void
lmtp_log(const struct lmtp_conn *c, enum log_level level, const char *fmt, ...)
{
	char msg[3072];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "lmtp(%s): %s", c->info.session_id, msg);
}

void
lmtp_client_flush(struct lmtp_conn *c)
{
	struct buf *out = lmtp_server_output(c->srv);

	if (out->len > 0 && c->client != NULL) {
		bevio_write(c->client, out->data, out->len);
		buf_consume(out, out->len);
	}
}

void
lmtp_conn_free(struct lmtp_conn *c)
{
	struct proxy_env *d = c->d;

	lmtp_tx_end(c);
	lmtp_tx_end_links(c, false);
	free(c->rcpts);
	lmtp_server_free(&c->srv);
	if (c->resume_ev != NULL)
		event_free(c->resume_ev);
	if (c->deadline_ev != NULL)
		event_free(c->deadline_ev);
	if (c->read_ev != NULL)
		event_free(c->read_ev);
	if (c->client != NULL)
		bufferevent_free(c->client);
	if (c->ip_counted)
		proxy_ip_release(d, &c->client_ip);
	LIST_REMOVE(c, link);
	(void)proxy_connections_add(d, -1);
	free(c);
}

static void
lmtp_on_client_write(struct bufferevent *bev, void *arg)
{
	struct lmtp_conn *c = arg;

	(void)bev;
	if (c->closing)
		lmtp_conn_free(c);
}

/* How long a client may say nothing: a client waiting for its replies
 * is quiet while backends work, so never less than twice their time. */
static struct timeval
lmtp_client_idle(const struct lmtp_conn *c)
{
	uint64_t ms = c->d->conf->lmtp_backend_timeout_ms * 2;
	struct timeval tv;

	if (ms < LMTP_CLIENT_IDLE_MS)
		ms = LMTP_CLIENT_IDLE_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

void
lmtp_client_reading(struct lmtp_conn *c)
{
	struct timeval tv;
	bool on;

	if (c->read_ev == NULL) {
		/* TLS: the bufferevent reads up to its watermark */
		if (c->closing)
			bufferevent_disable(c->client, EV_READ);
		return;
	}
	on = !c->closing &&
	    evbuffer_get_length(bufferevent_get_input(c->client)) <
		LMTP_READ_CHUNK;
	if (on == c->reading)
		return;
	c->reading = on;
	if (!on) {
		event_del(c->read_ev);
		return;
	}
	tv = lmtp_client_idle(c);
	event_add(c->read_ev, &tv);
}

void
lmtp_close_after_flush(struct lmtp_conn *c)
{
	c->closing = true;
	lmtp_client_reading(c);
	if (evbuffer_get_length(bufferevent_get_output(c->client)) == 0)
		lmtp_conn_free(c);
}

static void
lmtp_on_resume(evutil_socket_t fd, short what, void *arg)
{
	lmtp_process(arg);
}

static void
lmtp_on_client_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	lmtp_process(arg);
}

static void
lmtp_on_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct lmtp_conn *c = arg;

	(void)bev;
	if (what == BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		lmtp_log(c, LOG_LEVEL_INFO, "client idle for too long");
	else if (c->rcpt_count > 0)
		lmtp_log(c, LOG_LEVEL_INFO,
		    "client disconnected in the middle of a transaction");
	lmtp_conn_free(c);
}

/* A plain socket client is readable: one read of up to LMTP_READ_CHUNK
 * bytes into its bufferevent's input, then on as the bufferevent's read
 * callback would go. */
static void
lmtp_on_client_readable(evutil_socket_t fd, short what, void *arg)
{
	struct lmtp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->client);
	struct evbuffer_iovec vec[2];
	struct iovec iov[2];
	int nvec, k;
	ssize_t n;
	size_t left;

	if (what & EV_TIMEOUT) {
		lmtp_on_client_event(
		    c->client, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, c);
		return;
	}
	/* a bufferevent keeps the end of its input frozen: only it adds */
	(void)evbuffer_unfreeze(in, 0);
	nvec = evbuffer_reserve_space(in, LMTP_READ_CHUNK, vec, 2);
	if (nvec <= 0) {
		(void)evbuffer_freeze(in, 0);
		lmtp_on_client_event(
		    c->client, BEV_EVENT_READING | BEV_EVENT_ERROR, c);
		return;
	}
	for (k = 0; k < nvec; k++) {
		iov[k].iov_base = vec[k].iov_base;
		iov[k].iov_len = vec[k].iov_len;
	}
	n = readv(fd, iov, nvec);
	if (n <= 0) {
		(void)evbuffer_commit_space(in, vec, 0);
		(void)evbuffer_freeze(in, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		lmtp_on_client_event(c->client,
		    BEV_EVENT_READING |
			(n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
		    c);
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
	lmtp_process(c);
}

/* Sets the client's callbacks and reading: a plain socket gets read_ev.
 * Returns 0 or -1. */
static int
lmtp_client_setcb(struct lmtp_conn *c)
{
	struct timeval tv;

	bufferevent_setcb(c->client, lmtp_on_client_read, lmtp_on_client_write,
	    lmtp_on_client_event, c);
	if (bufferevent_get_underlying(c->client) == NULL &&
	    bufferevent_openssl_get_ssl(c->client) == NULL &&
	    bufferevent_getfd(c->client) >= 0) {
		c->read_ev = event_new(c->d->base, bufferevent_getfd(c->client),
		    EV_READ | EV_PERSIST, lmtp_on_client_readable, c);
		if (c->read_ev == NULL)
			return -1;
		bufferevent_disable(c->client, EV_READ);
		bufferevent_enable(c->client, EV_WRITE);
		lmtp_client_reading(c);
		return 0;
	}
	tv = lmtp_client_idle(c);
	bufferevent_set_timeouts(c->client, &tv, NULL);
	/* at most one read's worth queued beyond what is being parsed */
	bufferevent_setwatermark(c->client, EV_READ, 0, LMTP_READ_CHUNK);
	bufferevent_enable(c->client, EV_READ | EV_WRITE);
	return 0;
}

int
lmtp_client_start_tls(struct lmtp_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->client);

	/* plaintext pipelined after STARTTLS is never executed */
	evbuffer_drain(in, evbuffer_get_length(in));
	if (c->read_ev != NULL) {
		/* the TLS filter reads the socket through the bufferevent */
		event_free(c->read_ev);
		c->read_ev = NULL;
		c->reading = false;
		bufferevent_enable(c->client, EV_READ);
	}
	c->client = tls_wrap(c->client, c->d->tls_server, true, NULL);
	if (c->client == NULL) {
		lmtp_log(c, LOG_LEVEL_WARNING, "STARTTLS setup failed");
		lmtp_conn_free(c);
		return -1;
	}
	c->tls_active = true;
	(void)lmtp_client_setcb(c);
	return 0;
}

static void
lmtp_refuse(struct proxy_env *d, int fd, const char *line, const char *why,
    const char *ip)
{
	ssize_t ret ATTR_UNUSED;

	log_warn("lmtp: refused %s: %s", ip, why);
	ret = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void
lmtp_accept(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	static const char too_many[] = "421 4.3.2 Too many connections\r\n";
	struct proxy_env *d = context;
	const struct conf *conf = d->conf;
	struct lmtp_server_settings set = {0};
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	struct lmtp_conn *c;
	char ip[46];
	uint16_t port;

	(void)peer_len;
	sockaddr_text(peer, ip, sizeof(ip), &port);
	if (d->shutting_down ||
	    atomic_load(d->all_connections) + 1 > conf->max_connections) {
		lmtp_refuse(d, fd, too_many, "max_connections reached", ip);
		return;
	}
	if (info->haproxy) {
		lmtp_refuse(d, fd,
		    "421 4.3.0 PROXY headers are not supported "
		    "on LMTP\r\n",
		    "haproxy = yes is not supported on LMTP listeners", ip);
		return;
	}
	session_nodelay(fd);
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->spool_fd = -1;
	c->resume_ev = event_new(d->base, -1, 0, lmtp_on_resume, c);
	c->deadline_ev = lmtp_deadline_new(c);
	strlcpy(c->info.client_ip, ip, sizeof(c->info.client_ip));
	c->info.client_port = port;
	if (getsockname(fd, (struct sockaddr *)&local, &local_len) == 0)
		sockaddr_text((struct sockaddr *)&local, c->info.local_ip,
		    sizeof(c->info.local_ip), &c->info.local_port);
	proxy_session_id(d, c->info.session_id, sizeof(c->info.session_id));
	c->info.ttl = PROXY_TTL - 1;
	LIST_INSERT_HEAD(&d->lmtp_conns, c, link);
	(void)proxy_connections_add(d, 1);
	if (ipaddr_parse(ip, &c->client_ip) == 0) {
		if (!proxy_ip_acquire(
			d, &c->client_ip, conf->max_connections_per_ip)) {
			lmtp_refuse(d, fd, too_many,
			    "max_connections_per_ip reached", ip);
			fd = -1;
		} else
			c->ip_counted = true;
	}
	if (fd == -1) {
		lmtp_conn_free(c);
		return;
	}
	if (info->tls == CONF_TLS_IMPLICIT) {
		c->client =
		    tls_socket_new(d->base, fd, d->tls_server, true, NULL);
		c->tls_active = true;
	} else
		c->client =
		    bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->client == NULL || c->resume_ev == NULL ||
	    c->deadline_ev == NULL) {
		lmtp_log(c, LOG_LEVEL_ERROR, "cannot set up the connection");
		lmtp_conn_free(c);
		return;
	}
	set.hostname = d->hostname;
	set.client = &c->info;
	set.starttls = info->tls == CONF_TLS_STARTTLS && d->tls_server != NULL;
	set.max_rcpts = conf->lmtp_max_recipients;
	set.size_max = conf->lmtp_max_message_size;
	c->srv = lmtp_server_new(&set);
	lmtp_server_greeting(c->srv);
	lmtp_client_flush(c);
	if (lmtp_client_setcb(c) == -1) {
		lmtp_log(c, LOG_LEVEL_ERROR, "cannot set up the connection");
		lmtp_conn_free(c);
		return;
	}
	lmtp_log(c, LOG_LEVEL_DEBUG, "connect from %s:%u", ip, port);
}

const struct listener_handler lmtp_proxy_handler = {
    .accept = lmtp_accept,
};

unsigned int
lmtp_conn_count(const struct proxy_env *d)
{
	const struct lmtp_conn *c;
	unsigned int n = 0;

	LIST_FOREACH (c, &d->lmtp_conns, link)
		n++;
	return n;
}

void
lmtp_proxy_close_all(struct proxy_env *d)
{
	static const char bye[] = "421 4.3.2 Server shutting down\r\n";

	struct lmtp_conn *c;

	while ((c = LIST_FIRST(&d->lmtp_conns)) != NULL) {
		if (c->client != NULL && !c->tls_active)
			(void)send(bufferevent_getfd(c->client), bye,
			    sizeof(bye) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		lmtp_conn_free(c);
	}
}

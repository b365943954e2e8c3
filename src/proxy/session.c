/*
 * session.c - one IMAP or POP3 client connection, from accept to close.
 *
 * States: PROXY_HEADER (reading a PROXY v1/v2 header straight from the
 * socket, never past its end, so implicit TLS can start right after it)
 * -> PRELOGIN (the protocol's client module talks to the client) ->
 * BACKEND (connecting and logging in to the user's backend; the client
 * module waits) -> PROXYING (a splice copies bytes; the session is in
 * the registry) or back to PRELOGIN after a failed login; CLOSING
 * flushes a last reply and closes.
 *
 * Invariants: a session is on its director's list from accept until it
 * is freed, and counted in d->connections (and, once its client address
 * is final, in the per-IP counts) for exactly that long; passwords live
 * only inside the protocol modules, which wipe them; nothing the client
 * or backend sent reaches the log unsanitised.  Every callback that may
 * free the session returns right after doing so.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevio.h"
#include "buf.h"
#include "connlimit.h"
#include "hosts.h"
#include "log.h"
#include "proxyproto.h"
#include "proxy.h"
#include "router.h"
#include "session.h"
#include "session_int.h"
#include "sockaddr.h"
#include "session_proto.h"
#include "splice.h"
#include "tls.h"
#include "xmalloc.h"

/* Where a login stands, for logs. */
static const char *
session_state_name(const struct session *s)
{
	switch (s->state) {
	case SESSION_MOVE_WAIT:
		return "move-wait";
	case SESSION_BACKEND:
		return "backend-login";
	case SESSION_PENALTY:
		return "login-penalty";
	default:
		return "pre-login";
	}
}

/* -- small helpers ----------------------------------------------------- */

uint64_t
session_ms_since(const struct timeval *tv)
{
	struct timeval now, diff;

	gettimeofday(&now, NULL);
	timersub(&now, tv, &diff);
	if (diff.tv_sec < 0)
		return 0;
	return (uint64_t)diff.tv_sec * 1000 + (uint64_t)diff.tv_usec / 1000;
}

void
session_timeval_ms(struct timeval *tv, uint64_t ms)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

void
session_log(const struct session *s, enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "%s(%s): %s", s->proto->name, s->info.session_id, msg);
}

void
session_nodelay(int fd)
{
	int one = 1;

	if (fd != -1)
		(void)setsockopt(
		    fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* -- output ------------------------------------------------------------ */

/* Moves what the client module wrote into the client's socket buffer. */
void
session_client_flush(struct session *s)
{
	struct buf *out;

	if (s->pc == NULL)
		return;
	out = s->proto->client_output(s->pc);
	if (out->len == 0)
		return;
	bevio_write(s->client, out->data, out->len);
	buf_consume(out, out->len);
}

void
session_backend_flush(struct session *s)
{
	struct buf *out = s->proto->backend_output(s->pb);

	if (out->len == 0)
		return;
	bevio_write(s->backend, out->data, out->len);
	buf_consume(out, out->len);
}

void
session_drop_backend(struct session *s)
{
	/* the login is cancelled, or the session has ended */
	router_end(s->d->router, &s->rc);
	if (s->pb != NULL)
		s->proto->backend_free(&s->pb);
	if (s->backend != NULL) {
		bufferevent_free(s->backend);
		s->backend = NULL;
	}
}

static void
session_on_close_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_free(s);
}

/*
 * Closes after the client got what is queued for it (at most
 * SESSION_CLOSE_FLUSH_SECS).  line (may be NULL) is written first.
 */
static void
session_close_after_flush(struct session *s, const char *line)
{
	struct timeval tv = {.tv_sec = SESSION_CLOSE_FLUSH_SECS};

	session_drop_backend(s);
	if (s->client == NULL) {
		session_free(s);
		return;
	}
	session_client_flush(s);
	if (line != NULL)
		bevio_write(s->client, line, strlen(line));
	s->state = SESSION_CLOSING;
	bufferevent_disable(s->client, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->client)) == 0) {
		session_free(s);
		return;
	}
	event_del(s->timer);
	event_assign(s->timer, s->d->base, -1, 0, session_on_close_timer, s);
	event_add(s->timer, &tv);
}

/* -- client side before login ------------------------------------------ */

static void session_client_setcb(struct session *s);

void
session_client_process(struct session *s)
{
	struct evbuffer *in, *out;
	enum proto_action act;
	size_t len, consumed;

	while (s->state == SESSION_PRELOGIN) {
		out = bufferevent_get_output(s->client);
		if (evbuffer_get_length(out) > SESSION_PRELOGIN_OUTPUT_MAX) {
			/* resumed by the write callback */
			s->output_paused = true;
			return;
		}
		in = bufferevent_get_input(s->client);
		len = evbuffer_get_length(in);
		consumed = s->proto->client_input(s->pc,
		    len == 0 ? "" : (const void *)evbuffer_pullup(in, -1), len,
		    &act);
		/* LOGIN/AUTH lines carry passwords: zero what is consumed */
		bevio_drain_wipe(in, consumed);
		session_client_flush(s);
		switch (act) {
		case PROTO_ACT_MORE:
			if (consumed == 0)
				return;
			break;
		case PROTO_ACT_STARTTLS:
			s->client =
			    tls_wrap(s->client, s->d->tls_server, true, NULL);
			if (s->client == NULL) {
				session_log(s, LOG_LEVEL_WARNING,
				    "STARTTLS setup failed");
				session_free(s);
				return;
			}
			s->tls_active = true;
			session_client_setcb(s);
			s->proto->client_tls_started(s->pc);
			break;
		case PROTO_ACT_LOGIN:
			session_login(s);
			return;
		case PROTO_ACT_CLOSE:
		case PROTO_ACT_LOGGED_IN:
		case PROTO_ACT_LOGIN_FAILED:
			session_close_after_flush(s, NULL);
			return;
		}
	}
}

static void
session_on_client_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_client_process(arg);
}

static void
session_on_client_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->state == SESSION_CLOSING) {
		session_free(s);
		return;
	}
	if (s->output_paused && s->state == SESSION_PRELOGIN) {
		s->output_paused = false;
		session_on_client_read(s->client, s);
	}
}

static void
session_on_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	/* a TLS bufferevent reports its finished handshake this way */
	if (what == BEV_EVENT_CONNECTED)
		return;
	if (s->state != SESSION_CLOSING) {
		session_log(s, LOG_LEVEL_INFO,
		    "disconnected before login: client=%s:%u, user=<%s>, "
		    "state=%s, duration=%llums",
		    s->info.client_ip, s->info.client_port, s->user,
		    session_state_name(s),
		    (unsigned long long)session_ms_since(&s->started));
	}
	session_free(s);
}

static void
session_client_setcb(struct session *s)
{
	bufferevent_setcb(s->client, session_on_client_read,
	    session_on_client_write, session_on_client_event, s);
	bufferevent_setwatermark(
	    s->client, EV_READ, 0, SESSION_PRELOGIN_INPUT_MAX);
	bufferevent_enable(s->client, EV_READ | EV_WRITE);
}

static void
session_on_login_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	session_log(s, LOG_LEVEL_INFO,
	    "login timeout: client=%s:%u, user=<%s>, state=%s",
	    s->info.client_ip, s->info.client_port, s->user,
	    session_state_name(s));
	if (s->client == NULL) {
		session_free(s);
		return;
	}
	/* a login still waiting (for the ring, a move, the backend) gets a
	 * temporary failure, never an answer a client takes for a wrong
	 * password, before the connection closes */
	if (s->state == SESSION_MOVE_WAIT || s->state == SESSION_BACKEND)
		session_login_tempfail_reply(s, "login timeout");
	session_close_after_flush(s, s->proto->line_timeout);
}

/* Refuses a connection with the protocol's line; frees s. */
static void
session_refuse(struct session *s, int fd, const char *line, const char *why)
{
	ssize_t ret ATTR_UNUSED;

	session_log(s, LOG_LEVEL_WARNING, "refused %s:%u: %s",
	    s->info.client_ip, s->info.client_port, why);
	if (fd != -1)
		ret = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	session_free(s);
}

static void
session_start_client(struct session *s)
{
	const struct conf *conf = s->d->conf;
	struct session_client_settings cs;
	struct timeval tv;
	uint64_t elapsed;
	int fd = s->fd;

	if (ipaddr_parse(s->info.client_ip, &s->client_ip) == 0) {
		if (!proxy_ip_acquire(
			s->d, &s->client_ip, conf->max_connections_per_ip)) {
			session_refuse(s, fd, s->proto->line_too_many,
			    "max_connections_per_ip reached");
			return;
		}
		s->ip_counted = true;
	}
	if (s->tls_mode == CONF_TLS_IMPLICIT) {
		s->fd = -1;
		s->client = tls_socket_new(
		    s->d->base, fd, s->d->tls_server, true, NULL);
		s->tls_active = true;
	} else {
		s->client = bufferevent_socket_new(
		    s->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (s->client != NULL)
			s->fd = -1;
	}
	if (s->client == NULL) {
		session_log(s, LOG_LEVEL_ERROR, "cannot set up the connection");
		session_free(s);
		return;
	}
	cs.secured = s->tls_active;
	cs.starttls =
	    s->tls_mode == CONF_TLS_STARTTLS && s->d->tls_server != NULL;
	cs.allow_plaintext_auth = !conf->disable_plaintext_auth ||
	    strcmp(s->info.client_ip, s->info.local_ip) == 0;
	cs.mechs = conf->auth_mechs;
	s->pc = s->proto->client_new(&cs);
	s->proto->client_greeting(s->pc);
	session_client_flush(s);
	s->state = SESSION_PRELOGIN;
	session_client_setcb(s);
	/* one deadline from accept: a PROXY header does not restart it */
	elapsed = session_ms_since(&s->started);
	session_timeval_ms(&tv,
	    elapsed < conf->login_timeout_ms ? conf->login_timeout_ms - elapsed
					     : 0);
	event_assign(s->timer, s->d->base, -1, 0, session_on_login_timeout, s);
	event_add(s->timer, &tv);
}

/* -- PROXY header ------------------------------------------------------ */

static void
session_apply_proxy_header(
    struct session *s, const struct proxyproto_result *res)
{
	if (res->command != PROXYPROTO_CMD_PROXY)
		return;
	strlcpy(s->info.client_ip, res->src_ip, sizeof(s->info.client_ip));
	s->info.client_port = res->src_port;
	strlcpy(s->info.local_ip, res->dst_ip, sizeof(s->info.local_ip));
	s->info.local_port = res->dst_port;
}

static void
session_on_header(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct proxyproto_result res;
	uint8_t peek[PROXYPROTO_MAX];
	size_t room = PROXYPROTO_MAX - s->header_len, consumed = 0;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		session_log(s, LOG_LEVEL_INFO,
		    "no PROXY header from %s:%u in time", s->info.client_ip,
		    s->info.client_port);
		session_free(s);
		return;
	}
	/* peek, so that nothing after the header is taken off the socket */
	n = recv(fd, peek, room, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		session_log(s, LOG_LEVEL_INFO,
		    "connection from %s:%u closed before its PROXY header",
		    s->info.client_ip, s->info.client_port);
		session_free(s);
		return;
	}
	memcpy(s->header + s->header_len, peek, (size_t)n);
	switch (proxyproto_parse(
	    s->header, s->header_len + (size_t)n, &consumed, &res)) {
	case PROXYPROTO_MORE:
		if ((size_t)n == room)
			goto bad;
		/* all of it is header: take it off the socket */
		if (recv(fd, peek, (size_t)n, 0) != n)
			goto bad;
		s->header_len += (size_t)n;
		return;
	case PROXYPROTO_DONE:
		if (consumed < s->header_len ||
		    recv(fd, peek, consumed - s->header_len, 0) !=
			(ssize_t)(consumed - s->header_len))
			goto bad;
		break;
	case PROXYPROTO_BAD:
		goto bad;
	}
	event_free(s->header_ev);
	s->header_ev = NULL;
	free(s->header);
	s->header = NULL;
	session_apply_proxy_header(s, &res);
	session_start_client(s);
	return;
bad:
	session_log(s, LOG_LEVEL_WARNING, "invalid PROXY header from %s:%u",
	    s->info.client_ip, s->info.client_port);
	session_free(s);
}

/* -- accept and free ----------------------------------------------------- */

void
session_accept(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, const struct session_proto *proto,
    struct proxy_env *d)
{
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	struct session *s;
	struct timeval tv;
	unsigned int all;

	(void)peer_len;
	session_nodelay(fd);
	s = xcalloc(1, sizeof(*s));
	s->d = d;
	s->rc.ops = &session_router_ops;
	s->proto = proto;
	s->fd = fd;
	s->tls_mode = info->tls;
	s->state = SESSION_PROXY_HEADER;
	gettimeofday(&s->started, NULL);
	s->timer = event_new(d->base, -1, 0, session_on_login_timeout, s);
	proxy_session_id(d, s->info.session_id, sizeof(s->info.session_id));
	sockaddr_text(peer, s->info.client_ip, sizeof(s->info.client_ip),
	    &s->info.client_port);
	if (getsockname(fd, (struct sockaddr *)&local, &local_len) == 0)
		sockaddr_text((struct sockaddr *)&local, s->info.local_ip,
		    sizeof(s->info.local_ip), &s->info.local_port);
	LIST_INSERT_HEAD(&d->sessions, s, link);
	all = proxy_connections_add(d, 1);

	if (s->timer == NULL) {
		session_refuse(s, fd, proto->line_too_many, "out of memory");
		return;
	}
	if (d->shutting_down) {
		session_refuse(s, fd, proto->line_shutdown, "shutting down");
		return;
	}
	if (all > d->conf->max_connections) {
		session_refuse(
		    s, fd, proto->line_too_many, "max_connections reached");
		return;
	}
	if (info->haproxy) {
		struct ipaddr peer_ip;

		if (ipaddr_parse(s->info.client_ip, &peer_ip) == -1 ||
		    !conf_networks_match(d->conf->trusted_networks,
			d->conf->trusted_network_count, peer_ip.family,
			peer_ip.a)) {
			session_log(s, LOG_LEVEL_WARNING,
			    "refused %s:%u: not in haproxy_trusted_networks",
			    s->info.client_ip, s->info.client_port);
			session_free(s);
			return;
		}
		s->header = xmalloc(PROXYPROTO_MAX);
		s->header_ev = event_new(
		    d->base, fd, EV_READ | EV_PERSIST, session_on_header, s);
		session_timeval_ms(&tv, d->conf->login_timeout_ms);
		if (s->header_ev == NULL ||
		    event_add(s->header_ev, &tv) == -1) {
			session_free(s);
			return;
		}
		return;
	}
	session_start_client(s);
}

void
session_free(struct session *s)
{
	struct proxy_env *d = s->d;

	if (s->splice != NULL) {
		/* ends via session_on_splice_end, which frees s */
		splice_stop(s->splice, SPLICE_END_SHUTDOWN);
		return;
	}
	session_drop_backend(s);
	if (s->pc != NULL)
		s->proto->client_free(&s->pc);
	if (s->client != NULL)
		bufferevent_free(s->client);
	if (s->fd != -1)
		close(s->fd);
	if (s->header_ev != NULL)
		event_free(s->header_ev);
	if (s->penalty_ev != NULL)
		event_free(s->penalty_ev);
	free(s->penalty_text);
	free(s->header);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->ip_counted)
		proxy_ip_release(d, &s->client_ip);
	LIST_REMOVE(s, link);
	(void)proxy_connections_add(d, -1);
	free(s);
}

/*
 * Best effort for plaintext clients when the loop is about to end:
 * freeing the bufferevent drops its output, and its output buffer is
 * frozen for anyone but the bufferevent, so send a copy directly.
 */
static void
session_write_now(struct session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->client);
	size_t len = evbuffer_get_length(out);
	ssize_t ret ATTR_UNUSED;

	if (len == 0)
		return;
	ret = send(bufferevent_getfd(s->client), evbuffer_pullup(out, -1), len,
	    MSG_NOSIGNAL | MSG_DONTWAIT);
}

void
session_close_all(struct proxy_env *d)
{
	struct session *s;

	while ((s = LIST_FIRST(&d->sessions)) != NULL) {
		if (s->splice != NULL) {
			splice_stop(s->splice, SPLICE_END_SHUTDOWN);
			continue;
		}
		if (s->client != NULL && s->state != SESSION_CLOSING) {
			session_client_flush(s);
			bufferevent_write(s->client, s->proto->line_shutdown,
			    strlen(s->proto->line_shutdown));
			if (!s->tls_active)
				session_write_now(s);
		}
		session_free(s);
	}
}

unsigned int
session_count(const struct proxy_env *d)
{
	return d->connections;
}

static enum session_phase
session_phase(const struct session *s)
{
	switch (s->state) {
	case SESSION_PROXY_HEADER:
	case SESSION_PRELOGIN:
	case SESSION_PENALTY:
		return SESSION_PHASE_PRELOGIN;
	case SESSION_MOVE_WAIT:
		return SESSION_PHASE_WAITING;
	case SESSION_BACKEND:
		return SESSION_PHASE_LOGIN;
	case SESSION_PROXYING:
		return SESSION_PHASE_PROXYING;
	case SESSION_CLOSING:
		break;
	}
	return SESSION_PHASE_CLOSING;
}

void
session_foreach(const struct proxy_env *d,
    void (*fn)(void *ctx, const char *proto, enum session_phase phase,
	const struct ipaddr *backend),
    void *ctx)
{
	const struct session *s;

	LIST_FOREACH (s, &d->sessions, link)
		fn(ctx, s->proto->name, session_phase(s),
		    s->state == SESSION_PROXYING ? &s->backend_ip : NULL);
}

const char *
session_phase_name(enum session_phase phase)
{
	static const char *const names[] = {
	    "prelogin", "waiting", "login", "proxying", "closing"};

	return names[phase];
}

static void
session_accept_imap(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	session_accept(fd, peer, peer_len, info, &session_proto_imap, context);
}

static void
session_accept_pop3(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	session_accept(fd, peer, peer_len, info, &session_proto_pop3, context);
}

static void
session_accept_sieve(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	session_accept(fd, peer, peer_len, info, &session_proto_sieve, context);
}

const struct listener_handler session_handler_imap = {
    .accept = session_accept_imap,
};
const struct listener_handler session_handler_pop3 = {
    .accept = session_accept_pop3,
};
const struct listener_handler session_handler_sieve = {
    .accept = session_accept_sieve,
};

/*
 * session_backend.c - the second half of a session's life: routing the
 * user through the router, logging in to the backend through the
 * protocol's backend module, and handing both connections to a splice
 * (see session.h; the first half, from accept to the client's login
 * command, is in session.c).
 *
 * Invariant: a session is registered with the engine (routed) from the
 * moment its backend is chosen until it ends, so a kick reaches a login
 * that is still on its way to the backend as well as a proxying one.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <stdio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "penalty.h"
#include "proxy.h"
#include "router.h"
#include "session_int.h"
#include "sockaddr.h"
#include "splice.h"
#include "tls.h"
#include "xmalloc.h"

/* -- proxying ------------------------------------------------------------ */

static const char *
session_closed_by(enum splice_end why)
{
	switch (why) {
	case SPLICE_END_CLIENT_CLOSED:
		return "client";
	case SPLICE_END_BACKEND_CLOSED:
		return "backend";
	case SPLICE_END_IDLE_TIMEOUT:
		return "idle-timeout";
	case SPLICE_END_KICKED:
		return "kick";
	case SPLICE_END_SHUTDOWN:
		return "shutdown";
	}
	return "?";
}

static void
session_on_splice_end(
    enum splice_end why, const struct splice_stats *stats, void *arg)
{
	struct session *s = arg;

	/* the splice freed both bufferevents */
	s->splice = NULL;
	s->client = NULL;
	s->backend = NULL;
	session_log(s, LOG_LEVEL_INFO,
	    "disconnect: user=<%s>, backend=%s, in=%llu, out=%llu, "
	    "duration=%llums, closed_by=%s",
	    s->user, s->backend_str,
	    (unsigned long long)stats->client_to_backend,
	    (unsigned long long)stats->backend_to_client,
	    (unsigned long long)session_ms_since(&s->proxied_at),
	    session_closed_by(why));
	session_free(s);
}

static void
session_logged_in(struct session *s)
{
	const char *caps = s->proto->backend_caps != NULL
	    ? s->proto->backend_caps(s->pb)
	    : NULL;

	/* logged before the client hears of it: the reply leaves at once */
	session_log(s, LOG_LEVEL_INFO,
	    "login: user=<%s>, client=%s:%u, backend=%s, result=ok, "
	    "time=%llums",
	    s->user, s->info.client_ip, s->info.client_port, s->backend_str,
	    (unsigned long long)session_ms_since(&s->login_started));
	session_count_login(s, STATS_OK);
	s->proto->client_login_result(
	    s->pc, PROTO_LOGIN_OK, s->proto->backend_reply_text(s->pb), caps);
	session_client_flush(s);
	s->proto->backend_free(&s->pb);
	s->proto->client_free(&s->pc);
	event_del(s->timer);
	gettimeofday(&s->proxied_at, NULL);
	s->state = SESSION_PROXYING;
	router_alive(s->d->router, &s->rc);
	/* the splice owns both bufferevents from here on */
	s->splice = splice_start(s->client, s->backend,
	    s->d->conf->backend.idle_timeout_ms, session_on_splice_end, s);
}

/* -- backend login ------------------------------------------------------- */

void
session_count_login(struct session *s, enum stats_result result)
{
	stats_login(&s->d->stats, stats_proto_from_name(s->proto->name),
	    s->backend_str[0] != '\0' ? &s->backend_ip : NULL, result);
}

void
session_login_tempfail_reply(struct session *s, const char *why)
{
	session_log(s, LOG_LEVEL_WARNING,
	    "login: user=<%s>, client=%s:%u, backend=%s, result=tempfail, "
	    "reason=%s, time=%llums",
	    s->user, s->info.client_ip, s->info.client_port,
	    s->backend_str[0] != '\0' ? s->backend_str : "-", why,
	    (unsigned long long)session_ms_since(&s->login_started));
	session_count_login(s,
	    s->backend_str[0] == '\0'    ? STATS_NO_BACKEND
		: s->backend_unreachable ? STATS_BACKEND_UNREACHABLE
					 : STATS_BACKEND_ERROR);
	s->backend_unreachable = false;
	session_drop_backend(s);
	s->state = SESSION_PRELOGIN;
	s->proto->client_login_result(s->pc, PROTO_LOGIN_TEMPFAIL, NULL, NULL);
}

void
session_login_tempfail(struct session *s, const char *why)
{
	session_login_tempfail_reply(s, why);
	session_client_process(s);
}

/* A rejected login's penalty has passed: the client gets its reply. */
static void
session_on_penalty_done(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->state != SESSION_PENALTY)
		return;
	s->proto->client_login_result(
	    s->pc, PROTO_LOGIN_REJECTED, s->penalty_text, NULL);
	free(s->penalty_text);
	s->penalty_text = NULL;
	s->state = SESSION_PRELOGIN;
	session_client_process(s);
}

static void
session_login_rejected(struct session *s)
{
	uint64_t delay = 0;
	struct timeval tv;

	/* the client's address is known once it is counted */
	if (s->ip_counted)
		delay =
		    proxy_penalty_fail(s->d, &s->client_ip, router_now_ms());
	/* an OAuth error challenge goes to the client with the reply */
	s->proto->client_relay_challenge(s->pc, s->pb);
	session_count_login(s, STATS_AUTH_FAILED);
	session_log(s, LOG_LEVEL_INFO,
	    "login: user=<%s>, client=%s:%u, backend=%s, result=rejected, "
	    "time=%llums, penalty=%llums",
	    s->user, s->info.client_ip, s->info.client_port, s->backend_str,
	    (unsigned long long)session_ms_since(&s->login_started),
	    (unsigned long long)delay);
	if (delay > 0) {
		s->penalty_ev = s->penalty_ev != NULL
		    ? s->penalty_ev
		    : evtimer_new(s->d->base, session_on_penalty_done, s);
	}
	if (delay == 0 || s->penalty_ev == NULL) {
		s->proto->client_login_result(s->pc, PROTO_LOGIN_REJECTED,
		    s->proto->backend_reply_text(s->pb), NULL);
		session_drop_backend(s);
		s->state = SESSION_PRELOGIN;
		session_client_process(s);
		return;
	}
	/* the reply waits; so does the client's next command */
	free(s->penalty_text);
	s->penalty_text = xstrdup(s->proto->backend_reply_text(s->pb));
	session_drop_backend(s);
	s->state = SESSION_PENALTY;
	session_timeval_ms(&tv, delay);
	evtimer_add(s->penalty_ev, &tv);
}

static void session_backend_setcb(struct session *s);
static void session_login_route(struct session *s);

/* Starts TLS toward the backend (checking its address or ssl_name).
 * Returns 0, or -1 after a temporary failure to the client. */
static int
session_backend_tls(struct session *s)
{
	s->backend = tls_wrap_backend(s->backend, s->d->tls_client,
	    s->d->conf->backend.ssl_name, &s->backend_ip);
	if (s->backend == NULL) {
		session_login_tempfail(s, "backend TLS setup");
		return -1;
	}
	session_backend_setcb(s);
	return 0;
}

static void
session_backend_process(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->backend);
	enum proto_action act;
	size_t len, consumed;
	const char *err;

	for (;;) {
		len = evbuffer_get_length(in);
		consumed = s->proto->backend_input(s->pb,
		    len == 0 ? "" : (const void *)evbuffer_pullup(in, -1), len,
		    &act);
		evbuffer_drain(in, consumed);
		session_backend_flush(s);
		switch (act) {
		case PROTO_ACT_MORE:
			if (consumed == 0)
				return;
			continue;
		case PROTO_ACT_STARTTLS:
			if (session_backend_tls(s) == -1)
				return;
			s->proto->backend_tls_started(s->pb);
			session_backend_flush(s);
			return;
		case PROTO_ACT_LOGGED_IN:
			session_logged_in(s);
			return;
		case PROTO_ACT_LOGIN_FAILED:
			session_login_rejected(s);
			return;
		case PROTO_ACT_CLOSE:
		case PROTO_ACT_LOGIN:
			err = s->proto->backend_error(s->pb);
			session_login_tempfail(
			    s, err != NULL ? err : "backend protocol error");
			return;
		}
	}
}

static void
session_on_backend_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_backend_process(arg);
}

static void
session_on_backend_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	char why[128];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (s->d->conf->backend.tls == CONF_TLS_IMPLICIT &&
		    session_backend_tls(s) == -1)
			return;
		session_backend_flush(s);
		return;
	}
	/* before its greeting: the backend may be dead (the reply to the
	 * client is a temporary failure at once, and the checker looks) */
	s->backend_unreachable = (what & BEV_EVENT_EOF) == 0;
	if (s->d->backend_failed != NULL && s->backend_unreachable)
		s->d->backend_failed(s->d->backend_failed_ctx, &s->backend_ip);
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "backend timed out");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "backend closed the connection");
	else
		snprintf(why, sizeof(why), "backend connection failed: %s",
		    EVUTIL_SOCKET_ERROR() != 0
			? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
			: tls_error_string(s->backend));
	session_login_tempfail(s, why);
}

static void
session_backend_setcb(struct session *s)
{
	struct timeval tv;

	session_timeval_ms(&tv, s->d->conf->backend.connect_timeout_ms);
	bufferevent_setcb(s->backend, session_on_backend_read, NULL,
	    session_on_backend_event, s);
	bufferevent_set_timeouts(s->backend, &tv, &tv);
	bufferevent_enable(s->backend, EV_READ | EV_WRITE);
}

void
session_login(struct session *s)
{
	const struct proto_creds *creds = s->proto->client_creds(s->pc);
	const char *user, *err = NULL;
	unsigned int ttl;

	gettimeofday(&s->login_started, NULL);
	user = proto_creds_user(creds);
	log_sanitize(s->user, sizeof(s->user), user, strlen(user));
	s->backend_str[0] = '\0';
	if (router_user_hash(s->d->router, user, &s->user_hash, &err) == -1) {
		session_log(s, LOG_LEVEL_INFO,
		    "login: user=<%s>, result=rejected, reason=%s", s->user,
		    err);
		s->proto->client_login_result(
		    s->pc, PROTO_LOGIN_REJECTED, NULL, NULL);
		session_client_process(s);
		return;
	}
	s->info.ttl = PROXY_TTL - 1;
	if (s->proto->client_proxy_ttl(s->pc, &ttl) && ttl <= s->info.ttl)
		s->info.ttl = ttl == 0 ? 0 : ttl - 1;
	if (s->info.ttl == 0) {
		session_login_tempfail(s, "proxy TTL exhausted (loop?)");
		return;
	}
	session_login_route(s);
}

/* -- routing ----------------------------------------------------------- */

static void session_login_connect(struct session *s);

/* The router's kick: ends a proxying session, or a login on its way to
 * the backend with a temporary failure. */
static void
session_kick(void *owner)
{
	struct session *s = owner;

	if (s->splice != NULL)
		splice_stop(s->splice, SPLICE_END_KICKED);
	else if (s->state == SESSION_BACKEND)
		session_login_tempfail(s, "kicked during backend login");
}

static void
session_on_routed(struct router_client *rc)
{
	struct session *s =
	    (struct session *)((char *)rc - offsetof(struct session, rc));

	if (rc->waited) {
		session_log(s, LOG_LEVEL_DEBUG,
		    "login: user=<%s> waited for its move to end", s->user);
		s->d->stats.delayed++;
	}
	session_login_connect(s);
}

static void
session_on_route_failed(struct router_client *rc, const char *why)
{
	struct session *s =
	    (struct session *)((char *)rc - offsetof(struct session, rc));

	session_login_tempfail(s, why);
}

static void
session_on_kick(struct router_client *rc)
{
	session_kick((char *)rc - offsetof(struct session, rc));
}

const struct router_client_ops session_router_ops = {
    .routed = session_on_routed,
    .failed = session_on_route_failed,
    .kick = session_on_kick,
};

/*
 * Routes the user and registers the session in one step: from here on a
 * move or kick also stops a login still on its way to the old backend.
 * A login of a user being moved waits (bounded by the login timer).
 */
static void
session_login_route(struct session *s)
{
	switch (router_route(s->d->router, &s->rc, s->user_hash, SESSION_TAG)) {
	case ENGINE_ROUTE_OK:
		session_login_connect(s);
		break;
	case ENGINE_ROUTE_WAIT:
		s->state = SESSION_MOVE_WAIT;
		/* a worker's route always answers later: session_on_routed()
		 * counts it if the engine made it wait */
		if (router_is_remote(s->d->router))
			break;
		session_log(s, LOG_LEVEL_DEBUG,
		    "login: user=<%s> waits for its move to end", s->user);
		s->d->stats.delayed++;
		break;
	case ENGINE_ROUTE_FAIL:
		session_login_tempfail(s, "no usable backend");
		break;
	}
}

/* Connects and logs in to the backend the session was routed to. */
static void
session_login_connect(struct session *s)
{
	const struct proto_creds *creds = s->proto->client_creds(s->pc);
	struct sockaddr_storage ss;
	char ip[IPADDR_STR_MAX];
	socklen_t sslen;

	s->backend_ip = *router_backend(&s->rc);
	s->backend_port = s->proto->backend_port(&s->d->conf->backend);
	snprintf(s->backend_str, sizeof(s->backend_str),
	    s->backend_ip.family == IPADDR_FAMILY_V6 ? "[%s]:%u" : "%s:%u",
	    ipaddr_format(&s->backend_ip, ip), s->backend_port);
	s->info.proxy_header = s->d->conf->backend.proxy_protocol;
	s->pb = s->proto->backend_new(s->pc, creds, &s->info,
	    s->d->conf->backend.tls == CONF_TLS_STARTTLS);
	if (s->pb == NULL) {
		session_login_tempfail(s, "proxy TTL exhausted (loop?)");
		return;
	}
	s->state = SESSION_BACKEND;
	s->backend =
	    bufferevent_socket_new(s->d->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->backend == NULL) {
		session_login_tempfail(s, "out of resources");
		return;
	}
	session_backend_setcb(s);
	/* the header goes out first, before TLS to the backend too */
	if (s->info.proxy_header &&
	    proxy_send_header(s->backend, &s->info,
		s->tls_active ? tls_session_version(s->client) : NULL) == -1) {
		session_login_tempfail(s,
		    "cannot make a PROXY header for the "
		    "client's addresses");
		return;
	}
	sslen = sockaddr_from_ip(&s->backend_ip, s->backend_port, &ss);
	if (bufferevent_socket_connect(
		s->backend, (struct sockaddr *)&ss, (int)sslen) == 0)
		session_nodelay(bufferevent_getfd(s->backend));
	else {
		char why[128];

		snprintf(why, sizeof(why), "connect: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		s->backend_unreachable = true;
		session_login_tempfail(s, why);
	}
}

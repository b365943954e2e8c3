/*
 * checker.c - the health checker's shell (see checker.h).
 *
 * One timer (CHECKER_TICK_MS) follows the engine's backend list, starts
 * the rounds that are due and ends the ones whose timeout has passed.  A
 * round is one probe per protocol port; it is good when every probe is,
 * and its result goes to health_finished().  A probe's connection that
 * has its verdict says goodbye and closes on its own (it is detached
 * from the probe), so a round never waits for a backend's manners.
 *
 * Invariant: a backend's round is running iff its pending count is
 * above 0 and its probes hold their connections; the verdict is given to
 * the engine only when it changes.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevio.h"
#include "checker.h"
#include "director.h"
#include "engine.h"
#include "healthcheck.h"
#include "log.h"
#include "proxyproto.h"
#include "router.h"
#include "sockaddr.h"
#include "tls.h"
#include "xmalloc.h"

#define CHECKER_TICK_MS 100
#define CHECKER_PORTS_MAX 4
/* The first check of a new backend comes within this (spread). */
#define CHECKER_FIRST_SPREAD_MS 1000
/* How long a goodbye may take before its connection is dropped. */
#define CHECKER_GOODBYE_MS 1000
/* Largest credentials file read. */
#define CHECKER_LOGIN_FILE_MAX 1024

struct checker_backend;

struct checker_probe {
	struct checker_backend *b;
	struct bufferevent *bev; /* NULL once done */
	struct healthcheck *hc;
	enum healthcheck_proto proto;
	uint16_t port;
	bool tls; /* wrapped in TLS (backend tls = implicit) */
	bool done;
	enum healthcheck_status status;
	char text[HEALTH_TEXT_MAX];
};

struct checker_backend {
	struct checker *c;
	struct ipaddr ip;
	char ip_str[IPADDR_STR_MAX];
	struct health h;
	uint64_t started_ms;
	struct checker_probe probes[CHECKER_PORTS_MAX];
	size_t nprobes, pending;
};

struct checker {
	struct director *d;
	struct event_base *base;
	struct event *timer;
	struct checker_backend **backends; /* sorted by ipaddr_cmp */
	size_t count;
	char *user, *password; /* the test account, or NULL */
};

static void
checker_settings(const struct checker *c, struct health_settings *set)
{
	const struct conf *conf = c->d->conf;

	set->interval_ms = conf->health_check_interval_ms;
	set->timeout_ms = conf->health_check_timeout_ms;
	set->recheck_ms = conf->health_check_recheck_ms;
	set->hold_ms = conf->health_check_hold_ms;
	set->rise = conf->health_check_rise;
	set->fall = conf->health_check_fall;
}

/* -- the test account ---------------------------------------------------- */

static int
checker_read_login(
    struct checker *c, const char *path, const char *loc, char **error_r)
{
	char text[CHECKER_LOGIN_FILE_MAX + 1], *colon, *nl;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		*error_r = xasprintf("%s: health_check_login_file %s: %s", loc,
		    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		*error_r = xasprintf("%s: health_check_login_file %s: must be "
				     "a regular file of mode 0600 (it holds a "
				     "password)",
		    loc, path);
		close(fd);
		return -1;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(text) - 1) {
		*error_r = xasprintf("%s: health_check_login_file %s: cannot "
				     "read it, or longer than %d bytes",
		    loc, path, CHECKER_LOGIN_FILE_MAX - 1);
		explicit_bzero(text, sizeof(text));
		return -1;
	}
	text[n] = '\0';
	nl = strpbrk(text, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	colon = strchr(text, ':');
	if (colon == NULL || colon == text || colon[1] == '\0') {
		*error_r = xasprintf("%s: health_check_login_file %s: the "
				     "first line must be USER:PASSWORD",
		    loc, path);
		explicit_bzero(text, sizeof(text));
		return -1;
	}
	*colon = '\0';
	c->user = xstrdup(text);
	c->password = xstrdup(colon + 1);
	explicit_bzero(text, sizeof(text));
	return 0;
}

struct checker *
checker_new(struct director *d, char **error_r)
{
	const struct conf *conf = d->conf;
	struct checker *c = xcalloc(1, sizeof(*c));

	c->d = d;
	if (conf->health_check && conf->health_check_login_file[0] != '\0' &&
	    checker_read_login(c, conf->health_check_login_file,
		conf->health_check_login_file_loc != NULL
		    ? conf->health_check_login_file_loc
		    : conf->path,
		error_r) == -1) {
		checker_free(&c);
		return NULL;
	}
	return c;
}

/* -- probes -------------------------------------------------------------- */

static void checker_round_end(struct checker_backend *b);

/* Ends probe p with status and text; its connection says goodbye (when
 * the dialogue has one to say) and goes. */
static void
checker_probe_end(
    struct checker_probe *p, enum healthcheck_status status, const char *text)
{
	struct bufferevent *bev = p->bev;
	struct buf *out = p->hc != NULL ? healthcheck_output(p->hc) : NULL;
	struct timeval tv = {.tv_sec = CHECKER_GOODBYE_MS / 1000};

	if (p->done)
		return;
	p->done = true;
	p->status = status;
	strlcpy(p->text, text, sizeof(p->text));
	p->bev = NULL;
	if (bev != NULL) {
		if (status != HEALTHCHECK_DOWN && out != NULL && out->len > 0 &&
		    bufferevent_write(bev, out->data, out->len) == 0) {
			bufferevent_set_timeouts(bev, NULL, &tv);
			bevio_close_after_output(bev);
		} else
			bufferevent_free(bev);
	}
	healthcheck_free(&p->hc);
	if (--p->b->pending == 0)
		checker_round_end(p->b);
}

/* A connection error, in words: "imap 10.0.0.1:143: connection refused" */
static void
checker_probe_fail(struct checker_probe *p, const char *why)
{
	/* room for all of it; the probe keeps what fits */
	char text[HEALTH_TEXT_MAX + IPADDR_STR_MAX + 160];

	snprintf(text, sizeof(text), "%s %s:%u: %s",
	    healthcheck_proto_name(p->proto), p->b->ip_str, p->port, why);
	checker_probe_end(p, HEALTHCHECK_DOWN, text);
}

static void
checker_probe_flush(struct checker_probe *p)
{
	struct buf *out = healthcheck_output(p->hc);

	if (out->len == 0)
		return;
	if (bufferevent_write(p->bev, out->data, out->len) == -1) {
		checker_probe_fail(p, "out of memory");
		return;
	}
	buf_clear(out);
}

static void
checker_on_read(struct bufferevent *bev, void *arg)
{
	struct checker_probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	enum healthcheck_status st;
	size_t len, used;

	while ((len = evbuffer_get_length(in)) > 0 && !p->done) {
		st = healthcheck_input(
		    p->hc, evbuffer_pullup(in, -1), len, &used);
		evbuffer_drain(in, used);
		if (st != HEALTHCHECK_MORE) {
			checker_probe_end(p, st, healthcheck_text(p->hc));
			return;
		}
		checker_probe_flush(p);
		if (used == 0)
			break;
	}
}

static void checker_probe_setcb(struct checker_probe *p);

static void
checker_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct checker_probe *p = arg;
	struct checker *c = p->b->c;
	char why[128];
	int err;

	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS layer reports its handshake as CONNECTED too */
		if (c->d->conf->backend.tls != CONF_TLS_IMPLICIT || p->tls)
			return;
		p->tls = true;
		p->bev = tls_wrap_backend(bev, c->d->proxy.tls_client,
		    c->d->conf->backend.ssl_name, &p->b->ip);
		if (p->bev == NULL) {
			checker_probe_fail(p, "TLS setup failed");
			return;
		}
		checker_probe_setcb(p);
		return;
	}
	err = EVUTIL_SOCKET_ERROR();
	if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed before the verdict");
	else if (err != 0)
		snprintf(
		    why, sizeof(why), "%s", evutil_socket_error_to_string(err));
	else
		snprintf(why, sizeof(why), "%s", tls_error_string(bev));
	checker_probe_fail(p, why);
}

static void
checker_probe_setcb(struct checker_probe *p)
{
	bufferevent_setcb(p->bev, checker_on_read, NULL, checker_on_event, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}

static void
checker_probe_start(
    struct checker_backend *b, enum healthcheck_proto proto, uint16_t port)
{
	struct checker *c = b->c;
	struct checker_probe *p = &b->probes[b->nprobes++];
	struct sockaddr_storage ss;
	socklen_t sslen;

	memset(p, 0, sizeof(*p));
	p->b = b;
	p->proto = proto;
	p->port = port;
	b->pending++;
	p->hc = healthcheck_new(proto, c->user, c->password);
	p->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (p->bev == NULL) {
		checker_probe_fail(p, "out of resources");
		return;
	}
	checker_probe_setcb(p);
	if (c->d->conf->backend.proxy_protocol) {
		/* a backend that takes PROXY headers wants one from us too */
		uint8_t hdr[PROXYPROTO_V2_HEADER];

		(void)bufferevent_write(
		    p->bev, hdr, proxyproto_v2_local(hdr, sizeof(hdr)));
	}
	sslen = sockaddr_from_ip(&b->ip, port, &ss);
	if (bufferevent_socket_connect(
		p->bev, (struct sockaddr *)&ss, (int)sslen) == -1)
		checker_probe_fail(
		    p, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* -- rounds -------------------------------------------------------------- */

/* Whether the director serves proto (a listener of it exists). */
static bool
checker_serves(const struct conf *conf, enum conf_protocol proto)
{
	size_t i;

	for (i = 0; i < conf->listener_count; i++) {
		if (conf->listeners[i].protocol == proto)
			return true;
	}
	return false;
}

static void
checker_round_start(struct checker_backend *b, uint64_t now)
{
	const struct conf *conf = b->c->d->conf;

	health_started(&b->h, now);
	b->started_ms = now;
	b->nprobes = 0;
	/* pending stays above 0 until every probe is started, so one that
	 * fails at once does not end the round early */
	b->pending = 1;
	if (checker_serves(conf, CONF_PROTOCOL_IMAP))
		checker_probe_start(
		    b, HEALTHCHECK_IMAP, conf->backend.imap_port);
	if (checker_serves(conf, CONF_PROTOCOL_POP3))
		checker_probe_start(
		    b, HEALTHCHECK_POP3, conf->backend.pop3_port);
	if (checker_serves(conf, CONF_PROTOCOL_LMTP))
		checker_probe_start(
		    b, HEALTHCHECK_LMTP, conf->backend.lmtp_port);
	if (checker_serves(conf, CONF_PROTOCOL_SIEVE))
		checker_probe_start(
		    b, HEALTHCHECK_SIEVE, conf->backend.sieve_port);
	if (--b->pending == 0)
		checker_round_end(b);
}

static void
checker_verdict(struct checker_backend *b, bool up, const char *text)
{
	struct director *d = b->c->d;

	log_warn("backend %s health check: %s: %s", b->ip_str,
	    up ? "up again" : "down", text);
	(void)engine_host_health(d->engine, router_now_ms(), &b->ip, up, text);
	router_run(d->router);
}

static void
checker_round_end(struct checker_backend *b)
{
	enum health_result result = HEALTH_RESULT_OK;
	const char *text = NULL;
	struct health_settings set;
	uint64_t now = router_now_ms();
	size_t i;

	for (i = 0; i < b->nprobes; i++) {
		const struct checker_probe *p = &b->probes[i];

		if (p->status == HEALTHCHECK_DOWN) {
			result = HEALTH_RESULT_FAIL;
			text = p->text;
			break;
		}
		if (p->status == HEALTHCHECK_UP_WARN) {
			result = HEALTH_RESULT_WARN;
			text = p->text;
		}
	}
	if (text == NULL)
		text = b->nprobes > 0 ? "ok" : "no protocol to check";
	if (result != HEALTH_RESULT_OK && b->h.last != result)
		log_info("backend %s health check %s: %s", b->ip_str,
		    health_result_name(result), text);
	checker_settings(b->c, &set);
	log_debug("backend %s health check %s in %llu ms (%s): %s", b->ip_str,
	    health_result_name(result),
	    (unsigned long long)(now - b->started_ms),
	    (result == HEALTH_RESULT_FAIL) == b->h.up ? "against the verdict"
						      : "agrees",
	    text);
	switch (health_finished(
	    &b->h, &set, now, result, now - b->started_ms, text)) {
	case HEALTH_SAME:
		break;
	case HEALTH_WENT_DOWN:
		checker_verdict(b, false, text);
		break;
	case HEALTH_WENT_UP:
		checker_verdict(b, true, text);
		break;
	}
}

static void
checker_round_timeout(struct checker_backend *b)
{
	size_t i;

	/* the last probe to end ends the round: count down first */
	b->pending++;
	for (i = 0; i < b->nprobes; i++) {
		if (!b->probes[i].done)
			checker_probe_fail(&b->probes[i], "timed out");
	}
	if (--b->pending == 0)
		checker_round_end(b);
}

/* -- the backend list ---------------------------------------------------- */

static int
checker_find(const struct checker *c, const struct ipaddr *ip, size_t *idx_r)
{
	size_t lo = 0, hi = c->count, mid;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = ipaddr_cmp(&c->backends[mid]->ip, ip);
		if (cmp == 0) {
			*idx_r = mid;
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*idx_r = lo;
	return -1;
}

static void
checker_backend_free(struct checker_backend *b)
{
	size_t i;

	for (i = 0; i < b->nprobes; i++) {
		if (b->probes[i].bev != NULL)
			bufferevent_free(b->probes[i].bev);
		healthcheck_free(&b->probes[i].hc);
	}
	free(b);
}

/* Follows the engine's backend list: new ones are added, gone ones
 * forgotten. */
static void
checker_sync(struct checker *c, uint64_t now)
{
	struct hosts *hosts = engine_hosts(c->d->engine);
	struct checker_backend *b;
	const struct host *h;
	size_t i, idx;

	for (i = 0; i < c->count;) {
		if (hosts_lookup(hosts, &c->backends[i]->ip) != NULL) {
			i++;
			continue;
		}
		checker_backend_free(c->backends[i]);
		memmove(&c->backends[i], &c->backends[i + 1],
		    (c->count - i - 1) * sizeof(*c->backends));
		c->count--;
	}
	for (i = 0; i < hosts_count(hosts); i++) {
		h = hosts_get(hosts, i);
		if (checker_find(c, &h->ip, &idx) == 0)
			continue;
		b = xcalloc(1, sizeof(*b));
		b->c = c;
		b->ip = h->ip;
		strlcpy(b->ip_str, h->ip_str, sizeof(b->ip_str));
		health_init(
		    &b->h, now, arc4random_uniform(CHECKER_FIRST_SPREAD_MS));
		c->backends = xreallocarray(
		    c->backends, c->count + 1, sizeof(*c->backends));
		memmove(&c->backends[idx + 1], &c->backends[idx],
		    (c->count - idx) * sizeof(*c->backends));
		c->backends[idx] = b;
		c->count++;
	}
}

static void
checker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct checker *c = arg;
	uint64_t now = router_now_ms();
	uint64_t timeout = c->d->conf->health_check_timeout_ms;
	struct checker_backend *b;
	size_t i;

	if (!c->d->conf->health_check) {
		/* turned off by a reload: nobody is held down by it */
		for (i = 0; i < c->count; i++) {
			b = c->backends[i];
			if (!b->h.up) {
				health_set(&b->h, true, now);
				checker_verdict(b, true, "health_check = no");
			}
		}
		return;
	}
	checker_sync(c, now);
	for (i = 0; i < c->count; i++) {
		b = c->backends[i];
		if (b->pending > 0 && now - b->started_ms >= timeout)
			checker_round_timeout(b);
		else if (b->pending == 0 && health_due(&b->h, now))
			checker_round_start(b, now);
	}
}

int
checker_start(struct checker *c, struct event_base *base)
{
	struct timeval tv = {.tv_usec = CHECKER_TICK_MS * 1000};

	c->base = base;
	c->timer = event_new(base, -1, EV_PERSIST, checker_on_tick, c);
	if (c->timer == NULL || event_add(c->timer, &tv) == -1) {
		log_error("cannot start the health checker's timer");
		return -1;
	}
	return 0;
}

void
checker_free(struct checker **cp)
{
	struct checker *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	*cp = NULL;
	if (c->timer != NULL)
		event_free(c->timer);
	for (i = 0; i < c->count; i++)
		checker_backend_free(c->backends[i]);
	free(c->backends);
	if (c->user != NULL)
		freezero(c->user, strlen(c->user) + 1);
	if (c->password != NULL)
		freezero(c->password, strlen(c->password) + 1);
	free(c);
}

void
checker_backend_failed(struct checker *c, const struct ipaddr *ip)
{
	struct health_settings set;
	size_t idx;

	if (c == NULL || !c->d->conf->health_check ||
	    checker_find(c, ip, &idx) == -1)
		return;
	checker_settings(c, &set);
	health_recheck_soon(&c->backends[idx]->h, &set, router_now_ms());
}

const struct health *
checker_health(const struct checker *c, const struct ipaddr *ip)
{
	size_t idx;

	if (c == NULL || !c->d->conf->health_check ||
	    checker_find(c, ip, &idx) == -1)
		return NULL;
	return &c->backends[idx]->h;
}

bool
checker_enabled(const struct checker *c)
{
	return c != NULL && c->d->conf->health_check;
}

/*
 * metrics.c - the metrics endpoint (see metrics.h).
 *
 * Names follow the Prometheus conventions: a director_ prefix, the unit
 * in the name (_seconds, _bytes), _total on counters, labels for what
 * varies (backend, protocol, result).  A connection lives until its
 * reply is written or METRICS_TIMEOUT_MS passes; a peer outside
 * metrics_networks gets 403 and nothing else.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevio.h"
#include "buf.h"
#include "checker.h"
#include "director.h"
#include "engine.h"
#include "http.h"
#include "lmtp_proxy.h"
#include "log.h"
#include "metrics.h"
#include "promtext.h"
#include "session.h"
#include "sockaddr.h"
#include "xmalloc.h"

#define METRICS_TIMEOUT_MS 10000
/* IMAP, POP3 and ManageSieve have logins and sessions (stats.h's first
 * three); LMTP is counted by connections and deliveries. */
#define METRICS_LOGIN_PROTOS (STATS_SIEVE + 1)
/* Largest metrics text (4096 backends of some 20 lines each fit). */
#define METRICS_TEXT_MAX (32 * 1024 * 1024)
#ifndef DIRECTOR_VERSION
#define DIRECTOR_VERSION "0.1"
#endif

struct metrics_count {
	const struct ipaddr *backend; /* NULL: count all by phase */
	uint64_t n[STATS_PROTO_COUNT][SESSION_PHASE_COUNT];
};

static void metrics_count_session(void *ctx, const char *proto,
    enum session_phase phase, const struct ipaddr *backend);

/* One look at the sessions and counters of every thread, taken at the
 * start of a reply (worker threads are asked once, not per line). */
struct metrics_session {
	enum stats_proto proto;
	enum session_phase phase;
	bool has_backend;
	struct ipaddr backend;
};

struct metrics_snap {
	struct stats stats;
	struct metrics_session *v;
	size_t n, cap;
};

static void
metrics_snap_session(void *ctx, const char *proto, enum session_phase phase,
    const struct ipaddr *backend)
{
	struct metrics_snap *sn = ctx;
	struct metrics_session *ms;

	if (sn->n == sn->cap) {
		sn->cap = sn->cap == 0 ? 64 : sn->cap * 2;
		sn->v = xreallocarray(sn->v, sn->cap, sizeof(*sn->v));
	}
	ms = &sn->v[sn->n++];
	ms->proto = stats_proto_from_name(proto);
	ms->phase = phase;
	ms->has_backend = backend != NULL;
	if (backend != NULL)
		ms->backend = *backend;
}

/* Counts the snapshot's sessions into mc. */
static void
metrics_count_snap(const struct metrics_snap *sn, struct metrics_count *mc)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		metrics_count_session(mc, stats_proto_name(sn->v[i].proto),
		    sn->v[i].phase,
		    sn->v[i].has_backend ? &sn->v[i].backend : NULL);
}

static void
metrics_count_session(void *ctx, const char *proto, enum session_phase phase,
    const struct ipaddr *backend)
{
	struct metrics_count *mc = ctx;

	if (mc->backend != NULL &&
	    (backend == NULL || !ipaddr_equals(backend, mc->backend)))
		return;
	mc->n[stats_proto_from_name(proto)][phase]++;
}

static void
metrics_sessions(
    struct director *d, const struct metrics_snap *sn, struct promtext *p)
{
	struct metrics_count mc = {.backend = NULL};
	size_t i, j;

	metrics_count_snap(sn, &mc);
	promtext_family(p, "director_sessions", PROMTEXT_GAUGE,
	    "Client connections by protocol and state (LMTP: connected).");
	for (i = 0; i < METRICS_LOGIN_PROTOS; i++) {
		for (j = 0; j < SESSION_PHASE_COUNT; j++) {
			const char *l[] = {"protocol",
			    stats_proto_name((enum stats_proto)i), "state",
			    session_phase_name((enum session_phase)j), NULL};

			promtext_sample_u64(
			    p, "director_sessions", l, mc.n[i][j]);
		}
	}
	const char *l[] = {"protocol", "lmtp", "state", "connected", NULL};
	promtext_sample_u64(
	    p, "director_sessions", l, lmtp_conn_count(&d->proxy));
}

static void
metrics_logins(const struct metrics_snap *sn, struct promtext *p)
{
	const struct stats *st = &sn->stats;
	uint64_t failed = 0;
	size_t i, j;

	promtext_family(p, "director_logins_total", PROMTEXT_COUNTER,
	    "IMAP, POP3 and ManageSieve logins by protocol and result.");
	for (i = 0; i < METRICS_LOGIN_PROTOS; i++) {
		for (j = 0; j < STATS_RESULT_COUNT; j++) {
			const char *l[] = {"protocol",
			    stats_proto_name((enum stats_proto)i), "result",
			    stats_result_name((enum stats_result)j), NULL};

			promtext_sample_u64(
			    p, "director_logins_total", l, st->logins[i][j]);
			if (j != STATS_OK && j != STATS_AUTH_FAILED)
				failed += st->logins[i][j];
		}
	}
	promtext_family(p, "director_requests_delayed_total", PROMTEXT_COUNTER,
	    "Logins that waited for a user move or the ring.");
	promtext_sample_u64(
	    p, "director_requests_delayed_total", NULL, st->delayed);
	promtext_family(p, "director_requests_failed_total", PROMTEXT_COUNTER,
	    "Logins that got a temporary failure.");
	promtext_sample_u64(p, "director_requests_failed_total", NULL, failed);
	promtext_family(p, "director_lmtp_deliveries_total", PROMTEXT_COUNTER,
	    "LMTP recipients by the outcome of their delivery.");
	for (i = 0; i < STATS_DELIVERY_COUNT; i++) {
		const char *l[] = {"result",
		    stats_delivery_name((enum stats_delivery)i), NULL};

		promtext_sample_u64(
		    p, "director_lmtp_deliveries_total", l, st->deliveries[i]);
	}
}

/* Live proxied sessions on backend ip, by protocol. */
static void
metrics_backend_sessions(const struct metrics_snap *sn, const struct ipaddr *ip,
    uint64_t n[STATS_PROTO_COUNT])
{
	struct metrics_count mc = {.backend = ip};
	size_t i;

	metrics_count_snap(sn, &mc);
	for (i = 0; i < STATS_PROTO_COUNT; i++)
		n[i] = mc.n[i][SESSION_PHASE_PROXYING];
}

static void
metrics_backend(struct director *d, const struct metrics_snap *sn,
    struct promtext *p, const struct host *h, int pass)
{
	struct hosts *hosts = engine_hosts(d->engine);
	const struct health *hl = checker_health(d->checker, &h->ip);
	const struct stats_backend *sb = stats_backend(&sn->stats, &h->ip);
	const char *tag = hosts_tag_name(h->tag);
	const char *l[] = {"backend", h->ip_str, "tag", tag, NULL};
	uint64_t n[STATS_PROTO_COUNT];
	size_t i, j;

	switch (pass) {
	case 0:
		promtext_sample(p, "director_backend_admin_up", l, !h->down);
		break;
	case 1:
		promtext_sample(
		    p, "director_backend_healthy", l, !h->unhealthy);
		break;
	case 2:
		promtext_sample(
		    p, "director_backend_weight", l, h->vhost_count);
		break;
	case 3:
		promtext_sample_u64(
		    p, "director_backend_users", l, hosts_user_count(hosts, h));
		break;
	case 4:
		metrics_backend_sessions(sn, &h->ip, n);
		for (i = 0; i < METRICS_LOGIN_PROTOS; i++) {
			const char *ls[] = {"backend", h->ip_str, "protocol",
			    stats_proto_name((enum stats_proto)i), NULL};

			promtext_sample_u64(
			    p, "director_backend_sessions", ls, n[i]);
		}
		break;
	case 5:
		for (i = 0; i < METRICS_LOGIN_PROTOS; i++) {
			for (j = 0; j < STATS_RESULT_COUNT; j++) {
				const char *ll[] = {"backend", h->ip_str,
				    "protocol",
				    stats_proto_name((enum stats_proto)i),
				    "result",
				    stats_result_name((enum stats_result)j),
				    NULL};

				promtext_sample_u64(p,
				    "director_backend_logins_total", ll,
				    sb != NULL ? sb->logins[i][j] : 0);
			}
		}
		break;
	case 6:
		if (hl != NULL && hl->last != HEALTH_RESULT_NONE)
			promtext_sample(p,
			    "director_backend_check_duration_seconds", l,
			    (double)hl->latency_ms / 1000.0);
		break;
	case 7:
		if (hl != NULL && hl->last != HEALTH_RESULT_NONE)
			promtext_sample(p, "director_backend_check_success", l,
			    hl->last != HEALTH_RESULT_FAIL);
		break;
	}
}

static const struct {
	const char *name;
	enum promtext_type type;
	const char *help;
} metrics_backend_families[] = {
    {"director_backend_admin_up", PROMTEXT_GAUGE,
	"1 if the backend is up by admin state, 0 if set down."},
    {"director_backend_healthy", PROMTEXT_GAUGE,
	"1 if the health checks find the backend up (or are off)."},
    {"director_backend_weight", PROMTEXT_GAUGE,
	"The backend's weight (vhost count)."},
    {"director_backend_users", PROMTEXT_GAUGE,
	"Users assigned to the backend."},
    {"director_backend_sessions", PROMTEXT_GAUGE,
	"Live proxied sessions on the backend by protocol."},
    {"director_backend_logins_total", PROMTEXT_COUNTER,
	"Logins routed to the backend by protocol and result."},
    {"director_backend_check_duration_seconds", PROMTEXT_GAUGE,
	"How long the last health check of the backend took."},
    {"director_backend_check_success", PROMTEXT_GAUGE,
	"1 if the last health check of the backend passed."},
};

static void
metrics_ring(struct director *d, struct promtext *p)
{
	struct ring_dir_status ds;
	struct ring_status st;
	size_t i, n = 0;

	engine_ring_status(d->engine, &st);
	for (i = 0; engine_ring_dir(d->engine, i, &ds); i++) {
		if (!ds.removed)
			n++;
	}
	promtext_family(p, "director_ring_synced", PROMTEXT_GAUGE,
	    "1 if the ring is synced (or the director is alone).");
	promtext_sample(p, "director_ring_synced", NULL,
	    !st.enabled || st.alone || st.synced);
	promtext_family(p, "director_ring_directors", PROMTEXT_GAUGE,
	    "Directors known in the ring, this one included.");
	promtext_sample_u64(p, "director_ring_directors", NULL, n);
	promtext_family(p, "director_ring_links", PROMTEXT_GAUGE,
	    "Open connections to ring peers.");
	promtext_sample_u64(p, "director_ring_links", NULL, st.link_count);
}

int
metrics_write(struct director *d, struct buf *out)
{
	struct hosts *hosts = engine_hosts(d->engine);
	const char *bl[] = {"version", DIRECTOR_VERSION, NULL};
	uint64_t users = 0, mem, disk;
	struct metrics_snap sn = {.n = 0};
	struct promtext p;
	size_t i, f;
	int ret;

	director_stats(d, &sn.stats);
	director_session_foreach(d, metrics_snap_session, &sn);
	promtext_init(&p, out);
	promtext_family(&p, "director_build_info", PROMTEXT_GAUGE,
	    "Always 1; the version is a label.");
	promtext_sample(&p, "director_build_info", bl, 1);
	for (f = 0; f < nitems(metrics_backend_families); f++) {
		promtext_family(&p, metrics_backend_families[f].name,
		    metrics_backend_families[f].type,
		    metrics_backend_families[f].help);
		for (i = 0; i < hosts_count(hosts); i++)
			metrics_backend(
			    d, &sn, &p, hosts_get(hosts, i), (int)f);
	}
	for (i = 0; i < hosts_count(hosts); i++)
		users += hosts_user_count(hosts, hosts_get(hosts, i));
	promtext_family(&p, "director_users", PROMTEXT_GAUGE,
	    "User assignments in the user directory.");
	promtext_sample_u64(&p, "director_users", NULL, users);
	promtext_family(&p, "director_user_moves", PROMTEXT_GAUGE,
	    "User moves in progress.");
	promtext_sample_u64(
	    &p, "director_user_moves", NULL, engine_moves(d->engine));
	metrics_sessions(d, &sn, &p);
	metrics_logins(&sn, &p);
	lmtp_spool_usage(&mem, &disk);
	promtext_family(&p, "director_lmtp_spool_bytes", PROMTEXT_GAUGE,
	    "Bytes of LMTP message bodies spooled now.");
	const char *lm[] = {"storage", "memory", NULL};
	const char *ld[] = {"storage", "disk", NULL};
	promtext_sample_u64(&p, "director_lmtp_spool_bytes", lm, mem);
	promtext_sample_u64(&p, "director_lmtp_spool_bytes", ld, disk);
	metrics_ring(d, &p);
	ret = promtext_failed(&p) ? -1 : 0;
	stats_free(&sn.stats);
	free(sn.v);
	return ret;
}

/* -- the HTTP connection ------------------------------------------------- */

/* Writes the reply for status (the metrics for 200) and closes once it
 * is out. */
static void
metrics_reply(
    struct director *d, struct bufferevent *bev, int status, bool head)
{
	struct buf body, out;
	char text[64];

	buf_init(&body, METRICS_TEXT_MAX);
	buf_init(&out, 1024);
	if (status == 200 && metrics_write(d, &body) == -1) {
		log_error("metrics: the text is larger than %d bytes",
		    METRICS_TEXT_MAX);
		buf_clear(&body);
		status = 500;
	}
	if (status != 200) {
		snprintf(
		    text, sizeof(text), "%d %s\n", status, http_reason(status));
		(void)buf_append_str(&body, text);
	}
	if (http_format_head(&out, status,
		status == 200 ? PROMTEXT_CONTENT_TYPE : "text/plain",
		body.len) == -1 ||
	    bufferevent_write(bev, out.data, out.len) == -1 ||
	    (!head && bufferevent_write(bev, body.data, body.len) == -1)) {
		bufferevent_free(bev);
	} else
		bevio_close_after_output(bev);
	buf_deinit(&body);
	buf_deinit(&out);
}

static void
metrics_on_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void
metrics_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	int status = 400;
	bool head = false;

	if (http_parse((const char *)evbuffer_pullup(in, -1), len, &status,
		&head) == HTTP_PARSE_MORE)
		return;
	metrics_reply(arg, bev, status, head);
}

static void
metrics_accept(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	struct director *d = context;
	struct timeval tv = {.tv_sec = METRICS_TIMEOUT_MS / 1000};
	struct bufferevent *bev;
	char text[128];

	bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_set_timeouts(bev, &tv, &tv);
	/* a request head never needs more; beyond it http_parse says 431 */
	bufferevent_setwatermark(bev, EV_READ, 0, HTTP_REQUEST_MAX + 1);
	if (!sockaddr_in_networks(
		peer, d->conf->metrics_nets, d->conf->metrics_net_count)) {
		sockaddr_peer_text(peer, text, sizeof(text));
		log_warn("metrics: connection from %s refused (not in "
			 "metrics_networks)",
		    text);
		metrics_reply(d, bev, 403, false);
		return;
	}
	bufferevent_setcb(bev, metrics_on_read, NULL, metrics_on_event, d);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

const struct listener_handler metrics_handler = {
    .accept = metrics_accept,
};

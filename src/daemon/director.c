/*
 * director.c - the running director's wiring (see director.h).
 *
 * One libevent timer serves the engine: after every event the router
 * asks for engine_next_deadline(), and the timer is set to it.  The
 * effects that are not a session's come back here: save the state file,
 * reply to an admin connection.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin_cmds.h"
#include "checker.h"
#include "connlimit.h"
#include "director.h"
#include "engine.h"
#include "lmtp_proxy.h"
#include "log.h"
#include "penalty.h"
#include "ring.h"
#include "ring_conn.h"
#include "router.h"
#include "session.h"
#include "sockaddr.h"
#include "bevio.h"
#include "memtrim.h"
#include "worker.h"
#include "splice.h"
#include "tls.h"
#include "userhash.h"
#include "xmalloc.h"

static const char *const director_tls_versions[] = {
    [CONF_SSL_TLSV1] = "TLSv1",
    [CONF_SSL_TLSV1_1] = "TLSv1.1",
    [CONF_SSL_TLSV1_2] = "TLSv1.2",
    [CONF_SSL_TLSV1_3] = "TLSv1.3",
};

static const struct conf_listener *
director_ring_listener(const struct conf *conf)
{
	size_t i;

	for (i = 0; i < conf->listener_count; i++) {
		if (conf->listeners[i].protocol == CONF_PROTOCOL_RING)
			return &conf->listeners[i];
	}
	return NULL;
}

static int
director_tls_init(struct director *d, const struct conf *conf, char **error_r)
{
	int version =
	    tls_version_parse(director_tls_versions[conf->ssl_min_protocol]);

	if (conf->ssl_cert[0] != '\0') {
		struct tls_server_settings set = {
		    .cert_file = conf->ssl_cert,
		    .key_file = conf->ssl_key,
		    .ca_file = conf->ssl_ca[0] != '\0' ? conf->ssl_ca : NULL,
		    .min_version = version,
		};

		d->proxy.tls_server = tls_server_ctx_new(&set, error_r);
		if (d->proxy.tls_server == NULL)
			return -1;
	}
	if (director_ring_listener(conf) != NULL &&
	    director_ring_listener(conf)->tls != CONF_TLS_NO) {
		struct tls_server_settings set = {
		    .cert_file = conf->ssl_cert,
		    .key_file = conf->ssl_key,
		    .ca_file = conf->ssl_ca,
		    .min_version = version,
		};

		d->ring_tls_server = tls_ring_ctx_new(&set, true, error_r);
		if (d->ring_tls_server == NULL)
			return -1;
		d->ring_tls_client = tls_ring_ctx_new(&set, false, error_r);
		if (d->ring_tls_client == NULL)
			return -1;
	}
	if (conf->backend.tls != CONF_TLS_NO) {
		d->proxy.tls_client =
		    tls_client_ctx_new(conf->backend.ssl_verify,
			conf->ssl_ca[0] != '\0' ? conf->ssl_ca : NULL, version,
			error_r);
		if (d->proxy.tls_client == NULL)
			return -1;
	}
	return 0;
}

/* -- the router's hooks -------------------------------------------------- */

static void
director_on_save_hosts(void *context)
{
	director_hosts_changed(context);
}

static void
director_on_admin_reply(void *context, void *requester, const char *text)
{
	admin_cmds_reply(requester, text);
}

/* What the worker threads' splices go by (splice_gate_published()):
 * whether the engine may serve now, good for a ring's idle timeout. */
static void
director_publish_gate(struct director *d, uint64_t now)
{
	if (d->workers == NULL)
		return;
	splice_gate_publish(engine_ring_may_serve(d->engine, now), now,
	    engine_ring_enabled(d->engine) ? d->conf->ping_idle_timeout_ms : 0);
}

static void
director_on_schedule(void *context, uint64_t deadline_ms)
{
	struct director *d = context;
	uint64_t now = router_now_ms(), wait;
	struct timeval tv;

	if (d->timer == NULL)
		return;
	director_publish_gate(d, now);
	wait = deadline_ms > now ? deadline_ms - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	event_add(d->timer, &tv);
}

static void
director_on_ring_connect(void *context, struct ring_link *link)
{
	ring_conn_connect(context, link);
}

static void
director_on_ring_close(void *context, struct ring_link *link)
{
	ring_conn_close(context, link);
}

static void
director_on_ring_starttls(void *context, struct ring_link *link, bool accept)
{
	ring_conn_starttls(context, link, accept);
}

static void
director_on_ring_flush(void *context)
{
	ring_conn_flush(context);
}

/* Spliced sessions pass bytes only while the engine may serve (see
 * engine_ring_may_serve()); when it may not because our clock jumped,
 * the engine hears of the jump at once. */
static bool
director_splice_gate(void *ctx)
{
	struct director *d = ctx;

	if (engine_ring_may_serve(d->engine, router_now_ms()))
		return true;
	if (d->timer != NULL)
		event_active(d->timer, EV_TIMEOUT, 1);
	return false;
}

static void
director_worker_release(struct proxy_env *env, void *arg)
{
	splice_release_held();
}

static void
director_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct director *d = arg;

	router_tick(d->router);
	director_publish_gate(d, router_now_ms());
	/* rejoined (the sessions the ring moved away are kicked by now) */
	if (splice_held_count_all() > 0 &&
	    engine_ring_may_serve(d->engine, router_now_ms())) {
		splice_release_held();
		if (d->workers != NULL)
			workers_run_each(
			    d->workers, director_worker_release, NULL);
	}
}

/* A login found a backend dead: the checker looks at it soon. */
static void
director_on_backend_failed(void *context, const struct ipaddr *ip)
{
	struct director *d = context;

	checker_backend_failed(d->checker, ip);
}

/* -- the ring ------------------------------------------------------------- */

/* director_ring_plaintext_networks: ring peers that may skip TLS. */
static bool
director_ring_plaintext_ok(void *ctx, const struct ipaddr *ip)
{
	const struct director *d = ctx;

	return conf_networks_match(d->conf->ring_plaintext_nets,
	    d->conf->ring_plaintext_net_count, ip->family, ip->a);
}

static int
director_ring_hash_user(void *ctx, const char *name, uint32_t *hash_r)
{
	const char *err;

	return director_user_hash(ctx, name, hash_r, &err);
}

/* Whether ip is one of this machine's addresses (it can be bound). */
static bool
director_ip_is_local(const struct ipaddr *ip)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_ip(ip, 0, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool local;

	if (fd == -1)
		return false;
	local = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return local;
}

static bool
director_any_address(const char *address)
{
	return strcmp(address, "*") == 0 || strcmp(address, "::") == 0;
}

/*
 * Which of director_servers we are: the one the ring listener listens
 * on (an address of it, or one of ours if it listens on any).  Without
 * director_servers, the listener's own address (a ring of one that
 * DIRECTOR-ADD can grow).  Returns 1 (found), 0 (no ring) or -1.
 */
static int
director_ring_self(struct director *d, const struct ring_addr *servers,
    size_t count, char **error_r)
{
	const struct conf *conf = d->conf;
	const struct conf_listener *l = director_ring_listener(conf);
	size_t i, j;

	if (l == NULL || l->address_count == 0)
		return 0;
	for (i = 0; i < count; i++) {
		if (servers[i].port != l->port)
			continue;
		for (j = 0; j < l->address_count; j++) {
			if (strcmp(l->addresses[j],
				conf->director_servers[i].address) == 0 ||
			    (director_any_address(l->addresses[j]) &&
				director_ip_is_local(&servers[i].ip))) {
				d->ring_self = servers[i];
				return 1;
			}
		}
	}
	if (count == 0) {
		if (director_any_address(l->addresses[0]) ||
		    ipaddr_parse(l->addresses[0], &d->ring_self.ip) == -1)
			return 0;
		d->ring_self.port = l->port;
		return 1;
	}
	*error_r = xasprintf("%s: director_servers: none of its entries is "
			     "this director's ring listener (listen ring { "
			     "address = ... port = ... })",
	    conf->servers_loc != NULL ? conf->servers_loc : conf->path);
	return -1;
}

/* director_servers as ring addresses (malloc'ed, one spare entry). */
static struct ring_addr *
director_ring_servers(const struct conf *conf)
{
	struct ring_addr *servers;
	size_t i;

	servers = xcalloc(conf->director_server_count + 1, sizeof(*servers));
	for (i = 0; i < conf->director_server_count; i++) {
		/* checked by the configuration loader */
		(void)ipaddr_parse(
		    conf->director_servers[i].address, &servers[i].ip);
		servers[i].port = conf->director_servers[i].port;
	}
	return servers;
}

static int
director_ring_start(struct director *d, char **error_r)
{
	const struct conf *conf = d->conf;
	struct ring_settings set;
	struct ring_addr *servers;
	int ret;

	servers = director_ring_servers(conf);
	ret = director_ring_self(
	    d, servers, conf->director_server_count, error_r);
	if (ret <= 0) {
		free(servers);
		return ret;
	}
	memset(&set, 0, sizeof(set));
	set.self = d->ring_self;
	set.servers = servers;
	set.server_count = conf->director_server_count;
	set.ping_idle_timeout_ms = conf->ping_idle_timeout_ms;
	set.ping_max_timeout_ms = conf->ping_max_timeout_ms;
	set.request_timeout_ms = DIRECTOR_REQUEST_TIMEOUT_MS;
	set.dovecot_hashing = conf->hashing == CONF_HASHING_DOVECOT;
	set.hash_user = director_ring_hash_user;
	set.hash_ctx = d;
	set.tls = d->ring_tls_server != NULL;
	set.plaintext_ok = director_ring_plaintext_ok;
	ret = engine_ring_start(d->engine, router_now_ms(), &set);
	free(servers);
	if (ret == -1) {
		*error_r = xasprintf("cannot start the ring");
		return -1;
	}
	return 0;
}

static void
director_ring_reload(struct director *d)
{
	const struct conf *conf = d->conf;
	struct ring_addr *servers;

	if (conf->director_server_count == 0)
		return;
	servers = director_ring_servers(conf);
	engine_ring_reload(
	    d->engine, router_now_ms(), servers, conf->director_server_count);
	free(servers);
}

/* -- life cycle ----------------------------------------------------------- */

struct director *
director_new(const struct conf *conf, char **error_r)
{
	struct director *d = xcalloc(1, sizeof(*d));
	struct engine_settings set = {
	    .method = conf->hashing == CONF_HASHING_DOVECOT
		? SELECT_METHOD_DOVECOT
		: SELECT_METHOD_RENDEZVOUS,
	    .user_expire_secs = (uint32_t)(conf->user_expire_ms / 1000),
	    .kick_delay_ms = conf->user_kick_delay_ms,
	    .max_parallel_moves = conf->max_parallel_moves,
	};
	struct router_hooks hooks = {
	    .save_hosts = director_on_save_hosts,
	    .admin_reply = director_on_admin_reply,
	    .schedule = director_on_schedule,
	    .ring_connect = director_on_ring_connect,
	    .ring_close = director_on_ring_close,
	    .ring_starttls = director_on_ring_starttls,
	    .ring_flush = director_on_ring_flush,
	    .context = d,
	};
	const char *err = NULL;

	d->conf = conf;
	d->userhash = userhash_template_new(conf->username_hash, &err);
	if (d->userhash == NULL) {
		*error_r = xasprintf("director_username_hash: %s", err);
		director_free(&d);
		return NULL;
	}
	d->engine = engine_new(&set, router_now_ms());
	engine_configure(d->engine, router_now_ms(), conf->mail_server_entries,
	    conf->mail_server_count);
	director_load_state(d);
	d->router = router_new(d->engine, &hooks, d->userhash,
	    conf->auth_master_user_separator, conf->recipient_delimiter);
	proxy_env_init(&d->proxy);
	d->proxy.conf = conf;
	d->proxy.router = d->router;
	d->proxy.connlimit =
	    connlimit_new((uint64_t)arc4random() << 32 | arc4random(),
		conf->max_connections_per_ip_ipv6_prefix);
	d->proxy.penalty =
	    penalty_new((uint64_t)arc4random() << 32 | arc4random());
	d->proxy.backend_failed = director_on_backend_failed;
	d->proxy.backend_failed_ctx = d;
	if (director_tls_init(d, conf, error_r) == -1) {
		director_free(&d);
		return NULL;
	}
	/* reads the test account's file: before the privilege drop */
	d->checker = checker_new(d, error_r);
	if (d->checker == NULL) {
		director_free(&d);
		return NULL;
	}
	if (director_ring_start(d, error_r) == -1) {
		director_free(&d);
		return NULL;
	}
	if (gethostname(d->proxy.hostname, sizeof(d->proxy.hostname)) == -1 ||
	    d->proxy.hostname[0] == '\0')
		strlcpy(
		    d->proxy.hostname, "localhost", sizeof(d->proxy.hostname));
	d->proxy.hostname[sizeof(d->proxy.hostname) - 1] = '\0';
	d->proxy.session_seq = (uint64_t)arc4random() << 32;
	return d;
}

/* Each worker's splices: the published gate, zero copy as configured,
 * and an even share of the pipes. */
static void
director_worker_splice(struct proxy_env *env, void *arg)
{
	const unsigned int *pipes = arg;

	splice_set_gate(splice_gate_published, NULL);
	splice_configure(env->conf->zero_copy, *pipes);
}

static void
director_workers_splice(struct director *d)
{
	unsigned int pipes =
	    d->conf->zero_copy_pipes / (d->conf->worker_count + 1);

	if (pipes == 0)
		pipes = 1;
	splice_configure(d->conf->zero_copy, pipes);
	workers_run_each(d->workers, director_worker_splice, &pipes);
}

void
director_stats(struct director *d, struct stats *st)
{
	memset(st, 0, sizeof(*st));
	stats_merge(st, &d->proxy.stats);
	if (d->workers != NULL)
		workers_add_stats(d->workers, st);
}

struct director_foreach {
	void (*fn)(void *ctx, const char *proto, enum session_phase phase,
	    const struct ipaddr *backend);
	void *ctx;
};

static void
director_worker_foreach(struct proxy_env *env, void *arg)
{
	struct director_foreach *f = arg;

	session_foreach(env, f->fn, f->ctx);
}

void
director_session_foreach(struct director *d,
    void (*fn)(void *ctx, const char *proto, enum session_phase phase,
	const struct ipaddr *backend),
    void *ctx)
{
	struct director_foreach f = {fn, ctx};

	session_foreach(&d->proxy, fn, ctx);
	if (d->workers != NULL)
		workers_run_each(d->workers, director_worker_foreach, &f);
}

int
director_start(struct director *d, struct event_base *base)
{
	d->base = base;
	d->proxy.base = base;
	d->timer = event_new(base, -1, 0, director_on_timer, d);
	if (d->timer == NULL) {
		log_error("cannot start the director timer");
		return -1;
	}
	if (checker_start(d->checker, base) == -1)
		return -1;
	splice_set_gate(director_splice_gate, d);
	splice_configure(d->conf->zero_copy, d->conf->zero_copy_pipes);
	d->memtrim = memtrim_start(base);
	bevio_presize_fdmap(base, bevio_fd_max());
	if (d->conf->worker_count > 1) {
		d->workers = workers_start(&d->proxy, d->conf->worker_count,
		    base, d->worker_listeners);
		d->worker_listeners = NULL; /* the daemon's array */
		if (d->workers == NULL)
			return -1;
		director_publish_gate(d, router_now_ms());
		director_workers_splice(d);
	}
	router_run(d->router);
	return 0;
}

void
director_reload(struct director *d, const struct conf *conf)
{
	const struct conf *old = d->conf;

	/* restart-only settings never get here (conf_reload_check()) */
	if (strcmp(old->ssl_cert, conf->ssl_cert) != 0 ||
	    strcmp(old->ssl_key, conf->ssl_key) != 0 ||
	    old->backend.tls != conf->backend.tls)
		log_warn("TLS changes need a restart; keeping the old "
			 "certificates and backend TLS mode");
	d->conf = conf;
	d->proxy.conf = conf;
	splice_configure(conf->zero_copy, conf->zero_copy_pipes);
	if (d->workers != NULL) {
		/* no worker uses the old one once this returns */
		workers_set_conf(d->workers, conf);
		director_workers_splice(d);
	}
	engine_reload(d->engine, router_now_ms(), conf->mail_server_entries,
	    conf->mail_server_count);
	director_ring_reload(d);
	router_run(d->router);
}

void
director_shutdown(struct director *d)
{
	size_t n = engine_session_count(d->engine);

	d->proxy.shutting_down = true;
	checker_free(&d->checker);
	/* the proxies close their own (logged as closed by shutdown); the
	 * engine then has nothing left to kick and fails no one */
	/* the workers close theirs (their ends reach the engine) */
	if (d->workers != NULL)
		workers_free(&d->workers);
	session_close_all(&d->proxy);
	lmtp_proxy_close_all(&d->proxy);
	engine_shutdown(d->engine, router_now_ms());
	router_run(d->router);
	if (n > 0)
		log_info("shutdown: closed %zu proxied sessions", n);
}

void
director_free(struct director **dp)
{
	struct director *d = *dp;

	if (d == NULL)
		return;
	*dp = NULL;
	splice_set_gate(NULL, NULL);
	if (d->timer != NULL)
		event_free(d->timer);
	memtrim_free(&d->memtrim);
	checker_free(&d->checker);
	ring_conn_free_all(d);
	router_free(&d->router);
	engine_free(&d->engine);
	connlimit_free(&d->proxy.connlimit);
	penalty_free(&d->proxy.penalty);
	stats_free(&d->proxy.stats);
	userhash_template_free(&d->userhash);
	tls_ctx_free(&d->proxy.tls_server);
	tls_ctx_free(&d->proxy.tls_client);
	tls_ctx_free(&d->ring_tls_server);
	tls_ctx_free(&d->ring_tls_client);
	free(d->state_path);
	free(d);
}

int
director_user_hash(const struct director *d, const char *username,
    uint32_t *hash_r, const char **error_r)
{
	return router_user_hash(d->router, username, hash_r, error_r);
}

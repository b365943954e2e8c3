/*
 * director.c - the routing state of a running directord (see director.h).
 *
 * The tick runs once a second: it expires idle users, and every
 * expire/4 seconds it refreshes the assignment of every user who still
 * has a live session, so that a long IMAP IDLE never loses its backend
 * to expiry while another login of the same user could land elsewhere.
 */
#include "compat.h"

#include <sys/time.h>

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "connlimit.h"
#include "director.h"
#include "hosts.h"
#include "lmtp_proxy.h"
#include "log.h"
#include "moves.h"
#include "registry.h"
#include "session.h"
#include "tls.h"
#include "userhash.h"
#include "users.h"
#include "xmalloc.h"

#define DIRECTOR_TICK_SECS 1

static const char *const director_tls_versions[] = {
    [CONF_SSL_TLSV1] = "TLSv1",
    [CONF_SSL_TLSV1_1] = "TLSv1.1",
    [CONF_SSL_TLSV1_2] = "TLSv1.2",
    [CONF_SSL_TLSV1_3] = "TLSv1.3",
};

uint32_t
director_now(void)
{
	return (uint32_t)time(NULL);
}

static enum select_method
director_method(const struct conf *conf)
{
	return conf->hashing == CONF_HASHING_DOVECOT ? SELECT_METHOD_DOVECOT
						     : SELECT_METHOD_RENDEZVOUS;
}

static void
director_add_backend(struct director *d, const struct hosts_spec_entry *e)
{
	const char *err = NULL;
	char ip[IPADDR_STR_MAX];

	if (hosts_add(d->hosts, &e->ip, e->tag, HOST_VHOST_COUNT_DEFAULT,
		&err) == NULL) {
		log_error("backend %s: %s", ipaddr_format(&e->ip, ip), err);
		return;
	}
	log_info("backend %s%s%s added", ipaddr_format(&e->ip, ip),
	    e->tag[0] != '\0' ? "@" : "", e->tag);
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

		d->tls_server = tls_server_ctx_new(&set, error_r);
		if (d->tls_server == NULL)
			return -1;
	}
	if (conf->backend.tls != CONF_TLS_NO) {
		d->tls_client = tls_client_ctx_new(conf->backend.ssl_verify,
		    conf->ssl_ca[0] != '\0' ? conf->ssl_ca : NULL, version,
		    error_r);
		if (d->tls_client == NULL)
			return -1;
	}
	return 0;
}

struct director *
director_new(const struct conf *conf, char **error_r)
{
	struct director *d = xcalloc(1, sizeof(*d));
	const char *err = NULL;
	size_t i;

	d->conf = conf;
	d->userhash = userhash_template_new(conf->username_hash, &err);
	if (d->userhash == NULL) {
		*error_r = xasprintf("director_username_hash: %s", err);
		director_free(&d);
		return NULL;
	}
	d->hosts = hosts_new(
	    director_method(conf), (uint32_t)(conf->user_expire_ms / 1000));
	for (i = 0; i < conf->mail_server_count; i++)
		director_add_backend(d, &conf->mail_server_entries[i]);
	director_load_state(d);
	d->registry = registry_new(session_kick);
	d->connlimit = connlimit_new();
	if (director_tls_init(d, conf, error_r) == -1) {
		director_free(&d);
		return NULL;
	}
	if (gethostname(d->hostname, sizeof(d->hostname)) == -1 ||
	    d->hostname[0] == '\0')
		strlcpy(d->hostname, "localhost", sizeof(d->hostname));
	d->hostname[sizeof(d->hostname) - 1] = '\0';
	d->session_seq = (uint64_t)arc4random() << 32;
	return d;
}

static void
director_refresh_one(uint32_t user_hash, const char *tag,
    const struct ipaddr *backend, void *context)
{
	director_refresh_user(context, user_hash, tag, backend);
}

static void
director_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct director *d = arg;
	uint32_t now = director_now();
	uint32_t every = (uint32_t)(d->conf->user_expire_ms / 1000 / 4);
	size_t n;

	if (every == 0)
		every = 1;
	/* refresh before expiring, so live users are never dropped */
	if (now - d->last_refresh >= every || now < d->last_refresh) {
		registry_foreach_user(d->registry, director_refresh_one, d);
		d->last_refresh = now;
	}
	n = hosts_expire_users(d->hosts, now);
	if (n > 0)
		log_debug("%zu idle users expired", n);
}

int
director_start(struct director *d, struct event_base *base)
{
	struct timeval tv = {.tv_sec = DIRECTOR_TICK_SECS};

	d->base = base;
	d->last_refresh = director_now();
	d->tick = event_new(base, -1, EV_PERSIST, director_on_tick, d);
	if (d->tick == NULL || event_add(d->tick, &tv) == -1) {
		log_error("cannot start the director timer");
		return -1;
	}
	return 0;
}

static const struct hosts_spec_entry *
director_spec_find(const struct conf *conf, const struct ipaddr *ip)
{
	size_t i;

	for (i = 0; i < conf->mail_server_count; i++) {
		if (ipaddr_equals(&conf->mail_server_entries[i].ip, ip))
			return &conf->mail_server_entries[i];
	}
	return NULL;
}

void
director_reload(struct director *d, const struct conf *conf)
{
	const struct conf *old = d->conf;
	struct userhash_template *tmpl;
	const struct hosts_spec_entry *e;
	struct host *host;
	const char *err = NULL;
	size_t i;

	/* backends that left the configured list */
	for (i = 0; i < old->mail_server_count; i++) {
		e = &old->mail_server_entries[i];
		if (director_spec_find(conf, &e->ip) != NULL)
			continue;
		host = hosts_lookup(d->hosts, &e->ip);
		if (host == NULL)
			continue;
		moves_retire_host(
		    d, &host, "no longer in director_mail_servers");
	}
	for (i = 0; i < conf->mail_server_count; i++) {
		e = &conf->mail_server_entries[i];
		host = hosts_lookup(d->hosts, &e->ip);
		if (host == NULL) {
			director_add_backend(d, e);
		} else if (strcmp(hosts_tag_name(host->tag), e->tag) != 0) {
			(void)moves_retag_host(d, host, e->tag,
			    "tag changed in director_mail_servers");
		}
	}
	if (old->hashing != conf->hashing)
		log_warn("director_hashing changes need a restart; still "
			 "using %s",
		    conf_hashing_name(old->hashing));
	if (old->user_expire_ms != conf->user_expire_ms)
		log_warn("director_user_expire changes need a restart");
	if (strcmp(old->ssl_cert, conf->ssl_cert) != 0 ||
	    strcmp(old->ssl_key, conf->ssl_key) != 0 ||
	    old->backend.tls != conf->backend.tls)
		log_warn("TLS changes need a restart; keeping the old "
			 "certificates and backend TLS mode");
	/* the removed-at-runtime records follow the configured list */
	d->conf = conf;
	director_hosts_changed(d);
	d->conf = old;
	tmpl = userhash_template_new(conf->username_hash, &err);
	if (tmpl != NULL) {
		userhash_template_free(&d->userhash);
		d->userhash = tmpl;
	}
	d->conf = conf;
}

void
director_shutdown(struct director *d)
{
	size_t n;

	d->shutting_down = true;
	n = registry_session_count(d->registry);
	session_close_all(d);
	lmtp_proxy_close_all(d);
	moves_free_all(d);
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
	if (d->tick != NULL)
		event_free(d->tick);
	registry_free(&d->registry);
	connlimit_free(&d->connlimit);
	hosts_free(&d->hosts);
	userhash_template_free(&d->userhash);
	tls_ctx_free(&d->tls_server);
	tls_ctx_free(&d->tls_client);
	free(d->state_path);
	free(d);
}

int
director_user_hash(const struct director *d, const char *username,
    uint32_t *hash_r, const char **error_r)
{
	return userhash_compute(d->userhash, username,
	    d->conf->auth_master_user_separator, hash_r, error_r);
}

struct host *
director_route(struct director *d, const char *tag, uint32_t user_hash)
{
	bool created;

	return hosts_route_user(
	    d->hosts, tag, user_hash, director_now(), &created);
}

void
director_refresh_user(struct director *d, uint32_t user_hash, const char *tag,
    const struct ipaddr *backend)
{
	struct host_tag *t = hosts_tag_lookup(d->hosts, tag);
	struct host *host;
	struct users *users;
	struct user *u;
	uint32_t now = director_now();

	if (t == NULL)
		return;
	users = hosts_tag_users(t);
	u = users_lookup(users, user_hash, now);
	if (u != NULL) {
		/* a user moved elsewhere keeps its new assignment */
		host = hosts_lookup_id(d->hosts, u->host);
		if (host != NULL && ipaddr_equals(&host->ip, backend))
			users_refresh(users, u, now, now);
		return;
	}
	/* expired or flushed while connected: it is still on backend */
	host = hosts_lookup(d->hosts, backend);
	if (host != NULL && host->tag == t)
		(void)users_add(users, user_hash, host->id, now, now);
}

void
director_session_id(struct director *d, char *buf, size_t size)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint64_t seq = ++d->session_seq;
	uint32_t r = arc4random();
	size_t i;

	for (i = 0; i + 1 < size && i < 16; i++) {
		unsigned int v;

		if (i < 10) {
			v = (unsigned int)(seq & 63);
			seq >>= 6;
		} else {
			v = r & 63;
			r >>= 6;
		}
		buf[i] = b64[v];
	}
	buf[i] = '\0';
}

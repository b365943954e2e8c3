/*
 * conf_check.c - the checks that need the whole configuration: listeners
 * (protocol, port, TLS and PROXY requirements, no address:port twice, one
 * ring listener), director_servers against the ring listener, the routing
 * settings; and the comparisons of two configurations that SIGHUP needs:
 * whether the listening sockets are the same, and whether a reload may
 * replace the running configuration at all.
 *
 * Every message starts with the file:line of the block or setting it is
 * about.
 */
#include "compat.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <unistd.h>

#include "conf_impl.h"
#include "ring.h"
#include "sasl.h"
#include "xmalloc.h"

static int
conf_validate_listener(const struct conf_builder *b, size_t idx, char **error_r)
{
	const struct conf *conf = b->conf;
	const struct conf_listener *l = &conf->listeners[idx];

	if (!b->protocol_set[idx])
		return conf_err(error_r,
		    "%s: listen %s: protocol is missing "
		    "(the block name is not imap, pop3, lmtp, sieve or "
		    "ring)",
		    l->loc, l->name);
	if (l->port == 0)
		return conf_err(
		    error_r, "%s: listen %s: port is missing", l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_ADMIN &&
	    (l->tls != CONF_TLS_NO || l->haproxy))
		return conf_err(error_r,
		    "%s: listen %s: the admin protocol has no TLS or PROXY "
		    "header (tls and haproxy must be no)",
		    l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_ADMIN && conf->admin_net_count == 0)
		return conf_err(error_r,
		    "%s: listen %s: an admin TCP listener requires "
		    "admin_networks (who may connect)",
		    l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_METRICS &&
	    (l->tls != CONF_TLS_NO || l->haproxy))
		return conf_err(error_r,
		    "%s: listen %s: the metrics endpoint is plain HTTP "
		    "(tls and haproxy must be no)",
		    l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_METRICS &&
	    conf->metrics_net_count == 0)
		return conf_err(error_r,
		    "%s: listen %s: a metrics listener requires "
		    "metrics_networks (who may scrape it)",
		    l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_RING && l->tls == CONF_TLS_IMPLICIT)
		return conf_err(error_r,
		    "%s: listen %s: ring links negotiate TLS in the ring "
		    "protocol: use tls = starttls (or no)",
		    l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_RING && l->tls != CONF_TLS_NO &&
	    conf->ssl_ca[0] == '\0')
		return conf_err(error_r,
		    "%s: listen %s: tls = starttls on the ring requires ssl_ca "
		    "(the CA that signs every director's certificate)",
		    l->loc, l->name);
	if (l->protocol == CONF_PROTOCOL_RING && l->haproxy)
		return conf_err(error_r,
		    "%s: listen %s: haproxy is not "
		    "supported on ring listeners",
		    l->loc, l->name);
	if (l->tls != CONF_TLS_NO &&
	    (conf->ssl_cert[0] == '\0' || conf->ssl_key[0] == '\0'))
		return conf_err(error_r,
		    "%s: listen %s: tls = %s requires "
		    "ssl_cert and ssl_key",
		    l->loc, l->name, conf_tls_name(l->tls));
	if (l->haproxy && conf->trusted_network_count == 0)
		return conf_err(error_r,
		    "%s: listen %s: haproxy = yes "
		    "requires haproxy_trusted_networks",
		    l->loc, l->name);
	return 0;
}

static int
conf_validate_listeners(const struct conf_builder *b,
    const struct conf_listener **ring_r, char **error_r)
{
	const struct conf *conf = b->conf;
	const struct conf_listener *l, *m, *ring = NULL;
	size_t i, j, ai, aj;

	for (i = 0; i < conf->listener_count; i++) {
		if (conf_validate_listener(b, i, error_r) == -1)
			return -1;
		l = &conf->listeners[i];
		if (l->protocol == CONF_PROTOCOL_RING) {
			if (ring != NULL)
				return conf_err(error_r,
				    "%s: listen %s: a "
				    "second ring listener (first: %s at %s)",
				    l->loc, l->name, ring->name, ring->loc);
			ring = l;
		}
		for (j = 0; j < i; j++) {
			m = &conf->listeners[j];
			if (m->port != l->port)
				continue;
			for (ai = 0; ai < l->address_count; ai++) {
				for (aj = 0; aj < m->address_count; aj++) {
					if (strcmp(l->addresses[ai],
						m->addresses[aj]) != 0)
						continue;
					return conf_err(error_r,
					    "%s: listen "
					    "%s: %s port %u is also used by "
					    "listen %s at %s",
					    l->loc, l->name, l->addresses[ai],
					    l->port, m->name, m->loc);
				}
			}
		}
	}
	*ring_r = ring;
	return 0;
}

/* Parses one director_servers entry: IP, IP:PORT, [IPv6]:PORT or IPv6. */
static int
conf_server_parse(const char *word, uint16_t default_port,
    struct conf_director_server *server_r)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *end, *port = NULL, *colon;
	uint8_t addr[16];
	size_t len;
	int family;

	if (word[0] == '[') {
		end = strchr(word, ']');
		if (end == NULL)
			return -1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
		word++;
		len = (size_t)(end - word);
	} else {
		colon = strchr(word, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			port = colon + 1;
			len = (size_t)(colon - word);
		} else {
			len = strlen(word);
		}
	}
	if (len >= sizeof(host))
		return -1;
	memcpy(host, word, len);
	host[len] = '\0';
	if (conf_ip_parse(host, &family, addr) == -1)
		return -1;
	server_r->port = default_port;
	if (port != NULL && conf_parse_port(port, &server_r->port) == -1)
		return -1;
	server_r->address = conf_ip_text(family, addr);
	return 0;
}

/* A ring needs users to outlive its moves and a paused director. */
static int
conf_validate_ring_expire(const struct conf_builder *b, char **error_r)
{
	const struct conf *conf = b->conf;
	uint64_t min = ring_user_expire_min_ms(
	    conf->ping_idle_timeout_ms, RING_USER_MOVE_TIMEOUT_MS);
	/* the line to change: the expiry's, or the ping timeout that made
	 * the default expiry too short */
	const char *name = conf_builder_is_set(b, "director_user_expire") ||
		!conf_builder_is_set(b, "director_ping_idle_timeout")
	    ? "director_user_expire"
	    : "director_ping_idle_timeout";

	if (conf->user_expire_ms >= min)
		return 0;
	return conf_err(error_r,
	    "%s: director_user_expire must be at least %llu s in a ring "
	    "(director_servers is set): twice the ring's %u s move timeout "
	    "and 4 times director_ping_idle_timeout, so that no director "
	    "forgets a user while it is being moved or while the director "
	    "holding its sessions is paused",
	    conf_builder_loc(b, name), (unsigned long long)((min + 999) / 1000),
	    RING_USER_MOVE_TIMEOUT_MS / 1000);
}

static int
conf_validate_servers(const struct conf_builder *b,
    const struct conf_listener *ring, char **error_r)
{
	struct conf *conf = b->conf;
	struct conf_director_server server;
	char **words;
	size_t i, j, n;

	words = conf_split(conf->servers, &n);
	if (n == 0) {
		free(words);
		return 0;
	}
	if (ring == NULL) {
		conf_split_free(words, n);
		return conf_err(error_r,
		    "%s: director_servers is set but "
		    "there is no ring listener (listen ring { port = ... })",
		    conf->servers_loc);
	}
	if (n > CONF_LIST_MAX) {
		conf_split_free(words, n);
		return conf_err(error_r,
		    "%s: director_servers: more than %d "
		    "entries",
		    conf->servers_loc, CONF_LIST_MAX);
	}
	conf->director_servers = xcalloc(n, sizeof(*conf->director_servers));
	for (i = 0; i < n; i++) {
		if (conf_server_parse(words[i], ring->port, &server) == -1) {
			conf_err(error_r,
			    "%s: director_servers: invalid entry "
			    "'%s' (expected IP, IP:PORT or [IPv6]:PORT; host "
			    "names are not supported)",
			    conf->servers_loc, words[i]);
			conf_split_free(words, n);
			return -1;
		}
		for (j = 0; j < conf->director_server_count; j++) {
			if (conf->director_servers[j].port == server.port &&
			    strcmp(conf->director_servers[j].address,
				server.address) == 0)
				break;
		}
		if (j < conf->director_server_count) {
			free(server.address); /* duplicates are ignored */
			continue;
		}
		conf->director_servers[conf->director_server_count++] = server;
	}
	conf_split_free(words, n);
	return conf_validate_ring_expire(b, error_r);
}

/* The LMTP spool: a directory of its own, budgets that fit. */
static int
conf_validate_lmtp(struct conf_builder *b, char **error_r)
{
	struct conf *conf = b->conf;
	size_t n;

	if (conf->lmtp_spool_dir[0] == '\0') {
		free(conf->lmtp_spool_dir);
		conf->lmtp_spool_dir =
		    xasprintf("%s/%s", conf->state_dir, CONF_LMTP_SPOOL_SUBDIR);
	}
	/* the spool may fill its file system: not the one directory
	 * whose file must always be writable */
	n = strlen(conf->state_dir);
	while (n > 1 && conf->state_dir[n - 1] == '/')
		n--;
	if (strncmp(conf->lmtp_spool_dir, conf->state_dir, n) == 0 &&
	    strspn(conf->lmtp_spool_dir + n, "/") ==
		strlen(conf->lmtp_spool_dir + n))
		return conf_err(error_r,
		    "%s: lmtp_spool_dir must not be state_dir (%s); use "
		    "a directory of its own, ideally on another file system",
		    conf_builder_loc(b, "lmtp_spool_dir"), conf->state_dir);
	if (conf->lmtp_spool_memory_total < conf->lmtp_spool_memory)
		return conf_err(error_r,
		    "%s: lmtp_spool_memory_total must be at least "
		    "lmtp_spool_memory",
		    conf_builder_loc(b, "lmtp_spool_memory_total"));
	return 0;
}

/* workers: "auto" (the CPUs this process may run on) or 1 to
 * CONF_WORKERS_MAX. */
static int
conf_validate_workers(struct conf_builder *b, char **error_r)
{
	struct conf *conf = b->conf;
	const char *errstr;
	long n;

	if (strcmp(conf->workers, "auto") == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		conf->worker_count = n < 1 ? 1
		    : n > CONF_WORKERS_MAX ? CONF_WORKERS_MAX
					   : (unsigned int)n;
		return 0;
	}
	n = (long)strtonum(conf->workers, 1, CONF_WORKERS_MAX, &errstr);
	if (errstr != NULL)
		return conf_err(error_r,
		    "%s: workers: '%s' is not auto or a number from 1 to %d",
		    conf_builder_loc(b, "workers"), conf->workers,
		    CONF_WORKERS_MAX);
	conf->worker_count = (unsigned int)n;
	return 0;
}

/* auth_mechanisms: names we know. */
static int
conf_validate_auth(struct conf_builder *b, char **error_r)
{
	struct conf *conf = b->conf;
	char bad[80];

	if (sasl_mechs_parse(conf->auth_mechanisms, &conf->auth_mechs, bad,
		sizeof(bad)) == 0)
		return 0;
	if (bad[0] == '\0')
		return conf_err(error_r,
		    "%s: auth_mechanisms: no mechanism (known: plain login "
		    "oauthbearer xoauth2)",
		    conf_builder_loc(b, "auth_mechanisms"));
	return conf_err(error_r,
	    "%s: auth_mechanisms: unknown mechanism '%s' (known: plain login "
	    "oauthbearer xoauth2)",
	    conf_builder_loc(b, "auth_mechanisms"), bad);
}

int
conf_validate(struct conf_builder *b, unsigned int last_line, char **error_r)
{
	struct conf *conf = b->conf;
	const struct conf_listener *ring = NULL;

	if ((conf->ssl_cert[0] == '\0') != (conf->ssl_key[0] == '\0')) {
		if (conf->ssl_cert[0] != '\0')
			return conf_err(error_r,
			    "%s: ssl_cert is set but "
			    "ssl_key is not",
			    conf_builder_loc(b, "ssl_cert"));
		return conf_err(error_r,
		    "%s: ssl_key is set but ssl_cert "
		    "is not",
		    conf_builder_loc(b, "ssl_key"));
	}
	/* with no CA file every publicly trusted certificate would pass */
	if (conf->backend.ssl_verify && conf->ssl_ca[0] == '\0')
		return conf_err(error_r,
		    "%s: ssl_verify = yes requires ssl_ca (the CA that "
		    "signed the backends' certificates)",
		    conf_builder_loc(b, "ssl_verify"));
	if (conf->listener_count == 0)
		return conf_err(error_r,
		    "%s:%u: no listen block: directord "
		    "would not accept any connection",
		    conf->path, last_line);
	if (conf_validate_listeners(b, &ring, error_r) == -1)
		return -1;
	if (conf_validate_servers(b, ring, error_r) == -1 ||
	    conf_validate_lmtp(b, error_r) == -1 ||
	    conf_validate_auth(b, error_r) == -1 ||
	    conf_validate_workers(b, error_r) == -1)
		return -1;
	return conf_validate_routing(conf, error_r);
}

static bool
conf_listener_equal(
    const struct conf_listener *a, const struct conf_listener *b)
{
	size_t i;

	if (a->protocol != b->protocol || a->port != b->port ||
	    a->tls != b->tls || a->haproxy != b->haproxy ||
	    a->address_count != b->address_count)
		return false;
	for (i = 0; i < a->address_count; i++) {
		if (strcmp(a->addresses[i], b->addresses[i]) != 0)
			return false;
	}
	return true;
}

bool
conf_listeners_equal(const struct conf *a, const struct conf *b)
{
	const struct conf_listener *m;
	size_t i;

	if (a->listener_count != b->listener_count)
		return false;
	for (i = 0; i < a->listener_count; i++) {
		m = conf_find_listener(b, a->listeners[i].name);
		if (m == NULL || !conf_listener_equal(&a->listeners[i], m))
			return false;
	}
	return true;
}

/* The value of top-level setting s in conf as text ("'%Lu'", "dovecot",
 * "900000 ms"), malloc'd. */
static char *
conf_value_text(const struct conf_setting *s, const struct conf *conf)
{
	const void *field = (const char *)conf + s->offset;
	unsigned int idx;

	switch (s->type) {
	case CONF_TYPE_ENUM:
		idx = *(const unsigned int *)field;
		return xstrdup(idx < s->name_count ? s->names[idx] : "?");
	case CONF_TYPE_TIME:
		return xasprintf(
		    "%llu ms", (unsigned long long)*(const uint64_t *)field);
	case CONF_TYPE_UINT:
		return xasprintf("%u", *(const unsigned int *)field);
	case CONF_TYPE_STRING:
	case CONF_TYPE_PATH:
		return xasprintf("'%s'", *(char *const *)field);
	default:
		/* only the types above are flagged restart */
		return xstrdup("?");
	}
}

int
conf_reload_check(
    const struct conf *old, const struct conf *new, char **error_r)
{
	const struct conf_setting *s;
	char *before, *after, *msg = NULL, *prev;
	const char *loc;
	size_t i;

	for (i = 0; i < conf_setting_count; i++) {
		s = &conf_settings[i];
		if (!s->restart || s->scope != CONF_SCOPE_TOP)
			continue;
		before = conf_value_text(s, old);
		after = conf_value_text(s, new);
		if (strcmp(before, after) != 0) {
			loc = s->has_loc ? *(char *const *)((const char *)new +
					       s->loc_offset)
					 : NULL;
			prev = msg;
			msg = xasprintf("%s%s%s: %s changed from %s to %s, "
					"which needs a restart",
			    prev != NULL ? prev : "", prev != NULL ? "; " : "",
			    loc != NULL ? loc : new->path, s->name, before,
			    after);
			free(prev);
		}
		free(before);
		free(after);
	}
	if (msg == NULL)
		return 0;
	*error_r = msg;
	return -1;
}

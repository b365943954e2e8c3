/*
 * conf.c - directord settings: the table of known settings, the defaults,
 * the builder that applies the items of the syntax reader, and the public
 * entry points (parse, load, free, names).
 *
 * A struct conf under construction stays in src/conf (conf_impl.h);
 * callers only ever get one that has every default and has passed
 * conf_validate().  Later assignments of a setting replace earlier ones
 * (so an included file can be overridden); listener names and the backend
 * block are unique.
 */
#include "compat.h"

#include <errno.h>
#include <stdio.h>

#include "conf_impl.h"
#include "conf_syntax.h"
#include "xmalloc.h"

/* Listeners in one configuration. */
#define CONF_LISTENERS_MAX 256

static const char *const conf_protocol_names[] = {
    "imap",
    "pop3",
    "lmtp",
    "ring",
    "admin",
    "metrics",
    "sieve",
};
static const char *const conf_tls_names[] = {
    "no",
    "starttls",
    "implicit",
};
static const char *const conf_hashing_names[] = {
    "rendezvous",
    "dovecot",
};
static const char *const conf_ssl_names[] = {
    "TLSv1",
    "TLSv1.1",
    "TLSv1.2",
    "TLSv1.3",
};

/* Enum members are written through an unsigned int pointer. */
static_assert(sizeof(enum conf_tls) == sizeof(unsigned int), "enum size");

#define TOP(n, t, f)                                                           \
	.name = n, .scope = CONF_SCOPE_TOP, .type = t,                         \
	.offset = offsetof(struct conf, f)
#define LISTEN(n, t, f)                                                        \
	.name = n, .scope = CONF_SCOPE_LISTEN, .type = t,                      \
	.offset = offsetof(struct conf_listener, f)
#define BACKEND(n, t, f)                                                       \
	.name = n, .scope = CONF_SCOPE_BACKEND, .type = t,                     \
	.offset = offsetof(struct conf_backend, f)
#define ENUM(tbl) .names = tbl, .name_count = nitems(tbl)
#define LOC(f) .has_loc = true, .loc_offset = offsetof(struct conf, f)
#define NETS(n, c)                                                             \
	.nets_offset = offsetof(struct conf, n),                               \
	.count_offset = offsetof(struct conf, c)

const struct conf_setting conf_settings[] = {
    {TOP("user", CONF_TYPE_STRING, user), .min = 1},
    {TOP("state_dir", CONF_TYPE_PATH, state_dir), .min = 1},
    {TOP("admin_socket", CONF_TYPE_PATH, admin_socket), .min = 1},
    {TOP("pid_file", CONF_TYPE_PATH, pid_file), .min = 1},
    {TOP("log_level", CONF_TYPE_LOG_LEVEL, log_level)},
    {TOP("director_mail_servers", CONF_TYPE_STRING, mail_servers),
	LOC(mail_servers_loc)},
    {TOP("director_servers", CONF_TYPE_STRING, servers), LOC(servers_loc)},
    {TOP("director_hashing", CONF_TYPE_ENUM, hashing), ENUM(conf_hashing_names),
	.restart = true},
    {TOP("director_user_expire", CONF_TYPE_TIME, user_expire_ms),
	.min = CONF_USER_EXPIRE_MIN_MS, .restart = true},
    {TOP("director_username_hash", CONF_TYPE_STRING, username_hash),
	LOC(username_hash_loc), .min = 1, .restart = true},
    {TOP("director_user_kick_delay", CONF_TYPE_TIME, user_kick_delay_ms)},
    {TOP("director_max_parallel_moves", CONF_TYPE_UINT, max_parallel_moves),
	.min = 1},
    {TOP("director_max_parallel_kicks", CONF_TYPE_UINT, max_parallel_kicks),
	.min = 1},
    {TOP("director_ping_idle_timeout", CONF_TYPE_TIME, ping_idle_timeout_ms),
	.min = 1000},
    {TOP("director_ping_max_timeout", CONF_TYPE_TIME, ping_max_timeout_ms),
	.min = 1000},
    {TOP("director_output_buffer_size", CONF_TYPE_SIZE, output_buffer_size),
	.min = 1024},
    {TOP("auth_master_user_separator", CONF_TYPE_STRING,
	 auth_master_user_separator),
	.restart = true},
    {TOP("recipient_delimiter", CONF_TYPE_STRING, recipient_delimiter),
	.restart = true},
    {TOP("ssl_cert", CONF_TYPE_PATH, ssl_cert)},
    {TOP("ssl_key", CONF_TYPE_PATH, ssl_key)},
    {TOP("ssl_ca", CONF_TYPE_PATH, ssl_ca)},
    {TOP("ssl_min_protocol", CONF_TYPE_ENUM, ssl_min_protocol),
	ENUM(conf_ssl_names)},
    {TOP("login_timeout", CONF_TYPE_TIME, login_timeout_ms), .min = 1000},
    {TOP("disable_plaintext_auth", CONF_TYPE_BOOL, disable_plaintext_auth)},
    {TOP("auth_mechanisms", CONF_TYPE_STRING, auth_mechanisms), .min = 1},
    {TOP("haproxy_trusted_networks", CONF_TYPE_NETWORKS,
	 haproxy_trusted_networks),
	NETS(trusted_networks, trusted_network_count)},
    {TOP("admin_networks", CONF_TYPE_NETWORKS, admin_networks),
	NETS(admin_nets, admin_net_count)},
    {TOP("director_ring_plaintext_networks", CONF_TYPE_NETWORKS,
	 ring_plaintext_networks),
	NETS(ring_plaintext_nets, ring_plaintext_net_count)},
    {TOP("admin_socket_mode", CONF_TYPE_UINT, admin_socket_mode), .max = 0777,
	.octal = true},
    {TOP("max_connections", CONF_TYPE_UINT, max_connections), .min = 1},
    {TOP("max_connections_per_ip", CONF_TYPE_UINT, max_connections_per_ip)},
    {TOP("max_connections_per_ip_ipv6_prefix", CONF_TYPE_UINT,
	 max_connections_per_ip_ipv6_prefix),
	.min = 1, .max = 128, .restart = true},
    {TOP("lmtp_max_recipients", CONF_TYPE_UINT, lmtp_max_recipients), .min = 1},
    {TOP("lmtp_max_message_size", CONF_TYPE_SIZE, lmtp_max_message_size)},
    {TOP("lmtp_spool_memory", CONF_TYPE_SIZE, lmtp_spool_memory)},
    {TOP("lmtp_backend_timeout", CONF_TYPE_TIME, lmtp_backend_timeout_ms),
	.min = 1000},
    {TOP("lmtp_transaction_timeout", CONF_TYPE_TIME,
	 lmtp_transaction_timeout_ms),
	.min = 1000},
    {TOP("lmtp_spool_memory_total", CONF_TYPE_SIZE, lmtp_spool_memory_total)},
    {TOP("lmtp_spool_disk_total", CONF_TYPE_SIZE, lmtp_spool_disk_total)},
    {TOP("lmtp_spool_dir", CONF_TYPE_PATH, lmtp_spool_dir)},
    {TOP("health_check", CONF_TYPE_BOOL, health_check)},
    {TOP("zero_copy", CONF_TYPE_BOOL, zero_copy)},
    {TOP("workers", CONF_TYPE_STRING, workers), .min = 1, .restart = true},
    {TOP("zero_copy_pipes", CONF_TYPE_UINT, zero_copy_pipes), .min = 1,
	.max = 65536, .restart = true},
    {TOP("health_check_interval", CONF_TYPE_TIME, health_check_interval_ms),
	.min = 100},
    {TOP("health_check_timeout", CONF_TYPE_TIME, health_check_timeout_ms),
	.min = 100},
    {TOP("health_check_recheck_interval", CONF_TYPE_TIME,
	 health_check_recheck_ms),
	.min = 100},
    {TOP("health_check_hold", CONF_TYPE_TIME, health_check_hold_ms)},
    {TOP("health_check_rise", CONF_TYPE_UINT, health_check_rise), .min = 1,
	.max = 100},
    {TOP("health_check_fall", CONF_TYPE_UINT, health_check_fall), .min = 1,
	.max = 100},
    {TOP("health_check_login_file", CONF_TYPE_PATH, health_check_login_file),
	LOC(health_check_login_file_loc)},
    {TOP("metrics_networks", CONF_TYPE_NETWORKS, metrics_networks),
	NETS(metrics_nets, metrics_net_count)},

    {LISTEN("protocol", CONF_TYPE_ENUM, protocol), ENUM(conf_protocol_names)},
    {LISTEN("address", CONF_TYPE_ADDRESSES, addresses)},
    {LISTEN("port", CONF_TYPE_PORT, port)},
    {LISTEN("tls", CONF_TYPE_ENUM, tls), ENUM(conf_tls_names)},
    {LISTEN("haproxy", CONF_TYPE_BOOL, haproxy)},

    {BACKEND("imap_port", CONF_TYPE_PORT, imap_port)},
    {BACKEND("pop3_port", CONF_TYPE_PORT, pop3_port)},
    {BACKEND("lmtp_port", CONF_TYPE_PORT, lmtp_port)},
    {BACKEND("sieve_port", CONF_TYPE_PORT, sieve_port)},
    {BACKEND("tls", CONF_TYPE_ENUM, tls), ENUM(conf_tls_names)},
    {BACKEND("ssl_verify", CONF_TYPE_BOOL, ssl_verify)},
    {BACKEND("proxy_protocol", CONF_TYPE_BOOL, proxy_protocol)},
    {BACKEND("ssl_name", CONF_TYPE_STRING, ssl_name)},
    {BACKEND("connect_timeout", CONF_TYPE_TIME, connect_timeout_ms), .min = 1},
    {BACKEND("idle_timeout", CONF_TYPE_TIME, idle_timeout_ms), .min = 1000},
};

#define CONF_SETTING_COUNT nitems(conf_settings)

const size_t conf_setting_count = CONF_SETTING_COUNT;
static void
conf_listener_clear(struct conf_listener *l)
{
	size_t i;

	for (i = 0; i < l->address_count; i++)
		free(l->addresses[i]);
	free(l->addresses);
	free(l->name);
	free(l->loc);
}

void
conf_free(struct conf **confp)
{
	struct conf *conf = *confp;
	size_t i;

	if (conf == NULL)
		return;
	*confp = NULL;
	for (i = 0; i < CONF_SETTING_COUNT; i++) {
		if (conf_settings[i].scope == CONF_SCOPE_TOP &&
		    (conf_settings[i].type == CONF_TYPE_STRING ||
			conf_settings[i].type == CONF_TYPE_PATH ||
			conf_settings[i].type == CONF_TYPE_LOG_LEVEL ||
			conf_settings[i].type == CONF_TYPE_NETWORKS))
			free(
			    *(char **)((char *)conf + conf_settings[i].offset));
		if (conf_settings[i].has_loc)
			free(*(char **)((char *)conf +
			    conf_settings[i].loc_offset));
	}
	for (i = 0; i < conf->director_server_count; i++)
		free(conf->director_servers[i].address);
	free(conf->director_servers);
	free(conf->mail_server_entries);
	free(conf->trusted_networks);
	free(conf->admin_nets);
	free(conf->metrics_nets);
	free(conf->ring_plaintext_nets);
	for (i = 0; i < conf->listener_count; i++)
		conf_listener_clear(&conf->listeners[i]);
	free(conf->listeners);
	free(conf->backend.ssl_name);
	free(conf->path);
	free(conf);
}

static struct conf *
conf_new_defaults(const char *path)
{
	struct conf *conf = xcalloc(1, sizeof(*conf));

	conf->path = xstrdup(path);
	conf->user = xstrdup("director");
	conf->state_dir = xstrdup("/var/lib/director");
	conf->admin_socket = xstrdup("/run/director/admin");
	conf->pid_file = xstrdup("/run/director/directord.pid");
	conf->log_level = xstrdup("info");
	conf->mail_servers = xstrdup("");
	conf->servers = xstrdup("");
	conf->hashing = CONF_HASHING_RENDEZVOUS;
	conf->user_expire_ms = 15 * 60 * 1000;
	conf->username_hash = xstrdup("%Lu");
	conf->user_kick_delay_ms = 2 * 1000;
	conf->max_parallel_moves = 100;
	conf->max_parallel_kicks = 100;
	conf->ping_idle_timeout_ms = 6 * 1000;
	conf->ping_max_timeout_ms = 60 * 1000;
	conf->output_buffer_size = 10 * 1024 * 1024;
	conf->auth_master_user_separator = xstrdup("");
	conf->recipient_delimiter = xstrdup("+");
	conf->ssl_cert = xstrdup("");
	conf->ssl_key = xstrdup("");
	conf->ssl_ca = xstrdup("");
	conf->ssl_min_protocol = CONF_SSL_TLSV1_2;
	conf->login_timeout_ms = 60 * 1000;
	conf->disable_plaintext_auth = true;
	conf->auth_mechanisms = xstrdup("plain login");
	conf->zero_copy = true;
	conf->workers = xstrdup("1");
	conf->zero_copy_pipes = 256;
	conf->haproxy_trusted_networks = xstrdup("");
	conf->admin_networks = xstrdup("");
	conf->ring_plaintext_networks = xstrdup("");
	conf->admin_socket_mode = 0600;
	conf->max_connections = 10000;
	conf->max_connections_per_ip = 100;
	conf->max_connections_per_ip_ipv6_prefix = 64;
	conf->lmtp_max_recipients = 50;
	conf->lmtp_max_message_size = 50 * 1024 * 1024;
	conf->lmtp_spool_memory = 1024 * 1024;
	conf->lmtp_backend_timeout_ms = 5 * 60 * 1000;
	conf->lmtp_transaction_timeout_ms = 5 * 60 * 1000;
	conf->lmtp_spool_memory_total = 64 * 1024 * 1024;
	conf->lmtp_spool_disk_total = 1024ULL * 1024 * 1024;
	conf->lmtp_spool_dir = xstrdup(""); /* state_dir/lmtp */
	conf->health_check = true;
	conf->health_check_interval_ms = 10 * 1000;
	conf->health_check_timeout_ms = 3 * 1000;
	conf->health_check_recheck_ms = 1000;
	conf->health_check_hold_ms = 30 * 1000;
	conf->health_check_rise = 2;
	conf->health_check_fall = 3;
	conf->health_check_login_file = xstrdup("");
	conf->metrics_networks = xstrdup("");
	conf->backend.imap_port = 143;
	conf->backend.pop3_port = 110;
	conf->backend.lmtp_port = 24;
	conf->backend.sieve_port = 4190;
	conf->backend.tls = CONF_TLS_NO;
	conf->backend.ssl_verify = false;
	conf->backend.ssl_name = xstrdup("");
	conf->backend.connect_timeout_ms = 30 * 1000;
	conf->backend.idle_timeout_ms = 30 * 60 * 1000;
	return conf;
}

static const char *
conf_scope_name(enum conf_scope scope)
{
	switch (scope) {
	case CONF_SCOPE_TOP:
		break;
	case CONF_SCOPE_LISTEN:
		return " in a listen block";
	case CONF_SCOPE_BACKEND:
		return " in the backend block";
	}
	return "";
}

static int
conf_builder_setting(
    struct conf_builder *b, const struct conf_syntax_item *item, char **error_r)
{
	const struct conf_setting *s = NULL;
	void *base;
	char **locp;
	size_t i;

	for (i = 0; i < CONF_SETTING_COUNT; i++) {
		if (conf_settings[i].scope == b->scope &&
		    strcmp(conf_settings[i].name, item->key) == 0) {
			s = &conf_settings[i];
			break;
		}
	}
	if (s == NULL)
		return conf_err(error_r, "unknown setting '%s'%s", item->key,
		    conf_scope_name(b->scope));
	switch (b->scope) {
	case CONF_SCOPE_LISTEN:
		base = &b->conf->listeners[b->conf->listener_count - 1];
		break;
	case CONF_SCOPE_BACKEND:
		base = &b->conf->backend;
		break;
	case CONF_SCOPE_TOP:
	default:
		base = b->conf;
		break;
	}
	if (conf_apply(b, s, base, item->value, error_r) == -1)
		return -1;
	if (b->scope != CONF_SCOPE_LISTEN) {
		free(b->locs[i]);
		b->locs[i] = xasprintf("%s:%u", item->file, item->line);
		if (s->has_loc) {
			locp = (char **)((char *)b->conf + s->loc_offset);
			free(*locp);
			*locp = xstrdup(b->locs[i]);
		}
	}
	return 0;
}

static bool
conf_protocol_lookup(const char *name, enum conf_protocol *protocol_r)
{
	size_t i;

	for (i = 0; i < nitems(conf_protocol_names); i++) {
		if (strcmp(name, conf_protocol_names[i]) == 0) {
			*protocol_r = (enum conf_protocol)i;
			return true;
		}
	}
	return false;
}

static int
conf_builder_open(
    struct conf_builder *b, const struct conf_syntax_item *item, char **error_r)
{
	struct conf *conf = b->conf;
	struct conf_listener *l;
	const struct conf_listener *old;

	if (item->depth > 0)
		return conf_err(
		    error_r, "'%s' block inside another block", item->key);
	if (strcmp(item->key, "backend") == 0) {
		if (item->value != NULL)
			return conf_err(
			    error_r, "the backend block takes no name");
		if (b->backend_loc != NULL)
			return conf_err(error_r,
			    "duplicate backend block (first at %s)",
			    b->backend_loc);
		b->backend_loc = xasprintf("%s:%u", item->file, item->line);
		b->scope = CONF_SCOPE_BACKEND;
		return 0;
	}
	if (strcmp(item->key, "listen") != 0)
		return conf_err(error_r, "unknown block '%s'", item->key);
	if (item->value == NULL)
		return conf_err(error_r,
		    "a listen block needs a name "
		    "(listen NAME {)");
	old = conf_find_listener(conf, item->value);
	if (old != NULL)
		return conf_err(error_r,
		    "duplicate listener '%s' (first at %s)", item->value,
		    old->loc);
	if (conf->listener_count >= CONF_LISTENERS_MAX)
		return conf_err(
		    error_r, "more than %d listeners", CONF_LISTENERS_MAX);
	conf->listeners = xreallocarray(conf->listeners,
	    conf->listener_count + 1, sizeof(*conf->listeners));
	b->protocol_set = xreallocarray(b->protocol_set,
	    conf->listener_count + 1, sizeof(*b->protocol_set));
	l = &conf->listeners[conf->listener_count];
	memset(l, 0, sizeof(*l));
	l->name = xstrdup(item->value);
	l->loc = xasprintf("%s:%u", item->file, item->line);
	l->addresses = xcalloc(1, sizeof(*l->addresses));
	l->addresses[0] = xstrdup("*");
	l->address_count = 1;
	l->tls = CONF_TLS_NO;
	b->protocol_set[conf->listener_count] =
	    conf_protocol_lookup(l->name, &l->protocol);
	conf->listener_count++;
	b->scope = CONF_SCOPE_LISTEN;
	return 0;
}

static int
conf_builder_item(
    const struct conf_syntax_item *item, void *context, char **error_r)
{
	struct conf_builder *b = context;

	switch (item->type) {
	case CONF_SYNTAX_SETTING:
		return conf_builder_setting(b, item, error_r);
	case CONF_SYNTAX_BLOCK_OPEN:
		return conf_builder_open(b, item, error_r);
	case CONF_SYNTAX_BLOCK_CLOSE:
		b->scope = CONF_SCOPE_TOP;
		return 0;
	}
	return conf_err(error_r, "internal error: item type");
}

static const char *
conf_builder_set_loc(const struct conf_builder *b, const char *name)
{
	size_t i;

	for (i = 0; i < CONF_SETTING_COUNT; i++) {
		if (conf_settings[i].scope != CONF_SCOPE_LISTEN &&
		    strcmp(conf_settings[i].name, name) == 0)
			return b->locs[i];
	}
	return NULL;
}

const char *
conf_builder_loc(const struct conf_builder *b, const char *name)
{
	const char *loc = conf_builder_set_loc(b, name);

	/* a default is the file's: its name, without a line */
	return loc != NULL ? loc : b->conf->path;
}

bool
conf_builder_is_set(const struct conf_builder *b, const char *name)
{
	return conf_builder_set_loc(b, name) != NULL;
}

static unsigned int
conf_count_lines(const char *buf, size_t len)
{
	unsigned int lines = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n')
			lines++;
	}
	if (len > 0 && buf[len - 1] != '\n')
		lines++;
	return lines > 0 ? lines : 1;
}

struct conf *
conf_parse_buffer(const char *name, const char *buf, size_t len,
    unsigned int flags, char **error_r)
{
	struct conf_builder b = {.scope = CONF_SCOPE_TOP};
	unsigned int sflags = 0;
	char *error = NULL;
	int ret;
	size_t i;

	if ((flags & CONF_PARSE_NO_INCLUDE) != 0)
		sflags |= CONF_SYNTAX_NO_INCLUDE;
	b.conf = conf_new_defaults(name);
	b.locs = xcalloc(CONF_SETTING_COUNT, sizeof(*b.locs));
	ret = conf_syntax_parse_buffer(
	    name, buf, len, sflags, conf_builder_item, &b, &error);
	if (ret == 0)
		ret = conf_validate(&b, conf_count_lines(buf, len), &error);
	for (i = 0; i < CONF_SETTING_COUNT; i++)
		free(b.locs[i]);
	free(b.locs);
	free(b.protocol_set);
	free(b.backend_loc);
	if (ret == -1) {
		conf_free(&b.conf);
		*error_r = error != NULL ? error : xstrdup("out of memory");
		return NULL;
	}
	return b.conf;
}

struct conf *
conf_load_file(const char *path, char **error_r)
{
	struct conf *conf;
	char *buf;
	size_t len;

	if (conf_syntax_read_file(path, &buf, &len) == -1) {
		*error_r =
		    xasprintf("%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	conf = conf_parse_buffer(path, buf, len, 0, error_r);
	free(buf);
	return conf;
}

const struct conf_listener *
conf_find_listener(const struct conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->listener_count; i++) {
		if (strcmp(conf->listeners[i].name, name) == 0)
			return &conf->listeners[i];
	}
	return NULL;
}

const char *
conf_protocol_name(enum conf_protocol protocol)
{
	if ((size_t)protocol >= nitems(conf_protocol_names))
		return "?";
	return conf_protocol_names[protocol];
}

const char *
conf_tls_name(enum conf_tls tls)
{
	if ((size_t)tls >= nitems(conf_tls_names))
		return "?";
	return conf_tls_names[tls];
}

const char *
conf_hashing_name(enum conf_hashing hashing)
{
	if ((size_t)hashing >= nitems(conf_hashing_names))
		return "?";
	return conf_hashing_names[hashing];
}

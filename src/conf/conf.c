/*
 * conf.c - directord settings: the table of known settings, defaults,
 * applying items from the syntax reader, and the cross-field checks.
 *
 * A struct conf under construction is private to this file; callers only
 * ever get one that has every default and has passed conf_validate().
 * Later assignments of a setting replace earlier ones (so an included file
 * can be overridden); listener names and the backend block are unique.
 */
#include "compat.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "conf.h"
#include "conf_syntax.h"
#include "log.h"
#include "xmalloc.h"

/* Upper bound of every time setting (one year), in milliseconds. */
#define CONF_TIME_MAX_MS (365ULL * 86400 * 1000)
/* Upper bound of counters such as max_connections. */
#define CONF_UINT_MAX ((uint64_t)INT_MAX)
/* Addresses in one listener's address list. */
#define CONF_LISTENER_ADDRESSES_MAX 64
/* Listeners in one configuration. */
#define CONF_LISTENERS_MAX 256
/* Entries of director_servers / haproxy_trusted_networks. */
#define CONF_LIST_MAX 4096

enum conf_scope {
	CONF_SCOPE_TOP,
	CONF_SCOPE_LISTEN,
	CONF_SCOPE_BACKEND,
};

enum conf_type {
	CONF_TYPE_STRING,
	CONF_TYPE_PATH, /* absolute; min = 1: must not be empty */
	CONF_TYPE_TIME,
	CONF_TYPE_SIZE,
	CONF_TYPE_UINT,
	CONF_TYPE_BOOL,
	CONF_TYPE_PORT,
	CONF_TYPE_ENUM,
	CONF_TYPE_LOG_LEVEL,
	CONF_TYPE_ADDRESSES,
	CONF_TYPE_NETWORKS,
};

struct conf_setting {
	const char *name;
	enum conf_scope scope;
	enum conf_type type;
	size_t offset;
	uint64_t min; /* UINT, TIME (ms), SIZE; STRING, PATH: 1 = required */
	uint64_t max; /* 0: the type's default maximum */
	bool octal; /* UINT written in octal (file modes) */
	const char *const *names; /* ENUM */
	size_t name_count;
	bool has_loc;
	size_t loc_offset; /* char * in struct conf, when has_loc */
	size_t nets_offset; /* NETWORKS: struct conf_network * in struct conf */
	size_t count_offset; /* NETWORKS: its size_t count */
};

static const char *const conf_protocol_names[] = {
    "imap",
    "pop3",
    "lmtp",
    "ring",
    "admin",
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

static const struct conf_setting conf_settings[] = {
    {TOP("user", CONF_TYPE_STRING, user), .min = 1},
    {TOP("state_dir", CONF_TYPE_PATH, state_dir), .min = 1},
    {TOP("admin_socket", CONF_TYPE_PATH, admin_socket), .min = 1},
    {TOP("pid_file", CONF_TYPE_PATH, pid_file), .min = 1},
    {TOP("log_level", CONF_TYPE_LOG_LEVEL, log_level)},
    {TOP("director_mail_servers", CONF_TYPE_STRING, mail_servers),
	LOC(mail_servers_loc)},
    {TOP("director_servers", CONF_TYPE_STRING, servers), LOC(servers_loc)},
    {TOP("director_hashing", CONF_TYPE_ENUM, hashing),
	ENUM(conf_hashing_names)},
    {TOP("director_user_expire", CONF_TYPE_TIME, user_expire_ms),
	.min = CONF_USER_EXPIRE_MIN_MS},
    {TOP("director_username_hash", CONF_TYPE_STRING, username_hash),
	LOC(username_hash_loc), .min = 1},
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
	auth_master_user_separator)},
    {TOP("ssl_cert", CONF_TYPE_PATH, ssl_cert)},
    {TOP("ssl_key", CONF_TYPE_PATH, ssl_key)},
    {TOP("ssl_ca", CONF_TYPE_PATH, ssl_ca)},
    {TOP("ssl_min_protocol", CONF_TYPE_ENUM, ssl_min_protocol),
	ENUM(conf_ssl_names)},
    {TOP("login_timeout", CONF_TYPE_TIME, login_timeout_ms), .min = 1000},
    {TOP("disable_plaintext_auth", CONF_TYPE_BOOL, disable_plaintext_auth)},
    {TOP("haproxy_trusted_networks", CONF_TYPE_NETWORKS,
	 haproxy_trusted_networks),
	NETS(trusted_networks, trusted_network_count)},
    {TOP("admin_networks", CONF_TYPE_NETWORKS, admin_networks),
	NETS(admin_nets, admin_net_count)},
    {TOP("admin_socket_mode", CONF_TYPE_UINT, admin_socket_mode), .max = 0777,
	.octal = true},
    {TOP("max_connections", CONF_TYPE_UINT, max_connections), .min = 1},
    {TOP("max_connections_per_ip", CONF_TYPE_UINT, max_connections_per_ip)},
    {TOP("lmtp_max_recipients", CONF_TYPE_UINT, lmtp_max_recipients), .min = 1},
    {TOP("lmtp_max_message_size", CONF_TYPE_SIZE, lmtp_max_message_size)},
    {TOP("lmtp_spool_memory", CONF_TYPE_SIZE, lmtp_spool_memory)},
    {TOP("lmtp_backend_timeout", CONF_TYPE_TIME, lmtp_backend_timeout_ms),
	.min = 1000},

    {LISTEN("protocol", CONF_TYPE_ENUM, protocol), ENUM(conf_protocol_names)},
    {LISTEN("address", CONF_TYPE_ADDRESSES, addresses)},
    {LISTEN("port", CONF_TYPE_PORT, port)},
    {LISTEN("tls", CONF_TYPE_ENUM, tls), ENUM(conf_tls_names)},
    {LISTEN("haproxy", CONF_TYPE_BOOL, haproxy)},

    {BACKEND("imap_port", CONF_TYPE_PORT, imap_port)},
    {BACKEND("pop3_port", CONF_TYPE_PORT, pop3_port)},
    {BACKEND("lmtp_port", CONF_TYPE_PORT, lmtp_port)},
    {BACKEND("tls", CONF_TYPE_ENUM, tls), ENUM(conf_tls_names)},
    {BACKEND("ssl_verify", CONF_TYPE_BOOL, ssl_verify)},
    {BACKEND("connect_timeout", CONF_TYPE_TIME, connect_timeout_ms), .min = 1},
    {BACKEND("idle_timeout", CONF_TYPE_TIME, idle_timeout_ms), .min = 1000},
};

#define CONF_SETTING_COUNT nitems(conf_settings)

/* Parsing state; dies with the parse. */
struct conf_builder {
	struct conf *conf;
	enum conf_scope scope;
	bool *protocol_set; /* per listener */
	char *backend_loc; /* NULL until a backend block was seen */
	char *locs[CONF_SETTING_COUNT]; /* "file:line" of top settings */
};

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
	for (i = 0; i < conf->listener_count; i++)
		conf_listener_clear(&conf->listeners[i]);
	free(conf->listeners);
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
	conf->ping_idle_timeout_ms = 30 * 1000;
	conf->ping_max_timeout_ms = 60 * 1000;
	conf->output_buffer_size = 10 * 1024 * 1024;
	conf->auth_master_user_separator = xstrdup("");
	conf->ssl_cert = xstrdup("");
	conf->ssl_key = xstrdup("");
	conf->ssl_ca = xstrdup("");
	conf->ssl_min_protocol = CONF_SSL_TLSV1_2;
	conf->login_timeout_ms = 60 * 1000;
	conf->disable_plaintext_auth = true;
	conf->haproxy_trusted_networks = xstrdup("");
	conf->admin_networks = xstrdup("");
	conf->admin_socket_mode = 0600;
	conf->max_connections = 10000;
	conf->max_connections_per_ip = 100;
	conf->lmtp_max_recipients = 50;
	conf->lmtp_max_message_size = 0;
	conf->lmtp_spool_memory = 1024 * 1024;
	conf->lmtp_backend_timeout_ms = 5 * 60 * 1000;
	conf->backend.imap_port = 143;
	conf->backend.pop3_port = 110;
	conf->backend.lmtp_port = 24;
	conf->backend.tls = CONF_TLS_NO;
	conf->backend.ssl_verify = false;
	conf->backend.connect_timeout_ms = 30 * 1000;
	conf->backend.idle_timeout_ms = 30 * 60 * 1000;
	return conf;
}

static int ATTR_PRINTF(2, 3) conf_err(char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) == -1)
		*error_r = NULL;
	va_end(ap);
	return -1;
}

/* Canonical text of an IP literal (family 4 or 6), or -1. */
static int
conf_ip_parse(const char *s, int *family_r, uint8_t addr_r[16])
{
	memset(addr_r, 0, 16);
	if (inet_pton(AF_INET, s, addr_r) == 1) {
		*family_r = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr_r) == 1) {
		*family_r = 6;
		return 0;
	}
	return -1;
}

static char *
conf_ip_text(int family, const uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf,
		sizeof(buf)) == NULL)
		return xstrdup("?");
	return xstrdup(buf);
}

/* Splits s at blanks and commas into a malloc'd array of malloc'd words. */
static char **
conf_split(const char *s, size_t *count_r)
{
	char **words = NULL;
	size_t n = 0, len;

	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		len = strcspn(s, " \t,");
		words = xreallocarray(words, n + 1, sizeof(*words));
		words[n++] = xstrndup(s, len);
		s += len;
	}
	*count_r = n;
	return words;
}

static void
conf_split_free(char **words, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(words[i]);
	free(words);
}

static int
conf_apply_addresses(struct conf_listener *l, const char *value, char **error_r)
{
	uint8_t addr[16];
	char **words;
	size_t i, j, n;
	int family;

	words = conf_split(value, &n);
	if (n == 0) {
		free(words);
		return conf_err(error_r, "address: empty address list");
	}
	if (n > CONF_LISTENER_ADDRESSES_MAX) {
		conf_split_free(words, n);
		return conf_err(error_r, "address: more than %d addresses",
		    CONF_LISTENER_ADDRESSES_MAX);
	}
	for (i = 0; i < n; i++) {
		if (strcmp(words[i], "*") == 0 || strcmp(words[i], "::") == 0)
			continue;
		if (conf_ip_parse(words[i], &family, addr) == -1) {
			conf_err(error_r,
			    "address: '%s' is not an IP address, '*' or '::'",
			    words[i]);
			conf_split_free(words, n);
			return -1;
		}
		free(words[i]);
		words[i] = conf_ip_text(family, addr);
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(words[i], words[j]) == 0) {
				conf_err(error_r,
				    "address: '%s' is listed twice", words[i]);
				conf_split_free(words, n);
				return -1;
			}
		}
	}
	conf_split_free(l->addresses, l->address_count);
	l->addresses = words;
	l->address_count = n;
	return 0;
}

static int
conf_network_parse(const char *s, struct conf_network *net_r)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	const char *errstr;
	unsigned int bits, i;
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);

	if (len >= sizeof(ip))
		return -1;
	memcpy(ip, s, len);
	ip[len] = '\0';
	if (conf_ip_parse(ip, &net_r->family, net_r->addr) == -1)
		return -1;
	bits = net_r->family == 4 ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		net_r->prefix_len =
		    (unsigned int)strtonum(slash + 1, 0, bits, &errstr);
		if (errstr != NULL)
			return -1;
	} else {
		net_r->prefix_len = bits;
	}
	for (i = net_r->prefix_len; i < bits; i++)
		net_r->addr[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	return 0;
}

bool
conf_networks_match(const struct conf_network *nets, size_t count, int family,
    const uint8_t *addr)
{
	size_t i, bytes, bits;

	for (i = 0; i < count; i++) {
		if (nets[i].family != family)
			continue;
		bytes = nets[i].prefix_len / 8;
		bits = nets[i].prefix_len % 8;
		if (memcmp(nets[i].addr, addr, bytes) != 0)
			continue;
		if (bits != 0 &&
		    ((nets[i].addr[bytes] ^ addr[bytes]) & (0xff00 >> bits)) !=
			0)
			continue;
		return true;
	}
	return false;
}

static int
conf_apply_networks(struct conf *conf, const struct conf_setting *s,
    const char *value, char **error_r)
{
	struct conf_network *nets, **netsp;
	char **words;
	size_t i, n;

	words = conf_split(value, &n);
	if (n > CONF_LIST_MAX) {
		conf_split_free(words, n);
		return conf_err(error_r, "%s: more than %d entries", s->name,
		    CONF_LIST_MAX);
	}
	nets = xcalloc(n + 1, sizeof(*nets));
	for (i = 0; i < n; i++) {
		if (conf_network_parse(words[i], &nets[i]) == -1) {
			conf_err(error_r,
			    "%s: invalid network '%s' (expected IP or IP/bits)",
			    s->name, words[i]);
			conf_split_free(words, n);
			free(nets);
			return -1;
		}
	}
	conf_split_free(words, n);
	netsp = (struct conf_network **)((char *)conf + s->nets_offset);
	free(*netsp);
	*netsp = nets;
	*(size_t *)((char *)conf + s->count_offset) = n;
	free(*(char **)((char *)conf + s->offset));
	*(char **)((char *)conf + s->offset) = xstrdup(value);
	return 0;
}

static int
conf_apply_enum(const struct conf_setting *s, void *field, const char *value,
    char **error_r)
{
	char list[128] = "";
	size_t i;

	for (i = 0; i < s->name_count; i++) {
		if (strcasecmp(value, s->names[i]) == 0) {
			*(unsigned int *)field = (unsigned int)i;
			return 0;
		}
	}
	for (i = 0; i < s->name_count; i++) {
		if (i > 0)
			strlcat(list, " | ", sizeof(list));
		strlcat(list, s->names[i], sizeof(list));
	}
	return conf_err(
	    error_r, "invalid %s '%s' (expected %s)", s->name, value, list);
}

static int
conf_apply_uint(const struct conf_setting *s, void *field, const char *value,
    char **error_r)
{
	uint64_t max = s->max != 0 ? s->max : CONF_UINT_MAX;
	const char *errstr, *p;
	long long n;

	for (p = value; *p >= '0' && *p <= (s->octal ? '7' : '9'); p++)
		;
	if (p == value || *p != '\0')
		return conf_err(error_r, "invalid %s '%s' (expected %s)",
		    s->name, value, s->octal ? "an octal mode" : "a number");
	if (s->octal) {
		if (p - value > 4 ||
		    (n = strtoll(value, NULL, 8)) > (long long)max)
			return conf_err(error_r,
			    "invalid %s '%s' (expected "
			    "an octal mode such as 0600)",
			    s->name, value);
		*(unsigned int *)field = (unsigned int)n;
		return 0;
	}
	n = strtonum(value, (long long)s->min, (long long)max, &errstr);
	if (errstr != NULL)
		return conf_err(error_r, "invalid %s '%s': %s (%llu..%llu)",
		    s->name, value, errstr, (unsigned long long)s->min,
		    (unsigned long long)max);
	*(unsigned int *)field = (unsigned int)n;
	return 0;
}

static int
conf_apply_time(const struct conf_setting *s, void *field, const char *value,
    char **error_r)
{
	uint64_t max = s->max != 0 ? s->max : CONF_TIME_MAX_MS;
	uint64_t ms;

	if (conf_parse_time(value, &ms) == -1)
		return conf_err(error_r,
		    "invalid %s '%s' (expected a time "
		    "such as 30 s, 15 min, 500 ms)",
		    s->name, value);
	if (ms < s->min)
		return conf_err(error_r,
		    "%s must be at least %llu ms, "
		    "not '%s'",
		    s->name, (unsigned long long)s->min, value);
	if (ms > max)
		return conf_err(
		    error_r, "%s '%s' is too large", s->name, value);
	*(uint64_t *)field = ms;
	return 0;
}

static int
conf_apply(struct conf_builder *b, const struct conf_setting *s, void *base,
    const char *value, char **error_r)
{
	void *field = (char *)base + s->offset;
	enum log_level level;
	uint64_t size;
	bool bval;

	switch (s->type) {
	case CONF_TYPE_STRING:
	case CONF_TYPE_PATH:
		if (s->min > 0 && value[0] == '\0')
			return conf_err(
			    error_r, "%s must not be empty", s->name);
		if (s->type == CONF_TYPE_PATH && value[0] != '\0' &&
		    value[0] != '/')
			return conf_err(error_r,
			    "%s must be an absolute path, "
			    "not '%s'",
			    s->name, value);
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_TYPE_LOG_LEVEL:
		if (log_level_parse(value, &level) == -1)
			return conf_err(error_r,
			    "invalid log_level '%s' "
			    "(expected error | warning | info | debug)",
			    value);
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_TYPE_TIME:
		return conf_apply_time(s, field, value, error_r);
	case CONF_TYPE_SIZE:
		if (conf_parse_size(value, &size) == -1)
			return conf_err(error_r,
			    "invalid %s '%s' (expected a "
			    "size such as 10M, 64k)",
			    s->name, value);
		if (size < s->min)
			return conf_err(error_r,
			    "%s must be at least %llu "
			    "bytes",
			    s->name, (unsigned long long)s->min);
		*(uint64_t *)field = size;
		return 0;
	case CONF_TYPE_UINT:
		return conf_apply_uint(s, field, value, error_r);
	case CONF_TYPE_BOOL:
		if (conf_parse_bool(value, &bval) == -1)
			return conf_err(error_r,
			    "invalid %s '%s' (expected "
			    "yes or no)",
			    s->name, value);
		*(bool *)field = bval;
		return 0;
	case CONF_TYPE_PORT:
		if (conf_parse_port(value, (uint16_t *)field) == -1)
			return conf_err(error_r,
			    "invalid %s '%s' (expected "
			    "1..65535)",
			    s->name, value);
		return 0;
	case CONF_TYPE_ENUM:
		if (conf_apply_enum(s, field, value, error_r) == -1)
			return -1;
		if (s->scope == CONF_SCOPE_LISTEN &&
		    s->offset == offsetof(struct conf_listener, protocol))
			b->protocol_set[b->conf->listener_count - 1] = true;
		return 0;
	case CONF_TYPE_ADDRESSES:
		return conf_apply_addresses(base, value, error_r);
	case CONF_TYPE_NETWORKS:
		return conf_apply_networks(b->conf, s, value, error_r);
	}
	return conf_err(error_r, "internal error: setting type");
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
	if (b->scope == CONF_SCOPE_TOP) {
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
conf_builder_loc(const struct conf_builder *b, const char *name)
{
	size_t i;

	for (i = 0; i < CONF_SETTING_COUNT; i++) {
		if (conf_settings[i].scope == CONF_SCOPE_TOP &&
		    strcmp(conf_settings[i].name, name) == 0)
			return b->locs[i] != NULL ? b->locs[i] : "?";
	}
	return "?";
}

static int
conf_validate_listener(const struct conf_builder *b, size_t idx, char **error_r)
{
	const struct conf *conf = b->conf;
	const struct conf_listener *l = &conf->listeners[idx];

	if (!b->protocol_set[idx])
		return conf_err(error_r,
		    "%s: listen %s: protocol is missing "
		    "(the block name is not imap, pop3, lmtp or ring)",
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
	if (l->protocol == CONF_PROTOCOL_RING && l->tls != CONF_TLS_NO)
		return conf_err(error_r,
		    "%s: listen %s: the ring protocol "
		    "has no TLS (tls must be no)",
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
	return 0;
}

static int
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
	if (conf->listener_count == 0)
		return conf_err(error_r,
		    "%s:%u: no listen block: directord "
		    "would not accept any connection",
		    conf->path, last_line);
	if (conf_validate_listeners(b, &ring, error_r) == -1)
		return -1;
	if (conf_validate_servers(b, ring, error_r) == -1)
		return -1;
	return conf_validate_routing(conf, error_r);
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
	ret = conf_syntax_parse_buffer(
	    name, buf, len, sflags, conf_builder_item, &b, &error);
	if (ret == 0)
		ret = conf_validate(&b, conf_count_lines(buf, len), &error);
	for (i = 0; i < CONF_SETTING_COUNT; i++)
		free(b.locs[i]);
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

/*
 * conf_apply.c - writes one configuration value into its field: checks it
 * against the type and limits of its setting (conf_settings in conf.c)
 * and stores it, replacing an earlier value of the same setting.
 *
 * A value is stored whole or not at all: on error the field keeps what it
 * had, and the message (without location; the syntax reader adds
 * file:line) names the setting and the value.
 */
#include "compat.h"

#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "conf_impl.h"
#include "log.h"
#include "xmalloc.h"

/* Upper bound of every time setting (one year), in milliseconds. */
#define CONF_TIME_MAX_MS (365ULL * 86400 * 1000)
/* Upper bound of counters such as max_connections. */
#define CONF_UINT_MAX ((uint64_t)INT_MAX)
/* Addresses in one listener's address list. */
#define CONF_LISTENER_ADDRESSES_MAX 64

int
conf_err(char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) == -1)
		*error_r = NULL;
	va_end(ap);
	return -1;
}

int
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

char *
conf_ip_text(int family, const uint8_t addr[16])
{
	char buf[INET6_ADDRSTRLEN];

	if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf,
		sizeof(buf)) == NULL)
		return xstrdup("?");
	return xstrdup(buf);
}

char **
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

void
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

int
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

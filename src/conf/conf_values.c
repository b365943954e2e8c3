/*
 * conf_values.c - parsers for the value types of the configuration:
 * times, sizes, booleans and ports.
 *
 * Every parser accepts the whole string or nothing, never overflows (an
 * out-of-range value is an error), and leaves its output untouched on
 * error.
 */
#include "compat.h"

#include <errno.h>
#include <strings.h>

#include "conf.h"

struct conf_unit {
	const char *name;
	uint64_t factor;
};

static const struct conf_unit conf_time_units[] = {
    {"ms", 1},
    {"msec", 1},
    {"msecs", 1},
    {"millisecond", 1},
    {"milliseconds", 1},
    {"", 1000},
    {"s", 1000},
    {"sec", 1000},
    {"secs", 1000},
    {"second", 1000},
    {"seconds", 1000},
    {"m", 60 * 1000},
    {"min", 60 * 1000},
    {"mins", 60 * 1000},
    {"minute", 60 * 1000},
    {"minutes", 60 * 1000},
    {"h", 3600 * 1000},
    {"hour", 3600 * 1000},
    {"hours", 3600 * 1000},
    {"d", 86400 * 1000},
    {"day", 86400 * 1000},
    {"days", 86400 * 1000},
    {"w", 7 * 86400 * 1000ULL},
    {"week", 7 * 86400 * 1000ULL},
    {"weeks", 7 * 86400 * 1000ULL},
};

static const struct conf_unit conf_size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ULL << 10},
    {"kb", 1ULL << 10},
    {"kib", 1ULL << 10},
    {"m", 1ULL << 20},
    {"mb", 1ULL << 20},
    {"mib", 1ULL << 20},
    {"g", 1ULL << 30},
    {"gb", 1ULL << 30},
    {"gib", 1ULL << 30},
    {"t", 1ULL << 40},
    {"tb", 1ULL << 40},
    {"tib", 1ULL << 40},
};

static bool
conf_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses "<digits> [blanks] <unit> [blanks]" with unit looked up in
 * units (case-insensitively). */
static int
conf_parse_number_unit(const char *s, const struct conf_unit *units,
    size_t unit_count, uint64_t *r)
{
	const char *p = s, *ustart;
	uint64_t n = 0;
	size_t i, ulen;

	while (conf_is_blank(*p))
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	while (conf_is_blank(*p))
		p++;
	ustart = p;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
		p++;
	ulen = (size_t)(p - ustart);
	while (conf_is_blank(*p))
		p++;
	if (*p != '\0')
		return -1;
	for (i = 0; i < unit_count; i++) {
		if (strlen(units[i].name) == ulen &&
		    strncasecmp(units[i].name, ustart, ulen) == 0)
			break;
	}
	if (i == unit_count)
		return -1;
	if (n != 0 && units[i].factor > UINT64_MAX / n)
		return -1;
	*r = n * units[i].factor;
	return 0;
}

int
conf_parse_time(const char *s, uint64_t *msecs_r)
{
	return conf_parse_number_unit(
	    s, conf_time_units, nitems(conf_time_units), msecs_r);
}

int
conf_parse_size(const char *s, uint64_t *bytes_r)
{
	return conf_parse_number_unit(
	    s, conf_size_units, nitems(conf_size_units), bytes_r);
}

int
conf_parse_bool(const char *s, bool *r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0) {
		*r = true;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0) {
		*r = false;
		return 0;
	}
	return -1;
}

int
conf_parse_port(const char *s, uint16_t *port_r)
{
	unsigned long n = 0;
	const char *p;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n < 1 || n > 65535)
		return -1;
	*port_r = (uint16_t)n;
	return 0;
}

/*
 * hoststate.c - the backend state file codec (see hoststate.h).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "hoststate.h"
#include "strnum.h"
#include "xmalloc.h"

#define HOSTSTATE_FIELDS_MAX 7

int
hoststate_encode(struct hosts *hosts, const struct hosts_spec_entry *config,
    size_t count, struct buf *out)
{
	char ip[IPADDR_STR_MAX];
	size_t i;
	int ret;

	ret = buf_printf(out, "%s\n", HOSTSTATE_HEADER);
	for (i = 0; i < hosts_count(hosts) && ret == 0; i++) {
		const struct host *h = hosts_get(hosts, i);
		const char *tag = hosts_tag_name(h->tag);

		ret = buf_printf(out, "host %s %u %s %u%s%s\n", h->ip_str,
		    h->vhost_count, h->down ? "down" : "up",
		    h->last_updown_change, tag[0] != '\0' ? " " : "", tag);
	}
	for (i = 0; i < count && ret == 0; i++) {
		if (hosts_lookup(hosts, &config[i].ip) == NULL)
			ret = buf_printf(out, "removed %s\n",
			    ipaddr_format(&config[i].ip, ip));
	}
	return ret;
}

/* Parses one record line (NUL-terminated, no LF) into e.  Returns NULL or
 * what is wrong. */
static const char *
hoststate_record(char *line, struct hoststate_entry *e)
{
	char *f[HOSTSTATE_FIELDS_MAX], *save = NULL, *tok;
	size_t n = 0, i;
	uint64_t v;

	for (tok = strtok_r(line, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (n == nitems(f))
			return "too many fields";
		f[n++] = tok;
	}
	memset(e, 0, sizeof(*e));
	if (n == 2 && strcmp(f[0], "removed") == 0) {
		e->removed = true;
		return ipaddr_parse(f[1], &e->ip) == -1 ? "invalid IP address"
							: NULL;
	}
	if ((n != 5 && n != 6) || strcmp(f[0], "host") != 0)
		return "not a host or removed record";
	if (ipaddr_parse(f[1], &e->ip) == -1)
		return "invalid IP address";
	if (str_to_uint64(f[2], HOST_VHOST_COUNT_MAX, &v) == -1)
		return "invalid vhost count";
	e->vhost_count = (unsigned int)v;
	if (strcmp(f[3], "down") == 0)
		e->down = true;
	else if (strcmp(f[3], "up") != 0)
		return "state is neither up nor down";
	if (str_to_uint64(f[4], UINT32_MAX, &v) == -1)
		return "invalid change time";
	e->last_updown_change = (uint32_t)v;
	if (n == 6) {
		if (strlen(f[5]) > HOST_TAG_MAX)
			return "tag too long";
		for (i = 0; f[5][i] != '\0'; i++) {
			unsigned char c = (unsigned char)f[5][i];

			if (c <= ' ' || c >= 0x7f || c == '@')
				return "invalid tag";
		}
		strlcpy(e->tag, f[5], sizeof(e->tag));
	}
	return NULL;
}

int
hoststate_decode(const char *text, size_t len,
    struct hoststate_entry **entries_r, size_t *count_r, char *err,
    size_t errsize)
{
	struct hoststate_entry *entries = NULL;
	char line[HOSTSTATE_LINE_MAX + 1];
	const char *p = text, *end = text + len, *nl, *why;
	size_t count = 0, cap = 0, lineno = 0, i, n;

	*entries_r = NULL;
	*count_r = 0;
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errsize, "NUL byte in the file");
		return -1;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			snprintf(err, errsize,
			    "line %zu: truncated (no newline)", lineno);
			goto fail;
		}
		n = (size_t)(nl - p);
		if (n > HOSTSTATE_LINE_MAX) {
			snprintf(err, errsize, "line %zu: too long", lineno);
			goto fail;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (lineno == 1) {
			if (strcmp(line, HOSTSTATE_HEADER) != 0) {
				snprintf(err, errsize,
				    "line 1: not a \"%s\" file",
				    HOSTSTATE_HEADER);
				goto fail;
			}
			continue;
		}
		if (count == HOSTSTATE_RECORDS_MAX) {
			snprintf(
			    err, errsize, "line %zu: too many records", lineno);
			goto fail;
		}
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			entries = xreallocarray(entries, cap, sizeof(*entries));
		}
		why = hoststate_record(line, &entries[count]);
		if (why != NULL) {
			snprintf(err, errsize, "line %zu: %s", lineno, why);
			goto fail;
		}
		for (i = 0; i < count; i++) {
			if (ipaddr_equals(&entries[i].ip, &entries[count].ip)) {
				snprintf(err, errsize,
				    "line %zu: duplicate address", lineno);
				goto fail;
			}
		}
		count++;
	}
	if (lineno == 0) {
		snprintf(err, errsize, "empty file");
		goto fail;
	}
	*entries_r = entries;
	*count_r = count;
	return 0;
fail:
	free(entries);
	return -1;
}

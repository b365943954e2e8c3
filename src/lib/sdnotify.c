/*
 * sdnotify.c - addresses and datagrams of systemd's notification protocol.
 *
 * Invariants: a formatted datagram holds exactly the assignments asked
 * for, one a line, and no text put into it can start another line; an
 * address never overruns sun_path.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>

#include "sdnotify.h"

enum sdnotify_addr
sdnotify_parse_address(
    const char *value, char path_r[SDNOTIFY_ADDR_MAX], size_t *len_r)
{
	size_t len;

	if (value == NULL)
		return SDNOTIFY_ADDR_INVALID;
	len = strlen(value);
	if (value[0] == '@') {
		/* the '@' stands for the leading NUL of an abstract name */
		if (len < 2)
			return SDNOTIFY_ADDR_INVALID;
		if (len > SDNOTIFY_ADDR_MAX)
			return SDNOTIFY_ADDR_TOO_LONG;
		path_r[0] = '\0';
		memcpy(path_r + 1, value + 1, len - 1);
		*len_r = len;
		return SDNOTIFY_ADDR_ABSTRACT;
	}
	if (value[0] != '/')
		return SDNOTIFY_ADDR_INVALID;
	if (len + 1 > SDNOTIFY_ADDR_MAX)
		return SDNOTIFY_ADDR_TOO_LONG;
	memcpy(path_r, value, len + 1);
	*len_r = len + 1;
	return SDNOTIFY_ADDR_PATH;
}

/* Copies status into dst (size > SDNOTIFY_STATUS_MAX) as one safe line. */
static void
sdnotify_clean_status(char *dst, const char *status)
{
	size_t i;

	for (i = 0; status[i] != '\0' && i < SDNOTIFY_STATUS_MAX; i++) {
		unsigned char c = (unsigned char)status[i];

		dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	dst[i] = '\0';
}

/* Appends one assignment to buf (holding len bytes), after a newline
 * unless it is the first.  Returns 0, or -1 if it did not fit. */
static int sdnotify_append(char *buf, size_t size, size_t *len, const char *fmt,
    ...) ATTR_PRINTF(4, 5);

static int
sdnotify_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len > 0) {
		if (*len + 1 >= size)
			return -1;
		buf[(*len)++] = '\n';
		buf[*len] = '\0';
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

size_t
sdnotify_format(const struct sdnotify_msg *msg, char *buf, size_t size)
{
	static const char *const heads[] = {
	    [SDNOTIFY_READY] = "READY=1",
	    [SDNOTIFY_RELOADING] = "RELOADING=1",
	    [SDNOTIFY_STOPPING] = "STOPPING=1",
	    [SDNOTIFY_STATUS] = NULL,
	};
	char status[SDNOTIFY_STATUS_MAX + 1];
	size_t len = 0;

	if (size == 0 || (size_t)msg->state >= nitems(heads))
		return 0;
	buf[0] = '\0';
	if (heads[msg->state] != NULL &&
	    sdnotify_append(buf, size, &len, "%s", heads[msg->state]) == -1)
		return 0;
	if (msg->state == SDNOTIFY_READY && msg->mainpid > 0 &&
	    sdnotify_append(buf, size, &len, "MAINPID=%ld", msg->mainpid) == -1)
		return 0;
	/* systemd 253 and later want the time a reload began with it */
	if (msg->state == SDNOTIFY_RELOADING &&
	    sdnotify_append(buf, size, &len, "MONOTONIC_USEC=%llu",
		(unsigned long long)msg->monotonic_usec) == -1)
		return 0;
	if (msg->status != NULL) {
		sdnotify_clean_status(status, msg->status);
		if (sdnotify_append(buf, size, &len, "STATUS=%s", status) == -1)
			return 0;
	}
	return len;
}

/*
 * notify.c - the notification socket of the service manager.
 *
 * One connected AF_UNIX datagram socket, opened at startup as root and
 * kept open until the process ends.  Sending is best effort and never
 * blocks the event loop: the daemon serves whether or not its manager
 * hears it.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "xmalloc.h"

#define NOTIFY_ENV "NOTIFY_SOCKET"

static_assert(
    sizeof(((struct sockaddr_un *)NULL)->sun_path) == SDNOTIFY_ADDR_MAX,
    "sun_path size");

struct notify {
	int fd;
};

struct notify *
notify_open(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *value = getenv(NOTIFY_ENV);
	char shown[SDNOTIFY_ADDR_MAX * 4 + 4];
	struct notify *n;
	size_t len;
	int fd;

	if (value == NULL)
		return NULL;
	log_sanitize(shown, sizeof(shown), value, strlen(value));
	switch (sdnotify_parse_address(value, sun.sun_path, &len)) {
	case SDNOTIFY_ADDR_PATH:
	case SDNOTIFY_ADDR_ABSTRACT:
		break;
	case SDNOTIFY_ADDR_TOO_LONG:
		log_warn("%s=%s: address too long; not notifying", NOTIFY_ENV,
		    shown);
		goto unusable;
	default:
		log_warn("%s=%s: neither an absolute path nor @name; not "
			 "notifying",
		    NOTIFY_ENV, shown);
		goto unusable;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    connect(fd, (const struct sockaddr *)&sun,
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) ==
		-1) {
		log_warn("%s=%s: %s; not notifying", NOTIFY_ENV, shown,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		goto unusable;
	}
	unsetenv(NOTIFY_ENV);
	n = xcalloc(1, sizeof(*n));
	n->fd = fd;
	log_debug("notifying the service manager at %s", shown);
	return n;
unusable:
	unsetenv(NOTIFY_ENV);
	return NULL;
}

static uint64_t
notify_monotonic_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
notify_send(struct notify *n, enum sdnotify_state state, const char *fmt, ...)
{
	struct sdnotify_msg msg = {.state = state};
	char status[SDNOTIFY_STATUS_MAX + 1], buf[SDNOTIFY_MSG_MAX];
	va_list ap;
	size_t len;

	if (n == NULL)
		return;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(status, sizeof(status), fmt, ap);
		va_end(ap);
		msg.status = status;
	}
	if (state == SDNOTIFY_READY)
		msg.mainpid = (long)getpid();
	if (state == SDNOTIFY_RELOADING)
		msg.monotonic_usec = notify_monotonic_usec();
	len = sdnotify_format(&msg, buf, sizeof(buf));
	if (len == 0)
		return;
	if (send(n->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_warn(
		    "cannot notify the service manager: %s", strerror(errno));
}

void
notify_free(struct notify **np)
{
	struct notify *n = *np;

	if (n == NULL)
		return;
	close(n->fd);
	free(n);
	*np = NULL;
}

/*
 * notify.h - readiness, reload and shutdown notifications to the service
 * manager that started directord (systemd's sd_notify(3) protocol, spoken
 * without libsystemd; the datagrams come from src/lib/sdnotify.c).
 */
#ifndef DIRECTOR_NOTIFY_H
#define DIRECTOR_NOTIFY_H

#include "compat.h"

#include "sdnotify.h"

struct notify;

/* Connects to the socket $NOTIFY_SOCKET names and removes the variable
 * from the environment.  Call it as root, before the privilege drop: the
 * connected socket keeps working where the user could not reach the path.
 * Returns NULL when the variable is unset, or when the address is unusable
 * (logged as a warning): notifications are then not sent at all. */
struct notify *notify_open(void);

/* Sends state with a STATUS= text from fmt (NULL for none); READY carries
 * MAINPID (this process), RELOADING the monotonic time.  Never blocks; a
 * datagram that cannot be sent is logged as a warning and dropped.  Does
 * nothing when n is NULL. */
void notify_send(struct notify *n, enum sdnotify_state state, const char *fmt,
    ...) ATTR_PRINTF(3, 4);

/* Closes the socket; sets *np to NULL.  NULL is fine. */
void notify_free(struct notify **np);

#endif

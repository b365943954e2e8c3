/*
 * unavailable.h - placeholder protocol handlers used until proxying exists.
 *
 * Each handler answers a new connection with its protocol's temporary
 * failure line and closes it; the ring handler just closes.
 */
#ifndef DIRECTOR_UNAVAILABLE_H
#define DIRECTOR_UNAVAILABLE_H

#include "listener.h"

/* Handler table indexed by enum conf_protocol. */
extern const struct listener_handler
    *const unavailable_handlers[CONF_PROTOCOL_COUNT];

/* Sets the host name used in the LMTP greeting (copied, truncated to a
 * sane length).  Until called, "localhost" is used. */
void unavailable_set_hostname(const char *hostname);

#endif

/*
 * unavailable.h - placeholder protocol handlers used until proxying exists.
 *
 * Each handler answers a new connection with its protocol's temporary
 * failure line and closes it; the ring handler just closes.
 */
#ifndef DIRECTOR_UNAVAILABLE_H
#define DIRECTOR_UNAVAILABLE_H

#include "listener.h"

/* Handlers for the protocols not served yet: a temporary failure. */
extern const struct listener_handler unavailable_lmtp_handler;
extern const struct listener_handler unavailable_ring_handler;

/* Sets the host name used in the LMTP greeting (copied, truncated to a
 * sane length).  Until called, "localhost" is used. */
void unavailable_set_hostname(const char *hostname);

#endif

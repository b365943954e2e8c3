/*
 * unavailable.h - the placeholder handler of the ring protocol until the
 * director ring exists: it closes every connection.
 */
#ifndef DIRECTOR_UNAVAILABLE_H
#define DIRECTOR_UNAVAILABLE_H

#include "listener.h"

/* The handler of the ring protocol, not served yet: it closes. */
extern const struct listener_handler unavailable_ring_handler;

#endif

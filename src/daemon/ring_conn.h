/*
 * ring_conn.h - the director ring's TCP connections: the ring
 * listener's handler, and what the router does for the engine's ring
 * effects (connect, close) and queued ring output.  The engine's ring
 * (src/engine/ring.h) decides; this only moves bytes.
 */
#ifndef DIRECTOR_RING_CONN_H
#define DIRECTOR_RING_CONN_H

#include <stdbool.h>

#include "listener.h"

struct director;
struct ring_link;

/* For `listen ring` blocks; the context is the struct director. */
extern const struct listener_handler ring_conn_handler;

/* ENGINE_EFFECT_RING_CONNECT: dial the link's director from our ring
 * address (d->ring_self). */
void ring_conn_connect(struct director *d, struct ring_link *link);
/* ENGINE_EFFECT_RING_CLOSE: send what is queued, then close. */
void ring_conn_close(struct director *d, struct ring_link *link);
/* ENGINE_EFFECT_RING_STARTTLS: send the queued plaintext, then wrap the
 * connection in TLS (verifying the peer's certificate against ssl_ca and
 * its address) and tell the engine. */
void ring_conn_starttls(
    struct director *d, struct ring_link *link, bool accept);
/* Writes out every link's queued output (after every engine call). */
void ring_conn_flush(struct director *d);
/* Closes every ring connection (the director is being freed). */
void ring_conn_free_all(struct director *d);

#endif

/*
 * lmtp_proxy.h - LMTP proxying with per-recipient routing.
 *
 * An LMTP client (an MTA) talks to the pure server module (lmtp_server.h)
 * through this shell.  Every RCPT is routed like a login: hashed, routed
 * with the routing core (waiting for a move of its user to end), and
 * sent to its backend over one connection per distinct backend of the
 * transaction (lmtp_backend.h); the client gets that backend's own reply.
 * DATA is received once into a spool (memory up to lmtp_spool_memory,
 * then an unlinked temporary file in lmtp_spool_dir; all connections
 * together within lmtp_spool_memory_total and lmtp_spool_disk_total, else
 * 452 4.3.1) and streamed to every
 * backend with accepted recipients, in parallel.  After the end marker,
 * each accepted recipient gets the reply of its own backend, in RCPT
 * order.
 *
 * A client has lmtp_transaction_timeout from MAIL to the end of DATA
 * (and to finish any command line), then gets 421 4.4.2 and is closed.
 *
 * Invariant: a recipient gets a 2xx only if its backend returned 2xx for
 * it; a backend that cannot be reached, fails or times out yields 4xx for
 * its recipients only, so the MTA retries them and no mail is lost.
 */
#ifndef DIRECTOR_LMTP_PROXY_H
#define DIRECTOR_LMTP_PROXY_H

#include "listener.h"

struct proxy_env;

/* The LMTP listener handler; context is the struct proxy_env. */
extern const struct listener_handler lmtp_proxy_handler;

/* Closes every LMTP connection (shutdown): clients get 421. */
void lmtp_proxy_close_all(struct proxy_env *d);
/* Bytes of message bodies spooled now, in memory and in files (all
 * connections together). */
/* Open LMTP client connections. */
unsigned int lmtp_conn_count(const struct proxy_env *d);
void lmtp_spool_usage(uint64_t *memory_r, uint64_t *disk_r);

#endif

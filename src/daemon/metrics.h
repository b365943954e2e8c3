/*
 * metrics.h - the metrics endpoint: `listen metrics { }` accepts HTTP
 * connections from metrics_networks and answers GET /metrics with the
 * Prometheus text format (http.h parses, promtext.h writes).  One
 * request per connection; the figures are read from the engine, the
 * health checker, the proxies' counters and sessions when the request
 * comes, so scraping costs nothing between scrapes.
 */
#ifndef DIRECTOR_METRICS_H
#define DIRECTOR_METRICS_H

#include "listener.h"

struct buf;
struct director;

/* The listener handler; its context is the struct director. */
extern const struct listener_handler metrics_handler;

/* Appends the metrics text of d to out.  Returns 0, or -1 if out is
 * full. */
int metrics_write(struct director *d, struct buf *out);

#endif

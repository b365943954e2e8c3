/*
 * http.h - the little HTTP/1.x the metrics endpoint speaks, sans I/O:
 * one request per connection, GET (or HEAD) /metrics, bounded.
 *
 * The shell collects the bytes of a request and calls http_parse() with
 * all of them each time more arrive; once the head is complete it gets
 * the status to answer with and writes http_format_head() and the body,
 * then closes.  Nothing of the request is kept or echoed: headers are
 * only checked to be lines, and a body is never read.
 */
#ifndef DIRECTOR_HTTP_H
#define DIRECTOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* Largest request head accepted (request line and headers). */
#define HTTP_REQUEST_MAX 8192
/* Most header lines accepted. */
#define HTTP_HEADERS_MAX 64
/* The one resource served. */
#define HTTP_METRICS_PATH "/metrics"

enum http_parse_result {
	HTTP_PARSE_MORE, /* the head is not complete yet */
	HTTP_PARSE_DONE, /* *status_r says how to answer */
};

/*
 * Parses the request head in data[0..len).  DONE: *status_r is 200
 * (GET or HEAD of /metrics, *head_r set for HEAD), 400 (malformed), 404
 * (another path), 405 (another method), 431 (more than HTTP_REQUEST_MAX
 * bytes or HTTP_HEADERS_MAX headers) or 505 (not HTTP/1.x).  MORE:
 * feed again with more bytes.  The same input gives the same answer
 * however it was split.
 */
enum http_parse_result http_parse(
    const char *data, size_t len, int *status_r, bool *head_r);

/* The reason phrase of status ("OK", "Not Found", ...). */
const char *http_reason(int status);

/*
 * Appends the response head for status: a body of body_len bytes of
 * content_type, "Connection: close", and for 405 an Allow header.
 * Returns 0, or -1 if out is full.
 */
int http_format_head(
    struct buf *out, int status, const char *content_type, size_t body_len);

#endif

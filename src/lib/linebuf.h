/*
 * linebuf.h - finds the lines of a line protocol (IMAP, POP3, LMTP, the
 * admin protocol) in input that arrives in pieces, with a hard bound on
 * the length of a line.  Pure: no I/O, no allocation after init.
 *
 * A line ends at LF; one CR right before the LF is not part of the line
 * (CRLF and bare LF end lines alike; a CR elsewhere is line content).  A
 * line holds at most max bytes.  TOO_LONG is reported at the first byte
 * that cannot belong to such a line: byte max + 1 unless it is a CR, or
 * byte max + 2 (which is not the LF).  So the verdict and the number of
 * bytes used are the same whether input comes whole or byte by byte.
 */
#ifndef DIRECTOR_LINEBUF_H
#define DIRECTOR_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

enum linebuf_status {
	LINEBUF_MORE, /* no complete line yet */
	LINEBUF_LINE, /* a line is complete */
	LINEBUF_TOO_LONG, /* the line is longer than max */
};

/* Looks for the first line in p[0..len) without storing anything.
 * LINE: *line_len_r is its length without CR/LF and *used_r the bytes up
 * to and including the LF.  TOO_LONG: *used_r counts the bytes up to and
 * including the first one that broke the bound.  MORE: *used_r is 0. */
enum linebuf_status linebuf_scan(
    const char *p, size_t len, size_t max, size_t *line_len_r, size_t *used_r);

/* Collects one line at a time from input fed in pieces, for callers that
 * consume what they are given.  The buffer (max + CR + NUL bytes) is
 * owned by the linebuf and wiped whenever a line is dropped, so it may
 * hold secrets. */
struct linebuf {
	char *data;
	size_t len; /* bytes collected (the line last returned, if done) */
	size_t max;
	bool done; /* data holds the line last returned */
	bool too_long; /* sticky: a line broke the bound */
};

/* Prepares lb for lines of at most max bytes (allocates max + 2). */
void linebuf_init(struct linebuf *lb, size_t max);
/* Wipes and frees the buffer; lb may be initialised again. */
void linebuf_deinit(struct linebuf *lb);
/* Forgets (and wipes) a partial line, the last line and a TOO_LONG. */
void linebuf_reset(struct linebuf *lb);
/* Wipes the line last returned now rather than at the next feed (for
 * lines that may carry a password).  Keeps a partial line. */
void linebuf_drop(struct linebuf *lb);
/* True when no partial line is held: the next byte starts a line. */
bool linebuf_at_start(const struct linebuf *lb);

/* Takes bytes from data[0..len) up to the end of the next line.  The
 * line last returned is wiped first.  LINE: *line_r (NUL-terminated, may
 * contain NUL bytes, valid until the next call) and *line_len_r are the
 * line without CR/LF.  *used_r is the number of bytes taken: all of them
 * on MORE, up to the LF on LINE, up to the offending byte on TOO_LONG
 * (then 0 on every later call until linebuf_reset()). */
enum linebuf_status linebuf_feed(struct linebuf *lb, const void *data,
    size_t len, size_t *used_r, const char **line_r, size_t *line_len_r);

#endif

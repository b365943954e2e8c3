/*
 * adminclient.h - the client end of the director-doveadm v1 admin
 * socket (adminwire.h has the wire format), for command-line tools.
 *
 * Every call blocks for at most timeout_secs per reply (0: no limit).
 * Failures are explained on stderr in one line that starts with the
 * program's name and names the endpoint and the request, and come back
 * as a sysexits.h status: EX_UNAVAILABLE (no socket), EX_NOPERM,
 * EX_TEMPFAIL (refused, timed out, closed early, TRYAGAIN), EX_NOHOST
 * (NOTFOUND, unknown host), EX_PROTOCOL (bad handshake or reply),
 * EX_DATAERR (the server refused the request), EX_USAGE (bad endpoint,
 * request too long).
 */
#ifndef DIRECTOR_ADMINCLIENT_H
#define DIRECTOR_ADMINCLIENT_H

#include <stddef.h>

#include "adminwire.h"

struct adminclient {
	int fd;
	char *endpoint; /* for messages */
	unsigned int timeout_secs;
	struct adminwire_reader reader;
};

/*
 * Connects to endpoint, a UNIX socket path (it contains a '/') or
 * HOST:PORT ("[v6]:port" too), and checks the server's handshake.
 * Returns 0, or an exit status.  adminclient_close() is needed either
 * way.
 */
int adminclient_open(
    struct adminclient *ac, const char *endpoint, unsigned int timeout_secs);
void adminclient_close(struct adminclient *ac);
/* Splits "HOST:PORT" or "[V6]:PORT" into host_r (malloc'ed) and port_r
 * (inside s).  Returns 0, or -1. */
int adminclient_split_hostport(
    const char *s, char **host_r, const char **port_r);

/* Sends one request line of cmd and its nargs args (escaped here).
 * Returns 0, or an exit status. */
int adminclient_request(struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs);
/* Reads the next reply line (still escaped) into *line_r, valid until
 * the next call; what names the request, for messages.  Returns 0, or an
 * exit status. */
int adminclient_read_line(
    struct adminclient *ac, const char *what, char **line_r);
/* Maps a one-line reply of cmd to an exit status, explaining a failure
 * (with a hint for NOTFOUND and TRYAGAIN). */
int adminclient_reply_status(const struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs, const char *reply);
/* Sends a command whose reply is one line (OK, NOTFOUND, TRYAGAIN or an
 * error text).  Returns its exit status. */
int adminclient_simple(struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs);

/* Called for every split line of a list reply; returns 0 or -1
 * (malformed line). */
typedef int adminclient_row_fn(void *ctx, char **fields, size_t count);
/* Sends cmd and hands every line of its list reply, up to the empty
 * line, to fn.  Returns 0, or an exit status. */
int adminclient_list(struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs, adminclient_row_fn *fn, void *ctx);

#endif

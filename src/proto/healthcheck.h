/*
 * healthcheck.h - the dialogue of one health check with a backend port,
 * sans I/O: the shell connects, feeds what the backend sends, writes
 * what healthcheck_output() holds, and closes once the verdict is in.
 *
 * The greeting decides: IMAP `* OK`, POP3 `+OK`, LMTP `220` are up; a
 * `* BYE`, `-ERR`, another LMTP code, a line that is none of these or
 * one longer than HEALTHCHECK_LINE_MAX is down.  An IMAP greeting that
 * announces LOGINDISABLED (or PREAUTH) counts as up with a warning, as
 * poolmon counts it: the server runs, but a plaintext login would fail.
 * With a test account, IMAP and POP3 then log in (IMAP LOGIN, POP3
 * USER/PASS): a refused login is down.  After the verdict the output
 * holds a polite goodbye (LOGOUT, QUIT) for the shell to send.
 *
 * The password lives only in the dialogue's own copy and its output
 * buffer; both are wiped when freed.  Nothing here is ever logged
 * unsanitised: healthcheck_text() is safe to log.
 */
#ifndef DIRECTOR_HEALTHCHECK_H
#define DIRECTOR_HEALTHCHECK_H

#include <stddef.h>

#include "buf.h"

/* Longest backend line accepted (greetings carry capabilities). */
#define HEALTHCHECK_LINE_MAX 2048
/* Longest explanation. */
#define HEALTHCHECK_TEXT_MAX 160

enum healthcheck_proto {
	HEALTHCHECK_IMAP,
	HEALTHCHECK_POP3,
	HEALTHCHECK_LMTP,
	HEALTHCHECK_SIEVE, /* ManageSieve: the greeting's capabilities, OK */
};

enum healthcheck_status {
	HEALTHCHECK_MORE, /* feed more input */
	HEALTHCHECK_UP,
	HEALTHCHECK_UP_WARN, /* up, with something in the text to look at */
	HEALTHCHECK_DOWN,
};

struct healthcheck;

/*
 * A dialogue for proto.  With user and password (both non-NULL; copied)
 * IMAP and POP3 log in after the greeting; LMTP never does.
 */
struct healthcheck *healthcheck_new(
    enum healthcheck_proto proto, const char *user, const char *password);
/* Wipes and frees *hc; clears the pointer (NULL is fine). */
void healthcheck_free(struct healthcheck **hc);

/*
 * Takes backend bytes data[0..len).  Returns MORE until the verdict, then
 * the verdict (the same on every later call).  *used_r: bytes taken.
 * The result is the same whether input comes whole or a byte at a time.
 */
enum healthcheck_status healthcheck_input(
    struct healthcheck *hc, const void *data, size_t len, size_t *used_r);
/* What to send to the backend next; the shell consumes it. */
struct buf *healthcheck_output(struct healthcheck *hc);
/* What the check saw, for logs and status ("greeting ok", "* BYE ..."). */
const char *healthcheck_text(const struct healthcheck *hc);
/* "imap", "pop3", "lmtp", "sieve". */
const char *healthcheck_proto_name(enum healthcheck_proto proto);

#endif

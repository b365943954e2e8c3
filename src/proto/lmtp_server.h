/*
 * lmtp_server.h - the LMTP server a client (an MTA) talks to (pure, sans
 * I/O; RFC 2033 with RFC 5321 syntax, RFC 2920 pipelining, RFC 1870 SIZE).
 *
 * The module parses commands, answers what it can answer itself and
 * returns an event whenever the shell must act: route a recipient, accept
 * a message body, collect per-recipient delivery replies.  While an event
 * is outstanding no further input is parsed, so replies stay in order.
 *
 * Input contract: lmtp_server_input(s, data, len, &chunk, &len_r) consumes
 * a prefix of data and returns an event.  The shell keeps the unconsumed
 * rest and calls input() again after handling every event other than
 * LMTP_SERVER_EV_MORE (even with no bytes left) until MORE comes back.
 * Feeding input whole or one byte at a time gives the same events, the
 * same output and the same body bytes (chunk boundaries may differ).
 *
 * Decisions (for the shell and the tests):
 * - Command lines end in CRLF or a bare LF.  Verbs are case-insensitive.
 *   A line longer than line_max ends the session ("500 5.5.2 Line too
 *   long" and CLOSE); so does the bad_max-th bad command ("421 4.7.0").
 *   Unknown commands, empty lines and lines with NUL or other control
 *   bytes are 500 5.5.2; syntax errors 501 5.5.4; sequence errors 503
 *   5.5.1.  All of these count as bad commands.
 * - HELO and EHLO are unknown commands (500): RFC 2033 section 4.1
 *   replaces them by LHLO precisely so that an SMTP client talking to an
 *   LMTP port (or the reverse) fails at once instead of delivering with
 *   the wrong semantics.  LHLO is required before MAIL.
 * - MAIL accepts the parameters it advertises, BODY=7BIT|8BITMIME and
 *   SIZE=n; anything else is 555 5.5.4.  RCPT parameters are never
 *   advertised and always 555 5.5.4.  Null sender <> is allowed for MAIL,
 *   not for RCPT.  Source routes (<@a,@b:u@d>) are dropped.  Addresses
 *   with control or 8-bit bytes are 501 (no SMTPUTF8).
 * - A MAIL or RCPT whose line toward a backend would exceed
 *   LMTP_BACKEND_CMD_MAX is 501 5.5.4 at once (no transaction, no event).
 * - STARTTLS after MAIL is 503 5.5.1 (RFC 3207: TLS only before a
 *   transaction); RSET first.
 * - max_rcpts bounds the RCPT commands handed to the shell per
 *   transaction; more get 452 4.5.3 Too many recipients.
 * - Body (DATA) chunks are zero-copy: *chunk_r points either into the
 *   input or to a static string, valid until the next call.  The body is
 *   given in wire form: CRLF line ends, dot-stuffing kept, without the
 *   final ".\r\n", ready to be replayed verbatim to every backend.  A bare
 *   LF and a bare CR (not followed by LF) are both line ends and become
 *   CRLF; the end marker is "." alone on a line however that line ends.
 *   So every backend reads the forwarded body exactly as we did (no SMTP
 *   smuggling through ambiguous line ends).  A line that starts with a
 *   dot always starts a chunk, so the shell can take the stuffing dot out
 *   (for BDAT) without searching the chunk.  The SIZE check counts the
 *   body without stuffed dots; once it is exceeded no more chunks are
 *   handed out (the shell's spool holds a prefix it drops at DATA_ABORT).
 * - A transaction ends after its last delivery reply, DATA_ABORT, a
 *   refused DATA, RSET or LHLO (EV_RESET if it had recipients) or CLOSE;
 *   RCPT index 0 always starts a new one.
 */
#ifndef DIRECTOR_LMTP_SERVER_H
#define DIRECTOR_LMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct buf;
struct lmtp_server;

/* Defaults and hard limits. */
#define LMTP_SERVER_LINE_MAX 4096 /* command line bytes without CRLF */
#define LMTP_SERVER_RCPT_MAX 50 /* RCPT commands per transaction */
#define LMTP_SERVER_BAD_MAX 10 /* bad commands before closing */
#define LMTP_SERVER_OUTPUT_HIGH 16384 /* stop parsing above this */
#define LMTP_SERVER_HELO_MAX 255 /* longest LHLO name */
#define LMTP_REPLY_MAX 512 /* longest relayed reply line, no CRLF */

enum lmtp_server_event {
	/* Flush output, feed more input. */
	LMTP_SERVER_EV_MORE,
	/* A recipient to route: lmtp_server_rcpt_*() and mail_*() tell
	 * which.  Answer with lmtp_server_rcpt_reply(). */
	LMTP_SERVER_EV_RCPT,
	/* DATA with at least one accepted recipient.  Answer with
	 * lmtp_server_data_go() or lmtp_server_data_refuse(). */
	LMTP_SERVER_EV_DATA_START,
	/* *chunk_r / *chunk_len_r hold the next body bytes (wire form). */
	LMTP_SERVER_EV_DATA_CHUNK,
	/* The end marker was read.  Answer with lmtp_server_data_reply()
	 * once per accepted recipient not answered yet, in any order. */
	LMTP_SERVER_EV_DATA_END,
	/* The end marker was read but the body exceeded the SIZE limit: the
	 * module has answered 552 5.3.4 for every recipient and reset the
	 * transaction.  Drop the spooled body and reset the backends. */
	LMTP_SERVER_EV_DATA_ABORT,
	/* RSET or LHLO abandoned a transaction that had recipients: reset
	 * (or drop) the backend connections of that transaction. */
	LMTP_SERVER_EV_RESET,
	/* Flush output, discard all input not consumed, start TLS, then
	 * call lmtp_server_tls_started(). */
	LMTP_SERVER_EV_STARTTLS,
	/* Flush output, then close (QUIT, too many errors, too long). */
	LMTP_SERVER_EV_CLOSE,
};

struct lmtp_server_settings {
	/* Our name for the greeting and the LHLO reply (NULL: "director"). */
	const char *hostname;
	/* The client as the shell knows it (copied; may be NULL). */
	const struct proto_client_info *client;
	/* STARTTLS is offered (listener tls=starttls, TLS not active). */
	bool starttls;
	/* Limits; 0 selects the default above.  size_max 0 = no limit. */
	size_t line_max;
	unsigned int max_rcpts;
	unsigned int bad_max;
	uint64_t size_max;
};

/* Creates the server state machine; set is copied (strings too). */
struct lmtp_server *lmtp_server_new(const struct lmtp_server_settings *set);
/* Frees s and clears *sp.  NULL is fine. */
void lmtp_server_free(struct lmtp_server **sp);

/* The buffer holding replies for the client; the shell writes out and
 * consumes (buf_consume) what it sent. */
struct buf *lmtp_server_output(struct lmtp_server *s);

/* Queues the greeting "220 <hostname> LMTP ready". */
void lmtp_server_greeting(struct lmtp_server *s);

/* Feeds len bytes from the client (see the input contract above).
 * Returns the number of bytes consumed and sets *ev_r.  For
 * LMTP_SERVER_EV_DATA_CHUNK, *chunk_r and *chunk_len_r describe the body
 * bytes; otherwise they are set to NULL / 0.  While an event waits for
 * the shell's answer it consumes nothing and returns MORE; after CLOSE it
 * consumes nothing and returns CLOSE.  After STARTTLS nothing past the
 * STARTTLS line has been consumed. */
enum lmtp_server_event lmtp_server_input(struct lmtp_server *s,
    const void *data, size_t len, size_t *consumed_r, const char **chunk_r,
    size_t *chunk_len_r);

/* Whether the client owes us the rest of something it started: a
 * transaction from MAIL to the end of its data, or a command line.  The
 * shell bounds how long that may take, however slowly bytes arrive. */
bool lmtp_server_client_busy(const struct lmtp_server *s);

/* TLS is up after LMTP_SERVER_EV_STARTTLS: forgets LHLO, the transaction
 * and any partial line (RFC 3207), stops offering STARTTLS. */
void lmtp_server_tls_started(struct lmtp_server *s);

/* During LMTP_SERVER_EV_RCPT: the recipient address without <> (may
 * contain a quoted local part), and its 0-based index among the RCPT
 * commands handed to the shell in this transaction.  Valid until
 * lmtp_server_rcpt_reply(). */
const char *lmtp_server_rcpt_addr(const struct lmtp_server *s);
unsigned int lmtp_server_rcpt_index(const struct lmtp_server *s);
/* The transaction's MAIL FROM address without <> ("" for the null
 * sender) and its parameters as the client sent them ("" if none).
 * Valid while a transaction is open. */
const char *lmtp_server_mail_from(const struct lmtp_server *s);
const char *lmtp_server_mail_params(const struct lmtp_server *s);
/* The client's LHLO name ("" before LHLO) and the client info given in
 * the settings (zeroed if none). */
const char *lmtp_server_helo(const struct lmtp_server *s);
const struct proto_client_info *lmtp_server_client(const struct lmtp_server *s);

/* Answers the pending RCPT with reply (a reply line such as "250 2.1.5
 * OK" or a backend's line; normalised by lmtp_reply_normalise()).  A 2xx
 * reply accepts the recipient.  Does nothing unless a RCPT is pending. */
void lmtp_server_rcpt_reply(struct lmtp_server *s, const char *reply);

/* Answers the pending DATA: go sends 354 and starts the body; refuse
 * sends reply (normalised; a 2xx/3xx reply becomes "451 4.3.0") and ends
 * the transaction.  Do nothing unless DATA is pending. */
void lmtp_server_data_go(struct lmtp_server *s);
void lmtp_server_data_refuse(struct lmtp_server *s, const char *reply);

/* The delivery reply for the recipient with index rcpt_index (as given
 * at its RCPT; it must have been accepted), from LMTP_SERVER_EV_DATA_START
 * on: a backend may fail while the body still arrives.  Replies go out
 * in RCPT order as soon as all earlier ones are known, but never before
 * the end marker was read (one given earlier is kept until then); once
 * every accepted recipient has one, the transaction ends and parsing
 * resumes (at EV_DATA_END already if all were given before it).  After
 * EV_DATA_ABORT or a refused DATA the replies given are dropped.
 * Returns 0, or -1 outside a DATA command, or for an unknown, rejected or
 * already answered index (nothing changes). */
int lmtp_server_data_reply(
    struct lmtp_server *s, unsigned int rcpt_index, const char *reply);

/* Copies reply (len bytes, one line, CR/LF excluded) into dst (size >=
 * LMTP_REPLY_MAX + 1) as a reply line safe to send to a client: control
 * bytes become spaces, the text is cut to LMTP_REPLY_MAX, and an enhanced
 * status code "c.0.0" is inserted when the text has none.  Returns the
 * 3-digit code, or -1 if reply does not start with a code 200-599 (dst
 * is then "451 4.3.0 Invalid reply"). */
int lmtp_reply_normalise(char *dst, size_t size, const char *reply, size_t len);

#endif

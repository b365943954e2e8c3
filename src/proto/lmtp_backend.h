/*
 * lmtp_backend.h - the director as an LMTP client of one backend (pure,
 * sans I/O; RFC 2033, RFC 2920 pipelining).
 *
 * Handshake: the 220 greeting (multi-line allowed); LHLO; STARTTLS if the
 * settings ask for it (the backend must offer it; EV_STARTTLS, then
 * lmtp_backend_tls_started() and LHLO again); XCLIENT if offered, with
 * only the attributes the backend lists among ADDR, PORT, HELO, SESSION
 * and TTL (values xtext-encoded; an IPv6 ADDR gets Postfix's "IPV6:"
 * prefix), answered by a new 220 greeting, then LHLO again; then
 * EV_READY.  Observed on a running Dovecot 2.3.19 lmtp: it advertises
 * "XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT", answers
 * XCLIENT with a new 220 greeting, and takes ADDR with or without the
 * "IPV6:" prefix.  A TTL of 0 in the client info means a proxy
 * loop: the module refuses (the first input call returns EV_CLOSE).
 *
 * Transaction: lmtp_backend_mail(), lmtp_backend_rcpt() any number of
 * times, lmtp_backend_data().  With PIPELINING the commands are sent as
 * they are given, else one at a time.  Each RCPT gets an EV_RCPT_REPLY;
 * when MAIL failed, every RCPT gets MAIL's reply.  After 354 comes
 * EV_DATA_READY: the shell writes the wire-form body itself (after
 * flushing this module's output), then calls lmtp_backend_data_end().
 * Then one EV_DATA_REPLY per recipient accepted at RCPT, in RCPT order (a
 * failed DATA command gives its reply to each of them), then EV_DONE and
 * the connection is idle again: a new MAIL may follow.
 *
 * CHUNKING (RFC 3030), when the backend offers it with PIPELINING
 * (lmtp_backend_chunking()): instead of DATA, once every RCPT has its
 * reply and one was accepted, the shell sends the message in chunks:
 * lmtp_backend_bdat(size, last) queues "BDAT <size>[ LAST]" and the shell
 * writes exactly size message bytes right after it (after flushing this
 * module's output), with no dot-stuffing and no end marker.  No 354 is
 * awaited.  Each chunk but the last is answered by one reply, swallowed
 * if 2xx; a refused chunk gives its reply to every accepted recipient
 * (EV_DATA_REPLY) and then EV_CLOSE (the chunks still in flight leave
 * the connection in no defined state).  The last chunk is answered like
 * the end of DATA: one EV_DATA_REPLY per accepted recipient, EV_DONE.
 * Observed on Dovecot 2.3.19's lmtp: "250 2.0.0 Added <n> octets" per
 * chunk, "250 2.0.0 <user> <id> Saved" per recipient after LAST.
 *
 * Input contract: lmtp_backend_input() consumes a prefix of the data and
 * returns an event; the shell calls it again after every event other than
 * EV_MORE (even with no bytes left) until EV_MORE comes back.  Whole and
 * byte-wise feeding give the same events and output.
 *
 * Every reply line handed out is normalised (lmtp_reply_normalise():
 * one line, no control bytes, at most LMTP_REPLY_MAX bytes, with an
 * enhanced status code), so it can be relayed to the client.  A 421 at
 * any time, a malformed or unexpected reply or a line longer than
 * line_max ends the connection with EV_CLOSE and lmtp_backend_error().
 */
#ifndef DIRECTOR_LMTP_BACKEND_H
#define DIRECTOR_LMTP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct buf;
struct lmtp_backend;

#define LMTP_BACKEND_LINE_MAX 4096 /* default longest reply line */
/* Longest MAIL/RCPT line we send, CRLF included. */
#define LMTP_BACKEND_CMD_MAX 2048

enum lmtp_backend_event {
	/* Flush output, feed more input. */
	LMTP_BACKEND_EV_MORE,
	/* Start TLS towards the backend, then lmtp_backend_tls_started(). */
	LMTP_BACKEND_EV_STARTTLS,
	/* Handshake done: a transaction may start. */
	LMTP_BACKEND_EV_READY,
	/* The reply to a RCPT: lmtp_backend_reply_index() and _reply(). */
	LMTP_BACKEND_EV_RCPT_REPLY,
	/* 354: stream the body, then lmtp_backend_data_end(). */
	LMTP_BACKEND_EV_DATA_READY,
	/* The delivery reply of one accepted recipient (index, reply). */
	LMTP_BACKEND_EV_DATA_REPLY,
	/* The transaction is over (all DATA replies given, or DATA failed
	 * without accepted recipients, or RSET done); idle again. */
	LMTP_BACKEND_EV_DONE,
	/* Close the connection; lmtp_backend_error() says why ("" after an
	 * orderly QUIT).  Recipients without a reply yet must be answered
	 * by the shell (e.g. "451 4.4.0"). */
	LMTP_BACKEND_EV_CLOSE,
};

struct lmtp_backend_settings {
	/* Our name for LHLO (NULL: "director"). */
	const char *hostname;
	/* Issue STARTTLS before anything else (backend tls=starttls). */
	bool starttls;
	/* Longest reply line accepted; 0: LMTP_BACKEND_LINE_MAX. */
	size_t line_max;
};

/* Creates the state machine for one backend connection.  set, info and
 * helo (the client's LHLO name, may be NULL) are copied.  Nothing is sent
 * before the greeting arrives. */
struct lmtp_backend *lmtp_backend_new(const struct lmtp_backend_settings *set,
    const struct proto_client_info *info, const char *helo);
/* Frees b and clears *bp.  NULL is fine. */
void lmtp_backend_free(struct lmtp_backend **bp);

/* The buffer holding what must be sent to the backend. */
struct buf *lmtp_backend_output(struct lmtp_backend *b);

/* Feeds len bytes the backend sent (see the input contract above). */
enum lmtp_backend_event lmtp_backend_input(
    struct lmtp_backend *b, const void *data, size_t len, size_t *consumed_r);

/* TLS to the backend is up after EV_STARTTLS: queues LHLO. */
void lmtp_backend_tls_started(struct lmtp_backend *b);

/* Starts a transaction (only when idle): MAIL FROM:<from> with params
 * (may be NULL).  BODY= is dropped unless the backend offers 8BITMIME,
 * SIZE= unless it offers SIZE.  Returns 0, or -1 (nothing queued) when
 * not idle, when from/params hold control bytes, or when the line with
 * its CRLF would exceed LMTP_BACKEND_CMD_MAX. */
int lmtp_backend_mail(
    struct lmtp_backend *b, const char *from, const char *params);
/* Adds RCPT TO:<to>; rcpt_index is the shell's number for it, given back
 * with its replies.  Returns 0, or -1 outside a transaction, after
 * lmtp_backend_data(), or for an unsafe address or one whose line with
 * its CRLF would exceed LMTP_BACKEND_CMD_MAX (nothing queued). */
int lmtp_backend_rcpt(
    struct lmtp_backend *b, unsigned int rcpt_index, const char *to);
/* Adds DATA after the recipients.  Returns 0 or -1 (no transaction, or
 * DATA already given). */
int lmtp_backend_data(struct lmtp_backend *b);
/* Whether the body goes in BDAT chunks (CHUNKING and PIPELINING offered
 * in the last LHLO reply). */
bool lmtp_backend_chunking(const struct lmtp_backend *b);
/* Queues "BDAT <size>" (" LAST" with last); the shell writes the size
 * bytes of the chunk right after this module's output.  The first call
 * needs every RCPT answered and one of them accepted (and no DATA);
 * none after the last chunk.  Returns 0, or -1 (nothing queued). */
int lmtp_backend_bdat(struct lmtp_backend *b, uint64_t size, bool last);
/* After EV_DATA_READY and the body: queues the end marker ".\r\n".
 * Returns 0 or -1 (not in the body). */
int lmtp_backend_data_end(struct lmtp_backend *b);
/* Abandons the transaction: replies still due are swallowed, RSET is
 * sent and its 250 gives EV_DONE (also when idle).  Returns 0, or -1
 * during the handshake or once DATA or a BDAT has been sent (a body
 * cannot be aborted in-band: close the connection instead). */
int lmtp_backend_rset(struct lmtp_backend *b);
/* Queues QUIT (nothing is sent in the middle of a body or while TLS is
 * starting); the next reply gives EV_CLOSE with an empty error. */
void lmtp_backend_quit(struct lmtp_backend *b);

/* With EV_RCPT_REPLY / EV_DATA_REPLY: the recipient's index and its
 * normalised reply line (valid until the next input call). */
unsigned int lmtp_backend_reply_index(const struct lmtp_backend *b);
const char *lmtp_backend_reply(const struct lmtp_backend *b);

/* After EV_CLOSE: why, for the log (sanitised; "" after QUIT). */
const char *lmtp_backend_error(const struct lmtp_backend *b);

#endif

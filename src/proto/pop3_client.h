/*
 * pop3_client.h - the POP3 server a client talks to until it has logged
 * in (pure; see proto.h for the input/action contract).
 *
 * Pre-login commands: CAPA, STLS, USER, PASS, AUTH (PLAIN and LOGIN, with
 * or without an initial response; without a mechanism it lists them, RFC
 * 5034), NOOP, QUIT.  Everything else is answered with -ERR and counts as
 * a bad command.
 *
 * Decisions (documented for the shell and the tests):
 * - Lines end in CRLF or a bare LF; empty lines are ignored and not
 *   counted as bad.  Commands are case-insensitive.
 * - A line longer than line_max (which must also hold AUTH responses,
 *   so the default is far above RFC 2449's 255 octets) ends the session:
 *   "-ERR Input line too long." and PROTO_ACT_CLOSE.  So does reaching
 *   bad_max bad commands ("-ERR Too many bad commands.").
 * - Lines containing NUL bytes are bad commands.
 * - Output is bounded: input() stops consuming while more than
 *   POP3_CLIENT_OUTPUT_HIGH bytes of output are pending.
 */
#ifndef DIRECTOR_POP3_CLIENT_H
#define DIRECTOR_POP3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;
struct pop3_client;

/* Defaults and hard limits. */
#define POP3_CLIENT_LINE_MAX 8192 /* bytes per line, without CRLF */
#define POP3_CLIENT_BAD_MAX 10 /* bad commands before closing */
#define POP3_CLIENT_OUTPUT_HIGH 16384 /* stop parsing above this */
#define POP3_CLIENT_TEXT_MAX 512 /* longest relayed backend text */

struct pop3_client_settings {
	/* Greeting text after "+OK " (NULL: "Director ready."). */
	const char *greeting;
	/* STLS is offered (listener tls=starttls, TLS not active). */
	bool starttls;
	/* TLS is active on the connection (implicit TLS). */
	bool secured;
	/* USER/PASS and AUTH allowed without TLS. */
	bool allow_plaintext_auth;
	/* The SASL mechanisms offered (sasl.h SASL_MECH_BIT()s; 0: PLAIN
	 * and LOGIN). */
	unsigned int mechs;
	/* Limits; 0 selects the default above. */
	size_t line_max;
	unsigned int bad_max;
};

/* Creates the client-side state machine.  set is copied (the greeting
 * string too). */
struct pop3_client *pop3_client_new(const struct pop3_client_settings *set);
/* Frees the client, wiping credentials; clears *cp.  NULL is fine. */
void pop3_client_free(struct pop3_client **cp);

/* The buffer holding replies for the client.  The shell writes out and
 * consumes (buf_consume) what it sent. */
struct buf *pop3_client_output(struct pop3_client *c);

/* Queues the greeting "+OK <greeting>". */
void pop3_client_greeting(struct pop3_client *c);

/* Feeds len bytes the client sent; see proto.h.  Returns the number of
 * bytes consumed and sets *act_r.  While waiting for tls_started() or
 * login_result(), and after a successful login, it consumes nothing and
 * returns PROTO_ACT_MORE; after PROTO_ACT_CLOSE it consumes nothing and
 * returns PROTO_ACT_CLOSE.  After PROTO_ACT_STARTTLS nothing past the STLS
 * line has been consumed; the shell discards the rest. */
size_t pop3_client_input(struct pop3_client *c, const void *data, size_t len,
    enum proto_action *act_r);

/* TLS is now active after PROTO_ACT_STARTTLS: forgets partial input and
 * a pending USER, stops offering STLS and allows authentication. */
void pop3_client_tls_started(struct pop3_client *c);

/* The credentials after PROTO_ACT_LOGIN, owned by c; valid until
 * pop3_client_login_result() or pop3_client_free().  NULL otherwise. */
const struct proto_creds *pop3_client_creds(const struct pop3_client *c);

/* Queues the client's reply to its PASS/AUTH.  backend_text is the text
 * of the backend's reply after "+OK " or "-ERR " (may be NULL).  OK:
 * "+OK text" (default "Logged in."); the session is then done.
 * REJECTED: "-ERR text" keeping the backend's response code (default
 * "[AUTH] Authentication failed.").  TEMPFAIL: "-ERR [SYS/TEMP] text"
 * (default "Account is temporarily unavailable."; a response code of the
 * backend's text is replaced).  After REJECTED/TEMPFAIL the credentials
 * are wiped and the client may try again.  Remote text is flattened to
 * one line of at most POP3_CLIENT_TEXT_MAX bytes.  Does nothing unless a
 * login is pending. */
void pop3_client_login_result(struct pop3_client *c,
    enum proto_login_status status, const char *backend_text);

/* The backend answered the pending OAuth AUTH with the error challenge
 * b64 (base64, sasl_challenge_valid()).  The next login_result() with
 * REJECTED sends the client "+ b64" first and its "-ERR" only after the
 * client's response (the dummy response of RFC 7628), as the backend
 * did.  Does nothing unless an OAuth login is pending. */
void pop3_client_login_challenge(struct pop3_client *c, const char *b64);

#endif

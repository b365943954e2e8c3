/*
 * imap_client.h - the IMAP server a client talks to until it has logged
 * in (pure; see proto.h for the input/action contract).
 *
 * Pre-login commands: CAPABILITY, NOOP, ID, LOGOUT, STARTTLS, LOGIN,
 * AUTHENTICATE PLAIN|LOGIN (with or without SASL-IR).  Everything else is
 * answered with a tagged BAD and counts as a bad command.
 *
 * Decisions (documented for the shell and the tests):
 * - Lines may end in CRLF or a bare LF (many clients and scripts send LF).
 * - Empty lines are ignored silently and are not counted as bad.
 * - A line longer than line_max, a non-synchronizing literal that cannot be
 *   skipped safely, or more than bad_max bad commands end the session with
 *   an untagged BYE and PROTO_ACT_CLOSE.  Literal bytes are never parsed as
 *   commands.
 * - Output is bounded: input() stops consuming (returns PROTO_ACT_MORE with
 *   fewer bytes consumed than offered) while more than
 *   IMAP_CLIENT_OUTPUT_HIGH bytes of output are pending.  The shell must
 *   write the output and then feed the unconsumed bytes again.
 */
#ifndef DIRECTOR_IMAP_CLIENT_H
#define DIRECTOR_IMAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;
struct imap_client;
struct imap_id_field;

/* Defaults and hard limits. */
#define IMAP_CLIENT_LINE_MAX 8192 /* bytes per line, without CRLF */
#define IMAP_CLIENT_LITERAL_MAX 8192 /* bytes of one stored literal */
#define IMAP_CLIENT_BAD_MAX 10 /* bad commands before BYE */
#define IMAP_CLIENT_OUTPUT_HIGH 16384 /* stop parsing above this */

struct imap_client_settings {
	/* Text of the greeting after the CAPABILITY code (NULL: default). */
	const char *greeting;
	/* Our name in the ID reply (NULL: "director"). */
	const char *server_name;
	/* STARTTLS is offered (listener tls=starttls, TLS not active). */
	bool starttls;
	/* TLS is active on the connection (implicit TLS). */
	bool secured;
	/* LOGIN/AUTHENTICATE allowed without TLS. */
	bool allow_plaintext_auth;
	/* The SASL mechanisms offered (sasl.h SASL_MECH_BIT()s; 0: PLAIN
	 * and LOGIN). */
	unsigned int mechs;
	/* Limits; 0 selects the default above. */
	size_t line_max;
	size_t literal_max;
	unsigned int bad_max;
};

/* Creates the client-side state machine.  set is copied. */
struct imap_client *imap_client_new(const struct imap_client_settings *set);
/* Frees the client, wiping credentials; clears *cp.  NULL is fine. */
void imap_client_free(struct imap_client **cp);

/* The buffer holding replies for the client.  The shell writes out and
 * consumes (buf_consume) what it sent. */
struct buf *imap_client_output(struct imap_client *c);

/* Queues the greeting: "* OK [CAPABILITY ...] <greeting>". */
void imap_client_greeting(struct imap_client *c);

/* Feeds len bytes the client sent; see proto.h.  Returns the number of
 * bytes consumed and sets *act_r.  In the states where no client input
 * may be parsed (after PROTO_ACT_STARTTLS until imap_client_tls_started(),
 * after PROTO_ACT_LOGIN until imap_client_login_result(), after a
 * successful login) it consumes nothing and returns PROTO_ACT_MORE; after
 * PROTO_ACT_CLOSE it consumes nothing and returns PROTO_ACT_CLOSE. */
size_t imap_client_input(struct imap_client *c, const void *data, size_t len,
    enum proto_action *act_r);

/* TLS is now active after PROTO_ACT_STARTTLS: forgets every partial
 * command and the client's ID fields, stops offering STARTTLS and allows
 * authentication. */
void imap_client_tls_started(struct imap_client *c);

/* The credentials after PROTO_ACT_LOGIN, owned by c; valid until
 * imap_client_login_result() or imap_client_free().  NULL otherwise. */
const struct proto_creds *imap_client_creds(const struct imap_client *c);

/* Queues the client's reply to its LOGIN/AUTHENTICATE, with the client's
 * tag.  status OK: "tag OK [CAPABILITY backend_caps] text", where text is
 * backend_text (the backend's tagged OK text; used verbatim if it starts
 * with a response code) or "Logged in"; the session is then done.
 * REJECTED: "tag NO backend_text" (keeping the backend's response code;
 * default "[AUTHENTICATIONFAILED] Authentication failed.").  TEMPFAIL:
 * "tag NO [UNAVAILABLE] text" (default "Account is temporarily
 * unavailable.").  After REJECTED/TEMPFAIL the credentials are wiped and
 * the client may send more commands.  Remote text is flattened to one
 * line.  Either string may be NULL.  Does nothing unless a login is
 * pending (PROTO_ACT_LOGIN was returned and not yet answered). */
void imap_client_login_result(struct imap_client *c,
    enum proto_login_status status, const char *backend_text,
    const char *backend_caps);

/* The backend answered the pending OAuth AUTHENTICATE with the error
 * challenge b64 (base64, checked by sasl_challenge_valid(); the backend
 * module has already ended its exchange).  The next login_result()
 * with REJECTED sends the client "+ b64" first and its "tag NO" only
 * after the client's response (the dummy response of RFC 7628), as the
 * backend did.  Does nothing unless an OAuth login is pending. */
void imap_client_login_challenge(struct imap_client *c, const char *b64);

/* The fields of the client's last ID command (at most
 * IMAP_ID_FIELDS_MAX), owned by c.  Sets *count_r. */
const struct imap_id_field *imap_client_id_fields(
    const struct imap_client *c, size_t *count_r);

/* If the client sent a valid "x-proxy-ttl" ID field (it is another proxy),
 * stores it in *ttl_r and returns true.  The value is client-controlled:
 * the shell should send min(its own TTL, value - 1), so a client can only
 * lower it, and refuse to proxy when that is 0. */
bool imap_client_proxy_ttl(const struct imap_client *c, unsigned int *ttl_r);

/* The client's tag of the pending LOGIN/AUTHENTICATE ("" if none). */
const char *imap_client_login_tag(const struct imap_client *c);

#endif

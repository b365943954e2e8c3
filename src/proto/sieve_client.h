/*
 * sieve_client.h - the ManageSieve server (RFC 5804) a client talks to
 * until it has logged in (pure; see proto.h for the input/action contract).
 *
 * Pre-login commands: CAPABILITY, STARTTLS, AUTHENTICATE "PLAIN"|"LOGIN"
 * (with or without an initial response), NOOP [tag], LOGOUT.  Everything
 * else is answered with NO and counts as a bad command.
 *
 * Decisions (documented for the shell and the tests):
 * - The greeting, the CAPABILITY reply and the reply to a completed
 *   STARTTLS list the capabilities in the order of Pigeonhole's
 *   managesieve-login: IMPLEMENTATION, SIEVE, NOTIFY, SASL, STARTTLS,
 *   VERSION.  Like Dovecot, SASL lists only the mechanisms usable now: it
 *   is "" before TLS unless plaintext authentication is allowed (RFC 5804
 *   section 1.7 allows an empty list when STARTTLS is offered).
 * - Command names are case-insensitive atoms; arguments are strings:
 *   quoted ("\\" and "\"" escapes, one line) or literals.  RFC 5804 has
 *   clients send {n+} literals only; {n} is taken the same way (nothing is
 *   sent before its bytes: ManageSieve has no continuation request), as
 *   Dovecot does.  The RFC's 1024-octet limit on quoted strings is not
 *   enforced: a quoted string is bounded by the line.
 * - A literal is stored up to line_max bytes.  A bigger one fails its
 *   command (NO "Literal too large.", a bad command) once its bytes, up to
 *   SIEVE_CLIENT_LITERAL_SKIP_MAX, have been skipped; past that the
 *   session ends with BYE.  So does a syntax error on a line that
 *   announces a literal (where the command ends is unknown).  Literal
 *   bytes are never parsed as commands.
 * - Lines end in CRLF or a bare LF; empty lines between commands are
 *   ignored.  A line longer than line_max ends the session with BYE.
 *   Lines with NUL bytes are syntax errors; NUL bytes in literals fail the
 *   check of whatever reads them (base64, mechanism name, echo tag).
 * - AUTHENTICATE before TLS without allow_plaintext_auth is answered NO
 *   (ENCRYPT-NEEDED) (RFC 5804 section 1.3) and is not a bad command,
 *   like STARTTLS that is not offered.  Unknown mechanisms, malformed
 *   SASL responses and rejected logins are bad commands; a cancelled
 *   exchange ("*") and a temporary failure are not.
 * - bad_max bad commands end the session with BYE.  (Pigeonhole closes
 *   after 3; the default here is the director's other protocols'.)
 * - SASL challenges are strings, as Pigeonhole sends them: "" for PLAIN
 *   without an initial response, base64 "Username:" and "Password:" for
 *   LOGIN.  An initial response "" is an empty response.
 * - Output is bounded: input() stops consuming while more than
 *   SIEVE_CLIENT_OUTPUT_HIGH bytes of output are pending.
 */
#ifndef DIRECTOR_SIEVE_CLIENT_H
#define DIRECTOR_SIEVE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;
struct sieve_client;

/* Defaults and hard limits. */
#define SIEVE_CLIENT_LINE_MAX 8192 /* bytes per line and literal */
#define SIEVE_CLIENT_BAD_MAX 10 /* bad commands before BYE */
#define SIEVE_CLIENT_OUTPUT_HIGH 16384 /* stop parsing above this */
#define SIEVE_CLIENT_TEXT_MAX 512 /* longest relayed backend text */
#define SIEVE_CLIENT_VALUE_MAX 1024 /* longest capability value */
/* The literal of a rejected command is skipped up to this size. */
#define SIEVE_CLIENT_LITERAL_SKIP_MAX 65536

/* The extensions Pigeonhole 0.5 enables by default.  The SIEVE capability
 * must be what the backends run, so an operator sets it from a backend's
 * greeting when they differ. */
#define SIEVE_CLIENT_EXTENSIONS_DEFAULT                                        \
	"fileinto reject envelope encoded-character vacation subaddress "      \
	"comparator-i;ascii-numeric relational regex imap4flags copy "         \
	"include variables body enotify environment mailbox date index "       \
	"ihave duplicate mime foreverypart extracttext"

struct sieve_client_settings {
	/* Text of the OK after the greeting's capabilities (NULL:
	 * "Director ready."). */
	const char *greeting;
	/* IMPLEMENTATION capability (NULL: "Director"). */
	const char *implementation;
	/* SIEVE capability: the Sieve extensions of the backends (NULL:
	 * SIEVE_CLIENT_EXTENSIONS_DEFAULT). */
	const char *sieve_extensions;
	/* NOTIFY capability, required with "enotify" (NULL: "mailto" if
	 * the extensions include enotify, else none; "": none). */
	const char *notify;
	/* STARTTLS is offered (listener tls=starttls, TLS not active). */
	bool starttls;
	/* TLS is active on the connection (implicit TLS). */
	bool secured;
	/* AUTHENTICATE allowed without TLS. */
	bool allow_plaintext_auth;
	/* The SASL mechanisms offered (sasl.h SASL_MECH_BIT()s; 0: PLAIN
	 * and LOGIN). */
	unsigned int mechs;
	/* Limits; 0 selects the default above. */
	size_t line_max;
	unsigned int bad_max;
};

/* Creates the client-side state machine.  set is copied (its strings
 * too, flattened to one line of at most SIEVE_CLIENT_VALUE_MAX bytes). */
struct sieve_client *sieve_client_new(const struct sieve_client_settings *set);
/* Frees the client, wiping credentials; clears *cp.  NULL is fine. */
void sieve_client_free(struct sieve_client **cp);

/* The buffer holding replies for the client.  The shell writes out and
 * consumes (buf_consume) what it sent. */
struct buf *sieve_client_output(struct sieve_client *c);

/* Queues the greeting: the capabilities, then OK "<greeting>". */
void sieve_client_greeting(struct sieve_client *c);

/* Feeds len bytes the client sent; see proto.h.  Returns the number of
 * bytes consumed and sets *act_r.  While waiting for tls_started() or
 * login_result(), and after a successful login, it consumes nothing and
 * returns PROTO_ACT_MORE; after PROTO_ACT_CLOSE it consumes nothing and
 * returns PROTO_ACT_CLOSE.  After PROTO_ACT_STARTTLS nothing past the
 * STARTTLS line has been consumed; the shell discards the rest. */
size_t sieve_client_input(struct sieve_client *c, const void *data, size_t len,
    enum proto_action *act_r);

/* TLS is now active after PROTO_ACT_STARTTLS: forgets partial input,
 * stops offering STARTTLS, allows authentication and queues the
 * capabilities again with OK "TLS negotiation successful." (RFC 5804
 * section 2.2: the server sends them unasked).  Does nothing otherwise. */
void sieve_client_tls_started(struct sieve_client *c);

/* The credentials after PROTO_ACT_LOGIN, owned by c; valid until
 * sieve_client_login_result() or sieve_client_free().  NULL otherwise. */
const struct proto_creds *sieve_client_creds(const struct sieve_client *c);

/* Queues the client's reply to its AUTHENTICATE.  backend_text is the
 * backend's reply after "OK " or "NO ", its string decoded, its response
 * code (if any) kept in front as sent: "(CODE) text", "(CODE/SUB
 * \"detail\") text" or "text" (may be NULL; Pigeonhole's proxy uses the
 * same form).  OK: OK [(CODE)] "text" (default "Logged in."); the session
 * is then done.  REJECTED: NO [(CODE)] "text" (default "Authentication
 * failed.").  TEMPFAIL: NO (TRYLATER) "text" (default "Account is
 * temporarily unavailable."; a code of the backend's is dropped).  A
 * malformed code is dropped; the text is flattened to one line of at
 * most SIEVE_CLIENT_TEXT_MAX bytes and quoted.  After REJECTED/TEMPFAIL
 * the credentials are wiped and the client may try again; a rejection is
 * a bad command.  Does nothing unless a login is pending. */
void sieve_client_login_result(struct sieve_client *c,
    enum proto_login_status status, const char *backend_text);

/* The backend answered the pending OAuth AUTHENTICATE with the error
 * challenge b64 (base64, sasl_challenge_valid()).  The next
 * login_result() with REJECTED sends the client the challenge as a string
 * first and its NO only after the client's response (the dummy response
 * of RFC 7628), as the backend did.  Does nothing unless an OAuth login
 * is pending. */
void sieve_client_login_challenge(struct sieve_client *c, const char *b64);

#endif

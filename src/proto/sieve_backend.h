/*
 * sieve_backend.h - logs in to a ManageSieve backend (RFC 5804; Dovecot
 * Pigeonhole's managesieve-login) on the client's behalf (pure; see
 * proto.h for the input/action contract).
 *
 * Flow: the greeting is a capability listing ("NAME" [SP "value"] lines)
 * ended by an OK; with settings.starttls, STARTTLS (PROTO_ACT_STARTTLS,
 * then sieve_backend_tls_started(); the backend sends its capability
 * listing again unprompted, RFC 5804 section 2.2, which replaces the
 * first one); XCLIENT with the client's identity if the listing offers
 * "XCLIENT" (Pigeonhole does for login_trusted_networks) and the
 * connection did not begin with a PROXY header (format: ADDR, PORT,
 * DESTADDR, DESTPORT, SESSION, TTL; every value a ManageSieve atom); then
 * AUTHENTICATE "PLAIN" with the initial response as a quoted string, or
 * as a non-synchronising literal {n+} when it is longer than a quoted
 * string may be (1024 octets).  ManageSieve has no LOGIN command: every
 * kind of credentials goes through PLAIN, with an authorization identity
 * only for PROTO_AUTH_SASL_PLAIN.  The listing must offer SASL PLAIN;
 * otherwise the module closes rather than send the password to a backend
 * that says it will not take it (no TLS?).  OAuth credentials go as
 * AUTHENTICATE "OAUTHBEARER"|"XOAUTH2" with the client's message, and a
 * string after it is the backend's error challenge: kept for the client
 * (sieve_backend_challenge()) and answered with the dummy response.
 *
 * Replies: OK / NO / BYE [SP "(" resp-code ")"] [SP string]; strings are
 * quoted or literals ({n} or {n+}, CRLF, n octets) and a literal may
 * continue the reply on the next line.  AUTHENTICATE's OK gives
 * PROTO_ACT_LOGGED_IN, its NO PROTO_ACT_LOGIN_FAILED (see
 * sieve_backend_tempfail() for NO (TRYLATER)); a BYE anywhere, a NO to
 * STARTTLS or XCLIENT, a SASL challenge to PLAIN (a string line: PLAIN
 * with an initial response needs none, so it can only be a broken or
 * hostile backend) and any syntax error close.
 *
 * A TTL of 0 in the client info means a proxy loop: the module refuses
 * (the first input call returns PROTO_ACT_CLOSE).
 */
#ifndef DIRECTOR_SIEVE_BACKEND_H
#define DIRECTOR_SIEVE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;
struct sieve_backend;

/* Default longest reply line (Pigeonhole's MAX_MANAGESIEVE_LINE). */
#define SIEVE_BACKEND_LINE_MAX 8192
/* Longest literal accepted in a reply. */
#define SIEVE_BACKEND_LITERAL_MAX 8192

struct sieve_backend_settings {
	/* Issue STARTTLS before logging in (backend tls=starttls). */
	bool starttls;
	/* Longest line accepted from the backend; 0: default. */
	size_t line_max;
};

/* Creates the backend-side state machine.  creds, info and set are
 * copied (the secrets are wiped on free).  Nothing is sent before the
 * backend's greeting has ended. */
struct sieve_backend *sieve_backend_new(const struct proto_creds *creds,
    const struct proto_client_info *info,
    const struct sieve_backend_settings *set);
/* Frees b, wiping the credentials; clears *bp.  NULL is fine. */
void sieve_backend_free(struct sieve_backend **bp);

/* The buffer holding what must be sent to the backend. */
struct buf *sieve_backend_output(struct sieve_backend *b);

/* Feeds len bytes the backend sent; see proto.h.  Returns the number of
 * bytes consumed and sets *act_r.  Stops right after the reply line that
 * produced PROTO_ACT_STARTTLS, LOGGED_IN, LOGIN_FAILED or CLOSE; bytes
 * after a LOGGED_IN line belong to the client.  While waiting for
 * tls_started() it consumes nothing and returns PROTO_ACT_MORE; once
 * finished it consumes nothing and returns PROTO_ACT_CLOSE. */
size_t sieve_backend_input(struct sieve_backend *b, const void *data,
    size_t len, enum proto_action *act_r);

/* TLS to the backend is up after PROTO_ACT_STARTTLS: forgets the
 * capabilities and waits for the listing the backend sends by itself. */
void sieve_backend_tls_started(struct sieve_backend *b);

/* After PROTO_ACT_LOGGED_IN or PROTO_ACT_LOGIN_FAILED: the text of the
 * backend's reply, decoded from its quoted string or literal, with
 * control characters turned into spaces and cut at 1024 bytes (remote
 * text, may be "").  "" otherwise. */
const char *sieve_backend_reply_text(const struct sieve_backend *b);

/* The same for the response code: its first atom ("TRYLATER",
 * "AUTH-TOO-WEAK", "TRYLATER/NORETRY", ...; ATOM-CHARs only, so it can be
 * relayed as is), or "" when the reply had none (what Pigeonhole sends
 * for a wrong password).  Arguments of the code (a REFERRAL's URL, a SASL
 * string) are dropped. */
const char *sieve_backend_resp_code(const struct sieve_backend *b);

/* After PROTO_ACT_LOGIN_FAILED: true when the code is TRYLATER (or
 * TRYLATER/...): the backend could not check the credentials now (auth
 * or userdb failure, shutdown).  The shell then reports
 * PROTO_LOGIN_TEMPFAIL rather than PROTO_LOGIN_REJECTED. */
bool sieve_backend_tempfail(const struct sieve_backend *b);

/* After PROTO_ACT_LOGIN_FAILED of an OAuth login: the backend's error
 * challenge (base64, sasl_challenge_valid()) if it sent one, for
 * sieve_client_login_challenge(); NULL otherwise.  Owned by b. */
const char *sieve_backend_challenge(const struct sieve_backend *b);

/* After PROTO_ACT_CLOSE: why, as a static text for the log (no remote
 * data). */
const char *sieve_backend_error(const struct sieve_backend *b);

/* The value of capability name (case-insensitive) in the backend's
 * capability listing once it has ended with OK (the one read after TLS
 * if STARTTLS was used): "" for a capability without value (STARTTLS),
 * NULL if it was not listed or the listing is not complete.  Values are
 * sanitised like the reply text.  Valid until tls_started() or free. */
const char *sieve_backend_capability(
    const struct sieve_backend *b, const char *name);

/* The backend's SIEVE capability (its space-separated Sieve extensions,
 * for the client-side module to advertise), or "". */
const char *sieve_backend_sieve_caps(const struct sieve_backend *b);

#endif

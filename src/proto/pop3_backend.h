/*
 * pop3_backend.h - logs in to a POP3 backend on the client's behalf
 * (pure; see proto.h for the input/action contract).
 *
 * Flow: greeting "+OK"; CAPA; STLS if configured (PROTO_ACT_STARTTLS,
 * then pop3_backend_tls_started() and CAPA again); XCLIENT with the
 * client's identity if the backend advertises it in CAPA or, as Dovecot
 * does for trusted peers, with "+OK [XCLIENT]" in its greeting (format:
 * ADDR, PORT, DESTADDR, DESTPORT, SESSION, TTL); then USER/PASS for
 * PROTO_AUTH_LOGIN credentials (PASS after USER's reply, never pipelined)
 * or "AUTH PLAIN <initial response>" (with the authzid) for SASL
 * credentials; OAuth credentials replay the client's message with "AUTH
 * OAUTHBEARER|XOAUTH2" (after a "+" continuation when the line would pass
 * 255 octets), and an error challenge after it is kept for the client
 * (pop3_backend_challenge()) and answered with the dummy response.
 * Credentials containing CR or LF are never put on a
 * USER/PASS line: they go through AUTH PLAIN instead.
 *
 * A TTL of 0 in the client info means a proxy loop: the module refuses
 * (the first input call returns PROTO_ACT_CLOSE).
 */
#ifndef DIRECTOR_POP3_BACKEND_H
#define DIRECTOR_POP3_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;
struct pop3_backend;

/* default longest reply line: "+ " and the longest OAuth challenge
 * relayed (SASL_CHALLENGE_MAX) fit */
#define POP3_BACKEND_LINE_MAX 8192

struct pop3_backend_settings {
	/* Issue STLS before logging in (backend tls=starttls). */
	bool starttls;
	/* Longest line accepted from the backend; 0: default. */
	size_t line_max;
};

/* Creates the backend-side state machine.  creds, info and set are
 * copied (the secrets are wiped on free).  Nothing is sent before the
 * backend's greeting arrives. */
struct pop3_backend *pop3_backend_new(const struct proto_creds *creds,
    const struct proto_client_info *info,
    const struct pop3_backend_settings *set);
/* Frees b, wiping the credentials; clears *bp.  NULL is fine. */
void pop3_backend_free(struct pop3_backend **bp);

/* The buffer holding what must be sent to the backend. */
struct buf *pop3_backend_output(struct pop3_backend *b);

/* Feeds len bytes the backend sent; see proto.h.  Returns the number of
 * bytes consumed and sets *act_r.  Stops right after the reply line that
 * produced PROTO_ACT_STARTTLS, LOGGED_IN, LOGIN_FAILED or CLOSE; bytes
 * after a LOGGED_IN line belong to the client.  While waiting for
 * tls_started() it consumes nothing and returns PROTO_ACT_MORE; once
 * finished it consumes nothing and returns PROTO_ACT_CLOSE. */
size_t pop3_backend_input(struct pop3_backend *b, const void *data, size_t len,
    enum proto_action *act_r);

/* TLS to the backend is up after PROTO_ACT_STARTTLS: queues CAPA. */
void pop3_backend_tls_started(struct pop3_backend *b);

/* After PROTO_ACT_LOGGED_IN or PROTO_ACT_LOGIN_FAILED: the backend's
 * reply text after "+OK " / "-ERR " (with any response code; remote
 * text, may be ""), for pop3_client_login_result().  "" otherwise. */
const char *pop3_backend_reply_text(const struct pop3_backend *b);

/* After PROTO_ACT_CLOSE: why, as a static text for the log (no remote
 * data). */
const char *pop3_backend_error(const struct pop3_backend *b);

/* After PROTO_ACT_LOGIN_FAILED of an OAuth login: the backend's error
 * challenge (base64, sasl_challenge_valid()) if it sent one, for
 * pop3_client_login_challenge(); NULL otherwise.  Owned by b. */
const char *pop3_backend_challenge(const struct pop3_backend *b);

#endif

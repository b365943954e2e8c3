/*
 * imap_backend.h - logs in to an IMAP backend on the client's behalf
 * (pure; see proto.h for the input/action contract).
 *
 * Flow: read the greeting (CAPABILITY if the greeting has no capability
 * code), optionally STARTTLS (PROTO_ACT_STARTTLS, then
 * imap_backend_tls_started(), then CAPABILITY again), then send ID with
 * the client's identity when the backend advertises ID, pipelined with
 * LOGIN, AUTHENTICATE PLAIN or, for OAuth credentials, AUTHENTICATE
 * OAUTHBEARER|XOAUTH2 with the client's message.  The tagged OK gives PROTO_ACT_LOGGED_IN
 * (post-login capabilities from its [CAPABILITY] code, or from an explicit
 * CAPABILITY command); NO/BAD gives PROTO_ACT_LOGIN_FAILED.  Anything
 * unexpected (BYE, PREAUTH, garbage, over-long lines, missing STARTTLS,
 * LOGINDISABLED) gives PROTO_ACT_CLOSE; the shell reports a temporary
 * failure to the client and may log imap_backend_error().
 *
 * Commands use the tags D1, D2, ...  Values that cannot be quoted are sent
 * as literals ({n+} with LITERAL+, else synchronizing).  Nothing is logged
 * here; passwords exist only in this module's buffers, wiped on free.
 */
#ifndef DIRECTOR_IMAP_BACKEND_H
#define DIRECTOR_IMAP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;
struct imap_backend;
struct imap_id_field;

#define IMAP_BACKEND_LINE_MAX 16384 /* default longest reply line */

struct imap_backend_settings {
	/* Issue STARTTLS before logging in (backend tls=starttls). */
	bool starttls;
	/* Longest line accepted from the backend; 0: default. */
	size_t line_max;
};

/* Creates the backend-side state machine.  creds, info and the
 * id_count client ID fields (imap_client_id_fields(); may be NULL/0) are
 * copied.  Returns NULL when info->ttl is 0: the proxy TTL is exhausted,
 * which means a proxy loop; the shell must fail the login. */
struct imap_backend *imap_backend_new(const struct proto_creds *creds,
    const struct proto_client_info *info, const struct imap_id_field *id_fields,
    size_t id_count, const struct imap_backend_settings *set);
/* Frees b, wiping the credentials; clears *bp.  NULL is fine. */
void imap_backend_free(struct imap_backend **bp);

/* The buffer holding what must be sent to the backend. */
struct buf *imap_backend_output(struct imap_backend *b);

/* Feeds len bytes the backend sent; see proto.h.  Returns the number of
 * bytes consumed and sets *act_r.  It stops right after the line giving
 * an action; after PROTO_ACT_LOGGED_IN, the unconsumed bytes belong to
 * the client.  Once an action other than MORE was returned (except
 * STARTTLS) it consumes nothing and repeats that action. */
size_t imap_backend_input(struct imap_backend *b, const void *data, size_t len,
    enum proto_action *act_r);

/* TLS to the backend is up after PROTO_ACT_STARTTLS: asks for the
 * capabilities again. */
void imap_backend_tls_started(struct imap_backend *b);

/* After PROTO_ACT_LOGGED_IN: the post-login capability list ("" if the
 * backend gave none).  Owned by b. */
const char *imap_backend_caps(const struct imap_backend *b);

/* After PROTO_ACT_LOGGED_IN or PROTO_ACT_LOGIN_FAILED: the text of the
 * backend's tagged reply with its response code (e.g.
 * "[AUTHENTICATIONFAILED] Authentication failed."), flattened to one line;
 * "" if none.  Owned by b; pass it to imap_client_login_result(). */
const char *imap_backend_reply_text(const struct imap_backend *b);

/* After PROTO_ACT_LOGIN_FAILED of an OAuth login: the backend's error
 * challenge (base64, sasl_challenge_valid()) if it sent one, for
 * imap_client_login_challenge(); NULL otherwise.  Owned by b. */
const char *imap_backend_challenge(const struct imap_backend *b);

/* After PROTO_ACT_CLOSE: why, as a static text for the log (no remote
 * text in it).  NULL before. */
const char *imap_backend_error(const struct imap_backend *b);

#endif

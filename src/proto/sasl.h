/*
 * sasl.h - base64 and the SASL mechanisms a director relays: PLAIN
 * (RFC 4616), LOGIN (draft-murchison-sasl-login), and the OAuth 2.0
 * mechanisms OAUTHBEARER (RFC 7628) and XOAUTH2 (sasl_oauth.h reads their
 * messages).  Pure and bounded.
 *
 * The server side (struct sasl_server) is the one mechanism state machine
 * of the pre-login IMAP and POP3 servers: it decodes each base64 response
 * (initial response "=" is empty, RFC 4959 / RFC 5034; "*" cancels),
 * steps PLAIN or LOGIN, queues the challenges and fills the caller's
 * credentials.  The protocol words the failures.
 */
#ifndef DIRECTOR_SASL_H
#define DIRECTOR_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct buf;

/* Longest decoded SASL response accepted (authzid + authcid + password). */
#define SASL_RESPONSE_MAX 4096
/* Longest identity (authzid, authcid) accepted. */
#define SASL_IDENTITY_MAX 1024

/* Base64 per RFC 4648 with padding.  Decoding is strict: characters outside
 * the alphabet, bad padding or a length that is not a multiple of 4 fail.
 * Returns the decoded length, or -1.  dst must hold at least
 * BASE64_DECODED_MAX(len) bytes. */
#define BASE64_DECODED_MAX(n) (((n) / 4) * 3 + 3)
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
long base64_decode(const char *src, size_t len, unsigned char *dst);
/* Encodes len bytes of src into dst (BASE64_ENCODED_LEN(len) + 1 bytes,
 * NUL-terminated).  Returns the encoded length. */
size_t base64_encode(const unsigned char *src, size_t len, char *dst);

/* Decodes the (already base64-decoded) PLAIN message
 * "authzid NUL authcid NUL passwd" into creds (kind SASL_PLAIN; the fields
 * are newly allocated, creds must be empty).  Rejects empty authcid, NUL
 * bytes in the wrong places, over-long identities.  Returns 0 or -1 with
 * *error_r set to a static text suitable for the client. */
int sasl_plain_decode(const unsigned char *msg, size_t len,
    struct proto_creds *creds, const char **error_r);

/* Builds the base64 PLAIN initial response for creds into a newly
 * allocated NUL-terminated string (the caller wipes and frees it with
 * freezero(p, strlen(p) + 1)). */
char *sasl_plain_encode(const struct proto_creds *creds);

/* The two challenges of the LOGIN mechanism, already base64-encoded. */
#define SASL_LOGIN_CHALLENGE_USER "VXNlcm5hbWU6" /* "Username:" */
#define SASL_LOGIN_CHALLENGE_PASS "UGFzc3dvcmQ6" /* "Password:" */

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_OAUTHBEARER,
	SASL_MECH_XOAUTH2,
	SASL_MECH_COUNT
};

/* A set of mechanisms: bit (1 << mech).  The default is Dovecot's
 * auth_mechanisms default, "plain login". */
#define SASL_MECH_BIT(m) (1u << (m))
#define SASL_MECHS_DEFAULT                                                     \
	(SASL_MECH_BIT(SASL_MECH_PLAIN) | SASL_MECH_BIT(SASL_MECH_LOGIN))

/* The name of mech as a capability shows it ("PLAIN", "OAUTHBEARER"). */
const char *sasl_mech_name(enum sasl_mech mech);

/* Appends before NAME after for each mechanism of mechs (0: the
 * default), in the order of enum sasl_mech. */
void sasl_mechs_append(
    struct buf *out, unsigned int mechs, const char *before, const char *after);

/* Parses a list of mechanism names separated by spaces or commas
 * (case-insensitive) into *mechs_r.  Returns 0, or -1 with the unknown
 * name copied into bad (bad_size bytes) or an empty list (bad = ""). */
int sasl_mechs_parse(
    const char *list, unsigned int *mechs_r, char *bad, size_t bad_size);

/* What a response did to the exchange.  Every result but CONTINUE ends
 * it; every failure has wiped the credentials. */
enum sasl_server_result {
	SASL_SERVER_CONTINUE, /* send *challenge_r, wait for the response */
	SASL_SERVER_DONE, /* the credentials are complete */
	SASL_SERVER_CANCELLED, /* the client sent "*" */
	SASL_SERVER_BAD_BASE64, /* not base64, or over SASL_RESPONSE_MAX */
	SASL_SERVER_BAD_PLAIN, /* malformed PLAIN message (*error_r says) */
	SASL_SERVER_BAD_USER, /* LOGIN: empty, too long or NUL user name */
	SASL_SERVER_BAD_PASSWORD, /* LOGIN: NUL in the password */
	/* OAUTHBEARER / XOAUTH2: malformed, no user to route, or the dummy
	 * response (*error_r says) */
	SASL_SERVER_BAD_OAUTH,
};

enum sasl_server_state {
	SASL_SERVER_IDLE,
	SASL_SERVER_PLAIN, /* waiting for the PLAIN message */
	SASL_SERVER_LOGIN_USER, /* LOGIN: waiting for the user name */
	SASL_SERVER_LOGIN_PASS, /* LOGIN: waiting for the password */
	SASL_SERVER_OAUTH, /* waiting for the OAuth message */
};

/* One exchange at a time; zero-initialised it is idle.  The credentials
 * it fills belong to the caller, who passes the same creds to every call
 * of one exchange. */
struct sasl_server {
	enum sasl_server_state state;
	enum sasl_mech mech;
};

/* The mechanism named by name[0..len) (case-insensitive) if it is in
 * mechs (0: SASL_MECHS_DEFAULT); -1 if it is not one we offer. */
int sasl_mech_lookup(
    const char *name, size_t len, unsigned int mechs, enum sasl_mech *mech_r);

/* Starts an exchange: wipes creds, then steps the initial response
 * ir[0..ir_len) if ir is not NULL ("=" is empty), else queues the first
 * challenge.  Returns like sasl_server_step(). */
enum sasl_server_result sasl_server_start(struct sasl_server *s,
    enum sasl_mech mech, struct proto_creds *creds, const char *ir,
    size_t ir_len, struct buf *out, const char **error_r);

/* Feeds one continuation line b64[0..len).  CONTINUE: the next challenge
 * is queued on out as "+ <base64>" CRLF (the IMAP and POP3 form).  DONE:
 * creds hold kind, authzid ("" unless PLAIN gave one), authcid and
 * password, NUL-free; for OAuth authcid is the user the message names and
 * password the whole decoded message (at most SASL_OAUTH_MESSAGE_MAX
 * bytes).  *error_r is NULL but for BAD_PLAIN and BAD_OAUTH, where it is
 * a static text fit for the client.  Secrets decoded on the way are wiped.  The exchange must be
 * active (else CANCELLED). */
enum sasl_server_result sasl_server_step(struct sasl_server *s,
    struct proto_creds *creds, const char *b64, size_t len, struct buf *out,
    const char **error_r);

/* True between sasl_server_start() and the end of the exchange. */
bool sasl_server_active(const struct sasl_server *s);

/* Ends the exchange (TLS, disconnect); the caller wipes its creds. */
void sasl_server_abort(struct sasl_server *s);

/* Wipes and frees the fields of creds and zeroes the struct. */
void proto_creds_clear(struct proto_creds *creds);

/* The mechanism of OAuth credentials, the one the backend gets. */
enum sasl_mech sasl_oauth_creds_mech(const struct proto_creds *creds);

/* The response that ends an exchange after an OAuth error challenge
 * (RFC 7628 section 3.2.3: the dummy response, %x01; XOAUTH2: empty),
 * base64-encoded. */
const char *sasl_oauth_dummy_response(enum sasl_mech mech);

/* Whether s[0..len) is a plausible server challenge to relay: 1 to
 * SASL_CHALLENGE_MAX base64 characters (alphabet and padding only). */
#define SASL_CHALLENGE_MAX 4096
bool sasl_challenge_valid(const char *s, size_t len);

/* Keeps a copy of the backend's error challenge b64 in *keep (freeing
 * the one before) if creds are OAuth and b64 is valid; else does
 * nothing. */
void sasl_oauth_challenge_keep(
    char **keep, const struct proto_creds *creds, const char *b64);

#endif

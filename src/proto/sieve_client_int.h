/*
 * sieve_client_int.h - internals shared by the two halves of the
 * pre-login ManageSieve server: sieve_client.c (reader, simple commands)
 * and sieve_client_login.c (AUTHENTICATE and the login outcome).  Not a
 * public interface: include only from those two files.
 */
#ifndef DIRECTOR_SIEVE_CLIENT_INT_H
#define DIRECTOR_SIEVE_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "linebuf.h"
#include "proto.h"
#include "sasl.h"
#include "sieve_client.h"

/* Hard cap on the output buffer (a command's reply is a few KiB and the
 * parser stops at SIEVE_CLIENT_OUTPUT_HIGH). */
#define SIEVE_CLIENT_OUTPUT_MAX (SIEVE_CLIENT_OUTPUT_HIGH + 16384)
/* Arguments of one command: no pre-login command takes more. */
#define SIEVE_ARGS_MAX 2
/* Longest NOOP echo tag (quoted, it stays within RFC 5804's 1024). */
#define SIEVE_TAG_MAX 256
/* Longest relayed response code, without the parentheses. */
#define SIEVE_CODE_MAX 256
/* sasl.c's challenges ("+ <base64>" CRLF) are this short. */
#define SIEVE_CHALLENGE_MAX 128
/* Longest quoted string we send (RFC 5804 section 4); a longer relayed
 * OAuth challenge goes as a literal. */
#define SIEVE_QUOTED_MAX 1024

#define SIEVE_GREETING_DEFAULT "Director ready."
#define SIEVE_IMPLEMENTATION_DEFAULT "Director"

/* Pigeonhole's words for a command it cannot run, whatever the reason. */
#define TEXT_BAD "Error in MANAGESIEVE command received by server."
#define TEXT_BAD_RESPONSE "Invalid AUTHENTICATE client response."
#define TEXT_LITERAL "Literal too large."
#define TEXT_PLAINTEXT                                                         \
	"Plaintext authentication disallowed on non-secure (SSL/TLS) "         \
	"connections."

enum sieve_client_state {
	SIEVE_CLIENT_PREAUTH,
	SIEVE_CLIENT_AUTH, /* AUTHENTICATE: sasl is active */
	SIEVE_CLIENT_STARTTLS, /* waiting for tls_started() */
	SIEVE_CLIENT_LOGIN, /* waiting for login_result() */
	/* the backend's OAuth error challenge was relayed: the next
	 * response is the client's, answered by auth_reply */
	SIEVE_CLIENT_AUTH_ERROR,
	SIEVE_CLIENT_DONE, /* logged in */
	SIEVE_CLIENT_CLOSED,
};

enum sieve_cmd_kind {
	SIEVE_CMD_UNKNOWN,
	SIEVE_CMD_RESPONSE, /* a client response inside AUTHENTICATE */
	SIEVE_CMD_CAPABILITY,
	SIEVE_CMD_STARTTLS,
	SIEVE_CMD_AUTHENTICATE,
	SIEVE_CMD_NOOP,
	SIEVE_CMD_LOGOUT,
};

enum sieve_token_type {
	SIEVE_TOKEN_ATOM,
	SIEVE_TOKEN_STRING, /* quoted string or literal */
};

struct sieve_token {
	enum sieve_token_type type;
	size_t off; /* into cmd_data */
	size_t len;
};

struct sieve_client {
	struct sieve_client_settings set;
	char *greeting, *implementation, *extensions, *notify;
	enum sieve_client_state state;
	unsigned int bad;
	struct buf out;

	/* Reader state. */
	struct linebuf line; /* wiped after each line */
	bool in_literal;
	bool literal_skip; /* skip, do not store */
	uint64_t literal_left;

	/* The command (or client response) being collected. */
	bool cmd_started;
	enum sieve_cmd_kind kind;
	unsigned int max_args;
	const char *reject_code; /* response code of the rejection */
	const char *reject; /* reply text once the command ends */
	bool reject_counts; /* ... and count it as bad */
	bool need_sep; /* a token just ended */
	struct sieve_token tokens[SIEVE_ARGS_MAX];
	unsigned int ntokens;
	struct buf cmd_data; /* wiped */

	struct proto_creds creds;
	struct sasl_server sasl;
	struct buf challenge; /* sasl.c's challenge, reworded for us */
	char *mechs; /* the SASL capability's value */
	char *oauth_challenge; /* the backend's OAuth error challenge */
	char *auth_code, *auth_text; /* the NO sent after the response */
};

/* Queues "<status>[ (<code>)][ <text as a quoted string>]" CRLF (also a
 * capability line: status is then the quoted name).  code is ours or
 * checked by sieve_client_code_len(); text is one line. */
void sieve_client_reply(struct sieve_client *c, const char *status,
    const char *code, const char *text);
/* Counts a bad command; ends the session at bad_max. */
enum proto_action sieve_client_count_bad(struct sieve_client *c);
/* NO "<text>", then counts a bad command. */
enum proto_action sieve_client_bad(struct sieve_client *c, const char *text);
/* Ends an AUTHENTICATE exchange without credentials. */
void sieve_client_auth_end(struct sieve_client *c);
/* Token i's bytes: not NUL-terminated, may hold NUL ("" when empty). */
const char *sieve_client_token(const struct sieve_client *c, unsigned int i);
/* The length of the quoted string at line[0] == '"' up to and including
 * its closing quote, and in *value_len_r the length of its value; 0 if it
 * is malformed (unterminated, a bad escape, CR or LF). */
size_t sieve_quoted_len(const char *line, size_t len, size_t *value_len_r);

/* AUTHENTICATE, and a client response inside it (sieve_client_login.c). */
enum proto_action sieve_client_cmd_authenticate(struct sieve_client *c);
enum proto_action sieve_client_response(struct sieve_client *c);
/* The client's response (any, even malformed) to a relayed OAuth error
 * challenge: queues the deferred NO and counts the failed login. */
enum proto_action sieve_client_auth_error_end(struct sieve_client *c);

#endif

/*
 * imap_client_int.h - internals shared by the two halves of the pre-login
 * IMAP server: imap_client.c (command reader, simple commands, ID) and
 * imap_client_login.c (LOGIN, AUTHENTICATE and the login outcome).  Not a
 * public interface: include only from those two files.
 */
#ifndef DIRECTOR_IMAP_CLIENT_INT_H
#define DIRECTOR_IMAP_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imap_client.h"
#include "imap_parse.h"
#include "linebuf.h"
#include "proto.h"
#include "sasl.h"

/* Longest tag. */
#define IMAP_TAG_MAX 32
/* Tokens (arguments and parentheses) of one command. */
#define IMAP_ARGS_MAX 72
/* Parenthesis nesting of one command. */
#define IMAP_DEPTH_MAX 4
/* Bytes of stored arguments (quoted strings, atoms, literals) of one
 * command. */
#define IMAP_CMD_DATA_MAX 65536
/* A non-synchronizing literal of a rejected command up to this size is
 * skipped; a larger one closes the session. */
#define IMAP_LITERAL_SKIP_MAX 65536
/* Hard cap on the output buffer (replies are small and the parser stops
 * at IMAP_CLIENT_OUTPUT_HIGH). */
#define IMAP_CLIENT_OUTPUT_MAX (IMAP_CLIENT_OUTPUT_HIGH + 8192)
/* Longest backend text relayed to the client. */
#define IMAP_RELAY_TEXT_MAX 1024

#define IMAP_CAPS_BASE                                                         \
	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "                    \
	"LITERAL+"

#define TEXT_BAD_SYNTAX "BAD Error in IMAP command received by server."
/* Dovecot answers unknown and not-yet-allowed commands alike. */
#define TEXT_BAD_UNKNOWN TEXT_BAD_SYNTAX
#define TEXT_BAD_NOT_YET TEXT_BAD_SYNTAX
#define TEXT_BAD_ARGS "BAD Too many arguments."
#define TEXT_BAD_LITERAL "BAD Literal too large."
#define TEXT_NO_AUTH "NO [AUTHENTICATIONFAILED] Authentication failed."
#define TEXT_NO_PRIVACY                                                        \
	"NO [PRIVACYREQUIRED] Plaintext authentication "                       \
	"disallowed on non-secure (SSL/TLS) connections."

enum imap_client_state {
	IMAP_CLIENT_PREAUTH,
	IMAP_CLIENT_AUTH, /* AUTHENTICATE: sasl is active */
	IMAP_CLIENT_STARTTLS, /* until imap_client_tls_started() */
	IMAP_CLIENT_LOGIN, /* until imap_client_login_result() */
	/* the backend's OAuth error challenge was relayed: the next line
	 * is the client's response, answered by auth_reply */
	IMAP_CLIENT_AUTH_ERROR,
	IMAP_CLIENT_DONE, /* logged in; the shell proxies */
	IMAP_CLIENT_CLOSED,
};

enum imap_cmd_kind {
	IMAP_CMD_UNKNOWN,
	IMAP_CMD_LATER, /* valid only after login */
	IMAP_CMD_CAPABILITY,
	IMAP_CMD_NOOP,
	IMAP_CMD_LOGOUT,
	IMAP_CMD_STARTTLS,
	IMAP_CMD_LOGIN,
	IMAP_CMD_AUTHENTICATE,
	IMAP_CMD_ID,
};

enum imap_token_type {
	IMAP_TOKEN_ATOM,
	IMAP_TOKEN_STRING, /* quoted string or literal */
	IMAP_TOKEN_LPAREN,
	IMAP_TOKEN_RPAREN,
};

struct imap_token {
	enum imap_token_type type;
	size_t off; /* into cmd_data */
	size_t len;
};

struct imap_client {
	struct imap_client_settings set;
	char *greeting;
	char *server_name;
	struct buf out;

	enum imap_client_state state;
	unsigned int bad_count;

	/* Reader state. */
	struct linebuf line; /* wiped after each line */
	bool in_literal;
	bool literal_skip; /* skip, do not store */
	uint64_t literal_left;

	/* The command being collected. */
	bool cmd_started;
	char tag[IMAP_TAG_MAX + 1];
	enum imap_cmd_kind kind;
	const char *reject; /* reply once the command ends */
	bool reject_counts; /* ... and count it as bad */
	bool need_sep; /* a token just ended */
	unsigned int depth;
	struct imap_token tokens[IMAP_ARGS_MAX];
	unsigned int ntokens;
	struct buf cmd_data;

	/* Login in progress or pending. */
	char login_tag[IMAP_TAG_MAX + 1];
	struct proto_creds creds;
	struct sasl_server sasl;
	char *challenge; /* the backend's OAuth error challenge */
	char *auth_reply; /* "tag NO ..." sent after the response */

	struct imap_id_field id_fields[IMAP_ID_FIELDS_MAX];
	size_t id_count;
};

/* Queues "<tag> <text>" (or "* <text>" when tag is ""). */
void imap_client_reply(
    struct imap_client *c, const char *tag, const char *text);
/* Counts a bad command; past the limit queues BYE and returns
 * PROTO_ACT_CLOSE, else PROTO_ACT_MORE. */
enum proto_action imap_client_count_bad(struct imap_client *c);
/* imap_client_reply() followed by imap_client_count_bad(). */
enum proto_action imap_client_bad(
    struct imap_client *c, const char *tag, const char *text);

/* Token i of the current command: its bytes (not NUL-terminated, "" when
 * empty), a NUL-terminated copy (NULL if it contains NUL; the caller
 * frees it), and whether it is an atom or a string. */
const char *imap_client_token_str(const struct imap_client *c, unsigned int i);
char *imap_client_token_dup(const struct imap_client *c, unsigned int i);
bool imap_client_token_is_string(const struct imap_client *c, unsigned int i);

/* Run the LOGIN / AUTHENTICATE command collected in c (not rejected). */
enum proto_action imap_client_cmd_login(struct imap_client *c);
enum proto_action imap_client_cmd_authenticate(struct imap_client *c);
/* The client's response to a relayed OAuth error challenge: queues the
 * deferred NO and counts the failed login. */
enum proto_action imap_client_auth_error_line(struct imap_client *c);
/* Handles a SASL continuation line while inside AUTHENTICATE. */
enum proto_action imap_client_sasl_line(
    struct imap_client *c, const char *line, size_t len);

#endif

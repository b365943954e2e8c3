/*
 * sasl_oauth.h - the OAuth 2.0 SASL mechanisms, as a director sees them:
 * OAUTHBEARER (RFC 7628) and Google's XOAUTH2.  A director routes the
 * login and relays the client's message to the backend unchanged; the
 * backend checks the token.  So all it needs from the message is the
 * user to route, and that the message is well formed.  Pure and bounded.
 *
 * OAUTHBEARER: gs2-header kvsep *(key "=" value kvsep) kvsep, where the
 * gs2-header is "n," / "y," / "p=<cb-name>," followed by "a=<saslname>,"
 * (the authorization identity, with "=2C" for "," and "=3D" for "=") and
 * kvsep is 0x01; the user is the saslname.  A message without "a=" names
 * no user and cannot be routed.  A lone kvsep is the client's dummy
 * response after the server's error challenge (RFC 7628 section 3.2.3).
 * XOAUTH2: "user=" <user> 0x01 "auth=Bearer " <token> 0x01 0x01.
 * Both need an "auth" pair.
 */
#ifndef DIRECTOR_SASL_OAUTH_H
#define DIRECTOR_SASL_OAUTH_H

#include <stddef.h>

enum sasl_oauth_mech {
	SASL_OAUTH_BEARER, /* OAUTHBEARER */
	SASL_OAUTH_XOAUTH2,
};

/* Longest decoded OAuth message accepted (tokens are long). */
#define SASL_OAUTH_MESSAGE_MAX 8192

/* The user that msg[0..len) (base64-decoded) logs in as, into user
 * (user_size bytes, NUL-terminated; at most SASL_IDENTITY_MAX of
 * sasl.h).  Returns 0, or -1 with *error_r a static text fit for the
 * client ("No user name (a=) to route by" for an OAUTHBEARER message without a=,
 * "Unexpected dummy response" for the lone kvsep). */
int sasl_oauth_user(enum sasl_oauth_mech mech, const unsigned char *msg,
    size_t len, char *user, size_t user_size, const char **error_r);

#endif

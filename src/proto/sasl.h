/*
 * sasl.h - base64 and the SASL mechanisms a director relays: PLAIN
 * (RFC 4616) and LOGIN (draft-murchison-sasl-login).  Pure and bounded.
 */
#ifndef DIRECTOR_SASL_H
#define DIRECTOR_SASL_H

#include <stddef.h>

#include "proto.h"

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

/* Wipes and frees the fields of creds and zeroes the struct. */
void proto_creds_clear(struct proto_creds *creds);

#endif

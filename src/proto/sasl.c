/*
 * sasl.c - strict base64 (RFC 4648), the SASL PLAIN message codec (RFC
 * 4616) and the server side of PLAIN and LOGIN (see sasl.h).
 *
 * Invariants: decoding never writes more than BASE64_DECODED_MAX(len)
 * bytes and rejects anything but canonical padded base64; every
 * temporary copy of a secret is wiped before it is freed; an exchange
 * that ends without DONE leaves the credentials wiped and empty.
 */
#include "compat.h"

#include <strings.h>

#include "buf.h"
#include "sasl.h"
#include "xmalloc.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of one base64 character, or -1. */
static int
base64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

long
base64_decode(const char *src, size_t len, unsigned char *dst)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i, out = 0;
	int v[4];
	int j, pad;

	if (len % 4 != 0 || len / 4 > (size_t)LONG_MAX / 3)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == len && j >= 2) {
				pad++;
				v[j] = 0;
				continue;
			}
			/* data after padding inside the last quantum */
			if (pad > 0)
				return -1;
			v[j] = base64_value(s[i + j]);
			if (v[j] < 0)
				return -1;
		}
		/* canonical encoding: unused bits must be zero */
		if (pad == 2 && (v[1] & 0x0f) != 0)
			return -1;
		if (pad == 1 && (v[2] & 0x03) != 0)
			return -1;
		dst[out++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
		if (pad < 2)
			dst[out++] =
			    (unsigned char)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
		if (pad < 1)
			dst[out++] =
			    (unsigned char)(((v[2] & 0x03) << 6) | v[3]);
	}
	return (long)out;
}

size_t
base64_encode(const unsigned char *src, size_t len, char *dst)
{
	size_t i, out = 0;
	unsigned int n;

	for (i = 0; i + 2 < len; i += 3) {
		n = ((unsigned int)src[i] << 16) |
		    ((unsigned int)src[i + 1] << 8) | src[i + 2];
		dst[out++] = base64_alphabet[(n >> 18) & 0x3f];
		dst[out++] = base64_alphabet[(n >> 12) & 0x3f];
		dst[out++] = base64_alphabet[(n >> 6) & 0x3f];
		dst[out++] = base64_alphabet[n & 0x3f];
	}
	if (i < len) {
		n = (unsigned int)src[i] << 16;
		if (i + 1 < len)
			n |= (unsigned int)src[i + 1] << 8;
		dst[out++] = base64_alphabet[(n >> 18) & 0x3f];
		dst[out++] = base64_alphabet[(n >> 12) & 0x3f];
		dst[out++] =
		    i + 1 < len ? base64_alphabet[(n >> 6) & 0x3f] : '=';
		dst[out++] = '=';
	}
	dst[out] = '\0';
	return out;
}

int
sasl_plain_decode(const unsigned char *msg, size_t len,
    struct proto_creds *creds, const char **error_r)
{
	const unsigned char *nul1, *nul2, *pass;
	size_t zlen, clen, plen;

	*error_r = "Invalid base64 data or SASL PLAIN message.";
	if (len > SASL_RESPONSE_MAX) {
		*error_r = "SASL response too long.";
		return -1;
	}
	nul1 = memchr(msg, '\0', len);
	if (nul1 == NULL)
		return -1;
	zlen = (size_t)(nul1 - msg);
	nul2 = memchr(nul1 + 1, '\0', len - zlen - 1);
	if (nul2 == NULL)
		return -1;
	clen = (size_t)(nul2 - nul1 - 1);
	pass = nul2 + 1;
	plen = len - zlen - clen - 2;
	/* a third NUL: the password would be cut short */
	if (memchr(pass, '\0', plen) != NULL)
		return -1;
	if (clen == 0) {
		*error_r = "Empty authentication identity.";
		return -1;
	}
	if (zlen > SASL_IDENTITY_MAX || clen > SASL_IDENTITY_MAX) {
		*error_r = "Identity too long.";
		return -1;
	}
	creds->kind = PROTO_AUTH_SASL_PLAIN;
	creds->authzid = xstrndup((const char *)msg, zlen);
	creds->authcid = xstrndup((const char *)nul1 + 1, clen);
	creds->password = xmalloc(plen + 1);
	memcpy(creds->password, pass, plen);
	creds->password[plen] = '\0';
	creds->password_len = plen;
	return 0;
}

char *
sasl_plain_encode(const struct proto_creds *creds)
{
	const char *authzid = creds->authzid != NULL ? creds->authzid : "";
	const char *authcid = creds->authcid != NULL ? creds->authcid : "";
	size_t zlen = strlen(authzid), clen = strlen(authcid);
	size_t plen = creds->password != NULL ? creds->password_len : 0;
	size_t len = zlen + 1 + clen + 1 + plen;
	unsigned char *msg;
	char *out;

	msg = xmalloc(len);
	memcpy(msg, authzid, zlen);
	msg[zlen] = '\0';
	memcpy(msg + zlen + 1, authcid, clen);
	msg[zlen + 1 + clen] = '\0';
	if (plen > 0)
		memcpy(msg + zlen + clen + 2, creds->password, plen);
	out = xmalloc(BASE64_ENCODED_LEN(len) + 1);
	(void)base64_encode(msg, len, out);
	freezero(msg, len);
	return out;
}

void
proto_creds_clear(struct proto_creds *creds)
{
	if (creds->authzid != NULL)
		freezero(creds->authzid, strlen(creds->authzid) + 1);
	if (creds->authcid != NULL)
		freezero(creds->authcid, strlen(creds->authcid) + 1);
	if (creds->password != NULL)
		freezero(creds->password, creds->password_len + 1);
	explicit_bzero(creds, sizeof(*creds));
}

int
sasl_mech_lookup(const char *name, size_t len, enum sasl_mech *mech_r)
{
	if (len == 5 && strncasecmp(name, "PLAIN", 5) == 0)
		*mech_r = SASL_MECH_PLAIN;
	else if (len == 5 && strncasecmp(name, "LOGIN", 5) == 0)
		*mech_r = SASL_MECH_LOGIN;
	else
		return -1;
	return 0;
}

/* Decodes one base64 response into a new NUL-terminated buffer of
 * *size_r bytes that the caller wipes with freezero(), even on failure.
 * "=" stands for an empty initial response.  Returns the decoded length
 * or -1. */
static long
sasl_server_decode(const char *b64, size_t len, bool initial,
    unsigned char **msg_r, size_t *size_r)
{
	long n;

	if (initial && len == 1 && b64[0] == '=')
		len = 0;
	if (len > BASE64_ENCODED_LEN(SASL_RESPONSE_MAX)) {
		*msg_r = NULL;
		*size_r = 0;
		return -1;
	}
	*size_r = BASE64_DECODED_MAX(len) + 1;
	*msg_r = xcalloc(1, *size_r);
	if (len == 0)
		return 0;
	n = base64_decode(b64, len, *msg_r);
	if (n < 0 || (size_t)n > SASL_RESPONSE_MAX)
		return -1;
	return n;
}

/* Applies the decoded response msg[0..n) to the current state. */
static enum sasl_server_result
sasl_server_apply(struct sasl_server *s, struct proto_creds *creds,
    const unsigned char *msg, size_t n, struct buf *out, const char **error_r)
{
	switch (s->state) {
	case SASL_SERVER_PLAIN:
		proto_creds_clear(creds);
		if (sasl_plain_decode(msg, n, creds, error_r) == -1)
			return SASL_SERVER_BAD_PLAIN;
		return SASL_SERVER_DONE;
	case SASL_SERVER_LOGIN_USER:
		if (n == 0 || n > SASL_IDENTITY_MAX ||
		    memchr(msg, '\0', n) != NULL)
			return SASL_SERVER_BAD_USER;
		proto_creds_clear(creds);
		creds->kind = PROTO_AUTH_SASL_LOGIN;
		creds->authzid = xstrdup("");
		creds->authcid = xstrndup((const char *)msg, n);
		s->state = SASL_SERVER_LOGIN_PASS;
		(void)buf_append_str(
		    out, "+ " SASL_LOGIN_CHALLENGE_PASS "\r\n");
		return SASL_SERVER_CONTINUE;
	case SASL_SERVER_LOGIN_PASS:
		if (memchr(msg, '\0', n) != NULL)
			return SASL_SERVER_BAD_PASSWORD;
		creds->password = xmalloc(n + 1);
		memcpy(creds->password, msg, n);
		creds->password[n] = '\0';
		creds->password_len = n;
		return SASL_SERVER_DONE;
	case SASL_SERVER_IDLE:
	default:
		return SASL_SERVER_CANCELLED;
	}
}

/* One response; initial: it came with the mechanism name. */
static enum sasl_server_result
sasl_server_response(struct sasl_server *s, struct proto_creds *creds,
    const char *b64, size_t len, bool initial, struct buf *out,
    const char **error_r)
{
	enum sasl_server_result res;
	unsigned char *msg;
	size_t size;
	long n;

	*error_r = NULL;
	if (!initial && len == 1 && b64[0] == '*')
		res = SASL_SERVER_CANCELLED;
	else {
		n = sasl_server_decode(b64, len, initial, &msg, &size);
		if (n < 0)
			res = SASL_SERVER_BAD_BASE64;
		else
			res = sasl_server_apply(
			    s, creds, msg, (size_t)n, out, error_r);
		if (msg != NULL)
			freezero(msg, size);
	}
	if (res != SASL_SERVER_BAD_PLAIN)
		*error_r = NULL;
	if (res == SASL_SERVER_CONTINUE)
		return res;
	s->state = SASL_SERVER_IDLE;
	if (res != SASL_SERVER_DONE)
		proto_creds_clear(creds);
	return res;
}

enum sasl_server_result
sasl_server_start(struct sasl_server *s, enum sasl_mech mech,
    struct proto_creds *creds, const char *ir, size_t ir_len, struct buf *out,
    const char **error_r)
{
	proto_creds_clear(creds);
	s->state = mech == SASL_MECH_PLAIN ? SASL_SERVER_PLAIN
					   : SASL_SERVER_LOGIN_USER;
	if (ir != NULL)
		return sasl_server_response(
		    s, creds, ir, ir_len, true, out, error_r);
	*error_r = NULL;
	(void)buf_append_str(out,
	    mech == SASL_MECH_PLAIN ? "+ \r\n"
				    : "+ " SASL_LOGIN_CHALLENGE_USER "\r\n");
	return SASL_SERVER_CONTINUE;
}

enum sasl_server_result
sasl_server_step(struct sasl_server *s, struct proto_creds *creds,
    const char *b64, size_t len, struct buf *out, const char **error_r)
{
	return sasl_server_response(s, creds, b64, len, false, out, error_r);
}

bool
sasl_server_active(const struct sasl_server *s)
{
	return s->state != SASL_SERVER_IDLE;
}

void
sasl_server_abort(struct sasl_server *s)
{
	s->state = SASL_SERVER_IDLE;
}

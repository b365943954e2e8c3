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

#include <stdio.h>
#include <strings.h>

#include "buf.h"
#include "sasl.h"
#include "sasl_oauth.h"
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

static const char *const sasl_mech_names[SASL_MECH_COUNT] = {
    [SASL_MECH_PLAIN] = "PLAIN",
    [SASL_MECH_LOGIN] = "LOGIN",
    [SASL_MECH_OAUTHBEARER] = "OAUTHBEARER",
    [SASL_MECH_XOAUTH2] = "XOAUTH2",
};

const char *
sasl_mech_name(enum sasl_mech mech)
{
	return (unsigned int)mech < SASL_MECH_COUNT ? sasl_mech_names[mech]
						    : "?";
}

/* The mechanism named name[0..len), in any set. */
static int
sasl_mech_find(const char *name, size_t len, enum sasl_mech *mech_r)
{
	unsigned int m;

	for (m = 0; m < SASL_MECH_COUNT; m++) {
		if (len == strlen(sasl_mech_names[m]) &&
		    strncasecmp(name, sasl_mech_names[m], len) == 0) {
			*mech_r = (enum sasl_mech)m;
			return 0;
		}
	}
	return -1;
}

int
sasl_mech_lookup(
    const char *name, size_t len, unsigned int mechs, enum sasl_mech *mech_r)
{
	if (mechs == 0)
		mechs = SASL_MECHS_DEFAULT;
	if (sasl_mech_find(name, len, mech_r) == -1 ||
	    (mechs & SASL_MECH_BIT(*mech_r)) == 0)
		return -1;
	return 0;
}

void
sasl_mechs_append(
    struct buf *out, unsigned int mechs, const char *before, const char *after)
{
	unsigned int m;

	if (mechs == 0)
		mechs = SASL_MECHS_DEFAULT;
	for (m = 0; m < SASL_MECH_COUNT; m++) {
		if ((mechs & SASL_MECH_BIT(m)) != 0)
			(void)buf_printf(
			    out, "%s%s%s", before, sasl_mech_names[m], after);
	}
}

int
sasl_mechs_parse(
    const char *list, unsigned int *mechs_r, char *bad, size_t bad_size)
{
	const char *p = list;
	enum sasl_mech mech;
	size_t len;

	*mechs_r = 0;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t,");
		if (sasl_mech_find(p, len, &mech) == -1) {
			(void)snprintf(bad, bad_size, "%.*s",
			    (int)(len < 64 ? len : 64), p);
			return -1;
		}
		*mechs_r |= SASL_MECH_BIT(mech);
		p += len;
	}
	if (*mechs_r == 0) {
		(void)strlcpy(bad, "", bad_size);
		return -1;
	}
	return 0;
}

enum sasl_mech
sasl_oauth_creds_mech(const struct proto_creds *creds)
{
	return creds->kind == PROTO_AUTH_SASL_XOAUTH2 ? SASL_MECH_XOAUTH2
						      : SASL_MECH_OAUTHBEARER;
}

const char *
sasl_oauth_dummy_response(enum sasl_mech mech)
{
	return mech == SASL_MECH_OAUTHBEARER ? "AQ==" : "";
}

void
sasl_oauth_challenge_keep(
    char **keep, const struct proto_creds *creds, const char *b64)
{
	if (!proto_auth_is_oauth(creds->kind) ||
	    !sasl_challenge_valid(b64, strlen(b64)))
		return;
	free(*keep);
	*keep = xstrdup(b64);
}

bool
sasl_challenge_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > SASL_CHALLENGE_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] != '=' && base64_value((unsigned char)s[i]) < 0)
			return false;
	}
	return true;
}

/* Decodes one base64 response into a new NUL-terminated buffer of
 * *size_r bytes that the caller wipes with freezero(), even on failure.
 * "=" stands for an empty initial response.  Returns the decoded length
 * or -1. */
static long
sasl_server_decode(const char *b64, size_t len, bool initial, size_t max,
    unsigned char **msg_r, size_t *size_r)
{
	long n;

	if (initial && len == 1 && b64[0] == '=')
		len = 0;
	if (len > BASE64_ENCODED_LEN(max)) {
		*msg_r = NULL;
		*size_r = 0;
		return -1;
	}
	*size_r = BASE64_DECODED_MAX(len) + 1;
	*msg_r = xcalloc(1, *size_r);
	if (len == 0)
		return 0;
	n = base64_decode(b64, len, *msg_r);
	if (n < 0 || (size_t)n > max)
		return -1;
	return n;
}

/* The OAuth message msg[0..n) of mechanism mech: its user and the
 * message itself become the credentials. */
static enum sasl_server_result
sasl_server_oauth(enum sasl_mech mech, struct proto_creds *creds,
    const unsigned char *msg, size_t n, const char **error_r)
{
	char user[SASL_IDENTITY_MAX + 1];

	proto_creds_clear(creds);
	if (sasl_oauth_user(mech == SASL_MECH_XOAUTH2 ? SASL_OAUTH_XOAUTH2
						      : SASL_OAUTH_BEARER,
		msg, n, user, sizeof(user), error_r) == -1)
		return SASL_SERVER_BAD_OAUTH;
	creds->kind = mech == SASL_MECH_XOAUTH2 ? PROTO_AUTH_SASL_XOAUTH2
						: PROTO_AUTH_SASL_OAUTHBEARER;
	creds->authzid = xstrdup("");
	creds->authcid = xstrdup(user);
	creds->password = xmalloc(n + 1);
	memcpy(creds->password, msg, n);
	creds->password[n] = '\0';
	creds->password_len = n;
	explicit_bzero(user, sizeof(user));
	return SASL_SERVER_DONE;
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
	case SASL_SERVER_OAUTH:
		return sasl_server_oauth(s->mech, creds, msg, n, error_r);
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
		n = sasl_server_decode(b64, len, initial,
		    s->state == SASL_SERVER_OAUTH ? SASL_OAUTH_MESSAGE_MAX
						  : SASL_RESPONSE_MAX,
		    &msg, &size);
		if (n < 0)
			res = SASL_SERVER_BAD_BASE64;
		else
			res = sasl_server_apply(
			    s, creds, msg, (size_t)n, out, error_r);
		if (msg != NULL)
			freezero(msg, size);
	}
	if (res != SASL_SERVER_BAD_PLAIN && res != SASL_SERVER_BAD_OAUTH)
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
	s->mech = mech;
	switch (mech) {
	case SASL_MECH_LOGIN:
		s->state = SASL_SERVER_LOGIN_USER;
		break;
	case SASL_MECH_OAUTHBEARER:
	case SASL_MECH_XOAUTH2:
		s->state = SASL_SERVER_OAUTH;
		break;
	case SASL_MECH_PLAIN:
	default:
		s->state = SASL_SERVER_PLAIN;
		break;
	}
	if (ir != NULL)
		return sasl_server_response(
		    s, creds, ir, ir_len, true, out, error_r);
	*error_r = NULL;
	/* every mechanism but LOGIN starts with an empty challenge */
	(void)buf_append_str(out,
	    mech == SASL_MECH_LOGIN ? "+ " SASL_LOGIN_CHALLENGE_USER "\r\n"
				    : "+ \r\n");
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

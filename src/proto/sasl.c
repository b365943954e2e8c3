/*
 * sasl.c - strict base64 (RFC 4648) and the SASL PLAIN message codec
 * (RFC 4616).
 *
 * Invariants: decoding never writes more than BASE64_DECODED_MAX(len)
 * bytes and rejects anything but canonical padded base64; every
 * temporary copy of a secret is wiped before it is freed.
 */
#include "compat.h"

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

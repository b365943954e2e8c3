/*
 * fuzz_sasl.c - libFuzzer target for base64, SASL PLAIN and the server
 * side exchange.
 *
 * Checks: decoding never writes past BASE64_DECODED_MAX; whatever decodes
 * re-encodes to exactly the input (strict, canonical base64); a decoded
 * PLAIN message survives an encode/decode round trip unchanged; an
 * exchange fed the input's lines as responses ends with complete NUL-free
 * credentials or none at all, and queues only "+ ..." CRLF lines.
 */
#include "compat.h"

#include "buf.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs one exchange: byte 0 picks the mechanism and whether the first
 * line is an initial response; the other lines are continuations. */
static void
fuzz_exchange(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1, *end = p + size - 1, *lf;
	enum sasl_server_result res;
	struct sasl_server s = {0};
	struct proto_creds creds = {0};
	const char *error;
	struct buf out;
	size_t n;

	if (size < 1)
		return;
	buf_init(&out, 1024);
	lf = memchr(p, '\n', (size_t)(end - p));
	n = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);
	res = sasl_server_start(&s,
	    (data[0] & 1) ? SASL_MECH_LOGIN : SASL_MECH_PLAIN, &creds,
	    (data[0] & 2) ? p : NULL, n, &out, &error);
	if (data[0] & 2)
		p += lf != NULL ? n + 1 : n;
	while (res == SASL_SERVER_CONTINUE && p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		n = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);
		res = sasl_server_step(&s, &creds, p, n, &out, &error);
		p += lf != NULL ? n + 1 : n;
	}
	if ((res == SASL_SERVER_BAD_PLAIN) != (error != NULL))
		abort();
	if ((res == SASL_SERVER_CONTINUE) != sasl_server_active(&s))
		abort();
	if (res == SASL_SERVER_DONE &&
	    (creds.authcid == NULL || creds.authcid[0] == '\0' ||
		creds.password == NULL ||
		memchr(creds.password, '\0', creds.password_len) != NULL))
		abort();
	if (res != SASL_SERVER_DONE && res != SASL_SERVER_CONTINUE &&
	    (creds.authcid != NULL || creds.password != NULL))
		abort();
	if (out.len > 0 &&
	    (out.len < 4 || memcmp(out.data, "+ ", 2) != 0 ||
		memcmp(out.data + out.len - 2, "\r\n", 2) != 0))
		abort();
	proto_creds_clear(&creds);
	buf_deinit(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_creds creds, again;
	unsigned char *dec, *dec2;
	const char *error;
	char *enc, *ir;
	long n, n2;

	if (size > 2 * SASL_RESPONSE_MAX)
		return 0;
	dec = malloc(BASE64_DECODED_MAX(size));
	n = base64_decode((const char *)data, size, dec);
	if (n >= 0) {
		enc = malloc(BASE64_ENCODED_LEN((size_t)n) + 1);
		if (base64_encode(dec, (size_t)n, enc) != size ||
		    memcmp(enc, data, size) != 0)
			abort();
		free(enc);
	}
	free(dec);

	memset(&creds, 0, sizeof(creds));
	memset(&again, 0, sizeof(again));
	if (sasl_plain_decode(data, size, &creds, &error) == 0) {
		ir = sasl_plain_encode(&creds);
		dec2 = malloc(BASE64_DECODED_MAX(strlen(ir)));
		n2 = base64_decode(ir, strlen(ir), dec2);
		if (n2 != (long)size || memcmp(dec2, data, size) != 0)
			abort();
		if (sasl_plain_decode(dec2, (size_t)n2, &again, &error) != 0 ||
		    strcmp(again.authzid, creds.authzid) != 0 ||
		    strcmp(again.authcid, creds.authcid) != 0 ||
		    again.password_len != creds.password_len)
			abort();
		free(dec2);
		freezero(ir, strlen(ir) + 1);
	} else if (error == NULL)
		abort();
	proto_creds_clear(&creds);
	proto_creds_clear(&again);
	fuzz_exchange(data, size);
	return 0;
}

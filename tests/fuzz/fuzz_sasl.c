/*
 * fuzz_sasl.c - libFuzzer target for base64 and SASL PLAIN.
 *
 * Checks: decoding never writes past BASE64_DECODED_MAX; whatever decodes
 * re-encodes to exactly the input (strict, canonical base64); a decoded
 * PLAIN message survives an encode/decode round trip unchanged.
 */
#include "compat.h"

#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	return 0;
}

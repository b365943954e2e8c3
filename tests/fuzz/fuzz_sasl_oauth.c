/*
 * fuzz_sasl_oauth.c - libFuzzer target for the user of OAUTHBEARER and
 * XOAUTH2 messages.  The first byte picks the mechanism and the size of
 * the caller's user buffer; the rest is the decoded message.  Checks: a
 * user is returned only on success, NUL-terminated, not empty, free of
 * CR and LF and within the buffer; on failure there is an error text and
 * the buffer holds "".
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "sasl_oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char user[SASL_IDENTITY_MAX + 1];
	enum sasl_oauth_mech mech;
	size_t user_size, n;
	const char *err;

	if (size < 1)
		return 0;
	mech = (data[0] & 1) != 0 ? SASL_OAUTH_XOAUTH2 : SASL_OAUTH_BEARER;
	/* small buffers too: 1..32 bytes, or the full size */
	user_size = (data[0] & 2) != 0 ? 1u + (data[0] >> 3) : sizeof(user);
	memset(user, 'x', sizeof(user));
	if (sasl_oauth_user(mech, data + 1, size - 1, user, user_size, &err) ==
	    -1) {
		if (err == NULL || user[0] != '\0')
			abort();
		return 0;
	}
	n = strnlen(user, user_size);
	if (err != NULL || n == 0 || n >= user_size ||
	    memchr(user, '\r', n) != NULL || memchr(user, '\n', n) != NULL)
		abort();
	return 0;
}

/*
 * test_sasl.c - base64 (RFC 4648 vectors, strictness) and SASL PLAIN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"
#include "sasl.h"

struct b64_vector {
	const char *plain;
	const char *encoded;
};

/* RFC 4648 section 10. */
static const struct b64_vector rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void
test_base64_vectors(void **state)
{
	char enc[64];
	unsigned char dec[64];
	size_t i, plen;
	long n;

	for (i = 0; i < nitems(rfc4648_vectors); i++) {
		plen = strlen(rfc4648_vectors[i].plain);
		assert_int_equal(
		    base64_encode(
			(const unsigned char *)rfc4648_vectors[i].plain, plen,
			enc),
		    strlen(rfc4648_vectors[i].encoded));
		assert_string_equal(enc, rfc4648_vectors[i].encoded);
		n = base64_decode(rfc4648_vectors[i].encoded,
		    strlen(rfc4648_vectors[i].encoded), dec);
		assert_int_equal(n, (long)plen);
		assert_memory_equal(dec, rfc4648_vectors[i].plain, plen);
	}
}

static void
test_base64_binary_roundtrip(void **state)
{
	unsigned char src[256], dec[BASE64_DECODED_MAX(344)];
	char enc[BASE64_ENCODED_LEN(256) + 1];
	size_t len, i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)i;
	for (len = 0; len <= sizeof(src); len++) {
		size_t elen = base64_encode(src, len, enc);

		assert_int_equal(elen, BASE64_ENCODED_LEN(len));
		assert_int_equal(base64_decode(enc, elen, dec), (long)len);
		assert_memory_equal(dec, src, len);
	}
}

static void
test_base64_invalid(void **state)
{
	static const char *const bad[] = {
	    "Zg=", /* not a multiple of 4 */
	    "Zg", /* missing padding */
	    "Z===", /* too much padding */
	    "====",
	    "Zg==Zg==", /* padding in the middle */
	    "Zm=v", /* data after padding */
	    "Zh==", /* non-zero unused bits */
	    "Zm9=", /* non-zero unused bits */
	    "Zm9v\r\n",
	    "Zm 9",
	    "Zm9-", /* base64url alphabet */
	    "Zm9_",
	    "Zm9\x80",
	};
	unsigned char dec[64];
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		assert_int_equal(
		    base64_decode(bad[i], strlen(bad[i]), dec), -1);
	/* an embedded NUL */
	assert_int_equal(base64_decode("Zm\0v", 4, dec), -1);
}

static void
test_plain_decode(void **state)
{
	struct proto_creds creds;
	const char *error;

	memset(&creds, 0, sizeof(creds));
	assert_int_equal(
	    sasl_plain_decode(
		(const unsigned char *)"\0user\0pass word", 15, &creds, &error),
	    0);
	assert_int_equal(creds.kind, PROTO_AUTH_SASL_PLAIN);
	assert_string_equal(creds.authzid, "");
	assert_string_equal(creds.authcid, "user");
	assert_string_equal(creds.password, "pass word");
	assert_int_equal(creds.password_len, 9);
	assert_string_equal(proto_creds_user(&creds), "user");
	proto_creds_clear(&creds);
	assert_null(creds.authcid);
	assert_null(creds.password);

	assert_int_equal(
	    sasl_plain_decode((const unsigned char *)"bob\0master\0secret", 17,
		&creds, &error),
	    0);
	assert_string_equal(creds.authzid, "bob");
	assert_string_equal(creds.authcid, "master");
	assert_string_equal(creds.password, "secret");
	assert_string_equal(proto_creds_user(&creds), "bob");
	proto_creds_clear(&creds);

	/* empty password: left for the backend to refuse */
	assert_int_equal(sasl_plain_decode(
			     (const unsigned char *)"\0u\0", 3, &creds, &error),
	    0);
	assert_int_equal(creds.password_len, 0);
	proto_creds_clear(&creds);
	/* clearing an empty struct is fine */
	proto_creds_clear(&creds);
}

static void
test_plain_decode_invalid(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
	} bad[] = {
	    {"", 0}, {"user", 4}, /* no NUL */
	    {"\0user", 5}, /* one NUL */
	    {"\0\0pass", 6}, /* empty authcid */
	    {"\0user\0pa\0ss", 11}, /* third NUL */
	    {"\0user\0pass\0", 11}, /* trailing NUL */
	};
	struct proto_creds creds;
	const char *error;
	unsigned char *big;
	size_t i;

	memset(&creds, 0, sizeof(creds));
	for (i = 0; i < nitems(bad); i++) {
		error = NULL;
		assert_int_equal(
		    sasl_plain_decode((const unsigned char *)bad[i].msg,
			bad[i].len, &creds, &error),
		    -1);
		assert_non_null(error);
		assert_null(creds.authcid);
	}

	/* identity limits */
	big = calloc(1, SASL_RESPONSE_MAX + 2);
	assert_non_null(big);
	memset(big + 1, 'u', SASL_IDENTITY_MAX + 1);
	assert_int_equal(
	    sasl_plain_decode(big, SASL_IDENTITY_MAX + 4, &creds, &error), -1);
	memset(big, 'z', SASL_IDENTITY_MAX + 1);
	big[SASL_IDENTITY_MAX + 1] = '\0';
	big[SASL_IDENTITY_MAX + 2] = 'u';
	big[SASL_IDENTITY_MAX + 3] = '\0';
	assert_int_equal(
	    sasl_plain_decode(big, SASL_IDENTITY_MAX + 4, &creds, &error), -1);
	/* exactly at the limit works */
	memset(big, 0, SASL_RESPONSE_MAX + 2);
	memset(big + 1, 'u', SASL_IDENTITY_MAX);
	assert_int_equal(
	    sasl_plain_decode(big, SASL_IDENTITY_MAX + 2, &creds, &error), 0);
	assert_int_equal(strlen(creds.authcid), SASL_IDENTITY_MAX);
	proto_creds_clear(&creds);
	/* whole response over the limit */
	memset(big, 'p', SASL_RESPONSE_MAX + 2);
	big[0] = '\0';
	big[2] = '\0';
	assert_int_equal(
	    sasl_plain_decode(big, SASL_RESPONSE_MAX + 1, &creds, &error), -1);
	assert_int_equal(
	    sasl_plain_decode(big, SASL_RESPONSE_MAX, &creds, &error), 0);
	proto_creds_clear(&creds);
	free(big);
}

static void
test_plain_encode(void **state)
{
	struct proto_creds creds;
	unsigned char dec[128];
	const char *error;
	char *ir;
	long n;

	memset(&creds, 0, sizeof(creds));
	creds.kind = PROTO_AUTH_LOGIN;
	creds.authcid = strdup("tim");
	creds.password = strdup("tanstaaftanstaaf");
	creds.password_len = strlen(creds.password);
	ir = sasl_plain_encode(&creds);
	/* RFC 4616 example, without authzid (NULL treated as "") */
	assert_string_equal(ir, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	freezero(ir, strlen(ir) + 1);
	proto_creds_clear(&creds);

	creds.authzid = strdup("Ursel");
	creds.authcid = strdup("Kurt");
	creds.password = strdup("xipj3plmq");
	creds.password_len = strlen(creds.password);
	ir = sasl_plain_encode(&creds);
	assert_string_equal(ir, "VXJzZWwAS3VydAB4aXBqM3BsbXE=");
	n = base64_decode(ir, strlen(ir), dec);
	freezero(ir, strlen(ir) + 1);
	proto_creds_clear(&creds);
	assert_true(n > 0);
	assert_int_equal(sasl_plain_decode(dec, (size_t)n, &creds, &error), 0);
	assert_string_equal(creds.authzid, "Ursel");
	assert_string_equal(creds.authcid, "Kurt");
	assert_string_equal(creds.password, "xipj3plmq");
	proto_creds_clear(&creds);
}

static void
test_login_challenges(void **state)
{
	char enc[32];

	base64_encode((const unsigned char *)"Username:", 9, enc);
	assert_string_equal(enc, SASL_LOGIN_CHALLENGE_USER);
	base64_encode((const unsigned char *)"Password:", 9, enc);
	assert_string_equal(enc, SASL_LOGIN_CHALLENGE_PASS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_binary_roundtrip),
	    cmocka_unit_test(test_base64_invalid),
	    cmocka_unit_test(test_plain_decode),
	    cmocka_unit_test(test_plain_decode_invalid),
	    cmocka_unit_test(test_plain_encode),
	    cmocka_unit_test(test_login_challenges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

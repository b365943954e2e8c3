/*
 * test_sasl.c - base64 (RFC 4648 vectors, strictness), SASL PLAIN and the
 * server-side PLAIN/LOGIN exchange the IMAP and POP3 servers share.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"
#include "buf.h"
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

/* The challenge queue of the tests: what the last call queued. */
static struct buf out;

/* Checks what a call queued and that a failure left the credentials
 * empty and the exchange over; returns res. */
static enum sasl_server_result
outcome(struct sasl_server *s, struct proto_creds *creds,
    enum sasl_server_result res, const char *error, const char *queued)
{
	assert_int_equal(out.len, strlen(queued));
	assert_memory_equal(out.data != NULL ? out.data : "", queued, out.len);
	buf_clear(&out);
	assert_int_equal(
	    res == SASL_SERVER_BAD_PLAIN || res == SASL_SERVER_BAD_OAUTH,
	    error != NULL);
	assert_int_equal(res == SASL_SERVER_CONTINUE, sasl_server_active(s));
	if (res != SASL_SERVER_CONTINUE && res != SASL_SERVER_DONE) {
		assert_null(creds->authcid);
		assert_null(creds->password);
	}
	return res;
}

/* Starts mech with the initial response ir (NULL: none). */
static enum sasl_server_result
start(struct sasl_server *s, struct proto_creds *creds, enum sasl_mech mech,
    const char *ir, const char *queued)
{
	enum sasl_server_result res;
	const char *error;

	res = sasl_server_start(
	    s, mech, creds, ir, ir != NULL ? strlen(ir) : 0, &out, &error);
	return outcome(s, creds, res, error, queued);
}

/* Feeds one continuation line. */
static enum sasl_server_result
step(struct sasl_server *s, struct proto_creds *creds, const char *b64,
    const char *queued)
{
	enum sasl_server_result res;
	const char *error;

	res = sasl_server_step(s, creds, b64, strlen(b64), &out, &error);
	return outcome(s, creds, res, error, queued);
}

#define PLAIN_CH "+ \r\n"
#define USER_CH "+ " SASL_LOGIN_CHALLENGE_USER "\r\n"
#define PASS_CH "+ " SASL_LOGIN_CHALLENGE_PASS "\r\n"

static void
test_server_mechs(void **state)
{
	enum sasl_mech mech;

	unsigned int all = SASL_MECHS_DEFAULT |
	    SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2);
	char bad[16];
	unsigned int mechs;

	assert_int_equal(sasl_mech_lookup("plain", 5, 0, &mech), 0);
	assert_int_equal(mech, SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_lookup("LoGiN", 5, 0, &mech), 0);
	assert_int_equal(mech, SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_lookup("PLAINX", 5, 0, &mech), 0);
	assert_int_equal(sasl_mech_lookup("PLAINX", 6, 0, &mech), -1);
	assert_int_equal(sasl_mech_lookup("CRAM-MD5", 8, 0, &mech), -1);
	assert_int_equal(sasl_mech_lookup("", 0, 0, &mech), -1);
	/* the OAuth mechanisms only where they are offered */
	assert_int_equal(sasl_mech_lookup("OAUTHBEARER", 11, 0, &mech), -1);
	assert_int_equal(sasl_mech_lookup("xoauth2", 7, all, &mech), 0);
	assert_int_equal(mech, SASL_MECH_XOAUTH2);
	assert_int_equal(sasl_mech_lookup("OAuthBearer", 11, all, &mech), 0);
	assert_int_equal(mech, SASL_MECH_OAUTHBEARER);
	assert_int_equal(sasl_mech_lookup("PLAIN", 5,
			     SASL_MECH_BIT(SASL_MECH_XOAUTH2), &mech),
	    -1);

	/* auth_mechanisms */
	assert_int_equal(sasl_mechs_parse("plain login", &mechs, bad, 16), 0);
	assert_int_equal(mechs, SASL_MECHS_DEFAULT);
	assert_int_equal(sasl_mechs_parse(" PLAIN,login  OAuthBearer\txoauth2 ",
			     &mechs, bad, 16),
	    0);
	assert_int_equal(mechs, all);
	assert_int_equal(
	    sasl_mechs_parse("plain cram-md5", &mechs, bad, sizeof(bad)), -1);
	assert_string_equal(bad, "cram-md5");
	assert_int_equal(sasl_mechs_parse(" , ", &mechs, bad, sizeof(bad)), -1);
	assert_string_equal(bad, "");
	/* a long unknown name is cut to the buffer */
	assert_int_equal(sasl_mechs_parse("plain abcdefghijklmnopqrstuvwxyz",
			     &mechs, bad, sizeof(bad)),
	    -1);
	assert_string_equal(bad, "abcdefghijklmno");

	buf_init(&out, 256);
	sasl_mechs_append(&out, 0, " AUTH=", "");
	assert_int_equal(out.len, strlen(" AUTH=PLAIN AUTH=LOGIN"));
	assert_memory_equal(out.data, " AUTH=PLAIN AUTH=LOGIN", out.len);
	buf_clear(&out);
	sasl_mechs_append(
	    &out, all & ~SASL_MECH_BIT(SASL_MECH_LOGIN), "", "\r\n");
	assert_int_equal(
	    out.len, strlen("PLAIN\r\nOAUTHBEARER\r\nXOAUTH2\r\n"));
	assert_memory_equal(
	    out.data, "PLAIN\r\nOAUTHBEARER\r\nXOAUTH2\r\n", out.len);
	buf_deinit(&out);
}

/* OAUTHBEARER and XOAUTH2: the user to route and the whole message. */
static void
test_server_oauth(void **state)
{
	struct sasl_server s = {0};
	struct proto_creds creds = {0};
	/* "n,a=user@example.com,\1auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\1\1" */
	static const char bearer[] =
	    "bixhPXVzZXJAZXhhbXBsZS5jb20sAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52Yj"
	    "NSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
	static const char bearer_msg[] =
	    "n,a=user@example.com,\001auth=Bearer "
	    "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";
	/* "user=someuser@example.com\1auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\1\1" */
	static const char xoauth2[] =
	    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdD"
	    "RxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
	/* "n,,\1auth=Bearer x\1\1": no a= */
	static const char no_user[] = "biwsAWF1dGg9QmVhcmVyIHgBAQ==";

	buf_init(&out, 1024);
	/* with the initial response */
	assert_int_equal(start(&s, &creds, SASL_MECH_OAUTHBEARER, bearer, ""),
	    SASL_SERVER_DONE);
	assert_int_equal(creds.kind, PROTO_AUTH_SASL_OAUTHBEARER);
	assert_true(proto_auth_is_oauth(creds.kind));
	assert_string_equal(creds.authzid, "");
	assert_string_equal(creds.authcid, "user@example.com");
	assert_int_equal(creds.password_len, sizeof(bearer_msg) - 1);
	assert_memory_equal(creds.password, bearer_msg, sizeof(bearer_msg) - 1);
	assert_int_equal(sasl_oauth_creds_mech(&creds), SASL_MECH_OAUTHBEARER);
	proto_creds_clear(&creds);

	/* without: an empty challenge first */
	assert_int_equal(start(&s, &creds, SASL_MECH_XOAUTH2, NULL, PLAIN_CH),
	    SASL_SERVER_CONTINUE);
	assert_int_equal(step(&s, &creds, xoauth2, ""), SASL_SERVER_DONE);
	assert_int_equal(creds.kind, PROTO_AUTH_SASL_XOAUTH2);
	assert_string_equal(creds.authcid, "someuser@example.com");
	assert_int_equal(sasl_oauth_creds_mech(&creds), SASL_MECH_XOAUTH2);
	proto_creds_clear(&creds);

	/* no user to route by, the dummy response, not base64, cancel */
	assert_int_equal(start(&s, &creds, SASL_MECH_OAUTHBEARER, no_user, ""),
	    SASL_SERVER_BAD_OAUTH);
	assert_null(creds.authcid);
	(void)start(&s, &creds, SASL_MECH_OAUTHBEARER, NULL, PLAIN_CH);
	assert_int_equal(step(&s, &creds, "AQ==", ""), SASL_SERVER_BAD_OAUTH);
	(void)start(&s, &creds, SASL_MECH_OAUTHBEARER, NULL, PLAIN_CH);
	assert_int_equal(step(&s, &creds, "n,a=x", ""), SASL_SERVER_BAD_BASE64);
	(void)start(&s, &creds, SASL_MECH_XOAUTH2, NULL, PLAIN_CH);
	assert_int_equal(step(&s, &creds, "*", ""), SASL_SERVER_CANCELLED);
	assert_false(sasl_server_active(&s));
	buf_deinit(&out);

	/* what goes back after the backend's error challenge */
	assert_string_equal(
	    sasl_oauth_dummy_response(SASL_MECH_OAUTHBEARER), "AQ==");
	assert_string_equal(sasl_oauth_dummy_response(SASL_MECH_XOAUTH2), "");
	assert_true(sasl_challenge_valid("eyJzdGF0dXMiOiI0MDEifQ==", 24));
	assert_false(sasl_challenge_valid("", 0));
	assert_false(sasl_challenge_valid("eyJ zd", 6));
	assert_false(sasl_challenge_valid("eyJ\"", 4));
}

static void
test_server_plain(void **state)
{
	struct sasl_server s = {0};
	struct proto_creds creds = {0};

	buf_init(&out, 1024);
	/* a stale identity is wiped when an exchange starts */
	creds.authcid = strdup("stale");
	assert_int_equal(start(&s, &creds, SASL_MECH_PLAIN, NULL, PLAIN_CH),
	    SASL_SERVER_CONTINUE);
	assert_null(creds.authcid);
	/* "Ursel\0Kurt\0xipj3plmq" as a continuation line */
	assert_int_equal(step(&s, &creds, "VXJzZWwAS3VydAB4aXBqM3BsbXE=", ""),
	    SASL_SERVER_DONE);
	assert_int_equal(creds.kind, PROTO_AUTH_SASL_PLAIN);
	assert_string_equal(creds.authzid, "Ursel");
	assert_string_equal(creds.authcid, "Kurt");
	assert_string_equal(creds.password, "xipj3plmq");
	assert_int_equal(creds.password_len, 9);

	/* as an initial response */
	assert_int_equal(start(&s, &creds, SASL_MECH_PLAIN,
			     "AHRpbQB0YW5zdGFhZnRhbnN0YWFm", ""),
	    SASL_SERVER_DONE);
	assert_string_equal(creds.authzid, "");
	assert_string_equal(creds.authcid, "tim");
	proto_creds_clear(&creds);

	/* "=" is an empty initial response: not a valid PLAIN message */
	assert_int_equal(
	    start(&s, &creds, SASL_MECH_PLAIN, "=", ""), SASL_SERVER_BAD_PLAIN);
	/* ... and not base64 at all on a continuation line */
	(void)start(&s, &creds, SASL_MECH_PLAIN, NULL, PLAIN_CH);
	assert_int_equal(step(&s, &creds, "=", ""), SASL_SERVER_BAD_BASE64);
	/* "*" cancels a continuation, but is bad base64 as initial */
	(void)start(&s, &creds, SASL_MECH_PLAIN, NULL, PLAIN_CH);
	assert_int_equal(step(&s, &creds, "*", ""), SASL_SERVER_CANCELLED);
	assert_int_equal(start(&s, &creds, SASL_MECH_PLAIN, "*", ""),
	    SASL_SERVER_BAD_BASE64);
	/* "a\0\0pw": empty authcid */
	(void)start(&s, &creds, SASL_MECH_PLAIN, NULL, PLAIN_CH);
	assert_int_equal(
	    step(&s, &creds, "YQAAcHc=", ""), SASL_SERVER_BAD_PLAIN);
	/* not canonical base64 */
	(void)start(&s, &creds, SASL_MECH_PLAIN, NULL, PLAIN_CH);
	assert_int_equal(step(&s, &creds, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm=", ""),
	    SASL_SERVER_BAD_BASE64);
	/* a step with no exchange going on */
	assert_int_equal(
	    step(&s, &creds, "AHRpbQB0YQ==", ""), SASL_SERVER_CANCELLED);
	buf_deinit(&out);
}

static void
test_server_login(void **state)
{
	struct sasl_server s = {0};
	struct proto_creds creds = {0};

	buf_init(&out, 1024);
	/* "tim" then "pass word" */
	(void)start(&s, &creds, SASL_MECH_LOGIN, NULL, USER_CH);
	assert_int_equal(
	    step(&s, &creds, "dGlt", PASS_CH), SASL_SERVER_CONTINUE);
	assert_int_equal(
	    step(&s, &creds, "cGFzcyB3b3Jk", ""), SASL_SERVER_DONE);
	assert_int_equal(creds.kind, PROTO_AUTH_SASL_LOGIN);
	assert_string_equal(creds.authzid, "");
	assert_string_equal(creds.authcid, "tim");
	assert_string_equal(creds.password, "pass word");

	/* user name as initial response, then an empty password */
	assert_int_equal(start(&s, &creds, SASL_MECH_LOGIN, "dGlt", PASS_CH),
	    SASL_SERVER_CONTINUE);
	assert_int_equal(step(&s, &creds, "", ""), SASL_SERVER_DONE);
	assert_int_equal(creds.password_len, 0);
	proto_creds_clear(&creds);

	/* empty user name ("=" initial), NUL in it ("a\0b") */
	assert_int_equal(
	    start(&s, &creds, SASL_MECH_LOGIN, "=", ""), SASL_SERVER_BAD_USER);
	(void)start(&s, &creds, SASL_MECH_LOGIN, NULL, USER_CH);
	assert_int_equal(step(&s, &creds, "YQBi", ""), SASL_SERVER_BAD_USER);
	/* NUL in the password wipes the user name taken before */
	(void)start(&s, &creds, SASL_MECH_LOGIN, NULL, USER_CH);
	assert_int_equal(
	    step(&s, &creds, "dGlt", PASS_CH), SASL_SERVER_CONTINUE);
	assert_non_null(creds.authcid);
	assert_int_equal(
	    step(&s, &creds, "YQBi", ""), SASL_SERVER_BAD_PASSWORD);
	/* cancel at the password */
	(void)start(&s, &creds, SASL_MECH_LOGIN, NULL, USER_CH);
	assert_int_equal(
	    step(&s, &creds, "dGlt", PASS_CH), SASL_SERVER_CONTINUE);
	assert_int_equal(step(&s, &creds, "*", ""), SASL_SERVER_CANCELLED);
	buf_deinit(&out);
}

static void
test_server_limits(void **state)
{
	struct sasl_server s = {0};
	struct proto_creds creds = {0};
	size_t over = BASE64_ENCODED_LEN(SASL_RESPONSE_MAX) + 4;
	unsigned char *raw;
	char *b64;

	buf_init(&out, 1024);
	raw = malloc(SASL_RESPONSE_MAX + 1);
	b64 = malloc(over + 1);
	memset(raw, 'u', SASL_RESPONSE_MAX + 1);
	/* a user name one byte over the identity limit, then at it */
	(void)base64_encode(raw, SASL_IDENTITY_MAX + 1, b64);
	(void)start(&s, &creds, SASL_MECH_LOGIN, NULL, USER_CH);
	assert_int_equal(step(&s, &creds, b64, ""), SASL_SERVER_BAD_USER);
	(void)base64_encode(raw, SASL_IDENTITY_MAX, b64);
	(void)start(&s, &creds, SASL_MECH_LOGIN, NULL, USER_CH);
	assert_int_equal(step(&s, &creds, b64, PASS_CH), SASL_SERVER_CONTINUE);
	/* a password of SASL_RESPONSE_MAX bytes is fine */
	(void)base64_encode(raw, SASL_RESPONSE_MAX, b64);
	assert_int_equal(step(&s, &creds, b64, ""), SASL_SERVER_DONE);
	assert_int_equal(creds.password_len, SASL_RESPONSE_MAX);
	/* one byte more decodes too long (same base64 length) */
	(void)base64_encode(raw, SASL_RESPONSE_MAX + 1, b64);
	(void)start(&s, &creds, SASL_MECH_LOGIN, "dGlt", PASS_CH);
	assert_int_equal(step(&s, &creds, b64, ""), SASL_SERVER_BAD_BASE64);
	/* base64 longer than any allowed response is not even decoded */
	memset(b64, 'A', over);
	b64[over] = '\0';
	(void)start(&s, &creds, SASL_MECH_LOGIN, "dGlt", PASS_CH);
	assert_int_equal(step(&s, &creds, b64, ""), SASL_SERVER_BAD_BASE64);
	/* abort leaves the exchange; the caller wipes its creds */
	(void)start(&s, &creds, SASL_MECH_PLAIN, NULL, PLAIN_CH);
	sasl_server_abort(&s);
	assert_false(sasl_server_active(&s));
	free(raw);
	free(b64);
	buf_deinit(&out);
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
	    cmocka_unit_test(test_server_mechs),
	    cmocka_unit_test(test_server_oauth),
	    cmocka_unit_test(test_server_plain),
	    cmocka_unit_test(test_server_login),
	    cmocka_unit_test(test_server_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

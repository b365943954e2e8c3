/*
 * test_sasl_oauth.c - the user of OAUTHBEARER (RFC 7628) and XOAUTH2
 * messages, and what is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <string.h>

#include "sasl.h"
#include "sasl_oauth.h"

/* The user msg (a C string, "\001" for kvsep) names, or NULL with the
 * error in *error_r. */
static const char *
user_of(enum sasl_oauth_mech mech, const char *msg, const char **error_r)
{
	static char user[SASL_IDENTITY_MAX + 1];

	if (sasl_oauth_user(mech, (const unsigned char *)msg, strlen(msg), user,
		sizeof(user), error_r) == -1) {
		assert_non_null(*error_r);
		assert_string_equal(user, "");
		return NULL;
	}
	return user;
}

static void
test_oauthbearer(void **state)
{
	const char *err;

	(void)state;
	/* RFC 7628 section 4.1's example */
	assert_string_equal(
	    user_of(SASL_OAUTH_BEARER,
		"n,a=user@example.com,\001host=server.example.com"
		"\001port=143\001auth=Bearer vF9dft4qmTc2Nvb3Rl"
		"cmVuZnVzZQ==\001\001",
		&err),
	    "user@example.com");
	/* escapes; y and p= flags */
	assert_string_equal(
	    user_of(SASL_OAUTH_BEARER,
		"y,a=a=2Cb=3Dc,\001auth=Bearer x\001\001", &err),
	    "a,b=c");
	assert_string_equal(
	    user_of(SASL_OAUTH_BEARER,
		"p=tls-unique,a=bob,\001auth=Bearer x\001\001", &err),
	    "bob");
	/* no a=: nothing to route by */
	assert_null(
	    user_of(SASL_OAUTH_BEARER, "n,,\001auth=Bearer x\001\001", &err));
	assert_string_equal(err, "No user name (a=) to route by");
	/* the dummy response after an error challenge */
	assert_null(user_of(SASL_OAUTH_BEARER, "\001", &err));
	assert_string_equal(err, "Unexpected dummy response");
}

static void
test_oauthbearer_malformed(void **state)
{
	static const char *const bad[] = {
	    "", "x,a=bob,\001auth=Bearer x\001\001", /* flag */
	    "n,a=bob\001auth=Bearer x\001\001", /* no comma */
	    "n,a=,\001auth=Bearer x\001\001", /* empty user */
	    "n,a=b=4Fb,\001auth=Bearer x\001\001", /* bad escape */
	    "n,a=bob,auth=Bearer x\001\001", /* no kvsep */
	    "n,a=bob,\001host=h\001\001", /* no auth */
	    "n,a=bob,\001auth=\001\001", /* empty auth */
	    "n,a=bob,\001auth=Bearer x\001", /* no final kvsep */
	    "n,a=bob,\001auth=Bearer x\001\001extra", /* after it */
	    "n,a=bob,\0011x=y\001auth=Bearer x\001\001", /* key */
	    "n,a=bob,\001auth=Bearer \177\001\001", /* value byte */
	    "p=,a=bob,\001auth=Bearer x\001\001",
	    "n,a=bo\rb,\001auth=Bearer x\001\001", /* CR in the user */
	};
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(user_of(SASL_OAUTH_BEARER, bad[i], &err));
}

static void
test_xoauth2(void **state)
{
	const char *err;

	(void)state;
	assert_string_equal(user_of(SASL_OAUTH_XOAUTH2,
				"user=someuser@example.com\001auth=Bearer "
				"ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
				"\001\001",
				&err),
	    "someuser@example.com");
	assert_null(user_of(SASL_OAUTH_XOAUTH2, "auth=Bearer x\001\001", &err));
	assert_null(user_of(SASL_OAUTH_XOAUTH2, "user=bob\001\001", &err));
	assert_null(user_of(
	    SASL_OAUTH_XOAUTH2, "user=\001auth=Bearer x\001\001", &err));
	assert_null(
	    user_of(SASL_OAUTH_XOAUTH2, "user=bob\001auth=Bearer x\001", &err));
}

static void
test_bounds(void **state)
{
	char msg[SASL_OAUTH_MESSAGE_MAX + 64], user[8];
	const char *err;
	size_t n;

	(void)state;
	/* a user longer than the caller's buffer */
	assert_int_equal(
	    sasl_oauth_user(SASL_OAUTH_XOAUTH2,
		(const unsigned char *)"user=abcdefgh\001auth=B\001\001", 21,
		user, sizeof(user), &err),
	    -1);
	assert_string_equal(user, "");
	/* a message over the limit */
	n = (size_t)snprintf(msg, sizeof(msg), "user=bob\001auth=Bearer ");
	memset(msg + n, 'x', sizeof(msg) - n - 3);
	msg[sizeof(msg) - 3] = '\001';
	msg[sizeof(msg) - 2] = '\001';
	assert_int_equal(
	    sasl_oauth_user(SASL_OAUTH_XOAUTH2, (const unsigned char *)msg,
		sizeof(msg) - 1, user, sizeof(user), &err),
	    -1);
	assert_string_equal(err, "Message too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oauthbearer),
	    cmocka_unit_test(test_oauthbearer_malformed),
	    cmocka_unit_test(test_xoauth2),
	    cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

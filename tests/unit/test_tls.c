/*
 * test_tls.c - what tls.c asks of OpenSSL for secrets in memory: the
 * client context cleanses plaintext record buffers after use
 * (SSL_OP_CLEANSE_PLAINTEXT, issue #13).  The server context needs a
 * certificate and key on disk and is covered by the integration tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <openssl/ssl.h>

#include "tls.h"

/* Verifying or not, the client context cleanses plaintext. */
static void
test_client_ctx_cleanses_plaintext(void **state)
{
	struct ssl_ctx_st *ctx;
	char *error = NULL;
	int verify;

	for (verify = 0; verify <= 1; verify++) {
		ctx = tls_client_ctx_new(verify, NULL, TLS1_2_VERSION, &error);
		assert_non_null(ctx);
		assert_true(
		    SSL_CTX_get_options(ctx) & SSL_OP_CLEANSE_PLAINTEXT);
		assert_int_equal(SSL_CTX_get_verify_mode(ctx),
		    verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE);
		tls_ctx_free(&ctx);
		assert_null(ctx);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_ctx_cleanses_plaintext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

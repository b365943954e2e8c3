/*
 * test_lmtp_conf.c - the LMTP resource settings: their defaults (a size
 * limit, a transaction deadline, global spool budgets, a spool directory
 * of its own) and the checks that keep them usable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "conf.h"

#define MIN_LISTENER "listen lmtp {\n  port = 24\n}\n"

static struct conf *
parse(const char *text, char **error_r)
{
	*error_r = NULL;
	return conf_parse_buffer("t.conf", text, strlen(text), 0, error_r);
}

static void
test_defaults(void **state)
{
	char *error;
	struct conf *conf = parse(MIN_LISTENER, &error);

	assert_non_null(conf);
	assert_int_equal(conf->lmtp_max_message_size, 50 * 1024 * 1024);
	assert_int_equal(conf->lmtp_transaction_timeout_ms, 5 * 60 * 1000);
	assert_int_equal(conf->lmtp_spool_memory, 1024 * 1024);
	assert_int_equal(conf->lmtp_spool_memory_total, 64 * 1024 * 1024);
	assert_int_equal(conf->lmtp_spool_disk_total, 1024ULL * 1024 * 1024);
	/* a directory of its own below state_dir, not state_dir itself */
	assert_string_equal(conf->lmtp_spool_dir, "/var/lib/director/lmtp");
	conf_free(&conf);

	conf = parse("state_dir = /srv/d\n" MIN_LISTENER, &error);
	assert_non_null(conf);
	assert_string_equal(conf->lmtp_spool_dir, "/srv/d/lmtp");
	conf_free(&conf);
}

static void
test_values(void **state)
{
	char *error;
	struct conf *conf = parse("lmtp_max_message_size = 0\n"
				  "lmtp_transaction_timeout = 3 s\n"
				  "lmtp_spool_memory_total = 8M\n"
				  "lmtp_spool_disk_total = 2G\n"
				  "lmtp_spool_dir = /spool/lmtp\n" MIN_LISTENER,
	    &error);

	assert_non_null(conf);
	assert_int_equal(conf->lmtp_max_message_size, 0);
	assert_int_equal(conf->lmtp_transaction_timeout_ms, 3000);
	assert_int_equal(conf->lmtp_spool_memory_total, 8 * 1024 * 1024);
	assert_int_equal(conf->lmtp_spool_disk_total, 2ULL << 30);
	assert_string_equal(conf->lmtp_spool_dir, "/spool/lmtp");
	conf_free(&conf);
}

static void
expect_error(const char *text, const char *want)
{
	char *error;
	struct conf *conf = parse(text, &error);

	if (conf != NULL) {
		conf_free(&conf);
		fail_msg("no error, wanted '%s'", want);
	}
	if (strstr(error, want) == NULL)
		fail_msg("error '%s', wanted '%s'", error, want);
	free(error);
}

static void
test_errors(void **state)
{
	expect_error("lmtp_spool_dir = spool\n" MIN_LISTENER,
	    "lmtp_spool_dir must be an absolute path");
	/* the state file's directory is not a spool */
	expect_error("state_dir = /srv/d\nlmtp_spool_dir = /srv/d/\n"
		     "" MIN_LISTENER,
	    "lmtp_spool_dir must not be state_dir");
	expect_error("lmtp_transaction_timeout = 0\n" MIN_LISTENER,
	    "lmtp_transaction_timeout");
	/* a message must fit in the per-connection memory spool or on
	 * disk: one connection may not hold the whole memory budget */
	expect_error("lmtp_spool_memory = 8M\nlmtp_spool_memory_total = 4M\n"
		     "" MIN_LISTENER,
	    "lmtp_spool_memory_total must be at least lmtp_spool_memory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

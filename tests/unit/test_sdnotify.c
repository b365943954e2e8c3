/*
 * test_sdnotify.c - $NOTIFY_SOCKET addresses and notification datagrams.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "sdnotify.h"

static void
test_address_path(void **state)
{
	char path[SDNOTIFY_ADDR_MAX];
	size_t len = 0;

	assert_int_equal(
	    sdnotify_parse_address("/run/systemd/notify", path, &len),
	    SDNOTIFY_ADDR_PATH);
	assert_int_equal(len, sizeof("/run/systemd/notify"));
	assert_memory_equal(path, "/run/systemd/notify", len);
}

static void
test_address_abstract(void **state)
{
	char path[SDNOTIFY_ADDR_MAX];
	size_t len = 0;

	assert_int_equal(sdnotify_parse_address("@sd/notify", path, &len),
	    SDNOTIFY_ADDR_ABSTRACT);
	/* the NUL that stands for '@', then the name without a terminator */
	assert_int_equal(len, 10);
	assert_memory_equal(path, "\0sd/notify", 10);
}

static void
test_address_invalid(void **state)
{
	static const char *const bad[] = {
	    "",
	    "@",
	    "run/systemd/notify",
	    "./notify",
	    "vsock:2:1234",
	    " /run/notify",
	};
	char path[SDNOTIFY_ADDR_MAX];
	size_t i, len = 7;

	assert_int_equal(
	    sdnotify_parse_address(NULL, path, &len), SDNOTIFY_ADDR_INVALID);
	for (i = 0; i < nitems(bad); i++)
		assert_int_equal(sdnotify_parse_address(bad[i], path, &len),
		    SDNOTIFY_ADDR_INVALID);
	assert_int_equal(len, 7);
}

static void
test_address_lengths(void **state)
{
	char value[SDNOTIFY_ADDR_MAX + 2], path[SDNOTIFY_ADDR_MAX];
	size_t len;

	/* a path fills sun_path with its NUL */
	memset(value, 'p', sizeof(value));
	value[0] = '/';
	value[SDNOTIFY_ADDR_MAX - 1] = '\0';
	assert_int_equal(
	    sdnotify_parse_address(value, path, &len), SDNOTIFY_ADDR_PATH);
	assert_int_equal(len, SDNOTIFY_ADDR_MAX);
	assert_int_equal(path[SDNOTIFY_ADDR_MAX - 1], '\0');
	value[SDNOTIFY_ADDR_MAX - 1] = 'p';
	value[SDNOTIFY_ADDR_MAX] = '\0';
	assert_int_equal(
	    sdnotify_parse_address(value, path, &len), SDNOTIFY_ADDR_TOO_LONG);
	/* an abstract name has no NUL: '@' and 107 bytes fill it */
	value[0] = '@';
	assert_int_equal(
	    sdnotify_parse_address(value, path, &len), SDNOTIFY_ADDR_ABSTRACT);
	assert_int_equal(len, SDNOTIFY_ADDR_MAX);
	assert_int_equal(path[SDNOTIFY_ADDR_MAX - 1], 'p');
	value[SDNOTIFY_ADDR_MAX] = 'p';
	value[SDNOTIFY_ADDR_MAX + 1] = '\0';
	assert_int_equal(
	    sdnotify_parse_address(value, path, &len), SDNOTIFY_ADDR_TOO_LONG);
}

/* Formats msg and compares the datagram with want. */
static void
expect_format(const struct sdnotify_msg *msg, const char *want)
{
	char buf[SDNOTIFY_MSG_MAX];
	size_t len;

	len = sdnotify_format(msg, buf, sizeof(buf));
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
}

static void
test_format_states(void **state)
{
	struct sdnotify_msg ready = {.state = SDNOTIFY_READY};
	struct sdnotify_msg ready_pid = {.state = SDNOTIFY_READY,
	    .mainpid = 4242,
	    .status = "ready: 3 listeners"};
	struct sdnotify_msg reloading = {.state = SDNOTIFY_RELOADING,
	    .monotonic_usec = 123456789,
	    .status = "reloading"};
	struct sdnotify_msg stopping = {.state = SDNOTIFY_STOPPING};
	struct sdnotify_msg status = {.state = SDNOTIFY_STATUS,
	    .mainpid = 7,
	    .monotonic_usec = 9,
	    .status = "x"};

	expect_format(&ready, "READY=1");
	expect_format(
	    &ready_pid, "READY=1\nMAINPID=4242\nSTATUS=ready: 3 listeners");
	expect_format(&reloading,
	    "RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=reloading");
	expect_format(&stopping, "STOPPING=1");
	/* MAINPID and MONOTONIC_USEC go only with their states */
	expect_format(&status, "STATUS=x");
}

static void
test_format_status_stays_one_line(void **state)
{
	struct sdnotify_msg msg = {.state = SDNOTIFY_STOPPING,
	    .status = "bad\nREADY=1\r\tend\xc3\xa9\x7f"};

	expect_format(&msg, "STOPPING=1\nSTATUS=bad?READY=1??end???");
}

static void
test_format_status_cut(void **state)
{
	char status[SDNOTIFY_STATUS_MAX + 50], want[SDNOTIFY_MSG_MAX];
	struct sdnotify_msg msg = {.state = SDNOTIFY_STATUS, .status = status};

	memset(status, 'a', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	snprintf(
	    want, sizeof(want), "STATUS=%.*s", SDNOTIFY_STATUS_MAX, status);
	expect_format(&msg, want);
}

static void
test_format_small_buffer(void **state)
{
	struct sdnotify_msg msg = {
	    .state = SDNOTIFY_READY, .mainpid = 12, .status = "ok"};
	const char *want = "READY=1\nMAINPID=12\nSTATUS=ok";
	char buf[64];
	size_t n = strlen(want), size;

	assert_int_equal(sdnotify_format(&msg, buf, n + 1), n);
	assert_string_equal(buf, want);
	/* every shorter buffer is refused, never a datagram cut short */
	for (size = 0; size <= n; size++)
		assert_int_equal(sdnotify_format(&msg, buf, size), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_path),
	    cmocka_unit_test(test_address_abstract),
	    cmocka_unit_test(test_address_invalid),
	    cmocka_unit_test(test_address_lengths),
	    cmocka_unit_test(test_format_states),
	    cmocka_unit_test(test_format_status_stays_one_line),
	    cmocka_unit_test(test_format_status_cut),
	    cmocka_unit_test(test_format_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

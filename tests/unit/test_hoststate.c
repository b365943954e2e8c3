/*
 * test_hoststate.c - the backend state file: encode/decode round trip,
 * "removed" records for configured backends, and every kind of
 * corruption refused with its line number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "hosts.h"
#include "hoststate.h"

static struct ipaddr
ip_of(const char *s)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(s, &ip), 0);
	return ip;
}

static void
test_round_trip(void **state)
{
	struct hosts *hosts = hosts_new(SELECT_METHOD_DOVECOT, 900);
	struct hosts_spec_entry config[2];
	struct hoststate_entry *e;
	struct ipaddr a = ip_of("10.0.0.1"), b = ip_of("fd00::2");
	const char *err;
	char msg[128];
	struct host *h;
	struct buf out;
	size_t n;

	h = hosts_add(hosts, &a, "", 100, &err);
	assert_non_null(h);
	hosts_set_down(hosts, h, true, 1700000000);
	assert_non_null(hosts_add(hosts, &b, "archive", 7, &err));
	memset(config, 0, sizeof(config));
	config[0].ip = a;
	config[1].ip = ip_of("10.0.0.9"); /* configured, removed */
	buf_init(&out, 4096);
	assert_int_equal(hoststate_encode(hosts, config, 2, &out), 0);
	assert_int_equal(buf_append(&out, "", 1), 0);
	assert_string_equal(out.data,
	    "director-hosts 1\n"
	    "host 10.0.0.1 100 down 1700000000\n"
	    "host fd00::2 7 up 0 archive\n"
	    "removed 10.0.0.9\n");
	assert_int_equal(
	    hoststate_decode(out.data, out.len - 1, &e, &n, msg, sizeof(msg)),
	    0);
	assert_int_equal(n, 3);
	assert_true(ipaddr_equals(&e[0].ip, &a));
	assert_true(e[0].down && !e[0].removed);
	assert_int_equal(e[0].vhost_count, 100);
	assert_int_equal(e[0].last_updown_change, 1700000000);
	assert_string_equal(e[0].tag, "");
	assert_true(ipaddr_equals(&e[1].ip, &b));
	assert_string_equal(e[1].tag, "archive");
	assert_int_equal(e[1].vhost_count, 7);
	assert_false(e[1].down);
	assert_true(e[2].removed);
	free(e);
	buf_deinit(&out);
	hosts_free(&hosts);
}

static void
test_corruption(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"", "empty file"},
	    {"director-hosts 2\n", "line 1: not a"},
	    {"director-hosts 1", "line 1: truncated"},
	    {"director-hosts 1\nhost 10.0.0.1 100 up 0", "line 2: truncated"},
	    {"director-hosts 1\nhost 10.0.0.300 100 up 0\n",
		"line 2: invalid IP address"},
	    {"director-hosts 1\nhost 10.0.0.1 1001 up 0\n",
		"line 2: invalid vhost count"},
	    {"director-hosts 1\nhost 10.0.0.1 -1 up 0\n",
		"line 2: invalid vhost count"},
	    {"director-hosts 1\nhost 10.0.0.1 1 sideways 0\n",
		"line 2: state is neither"},
	    {"director-hosts 1\nhost 10.0.0.1 1 up 99999999999\n",
		"line 2: invalid change time"},
	    {"director-hosts 1\nhost 10.0.0.1 1 up 0 a@b\n",
		"line 2: invalid tag"},
	    {"director-hosts 1\nhost 10.0.0.1 1 up 0 t x y\n",
		"line 2: too many fields"},
	    {"director-hosts 1\nhost 10.0.0.1\n", "line 2: not a host"},
	    {"director-hosts 1\nremoved\n", "line 2: not a host"},
	    {"director-hosts 1\nhost 10.0.0.1 1 up 0\nremoved 10.0.0.1\n",
		"line 3: duplicate address"},
	};
	struct hoststate_entry *e;
	char msg[128], longline[400];
	size_t i, n;

	for (i = 0; i < nitems(cases); i++) {
		e = (void *)1;
		assert_int_equal(
		    hoststate_decode(cases[i].text, strlen(cases[i].text), &e,
			&n, msg, sizeof(msg)),
		    -1);
		assert_null(e);
		if (strstr(msg, cases[i].want) == NULL)
			fail_msg("case %zu: '%s' does not contain '%s'", i, msg,
			    cases[i].want);
	}
	/* a NUL byte and an over-long line */
	assert_int_equal(hoststate_decode("director-hosts 1\n\0\n", 19, &e, &n,
			     msg, sizeof(msg)),
	    -1);
	assert_non_null(strstr(msg, "NUL"));
	memset(longline, 'x', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	{
		char text[sizeof(longline) + 32];

		snprintf(text, sizeof(text), "director-hosts 1\n%s", longline);
		assert_int_equal(hoststate_decode(text, strlen(text), &e, &n,
				     msg, sizeof(msg)),
		    -1);
		assert_non_null(strstr(msg, "line 2: too long"));
	}
	/* just the header: no records */
	assert_int_equal(hoststate_decode("director-hosts 1\n", 17, &e, &n, msg,
			     sizeof(msg)),
	    0);
	assert_int_equal(n, 0);
	assert_null(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

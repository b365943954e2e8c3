/*
 * test_hosts.c - director_mail_servers parsing, the host list, hosts_hash
 * and routing through hosts_route_user().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "hosts.h"
#include "users.h"

static struct ipaddr
ip_of(const char *s)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(s, &ip), 0);
	return ip;
}

static size_t
parse_ok(const char *spec, struct hosts_spec_entry **e)
{
	char err[256];
	size_t n = 99;

	*e = NULL;
	if (hosts_spec_parse(spec, e, &n, err, sizeof(err)) != 0)
		fail_msg("unexpected error for '%s': %s", spec, err);
	return n;
}

static void
parse_bad(const char *spec, const char *want)
{
	struct hosts_spec_entry *e = (void *)1;
	char err[256] = "";
	size_t n = 99;

	assert_int_equal(hosts_spec_parse(spec, &e, &n, err, sizeof(err)), -1);
	assert_null(e);
	assert_int_equal(n, 0);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, want);
}

static void
test_spec_parse(void **state)
{
	struct hosts_spec_entry *e;
	char buf[IPADDR_STR_MAX];
	size_t n;

	n = parse_ok("10.0.0.1 10.0.0.5-10.0.0.7@imap\t::1@x ", &e);
	assert_int_equal(n, 5);
	assert_string_equal(ipaddr_format(&e[0].ip, buf), "10.0.0.1");
	assert_string_equal(e[0].tag, "");
	assert_string_equal(ipaddr_format(&e[1].ip, buf), "10.0.0.5");
	assert_string_equal(ipaddr_format(&e[3].ip, buf), "10.0.0.7");
	assert_string_equal(e[3].tag, "imap");
	assert_string_equal(ipaddr_format(&e[4].ip, buf), "::1");
	assert_string_equal(e[4].tag, "x");
	free(e);

	n = parse_ok("2001:db8::ff00-2001:db8::ffff", &e);
	assert_int_equal(n, 256);
	assert_string_equal(ipaddr_format(&e[255].ip, buf), "2001:db8::ffff");
	free(e);
	n = parse_ok("10.0.0.0-10.0.0.255", &e);
	assert_int_equal(n, 256);
	free(e);
	n = parse_ok("   ", &e);
	assert_int_equal(n, 0);
	assert_null(e);
	n = parse_ok("", &e);
	assert_int_equal(n, 0);
}

static void
test_spec_parse_errors(void **state)
{
	parse_bad("mail.example.com",
	    "hostnames are not supported in director_mail_servers: "
	    "mail.example.com");
	parse_bad("10.0.0.1 backend-1@tag", "hostnames are not supported");
	parse_bad("10.0.0.9-10.0.0.1", "reversed");
	parse_bad("10.0.0.1-10.0.1.1", "too large");
	parse_bad("2001:db8::1-2001:db8::1:0:1", "too large");
	parse_bad("2001:db8::fffe-2001:db8::1:3", "too large");
	parse_bad("10.0.0.1-::1", "IPv4 and IPv6");
	parse_bad("10.0.0.1@", "invalid tag");
	parse_bad("@tag", "missing address");
	parse_bad("10.0.0.1-", "hostnames");
	parse_bad("10.0.0.0-10.0.0.255 10.0.1.0-10.0.1.255 "
		  "10.0.2.0-10.0.2.255 10.0.3.0-10.0.3.255 "
		  "2001:db8::-2001:db8::ffff",
	    "too many hosts");
}

static void
test_add_remove_update(void **state)
{
	struct hosts *hosts = hosts_new(SELECT_METHOD_DOVECOT, 900);
	struct ipaddr a = ip_of("10.0.0.2"), b = ip_of("10.0.0.1");
	struct host *ha, *hb, *h;
	const char *err;

	ha = hosts_add(hosts, &a, NULL, 100, &err);
	assert_non_null(ha);
	hb = hosts_add(hosts, &b, "t1", 5, &err);
	assert_non_null(hb);
	assert_null(hosts_add(hosts, &a, "", 1, &err));
	assert_string_equal(err, "host already exists");
	h = hosts_add(hosts, &(struct ipaddr){0}, "", 1001, &err);
	assert_null(h);
	assert_int_equal(hosts_count(hosts), 2);
	/* sorted by IP */
	assert_ptr_equal(hosts_get(hosts, 0), hb);
	assert_ptr_equal(hosts_lookup(hosts, &a), ha);
	assert_ptr_equal(hosts_lookup_id(hosts, ha->id), ha);
	assert_string_equal(hb->ip_str, "10.0.0.1");
	assert_string_equal(hosts_tag_name(hb->tag), "t1");
	hosts_set_vhost_count(hosts, hb, 5000);
	assert_int_equal(hb->vhost_count, HOST_VHOST_COUNT_MAX);
	hosts_set_down(hosts, ha, true, 1234);
	assert_true(ha->down);
	assert_int_equal(ha->last_updown_change, 1234);
	hosts_set_down(hosts, ha, true, 2000);
	assert_int_equal(ha->last_updown_change, 1234);
	assert_int_equal(hosts_set_name(hosts, ha, "mail1"), 0);
	assert_string_equal(ha->name, "mail1");
	hosts_remove(hosts, &ha);
	assert_null(ha);
	assert_null(hosts_lookup(hosts, &a));
	assert_int_equal(hosts_count(hosts), 1);
	hosts_free(&hosts);
	assert_null(hosts);
}

static uint32_t
hash_of_set(const char *const *ips, size_t n, bool reverse)
{
	struct hosts *hosts = hosts_new(SELECT_METHOD_DOVECOT, 900);
	struct ipaddr ip;
	const char *err;
	size_t i, k;
	uint32_t h;

	for (i = 0; i < n; i++) {
		k = reverse ? n - 1 - i : i;
		ip = ip_of(ips[k]);
		assert_non_null(hosts_add(hosts, &ip, "", 100, &err));
	}
	h = hosts_hash(hosts);
	hosts_free(&hosts);
	return h;
}

static void
test_hosts_hash(void **state)
{
	static const char *const ips[] = {
	    "10.0.0.3",
	    "::1",
	    "10.0.0.1",
	    "192.168.1.1",
	    "10.0.0.2",
	};
	struct hosts *hosts = hosts_new(SELECT_METHOD_RENDEZVOUS, 900);
	struct ipaddr ip;
	struct host *h1, *h2;
	const char *err;
	uint32_t h, prev;

	/* empty list: crc 0 is reported as 1 */
	assert_int_equal(hosts_hash(hosts), 1);
	/* independently computed (Python zlib.crc32) */
	ip = ip_of("10.0.0.1");
	h1 = hosts_add(hosts, &ip, "", 100, &err);
	ip = ip_of("::1");
	assert_non_null(hosts_add(hosts, &ip, "", 100, &err));
	ip = ip_of("10.0.0.2");
	h2 = hosts_add(hosts, &ip, "x", 50, &err);
	hosts_set_down(hosts, h2, true, 1);
	assert_int_equal(hosts_hash(hosts), 0xc4b1c14au);

	prev = hosts_hash(hosts);
	hosts_set_vhost_count(hosts, h1, 99);
	h = hosts_hash(hosts);
	assert_int_not_equal(h, prev);
	hosts_set_vhost_count(hosts, h1, 100);
	assert_int_equal(hosts_hash(hosts), prev);
	hosts_set_down(hosts, h2, false, 2);
	assert_int_not_equal(hosts_hash(hosts), prev);
	hosts_set_down(hosts, h2, true, 3);
	assert_int_equal(hosts_hash(hosts), prev);
	assert_int_equal(hosts_set_tag(hosts, h2, "y"), 0);
	assert_int_not_equal(hosts_hash(hosts), prev);
	assert_int_equal(hosts_set_tag(hosts, h2, "x"), 0);
	assert_int_equal(hosts_hash(hosts), prev);
	/* health is not part of the ring-wide hash */
	hosts_set_healthy(hosts, h1, false);
	assert_int_equal(hosts_hash(hosts), prev);
	hosts_remove(hosts, &h1);
	ip = ip_of("10.0.0.4");
	assert_non_null(hosts_add(hosts, &ip, "", 100, &err));
	assert_int_not_equal(hosts_hash(hosts), prev);
	hosts_free(&hosts);

	/* insertion order does not matter */
	assert_int_equal(hash_of_set(ips, nitems(ips), false),
	    hash_of_set(ips, nitems(ips), true));
}

static void
check_route_user(enum select_method method)
{
	struct hosts *hosts = hosts_new(method, 900);
	struct ipaddr ip;
	struct host *h, *h2, *hosts_arr[4];
	const char *err;
	bool created;
	uint32_t i;

	assert_null(hosts_route_user(hosts, "", 42, 1000, &created));
	for (i = 0; i < 4; i++) {
		ip.family = IPADDR_FAMILY_V4;
		memset(ip.a, 0, sizeof(ip.a));
		ip.a[0] = 10;
		ip.a[3] = (uint8_t)(i + 1);
		hosts_arr[i] =
		    hosts_add(hosts, &ip, i == 3 ? "other" : "", 100, &err);
	}
	h = hosts_route_user(hosts, "", 42, 1000, &created);
	assert_non_null(h);
	assert_true(created);
	assert_ptr_not_equal(h, hosts_arr[3]);
	assert_int_equal(hosts_user_count(hosts, h), 1);
	/* existing user sticks even after its host goes down */
	hosts_set_down(hosts, h, true, 1001);
	h2 = hosts_route_user(hosts, "", 42, 1002, &created);
	assert_ptr_equal(h2, h);
	assert_false(created);
	/* but a new user never goes to a down or unhealthy host */
	hosts_set_healthy(hosts, hosts_arr[0], false);
	for (i = 100; i < 400; i++) {
		h2 = hosts_route_user(hosts, "", i, 1003, &created);
		assert_non_null(h2);
		assert_ptr_not_equal(h2, h);
		assert_ptr_not_equal(h2, hosts_arr[0]);
		assert_ptr_not_equal(h2, hosts_arr[3]);
	}
	/* tags have separate directories */
	assert_ptr_equal(
	    hosts_route_user(hosts, "other", 42, 1004, &created), hosts_arr[3]);
	assert_true(created);
	assert_null(hosts_route_user(hosts, "nope", 42, 1004, &created));
	/* expiry drops them */
	assert_int_equal(hosts_expire_users(hosts, 1003 + 900), 301);
	assert_int_equal(hosts_expire_users(hosts, 1004 + 900), 1);
	/* flush forgets users without removing the host */
	h2 = hosts_route_user(hosts, "", 8, 5000, &created);
	assert_int_equal(hosts_user_count(hosts, h2), 1);
	assert_int_equal(hosts_flush_users(hosts, h2, 1000), 1);
	assert_int_equal(h2->flushed_ts, 1000);
	assert_int_equal(hosts_user_count(hosts, h2), 0);
	assert_int_equal(hosts_tag_count(hosts), 2);
	assert_string_equal(hosts_tag_name(hosts_tag_get(hosts, 1)), "other");
	/* removing a host drops its users */
	h2 = hosts_route_user(hosts, "", 7, 5000, &created);
	assert_non_null(h2);
	hosts_remove(hosts, &h2);
	assert_int_equal(
	    users_count(hosts_tag_users(hosts_tag_lookup(hosts, ""))), 0);
	/* the only eligible host is gone */
	assert_null(hosts_route_user(hosts, "", 7, 5000, &created));
	hosts_set_healthy(hosts, hosts_arr[0], true);
	assert_ptr_equal(
	    hosts_route_user(hosts, "", 7, 5000, &created), hosts_arr[0]);
	hosts_free(&hosts);
}

static void
test_route_user(void **state)
{
	check_route_user(SELECT_METHOD_RENDEZVOUS);
	check_route_user(SELECT_METHOD_DOVECOT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_parse),
	    cmocka_unit_test(test_spec_parse_errors),
	    cmocka_unit_test(test_add_remove_update),
	    cmocka_unit_test(test_hosts_hash),
	    cmocka_unit_test(test_route_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

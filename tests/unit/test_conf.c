/*
 * test_conf.c - the configuration parser: syntax, defaults, value types,
 * includes, listener and cross-field validation, and that every error
 * names the right file:line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "sasl.h"
#include "conf_syntax.h"
#include "hosts.h"
#include "xmalloc.h"

#define MIN_LISTENER "listen imap {\n  port = 143\n}\n"

static struct conf *
parse(const char *text)
{
	struct conf *conf;
	char *error = NULL;

	conf = conf_parse_buffer("t.conf", text, strlen(text), 0, &error);
	if (conf == NULL)
		fail_msg("unexpected error: %s", error);
	return conf;
}

/* Parses text, expects an error that starts with want. */
static void
expect_error(const char *text, const char *want)
{
	struct conf *conf;
	char *error = NULL;

	conf = conf_parse_buffer("t.conf", text, strlen(text), 0, &error);
	if (conf != NULL) {
		conf_free(&conf);
		fail_msg("no error, wanted '%s' for:\n%s", want, text);
	}
	assert_non_null(error);
	if (strncmp(error, want, strlen(want)) != 0)
		fail_msg("error '%s', wanted '%s'", error, want);
	free(error);
}

static void
test_defaults(void **state)
{
	struct conf *conf = parse(MIN_LISTENER);
	const struct conf_listener *l;

	assert_string_equal(conf->user, "director");
	assert_string_equal(conf->state_dir, "/var/lib/director");
	assert_string_equal(conf->admin_socket, "/run/director/admin");
	assert_string_equal(conf->pid_file, "/run/director/directord.pid");
	assert_string_equal(conf->log_level, "info");
	assert_string_equal(conf->mail_servers, "");
	assert_null(conf->mail_servers_loc);
	assert_int_equal(conf->director_server_count, 0);
	assert_int_equal(conf->mail_server_count, 0);
	assert_true(conf->disable_plaintext_auth);
	assert_int_equal(conf->hashing, CONF_HASHING_RENDEZVOUS);
	assert_int_equal(conf->user_expire_ms, 15 * 60 * 1000);
	assert_string_equal(conf->username_hash, "%Lu");
	assert_int_equal(conf->user_kick_delay_ms, 2000);
	assert_int_equal(conf->max_parallel_moves, 100);
	assert_int_equal(conf->max_parallel_kicks, 100);
	assert_int_equal(conf->ping_idle_timeout_ms, 6000);
	assert_int_equal(conf->ping_max_timeout_ms, 60000);
	assert_int_equal(conf->output_buffer_size, 10 * 1024 * 1024);
	assert_string_equal(conf->auth_master_user_separator, "");
	assert_string_equal(conf->ssl_cert, "");
	assert_string_equal(conf->ssl_key, "");
	assert_string_equal(conf->ssl_ca, "");
	assert_int_equal(conf->ssl_min_protocol, CONF_SSL_TLSV1_2);
	assert_int_equal(conf->login_timeout_ms, 60000);
	assert_int_equal(conf->trusted_network_count, 0);
	assert_int_equal(conf->max_connections, 10000);
	assert_int_equal(conf->max_connections_per_ip, 100);
	assert_int_equal(conf->max_connections_per_ip_ipv6_prefix, 64);
	assert_int_equal(conf->backend.imap_port, 143);
	assert_int_equal(conf->backend.pop3_port, 110);
	assert_int_equal(conf->backend.lmtp_port, 24);
	assert_int_equal(conf->backend.tls, CONF_TLS_NO);
	assert_false(conf->backend.ssl_verify);
	assert_string_equal(conf->backend.ssl_name, "");
	assert_int_equal(conf->backend.connect_timeout_ms, 30000);
	assert_int_equal(conf->backend.idle_timeout_ms, 30 * 60 * 1000);

	assert_int_equal(conf->listener_count, 1);
	l = conf_find_listener(conf, "imap");
	assert_non_null(l);
	assert_int_equal(l->protocol, CONF_PROTOCOL_IMAP);
	assert_int_equal(l->address_count, 1);
	assert_string_equal(l->addresses[0], "*");
	assert_int_equal(l->port, 143);
	assert_int_equal(l->tls, CONF_TLS_NO);
	assert_false(l->haproxy);
	assert_string_equal(l->loc, "t.conf:1");
	conf_free(&conf);
	assert_null(conf);
	conf_free(&conf);
}

static const char design_example[] =
    "# directord.conf\n"
    "user = director                         # unprivileged user\n"
    "state_dir = /var/lib/director\n"
    "admin_socket = /run/director/admin\n"
    "log_level = debug                       # error | warning\n"
    "\n"
    "director_mail_servers = 10.0.0.11 10.0.0.12 "
    "10.0.0.20-10.0.0.23@archive\n"
    "director_servers = 10.0.1.1:9090 10.0.1.2:9090 10.0.1.3\n"
    "director_hashing = dovecot\n"
    "director_user_expire = 15 min\n"
    "director_username_hash = %Lu\n"
    "ssl_ca = /etc/director/tls/backends.pem\n"
    "ssl_cert = /etc/director/tls/cert.pem\n"
    "ssl_key = /etc/director/tls/key.pem\n"
    "haproxy_trusted_networks = 10.0.0.0/8, 192.168.1.77 fd00::/8\n"
    "\n"
    "listen imap {\n"
    "  address = 10.0.1.1                    # or *\n"
    "  port = 143\n"
    "  tls = starttls                        # no | starttls\n"
    "  haproxy = yes\n"
    "}\n"
    "listen imaps {\n"
    "  protocol = imap                       # defaults to the name\n"
    "  address = 10.0.1.1\n"
    "  port = 993\n"
    "  tls = implicit\n"
    "}\n"
    "listen pop3 {\n"
    "  address = 10.0.1.1 fe80:0::1\n"
    "  port = 110\n"
    "}\n"
    "listen lmtp {\n"
    "  address = ::\n"
    "  port = 24\n"
    "}\n"
    "listen ring {\n"
    "  address = 10.0.1.1\n"
    "  port = 9090\n"
    "}\n"
    "\n"
    "backend {                               # every backend\n"
    "  imap_port = 1143\n"
    "  pop3_port = 1110\n"
    "  lmtp_port = 1024\n"
    "  tls = implicit\n"
    "  ssl_verify = yes\n"
    "  ssl_name = mail.example\n"
    "  connect_timeout = 500 ms\n"
    "  idle_timeout = 1 hour\n"
    "}\n";

static void
test_design_example(void **state)
{
	struct conf *conf = parse(design_example);
	const struct conf_listener *l;

	assert_string_equal(conf->log_level, "debug");
	assert_string_equal(conf->mail_servers,
	    "10.0.0.11 10.0.0.12 10.0.0.20-10.0.0.23@archive");
	assert_string_equal(conf->mail_servers_loc, "t.conf:7");
	assert_int_equal(conf->mail_server_count, 6);
	assert_string_equal(conf->mail_server_entries[5].tag, "archive");
	assert_string_equal(conf->mail_server_entries[0].tag, "");
	assert_string_equal(conf->servers_loc, "t.conf:8");
	assert_string_equal(conf->username_hash_loc, "t.conf:11");
	assert_int_equal(conf->hashing, CONF_HASHING_DOVECOT);
	assert_int_equal(conf->director_server_count, 3);
	assert_string_equal(conf->director_servers[2].address, "10.0.1.3");
	assert_int_equal(conf->director_servers[2].port, 9090);

	assert_int_equal(conf->trusted_network_count, 3);
	assert_int_equal(conf->trusted_networks[0].family, 4);
	assert_int_equal(conf->trusted_networks[0].prefix_len, 8);
	assert_int_equal(conf->trusted_networks[1].prefix_len, 32);
	assert_int_equal(conf->trusted_networks[1].addr[3], 77);
	assert_int_equal(conf->trusted_networks[2].family, 6);
	assert_int_equal(conf->trusted_networks[2].addr[0], 0xfd);

	assert_int_equal(conf->listener_count, 5);
	l = conf_find_listener(conf, "imap");
	assert_int_equal(l->tls, CONF_TLS_STARTTLS);
	assert_true(l->haproxy);
	assert_string_equal(l->addresses[0], "10.0.1.1");
	assert_string_equal(l->loc, "t.conf:17");
	l = conf_find_listener(conf, "imaps");
	assert_int_equal(l->protocol, CONF_PROTOCOL_IMAP);
	assert_int_equal(l->tls, CONF_TLS_IMPLICIT);
	assert_int_equal(l->port, 993);
	l = conf_find_listener(conf, "pop3");
	assert_int_equal(l->address_count, 2);
	assert_string_equal(l->addresses[1], "fe80::1"); /* canonical */
	l = conf_find_listener(conf, "lmtp");
	assert_string_equal(l->addresses[0], "::");
	l = conf_find_listener(conf, "ring");
	assert_int_equal(l->protocol, CONF_PROTOCOL_RING);
	assert_null(conf_find_listener(conf, "sieve"));

	assert_int_equal(conf->backend.imap_port, 1143);
	assert_int_equal(conf->backend.pop3_port, 1110);
	assert_int_equal(conf->backend.lmtp_port, 1024);
	assert_int_equal(conf->backend.tls, CONF_TLS_IMPLICIT);
	assert_true(conf->backend.ssl_verify);
	assert_string_equal(conf->backend.ssl_name, "mail.example");
	assert_int_equal(conf->backend.connect_timeout_ms, 500);
	assert_int_equal(conf->backend.idle_timeout_ms, 3600 * 1000);
	conf_free(&conf);
}

static void
test_admin_settings(void **state)
{
	struct conf *conf =
	    parse("admin_socket_mode = 0660\n"
		  "admin_networks = 127.0.0.0/8, ::1\n" MIN_LISTENER
		  "listen admin {\n  address = 127.0.0.1\n"
		  "  port = 9091\n}\n");
	const struct conf_listener *l = conf_find_listener(conf, "admin");

	(void)state;
	assert_int_equal(conf->admin_socket_mode, 0660);
	assert_int_equal(conf->admin_net_count, 2);
	assert_int_equal(conf->admin_nets[0].prefix_len, 8);
	assert_int_equal(conf->admin_nets[1].family, 6);
	{
		static const uint8_t in[4] = {127, 9, 9, 9},
				     out[4] = {128, 0, 0, 1},
				     v6[16] = {[15] = 1}, v6b[16] = {[15] = 2};

		assert_true(conf_networks_match(
		    conf->admin_nets, conf->admin_net_count, 4, in));
		assert_false(conf_networks_match(
		    conf->admin_nets, conf->admin_net_count, 4, out));
		assert_true(conf_networks_match(
		    conf->admin_nets, conf->admin_net_count, 6, v6));
		assert_false(conf_networks_match(
		    conf->admin_nets, conf->admin_net_count, 6, v6b));
		/* IPv4 bytes never match an IPv6 network and vice versa */
		assert_false(
		    conf_networks_match(conf->admin_nets + 1, 1, 4, in));
	}
	assert_non_null(l);
	assert_int_equal(l->protocol, CONF_PROTOCOL_ADMIN);
	assert_string_equal(conf_protocol_name(l->protocol), "admin");
	conf_free(&conf);
	conf = parse(MIN_LISTENER);
	assert_int_equal(conf->admin_socket_mode, 0600);
	assert_int_equal(conf->admin_net_count, 0);
	conf_free(&conf);
}

static void
test_quoting_and_comments(void **state)
{
	struct conf *conf = parse(
	    "\t# indented comment\r\n"
	    "\r\n"
	    "state_dir = \"/var/lib/a \\\"b\\\" \\\\ # not a comment\"  # c\n"
	    "admin_socket = /run/x#y\n"
	    "pid_file = /run/p.pid\t# tab comment\r\n"
	    "ssl_ca = # only a comment\n"
	    "auth_master_user_separator = \"*\"\n"
	    "director_username_hash=%Ln@%d\n" MIN_LISTENER);

	assert_string_equal(conf->state_dir,
	    "/var/lib/a \"b\" \\ # not a "
	    "comment");
	assert_string_equal(conf->admin_socket, "/run/x#y");
	assert_string_equal(conf->pid_file, "/run/p.pid");
	assert_string_equal(conf->ssl_ca, "");
	assert_string_equal(conf->auth_master_user_separator, "*");
	assert_string_equal(conf->username_hash, "%Ln@%d");
	conf_free(&conf);
}

static void
test_later_value_wins(void **state)
{
	struct conf *conf =
	    parse("director_mail_servers = 10.0.0.1\n"
		  "log_level = error\n"
		  "director_mail_servers = 10.0.0.2\n" MIN_LISTENER);

	assert_string_equal(conf->mail_servers, "10.0.0.2");
	assert_string_equal(conf->mail_servers_loc, "t.conf:3");
	assert_string_equal(conf->log_level, "error");
	conf_free(&conf);
}

static void
test_time_values(void **state)
{
	static const struct {
		const char *in;
		uint64_t ms;
	} ok[] = {
	    {"15 min", 900000},
	    {"2 s", 2000},
	    {"2s", 2000},
	    {"30 secs", 30000},
	    {"1min", 60000},
	    {"500 ms", 500},
	    {"1 hour", 3600000},
	    {"1 day", 86400000},
	    {"1 week", 604800000},
	    {"45", 45000},
	    {"0", 0},
	    {" 3 seconds ", 3000},
	    {"2 mins", 120000},
	    {"1 MIN", 60000},
	    {"7 msecs", 7},
	    {"2 weeks", 1209600000},
	};
	static const char *const bad[] = {
	    "",
	    "min",
	    "-1 s",
	    "1.5 s",
	    "1 fortnight",
	    "1 s 2",
	    "99999999999999999999",
	    "10000000000000000 weeks",
	    "1 m s",
	};
	uint64_t ms;
	size_t i;

	for (i = 0; i < nitems(ok); i++) {
		ms = 1;
		if (conf_parse_time(ok[i].in, &ms) != 0)
			fail_msg("'%s' rejected", ok[i].in);
		assert_int_equal(ms, ok[i].ms);
	}
	for (i = 0; i < nitems(bad); i++) {
		ms = 12345;
		if (conf_parse_time(bad[i], &ms) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ms, 12345);
	}
}

static void
test_size_values(void **state)
{
	static const struct {
		const char *in;
		uint64_t bytes;
	} ok[] = {
	    {"10M", 10485760},
	    {"10 MB", 10485760},
	    {"64k", 65536},
	    {"1G", 1073741824},
	    {"1 T", 1099511627776ULL},
	    {"123", 123},
	    {"5 B", 5},
	    {"2 KiB", 2048},
	    {"3 kb", 3072},
	};
	static const char *const bad[] = {
	    "",
	    "M",
	    "10 X",
	    "-1",
	    "1.5M",
	    "20000000 T",
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < nitems(ok); i++) {
		if (conf_parse_size(ok[i].in, &v) != 0)
			fail_msg("'%s' rejected", ok[i].in);
		assert_int_equal(v, ok[i].bytes);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (conf_parse_size(bad[i], &v) != -1)
			fail_msg("'%s' accepted", bad[i]);
	}
}

static void
test_bool_and_port_values(void **state)
{
	uint16_t port;
	bool b;

	assert_int_equal(conf_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("TRUE", &b), 0);
	assert_true(b);
	assert_int_equal(conf_parse_bool("no", &b), 0);
	assert_false(b);
	assert_int_equal(conf_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(conf_parse_bool("1", &b), -1);
	assert_int_equal(conf_parse_bool("", &b), -1);

	assert_int_equal(conf_parse_port("1", &port), 0);
	assert_int_equal(port, 1);
	assert_int_equal(conf_parse_port("65535", &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(conf_parse_port("0", &port), -1);
	assert_int_equal(conf_parse_port("65536", &port), -1);
	assert_int_equal(conf_parse_port("70000", &port), -1);
	assert_int_equal(conf_parse_port("+80", &port), -1);
	assert_int_equal(conf_parse_port(" 80", &port), -1);
	assert_int_equal(conf_parse_port("000080", &port), -1);
	assert_int_equal(conf_parse_port("", &port), -1);
}

/* auth_mechanisms: Dovecot's default, any case and separator, errors
 * that name the line. */
static void
test_auth_mechanisms(void **state)
{
	struct conf *conf = parse(MIN_LISTENER);

	assert_string_equal(conf->auth_mechanisms, "plain login");
	assert_int_equal(conf->auth_mechs, SASL_MECHS_DEFAULT);
	conf_free(&conf);
	conf =
	    parse("auth_mechanisms = PLAIN oauthbearer,xoauth2\n" MIN_LISTENER);
	assert_int_equal(conf->auth_mechs,
	    SASL_MECH_BIT(SASL_MECH_PLAIN) |
		SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
		SASL_MECH_BIT(SASL_MECH_XOAUTH2));
	conf_free(&conf);
	expect_error("auth_mechanisms = plain cram-md5\n" MIN_LISTENER,
	    "t.conf:1: auth_mechanisms: unknown mechanism 'cram-md5'");
	expect_error("log_level = info\nauth_mechanisms = ,\n" MIN_LISTENER,
	    "t.conf:2: auth_mechanisms: no mechanism");
}

static void
test_zero_copy(void **state)
{
	struct conf *conf = parse(MIN_LISTENER);

	assert_true(conf->zero_copy);
	assert_int_equal(conf->zero_copy_pipes, 256);
	conf_free(&conf);
	conf = parse("zero_copy = no\nzero_copy_pipes = 4\n" MIN_LISTENER);
	assert_false(conf->zero_copy);
	assert_int_equal(conf->zero_copy_pipes, 4);
	conf_free(&conf);
	expect_error("zero_copy_pipes = 0\n" MIN_LISTENER,
	    "t.conf:1: invalid zero_copy_pipes '0': too small");
}

static void
test_workers(void **state)
{
	struct conf *conf = parse(MIN_LISTENER);

	assert_string_equal(conf->workers, "1");
	assert_int_equal(conf->worker_count, 1);
	conf_free(&conf);
	conf = parse("workers = 3\n" MIN_LISTENER);
	assert_int_equal(conf->worker_count, 3);
	conf_free(&conf);
	conf = parse("workers = auto\n" MIN_LISTENER);
	assert_true(
	    conf->worker_count >= 1 && conf->worker_count <= CONF_WORKERS_MAX);
	assert_int_equal(conf->worker_count,
	    MIN_OF(
		(unsigned int)sysconf(_SC_NPROCESSORS_ONLN), CONF_WORKERS_MAX));
	conf_free(&conf);
	expect_error("workers = 0\n" MIN_LISTENER,
	    "t.conf:1: workers: '0' is not auto or a number from 1 to 64");
	expect_error("log_level = info\nworkers = many\n" MIN_LISTENER,
	    "t.conf:2: workers: 'many' is not auto");
}

static void
test_syntax_errors(void **state)
{
	expect_error("log_level = info\nno_such = 1\n" MIN_LISTENER,
	    "t.conf:2: unknown setting 'no_such'");
	expect_error(MIN_LISTENER "listen pop3 {\n  port = 110\n",
	    "t.conf:4: block 'listen pop3' is not closed");
	expect_error(MIN_LISTENER "}\n", "t.conf:4: '}' without an open");
	expect_error(
	    "listen imap { port = 143 }\n", "t.conf:1: text after '{'");
	expect_error("state_dir = \"/a\n" MIN_LISTENER,
	    "t.conf:1: unterminated quoted value");
	expect_error("state_dir = \"/a\" b\n" MIN_LISTENER,
	    "t.conf:1: text after the closing quote");
	expect_error(MIN_LISTENER "just words here\n",
	    "t.conf:4: expected '=' or '{' after 'just'");
	expect_error("= 3\n", "t.conf:1: syntax error");
	expect_error("!inklude x\n", "t.conf:1: unknown directive");
	expect_error("!include\n", "t.conf:1: !include needs a file name");
	expect_error(MIN_LISTENER "} # x\n", "t.conf:4: '}' without");
	expect_error(MIN_LISTENER "backend {\n} x\n", "t.conf:5: text after");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = MIN_LISTENER "user = a\0b\n";
	struct conf *conf;
	char *error = NULL;

	conf = conf_parse_buffer("t.conf", text, sizeof(text) - 1, 0, &error);
	assert_null(conf);
	assert_string_equal(error, "t.conf:4: NUL byte in the file");
	free(error);
}

static void
test_value_errors(void **state)
{
	expect_error("state_dir = var/lib\n" MIN_LISTENER,
	    "t.conf:1: state_dir must be an absolute path, not 'var/lib'");
	expect_error("pid_file =\n" MIN_LISTENER,
	    "t.conf:1: pid_file must not be empty");
	expect_error(
	    "user = \"\"\n" MIN_LISTENER, "t.conf:1: user must not be empty");
	expect_error("ssl_cert = cert.pem\n" MIN_LISTENER,
	    "t.conf:1: ssl_cert must be an absolute path");
	expect_error("log_level = loud\n" MIN_LISTENER,
	    "t.conf:1: invalid log_level 'loud'");
	expect_error("director_hashing = md5\n" MIN_LISTENER,
	    "t.conf:1: invalid director_hashing 'md5' (expected rendezvous | "
	    "dovecot)");
	expect_error("director_user_expire = 9 s\n" MIN_LISTENER,
	    "t.conf:1: director_user_expire must be at least");
	expect_error("director_user_expire = soon\n" MIN_LISTENER,
	    "t.conf:1: invalid director_user_expire 'soon'");
	expect_error("director_output_buffer_size = lots\n" MIN_LISTENER,
	    "t.conf:1: invalid director_output_buffer_size");
	expect_error("director_max_parallel_moves = 0\n" MIN_LISTENER,
	    "t.conf:1: invalid director_max_parallel_moves '0'");
	expect_error("max_connections = 12x\n" MIN_LISTENER,
	    "t.conf:1: invalid max_connections '12x'");
	expect_error("max_connections_per_ip_ipv6_prefix = 0\n" MIN_LISTENER,
	    "t.conf:1: invalid max_connections_per_ip_ipv6_prefix '0'");
	expect_error("max_connections_per_ip_ipv6_prefix = 129\n" MIN_LISTENER,
	    "t.conf:1: invalid max_connections_per_ip_ipv6_prefix '129'");
	expect_error("ssl_min_protocol = SSLv3\n" MIN_LISTENER,
	    "t.conf:1: invalid ssl_min_protocol");
	expect_error("haproxy_trusted_networks = 10.0.0.0/33\n" MIN_LISTENER,
	    "t.conf:1: haproxy_trusted_networks: invalid network "
	    "'10.0.0.0/33'");
	expect_error("haproxy_trusted_networks = example.com\n" MIN_LISTENER,
	    "t.conf:1: haproxy_trusted_networks: invalid network");
	expect_error("admin_networks = 127.0.0.1 ::1/129\n" MIN_LISTENER,
	    "t.conf:1: admin_networks: invalid network '::1/129'");
	expect_error("admin_socket_mode = 0680\n" MIN_LISTENER,
	    "t.conf:1: invalid admin_socket_mode '0680'");
	expect_error("admin_socket_mode = 01777\n" MIN_LISTENER,
	    "t.conf:1: invalid admin_socket_mode '01777'");
	expect_error(MIN_LISTENER "listen admin {\n  port = 9091\n}\n",
	    "t.conf:4: listen admin: an admin TCP listener requires "
	    "admin_networks");
	expect_error("admin_networks = 127.0.0.0/8\n" MIN_LISTENER
		     "listen admin {\n  port = 9091\n  haproxy = yes\n}\n",
	    "t.conf:5: listen admin: the admin protocol has no TLS");
	expect_error(
	    "\ndirector_mail_servers = 10.0.0.1 10.0.0.300\n" MIN_LISTENER,
	    "t.conf:2: director_mail_servers: ");
	expect_error("director_mail_servers = 10.0.0.9-10.0.0.1\n" MIN_LISTENER,
	    "t.conf:1: director_mail_servers: ");
	expect_error("disable_plaintext_auth = sometimes\n" MIN_LISTENER,
	    "t.conf:1: invalid disable_plaintext_auth");
	expect_error("director_username_hash = %Lx\n" MIN_LISTENER,
	    "t.conf:1: director_username_hash: ");
	expect_error("listen imap {\n  port = 70000\n}\n",
	    "t.conf:2: invalid port '70000'");
	expect_error("listen imap {\n  port = 143\n  tls = maybe\n}\n",
	    "t.conf:3: invalid tls 'maybe' (expected no | starttls | "
	    "implicit)");
	expect_error("listen imap {\n  port = 143\n  haproxy = perhaps\n}\n",
	    "t.conf:3: invalid haproxy 'perhaps'");
	expect_error(
	    "listen imap {\n  port = 143\n  address = mail.example\n}\n",
	    "t.conf:3: address: 'mail.example' is not an IP address");
	expect_error("listen imap {\n  port = 143\n  address =\n}\n",
	    "t.conf:3: address: empty address list");
	expect_error("listen imap {\n  port = 143\n"
		     "  address = 10.0.0.1 10.0.0.1\n}\n",
	    "t.conf:3: address: '10.0.0.1' is listed twice");
	expect_error("listen imap {\n  port = 143\n  protocol = smtp\n}\n",
	    "t.conf:3: invalid protocol 'smtp'");
	expect_error(MIN_LISTENER "backend {\n  imap_port = 0\n}\n",
	    "t.conf:5: invalid imap_port '0'");
	expect_error(MIN_LISTENER "backend {\n  connect_timeout = x\n}\n",
	    "t.conf:5: invalid connect_timeout");
	/* any certificate of the system store would pass (issue #13) */
	expect_error(MIN_LISTENER "backend {\n  tls = starttls\n"
				  "  ssl_verify = yes\n}\n",
	    "t.conf:6: ssl_verify = yes requires ssl_ca");
}

static void
test_block_errors(void **state)
{
	expect_error(
	    "port = 143\n" MIN_LISTENER, "t.conf:1: unknown setting 'port'");
	expect_error("listen imap {\n  user = x\n}\n",
	    "t.conf:2: unknown setting 'user' in a listen block");
	expect_error(MIN_LISTENER "backend {\n  port = 1\n}\n",
	    "t.conf:5: unknown setting 'port' in the backend block");
	expect_error(
	    "service imap {\n}\n", "t.conf:1: unknown block 'service'");
	expect_error("listen {\n}\n", "t.conf:1: a listen block needs a name");
	expect_error(MIN_LISTENER "backend x {\n}\n",
	    "t.conf:4: the backend block takes no name");
	expect_error(MIN_LISTENER "backend {\n}\nbackend {\n}\n",
	    "t.conf:6: duplicate backend block (first at t.conf:4)");
	expect_error(MIN_LISTENER "listen imap {\n  port = 144\n}\n",
	    "t.conf:4: duplicate listener 'imap' (first at t.conf:1)");
	expect_error("listen imap {\n  port = 143\n  backend {\n  }\n}\n",
	    "t.conf:3: 'backend' block inside another block");
}

static void
test_listener_validation(void **state)
{
	expect_error(
	    "listen imap {\n}\n", "t.conf:1: listen imap: port is missing");
	expect_error(MIN_LISTENER "listen imaps {\n  port = 993\n}\n",
	    "t.conf:4: listen imaps: protocol is missing");
	expect_error("listen imaps {\n  port = 993\n  tls = implicit\n"
		     "  protocol = imap\n}\n",
	    "t.conf:1: listen imaps: tls = implicit requires ssl_cert and "
	    "ssl_key");
	expect_error("ssl_cert = /c\nssl_key = /k\n"
		     "listen ring {\n  port = 9090\n  tls = starttls\n}\n",
	    "t.conf:3: listen ring: tls = starttls on the ring requires "
	    "ssl_ca");
	expect_error("ssl_cert = /c\nssl_key = /k\nssl_ca = /a\n"
		     "listen ring {\n  port = 9090\n  tls = implicit\n}\n",
	    "t.conf:4: listen ring: ring links negotiate TLS in the ring "
	    "protocol: use tls = starttls");
	expect_error("haproxy_trusted_networks = 10.0.0.0/8\n"
		     "listen ring {\n  port = 9090\n  haproxy = yes\n}\n",
	    "t.conf:2: listen ring: haproxy is not supported");
	expect_error("listen imap {\n  port = 143\n  haproxy = yes\n}\n",
	    "t.conf:1: listen imap: haproxy = yes requires "
	    "haproxy_trusted_networks");
	expect_error("listen ring {\n  port = 9090\n}\n"
		     "listen ring2 {\n  protocol = ring\n  port = 9091\n}\n",
	    "t.conf:4: listen ring2: a second ring listener (first: ring at "
	    "t.conf:1)");
	expect_error(MIN_LISTENER "listen imap2 {\n  protocol = imap\n"
				  "  port = 143\n}\n",
	    "t.conf:4: listen imap2: * port 143 is also used by listen imap "
	    "at t.conf:1");
	expect_error("# nothing\nuser = x\n", "t.conf:2: no listen block");
	expect_error("ssl_cert = /c\n" MIN_LISTENER,
	    "t.conf:1: ssl_cert is set but ssl_key is not");
	expect_error(MIN_LISTENER "ssl_key = /k\n",
	    "t.conf:4: ssl_key is set but ssl_cert is not");
}

static void
test_listener_ok_variants(void **state)
{
	struct conf *conf =
	    parse("ssl_cert = /c\nssl_key = /k\n"
		  "listen imap {\n  port = 143\n  tls = starttls\n}\n"
		  "listen imap6 {\n  protocol = imap\n  address = ::1\n"
		  "  port = 143\n}\n"
		  "listen submission-ish {\n  protocol = pop3\n  port = 995\n"
		  "  tls = implicit\n}\n");

	assert_int_equal(conf->listener_count, 3);
	assert_int_equal(
	    conf_find_listener(conf, "imap6")->protocol, CONF_PROTOCOL_IMAP);
	assert_int_equal(conf_find_listener(conf, "submission-ish")->protocol,
	    CONF_PROTOCOL_POP3);
	conf_free(&conf);
}

static void
test_director_servers(void **state)
{
	struct conf *conf =
	    parse("director_servers = 10.0.1.1 10.0.1.2:9091 [fd00::1]:9092 "
		  "fd00::2 10.0.1.1:9090 [fd00::3]\n"
		  "listen ring {\n  port = 9090\n}\n");

	assert_int_equal(conf->director_server_count, 5); /* one dup */
	assert_string_equal(conf->director_servers[0].address, "10.0.1.1");
	assert_int_equal(conf->director_servers[0].port, 9090);
	assert_string_equal(conf->director_servers[1].address, "10.0.1.2");
	assert_int_equal(conf->director_servers[1].port, 9091);
	assert_string_equal(conf->director_servers[2].address, "fd00::1");
	assert_int_equal(conf->director_servers[2].port, 9092);
	assert_string_equal(conf->director_servers[3].address, "fd00::2");
	assert_int_equal(conf->director_servers[3].port, 9090);
	assert_string_equal(conf->director_servers[4].address, "fd00::3");
	assert_int_equal(conf->director_servers[4].port, 9090);
	assert_string_equal(conf->servers_loc, "t.conf:1");
	conf_free(&conf);

	expect_error("director_servers = 10.0.1.1\n" MIN_LISTENER,
	    "t.conf:1: director_servers is set but there is no ring "
	    "listener");
	expect_error("\ndirector_servers = 10.0.1.1 dir2.example\n"
		     "listen ring {\n  port = 9090\n}\n",
	    "t.conf:2: director_servers: invalid entry 'dir2.example'");
	expect_error("director_servers = 10.0.1.1:0\n"
		     "listen ring {\n  port = 9090\n}\n",
	    "t.conf:1: director_servers: invalid entry '10.0.1.1:0'");
	expect_error("director_servers = [fd00::1\n"
		     "listen ring {\n  port = 9090\n}\n",
	    "t.conf:1: director_servers: invalid entry");

	/* a ring needs users to outlive a move and a paused director */
	expect_error("director_servers = 10.0.1.1 10.0.1.2\n"
		     "director_user_expire = 30 s\n"
		     "listen ring {\n  port = 9090\n}\n",
	    "t.conf:2: director_user_expire must be at least 60 s in a ring");
	expect_error("director_servers = 10.0.1.1 10.0.1.2\n"
		     "director_user_expire = 90 s\n"
		     "director_ping_idle_timeout = 30 s\n"
		     "listen ring {\n  port = 9090\n}\n",
	    "t.conf:2: director_user_expire must be at least 120 s in a ring");
	/* the default expiry, too short for a long ping timeout: the
	 * timeout's line (once "?", found by fuzz_conf) */
	expect_error("director_servers = 10.0.1.1 10.0.1.2\n"
		     "\n"
		     "director_ping_idle_timeout = 30 w\n"
		     "listen ring {\n  port = 9090\n}\n",
	    "t.conf:3: director_user_expire must be at least 72576000 s");
	conf = parse("director_servers = 10.0.1.1 10.0.1.2\n"
		     "director_user_expire = 60 s\n"
		     "listen ring {\n  port = 9090\n}\n");
	assert_int_equal(conf->user_expire_ms, 60000);
	conf_free(&conf);
	/* alone, Dovecot's 10 s limit */
	conf = parse("director_user_expire = 10 s\n" MIN_LISTENER);
	assert_int_equal(conf->user_expire_ms, 10000);
	conf_free(&conf);
}

static void
test_trusted_network_masking(void **state)
{
	struct conf *conf =
	    parse("haproxy_trusted_networks = 10.1.2.3/12\n" MIN_LISTENER);

	assert_int_equal(conf->trusted_networks[0].addr[0], 10);
	assert_int_equal(conf->trusted_networks[0].addr[1], 0);
	assert_int_equal(conf->trusted_networks[0].addr[2], 0);
	assert_int_equal(conf->trusted_networks[0].addr[3], 0);
	assert_string_equal(conf->haproxy_trusted_networks, "10.1.2.3/12");
	conf_free(&conf);
}

static void
test_listeners_equal(void **state)
{
	struct conf *a = parse(MIN_LISTENER "listen pop3 {\n  port = 110\n}\n");
	struct conf *b = parse("listen pop3 {\n  port = 110\n}\n"
			       "log_level = debug\n" MIN_LISTENER);
	struct conf *c = parse(MIN_LISTENER "listen pop3 {\n  port = 111\n}\n");
	struct conf *d = parse(MIN_LISTENER);

	assert_true(conf_listeners_equal(a, b));
	assert_false(conf_listeners_equal(a, c));
	assert_false(conf_listeners_equal(a, d));
	assert_false(conf_listeners_equal(d, a));
	conf_free(&a);
	conf_free(&b);
	conf_free(&c);
	conf_free(&d);
}

/* Parses old and new, runs conf_reload_check() and returns its message
 * (NULL: the reload may go ahead). */
static char *
reload_error(const char *old_text, const char *new_text)
{
	struct conf *old = parse(old_text), *new = parse(new_text);
	char *error = NULL;
	int ret;

	ret = conf_reload_check(old, new, &error);
	assert_int_equal(ret, error != NULL ? -1 : 0);
	conf_free(&old);
	conf_free(&new);
	return error;
}

static void
test_reload_check_allows(void **state)
{
	/* settings that may change on reload, and restart-only settings
	 * written differently but with the same value */
	assert_null(reload_error(MIN_LISTENER,
	    "log_level = debug\n"
	    "director_mail_servers = 10.0.0.1\n"
	    "director_user_kick_delay = 5s\n"
	    "director_username_hash = %Lu\n"
	    "director_hashing = RENDEZVOUS\n"
	    "director_user_expire = 15 min\n" MIN_LISTENER));
	assert_null(reload_error("auth_master_user_separator = *\n"
				 "director_user_expire = 900s\n" MIN_LISTENER,
	    "auth_master_user_separator = *\n" MIN_LISTENER));
}

static void
test_reload_check_refuses(void **state)
{
	char *error;

	error = reload_error("director_username_hash = %Lu\n" MIN_LISTENER,
	    "\ndirector_username_hash = %Ln\n" MIN_LISTENER);
	assert_string_equal(error,
	    "t.conf:2: director_username_hash changed from '%Lu' to '%Ln', "
	    "which needs a restart");
	free(error);
	error = reload_error(
	    MIN_LISTENER, "auth_master_user_separator = *\n" MIN_LISTENER);
	assert_string_equal(error,
	    "t.conf: auth_master_user_separator changed from '' to '*', "
	    "which needs a restart");
	free(error);
	error = reload_error(
	    MIN_LISTENER, "director_hashing = dovecot\n" MIN_LISTENER);
	assert_string_equal(error,
	    "t.conf: director_hashing changed from rendezvous to dovecot, "
	    "which needs a restart");
	free(error);
	/* the per-IP table holds prefixes of the old length */
	error = reload_error(MIN_LISTENER,
	    "max_connections_per_ip_ipv6_prefix = 56\n" MIN_LISTENER);
	assert_string_equal(error,
	    "t.conf: max_connections_per_ip_ipv6_prefix changed from 64 to "
	    "56, which needs a restart");
	free(error);
	error = reload_error(
	    MIN_LISTENER, "director_user_expire = 1 hour\n" MIN_LISTENER);
	assert_string_equal(error,
	    "t.conf: director_user_expire changed from 900000 ms to "
	    "3600000 ms, which needs a restart");
	free(error);
	/* every change is named, in the order of the settings table */
	error = reload_error(MIN_LISTENER,
	    "auth_master_user_separator = +\n"
	    "director_username_hash = %Uu\n"
	    "director_hashing = dovecot\n" MIN_LISTENER);
	assert_string_equal(error,
	    "t.conf: director_hashing changed from rendezvous to dovecot, "
	    "which needs a restart; "
	    "t.conf:2: director_username_hash changed from '%Lu' to '%Uu', "
	    "which needs a restart; "
	    "t.conf: auth_master_user_separator changed from '' to '+', "
	    "which needs a restart");
	free(error);
}

static void
test_names(void **state)
{
	assert_string_equal(conf_protocol_name(CONF_PROTOCOL_LMTP), "lmtp");
	assert_string_equal(conf_tls_name(CONF_TLS_STARTTLS), "starttls");
	assert_string_equal(conf_hashing_name(CONF_HASHING_DOVECOT), "dovecot");
}

/* Temporary directory helpers for the !include tests. */
static char tmpdir[64];

static int
setup_tmpdir(void **state)
{
	strlcpy(tmpdir, "/tmp/test_conf.XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmpdir(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int ret = system(cmd);

	free(cmd);
	return ret == 0 ? 0 : -1;
}

static char *
write_file(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static char *
load_error(const char *path)
{
	struct conf *conf;
	char *error = NULL;

	conf = conf_load_file(path, &error);
	if (conf != NULL) {
		conf_free(&conf);
		fail_msg("%s parsed without error", path);
	}
	return error;
}

static void
test_include(void **state)
{
	char *inc, *main_path, *want, *error;
	struct conf *conf;

	inc = write_file("inc.conf",
	    "log_level = debug\n"
	    "listen pop3 {\n  port = 110\n}\n");
	main_path = write_file("main.conf",
	    "log_level = error\n"
	    "!include inc.conf\n"
	    "!include_try missing.conf\n"
	    "listen imap {\n"
	    "  !include imap-port.conf\n"
	    "}\n");
	free(write_file("imap-port.conf", "port = 1143\n"));
	conf = conf_load_file(main_path, &error);
	if (conf == NULL)
		fail_msg("%s", error);
	assert_string_equal(conf->log_level, "debug");
	assert_int_equal(conf->listener_count, 2);
	want = xasprintf("%s:2", inc);
	assert_string_equal(conf_find_listener(conf, "pop3")->loc, want);
	assert_int_equal(conf_find_listener(conf, "imap")->port, 1143);
	conf_free(&conf);
	free(want);
	free(inc);
	free(main_path);
}

static void
test_include_errors(void **state)
{
	char *inc, *main_path, *want, *error;

	/* an error inside an included file names that file */
	inc = write_file("bad.conf", "# included\nno_such_setting = 2\n");
	main_path =
	    write_file("main2.conf", MIN_LISTENER "!include bad.conf\n");
	error = load_error(main_path);
	want = xasprintf("%s:2: unknown setting", inc);
	assert_memory_equal(error, want, strlen(want));
	free(error);
	free(want);
	free(inc);
	free(main_path);

	/* a missing !include names the including line */
	main_path = write_file("main3.conf", MIN_LISTENER "\n!include nope\n");
	error = load_error(main_path);
	want = xasprintf(
	    "%s:5: !include %s/nope: No such file", main_path, tmpdir);
	assert_memory_equal(error, want, strlen(want));
	free(error);
	free(want);
	free(main_path);

	/* a block must be closed in the file that opened it */
	inc = write_file("open.conf", "\nlisten pop3 {\n  port = 110\n");
	main_path = write_file("main4.conf",
	    MIN_LISTENER "!include open.conf\n"
			 "}\n");
	error = load_error(main_path);
	want = xasprintf("%s:2: block 'listen pop3' is not closed", inc);
	assert_string_equal(error, want);
	free(error);
	free(want);
	free(inc);
	free(main_path);

	/* an include loop stops at the depth limit */
	main_path = write_file("loop.conf", "# loop\n!include loop.conf\n");
	error = load_error(main_path);
	assert_non_null(strstr(error, "nested more than"));
	want = xasprintf("%s:2: !include loop.conf: nested", main_path);
	assert_memory_equal(error, want, strlen(want));
	free(error);
	free(want);
	free(main_path);

	/* !include_try still fails on a directory */
	main_path = write_file("main5.conf", MIN_LISTENER "!include_try .\n");
	error = load_error(main_path);
	assert_non_null(strstr(error, ":4: !include"));
	free(error);
	free(main_path);

	/* the top file itself */
	want = xasprintf("%s/absent.conf", tmpdir);
	error = load_error(want);
	assert_non_null(strstr(error, want));
	free(error);
	free(want);
}

/* Writes MIN_LISTENER padded with comment lines to exactly size bytes. */
static char *
write_sized_file(const char *name, size_t size)
{
	char *text = xmalloc(size + 1), *path;
	size_t i, head = strlen(MIN_LISTENER);

	memcpy(text, MIN_LISTENER, head);
	for (i = head; i < size; i++) {
		if (text[i - 1] == '\n')
			text[i] = '#';
		else
			text[i] = i % 64 == 63 ? '\n' : 'x';
	}
	text[size] = '\0';
	path = write_file(name, text);
	free(text);
	return path;
}

/* Counts the bytes of path by reading them; 0 if it cannot be read. */
static size_t
file_length(const char *path)
{
	FILE *f = fopen(path, "r");
	char chunk[65536];
	size_t n, total = 0;

	if (f == NULL)
		return 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		total += n;
	fclose(f);
	return total;
}

static void
test_file_size_limit(void **state)
{
	struct conf *conf;
	char *path, *buf, *error = NULL, *want;
	size_t len;

	/* exactly CONF_FILE_SIZE_MAX bytes: read whole and parsed */
	path = write_sized_file("max.conf", CONF_FILE_SIZE_MAX);
	assert_int_equal(conf_syntax_read_file(path, &buf, &len), 0);
	assert_int_equal(len, CONF_FILE_SIZE_MAX);
	assert_int_equal(buf[len], '\0');
	free(buf);
	conf = conf_load_file(path, &error);
	if (conf == NULL)
		fail_msg("%s", error);
	assert_int_equal(conf->listener_count, 1);
	conf_free(&conf);
	free(path);

	/* one byte more is refused */
	path = write_sized_file("over.conf", CONF_FILE_SIZE_MAX + 1);
	errno = 0;
	assert_int_equal(conf_syntax_read_file(path, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	error = load_error(path);
	want = xasprintf("%s: cannot read: %s", path, strerror(EFBIG));
	assert_string_equal(error, want);
	free(want);
	free(error);
	free(path);

	/* an empty file */
	path = write_file("empty.conf", "");
	assert_int_equal(conf_syntax_read_file(path, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	free(buf);
	free(path);

	/*
	 * Files longer than fstat() said (procfs reports size 0, as a file
	 * growing after fstat() would): read to the end, up to the limit.
	 */
	if (access("/proc/self/status", R_OK) == 0) {
		assert_int_equal(
		    conf_syntax_read_file("/proc/self/status", &buf, &len), 0);
		assert_true(len > 0 && strlen(buf) == len);
		assert_memory_equal(buf, "Name:", 5);
		free(buf);
	}
	/* /proc/kallsyms is a few MiB on most kernels */
	len = file_length("/proc/kallsyms");
	if (len > CONF_FILE_SIZE_MAX) {
		errno = 0;
		assert_int_equal(
		    conf_syntax_read_file("/proc/kallsyms", &buf, &len), -1);
		assert_int_equal(errno, EFBIG);
	}
}

static void
test_no_include_flag(void **state)
{
	static const char text[] = MIN_LISTENER "!include_try /etc/passwd\n";
	struct conf *conf;
	char *error = NULL;

	conf = conf_parse_buffer(
	    "t.conf", text, strlen(text), CONF_PARSE_NO_INCLUDE, &error);
	assert_null(conf);
	assert_string_equal(error, "t.conf:4: !include is not allowed here");
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_design_example),
	    cmocka_unit_test(test_quoting_and_comments),
	    cmocka_unit_test(test_admin_settings),
	    cmocka_unit_test(test_later_value_wins),
	    cmocka_unit_test(test_time_values),
	    cmocka_unit_test(test_size_values),
	    cmocka_unit_test(test_bool_and_port_values),
	    cmocka_unit_test(test_auth_mechanisms),
	    cmocka_unit_test(test_zero_copy),
	    cmocka_unit_test(test_workers),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_value_errors),
	    cmocka_unit_test(test_block_errors),
	    cmocka_unit_test(test_listener_validation),
	    cmocka_unit_test(test_listener_ok_variants),
	    cmocka_unit_test(test_director_servers),
	    cmocka_unit_test(test_trusted_network_masking),
	    cmocka_unit_test(test_listeners_equal),
	    cmocka_unit_test(test_reload_check_allows),
	    cmocka_unit_test(test_reload_check_refuses),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_include_errors),
	    cmocka_unit_test(test_no_include_flag),
	    cmocka_unit_test(test_file_size_limit),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}

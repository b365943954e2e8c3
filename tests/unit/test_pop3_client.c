/*
 * test_pop3_client.c - the pre-login POP3 server.  Every scenario is run
 * twice, fed whole and one byte at a time, and both transcripts (output,
 * actions, credentials) must be identical to each other and to the
 * expected text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "pop3_client.h"
#include "proto.h"
#include "sasl.h"

#define TRANSCRIPT_MAX 65536
#include "transcript.h"

/* How the fake shell answers PROTO_ACT_LOGIN, in turn. */
static const enum proto_login_status *login_results;
static const char *const *login_texts;

/* Plays the shell: feeds in (chunk bytes at a time), moves output into
 * the transcript and marks actions as "<ACTION>" lines. */
static void
drive(const struct pop3_client_settings *set, const char *in, size_t len,
    size_t chunk, struct transcript *t)
{
	struct pop3_client *c = pop3_client_new(set);
	struct buf *out = pop3_client_output(c);
	const struct proto_creds *creds;
	enum proto_action act;
	size_t pos = 0, n, used;
	unsigned int logins = 0;

	t->len = 0;
	t->text[0] = '\0';
	pop3_client_greeting(c);
	while (pos < len) {
		n = MIN_OF(chunk, len - pos);
		used = pop3_client_input(c, in + pos, n, &act);
		assert_true(used <= n);
		pos += used;
		transcript_add(t, out->data != NULL ? out->data : "", out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_CLOSE) {
			transcript_printf(t, "<CLOSE>");
			/* closed for good: nothing more is consumed */
			assert_int_equal(
			    pop3_client_input(c, "NOOP\r\n", 6, &act), 0);
			assert_int_equal(act, PROTO_ACT_CLOSE);
			assert_int_equal(out->len, 0);
			break;
		}
		if (act == PROTO_ACT_STARTTLS) {
			/* the rest up to the marker "<TLS>" is discarded */
			const char *m = memmem(in + pos, len - pos, "<TLS>", 5);

			transcript_printf(t, "<STARTTLS@%zu>", pos);
			pos = m != NULL ? (size_t)(m - in) + 5 : len;
			pop3_client_tls_started(c);
			continue;
		}
		if (act == PROTO_ACT_LOGIN) {
			creds = pop3_client_creds(c);
			assert_non_null(creds);
			transcript_printf(t, "<LOGIN %d [%s] [%s] [%.*s]>",
			    (int)creds->kind, creds->authzid, creds->authcid,
			    (int)creds->password_len, creds->password);
			pop3_client_login_result(c,
			    login_results != NULL ? login_results[logins]
						  : PROTO_LOGIN_OK,
			    login_texts != NULL ? login_texts[logins] : NULL);
			assert_null(pop3_client_creds(c));
			logins++;
			transcript_add(t, out->data, out->len);
			buf_consume(out, out->len);
			continue;
		}
		if (used == 0)
			break;
	}
	/* anything not consumed is reported */
	if (pos < len)
		transcript_printf(t, "<LEFT %zu>", len - pos);
	pop3_client_free(&c);
	assert_null(c);
}

/* Feeds in[0..len) whole and one byte at a time; both transcripts must
 * equal expect.  Lengths are explicit so NUL bytes are really fed. */
static void
check_len(const struct pop3_client_settings *set, const char *in, size_t len,
    const char *expect)
{
	static struct transcript whole, bytes;

	drive(set, in, len, len, &whole);
	drive(set, in, len, 1, &bytes);
	assert_string_equal(whole.text, bytes.text);
	assert_string_equal(whole.text, expect);
}

/* check_len() of a string literal (the "" refuses a pointer). */
#define check(set, lit, expect)                                                \
	check_len(set, "" lit "", sizeof(lit) - 1, expect)

static const struct pop3_client_settings set_plain = {
    .greeting = "ready",
    .allow_plaintext_auth = true,
};
static const struct pop3_client_settings set_stls = {
    .starttls = true,
};

#define CAPA_HEAD                                                              \
	"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"           \
	"AUTH-RESP-CODE\r\n"

static void
test_capa(void **state)
{
	check(&set_plain, "CAPA\r\ncapa\n",
	    "+OK ready\r\n" CAPA_HEAD
	    "USER\r\nSASL PLAIN LOGIN\r\n.\r\n" CAPA_HEAD
	    "USER\r\nSASL PLAIN LOGIN\r\n.\r\n");
	check(&set_stls, "CAPA\r\n",
	    "+OK Director ready.\r\n" CAPA_HEAD "STLS\r\n.\r\n");
}

static void
test_noop_quit(void **state)
{
	check(&set_plain, "NOOP\r\n\r\nQUIT\r\nNOOP\r\n",
	    "+OK ready\r\n+OK\r\n+OK Logging out\r\n<CLOSE><LEFT 6>");
}

static void
test_user_pass(void **state)
{
	check(&set_plain, "USER bob\r\nPASS my secret \r\nRETR 1\r\n",
	    "+OK ready\r\n+OK\r\n<LOGIN 0 [] [bob] [my secret ]>"
	    "+OK Logged in.\r\n<LEFT 8>");
	check(&set_plain, "PASS x\r\nuser a\r\npass \r\n",
	    "+OK ready\r\n-ERR No username given.\r\n+OK\r\n"
	    "<LOGIN 0 [] [a] []>+OK Logged in.\r\n");
	check(&set_plain, "USER\r\nUSER a\r\nPASS\r\n",
	    "+OK ready\r\n-ERR Missing username.\r\n+OK\r\n"
	    "-ERR Missing password.\r\n");
}

static void
test_login_results(void **state)
{
	static const enum proto_login_status res[] = {
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_OK,
	};
	static const char *const texts[] = {
	    "[AUTH] Authentication failed.",
	    "[IN-USE] locked\r\nX",
	    NULL,
	    NULL,
	    "[XX] Logged in, welcome",
	};

	login_results = res;
	login_texts = texts;
	check(&set_plain,
	    "USER a\r\nPASS b\r\nUSER a\r\nPASS c\r\nUSER a\r\nPASS d\r\n"
	    "USER a\r\nPASS e\r\nUSER a\r\nPASS f\r\n",
	    "+OK ready\r\n+OK\r\n<LOGIN 0 [] [a] [b]>"
	    "-ERR [AUTH] Authentication failed.\r\n"
	    "+OK\r\n<LOGIN 0 [] [a] [c]>-ERR [SYS/TEMP] locked  X\r\n"
	    "+OK\r\n<LOGIN 0 [] [a] [d]>"
	    "-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n"
	    "+OK\r\n<LOGIN 0 [] [a] [e]>"
	    "-ERR [AUTH] Authentication failed.\r\n"
	    "+OK\r\n<LOGIN 0 [] [a] [f]>+OK [XX] Logged in, welcome\r\n");
	/* the USER is gone after a failed PASS */
	check(&set_plain, "USER a\r\nPASS b\r\nPASS c\r\n",
	    "+OK ready\r\n+OK\r\n<LOGIN 0 [] [a] [b]>"
	    "-ERR [AUTH] Authentication failed.\r\n"
	    "-ERR No username given.\r\n");
	login_results = NULL;
	login_texts = NULL;
}

static void
test_rejected_logins_count_as_bad(void **state)
{
	static const enum proto_login_status res[] = {
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_REJECTED,
	};
	struct pop3_client_settings set = set_plain;

	/* a temporary failure is not the client's fault; three rejected
	 * passwords reach a limit of three */
	set.bad_max = 3;
	login_results = res;
	check(&set,
	    "USER a\r\nPASS 1\r\nUSER a\r\nPASS 2\r\nUSER a\r\nPASS 3\r\n"
	    "AUTH PLAIN AGEANA==\r\nNOOP\r\n",
	    "+OK ready\r\n+OK\r\n<LOGIN 0 [] [a] [1]>"
	    "-ERR [AUTH] Authentication failed.\r\n"
	    "+OK\r\n<LOGIN 0 [] [a] [2]>"
	    "-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n"
	    "+OK\r\n<LOGIN 0 [] [a] [3]>"
	    "-ERR [AUTH] Authentication failed.\r\n"
	    "<LOGIN 1 [] [a] [4]>-ERR [AUTH] Authentication failed.\r\n"
	    "-ERR Too many bad commands.\r\n<CLOSE><LEFT 6>");
	login_results = NULL;
}

static void
test_auth_plain(void **state)
{
	/* "\0bob\0pw" = AGJvYgBwdw==, "adm\0master\0pw" */
	check(&set_plain, "AUTH PLAIN AGJvYgBwdw==\r\n",
	    "+OK ready\r\n<LOGIN 1 [] [bob] [pw]>+OK Logged in.\r\n");
	check(&set_plain, "auth plain\r\nYWRtAG1hc3RlcgBwdw==\r\n",
	    "+OK ready\r\n+ \r\n<LOGIN 1 [adm] [master] [pw]>"
	    "+OK Logged in.\r\n");
	check(&set_plain, "AUTH PLAIN\r\n*\r\nNOOP\r\n",
	    "+OK ready\r\n+ \r\n-ERR Authentication aborted by client.\r\n"
	    "+OK\r\n");
	check(&set_plain,
	    "AUTH PLAIN AGJvYgBwdw=\r\nAUTH PLAIN =\r\n"
	    "AUTH PLAIN\r\n!!!!\r\n",
	    "+OK ready\r\n"
	    "-ERR Invalid base64 data in continued response.\r\n"
	    "-ERR [AUTH] Invalid base64 data or SASL PLAIN message.\r\n"
	    "+ \r\n-ERR Invalid base64 data in continued response.\r\n");
	check(&set_plain, "AUTH CRAM-MD5\r\nAUTH\r\n",
	    "+OK ready\r\n-ERR Unsupported authentication mechanism.\r\n"
	    "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
}

static void
test_auth_login(void **state)
{
	/* "bob" = Ym9i, "p w" = cCB3 */
	check(&set_plain, "AUTH LOGIN\r\nYm9i\r\ncCB3\r\n",
	    "+OK ready\r\n+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n"
	    "<LOGIN 2 [] [bob] [p w]>+OK Logged in.\r\n");
	check(&set_plain, "AUTH LOGIN Ym9i\r\n*\r\n",
	    "+OK ready\r\n+ UGFzc3dvcmQ6\r\n"
	    "-ERR Authentication aborted by client.\r\n");
	/* empty username */
	check(&set_plain, "AUTH LOGIN\r\n\r\n",
	    "+OK ready\r\n+ VXNlcm5hbWU6\r\n-ERR [AUTH] Invalid username.\r\n");
	/* NUL in the password ("a\0b"); the user name is forgotten too */
	check(&set_plain, "AUTH LOGIN Ym9i\r\nYQBi\r\nPASS x\r\n",
	    "+OK ready\r\n+ UGFzc3dvcmQ6\r\n-ERR [AUTH] Invalid password.\r\n"
	    "-ERR No username given.\r\n");
}

static void
test_plaintext_disallowed(void **state)
{
	check(&set_stls,
	    "CAPA\r\nUSER a\r\nPASS b\r\nAUTH PLAIN AGJvYgBwdw==\r\n"
	    "AUTH\r\n",
	    "+OK Director ready.\r\n" CAPA_HEAD "STLS\r\n.\r\n"
	    "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
	    "(SSL/TLS) connections.\r\n"
	    "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
	    "(SSL/TLS) connections.\r\n"
	    "-ERR [AUTH] Plaintext authentication disallowed on non-secure "
	    "(SSL/TLS) connections.\r\n"
	    "+OK\r\n.\r\n");
}

static void
test_stls(void **state)
{
	/* pipelined plaintext after STLS is never executed */
	check(&set_stls,
	    "STLS\r\nUSER evil\r\nPASS x\r\n<TLS>CAPA\r\n"
	    "STLS\r\nUSER a\r\nPASS b\r\n",
	    "+OK Director ready.\r\n+OK Begin TLS negotiation now.\r\n"
	    "<STARTTLS@6>" CAPA_HEAD "USER\r\nSASL PLAIN LOGIN\r\n.\r\n"
	    "-ERR TLS is already active.\r\n+OK\r\n"
	    "<LOGIN 0 [] [a] [b]>+OK Logged in.\r\n");
	/* USER given before STLS is forgotten */
	check(&set_plain, "STLS\r\n",
	    "+OK ready\r\n-ERR TLS support isn't enabled.\r\n");
}

static void
test_bad_commands(void **state)
{
	struct pop3_client_settings set = set_plain;

	set.bad_max = 3;
	check(&set, "FOO\r\nRETR 1\r\nAPOP a b\r\nNOOP\r\n",
	    "+OK ready\r\n-ERR Unknown command.\r\n-ERR Unknown command.\r\n"
	    "-ERR Unknown command.\r\n-ERR Too many bad commands.\r\n"
	    "<CLOSE><LEFT 6>");
	/* NUL and 8-bit */
	/* the NUL line is one bad command (not "NO"); 8-bit is data */
	check(&set_plain, "NO\0OP\r\nUSER \xc3\xa4\r\nPASS \xff\r\n",
	    "+OK ready\r\n-ERR Invalid input.\r\n+OK\r\n"
	    "<LOGIN 0 [] [\xc3\xa4] [\xff]>+OK Logged in.\r\n");
	/* a NUL inside an AUTH exchange ends it and counts */
	set.bad_max = 2;
	check(&set, "AUTH LOGIN\r\ndGlt\0\r\nNO\0\r\nNOOP\r\n",
	    "+OK ready\r\n+ VXNlcm5hbWU6\r\n-ERR Invalid input.\r\n"
	    "-ERR Invalid input.\r\n-ERR Too many bad commands.\r\n"
	    "<CLOSE><LEFT 6>");
	{
		static const char in[] = "NO\0OP\r\nNOOP\r\n";
		static struct transcript a, b;

		drive(&set, in, sizeof(in) - 1, sizeof(in), &a);
		drive(&set, in, sizeof(in) - 1, 1, &b);
		assert_string_equal(a.text, b.text);
		assert_string_equal(
		    a.text, "+OK ready\r\n-ERR Invalid input.\r\n+OK\r\n");
	}
}

static void
test_long_lines(void **state)
{
	struct pop3_client_settings set = set_plain;
	char *in;
	static const size_t big = 3 * POP3_CLIENT_LINE_MAX;

	in = malloc(big + 16);
	assert_non_null(in);
	set.line_max = 16;
	check(&set, "NOOP 12345678901\r\n", "+OK ready\r\n+OK\r\n");
	check(&set, "NOOP 123456789012\r\nNOOP\r\n",
	    "+OK ready\r\n-ERR Input line too long.\r\n<CLOSE><LEFT 8>");
	/* default limit: a long AUTH response fits, a huge line does not */
	memcpy(in, "AUTH PLAIN\r\n", 12);
	memset(in + 12, 'A', big);
	memcpy(in + 12 + big, "\r\n", 3);
	/* the session ends at the first byte over the limit */
	check_len(&set_plain, in, 12 + big + 2,
	    "+OK ready\r\n+ \r\n-ERR Input line too long.\r\n"
	    "<CLOSE><LEFT 16385>");
	assert_int_equal(16385, 12 + big + 2 - (12 + POP3_CLIENT_LINE_MAX + 1));
	free(in);
}

static void
test_long_auth_response(void **state)
{
	/* a 4000-byte password: a 5 KiB continuation line is accepted */
	static unsigned char msg[4006];
	static char in[8192], expect[4096 + 64];
	size_t len;

	memcpy(msg, "\0bob\0", 5);
	memset(msg + 5, 'p', 4000);
	len = strlen("AUTH PLAIN\r\n");
	memcpy(in, "AUTH PLAIN\r\n", len);
	len += base64_encode(msg, 4005, in + len);
	memcpy(in + len, "\r\n", 3);
	memcpy(expect, "+OK ready\r\n+ \r\n<LOGIN 1 [] [bob] [", 34);
	memset(expect + 34, 'p', 4000);
	memcpy(expect + 34 + 4000, "]>+OK Logged in.\r\n",
	    sizeof("]>+OK Logged in.\r\n"));
	check_len(&set_plain, in, len + 2, expect);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capa),
	    cmocka_unit_test(test_noop_quit),
	    cmocka_unit_test(test_user_pass),
	    cmocka_unit_test(test_login_results),
	    cmocka_unit_test(test_rejected_logins_count_as_bad),
	    cmocka_unit_test(test_auth_plain),
	    cmocka_unit_test(test_auth_login),
	    cmocka_unit_test(test_plaintext_disallowed),
	    cmocka_unit_test(test_stls),
	    cmocka_unit_test(test_bad_commands),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_long_auth_response),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

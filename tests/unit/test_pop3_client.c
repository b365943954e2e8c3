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
/* The backend's OAuth error challenge given before each result
 * (pop3_client_login_challenge()), or NULL: no call. */
static const char *const *login_challenges;

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
			if (login_challenges != NULL &&
			    login_challenges[logins] != NULL)
				pop3_client_login_challenge(
				    c, login_challenges[logins]);
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

/* OAuth: every mechanism offered. */
#define MECHS_ALL                                                              \
	(SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |           \
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2))
static const struct pop3_client_settings set_oauth = {
    .greeting = "ready",
    .allow_plaintext_auth = true,
    .mechs = MECHS_ALL,
};
/* "n,a=bob,^Aauth=Bearer tok^A^A" (kind 3) */
#define BEARER_MSG "n,a=bob,\001auth=Bearer tok\001\001"
#define BEARER_B64 "bixhPWJvYiwBYXV0aD1CZWFyZXIgdG9rAQE="
/* "user=bob^Aauth=Bearer tok^A^A" (kind 4) */
#define XOAUTH2_MSG "user=bob\001auth=Bearer tok\001\001"
#define XOAUTH2_B64 "dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rAQE="
/* "n,,^Aauth=Bearer x^A^A": no user to route by */
#define NO_USER_B64 "biwsAWF1dGg9QmVhcmVyIHgBAQ=="
/* the backend's error challenge, {"status":"401"} */
#define CHALLENGE "eyJzdGF0dXMiOiI0MDEifQ=="
#define LOGIN_BEARER "<LOGIN 3 [] [bob] [" BEARER_MSG "]>"
#define LOGIN_XOAUTH2 "<LOGIN 4 [] [bob] [" XOAUTH2_MSG "]>"
#define ERR_AUTH "-ERR [AUTH] Authentication failed.\r\n"

static const enum proto_login_status rejected[] = {
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
};
static const char *const challenged[] = {CHALLENGE, CHALLENGE, CHALLENGE};

static void
test_oauth_capa(void **state)
{
	struct pop3_client_settings set = set_oauth;

	check(&set_oauth, "CAPA\r\nAUTH\r\n",
	    "+OK ready\r\n" CAPA_HEAD
	    "USER\r\nSASL PLAIN LOGIN OAUTHBEARER XOAUTH2\r\n.\r\n"
	    "+OK\r\nPLAIN\r\nLOGIN\r\nOAUTHBEARER\r\nXOAUTH2\r\n.\r\n");
	/* only the OAuth mechanisms */
	set.mechs = SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2);
	check(&set, "CAPA\r\nAUTH\r\nAUTH PLAIN AGJvYgBwdw==\r\nAUTH LOGIN\r\n",
	    "+OK ready\r\n" CAPA_HEAD "USER\r\nSASL OAUTHBEARER XOAUTH2\r\n"
	    ".\r\n+OK\r\nOAUTHBEARER\r\nXOAUTH2\r\n.\r\n"
	    "-ERR Unsupported authentication mechanism.\r\n"
	    "-ERR Unsupported authentication mechanism.\r\n");
	/* by default neither is offered */
	check(&set_plain,
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\nAUTH XOAUTH2\r\nNOOP\r\n",
	    "+OK ready\r\n-ERR Unsupported authentication mechanism.\r\n"
	    "-ERR Unsupported authentication mechanism.\r\n+OK\r\n");
}

static void
test_oauth_auth(void **state)
{
	struct pop3_client_settings set = set_oauth;

	/* with an initial response; what follows is the backend's */
	check(&set_oauth, "AUTH OAUTHBEARER " BEARER_B64 "\r\nSTAT\r\n",
	    "+OK ready\r\n" LOGIN_BEARER "+OK Logged in.\r\n<LEFT 6>");
	/* without: the empty challenge first */
	check(&set_oauth, "auth xoauth2\r\n" XOAUTH2_B64 "\r\n",
	    "+OK ready\r\n+ \r\n" LOGIN_XOAUTH2 "+OK Logged in.\r\n");
	check(&set_oauth, "AUTH OAuthBearer\r\n" BEARER_B64 "\r\n",
	    "+OK ready\r\n+ \r\n" LOGIN_BEARER "+OK Logged in.\r\n");
	/* a USER given before is forgotten */
	check(&set_oauth, "USER alice\r\nAUTH XOAUTH2 " XOAUTH2_B64 "\r\n",
	    "+OK ready\r\n+OK\r\n" LOGIN_XOAUTH2 "+OK Logged in.\r\n");
	/* no a=; the dummy response first; the wrong mechanism's message;
	 * not base64; cancelled */
	check(&set_oauth,
	    "AUTH OAUTHBEARER " NO_USER_B64 "\r\nAUTH OAUTHBEARER\r\nAQ==\r\n"
	    "AUTH XOAUTH2 " BEARER_B64 "\r\nAUTH XOAUTH2\r\nn,a=bob\r\n"
	    "AUTH OAUTHBEARER\r\n*\r\nNOOP\r\n",
	    "+OK ready\r\n-ERR [AUTH] No user name (a=) to route by\r\n"
	    "+ \r\n-ERR [AUTH] Unexpected dummy response\r\n"
	    "-ERR [AUTH] Invalid XOAUTH2 message\r\n"
	    "+ \r\n-ERR Invalid base64 data in continued response.\r\n"
	    "+ \r\n-ERR Authentication aborted by client.\r\n+OK\r\n");
	/* a malformed message is a bad command */
	set.bad_max = 2;
	check(&set,
	    "AUTH OAUTHBEARER " NO_USER_B64 "\r\nAUTH XOAUTH2\r\n"
	    "dXNlcj1ib2IBAQ==\r\nNOOP\r\n",
	    "+OK ready\r\n-ERR [AUTH] No user name (a=) to route by\r\n"
	    "+ \r\n-ERR [AUTH] Invalid XOAUTH2 message\r\n"
	    "-ERR Too many bad commands.\r\n<CLOSE><LEFT 6>");
}

/* The backend's error challenge goes to the client; the -ERR waits for
 * the client's response, whatever it is. */
static void
test_oauth_error_challenge(void **state)
{
	static const char *const texts[] = {
	    "[AUTH] Authentication failed.", NULL, "[AUTH] no\r\n+OK"};
	static const char in[] = "AUTH OAUTHBEARER " BEARER_B64 "\r\n";
	struct pop3_client *c;
	enum proto_action act;
	struct buf *out;

	login_results = rejected;
	login_texts = texts;
	login_challenges = challenged;
	check(&set_oauth,
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "AUTH XOAUTH2\r\n" XOAUTH2_B64 "\r\n\r\n"
	    "AUTH XOAUTH2 " XOAUTH2_B64 "\r\n*\r\nCAPA\r\n",
	    "+OK ready\r\n" LOGIN_BEARER "+ " CHALLENGE "\r\n" ERR_AUTH
	    "+ \r\n" LOGIN_XOAUTH2 "+ " CHALLENGE "\r\n" ERR_AUTH
	    "" LOGIN_XOAUTH2 "+ " CHALLENGE "\r\n-ERR [AUTH] no  +OK\r\n"
	    "" CAPA_HEAD "USER\r\nSASL PLAIN LOGIN OAUTHBEARER XOAUTH2\r\n"
	    ".\r\n");
	/* any line is the response, even one with a NUL */
	check(&set_oauth,
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\nA\0Q==\r\nNOOP\r\n",
	    "+OK ready\r\n" LOGIN_BEARER "+ " CHALLENGE "\r\n" ERR_AUTH
	    "+OK\r\n");
	login_results = NULL;
	login_texts = NULL;
	login_challenges = NULL;

	/* step by step: nothing but the challenge until the response */
	c = pop3_client_new(&set_oauth);
	out = pop3_client_output(c);
	assert_int_equal(
	    pop3_client_input(c, in, sizeof(in) - 1, &act), sizeof(in) - 1);
	assert_int_equal(act, PROTO_ACT_LOGIN);
	pop3_client_login_challenge(c, CHALLENGE);
	assert_int_equal(out->len, 0);
	assert_non_null(pop3_client_creds(c));
	pop3_client_login_result(c, PROTO_LOGIN_REJECTED, NULL);
	assert_null(pop3_client_creds(c));
	assert_int_equal(out->len, strlen("+ " CHALLENGE "\r\n"));
	assert_memory_equal(out->data, "+ " CHALLENGE "\r\n", out->len);
	buf_consume(out, out->len);
	/* a second result is not expected: nothing */
	pop3_client_login_result(c, PROTO_LOGIN_OK, NULL);
	assert_int_equal(out->len, 0);
	assert_int_equal(pop3_client_input(c, "AQ==", 4, &act), 4);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_int_equal(out->len, 0);
	assert_int_equal(pop3_client_input(c, "\r\nNOOP\r\n", 8, &act), 8);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_int_equal(out->len, strlen(ERR_AUTH "+OK\r\n"));
	assert_memory_equal(out->data, ERR_AUTH "+OK\r\n", out->len);
	pop3_client_free(&c);
}

/* A challenge counts only for a pending OAuth login that is rejected,
 * and only if it is base64. */
static void
test_oauth_challenge_ignored(void **state)
{
	static const char *const invalid[] = {
	    "eyJ zd", "{\"status\":\"401\"}", "", "eyJ9\r\n+ eyJ9"};
	static const enum proto_login_status tempfail_then_no[] = {
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_REJECTED,
	};
	static const char *const first_only[] = {CHALLENGE, NULL};
	struct pop3_client *c;
	enum proto_action act;
	struct buf *out;
	size_t i;

	/* PLAIN, USER/PASS: no challenge to relay, the -ERR at once */
	login_results = rejected;
	login_challenges = challenged;
	check(&set_oauth, "AUTH PLAIN AGJvYgBwdw==\r\nUSER a\r\nPASS b\r\n",
	    "+OK ready\r\n<LOGIN 1 [] [bob] [pw]>" ERR_AUTH
	    "+OK\r\n<LOGIN 0 [] [a] [b]>" ERR_AUTH);
	/* not base64 (or empty, or over lines) */
	for (i = 0; i < nitems(invalid); i++) {
		login_challenges = &invalid[i];
		check(&set_oauth, "AUTH OAUTHBEARER " BEARER_B64 "\r\nNOOP\r\n",
		    "+OK ready\r\n" LOGIN_BEARER ERR_AUTH "+OK\r\n");
	}
	/* dropped with a temporary failure: the next login's -ERR comes
	 * at once */
	login_results = tempfail_then_no;
	login_challenges = first_only;
	check(&set_oauth,
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\nAUTH OAUTHBEARER " BEARER_B64
	    "\r\nNOOP\r\n",
	    "+OK ready\r\n" LOGIN_BEARER
	    "-ERR [SYS/TEMP] Account is temporarily unavailable.\r\n"
	    "" LOGIN_BEARER ERR_AUTH "+OK\r\n");
	/* ... and with a success */
	login_results = NULL;
	login_challenges = challenged;
	check(&set_oauth, "AUTH XOAUTH2 " XOAUTH2_B64 "\r\nSTAT\r\n",
	    "+OK ready\r\n" LOGIN_XOAUTH2 "+OK Logged in.\r\n<LEFT 6>");
	login_challenges = NULL;

	/* given while no login is pending: forgotten */
	c = pop3_client_new(&set_oauth);
	out = pop3_client_output(c);
	pop3_client_login_challenge(c, CHALLENGE);
	assert_int_equal(
	    pop3_client_input(c, "AUTH OAUTHBEARER " BEARER_B64 "\r\n",
		strlen("AUTH OAUTHBEARER " BEARER_B64 "\r\n"), &act),
	    strlen("AUTH OAUTHBEARER " BEARER_B64 "\r\n"));
	assert_int_equal(act, PROTO_ACT_LOGIN);
	pop3_client_login_result(c, PROTO_LOGIN_REJECTED, NULL);
	assert_int_equal(out->len, strlen(ERR_AUTH));
	assert_memory_equal(out->data, ERR_AUTH, out->len);
	pop3_client_free(&c);
}

/* Rejected OAuth logins reach the bad command limit like passwords do;
 * the one with a challenge counts when its -ERR is sent. */
static void
test_oauth_rejected_count_as_bad(void **state)
{
	static const char *const ch[] = {CHALLENGE, NULL, CHALLENGE};
	struct pop3_client_settings set = set_oauth;

	set.bad_max = 3;
	login_results = rejected;
	login_challenges = ch;
	check(&set,
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "AUTH XOAUTH2 " XOAUTH2_B64 "\r\n"
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\nNOOP\r\n",
	    "+OK ready\r\n" LOGIN_BEARER "+ " CHALLENGE "\r\n" ERR_AUTH
	    "" LOGIN_XOAUTH2 ERR_AUTH "" LOGIN_BEARER "+ " CHALLENGE
	    "\r\n" ERR_AUTH "-ERR Too many bad commands.\r\n<CLOSE><LEFT 6>");
	/* bad messages and rejections add up */
	check(&set,
	    "AUTH OAUTHBEARER " NO_USER_B64 "\r\n"
	    "AUTH OAUTHBEARER " BEARER_B64 "\r\n*\r\n"
	    "AUTH OAUTHBEARER " NO_USER_B64 "\r\nNOOP\r\n",
	    "+OK ready\r\n-ERR [AUTH] No user name (a=) to route by\r\n"
	    "" LOGIN_BEARER "+ " CHALLENGE "\r\n" ERR_AUTH
	    "-ERR [AUTH] No user name (a=) to route by\r\n"
	    "-ERR Too many bad commands.\r\n<CLOSE><LEFT 6>");
	login_results = NULL;
	login_challenges = NULL;
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
	    cmocka_unit_test(test_oauth_capa),
	    cmocka_unit_test(test_oauth_auth),
	    cmocka_unit_test(test_oauth_error_challenge),
	    cmocka_unit_test(test_oauth_challenge_ignored),
	    cmocka_unit_test(test_oauth_rejected_count_as_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pop3_backend.c - logging in to a POP3 backend.  The backend's
 * replies are scripted; each script is fed whole and one byte at a time
 * and both transcripts (commands sent, actions) must match each other and
 * the expected text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "pop3_backend.h"
#include "proto.h"
#include "sasl.h"

#define TRANSCRIPT_MAX 16384
#include "transcript.h"

static void
transcript_mark(struct transcript *t, const char *what, const char *text)
{
	char tmp[512];
	int n;

	n = snprintf(tmp, sizeof(tmp), "<%s %s>", what, text);
	assert_true(n > 0 && (size_t)n < sizeof(tmp));
	transcript_add(t, tmp, (size_t)n);
}

static void
drive(const struct proto_creds *creds, const struct proto_client_info *info,
    const struct pop3_backend_settings *set, const char *in, size_t len,
    size_t chunk, struct transcript *t)
{
	struct pop3_backend *b = pop3_backend_new(creds, info, set);
	struct buf *out = pop3_backend_output(b);
	enum proto_action act;
	size_t pos = 0, n, used;
	char left[32];

	t->len = 0;
	t->text[0] = '\0';
	for (;;) {
		n = MIN_OF(chunk, len - pos);
		used = pop3_backend_input(b, in + pos, n, &act);
		assert_true(used <= n);
		pos += used;
		if (out->len > 0)
			transcript_add(t, out->data, out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_STARTTLS) {
			transcript_mark(t, "STARTTLS", "");
			pop3_backend_tls_started(b);
			if (out->len > 0)
				transcript_add(t, out->data, out->len);
			buf_consume(out, out->len);
			continue;
		}
		if (act == PROTO_ACT_LOGGED_IN) {
			transcript_mark(
			    t, "LOGGED_IN", pop3_backend_reply_text(b));
			break;
		}
		if (act == PROTO_ACT_LOGIN_FAILED) {
			transcript_mark(
			    t, "FAILED", pop3_backend_reply_text(b));
			if (pop3_backend_challenge(b) != NULL &&
			    strlen(pop3_backend_challenge(b)) > 64) {
				char size[32];

				snprintf(size, sizeof(size), "%zu bytes",
				    strlen(pop3_backend_challenge(b)));
				transcript_mark(t, "CHALLENGE", size);
			} else if (pop3_backend_challenge(b) != NULL)
				transcript_mark(
				    t, "CHALLENGE", pop3_backend_challenge(b));
			break;
		}
		if (act == PROTO_ACT_CLOSE) {
			transcript_mark(t, "CLOSE", pop3_backend_error(b));
			break;
		}
		if (pos == len)
			break;
	}
	if (pos < len) {
		snprintf(left, sizeof(left), "%zu", len - pos);
		transcript_mark(t, "LEFT", left);
	}
	pop3_backend_free(&b);
	assert_null(b);
}

static struct proto_creds creds_user = {
    .kind = PROTO_AUTH_LOGIN,
    .authzid = "",
    .authcid = "bob",
    .password = "pass word",
    .password_len = 9,
};
static struct proto_creds creds_sasl = {
    .kind = PROTO_AUTH_SASL_PLAIN,
    .authzid = "bob",
    .authcid = "master",
    .password = "pw",
    .password_len = 2,
};
/* "n,a=bob,^Aauth=Bearer tok^A^A" */
static struct proto_creds creds_bearer = {
    .kind = PROTO_AUTH_SASL_OAUTHBEARER,
    .authzid = "",
    .authcid = "bob",
    .password = "n,a=bob,\001auth=Bearer tok\001\001",
    .password_len = 26,
};
#define BEARER_B64 "bixhPWJvYiwBYXV0aD1CZWFyZXIgdG9rAQE="
/* "user=bob^Aauth=Bearer ttt...^A^A", too long for an initial response */
static char xoauth2_msg[323];
static struct proto_creds creds_xoauth2 = {
    .kind = PROTO_AUTH_SASL_XOAUTH2,
    .authzid = "",
    .authcid = "bob",
    .password = xoauth2_msg,
    .password_len = sizeof(xoauth2_msg),
};
#define XOAUTH2_B64                                                            \
	"dXNlcj1ib2IBYXV0aD1CZWFyZXIgdHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0" \
	"dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0" \
	"dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0" \
	"dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0" \
	"dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0" \
	"dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0dHR0" \
	"dHR0dHR0dHR0dHR0dHR0AQE="
static struct proto_client_info info = {
    .client_ip = "192.0.2.10",
    .client_port = 50000,
    .local_ip = "10.0.0.1",
    .local_port = 110,
    .session_id = "sEsSiOn1",
    .ttl = 4,
};
static const struct pop3_backend_settings set_plain = {0};
static const struct pop3_backend_settings set_stls = {.starttls = true};

/* Feeds in[0..len) whole and one byte at a time; both transcripts must
 * equal expect.  Lengths are explicit so NUL bytes are really fed. */
static void
check_len(const struct proto_creds *creds, const struct proto_client_info *ci,
    const struct pop3_backend_settings *set, const char *in, size_t len,
    const char *expect)
{
	static struct transcript whole, bytes;

	drive(creds, ci, set, in, len, len, &whole);
	drive(creds, ci, set, in, len, 1, &bytes);
	assert_string_equal(whole.text, bytes.text);
	assert_string_equal(whole.text, expect);
}

/* check_len() of a string literal (the "" refuses a pointer). */
#define check(creds, ci, set, lit, expect)                                     \
	check_len(creds, ci, set, "" lit "", sizeof(lit) - 1, expect)

static void
test_user_pass_simple(void **state)
{
	check(&creds_user, &info, &set_plain,
	    "+OK hello\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n+OK Logged in.\r\n"
	    "+OK 2 messages\r\n",
	    "CAPA\r\nUSER bob\r\nPASS pass word\r\n<LOGGED_IN Logged in.>"
	    "<LEFT 16>");
	/* no CAPA support at all */
	check(&creds_user, &info, &set_plain,
	    "+OK\n-ERR unknown\n+OK\n-ERR [AUTH] no\n",
	    "CAPA\r\nUSER bob\r\nPASS pass word\r\n<FAILED [AUTH] no>");
	/* USER refused */
	check(&creds_user, &info, &set_plain,
	    "+OK\r\n+OK\r\n.\r\n-ERR [AUTH] who?\r\n",
	    "CAPA\r\nUSER bob\r\n<FAILED [AUTH] who?>");
}

/* Behind a PROXY v2 header: no XCLIENT, even from a trusted peer. */
static void
test_proxy_header_no_xclient(void **state)
{
	struct proto_client_info saved = info;

	info.proxy_header = true;
	check(&creds_user, &info, &set_plain,
	    "+OK [XCLIENT] Dovecot ready.\r\n+OK\r\nUSER\r\nXCLIENT\r\n"
	    ".\r\n+OK\r\n+OK Logged in.\r\n",
	    "CAPA\r\nUSER bob\r\nPASS pass word\r\n<LOGGED_IN Logged in.>");
	info = saved;
}

static void
test_pipelining_xclient(void **state)
{
	check(&creds_user, &info, &set_plain,
	    "+OK\r\n+OK Capability list follows\r\nPIPELINING\r\nXCLIENT\r\n"
	    "SASL PLAIN LOGIN\r\n.\r\n+OK\r\n+OK\r\n"
	    "-ERR [AUTH] Authentication failed.\r\n",
	    "CAPA\r\nXCLIENT ADDR=192.0.2.10 PORT=50000 DESTADDR=10.0.0.1 "
	    "DESTPORT=110 SESSION=sEsSiOn1 TTL=4\r\n"
	    "USER bob\r\nPASS pass word\r\n"
	    "<FAILED [AUTH] Authentication failed.>");
	check(&creds_user, &info, &set_plain,
	    "+OK\r\n+OK\r\nXCLIENT\r\n.\r\n-ERR not trusted\r\n",
	    "CAPA\r\nXCLIENT ADDR=192.0.2.10 PORT=50000 DESTADDR=10.0.0.1 "
	    "DESTPORT=110 SESSION=sEsSiOn1 TTL=4\r\n"
	    "<CLOSE backend refused XCLIENT>");
	/* Dovecot: "[XCLIENT]" in the greeting of a trusted peer, not in
	 * CAPA */
	check(&creds_user, &info, &set_plain,
	    "+OK [XCLIENT] Dovecot ready.\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n"
	    "+OK\r\n+OK Logged in.\r\n",
	    "CAPA\r\nXCLIENT ADDR=192.0.2.10 PORT=50000 DESTADDR=10.0.0.1 "
	    "DESTPORT=110 SESSION=sEsSiOn1 TTL=4\r\n"
	    "USER bob\r\nPASS pass word\r\n<LOGGED_IN Logged in.>");
	/* without it, no XCLIENT */
	check(&creds_user, &info, &set_plain,
	    "+OK Dovecot ready.\r\n+OK\r\nUSER\r\n.\r\n+OK\r\n"
	    "+OK Logged in.\r\n",
	    "CAPA\r\nUSER bob\r\nPASS pass word\r\n<LOGGED_IN Logged in.>");
}

/* Feeds in to b chunk bytes at a time; expects every byte consumed, the
 * output expect_out and, after the last byte, the action expect_act. */
static void
feed(struct pop3_backend *b, const char *in, size_t chunk,
    const char *expect_out, enum proto_action expect_act)
{
	struct buf *out = pop3_backend_output(b);
	enum proto_action act = PROTO_ACT_MORE;
	size_t len = strlen(in), pos = 0, n;

	while (pos < len) {
		assert_int_equal(act, PROTO_ACT_MORE);
		n = MIN_OF(chunk, len - pos);
		assert_int_equal(pop3_backend_input(b, in + pos, n, &act), n);
		pos += n;
	}
	assert_int_equal(act, expect_act);
	assert_int_equal(out->len, strlen(expect_out));
	assert_memory_equal(out->data, expect_out, out->len);
	buf_consume(out, out->len);
}

/* PASS goes out only after USER's +OK, even when the backend offers
 * PIPELINING: with both in one write, Dovecot's PASS reply followed its
 * unacknowledged USER reply and waited in Nagle's algorithm for our
 * delayed ACK, 40 ms a login. */
static void
test_pass_after_user_reply(void **state)
{
	static const size_t chunks[] = {64, 1};
	struct pop3_backend *b;
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		b = pop3_backend_new(&creds_user, &info, &set_plain);
		feed(b, "+OK Dovecot ready.\r\n", chunks[i], "CAPA\r\n",
		    PROTO_ACT_MORE);
		feed(b, "+OK\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\n.\r\n",
		    chunks[i], "USER bob\r\n", PROTO_ACT_MORE);
		feed(b, "+OK\r\n", chunks[i], "PASS pass word\r\n",
		    PROTO_ACT_MORE);
		feed(b, "+OK Logged in.\r\n", chunks[i], "",
		    PROTO_ACT_LOGGED_IN);
		assert_string_equal(pop3_backend_reply_text(b), "Logged in.");
		pop3_backend_free(&b);
	}
}

static void
test_sasl(void **state)
{
	/* "bob\0master\0pw" */
	check(&creds_sasl, &info, &set_plain,
	    "+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK [XX] welcome\r\nrest",
	    "CAPA\r\nAUTH PLAIN Ym9iAG1hc3RlcgBwdw==\r\n"
	    "<LOGGED_IN [XX] welcome><LEFT 4>");
	/* CR/LF in a USER/PASS password: sent via AUTH PLAIN instead */
	{
		struct proto_creds c = creds_user;

		c.password = "a\r\nDELE 1";
		c.password_len = strlen(c.password);
		check(&c, &info, &set_plain, "+OK\r\n-ERR\r\n-ERR no\r\n",
		    "CAPA\r\nAUTH PLAIN AGJvYgBhDQpERUxFIDE=\r\n<FAILED no>");
	}
}

/* OAuth: the client's message replayed; an error challenge kept for the
 * client and answered with the dummy response. */
static void
test_oauth(void **state)
{
	memset(xoauth2_msg, 't', sizeof(xoauth2_msg));
	memcpy(xoauth2_msg, "user=bob\001auth=Bearer ", 21);
	memcpy(xoauth2_msg + sizeof(xoauth2_msg) - 2, "\001\001", 2);

	check(&creds_bearer, &info, &set_plain,
	    "+OK\r\n-ERR\r\n+OK Logged in.\r\n",
	    "CAPA\r\nAUTH OAUTHBEARER " BEARER_B64
	    "\r\n<LOGGED_IN Logged in.>");
	check(&creds_bearer, &info, &set_plain,
	    "+OK\r\n-ERR\r\n+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"
	    "-ERR [AUTH] Authentication failed.\r\n",
	    "CAPA\r\nAUTH OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "<FAILED [AUTH] Authentication failed.>"
	    "<CHALLENGE eyJzdGF0dXMiOiI0MDEifQ==>");
	/* over 255 octets: the message after "+"; XOAUTH2's dummy is "" */
	check(&creds_xoauth2, &info, &set_plain,
	    "+OK\r\n-ERR\r\n+ \r\n+ eyJ9\r\n-ERR no\r\n",
	    "CAPA\r\nAUTH XOAUTH2\r\n" XOAUTH2_B64 "\r\n\r\n"
	    "<FAILED no><CHALLENGE eyJ9>");
	/* the mechanism refused before the message was sent: a failed
	 * login like any other, not a broken backend */
	check(&creds_xoauth2, &info, &set_plain,
	    "+OK\r\n-ERR\r\n-ERR [AUTH] Unsupported authentication "
	    "mechanism.\r\n",
	    "CAPA\r\nAUTH XOAUTH2\r\n"
	    "<FAILED [AUTH] Unsupported authentication mechanism.>");
	check(&creds_xoauth2, &info, &set_plain, "+OK\r\n-ERR\r\n+OK\r\n",
	    "CAPA\r\nAUTH XOAUTH2\r\n<CLOSE unexpected backend reply>");
	/* the longest challenge a client may be sent fits a reply line */
	{
		static char in[64 + SASL_CHALLENGE_MAX];
		size_t n;

		n = (size_t)snprintf(in, sizeof(in), "+OK\r\n-ERR\r\n+ ");
		memset(in + n, 'A', SASL_CHALLENGE_MAX);
		n += SASL_CHALLENGE_MAX;
		memcpy(in + n, "\r\n-ERR no\r\n", 11);
		n += 11;
		check_len(&creds_bearer, &info, &set_plain, in, n,
		    "CAPA\r\nAUTH OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
		    "<FAILED no><CHALLENGE 4096 bytes>");
	}
	/* a second challenge, a bad one, or one where none can come */
	check(&creds_bearer, &info, &set_plain,
	    "+OK\r\n-ERR\r\n+ eyJ9\r\n+ eyJ9\r\n",
	    "CAPA\r\nAUTH OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "<CLOSE unexpected continuation from backend>");
	check(&creds_bearer, &info, &set_plain,
	    "+OK\r\n-ERR\r\n+ {\"status\"}\r\n",
	    "CAPA\r\nAUTH OAUTHBEARER " BEARER_B64 "\r\n"
	    "<CLOSE invalid OAuth challenge from backend>");
	check(&creds_sasl, &info, &set_plain, "+OK\r\n-ERR\r\n+ eyJ9\r\n",
	    "CAPA\r\nAUTH PLAIN Ym9iAG1hc3RlcgBwdw==\r\n"
	    "<CLOSE unexpected continuation from backend>");
}

static void
test_stls(void **state)
{
	check(&creds_user, &info, &set_stls,
	    "+OK\r\n+OK\r\nSTLS\r\n.\r\n+OK Begin TLS\r\n"
	    "+OK\r\nUSER\r\n.\r\n+OK\r\n+OK\r\n",
	    "CAPA\r\nSTLS\r\n<STARTTLS >CAPA\r\nUSER bob\r\n"
	    "PASS pass word\r\n<LOGGED_IN >");
	check(&creds_user, &info, &set_stls, "+OK\r\n+OK\r\n.\r\n",
	    "CAPA\r\n<CLOSE backend does not offer STLS>");
	check(&creds_user, &info, &set_stls,
	    "+OK\r\n+OK\r\nSTLS\r\n.\r\n-ERR no\r\n",
	    "CAPA\r\nSTLS\r\n<CLOSE backend refused STLS>");
}

static void
test_hostile(void **state)
{
	struct proto_client_info ci = info;
	struct pop3_backend_settings set = {.line_max = 32};
	char big[128];

	check(&creds_user, &info, &set_plain, "-ERR go away\r\n",
	    "<CLOSE backend greeting is -ERR>");
	check(&creds_user, &info, &set_plain, "* OK IMAP\r\n",
	    "<CLOSE unexpected backend reply>");
	check(&creds_user, &info, &set_plain, "+OKAY\r\n",
	    "<CLOSE unexpected backend reply>");
	check(&creds_user, &info, &set_plain, "+OK\r\n+OK\r\n.\r\n+ \r\n",
	    "CAPA\r\nUSER bob\r\n<CLOSE unexpected continuation from backend>");
	memset(big, 'x', sizeof(big));
	memcpy(big, "+OK ", 4);
	check_len(&creds_user, &info, &set, big, sizeof(big),
	    "<CLOSE backend reply line too long><LEFT 95>");
	/* a NUL byte */
	check(&creds_user, &info, &set_plain, "+OK a\0b\r\n+OK\r\n",
	    "<CLOSE NUL byte in backend reply><LEFT 5>");
	/* TTL 0: refuse before anything is sent */
	ci.ttl = 0;
	check(&creds_user, &ci, &set_plain, "+OK\r\n",
	    "<CLOSE proxy TTL is 0: refusing (proxy loop?)><LEFT 5>");
	/* unsafe session id is left out */
	ci = info;
	strlcpy(ci.session_id, "a b\r\n", sizeof(ci.session_id));
	check(&creds_user, &ci, &set_plain,
	    "+OK\r\n+OK\r\nXCLIENT\r\n.\r\n+OK\r\n+OK\r\n+OK\r\n",
	    "CAPA\r\nXCLIENT ADDR=192.0.2.10 PORT=50000 DESTADDR=10.0.0.1 "
	    "DESTPORT=110 TTL=4\r\nUSER bob\r\nPASS pass word\r\n"
	    "<LOGGED_IN >");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_pass_simple),
	    cmocka_unit_test(test_pipelining_xclient),
	    cmocka_unit_test(test_proxy_header_no_xclient),
	    cmocka_unit_test(test_pass_after_user_reply),
	    cmocka_unit_test(test_sasl),
	    cmocka_unit_test(test_oauth),
	    cmocka_unit_test(test_stls),
	    cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

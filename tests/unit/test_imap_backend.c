/*
 * test_imap_backend.c - logging in to an IMAP backend.
 *
 * run_backend() plays the shell: it feeds a scripted backend byte stream
 * in chunks (whole, 1, 3 and 7 bytes), keeps unconsumed bytes, collects
 * what the module sends and records actions as "[...]" markers in one
 * transcript.  On STARTTLS it calls imap_backend_tls_started() and goes on
 * with the rest of the script (standing for the bytes read over TLS).
 * expect_backend() checks that every chunk size gives the same transcript.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "imap_backend.h"
#include "imap_parse.h"
#include "proto.h"
#include "sasl.h"

#define TRANSCRIPT_MAX 65536

struct transcript {
	char text[TRANSCRIPT_MAX];
	size_t len;
	size_t rest; /* backend bytes left at the final action */
};

static struct transcript tr_whole, tr_part;

static struct proto_client_info
info_default(void)
{
	struct proto_client_info info;

	memset(&info, 0, sizeof(info));
	strlcpy(info.client_ip, "192.0.2.1", sizeof(info.client_ip));
	info.client_port = 51000;
	strlcpy(info.local_ip, "192.0.2.10", sizeof(info.local_ip));
	info.local_port = 143;
	strlcpy(info.session_id, "sEsS1", sizeof(info.session_id));
	info.ttl = 4;
	return info;
}

static struct proto_creds
creds_make(enum proto_auth_kind kind, const char *authzid, const char *user,
    const char *pass)
{
	struct proto_creds cr;

	cr.kind = kind;
	cr.authzid = (char *)authzid;
	cr.authcid = (char *)user;
	cr.password = (char *)pass;
	cr.password_len = strlen(pass);
	return cr;
}

static void
tr_append(struct transcript *t, const char *s, size_t len)
{
	assert_true(t->len + len < sizeof(t->text));
	memcpy(t->text + t->len, s, len);
	t->len += len;
	t->text[t->len] = '\0';
}

static void
tr_flush(struct transcript *t, struct imap_backend *b)
{
	struct buf *out = imap_backend_output(b);

	tr_append(t, out->data != NULL ? out->data : "", out->len);
	buf_consume(out, out->len);
}

static void
tr_action(struct transcript *t, struct imap_backend *b, enum proto_action act)
{
	char line[2048];

	switch (act) {
	case PROTO_ACT_LOGGED_IN:
		snprintf(line, sizeof(line), "[LOGGED_IN caps='%s' text='%s']",
		    imap_backend_caps(b), imap_backend_reply_text(b));
		break;
	case PROTO_ACT_LOGIN_FAILED:
		if (imap_backend_challenge(b) != NULL)
			snprintf(line, sizeof(line),
			    "[FAILED text='%s' challenge='%s']",
			    imap_backend_reply_text(b),
			    imap_backend_challenge(b));
		else
			snprintf(line, sizeof(line), "[FAILED text='%s']",
			    imap_backend_reply_text(b));
		break;
	case PROTO_ACT_CLOSE:
		assert_non_null(imap_backend_error(b));
		snprintf(line, sizeof(line), "[CLOSE]");
		break;
	default:
		snprintf(line, sizeof(line), "[?%d]", (int)act);
		break;
	}
	tr_append(t, line, strlen(line));
}

static enum proto_action
run_backend(struct imap_backend *b, const char *in, size_t len, size_t step,
    struct transcript *t)
{
	static char pending[TRANSCRIPT_MAX];
	size_t plen = 0, fed = 0, n;
	enum proto_action act = PROTO_ACT_MORE;

	memset(t, 0, sizeof(*t));
	tr_flush(t, b);
	while (fed < len) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			n = imap_backend_input(b, pending, plen, &act);
			assert_true(n <= plen);
			memmove(pending, pending + n, plen - n);
			plen -= n;
			tr_flush(t, b);
			if (act == PROTO_ACT_STARTTLS) {
				tr_append(t, "[STARTTLS]", 10);
				imap_backend_tls_started(b);
				tr_flush(t, b);
				act = PROTO_ACT_MORE;
				if (plen > 0)
					continue;
				break;
			}
			if (act != PROTO_ACT_MORE) {
				tr_action(t, b, act);
				t->rest = plen + (len - fed);
				/* Repeated, consuming nothing. */
				assert_int_equal(
				    imap_backend_input(b, "x", 1, &act), 0);
				return act;
			}
			break;
		}
	}
	t->rest = plen;
	return act;
}

static enum proto_action
expect_backend(const struct proto_creds *cr,
    const struct proto_client_info *info, const struct imap_id_field *id,
    size_t nid, const struct imap_backend_settings *set, const char *in,
    const char *want)
{
	static const size_t steps[] = {1, 3, 7};
	struct imap_backend *b;
	enum proto_action act, act2;
	size_t i, len = strlen(in);

	b = imap_backend_new(cr, info, id, nid, set);
	assert_non_null(b);
	act = run_backend(b, in, len, len, &tr_whole);
	imap_backend_free(&b);
	assert_null(b);
	assert_string_equal(tr_whole.text, want);
	for (i = 0; i < nitems(steps); i++) {
		b = imap_backend_new(cr, info, id, nid, set);
		act2 = run_backend(b, in, len, steps[i], &tr_part);
		imap_backend_free(&b);
		assert_int_equal(act, act2);
		assert_string_equal(tr_whole.text, tr_part.text);
		/* After CLOSE the rest is thrown away anyway. */
		if (act != PROTO_ACT_CLOSE)
			assert_int_equal(tr_whole.rest, tr_part.rest);
	}
	return act;
}

/* The common case: default info, no client ID fields, no STARTTLS. */
static enum proto_action
expect_simple(const struct proto_creds *cr, const char *in, const char *want)
{
	struct proto_client_info info = info_default();
	struct imap_backend_settings set;

	memset(&set, 0, sizeof(set));
	return expect_backend(cr, &info, NULL, 0, &set, in, want);
}

#define GREETING_FULL                                                          \
	"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS "                  \
	"ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n"
#define GREETING_MIN "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Ready.\r\n"
#define ID_LINE                                                                \
	"D1 ID (\"x-originating-ip\" \"192.0.2.1\" "                           \
	"\"x-originating-port\" \"51000\" \"x-connected-ip\" \"192.0.2.10\" "  \
	"\"x-connected-port\" \"143\" \"x-session-id\" \"sEsS1\" "             \
	"\"x-proxy-ttl\" \"4\")\r\n"

static void
test_login_pipelined(void **state)
{
	struct proto_creds cr =
	    creds_make(PROTO_AUTH_LOGIN, "", "user", "pa\"ss");

	assert_int_equal(
	    expect_simple(&cr,
		GREETING_FULL
		"* ID (\"name\" \"Dovecot\")\r\nD1 OK ID completed.\r\n"
		"D2 OK [CAPABILITY IMAP4rev1 IDLE SORT] Logged in\r\n"
		"* 3 EXISTS\r\n",
		ID_LINE "D2 LOGIN \"user\" \"pa\\\"ss\"\r\n"
			"[LOGGED_IN caps='IMAP4rev1 IDLE SORT' "
			"text='[CAPABILITY IMAP4rev1 IDLE SORT] Logged in']"),
	    PROTO_ACT_LOGGED_IN);
	/* Bytes after the tagged OK belong to the client. */
	assert_int_equal(tr_whole.rest, strlen("* 3 EXISTS\r\n"));
}

static void
test_login_no_caps_in_greeting(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");

	/* No [CAPABILITY] anywhere: ask twice; no ID without the ID cap. */
	expect_simple(&cr,
	    "* OK Hello\r\n"
	    "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nD1 OK done\r\n"
	    "D2 OK Logged in.\r\n"
	    "* CAPABILITY IMAP4rev1 QUOTA\r\nD3 OK done\r\n",
	    "D1 CAPABILITY\r\nD2 LOGIN \"u\" \"p\"\r\nD3 CAPABILITY\r\n"
	    "[LOGGED_IN caps='IMAP4rev1 QUOTA' text='Logged in.']");
	/* Dovecot's notice before the real greeting while its auth process
	 * starts (seen on a real 2.3.19). */
	expect_simple(&cr,
	    "* OK Waiting for authentication process to respond..\r\n"
	    "* OK [CAPABILITY IMAP4rev1 ID AUTH=PLAIN] Dovecot ready.\r\n"
	    "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nD1 OK done\r\n"
	    "D2 OK [CAPABILITY IMAP4rev1] Logged in\r\n",
	    "D1 CAPABILITY\r\nD2 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='IMAP4rev1' text='[CAPABILITY IMAP4rev1] Logged "
	    "in']");
	/* An untagged CAPABILITY before the tagged OK is used. */
	expect_simple(&cr,
	    GREETING_MIN "* CAPABILITY IMAP4rev1 X\r\n"
			 "D1 OK Logged in.\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='IMAP4rev1 X' text='Logged in.']");
	/* A failing post-login CAPABILITY still means logged in. */
	expect_simple(&cr, GREETING_MIN "D1 OK Logged in.\r\nD2 BAD no\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\nD2 CAPABILITY\r\n"
	    "[LOGGED_IN caps='' text='Logged in.']");
}

static void
test_login_literals(void **state)
{
	struct proto_creds cr =
	    creds_make(PROTO_AUTH_LOGIN, "", "us\xc3\xa9r", "p\r\nw");

	/* LITERAL+: one write. */
	expect_simple(&cr,
	    "* OK [CAPABILITY IMAP4rev1 LITERAL+] x\r\n"
	    "D1 OK Logged in\r\n* CAPABILITY A\r\nD2 OK .\r\n",
	    "D1 LOGIN {5+}\r\nus\xc3\xa9r {4+}\r\np\r\nw\r\n"
	    "D2 CAPABILITY\r\n[LOGGED_IN caps='A' text='Logged in']");
	/* Synchronizing: wait for "+" before each literal's data. */
	expect_simple(&cr,
	    "* OK [CAPABILITY IMAP4rev1] x\r\n"
	    "+ OK\r\n+ go on\r\nD1 OK [CAPABILITY B] in\r\n",
	    "D1 LOGIN {5}\r\nus\xc3\xa9r {4}\r\np\r\nw\r\n"
	    "[LOGGED_IN caps='B' text='[CAPABILITY B] in']");
	/* A rejection before the literal was requested. */
	expect_simple(&cr,
	    "* OK [CAPABILITY IMAP4rev1] x\r\n"
	    "D1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
	    "D1 LOGIN {5}\r\n"
	    "[FAILED text='[AUTHENTICATIONFAILED] Authentication failed.']");
}

static void
test_login_rejected(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");

	assert_int_equal(
	    expect_simple(&cr,
		GREETING_FULL
		"D1 OK ID done\r\n"
		"D2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
		ID_LINE "D2 LOGIN \"u\" \"p\"\r\n"
			"[FAILED text='[AUTHENTICATIONFAILED] Authentication "
			"failed.']"),
	    PROTO_ACT_LOGIN_FAILED);
	expect_simple(&cr, GREETING_MIN "D1 BAD Weird\r\x01\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\n[FAILED text='Weird  ']");
}

static void
test_sasl(void **state)
{
	struct proto_creds plain =
	    creds_make(PROTO_AUTH_SASL_PLAIN, "", "user", "pass");
	struct proto_creds master =
	    creds_make(PROTO_AUTH_SASL_PLAIN, "admin", "user", "secret");
	struct proto_creds login =
	    creds_make(PROTO_AUTH_SASL_LOGIN, "", "user", "pass");

	/* SASL-IR: one line. */
	expect_simple(&plain,
	    GREETING_FULL "D1 OK\r\nD2 OK [CAPABILITY X] ok\r\n",
	    ID_LINE "D2 AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n"
		    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
	/* LOGIN mechanism clients are replayed as PLAIN. */
	expect_simple(&login, GREETING_FULL "D2 OK [CAPABILITY X] ok\r\n",
	    ID_LINE "D2 AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n"
		    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
	/* No SASL-IR: wait for the empty challenge. */
	expect_simple(&master, GREETING_MIN "+ \r\nD1 OK [CAPABILITY X] ok\r\n",
	    "D1 AUTHENTICATE PLAIN\r\nYWRtaW4AdXNlcgBzZWNyZXQ=\r\n"
	    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
	/* No AUTH=PLAIN: LOGIN does the same without an authzid... */
	expect_simple(&plain,
	    "* OK [CAPABILITY IMAP4rev1] x\r\n"
	    "D1 OK [CAPABILITY X] ok\r\n",
	    "D1 LOGIN \"user\" \"pass\"\r\n"
	    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
	/* ... but cannot carry one. */
	expect_simple(&master, "* OK [CAPABILITY IMAP4rev1] x\r\n", "[CLOSE]");
	/* A second challenge is not part of PLAIN. */
	expect_simple(&master, GREETING_MIN "+ \r\n+ \r\n",
	    "D1 AUTHENTICATE PLAIN\r\nYWRtaW4AdXNlcgBzZWNyZXQ=\r\n[CLOSE]");
}

static void
test_starttls(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");
	struct proto_client_info info = info_default();
	struct imap_backend_settings set;

	memset(&set, 0, sizeof(set));
	set.starttls = true;
	expect_backend(&cr, &info, NULL, 0, &set,
	    "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] x\r\n"
	    "D1 OK Begin TLS\r\n"
	    "* CAPABILITY IMAP4rev1 AUTH=PLAIN ID\r\nD2 OK\r\n"
	    "D4 OK [CAPABILITY Y] in\r\n",
	    "D1 STARTTLS\r\n[STARTTLS]D2 CAPABILITY\r\n"
	    "D3 ID (\"x-originating-ip\" \"192.0.2.1\" "
	    "\"x-originating-port\" \"51000\" \"x-connected-ip\" "
	    "\"192.0.2.10\" \"x-connected-port\" \"143\" \"x-session-id\" "
	    "\"sEsS1\" \"x-proxy-ttl\" \"4\")\r\nD4 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='Y' text='[CAPABILITY Y] in']");
	/* Greeting without capabilities. */
	expect_backend(&cr, &info, NULL, 0, &set,
	    "* OK hi\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\nD1 OK\r\n"
	    "D2 NO no TLS today\r\n",
	    "D1 CAPABILITY\r\nD2 STARTTLS\r\n[CLOSE]");
	expect_backend(&cr, &info, NULL, 0, &set, GREETING_MIN, "[CLOSE]");
}

static void
test_id_fields(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");
	struct proto_client_info info = info_default();
	struct imap_backend_settings set;
	struct imap_id_field id[] = {
	    {"name", "Thunderbird"},
	    {"X-Originating-IP", "6.6.6.6"},
	    {"version", NULL},
	    {"evil", "a\r\nD9 LOGOUT"},
	    {"x-proxy-ttl", "99"},
	    {"os", "Li\"nux"},
	    /* every x- name is the director's to set, not the client's */
	    {"x-forward-user", "admin"},
	    {"X-Session-Ext-Id", "spoofed"},
	    {"x-client-transport", "TLS"},
	    {"X-CONNECTED-NAME", "imap.example.com"},
	    {"x-anything", "1"},
	    {"x-", "2"},
	    {"xname", "kept"},
	};

	memset(&set, 0, sizeof(set));
	memset(info.client_ip, 0, sizeof(info.client_ip));
	memset(info.session_id, 0, sizeof(info.session_id));
	info.ttl = 1;
	expect_backend(&cr, &info, id, nitems(id), &set,
	    "* OK [CAPABILITY IMAP4rev1 ID] x\r\n"
	    "* ID (\"name\" {7}\r\nDovecot \"x\" {3}\r\nabc)\r\n"
	    "D1 OK\r\nD2 OK [CAPABILITY Z] in\r\n",
	    "D1 ID (\"x-connected-ip\" \"192.0.2.10\" \"x-connected-port\" "
	    "\"143\" \"x-proxy-ttl\" \"1\" \"name\" \"Thunderbird\" "
	    "\"version\" NIL \"os\" \"Li\\\"nux\" \"xname\" \"kept\")\r\n"
	    "D2 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='Z' text='[CAPABILITY Z] in']");
	/* A literal inside an untagged reply that is too large closes. */
	expect_backend(&cr, &info, NULL, 0, &set,
	    "* OK [CAPABILITY IMAP4rev1 ID] x\r\n"
	    "* ID (\"name\" {1000000}\r\n",
	    "D1 ID (\"x-connected-ip\" \"192.0.2.10\" \"x-connected-port\" "
	    "\"143\" \"x-proxy-ttl\" \"1\")\r\nD2 LOGIN \"u\" \"p\"\r\n"
	    "[CLOSE]");
}

/* Behind a PROXY v2 header the addresses are said: no x- fields; an ID
 * only for the client's own fields. */
static void
test_proxy_header(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");
	struct proto_client_info info = info_default();
	struct imap_backend_settings set;
	struct imap_id_field id[] = {{"name", "Thunderbird"}};
	struct imap_id_field own[] = {{"x-originating-ip", "6.6.6.6"}};

	memset(&set, 0, sizeof(set));
	info.proxy_header = true;
	expect_backend(&cr, &info, NULL, 0, &set,
	    GREETING_FULL "D1 OK [CAPABILITY Z] in\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='Z' text='[CAPABILITY Z] in']");
	expect_backend(&cr, &info, id, nitems(id), &set,
	    GREETING_FULL "D1 OK\r\nD2 OK [CAPABILITY Z] in\r\n",
	    "D1 ID (\"name\" \"Thunderbird\")\r\nD2 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='Z' text='[CAPABILITY Z] in']");
	/* nothing of the client's is left: NIL, never an empty list */
	expect_backend(&cr, &info, own, nitems(own), &set,
	    GREETING_FULL "D1 OK\r\nD2 OK [CAPABILITY Z] in\r\n",
	    "D1 ID NIL\r\nD2 LOGIN \"u\" \"p\"\r\n"
	    "[LOGGED_IN caps='Z' text='[CAPABILITY Z] in']");
}

static void
test_ttl_zero(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");
	struct proto_client_info info = info_default();
	struct imap_backend_settings set;

	memset(&set, 0, sizeof(set));
	info.ttl = 0;
	assert_null(imap_backend_new(&cr, &info, NULL, 0, &set));
}

static void
test_bad_backends(void **state)
{
	struct proto_creds cr = creds_make(PROTO_AUTH_LOGIN, "", "u", "p");
	char longline[IMAP_BACKEND_LINE_MAX + 16];

	expect_simple(&cr, "* BYE Too busy\r\n", "[CLOSE]");
	expect_simple(
	    &cr, "* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", "[CLOSE]");
	expect_simple(&cr, "HTTP/1.1 400 Bad Request\r\n", "[CLOSE]");
	expect_simple(&cr, "+OK POP3 ready\r\n", "[CLOSE]");
	expect_simple(&cr, "* OK hi\r\nD1 NO\r\n", "D1 CAPABILITY\r\n[CLOSE]");
	expect_simple(&cr, GREETING_MIN "X9 OK whose?\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\n[CLOSE]");
	expect_simple(&cr, GREETING_MIN "D1 MAYBE\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\n[CLOSE]");
	expect_simple(
	    &cr, GREETING_MIN "+ more?\r\n", "D1 LOGIN \"u\" \"p\"\r\n[CLOSE]");
	expect_simple(&cr, GREETING_MIN "* BYE shutting down\r\n",
	    "D1 LOGIN \"u\" \"p\"\r\n[CLOSE]");
	expect_simple(
	    &cr, "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] x\r\n", "[CLOSE]");
	memset(longline, 'x', sizeof(longline) - 3);
	memcpy(longline, "* OK ", 5);
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	expect_simple(&cr, longline, "[CLOSE]");
}

/* "n,a=bob,^Aauth=Bearer tok^A^A" */
#define BEARER_MSG "n,a=bob,\001auth=Bearer tok\001\001"
#define BEARER_B64 "bixhPWJvYiwBYXV0aD1CZWFyZXIgdG9rAQE="
/* "user=bob^Aauth=Bearer tok^A^A" */
#define XOAUTH2_MSG "user=bob\001auth=Bearer tok\001\001"
#define XOAUTH2_B64 "dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rAQE="
/* {"status":"401"} */
#define CHALLENGE "eyJzdGF0dXMiOiI0MDEifQ=="
#define GREETING_IR "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] Hi.\r\n"

/* Runs in fed whole; the module is left for the caller to look at and
 * free. */
static struct imap_backend *
run_whole(const struct proto_creds *cr, const char *in, size_t len,
    enum proto_action *act_r)
{
	struct proto_client_info info = info_default();
	struct imap_backend_settings set;
	struct imap_backend *b;

	memset(&set, 0, sizeof(set));
	b = imap_backend_new(cr, &info, NULL, 0, &set);
	assert_non_null(b);
	*act_r = run_backend(b, in, len, len, &tr_part);
	return b;
}

/* Why the module closed on in: its static log text. */
static const char *
close_reason(const struct proto_creds *cr, const char *in)
{
	struct imap_backend *b;
	enum proto_action act;
	const char *error;

	b = run_whole(cr, in, strlen(in), &act);
	assert_int_equal(act, PROTO_ACT_CLOSE);
	error = imap_backend_error(b);
	imap_backend_free(&b);
	return error;
}

/* OAuth: the client's message replayed; an error challenge kept for the
 * client and answered with the dummy response. */
static void
test_oauth(void **state)
{
	struct proto_creds bearer =
	    creds_make(PROTO_AUTH_SASL_OAUTHBEARER, "", "bob", BEARER_MSG);
	struct proto_creds xoauth2 =
	    creds_make(PROTO_AUTH_SASL_XOAUTH2, "", "bob", XOAUTH2_MSG);

	/* SASL-IR: one line, pipelined after ID */
	assert_int_equal(
	    expect_simple(&bearer,
		GREETING_FULL "D1 OK\r\nD2 OK [CAPABILITY X] ok\r\n",
		ID_LINE "D2 AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"
			"[LOGGED_IN caps='X' text='[CAPABILITY X] ok']"),
	    PROTO_ACT_LOGGED_IN);
	expect_simple(&xoauth2,
	    GREETING_FULL "D1 OK\r\nD2 OK [CAPABILITY X] ok\r\n",
	    ID_LINE "D2 AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\n"
		    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
	/* without SASL-IR the message waits for the continuation */
	assert_int_equal(expect_simple(&xoauth2, GREETING_MIN,
			     "D1 AUTHENTICATE XOAUTH2\r\n"),
	    PROTO_ACT_MORE);
	expect_simple(&xoauth2,
	    GREETING_MIN "+ \r\nD1 OK [CAPABILITY X] ok\r\n",
	    "D1 AUTHENTICATE XOAUTH2\r\n" XOAUTH2_B64 "\r\n"
	    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
	/* a plain rejection: no challenge */
	assert_int_equal(
	    expect_simple(&bearer,
		GREETING_MIN "D1 NO [AUTHENTICATIONFAILED] Authentication "
			     "failed.\r\n",
		"D1 AUTHENTICATE OAUTHBEARER\r\n"
		"[FAILED text='[AUTHENTICATIONFAILED] Authentication "
		"failed.']"),
	    PROTO_ACT_LOGIN_FAILED);
}

static void
test_oauth_error_challenge(void **state)
{
	struct proto_creds bearer =
	    creds_make(PROTO_AUTH_SASL_OAUTHBEARER, "", "bob", BEARER_MSG);
	struct proto_creds xoauth2 =
	    creds_make(PROTO_AUTH_SASL_XOAUTH2, "", "bob", XOAUTH2_MSG);

	/* OAUTHBEARER's dummy response is %x01 */
	assert_int_equal(
	    expect_simple(&bearer,
		GREETING_FULL "D1 OK\r\n+ " CHALLENGE "\r\n"
			      "D2 NO [AUTHENTICATIONFAILED] Authentication "
			      "failed.\r\n* 1 EXISTS\r\n",
		ID_LINE "D2 AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"
			"AQ==\r\n"
			"[FAILED text='[AUTHENTICATIONFAILED] Authentication "
			"failed.' challenge='" CHALLENGE "']"),
	    PROTO_ACT_LOGIN_FAILED);
	assert_int_equal(tr_whole.rest, strlen("* 1 EXISTS\r\n"));
	/* XOAUTH2's is empty; BAD fails the same way */
	expect_simple(&xoauth2, GREETING_MIN "+ \r\n+ eyJ9\r\nD1 BAD no\r\n",
	    "D1 AUTHENTICATE XOAUTH2\r\n" XOAUTH2_B64 "\r\n\r\n"
	    "[FAILED text='no' challenge='eyJ9']");
	/* the first continuation is the go-ahead, whatever it says */
	expect_simple(&bearer, GREETING_MIN "+ eyJ9\r\n+ eyJ9\r\nD1 NO x\r\n",
	    "D1 AUTHENTICATE OAUTHBEARER\r\n" BEARER_B64 "\r\nAQ==\r\n"
	    "[FAILED text='x' challenge='eyJ9']");
	/* accepted after all */
	expect_simple(&bearer,
	    GREETING_IR "+ eyJ9\r\nD1 OK [CAPABILITY X] ok\r\n",
	    "D1 AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "[LOGGED_IN caps='X' text='[CAPABILITY X] ok']");
}

/* Only one challenge, and only base64: anything else closes. */
static void
test_oauth_bad_challenges(void **state)
{
	struct proto_creds bearer =
	    creds_make(PROTO_AUTH_SASL_OAUTHBEARER, "", "bob", BEARER_MSG);
	struct proto_creds plain =
	    creds_make(PROTO_AUTH_SASL_PLAIN, "", "user", "pass");
	static char in[SASL_CHALLENGE_MAX + 128];
	struct imap_backend *b;
	enum proto_action act;
	size_t len;

	expect_simple(&bearer, GREETING_IR "+ eyJ9\r\n+ eyJ9\r\n",
	    "D1 AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n[CLOSE]");
	assert_string_equal(
	    close_reason(&bearer, GREETING_IR "+ eyJ9\r\n+ eyJ9\r\n"),
	    "unexpected continuation from backend");
	expect_simple(&bearer, GREETING_IR "+ {\"status\":\"401\"}\r\n",
	    "D1 AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n[CLOSE]");
	assert_string_equal(
	    close_reason(&bearer, GREETING_IR "+ {\"status\":\"401\"}\r\n"),
	    "invalid OAuth challenge from backend");
	assert_string_equal(close_reason(&bearer, GREETING_IR "+\r\n"),
	    "invalid OAuth challenge from backend");
	assert_string_equal(close_reason(&bearer, GREETING_IR "+ \r\n"),
	    "invalid OAuth challenge from backend");
	assert_string_equal(close_reason(&bearer, GREETING_IR "+ eyJ9 x\r\n"),
	    "invalid OAuth challenge from backend");
	/* PLAIN never takes one */
	assert_string_equal(
	    close_reason(&plain, GREETING_FULL "+ " CHALLENGE "\r\n"),
	    "unexpected continuation from backend");
	/* the longest challenge is kept, one more byte closes */
	len = (size_t)snprintf(in, sizeof(in), "%s+ ", GREETING_IR);
	memset(in + len, 'A', SASL_CHALLENGE_MAX);
	len += SASL_CHALLENGE_MAX;
	memcpy(in + len, "\r\nD1 NO x\r\n", sizeof("\r\nD1 NO x\r\n"));
	b = run_whole(&bearer, in, strlen(in), &act);
	assert_int_equal(act, PROTO_ACT_LOGIN_FAILED);
	assert_non_null(imap_backend_challenge(b));
	assert_int_equal(
	    strspn(imap_backend_challenge(b), "A"), SASL_CHALLENGE_MAX);
	assert_int_equal(strlen(imap_backend_challenge(b)), SASL_CHALLENGE_MAX);
	imap_backend_free(&b);
	memmove(in + len + 1, in + len, sizeof("\r\nD1 NO x\r\n"));
	in[len] = 'A';
	assert_string_equal(
	    close_reason(&bearer, in), "invalid OAuth challenge from backend");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_login_pipelined),
	    cmocka_unit_test(test_login_no_caps_in_greeting),
	    cmocka_unit_test(test_login_literals),
	    cmocka_unit_test(test_login_rejected),
	    cmocka_unit_test(test_sasl),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_id_fields),
	    cmocka_unit_test(test_proxy_header),
	    cmocka_unit_test(test_ttl_zero),
	    cmocka_unit_test(test_bad_backends),
	    cmocka_unit_test(test_oauth),
	    cmocka_unit_test(test_oauth_error_challenge),
	    cmocka_unit_test(test_oauth_bad_challenges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

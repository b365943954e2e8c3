/*
 * test_imap_client.c - the pre-login IMAP server facing clients.
 *
 * Every scenario runs through run_script(), which plays the shell: it feeds
 * the input in chunks of a given size (whole, 1, 3 and 7 bytes), keeps the
 * unconsumed bytes as the contract says, collects the output and records
 * actions as "[ACTION ...]" markers in one transcript.  expect() asserts
 * that every chunk size gives the same transcript, and the expected one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "imap_client.h"
#include "imap_parse.h"
#include "proto.h"
#include "sasl.h"

#define TRANSCRIPT_MAX (256 * 1024)

struct transcript {
	char text[TRANSCRIPT_MAX];
	size_t len;
	/* Bytes of input left unconsumed at the STARTTLS/LOGIN/CLOSE that
	 * ended the run (for injection and pipelining checks). */
	size_t rest;
};

/* Scripted outcomes for each PROTO_ACT_LOGIN, in order. */
struct login_script {
	enum proto_login_status status;
	const char *text;
	const char *caps;
	/* Stop the run at this LOGIN (do not answer it). */
	bool stop;
};

/* The backend's OAuth error challenge given before each scripted
 * result (imap_client_login_challenge()), or NULL: no call. */
static const char *const *login_challenges;

static struct imap_client_settings
settings_default(void)
{
	struct imap_client_settings set;

	memset(&set, 0, sizeof(set));
	set.starttls = true;
	set.allow_plaintext_auth = true;
	return set;
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
tr_flush(struct transcript *t, struct imap_client *c)
{
	struct buf *out = imap_client_output(c);

	tr_append(t, out->data != NULL ? out->data : "", out->len);
	buf_consume(out, out->len);
}

static void
tr_login(struct transcript *t, const struct proto_creds *cr)
{
	char line[512];
	const char *kind = cr->kind == PROTO_AUTH_LOGIN ? "LOGIN"
	    : cr->kind == PROTO_AUTH_SASL_PLAIN         ? "PLAIN"
	    : cr->kind == PROTO_AUTH_SASL_LOGIN         ? "SASL-LOGIN"
	    : cr->kind == PROTO_AUTH_SASL_OAUTHBEARER   ? "OAUTHBEARER"
							: "XOAUTH2";

	snprintf(line, sizeof(line), "[LOGIN %s '%s' '%s' '%.*s']", kind,
	    cr->authzid, cr->authcid, (int)cr->password_len, cr->password);
	tr_append(t, line, strlen(line));
}

/*
 * Plays the shell for one client.  Returns the last action.  On STARTTLS
 * and CLOSE the run stops (t->rest = bytes left); on LOGIN the next
 * scripted result is given and the run goes on (pipelined bytes are fed
 * again), unless the script says stop.
 */
static enum proto_action
run_script(struct imap_client *c, const char *in, size_t len, size_t step,
    const struct login_script *script, size_t nscript, struct transcript *t)
{
	char pending[TRANSCRIPT_MAX];
	size_t plen = 0, fed = 0, n, si = 0;
	enum proto_action act = PROTO_ACT_MORE;

	t->rest = 0;
	while (fed < len || plen > 0) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			n = imap_client_input(c, pending, plen, &act);
			assert_true(n <= plen);
			memmove(pending, pending + n, plen - n);
			plen -= n;
			tr_flush(t, c);
			if (act == PROTO_ACT_MORE) {
				if (n == 0 || plen == 0)
					break;
				continue;
			}
			if (act == PROTO_ACT_STARTTLS) {
				tr_append(t, "[STARTTLS]", 10);
				t->rest = plen + (len - fed);
				return act;
			}
			if (act == PROTO_ACT_CLOSE) {
				tr_append(t, "[CLOSE]", 7);
				t->rest = plen + (len - fed);
				return act;
			}
			assert_int_equal(act, PROTO_ACT_LOGIN);
			assert_non_null(imap_client_creds(c));
			tr_login(t, imap_client_creds(c));
			assert_true(si < nscript);
			if (script[si].stop) {
				t->rest = plen + (len - fed);
				return act;
			}
			if (login_challenges != NULL &&
			    login_challenges[si] != NULL)
				imap_client_login_challenge(
				    c, login_challenges[si]);
			imap_client_login_result(c, script[si].status,
			    script[si].text, script[si].caps);
			assert_null(imap_client_creds(c));
			si++;
			tr_flush(t, c);
			if (plen == 0)
				break;
		}
		if (fed == len && act == PROTO_ACT_MORE && n == 0 && plen > 0)
			break;
	}
	t->rest = plen;
	return act;
}

static struct transcript tr_whole, tr_part;

/* Runs in with every chunk size and checks the transcripts agree with
 * each other and with want.  Returns the action of the whole run. */
static enum proto_action
expect_script(const struct imap_client_settings *set, const char *in,
    size_t len, const struct login_script *script, size_t nscript,
    const char *want)
{
	static const size_t steps[] = {1, 3, 7};
	struct imap_client *c;
	enum proto_action act, act2;
	size_t i;

	memset(&tr_whole, 0, sizeof(tr_whole));
	c = imap_client_new(set);
	act = run_script(
	    c, in, len, len > 0 ? len : 1, script, nscript, &tr_whole);
	imap_client_free(&c);
	assert_null(c);
	if (want != NULL)
		assert_string_equal(tr_whole.text, want);
	for (i = 0; i < nitems(steps); i++) {
		memset(&tr_part, 0, sizeof(tr_part));
		c = imap_client_new(set);
		act2 =
		    run_script(c, in, len, steps[i], script, nscript, &tr_part);
		imap_client_free(&c);
		assert_int_equal(act, act2);
		assert_string_equal(tr_whole.text, tr_part.text);
		if (act != PROTO_ACT_CLOSE)
			assert_int_equal(tr_whole.rest, tr_part.rest);
	}
	return act;
}

static enum proto_action
expect(const char *in, const char *want)
{
	struct imap_client_settings set = settings_default();

	return expect_script(&set, in, strlen(in), NULL, 0, want);
}

static const struct login_script login_stop = {.stop = true};

/* Expects the input to end in a LOGIN with the given transcript. */
static void
expect_login(const char *in, const char *want)
{
	struct imap_client_settings set = settings_default();

	assert_int_equal(
	    expect_script(&set, in, strlen(in), &login_stop, 1, want),
	    PROTO_ACT_LOGIN);
}

#define CAPS_PLAIN "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+"

static void
test_greeting(void **state)
{
	struct imap_client_settings set = settings_default();
	struct imap_client *c;
	struct buf *out;

	c = imap_client_new(&set);
	imap_client_greeting(c);
	out = imap_client_output(c);
	assert_int_equal(out->len,
	    strlen("* OK [CAPABILITY " CAPS_PLAIN
		   " STARTTLS AUTH=PLAIN AUTH=LOGIN] Director ready.\r\n"));
	assert_memory_equal(out->data,
	    "* OK [CAPABILITY " CAPS_PLAIN
	    " STARTTLS AUTH=PLAIN AUTH=LOGIN] Director ready.\r\n",
	    out->len);
	imap_client_free(&c);

	set.allow_plaintext_auth = false;
	set.greeting = "Hi\r\nthere";
	c = imap_client_new(&set);
	imap_client_greeting(c);
	out = imap_client_output(c);
	assert_int_equal(out->len,
	    strlen("* OK [CAPABILITY " CAPS_PLAIN
		   " STARTTLS LOGINDISABLED] Hi  there\r\n"));
	assert_memory_equal(out->data,
	    "* OK [CAPABILITY " CAPS_PLAIN
	    " STARTTLS LOGINDISABLED] Hi  there\r\n",
	    out->len);
	imap_client_free(&c);

	set.secured = true;
	set.greeting = NULL;
	c = imap_client_new(&set);
	imap_client_greeting(c);
	out = imap_client_output(c);
	assert_memory_equal(out->data,
	    "* OK [CAPABILITY " CAPS_PLAIN
	    " AUTH=PLAIN AUTH=LOGIN] Director ready.\r\n",
	    out->len);
	imap_client_free(&c);
}

static void
test_simple_commands(void **state)
{
	expect("a1 CAPABILITY\r\n",
	    "* CAPABILITY " CAPS_PLAIN " STARTTLS AUTH=PLAIN AUTH=LOGIN\r\n"
	    "a1 OK Pre-login capabilities listed, post-login capabilities "
	    "have more.\r\n");
	expect("a2 noop\r\nA3 NoOp\n",
	    "a2 OK NOOP completed.\r\nA3 OK NOOP completed.\r\n");
	assert_int_equal(
	    expect("x LOGOUT\r\ny NOOP\r\n",
		"* BYE Logging out\r\nx OK Logout completed.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
	assert_int_equal(tr_whole.rest, strlen("y NOOP\r\n"));
	/* Empty lines are ignored; no arguments allowed. */
	expect("\r\n\na NOOP x\r\nb CAPABILITY (\r\nc LOGOUT \"\"\r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b BAD Error in IMAP command received by server.\r\n"
	    "c BAD Error in IMAP command received by server.\r\n");
	expect("a SELECT INBOX\r\nb FOO\r\nc\r\nd \r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b BAD Error in IMAP command received by server.\r\n"
	    "c BAD Error in IMAP command received by server.\r\n"
	    "d BAD Error in IMAP command received by server.\r\n");
}

static void
test_id(void **state)
{
	struct imap_client_settings set = settings_default();
	const struct imap_id_field *f;
	struct imap_client *c;
	enum proto_action act;
	struct transcript t;
	unsigned int ttl;
	size_t n;
	const char *in = "a ID (\"name\" \"Thunder\\\"bird\" \"version\" NIL "
			 "\"x-proxy-ttl\" {1}\r\n4 \"os\" {3+}\r\nl\"x)\r\n";

	expect("a ID NIL\r\n",
	    "* ID (\"name\" \"director\")\r\na OK ID completed.\r\n");
	expect(in,
	    "+ OK\r\n"
	    "* ID (\"name\" \"director\")\r\na OK ID completed.\r\n");

	memset(&t, 0, sizeof(t));
	c = imap_client_new(&set);
	assert_false(imap_client_proxy_ttl(c, &ttl));
	act = run_script(c, in, strlen(in), strlen(in), NULL, 0, &t);
	assert_int_equal(act, PROTO_ACT_MORE);
	f = imap_client_id_fields(c, &n);
	assert_int_equal(n, 4);
	assert_string_equal(f[0].name, "name");
	assert_string_equal(f[0].value, "Thunder\"bird");
	assert_string_equal(f[1].name, "version");
	assert_null(f[1].value);
	assert_string_equal(f[2].name, "x-proxy-ttl");
	assert_string_equal(f[2].value, "4");
	assert_string_equal(f[3].value, "l\"x");
	assert_true(imap_client_proxy_ttl(c, &ttl));
	assert_int_equal(ttl, 4);
	/* ID NIL forgets them; STARTTLS also does (tested below). */
	run_script(c, "b ID NIL\r\n", 10, 10, NULL, 0, &t);
	f = imap_client_id_fields(c, &n);
	assert_int_equal(n, 0);
	assert_false(imap_client_proxy_ttl(c, &ttl));
	imap_client_free(&c);

	expect("a ID (\"name\")\r\nb ID (\"a\" (\"c\"))\r\nc ID\r\n"
	       "d ID (\"0123456789012345678901234567890\" \"x\")\r\n"
	       "e ID (name \"x\")\r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b BAD Invalid ID parameters.\r\n"
	    "c BAD Error in IMAP command received by server.\r\n"
	    "d BAD Invalid ID parameters.\r\n"
	    "e BAD Invalid ID parameters.\r\n");
}

static void
test_id_many_fields(void **state)
{
	struct imap_client_settings set = settings_default();
	struct imap_client *c;
	struct transcript t;
	char in[4096];
	size_t n, len;
	int i;

	len = (size_t)snprintf(in, sizeof(in), "a ID (");
	for (i = 0; i < 34; i++)
		len += (size_t)snprintf(in + len, sizeof(in) - len,
		    "%s\"k%d\" \"v%d\"", i > 0 ? " " : "", i, i);
	len += (size_t)snprintf(in + len, sizeof(in) - len, ")\r\n");
	memset(&t, 0, sizeof(t));
	c = imap_client_new(&set);
	run_script(c, in, len, len, NULL, 0, &t);
	assert_string_equal(
	    t.text, "* ID (\"name\" \"director\")\r\na OK ID completed.\r\n");
	(void)imap_client_id_fields(c, &n);
	assert_int_equal(n, IMAP_ID_FIELDS_MAX);
	imap_client_free(&c);
}

static void
test_starttls(void **state)
{
	struct imap_client_settings set = settings_default();
	struct imap_client *c;
	struct transcript t;
	size_t n;
	const char *in = "a ID (\"k\" \"v\")\r\nb STARTTLS\r\n"
			 "c LOGIN user pass\r\n";

	/* Bytes pipelined after STARTTLS are left to the shell. */
	assert_int_equal(
	    expect_script(&set, in, strlen(in), NULL, 0,
		"* ID (\"name\" \"director\")\r\na OK ID completed.\r\n"
		"b OK Begin TLS negotiation now.\r\n[STARTTLS]"),
	    PROTO_ACT_STARTTLS);
	assert_int_equal(tr_whole.rest, strlen("c LOGIN user pass\r\n"));

	memset(&t, 0, sizeof(t));
	c = imap_client_new(&set);
	run_script(c, in, strlen(in), 1, NULL, 0, &t);
	/* Nothing is parsed until TLS is up. */
	assert_int_equal(imap_client_input(c, "c NOOP\r\n", 8,
			     &(enum proto_action){PROTO_ACT_MORE}),
	    0);
	imap_client_tls_started(c);
	(void)imap_client_id_fields(c, &n);
	assert_int_equal(n, 0);
	memset(&t, 0, sizeof(t));
	run_script(c, "d CAPABILITY\r\ne STARTTLS\r\n", 26, 26, NULL, 0, &t);
	assert_string_equal(t.text,
	    "* CAPABILITY " CAPS_PLAIN " AUTH=PLAIN AUTH=LOGIN\r\n"
	    "d OK Pre-login capabilities listed, post-login capabilities "
	    "have more.\r\n"
	    "e BAD TLS is already active.\r\n");
	imap_client_free(&c);

	set.starttls = false;
	expect_script(&set, "a STARTTLS\r\n", 12, NULL, 0,
	    "a BAD TLS support isn't enabled.\r\n");
}

static void
test_login_forms(void **state)
{
	expect_login("a LOGIN user pass\r\n", "[LOGIN LOGIN '' 'user' 'pass']");
	/* wildcards are fine in an atom (master login), not in a tag */
	expect_login("a LOGIN user*master p%ss\r\n",
	    "[LOGIN LOGIN '' 'user*master' 'p%ss']");
	expect_login("a login \"us er\" \"p\\\"a\\\\ss\"\r\n",
	    "[LOGIN LOGIN '' 'us er' 'p\"a\\ss']");
	expect_login("a LOGIN {4}\r\nuser {6}\r\np\\a\"s)\r\n",
	    "+ OK\r\n+ OK\r\n[LOGIN LOGIN '' 'user' 'p\\a\"s)']");
	expect_login(
	    "a LOGIN {4+}\r\nuser {0+}\r\n\r\n", "[LOGIN LOGIN '' 'user' '']");
	/* 8-bit passwords in quoted strings are accepted (UTF-8). */
	expect_login("a LOGIN u \"p\xc3\xa4ss\"\r\n",
	    "[LOGIN LOGIN '' 'u' 'p\xc3\xa4ss']");
	expect("a LOGIN user\r\nb LOGIN a b c\r\nc LOGIN \"\" x\r\n"
	       "d LOGIN (a) b\r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b BAD Error in IMAP command received by server.\r\n"
	    "c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
	    "d BAD Error in IMAP command received by server.\r\n");
}

static void
test_login_results(void **state)
{
	struct imap_client_settings set = settings_default();
	static const struct login_script script[] = {
	    {PROTO_LOGIN_REJECTED,
		"[AUTHENTICATIONFAILED] Authentication failed.", NULL, false},
	    {PROTO_LOGIN_TEMPFAIL, NULL, NULL, false},
	    {PROTO_LOGIN_REJECTED, NULL, NULL, false},
	    {PROTO_LOGIN_OK, NULL, "IMAP4rev1 IDLE", false},
	};
	const char *in = "a LOGIN u bad\r\nb LOGIN u x\r\nc LOGIN u y\r\n"
			 "d LOGIN u good\r\ne SELECT INBOX\r\n";

	assert_int_equal(
	    expect_script(&set, in, strlen(in), script, 4,
		"[LOGIN LOGIN '' 'u' 'bad']"
		"a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
		"[LOGIN LOGIN '' 'u' 'x']"
		"b NO [UNAVAILABLE] Account is temporarily unavailable.\r\n"
		"[LOGIN LOGIN '' 'u' 'y']"
		"c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
		"[LOGIN LOGIN '' 'u' 'good']"
		"d OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"),
	    PROTO_ACT_MORE);
	/* After login nothing is parsed: the pipelined SELECT is left for
	 * the backend. */
	assert_int_equal(tr_whole.rest, strlen("e SELECT INBOX\r\n"));
}

static void
test_rejected_logins_count_as_bad(void **state)
{
	struct imap_client_settings set = settings_default();
	static const struct login_script script[] = {
	    {PROTO_LOGIN_REJECTED, NULL, NULL, false},
	    {PROTO_LOGIN_TEMPFAIL, NULL, NULL, false},
	    {PROTO_LOGIN_REJECTED, NULL, NULL, false},
	    {PROTO_LOGIN_REJECTED, NULL, NULL, false},
	};
	const char *in = "a LOGIN u 1\r\nb LOGIN u 2\r\nc LOGIN u 3\r\n"
			 "d LOGIN u 4\r\ne NOOP\r\n";

	/* a temporary failure is not the client's fault; three rejected
	 * passwords reach a limit of three */
	set.bad_max = 3;
	assert_int_equal(
	    expect_script(&set, in, strlen(in), script, 4,
		"[LOGIN LOGIN '' 'u' '1']"
		"a NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
		"[LOGIN LOGIN '' 'u' '2']"
		"b NO [UNAVAILABLE] Account is temporarily unavailable.\r\n"
		"[LOGIN LOGIN '' 'u' '3']"
		"c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
		"[LOGIN LOGIN '' 'u' '4']"
		"d NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
		"* BYE Too many invalid IMAP commands.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
}

static void
test_login_pipelined(void **state)
{
	/* nginx "pipelined LOGIN + LOGOUT": LOGOUT is the backend's. */
	expect_login("a LOGIN u p\r\nb LOGOUT\r\n", "[LOGIN LOGIN '' 'u' 'p']");
	assert_int_equal(tr_whole.rest, strlen("b LOGOUT\r\n"));
	expect_login("a AUTHENTICATE PLAIN\r\nAHUAcA==\r\nb NOOP\r\n",
	    "+ \r\n[LOGIN PLAIN '' 'u' 'p']");
	assert_int_equal(tr_whole.rest, strlen("b NOOP\r\n"));
}

static void
test_login_result_texts(void **state)
{
	struct imap_client_settings set = settings_default();
	static const struct login_script ok_code[] = {
	    {PROTO_LOGIN_OK, "[CAPABILITY IMAP4rev1 X] Hello", "Y", false},
	};
	static const struct login_script ok_text[] = {
	    {PROTO_LOGIN_OK, "Logged in, welcome\r\n* injected", NULL, false},
	};
	static const struct login_script tempfail[] = {
	    {PROTO_LOGIN_TEMPFAIL, "Try later.", NULL, false},
	};

	expect_script(&set, "t LOGIN u p\r\n", 13, ok_code, 1,
	    "[LOGIN LOGIN '' 'u' 'p']t OK [CAPABILITY IMAP4rev1 X] Hello\r\n");
	expect_script(&set, "t LOGIN u p\r\n", 13, ok_text, 1,
	    "[LOGIN LOGIN '' 'u' 'p']"
	    "t OK Logged in, welcome  * injected\r\n");
	expect_script(&set, "t LOGIN u p\r\n", 13, tempfail, 1,
	    "[LOGIN LOGIN '' 'u' 'p']t NO [UNAVAILABLE] Try later.\r\n");
}

static void
test_logindisabled(void **state)
{
	struct imap_client_settings set = settings_default();
	const char *in = "a LOGIN user pass\r\nb LOGIN {4}\r\nc AUTHENTICATE "
			 "PLAIN\r\nd CAPABILITY\r\n";

	set.allow_plaintext_auth = false;
	/* No "+ OK" for the literal: the password never has to be sent. */
	expect_script(&set, in, strlen(in), NULL, 0,
	    "a "
	    "NO [PRIVACYREQUIRED] Plaintext authentication disallowed "
	    "on non-secure (SSL/TLS) connections.\r\n"
	    "b "
	    "NO [PRIVACYREQUIRED] Plaintext authentication disallowed "
	    "on non-secure (SSL/TLS) connections.\r\n"
	    "c "
	    "NO [PRIVACYREQUIRED] Plaintext authentication disallowed "
	    "on non-secure (SSL/TLS) connections.\r\n"
	    "* CAPABILITY " CAPS_PLAIN " STARTTLS LOGINDISABLED\r\n"
	    "d OK Pre-login capabilities listed, post-login capabilities "
	    "have more.\r\n");
}

static void
test_authenticate_plain(void **state)
{
	/* "\0user\0pass" and "admin\0user\0secret" */
	expect_login("a AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n",
	    "[LOGIN PLAIN '' 'user' 'pass']");
	expect_login("a authenticate plain\r\nYWRtaW4AdXNlcgBzZWNyZXQ=\r\n",
	    "+ \r\n[LOGIN PLAIN 'admin' 'user' 'secret']");
	expect("a AUTHENTICATE PLAIN\r\n*\r\nb AUTHENTICATE PLAIN\r\n!!\r\n"
	       "c AUTHENTICATE PLAIN =\r\nd AUTHENTICATE CRAM-MD5\r\n"
	       "e AUTHENTICATE\r\nf AUTHENTICATE PLAIN a b\r\n",
	    "+ \r\na BAD Authentication aborted by client.\r\n"
	    "+ \r\nb BAD Invalid base64 data in continued response.\r\n"
	    "c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
	    "d NO [ALERT] Unsupported authentication mechanism.\r\n"
	    "e BAD Error in IMAP command received by server.\r\n"
	    "f BAD Error in IMAP command received by server.\r\n");
}

static void
test_authenticate_login(void **state)
{
	expect_login("a AUTHENTICATE LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n",
	    "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n"
	    "[LOGIN SASL-LOGIN '' 'user' 'pass']");
	expect_login("a AUTHENTICATE LOGIN dXNlcg==\r\ncGFzcw==\r\n",
	    "+ UGFzc3dvcmQ6\r\n[LOGIN SASL-LOGIN '' 'user' 'pass']");
	expect("a AUTHENTICATE LOGIN\r\n\r\nb AUTHENTICATE LOGIN =\r\n"
	       "c AUTHENTICATE LOGIN dXNlcg==\r\n*\r\n",
	    "+ VXNlcm5hbWU6\r\na NO [AUTHENTICATIONFAILED] Invalid user "
	    "name.\r\n"
	    "b NO [AUTHENTICATIONFAILED] Invalid user name.\r\n"
	    "+ UGFzc3dvcmQ6\r\nc BAD Authentication aborted by client.\r\n");
	/* NUL in the password ("a\0b"), bad base64 at the password: the
	 * first is a failed login, the second a bad command */
	expect("a AUTHENTICATE LOGIN dXNlcg==\r\nYQBi\r\n"
	       "b AUTHENTICATE LOGIN dXNlcg==\r\n!!!!\r\nc NOOP\r\n",
	    "+ UGFzc3dvcmQ6\r\na NO [AUTHENTICATIONFAILED] Invalid "
	    "password.\r\n"
	    "+ UGFzc3dvcmQ6\r\nb BAD Invalid base64 data in continued "
	    "response.\r\nc OK NOOP completed.\r\n");
}

static void
test_long_line(void **state)
{
	char in[IMAP_CLIENT_LINE_MAX + 64];
	struct imap_client_settings set = settings_default();
	size_t len;

	/* Exactly line_max bytes plus CRLF is fine. */
	memset(in, 'x', sizeof(in));
	memcpy(in, "a NOOP ", 7);
	len = IMAP_CLIENT_LINE_MAX;
	memcpy(in + len, "\r\n", 2);
	expect_script(&set, in, len + 2, NULL, 0,
	    "a BAD Error in IMAP command received by server.\r\n");
	/* One more closes. */
	len = IMAP_CLIENT_LINE_MAX + 1;
	memcpy(in + len, "\r\n", 2);
	assert_int_equal(expect_script(&set, in, len + 2, NULL, 0,
			     "* BYE Too long command line.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
	/* Without any LF at all. */
	assert_int_equal(expect_script(&set, in, sizeof(in), NULL, 0,
			     "* BYE Too long command line.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
}

static void
test_tags(void **state)
{
	expect("0123456789012345678901234567890a NOOP\r\n",
	    "0123456789012345678901234567890a OK NOOP completed.\r\n");
	expect("0123456789012345678901234567890ab NOOP\r\n"
	       "a+b NOOP\r\n(x NOOP\r\n a NOOP\r\nta\"g NOOP\r\n"
	       "* NOOP\r\na% NOOP\r\n",
	    "* BAD Error in IMAP command received by server.\r\n"
	    "* BAD Error in IMAP command received by server.\r\n"
	    "* BAD Error in IMAP command received by server.\r\n"
	    "* BAD Error in IMAP command received by server.\r\n"
	    "* BAD Error in IMAP command received by server.\r\n"
	    "* BAD Error in IMAP command received by server.\r\n"
	    "* BAD Error in IMAP command received by server.\r\n");
}

static void
test_literal_limits(void **state)
{
	struct imap_client_settings set = settings_default();
	static const char nul_literal[] = "a LOGIN u {3+}\r\na\0b\r\n"
					  "b NOOP\r\n";
	char in[20000];
	size_t len;

	/* Synchronizing: too large, overflowing, negative, empty. */
	expect("a LOGIN {8193}\r\nb LOGIN "
	       "{999999999999999999999999999999}\r\nc LOGIN {-1}\r\n"
	       "d LOGIN {}\r\ne LOGIN {5}x\r\nf LOGIN u {\r\ng NOOP\r\n",
	    "a BAD Literal too large.\r\n"
	    "b BAD Literal too large.\r\n"
	    "c BAD Error in IMAP command received by server.\r\n"
	    "d BAD Error in IMAP command received by server.\r\n"
	    "e BAD Error in IMAP command received by server.\r\n"
	    "f BAD Error in IMAP command received by server.\r\n"
	    "g OK NOOP completed.\r\n");
	/* Non-synchronizing and too large but skippable: skipped, never
	 * parsed; the rest of the command is read and rejected. */
	len = (size_t)snprintf(in, sizeof(in), "a LOGIN u {9000+}\r\n");
	memset(in + len, 'x', 9000);
	memcpy(in + len, "b NOOP\r\n", 8);
	len += 9000;
	len += (size_t)snprintf(in + len, sizeof(in) - len, "\r\nc NOOP\r\n");
	expect_script(&set, in, len, NULL, 0,
	    "a BAD Literal too large.\r\nc OK NOOP completed.\r\n");
	/* Too large to skip: close. */
	assert_int_equal(
	    expect("a LOGIN u {99999999999999999999999+}\r\n"
		   "b NOOP\r\n",
		"* BYE Literal too large in rejected command.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
	/* NUL inside a literal. */
	expect_script(&set, nul_literal, sizeof(nul_literal) - 1, NULL, 0,
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b OK NOOP completed.\r\n");
}

static void
test_rejected_literal(void **state)
{
	/* A rejected command's non-sync literal is skipped, not parsed. */
	expect("a SELECT {8+}\r\nb NOOP\r\n\r\nc NOOP\r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "c OK NOOP completed.\r\n");
	/* Its sync literal is refused without "+". */
	expect("a SELECT {8}\r\nc NOOP\r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "c OK NOOP completed.\r\n");
	/* A syntax error on a line ending in {n+}: where the command ends is
	 * unknown, so close (nginx "literal not command"). */
	assert_int_equal(
	    expect("a LOGIN \"unbalanced {6+}\r\n"
		   "b NOOP\r\n",
		"* BYE Invalid command with a literal.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
	expect("a LOGIN \"unbalanced {6}\r\nb NOOP\r\n",
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b OK NOOP completed.\r\n");
}

static void
test_bad_bytes(void **state)
{
	struct imap_client_settings set = settings_default();
	const char in[] =
	    "a NO\0OP\r\nb LOGIN u\0 p\r\nc LOGIN \"u\0\" p\r\n"
	    "d LOGIN \xff p\r\ne LOGIN \"unbalanced p\r\nf LOGIN u (p\r\n"
	    "g LOGIN u p)\r\nh LOGIN \"a\\b\" p\r\ni  NOOP\r\nj LOGIN {5}}\r\n";

	expect_script(&set, in, sizeof(in) - 1, NULL, 0,
	    "a BAD Error in IMAP command received by server.\r\n"
	    "b BAD Error in IMAP command received by server.\r\n"
	    "c BAD Error in IMAP command received by server.\r\n"
	    "d BAD Error in IMAP command received by server.\r\n"
	    "e BAD Error in IMAP command received by server.\r\n"
	    "f BAD Error in IMAP command received by server.\r\n"
	    "g BAD Error in IMAP command received by server.\r\n"
	    "h BAD Error in IMAP command received by server.\r\n"
	    "i BAD Error in IMAP command received by server.\r\n"
	    "j BAD Error in IMAP command received by server.\r\n"
	    "* BYE Too many invalid IMAP commands.\r\n[CLOSE]");
}

static void
test_too_many_bad(void **state)
{
	struct imap_client_settings set = settings_default();
	char in[1024], want[2048];
	size_t len = 0, wlen = 0;
	int i;

	set.bad_max = 3;
	for (i = 0; i < 5; i++)
		len += (size_t)snprintf(
		    in + len, sizeof(in) - len, "t%d FETCH 1 ALL\r\n", i);
	for (i = 0; i < 3; i++)
		wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen,
		    "t%d BAD Error in IMAP command received by server.\r\n", i);
	snprintf(want + wlen, sizeof(want) - wlen,
	    "* BYE Too many invalid IMAP commands.\r\n[CLOSE]");
	assert_int_equal(
	    expect_script(&set, in, len, NULL, 0, want), PROTO_ACT_CLOSE);
}

static void
test_output_bounded(void **state)
{
	struct imap_client_settings set = settings_default();
	static char in[2000 * 8];
	struct imap_client *c;
	enum proto_action act;
	size_t i, n;

	for (i = 0; i < 2000; i++)
		memcpy(in + i * 8, "a NOOP\r\n", 8);
	c = imap_client_new(&set);
	n = imap_client_input(c, in, sizeof(in), &act);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_true(n < sizeof(in));
	assert_true(imap_client_output(c)->len <= IMAP_CLIENT_OUTPUT_HIGH + 64);
	/* Nothing more is parsed until the output is written. */
	assert_int_equal(imap_client_input(c, in + n, sizeof(in) - n, &act), 0);
	buf_consume(imap_client_output(c), imap_client_output(c)->len);
	assert_true(imap_client_input(c, in + n, sizeof(in) - n, &act) > 0);
	imap_client_free(&c);
	/* The driver handles partial consumption identically. */
	expect_script(&set, in, sizeof(in), NULL, 0, NULL);
	assert_int_equal(
	    tr_whole.len, 2000 * strlen("a OK NOOP completed.\r\n"));
}

/* OAuth: every mechanism offered. */
#define MECHS_ALL                                                              \
	(SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |           \
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2))
#define CAPS_OAUTH                                                             \
	CAPS_PLAIN " STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=OAUTHBEARER "         \
		   "AUTH=XOAUTH2"
#define CAPS_REPLY                                                             \
	"OK Pre-login capabilities listed, post-login capabilities have "      \
	"more.\r\n"
/* "n,a=bob,^Aauth=Bearer tok^A^A" */
#define BEARER_MSG "n,a=bob,\001auth=Bearer tok\001\001"
#define BEARER_B64 "bixhPWJvYiwBYXV0aD1CZWFyZXIgdG9rAQE="
/* "user=bob^Aauth=Bearer tok^A^A" */
#define XOAUTH2_MSG "user=bob\001auth=Bearer tok\001\001"
#define XOAUTH2_B64 "dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rAQE="
/* "n,,^Aauth=Bearer x^A^A": no user to route by */
#define NO_USER_B64 "biwsAWF1dGg9QmVhcmVyIHgBAQ=="
/* the backend's error challenge, {"status":"401"} */
#define CHALLENGE "eyJzdGF0dXMiOiI0MDEifQ=="
#define NO_AUTH "NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"

static struct imap_client_settings
settings_oauth(void)
{
	struct imap_client_settings set = settings_default();

	set.mechs = MECHS_ALL;
	return set;
}

static enum proto_action
expect_oauth(const char *in, const char *want)
{
	struct imap_client_settings set = settings_oauth();

	return expect_script(&set, in, strlen(in), NULL, 0, want);
}

static void
expect_oauth_login(const char *in, const char *want)
{
	struct imap_client_settings set = settings_oauth();

	assert_int_equal(
	    expect_script(&set, in, strlen(in), &login_stop, 1, want),
	    PROTO_ACT_LOGIN);
}

/* Scripted rejections, each after the backend's challenge
 * login_challenges[i]. */
static enum proto_action
expect_challenged(const struct imap_client_settings *set, const char *in,
    const char *const *challenges, size_t n, const char *want)
{
	static const struct login_script rejected[] = {
	    {PROTO_LOGIN_REJECTED,
		"[AUTHENTICATIONFAILED] Authentication failed.", NULL, false},
	    {PROTO_LOGIN_REJECTED,
		"[AUTHENTICATIONFAILED] Authentication failed.", NULL, false},
	    {PROTO_LOGIN_REJECTED,
		"[AUTHENTICATIONFAILED] Authentication failed.", NULL, false},
	    {PROTO_LOGIN_REJECTED,
		"[AUTHENTICATIONFAILED] Authentication failed.", NULL, false},
	};
	enum proto_action act;

	assert_true(n <= nitems(rejected));
	login_challenges = challenges;
	act = expect_script(set, in, strlen(in), rejected, n, want);
	login_challenges = NULL;
	return act;
}

static void
test_oauth_mechs(void **state)
{
	struct imap_client_settings set = settings_oauth();
	struct imap_client *c;
	struct buf *out;

	c = imap_client_new(&set);
	imap_client_greeting(c);
	out = imap_client_output(c);
	assert_int_equal(out->len,
	    strlen("* OK [CAPABILITY " CAPS_OAUTH "] Director ready.\r\n"));
	assert_memory_equal(out->data,
	    "* OK [CAPABILITY " CAPS_OAUTH "] Director ready.\r\n", out->len);
	imap_client_free(&c);
	expect_oauth(
	    "a CAPABILITY\r\n", "* CAPABILITY " CAPS_OAUTH "\r\na " CAPS_REPLY);
	/* only the OAuth mechanisms: PLAIN and LOGIN are not offered */
	set.mechs = SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2);
	expect_script(&set,
	    "a CAPABILITY\r\nb AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n"
	    "c AUTHENTICATE LOGIN\r\n",
	    strlen("a CAPABILITY\r\nb AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\n"
		   "c AUTHENTICATE LOGIN\r\n"),
	    NULL, 0,
	    "* CAPABILITY " CAPS_PLAIN " STARTTLS AUTH=OAUTHBEARER "
	    "AUTH=XOAUTH2\r\na " CAPS_REPLY
	    "b NO [ALERT] Unsupported authentication mechanism.\r\n"
	    "c NO [ALERT] Unsupported authentication mechanism.\r\n");
	/* by default neither OAuth mechanism is offered */
	expect("a CAPABILITY\r\nb AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"
	       "c AUTHENTICATE XOAUTH2\r\nd NOOP\r\n",
	    "* CAPABILITY " CAPS_PLAIN " STARTTLS AUTH=PLAIN AUTH=LOGIN\r\n"
	    "a " CAPS_REPLY
	    "b NO [ALERT] Unsupported authentication mechanism.\r\n"
	    "c NO [ALERT] Unsupported authentication mechanism.\r\n"
	    "d OK NOOP completed.\r\n");
}

static void
test_oauth_authenticate(void **state)
{
	struct imap_client_settings set = settings_oauth();
	static const char in[] =
	    "t1 AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n";
	const struct proto_creds *cr;
	struct imap_client *c;
	enum proto_action act;

	/* SASL-IR; what follows is the backend's */
	expect_oauth_login("a AUTHENTICATE OAUTHBEARER " BEARER_B64
			   "\r\nb NOOP\r\n",
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']");
	assert_int_equal(tr_whole.rest, strlen("b NOOP\r\n"));
	/* without: the empty challenge first */
	expect_oauth_login("a authenticate xoauth2\r\n" XOAUTH2_B64 "\r\n",
	    "+ \r\n[LOGIN XOAUTH2 '' 'bob' '" XOAUTH2_MSG "']");
	expect_oauth_login("a AUTHENTICATE OAuthBearer\r\n" BEARER_B64 "\r\n",
	    "+ \r\n[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']");
	/* "n,a=al=2Cice,^Aauth=Bearer t^A^A": the escaped user */
	expect_oauth_login("a AUTHENTICATE OAUTHBEARER "
			   "bixhPWFsPTJDaWNlLAFhdXRoPUJlYXJlciB0AQE=\r\n",
	    "[LOGIN OAUTHBEARER '' 'al,ice' "
	    "'n,a=al=2Cice,\001auth=Bearer t\001\001']");

	/* the credentials as the shell gets them */
	c = imap_client_new(&set);
	assert_int_equal(
	    imap_client_input(c, in, sizeof(in) - 1, &act), sizeof(in) - 1);
	assert_int_equal(act, PROTO_ACT_LOGIN);
	cr = imap_client_creds(c);
	assert_non_null(cr);
	assert_int_equal(cr->kind, PROTO_AUTH_SASL_OAUTHBEARER);
	assert_true(proto_auth_is_oauth(cr->kind));
	assert_string_equal(cr->authzid, "");
	assert_string_equal(cr->authcid, "bob");
	assert_int_equal(cr->password_len, sizeof(BEARER_MSG) - 1);
	assert_memory_equal(cr->password, BEARER_MSG, sizeof(BEARER_MSG));
	assert_string_equal(imap_client_login_tag(c), "t1");
	assert_int_equal(imap_client_output(c)->len, 0);
	imap_client_free(&c);
}

static void
test_oauth_bad_messages(void **state)
{
	struct imap_client_settings set = settings_oauth();
	static const char two[] = "a AUTHENTICATE OAUTHBEARER " NO_USER_B64
				  "\r\nb AUTHENTICATE XOAUTH2\r\n"
				  "dXNlcj1ib2IBAQ==\r\nc NOOP\r\n";

	/* no a= to route by; the dummy response first; XOAUTH2 given an
	 * OAUTHBEARER message; an empty one; not base64; cancelled */
	expect_oauth("a AUTHENTICATE OAUTHBEARER " NO_USER_B64 "\r\n"
		     "b AUTHENTICATE OAUTHBEARER\r\nAQ==\r\n"
		     "c AUTHENTICATE XOAUTH2 " BEARER_B64 "\r\n"
		     "d AUTHENTICATE XOAUTH2 =\r\n"
		     "e AUTHENTICATE OAUTHBEARER\r\nn,a=bob\r\n"
		     "f AUTHENTICATE XOAUTH2\r\n*\r\ng NOOP\r\n",
	    "a NO [AUTHENTICATIONFAILED] No user name (a=) to route by.\r\n"
	    "+ \r\nb NO [AUTHENTICATIONFAILED] Unexpected dummy response.\r\n"
	    "c NO [AUTHENTICATIONFAILED] Invalid XOAUTH2 message.\r\n"
	    "d NO [AUTHENTICATIONFAILED] Invalid XOAUTH2 message.\r\n"
	    "+ \r\ne BAD Invalid base64 data in continued response.\r\n"
	    "+ \r\nf BAD Authentication aborted by client.\r\n"
	    "g OK NOOP completed.\r\n");
	/* a malformed message is a bad command ("user=bob^A^A": no auth) */
	set.bad_max = 2;
	assert_int_equal(
	    expect_script(&set, two, sizeof(two) - 1, NULL, 0,
		"a NO [AUTHENTICATIONFAILED] No user name (a=) to route "
		"by.\r\n"
		"+ \r\nb NO [AUTHENTICATIONFAILED] Invalid XOAUTH2 "
		"message.\r\n"
		"* BYE Too many invalid IMAP commands.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
}

/* The backend's error challenge goes to the client; the NO waits for
 * the client's response, whatever it is. */
static void
test_oauth_error_challenge(void **state)
{
	struct imap_client_settings set = settings_oauth();
	static const char *const ch[] = {CHALLENGE, CHALLENGE, CHALLENGE};
	static const char in[] =
	    "a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n";
	struct imap_client *c;
	enum proto_action act;
	struct buf *out;

	expect_challenged(&set,
	    "a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "b CAPABILITY\r\n",
	    ch, 1,
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "+ " CHALLENGE "\r\na " NO_AUTH "* CAPABILITY " CAPS_OAUTH
	    "\r\nb " CAPS_REPLY);
	/* XOAUTH2's dummy response is an empty line; "*" and anything
	 * else end it the same way */
	expect_challenged(&set,
	    "a AUTHENTICATE XOAUTH2\r\n" XOAUTH2_B64 "\r\n\r\n"
	    "b AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\n*\r\n"
	    "c AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nc NOOP\r\n"
	    "d NOOP\r\n",
	    ch, 3,
	    "+ \r\n[LOGIN XOAUTH2 '' 'bob' '" XOAUTH2_MSG "']"
	    "+ " CHALLENGE "\r\na " NO_AUTH
	    "[LOGIN XOAUTH2 '' 'bob' '" XOAUTH2_MSG "']"
	    "+ " CHALLENGE "\r\nb " NO_AUTH
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "+ " CHALLENGE "\r\nc " NO_AUTH "d OK NOOP completed.\r\n");

	/* step by step: nothing but the challenge until the response */
	c = imap_client_new(&set);
	out = imap_client_output(c);
	assert_int_equal(
	    imap_client_input(c, in, sizeof(in) - 1, &act), sizeof(in) - 1);
	assert_int_equal(act, PROTO_ACT_LOGIN);
	imap_client_login_challenge(c, CHALLENGE);
	assert_int_equal(out->len, 0);
	assert_non_null(imap_client_creds(c));
	imap_client_login_result(c, PROTO_LOGIN_REJECTED,
	    "[AUTHENTICATIONFAILED] Authentication failed.", NULL);
	assert_null(imap_client_creds(c));
	assert_int_equal(out->len, strlen("+ " CHALLENGE "\r\n"));
	assert_memory_equal(out->data, "+ " CHALLENGE "\r\n", out->len);
	buf_consume(out, out->len);
	/* a second result is not expected: nothing */
	imap_client_login_result(c, PROTO_LOGIN_OK, NULL, NULL);
	assert_int_equal(out->len, 0);
	assert_int_equal(imap_client_input(c, "AQ=", 3, &act), 3);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_int_equal(out->len, 0);
	assert_int_equal(imap_client_input(c, "=\r\nb NOOP\r\n", 11, &act), 11);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_int_equal(
	    out->len, strlen("a " NO_AUTH "b OK NOOP completed.\r\n"));
	assert_memory_equal(
	    out->data, "a " NO_AUTH "b OK NOOP completed.\r\n", out->len);
	imap_client_free(&c);
}

/* The backend's text of the deferred NO is relayed like any other:
 * one line, its own code or none. */
static void
test_oauth_error_texts(void **state)
{
	struct imap_client_settings set = settings_oauth();
	static const char *const ch[] = {CHALLENGE, CHALLENGE};
	static const struct login_script texts[] = {
	    {PROTO_LOGIN_REJECTED, NULL, NULL, false},
	    {PROTO_LOGIN_REJECTED, "[X] bad\r\na2 OK injected", NULL, false},
	};
	static const char in[] =
	    "a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
	    "b AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n";

	login_challenges = ch;
	expect_script(&set, in, sizeof(in) - 1, texts, 2,
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "+ " CHALLENGE "\r\na " NO_AUTH
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "+ " CHALLENGE "\r\nb NO [X] bad  a2 OK injected\r\n");
	login_challenges = NULL;
}

/* A challenge counts only for a pending OAuth login that is rejected,
 * and only if it is base64. */
static void
test_oauth_challenge_ignored(void **state)
{
	struct imap_client_settings set = settings_oauth();
	static const char *const ch[] = {CHALLENGE, CHALLENGE};
	static const char *const invalid[] = {
	    "eyJ zd", "{\"status\":\"401\"}", "", "eyJ9\r\n+ eyJ9"};
	static const struct login_script tempfail_then_no[] = {
	    {PROTO_LOGIN_TEMPFAIL, NULL, NULL, false},
	    {PROTO_LOGIN_REJECTED, NULL, NULL, false},
	};
	static const struct login_script ok[] = {
	    {PROTO_LOGIN_OK, NULL, NULL, false},
	};
	struct imap_client *c;
	enum proto_action act;
	struct buf *out;
	size_t i;

	/* PLAIN, LOGIN: no challenge to relay, the NO at once */
	expect_challenged(&set,
	    "a AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\nb LOGIN u p\r\n"
	    "c NOOP\r\n",
	    ch, 2,
	    "[LOGIN PLAIN '' 'user' 'pass']a " NO_AUTH
	    "[LOGIN LOGIN '' 'u' 'p']b " NO_AUTH "c OK NOOP completed.\r\n");
	/* not base64 (or empty, or over lines) */
	for (i = 0; i < nitems(invalid); i++) {
		login_challenges = &invalid[i];
		expect_script(&set,
		    "a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nb NOOP\r\n",
		    strlen("a AUTHENTICATE OAUTHBEARER " BEARER_B64
			   "\r\nb NOOP\r\n"),
		    tempfail_then_no + 1, 1,
		    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
		    "a " NO_AUTH "b OK NOOP completed.\r\n");
	}
	/* dropped with a temporary failure: the next login's NO comes at
	 * once */
	login_challenges = (const char *const[]){CHALLENGE, NULL};
	expect_script(&set,
	    "a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"
	    "b AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nc NOOP\r\n",
	    strlen("a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"
		   "b AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nc NOOP\r\n"),
	    tempfail_then_no, 2,
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "a NO [UNAVAILABLE] Account is temporarily unavailable.\r\n"
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "b " NO_AUTH "c OK NOOP completed.\r\n");
	/* ... and with a success */
	login_challenges = ch;
	expect_script(&set,
	    "a AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\nb NOOP\r\n",
	    strlen("a AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\nb NOOP\r\n"), ok,
	    1, "[LOGIN XOAUTH2 '' 'bob' '" XOAUTH2_MSG "']a OK Logged in\r\n");
	assert_int_equal(tr_whole.rest, strlen("b NOOP\r\n"));
	login_challenges = NULL;

	/* given while no login is pending: forgotten */
	c = imap_client_new(&set);
	out = imap_client_output(c);
	imap_client_login_challenge(c, CHALLENGE);
	assert_int_equal(
	    imap_client_input(c,
		"a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n",
		strlen("a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"), &act),
	    strlen("a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n"));
	assert_int_equal(act, PROTO_ACT_LOGIN);
	imap_client_login_result(c, PROTO_LOGIN_REJECTED, NULL, NULL);
	assert_int_equal(out->len, strlen("a " NO_AUTH));
	assert_memory_equal(out->data, "a " NO_AUTH, out->len);
	imap_client_free(&c);
}

/* Rejected OAuth logins reach the bad command limit like passwords do;
 * the one with a challenge counts when its NO is sent. */
static void
test_oauth_rejected_count_as_bad(void **state)
{
	struct imap_client_settings set = settings_oauth();
	static const char *const ch[] = {CHALLENGE, NULL, CHALLENGE};

	set.bad_max = 3;
	assert_int_equal(
	    expect_challenged(&set,
		"a AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
		"b AUTHENTICATE XOAUTH2 " XOAUTH2_B64 "\r\n"
		"c AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\nAQ==\r\n"
		"d NOOP\r\n",
		ch, 3,
		"[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
		"+ " CHALLENGE "\r\na " NO_AUTH
		"[LOGIN XOAUTH2 '' 'bob' '" XOAUTH2_MSG "']b " NO_AUTH
		"[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
		"+ " CHALLENGE "\r\nc " NO_AUTH
		"* BYE Too many invalid IMAP commands.\r\n[CLOSE]"),
	    PROTO_ACT_CLOSE);
	assert_int_equal(tr_whole.rest, strlen("d NOOP\r\n"));
	/* bad messages and rejections add up */
	expect_challenged(&set,
	    "a AUTHENTICATE OAUTHBEARER " NO_USER_B64 "\r\n"
	    "b AUTHENTICATE OAUTHBEARER " BEARER_B64 "\r\n*\r\n"
	    "c AUTHENTICATE OAUTHBEARER " NO_USER_B64 "\r\nd NOOP\r\n",
	    ch, 1,
	    "a NO [AUTHENTICATIONFAILED] No user name (a=) to route by.\r\n"
	    "[LOGIN OAUTHBEARER '' 'bob' '" BEARER_MSG "']"
	    "+ " CHALLENGE "\r\nb " NO_AUTH
	    "c NO [AUTHENTICATIONFAILED] No user name (a=) to route by.\r\n"
	    "* BYE Too many invalid IMAP commands.\r\n[CLOSE]");
}

static void
test_after_close(void **state)
{
	struct imap_client_settings set = settings_default();
	struct imap_client *c;
	enum proto_action act;

	c = imap_client_new(&set);
	assert_int_equal(imap_client_input(c, "a LOGOUT\r\n", 10, &act), 10);
	assert_int_equal(act, PROTO_ACT_CLOSE);
	assert_int_equal(imap_client_input(c, "b NOOP\r\n", 8, &act), 0);
	assert_int_equal(act, PROTO_ACT_CLOSE);
	/* No login pending: no reply. */
	imap_client_login_result(c, PROTO_LOGIN_OK, NULL, NULL);
	assert_int_equal(imap_client_output(c)->len,
	    strlen("* BYE Logging out\r\na OK Logout completed.\r\n"));
	imap_client_free(&c);
	imap_client_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting),
	    cmocka_unit_test(test_simple_commands),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_id_many_fields),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_login_forms),
	    cmocka_unit_test(test_login_results),
	    cmocka_unit_test(test_rejected_logins_count_as_bad),
	    cmocka_unit_test(test_login_pipelined),
	    cmocka_unit_test(test_login_result_texts),
	    cmocka_unit_test(test_logindisabled),
	    cmocka_unit_test(test_authenticate_plain),
	    cmocka_unit_test(test_authenticate_login),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_literal_limits),
	    cmocka_unit_test(test_rejected_literal),
	    cmocka_unit_test(test_bad_bytes),
	    cmocka_unit_test(test_too_many_bad),
	    cmocka_unit_test(test_output_bounded),
	    cmocka_unit_test(test_oauth_mechs),
	    cmocka_unit_test(test_oauth_authenticate),
	    cmocka_unit_test(test_oauth_bad_messages),
	    cmocka_unit_test(test_oauth_error_challenge),
	    cmocka_unit_test(test_oauth_error_texts),
	    cmocka_unit_test(test_oauth_challenge_ignored),
	    cmocka_unit_test(test_oauth_rejected_count_as_bad),
	    cmocka_unit_test(test_after_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_sieve_client.c - the pre-login ManageSieve server.  Every scenario
 * is run twice, fed whole and one byte at a time, and both transcripts
 * (output, actions, credentials) must be identical to each other and to
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
#include "proto.h"
#include "sasl.h"
#include "sieve_client.h"

#define TRANSCRIPT_MAX 65536
#include "transcript.h"

/* How the fake shell answers PROTO_ACT_LOGIN, in turn. */
static const enum proto_login_status *login_results;
static const char *const *login_texts;
/* The backend's OAuth error challenge given before each result
 * (sieve_client_login_challenge()), or NULL: no call. */
static const char *const *login_challenges;

/* Plays the shell: feeds in (chunk bytes at a time), moves output into
 * the transcript and marks actions as "<ACTION>" lines.  After STARTTLS
 * the input up to the marker "<TLS>" is discarded (it came before the
 * handshake). */
static void
drive(const struct sieve_client_settings *set, const char *in, size_t len,
    size_t chunk, struct transcript *t)
{
	struct sieve_client *c = sieve_client_new(set);
	struct buf *out = sieve_client_output(c);
	const struct proto_creds *creds;
	enum proto_action act;
	size_t pos = 0, n, used;
	unsigned int logins = 0;

	t->len = 0;
	t->text[0] = '\0';
	sieve_client_greeting(c);
	transcript_add(t, out->data, out->len);
	buf_consume(out, out->len);
	while (pos < len) {
		n = MIN_OF(chunk, len - pos);
		assert_null(sieve_client_creds(c));
		used = sieve_client_input(c, in + pos, n, &act);
		assert_true(used <= n);
		pos += used;
		transcript_add(t, out->data != NULL ? out->data : "", out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_CLOSE) {
			transcript_printf(t, "<CLOSE>");
			/* closed for good: nothing more is consumed */
			assert_int_equal(
			    sieve_client_input(c, "NOOP\r\n", 6, &act), 0);
			assert_int_equal(act, PROTO_ACT_CLOSE);
			assert_int_equal(out->len, 0);
			break;
		}
		if (act == PROTO_ACT_STARTTLS) {
			const char *m = memmem(in + pos, len - pos, "<TLS>", 5);

			transcript_printf(t, "<STARTTLS@%zu>", pos);
			pos = m != NULL ? (size_t)(m - in) + 5 : len;
			sieve_client_tls_started(c);
			continue;
		}
		if (act == PROTO_ACT_LOGIN) {
			creds = sieve_client_creds(c);
			assert_non_null(creds);
			transcript_printf(t, "<LOGIN %d [%s] [%s] [%.*s]>",
			    (int)creds->kind, creds->authzid, creds->authcid,
			    (int)creds->password_len, creds->password);
			if (login_challenges != NULL &&
			    login_challenges[logins] != NULL)
				sieve_client_login_challenge(
				    c, login_challenges[logins]);
			sieve_client_login_result(c,
			    login_results != NULL ? login_results[logins]
						  : PROTO_LOGIN_OK,
			    login_texts != NULL ? login_texts[logins] : NULL);
			assert_null(sieve_client_creds(c));
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
	sieve_client_free(&c);
	assert_null(c);
}

/* Feeds in[0..len) whole and one byte at a time; both transcripts must
 * equal expect.  Lengths are explicit so NUL bytes are really fed. */
static void
check_len(const struct sieve_client_settings *set, const char *in, size_t len,
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

static const struct sieve_client_settings set_plain = {
    .greeting = "ready",
    .allow_plaintext_auth = true,
};
static const struct sieve_client_settings set_stls = {
    .starttls = true,
};

#define CAPS_HEAD                                                              \
	"\"IMPLEMENTATION\" \"Director\"\r\n"                                  \
	"\"SIEVE\" \"" SIEVE_CLIENT_EXTENSIONS_DEFAULT "\"\r\n"                \
	"\"NOTIFY\" \"mailto\"\r\n"
/* capabilities when authentication is allowed, STARTTLS not offered */
#define CAPS_AUTH                                                              \
	CAPS_HEAD "\"SASL\" \"PLAIN LOGIN\"\r\n\"VERSION\" \"1.0\"\r\n"
/* capabilities before STARTTLS */
#define CAPS_STLS                                                              \
	CAPS_HEAD "\"SASL\" \"\"\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n"
#define HELLO CAPS_AUTH "OK \"ready\"\r\n"
#define HELLO_STLS CAPS_STLS "OK \"Director ready.\"\r\n"
#define NO_BAD "NO \"Error in MANAGESIEVE command received by server.\"\r\n"
#define NO_PLAINTEXT                                                           \
	"NO (ENCRYPT-NEEDED) \"Plaintext authentication disallowed on "        \
	"non-secure (SSL/TLS) connections.\"\r\n"
#define BYE_BAD "BYE \"Too many invalid MANAGESIEVE commands.\"\r\n"
#define OK_LOGGED_IN "OK \"Logged in.\"\r\n"

static void
test_greeting(void **state)
{
	struct sieve_client_settings set = {0};

	/* the whole text once, spelled out */
	check(&set_stls, "",
	    "\"IMPLEMENTATION\" \"Director\"\r\n"
	    "\"SIEVE\" \"fileinto reject envelope encoded-character vacation "
	    "subaddress comparator-i;ascii-numeric relational regex "
	    "imap4flags copy include variables body enotify environment "
	    "mailbox date index ihave duplicate mime foreverypart "
	    "extracttext\"\r\n"
	    "\"NOTIFY\" \"mailto\"\r\n"
	    "\"SASL\" \"\"\r\n"
	    "\"STARTTLS\"\r\n"
	    "\"VERSION\" \"1.0\"\r\n"
	    "OK \"Director ready.\"\r\n");
	/* implicit TLS: mechanisms, no STARTTLS even if configured */
	set.secured = true;
	set.starttls = true;
	check(&set, "", CAPS_AUTH "OK \"Director ready.\"\r\n");
	/* settings are quoted and flattened to one line; no enotify, no
	 * NOTIFY unless set */
	set.implementation = "Dove\"cot\\ 2";
	set.sieve_extensions = "fileinto\r\nvacation";
	set.greeting = "hi";
	check(&set, "",
	    "\"IMPLEMENTATION\" \"Dove\\\"cot\\\\ 2\"\r\n"
	    "\"SIEVE\" \"fileinto  vacation\"\r\n"
	    "\"SASL\" \"PLAIN LOGIN\"\r\n\"VERSION\" \"1.0\"\r\n"
	    "OK \"hi\"\r\n");
	set.notify = "mailto xmpp";
	check(&set, "",
	    "\"IMPLEMENTATION\" \"Dove\\\"cot\\\\ 2\"\r\n"
	    "\"SIEVE\" \"fileinto  vacation\"\r\n"
	    "\"NOTIFY\" \"mailto xmpp\"\r\n"
	    "\"SASL\" \"PLAIN LOGIN\"\r\n\"VERSION\" \"1.0\"\r\n"
	    "OK \"hi\"\r\n");
	/* "" turns NOTIFY off even with enotify */
	set.sieve_extensions = NULL;
	set.notify = "";
	set.implementation = NULL;
	check(&set, "",
	    "\"IMPLEMENTATION\" \"Director\"\r\n"
	    "\"SIEVE\" \"" SIEVE_CLIENT_EXTENSIONS_DEFAULT "\"\r\n"
	    "\"SASL\" \"PLAIN LOGIN\"\r\n\"VERSION\" \"1.0\"\r\n"
	    "OK \"hi\"\r\n");
}

static void
test_capability(void **state)
{
	check(&set_plain, "CAPABILITY\r\ncapability\n",
	    HELLO CAPS_AUTH "OK \"Capability completed.\"\r\n" CAPS_AUTH
			    "OK \"Capability completed.\"\r\n");
	check(&set_stls, "Capability\r\n",
	    HELLO_STLS CAPS_STLS "OK \"Capability completed.\"\r\n");
	/* no arguments allowed; empty lines and trailing spaces are fine */
	check(&set_plain, "CAPABILITY \"x\"\r\n\r\n  \r\nCAPABILITY  \r\n",
	    HELLO NO_BAD CAPS_AUTH "OK \"Capability completed.\"\r\n");
}

static void
test_noop_logout(void **state)
{
	check(&set_plain, "NOOP\r\nnoop \"abc\"\r\nNOOP {7+}\r\nq\"uo\\te\r\n",
	    HELLO "OK \"NOOP Completed\"\r\n"
		  "OK (TAG \"abc\") \"Done\"\r\n"
		  "OK (TAG \"q\\\"uo\\\\te\") \"Done\"\r\n");
	/* an atom, a control character or 8-bit: no echo, not bad */
	check(&set_plain,
	    "NOOP abc\r\nNOOP {3+}\r\na\tb\r\nNOOP \"\xc3\xa4\"\r\n",
	    HELLO "NO \"Invalid echo tag.\"\r\nNO \"Invalid echo tag.\"\r\n"
		  "NO \"Invalid echo tag.\"\r\n");
	check(&set_plain, "NOOP \"a\" \"b\"\r\nLOGOUT\r\nNOOP\r\n",
	    HELLO NO_BAD "OK \"Logout completed.\"\r\n<CLOSE><LEFT 6>");
	check(&set_plain, "LOGOUT \"now\"\r\nLogout\r\n",
	    HELLO NO_BAD "OK \"Logout completed.\"\r\n<CLOSE>");
}

static void
test_starttls(void **state)
{
	/* pipelined plaintext after STARTTLS is never executed; the
	 * capabilities come again unasked */
	check(&set_stls,
	    "STARTTLS\r\nAUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n<TLS>"
	    "STARTTLS\r\nAUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n",
	    HELLO_STLS "OK \"Begin TLS negotiation now.\"\r\n"
		       "<STARTTLS@10>" CAPS_AUTH
		       "OK \"TLS negotiation successful.\"\r\n"
		       "NO \"TLS is already active.\"\r\n"
		       "<LOGIN 1 [] [bob] [pw]>" OK_LOGGED_IN);
	/* what came before the handshake is gone: "P" is a command */
	check(&set_stls, "starttls\r\nNOO<TLS>P\r\nNOOP\r\n",
	    HELLO_STLS "OK \"Begin TLS negotiation now.\"\r\n"
		       "<STARTTLS@10>" CAPS_AUTH
		       "OK \"TLS negotiation successful.\"\r\n" NO_BAD
		       "OK \"NOOP Completed\"\r\n");
	check(&set_plain, "STARTTLS\r\nSTARTTLS \"x\"\r\n",
	    HELLO "NO \"TLS support isn't enabled.\"\r\n" NO_BAD);
}

static void
test_auth_plain_ir(void **state)
{
	/* "\0bob\0pw" = AGJvYgBwdw==, "adm\0master\0pw" */
	check(&set_plain, "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\nNOOP\r\n",
	    HELLO "<LOGIN 1 [] [bob] [pw]>" OK_LOGGED_IN "<LEFT 6>");
	/* non-synchronising and synchronising literals, mechanism too */
	check(&set_plain,
	    "authenticate {5+}\r\nplain {20+}\r\nYWRtAG1hc3RlcgBwdw==\r\n",
	    HELLO "<LOGIN 1 [adm] [master] [pw]>" OK_LOGGED_IN);
	check(&set_plain, "AUTHENTICATE \"PLAIN\" {12}\r\nAGJvYgBwdw==\r\n",
	    HELLO "<LOGIN 1 [] [bob] [pw]>" OK_LOGGED_IN);
	/* a literal may be empty; here it ends the mechanism name */
	check(&set_plain, "AUTHENTICATE {0+}\r\n\r\n",
	    HELLO "NO \"Unsupported authentication mechanism.\"\r\n");
}

static void
test_auth_plain_continuation(void **state)
{
	check(&set_plain, "AUTHENTICATE \"PLAIN\"\r\n\"AGJvYgBwdw==\"\r\n",
	    HELLO "\"\"\r\n<LOGIN 1 [] [bob] [pw]>" OK_LOGGED_IN);
	check(&set_plain,
	    "AUTHENTICATE \"PLAIN\"\r\n{20+}\r\n"
	    "YWRtAG1hc3RlcgBwdw==\r\n",
	    HELLO "\"\"\r\n<LOGIN 1 [adm] [master] [pw]>" OK_LOGGED_IN);
	/* "\0bob\0" + 4000 bytes of password as a literal response */
	{
		static unsigned char msg[4005];
		static char in[8192], expect[8192];
		size_t len, b64;

		memcpy(msg, "\0bob\0", 5);
		memset(msg + 5, 'p', 4000);
		b64 = BASE64_ENCODED_LEN(sizeof(msg));
		len = (size_t)snprintf(in, sizeof(in),
		    "AUTHENTICATE \"PLAIN\"\r\n{%zu+}\r\n", b64);
		len += base64_encode(msg, sizeof(msg), in + len);
		memcpy(in + len, "\r\n", 2);
		len += 2;
		(void)snprintf(expect, sizeof(expect),
		    "%s\"\"\r\n<LOGIN 1 [] [bob] [%.*s]>%s", HELLO, 4000,
		    (const char *)msg + 5, OK_LOGGED_IN);
		check_len(&set_plain, in, len, expect);
	}
}

static void
test_auth_login(void **state)
{
	/* "bob" = Ym9i, "p w" = cCB3 */
	check(&set_plain,
	    "AUTHENTICATE \"LOGIN\"\r\n\"Ym9i\"\r\n{4+}\r\ncCB3\r\n",
	    HELLO "\"VXNlcm5hbWU6\"\r\n\"UGFzc3dvcmQ6\"\r\n"
		  "<LOGIN 2 [] [bob] [p w]>" OK_LOGGED_IN);
	check(&set_plain, "AUTHENTICATE \"login\" \"Ym9i\"\r\n\"cCB3\"\r\n",
	    HELLO "\"UGFzc3dvcmQ6\"\r\n<LOGIN 2 [] [bob] [p w]>" OK_LOGGED_IN);
	/* empty user name; NUL in the password ("a\0b") */
	check(&set_plain,
	    "AUTHENTICATE \"LOGIN\"\r\n\"\"\r\n"
	    "AUTHENTICATE \"LOGIN\" \"Ym9i\"\r\n\"YQBi\"\r\n",
	    HELLO "\"VXNlcm5hbWU6\"\r\nNO \"Invalid username.\"\r\n"
		  "\"UGFzc3dvcmQ6\"\r\nNO \"Invalid password.\"\r\n");
}

static void
test_auth_cancel(void **state)
{
	check(&set_plain,
	    "AUTHENTICATE \"PLAIN\"\r\n\"*\"\r\nAUTHENTICATE \"LOGIN\" "
	    "\"Ym9i\"\r\n{1+}\r\n*\r\nNOOP\r\n",
	    HELLO "\"\"\r\nNO \"Authentication aborted by client.\"\r\n"
		  "\"UGFzc3dvcmQ6\"\r\n"
		  "NO \"Authentication aborted by client.\"\r\n"
		  "OK \"NOOP Completed\"\r\n");
	/* a cancel is not a bad command */
	{
		struct sieve_client_settings set = set_plain;

		set.bad_max = 1;
		check(&set,
		    "AUTHENTICATE \"PLAIN\"\r\n\"*\"\r\n"
		    "AUTHENTICATE \"PLAIN\"\r\n\"*\"\r\n",
		    HELLO
		    "\"\"\r\nNO \"Authentication aborted by client.\"\r\n"
		    "\"\"\r\nNO \"Authentication aborted by client.\"\r\n");
	}
}

static void
test_auth_errors(void **state)
{
	check(&set_plain,
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw=\"\r\n"
	    "AUTHENTICATE \"PLAIN\" \"\"\r\n"
	    "AUTHENTICATE \"CRAM-MD5\"\r\n"
	    "AUTHENTICATE PLAIN\r\n"
	    "AUTHENTICATE\r\n"
	    "AUTHENTICATE \"PLAIN\" \"a\" \"b\"\r\n",
	    HELLO
	    "NO \"Invalid base64 data in continued response.\"\r\n"
	    "NO \"Authentication failed.\"\r\n"
	    "NO \"Unsupported authentication mechanism.\"\r\n" NO_BAD NO_BAD
		NO_BAD);
	/* malformed client responses end the exchange */
	check(&set_plain,
	    "AUTHENTICATE \"PLAIN\"\r\n\r\n"
	    "AUTHENTICATE \"PLAIN\"\r\nAGJvYgBwdw==\r\n"
	    "AUTHENTICATE \"PLAIN\"\r\n\"a\" \"b\"\r\n"
	    "AUTHENTICATE \"PLAIN\"\r\n\"AGJvYgBwdw==\r\n"
	    "AUTHENTICATE \"PLAIN\"\r\n\"!!!!\"\r\nNOOP\r\n",
	    HELLO "\"\"\r\nNO \"Invalid AUTHENTICATE client response.\"\r\n"
		  "\"\"\r\nNO \"Invalid AUTHENTICATE client response.\"\r\n"
		  "\"\"\r\nNO \"Invalid AUTHENTICATE client response.\"\r\n"
		  "\"\"\r\nNO \"Invalid AUTHENTICATE client response.\"\r\n"
		  "\"\"\r\n"
		  "NO \"Invalid base64 data in continued response.\"\r\n"
		  "OK \"NOOP Completed\"\r\n");
	/* ... and count as bad commands */
	{
		struct sieve_client_settings set = set_plain;

		set.bad_max = 2;
		check(&set,
		    "AUTHENTICATE \"LOGIN\"\r\n\"Ym9i\"\r\n\"a\0\"\r\n"
		    "AUTHENTICATE \"PLAIN\"\r\n\r\nNOOP\r\n",
		    HELLO
		    "\"VXNlcm5hbWU6\"\r\n\"UGFzc3dvcmQ6\"\r\n"
		    "NO \"Invalid AUTHENTICATE client response.\"\r\n"
		    "\"\"\r\n"
		    "NO \"Invalid AUTHENTICATE client response.\"\r\n" BYE_BAD
		    "<CLOSE><LEFT 6>");
	}
}

static void
test_plaintext_refused(void **state)
{
	struct sieve_client_settings set = set_stls;

	/* refused before anything is stored, not a bad command; a literal
	 * initial response is skipped */
	set.bad_max = 1;
	check(&set,
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n"
	    "AUTHENTICATE \"PLAIN\" {12+}\r\nAGJvYgBwdw==\r\n"
	    "AUTHENTICATE \"PLAIN\"\r\nCAPABILITY\r\n",
	    HELLO_STLS NO_PLAINTEXT NO_PLAINTEXT NO_PLAINTEXT CAPS_STLS
	    "OK \"Capability completed.\"\r\n");
	/* no TLS to be had either: still refused */
	set.starttls = false;
	check(&set, "AUTHENTICATE \"LOGIN\"\r\n",
	    "\"IMPLEMENTATION\" \"Director\"\r\n"
	    "\"SIEVE\" \"" SIEVE_CLIENT_EXTENSIONS_DEFAULT "\"\r\n"
	    "\"NOTIFY\" \"mailto\"\r\n\"SASL\" \"\"\r\n"
	    "\"VERSION\" \"1.0\"\r\nOK \"Director ready.\"\r\n" NO_PLAINTEXT);
}

static void
test_bad_commands(void **state)
{
	struct sieve_client_settings set = set_plain;

	set.bad_max = 3;
	check(&set, "FOO\r\nLISTSCRIPTS\r\nHAVESPACE \"s\" 100\r\nNOOP\r\n",
	    HELLO NO_BAD NO_BAD NO_BAD BYE_BAD "<CLOSE><LEFT 6>");
	/* literal bytes of an unknown command are never run as commands */
	check(&set_plain, "PUTSCRIPT \"s\" {8+}\r\nLOGOUT\r\n\r\nNOOP\r\n",
	    HELLO NO_BAD "OK \"NOOP Completed\"\r\n");
	/* syntax: no name, bad quoting, no separator, specials, NUL */
	check(&set_plain,
	    "\"NOOP\"\r\nNOOP \"a\\x\"\r\nNOOP \"a\"\"b\"\r\nNOOP (a)\r\n"
	    "NO\0OP\r\nNOOP \"a\rb\"\r\nNOOP\"a\"\r\nNOOP \"a\r\n",
	    HELLO NO_BAD NO_BAD NO_BAD NO_BAD NO_BAD NO_BAD NO_BAD NO_BAD);
	/* 8-bit is data */
	check(&set_plain, "AUTHENTICATE \"PLAIN\" \"w6QAYgBj\"\r\n",
	    HELLO "<LOGIN 1 [\xc3\xa4] [b] [c]>" OK_LOGGED_IN);
}

static void
test_long_lines(void **state)
{
	struct sieve_client_settings set = set_plain;
	static char in[3 * SIEVE_CLIENT_LINE_MAX + 64];
	size_t len;

	set.line_max = 16;
	check(&set, "NOOP \"123456789\"\r\n",
	    HELLO "OK (TAG \"123456789\") \"Done\"\r\n");
	check(&set, "NOOP \"1234567890\"\r\nNOOP\r\n",
	    HELLO "BYE \"Input line too long.\"\r\n<CLOSE><LEFT 8>");
	/* inside an exchange too; the session ends at the first byte over
	 * the default limit */
	len = (size_t)snprintf(in, sizeof(in), "AUTHENTICATE \"PLAIN\"\r\n\"");
	memset(in + len, 'A', 3 * SIEVE_CLIENT_LINE_MAX);
	len += 3 * SIEVE_CLIENT_LINE_MAX;
	memcpy(in + len, "\"\r\n", 3);
	len += 3;
	check_len(&set_plain, in, len,
	    HELLO
	    "\"\"\r\nBYE \"Input line too long.\"\r\n<CLOSE><LEFT 16387>");
	assert_int_equal(16387, len - (22 + SIEVE_CLIENT_LINE_MAX + 1));
}

static void
test_literals(void **state)
{
	struct sieve_client_settings set = set_plain;
	static char in[SIEVE_CLIENT_LITERAL_SKIP_MAX + 64];
	size_t len;

	set.line_max = 16;
	/* 16 bytes are stored, 17 are skipped and refused */
	check(&set, "NOOP {16+}\r\n0123456789abcdef\r\n",
	    HELLO "OK (TAG \"0123456789abcdef\") \"Done\"\r\n");
	check(&set, "NOOP {17+}\r\nLOGOUT\r\nLOGOUT\r\nx\r\nNOOP\r\n",
	    HELLO "NO \"Literal too large.\"\r\nOK \"NOOP Completed\"\r\n");
	/* inside an exchange: it ends */
	set.line_max = 20;
	check(&set,
	    "AUTHENTICATE \"PLAIN\"\r\n{21}\r\n123456789012345678901\r\n",
	    HELLO "\"\"\r\nNO \"Literal too large.\"\r\n");
	set.line_max = 16;
	/* more than can be skipped: the session ends */
	check(&set, "NOOP {65537+}\r\nNOOP\r\n",
	    HELLO "BYE \"Literal too large.\"\r\n<CLOSE><LEFT 6>");
	len = (size_t)snprintf(
	    in, sizeof(in), "NOOP {%d+}\r\n", SIEVE_CLIENT_LITERAL_SKIP_MAX);
	memset(in + len, 'x', SIEVE_CLIENT_LITERAL_SKIP_MAX);
	len += SIEVE_CLIENT_LITERAL_SKIP_MAX;
	memcpy(in + len, "\r\nLOGOUT\r\n", 10);
	check_len(&set, in, len + 10,
	    HELLO "NO \"Literal too large.\"\r\n"
		  "OK \"Logout completed.\"\r\n<CLOSE>");
	/* a huge size does not overflow */
	check(&set_plain, "NOOP {99999999999999999999999+}\r\n",
	    HELLO "BYE \"Literal too large.\"\r\n<CLOSE>");
	/* a syntax error on a line that announces a literal ends it all;
	 * a '{' that is not at the end is just bad */
	check(&set_plain, "NOOP \"a\\q\" {3+}\r\nabc\r\n",
	    HELLO "BYE \"Invalid command with a literal.\"\r\n"
		  "<CLOSE><LEFT 5>");
	check(&set_plain, "NOOP {3+} \r\nNOOP {x}\r\n", HELLO NO_BAD NO_BAD);
	/* a string right after a literal needs a space */
	check(&set_plain, "AUTHENTICATE {5+}\r\nPLAIN\"x\"\r\n", HELLO NO_BAD);
}

static void
test_login_results(void **state)
{
	static const enum proto_login_status res[] = {
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_OK,
	};
	static const char *const texts[] = {
	    "(AUTH-TOO-WEAK) Mechanism too weak",
	    "(TRYLATER/NORETRY) locked\r\nX \"q\"",
	    NULL,
	    "(REFERRAL \"sieve://h\") go away",
	    "(X y z) x",
	    "(NOSPACE)",
	    "(SASL \"AAAA\") Logged in, welcome",
	};
	static const char in[] = "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n";
	char buf[sizeof(in) * 7];
	size_t i;

	for (i = 0; i < 7; i++)
		memcpy(buf + i * (sizeof(in) - 1), in, sizeof(in));
	login_results = res;
	login_texts = texts;
	check_len(&set_plain, buf, 7 * (sizeof(in) - 1),
	    HELLO "<LOGIN 1 [] [bob] [pw]>"
		  "NO (AUTH-TOO-WEAK) \"Mechanism too weak\"\r\n"
		  "<LOGIN 1 [] [bob] [pw]>"
		  "NO (TRYLATER) \"locked  X \\\"q\\\"\"\r\n"
		  "<LOGIN 1 [] [bob] [pw]>"
		  "NO (TRYLATER) \"Account is temporarily unavailable.\"\r\n"
		  "<LOGIN 1 [] [bob] [pw]>"
		  "NO (REFERRAL \"sieve://h\") \"go away\"\r\n"
		  "<LOGIN 1 [] [bob] [pw]>"
		  "NO \"(X y z) x\"\r\n"
		  "<LOGIN 1 [] [bob] [pw]>"
		  "NO (NOSPACE) \"Authentication failed.\"\r\n"
		  "<LOGIN 1 [] [bob] [pw]>"
		  "OK (SASL \"AAAA\") \"Logged in, welcome\"\r\n");
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
	};
	struct sieve_client_settings set = set_plain;

	/* a temporary failure is not the client's fault */
	set.bad_max = 2;
	login_results = res;
	check(&set,
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n"
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n"
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\nNOOP\r\n",
	    HELLO
	    "<LOGIN 1 [] [bob] [pw]>NO \"Authentication failed.\"\r\n"
	    "<LOGIN 1 [] [bob] [pw]>"
	    "NO (TRYLATER) \"Account is temporarily unavailable.\"\r\n"
	    "<LOGIN 1 [] [bob] [pw]>NO \"Authentication failed.\"\r\n" BYE_BAD
	    "<CLOSE><LEFT 6>");
	login_results = NULL;
}

/* Calls that come at the wrong time do nothing; credentials exist only
 * while a login is pending; output stops growing at the high-water
 * mark. */
static void
test_lifecycle(void **state)
{
	static const char auth[] =
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n";
	struct sieve_client *c = sieve_client_new(&set_plain);
	struct buf *out = sieve_client_output(c);
	enum proto_action act;
	static char many[64 * 1024];
	size_t i, n;

	sieve_client_tls_started(c);
	sieve_client_login_result(c, PROTO_LOGIN_OK, NULL);
	assert_int_equal(out->len, 0);
	assert_null(sieve_client_creds(c));
	n = sieve_client_input(c, auth, sizeof(auth) - 1, &act);
	assert_int_equal(n, sizeof(auth) - 1);
	assert_int_equal(act, PROTO_ACT_LOGIN);
	assert_string_equal(sieve_client_creds(c)->password, "pw");
	/* waiting for the shell: nothing is consumed */
	n = sieve_client_input(c, "NOOP\r\n", 6, &act);
	assert_int_equal(n, 0);
	assert_int_equal(act, PROTO_ACT_MORE);
	sieve_client_login_result(c, PROTO_LOGIN_TEMPFAIL, "");
	assert_null(sieve_client_creds(c));
	buf_consume(out, out->len);
	/* CAPABILITY again and again without the shell writing */
	for (i = 0; i + 12 <= sizeof(many); i += 12)
		memcpy(many + i, "CAPABILITY\r\n", 12);
	n = sieve_client_input(c, many, i, &act);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_true(n < i);
	assert_true(n % 12 == 0);
	assert_true(out->len > SIEVE_CLIENT_OUTPUT_HIGH);
	assert_true(out->len < SIEVE_CLIENT_OUTPUT_HIGH + 4096);
	assert_int_equal(sieve_client_input(c, many + n, i - n, &act), 0);
	buf_consume(out, out->len);
	assert_true(sieve_client_input(c, many + n, i - n, &act) > 0);
	sieve_client_free(&c);
	sieve_client_free(&c);
}

/* OAuth: every mechanism offered. */
#define MECHS_ALL                                                              \
	(SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |           \
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2))
static const struct sieve_client_settings set_oauth = {
    .greeting = "ready",
    .allow_plaintext_auth = true,
    .mechs = MECHS_ALL,
};
#define CAPS_OAUTH                                                             \
	CAPS_HEAD "\"SASL\" \"PLAIN LOGIN OAUTHBEARER XOAUTH2\"\r\n"           \
		  "\"VERSION\" \"1.0\"\r\n"
#define HELLO_OAUTH CAPS_OAUTH "OK \"ready\"\r\n"
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
#define AUTH_BEARER "AUTHENTICATE \"OAUTHBEARER\" \"" BEARER_B64 "\"\r\n"
#define LOGIN_BEARER "<LOGIN 3 [] [bob] [" BEARER_MSG "]>"
#define LOGIN_XOAUTH2 "<LOGIN 4 [] [bob] [" XOAUTH2_MSG "]>"
#define CHALLENGED "\"" CHALLENGE "\"\r\n"
#define NO_AUTH "NO \"Authentication failed.\"\r\n"

static const enum proto_login_status rejected[] = {
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
    PROTO_LOGIN_REJECTED,
};
static const char *const challenged[] = {CHALLENGE, CHALLENGE, CHALLENGE,
    CHALLENGE, CHALLENGE, CHALLENGE, CHALLENGE};

static void
test_oauth_capability(void **state)
{
	struct sieve_client_settings set = set_oauth;

	check(&set_oauth, "CAPABILITY\r\n",
	    HELLO_OAUTH CAPS_OAUTH "OK \"Capability completed.\"\r\n");
	/* only the OAuth mechanisms */
	set.mechs = SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2);
	check(&set, "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n",
	    CAPS_HEAD "\"SASL\" \"OAUTHBEARER XOAUTH2\"\r\n"
		      "\"VERSION\" \"1.0\"\r\nOK \"ready\"\r\n"
		      "NO \"Unsupported authentication mechanism.\"\r\n");
	/* by default neither is offered */
	check(&set_plain, AUTH_BEARER "AUTHENTICATE \"XOAUTH2\"\r\n",
	    HELLO "NO \"Unsupported authentication mechanism.\"\r\n"
		  "NO \"Unsupported authentication mechanism.\"\r\n");
	/* none before TLS, all after */
	set = set_oauth;
	set.allow_plaintext_auth = false;
	set.starttls = true;
	set.greeting = NULL;
	check(&set, "STARTTLS\r\n<TLS>NOOP\r\n",
	    HELLO_STLS "OK \"Begin TLS negotiation now.\"\r\n"
		       "<STARTTLS@10>" CAPS_OAUTH
		       "OK \"TLS negotiation successful.\"\r\n"
		       "OK \"NOOP Completed\"\r\n");
}

static void
test_oauth_authenticate(void **state)
{
	struct sieve_client_settings set = set_oauth;

	/* with an initial response; what follows is the backend's */
	check(&set_oauth, AUTH_BEARER "NOOP\r\n",
	    HELLO_OAUTH LOGIN_BEARER OK_LOGGED_IN "<LEFT 6>");
	check(&set_oauth,
	    "authenticate {11+}\r\noauthbearer {36}\r\n" BEARER_B64 "\r\n",
	    HELLO_OAUTH LOGIN_BEARER OK_LOGGED_IN);
	/* without: the empty challenge, then a string or a literal */
	check(&set_oauth, "AUTHENTICATE \"XOAUTH2\"\r\n\"" XOAUTH2_B64 "\"\r\n",
	    HELLO_OAUTH "\"\"\r\n" LOGIN_XOAUTH2 OK_LOGGED_IN);
	check(&set_oauth,
	    "AUTHENTICATE \"OAuthBearer\"\r\n{36+}\r\n" BEARER_B64 "\r\n",
	    HELLO_OAUTH "\"\"\r\n" LOGIN_BEARER OK_LOGGED_IN);
	check(&set_oauth,
	    "AUTHENTICATE \"XOAUTH2\"\r\n{36}\r\n" XOAUTH2_B64 "\r\n",
	    HELLO_OAUTH "\"\"\r\n" LOGIN_XOAUTH2 OK_LOGGED_IN);
	/* no a=; the dummy response first; the wrong mechanism's message;
	 * not base64; cancelled */
	check(&set_oauth,
	    "AUTHENTICATE \"OAUTHBEARER\" \"" NO_USER_B64 "\"\r\n"
	    "AUTHENTICATE \"OAUTHBEARER\"\r\n\"AQ==\"\r\n"
	    "AUTHENTICATE \"XOAUTH2\" \"" BEARER_B64 "\"\r\n"
	    "AUTHENTICATE \"XOAUTH2\"\r\n\"n,a=bob\"\r\n"
	    "AUTHENTICATE \"OAUTHBEARER\"\r\n\"*\"\r\nNOOP\r\n",
	    HELLO_OAUTH "NO \"No user name (a=) to route by\"\r\n"
			"\"\"\r\nNO \"Unexpected dummy response\"\r\n"
			"NO \"Invalid XOAUTH2 message\"\r\n"
			"\"\"\r\n"
			"NO \"Invalid base64 data in continued response.\"\r\n"
			"\"\"\r\nNO \"Authentication aborted by client.\"\r\n"
			"OK \"NOOP Completed\"\r\n");
	/* a malformed message is a bad command */
	set.bad_max = 2;
	check(&set,
	    "AUTHENTICATE \"OAUTHBEARER\" \"" NO_USER_B64 "\"\r\n"
	    "AUTHENTICATE \"XOAUTH2\"\r\n\"dXNlcj1ib2IBAQ==\"\r\nNOOP\r\n",
	    HELLO_OAUTH "NO \"No user name (a=) to route by\"\r\n"
			"\"\"\r\nNO \"Invalid XOAUTH2 message\"\r\n" BYE_BAD
			"<CLOSE><LEFT 6>");
}

/* The backend's error challenge goes to the client as a string; the NO
 * waits for the client's response, whatever it is. */
static void
test_oauth_error_challenge(void **state)
{
	static const char *const texts[] = {NULL, "(AUTH) Failed",
	    "(AUTH-FAILED) token \"expired\"", "no code\r\nOK", NULL, NULL,
	    NULL};
	struct sieve_client *c;
	enum proto_action act;
	struct buf *out;

	login_results = rejected;
	login_texts = texts;
	login_challenges = challenged;
	/* the dummy responses, quoted and as literals; "*"; an empty
	 * line; two strings; an atom */
	check(&set_oauth,
	    AUTH_BEARER "\"AQ==\"\r\n"
			"AUTHENTICATE \"XOAUTH2\" \"" XOAUTH2_B64
			"\"\r\n\"\"\r\n"
			"" AUTH_BEARER "{4+}\r\nAQ==\r\n"
			"" AUTH_BEARER "\"*\"\r\n"
			"" AUTH_BEARER "\r\n"
			"" AUTH_BEARER "\"AQ==\" \"x\"\r\n"
			"" AUTH_BEARER "AQ==\r\nCAPABILITY\r\n",
	    HELLO_OAUTH LOGIN_BEARER CHALLENGED NO_AUTH
	    "" LOGIN_XOAUTH2 CHALLENGED "NO (AUTH) \"Failed\"\r\n"
	    "" LOGIN_BEARER CHALLENGED
	    "NO (AUTH-FAILED) \"token \\\"expired\\\"\"\r\n"
	    "" LOGIN_BEARER CHALLENGED "NO \"no code  OK\"\r\n"
	    "" LOGIN_BEARER CHALLENGED NO_AUTH
	    "" LOGIN_BEARER CHALLENGED NO_AUTH
	    "" LOGIN_BEARER CHALLENGED NO_AUTH CAPS_OAUTH
	    "OK \"Capability completed.\"\r\n");
	/* a NUL; a literal too long to keep; one to big to skip */
	{
		static char in[256 + SIEVE_CLIENT_LINE_MAX + 1];
		size_t len;

		check(&set_oauth, AUTH_BEARER "\"A\0\"\r\nNOOP\r\n",
		    HELLO_OAUTH LOGIN_BEARER CHALLENGED NO_AUTH
		    "OK \"NOOP Completed\"\r\n");
		len = (size_t)snprintf(in, sizeof(in), "%s{%d+}\r\n",
		    AUTH_BEARER, SIEVE_CLIENT_LINE_MAX + 1);
		memset(in + len, 'A', SIEVE_CLIENT_LINE_MAX + 1);
		len += SIEVE_CLIENT_LINE_MAX + 1;
		len += (size_t)snprintf(
		    in + len, sizeof(in) - len, "\r\nNOOP\r\n");
		check_len(&set_oauth, in, len,
		    HELLO_OAUTH LOGIN_BEARER CHALLENGED NO_AUTH
		    "OK \"NOOP Completed\"\r\n");
		check(&set_oauth, AUTH_BEARER "{65537+}\r\nNOOP\r\n",
		    HELLO_OAUTH LOGIN_BEARER CHALLENGED
		    "BYE \"Literal too large.\"\r\n<CLOSE><LEFT 6>");
	}
	login_results = NULL;
	login_texts = NULL;
	login_challenges = NULL;

	/* step by step: nothing but the challenge until the response */
	c = sieve_client_new(&set_oauth);
	out = sieve_client_output(c);
	assert_int_equal(
	    sieve_client_input(c, AUTH_BEARER, strlen(AUTH_BEARER), &act),
	    strlen(AUTH_BEARER));
	assert_int_equal(act, PROTO_ACT_LOGIN);
	sieve_client_login_challenge(c, CHALLENGE);
	assert_int_equal(out->len, 0);
	assert_non_null(sieve_client_creds(c));
	sieve_client_login_result(c, PROTO_LOGIN_REJECTED, "(AUTH) Failed");
	assert_null(sieve_client_creds(c));
	assert_int_equal(out->len, strlen(CHALLENGED));
	assert_memory_equal(out->data, CHALLENGED, out->len);
	buf_consume(out, out->len);
	/* a second result is not expected: nothing */
	sieve_client_login_result(c, PROTO_LOGIN_OK, NULL);
	assert_int_equal(out->len, 0);
	assert_int_equal(sieve_client_input(c, "\"AQ==\"", 6, &act), 6);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_int_equal(out->len, 0);
	assert_int_equal(sieve_client_input(c, "\r\nNOOP\r\n", 8, &act), 8);
	assert_int_equal(act, PROTO_ACT_MORE);
	assert_int_equal(out->len,
	    strlen("NO (AUTH) \"Failed\"\r\nOK \"NOOP Completed\"\r\n"));
	assert_memory_equal(out->data,
	    "NO (AUTH) \"Failed\"\r\nOK \"NOOP Completed\"\r\n", out->len);
	sieve_client_free(&c);
}

/* RFC 5804 section 4 limits a quoted string to 1024 octets: a longer
 * challenge goes to the client as a literal. */
static void
test_oauth_long_challenge(void **state)
{
	static char ch[1026], in[256], expect[4096];
	static const char *const one[] = {ch};
	size_t len;

	login_results = rejected;
	login_challenges = one;
	memset(ch, 'A', 1024);
	len = (size_t)snprintf(in, sizeof(in), "%s\"AQ==\"\r\n", AUTH_BEARER);
	(void)snprintf(expect, sizeof(expect), "%s%s\"%s\"\r\n%s", HELLO_OAUTH,
	    LOGIN_BEARER, ch, NO_AUTH);
	check_len(&set_oauth, in, len, expect);
	ch[1024] = 'A';
	(void)snprintf(expect, sizeof(expect), "%s%s{1025}\r\n%s\r\n%s",
	    HELLO_OAUTH, LOGIN_BEARER, ch, NO_AUTH);
	check_len(&set_oauth, in, len, expect);
	login_results = NULL;
	login_challenges = NULL;
}

/* A challenge counts only for a pending OAuth login that is rejected,
 * and only if it is base64. */
static void
test_oauth_challenge_ignored(void **state)
{
	static const char *const invalid[] = {
	    "eyJ zd", "{\"status\":\"401\"}", "", "eyJ9\"\r\nOK \"x"};
	static const enum proto_login_status tempfail_then_no[] = {
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_REJECTED,
	};
	static const char *const first_only[] = {CHALLENGE, NULL};
	struct sieve_client *c;
	enum proto_action act;
	struct buf *out;
	size_t i;

	/* PLAIN, LOGIN: no challenge to relay, the NO at once */
	login_results = rejected;
	login_challenges = challenged;
	check(&set_oauth,
	    "AUTHENTICATE \"PLAIN\" \"AGJvYgBwdw==\"\r\n"
	    "AUTHENTICATE \"LOGIN\" \"Ym9i\"\r\n\"cCB3\"\r\n",
	    HELLO_OAUTH "<LOGIN 1 [] [bob] [pw]>" NO_AUTH
			"\"UGFzc3dvcmQ6\"\r\n<LOGIN 2 [] [bob] [p w]>" NO_AUTH);
	/* not base64 (or empty, or over lines) */
	for (i = 0; i < nitems(invalid); i++) {
		login_challenges = &invalid[i];
		check(&set_oauth, AUTH_BEARER "NOOP\r\n",
		    HELLO_OAUTH LOGIN_BEARER NO_AUTH
		    "OK \"NOOP Completed\"\r\n");
	}
	/* dropped with a temporary failure: the next login's NO comes at
	 * once */
	login_results = tempfail_then_no;
	login_challenges = first_only;
	check(&set_oauth, AUTH_BEARER AUTH_BEARER "NOOP\r\n",
	    HELLO_OAUTH LOGIN_BEARER
	    "NO (TRYLATER) \"Account is temporarily unavailable.\"\r\n"
	    "" LOGIN_BEARER NO_AUTH "OK \"NOOP Completed\"\r\n");
	/* ... and with a success */
	login_results = NULL;
	login_challenges = challenged;
	check(&set_oauth, AUTH_BEARER "NOOP\r\n",
	    HELLO_OAUTH LOGIN_BEARER OK_LOGGED_IN "<LEFT 6>");
	login_challenges = NULL;

	/* given while no login is pending: forgotten */
	c = sieve_client_new(&set_oauth);
	out = sieve_client_output(c);
	sieve_client_login_challenge(c, CHALLENGE);
	assert_int_equal(
	    sieve_client_input(c, AUTH_BEARER, strlen(AUTH_BEARER), &act),
	    strlen(AUTH_BEARER));
	assert_int_equal(act, PROTO_ACT_LOGIN);
	sieve_client_login_result(c, PROTO_LOGIN_REJECTED, NULL);
	assert_int_equal(out->len, strlen(NO_AUTH));
	assert_memory_equal(out->data, NO_AUTH, out->len);
	sieve_client_free(&c);
}

/* Rejected OAuth logins reach the bad command limit like passwords do;
 * the one with a challenge counts once, when its NO is sent, even after
 * a malformed response. */
static void
test_oauth_rejected_count_as_bad(void **state)
{
	static const char *const ch[] = {CHALLENGE, NULL, CHALLENGE};
	struct sieve_client_settings set = set_oauth;

	set.bad_max = 3;
	login_results = rejected;
	login_challenges = ch;
	check(&set,
	    AUTH_BEARER "\"AQ==\" \"x\"\r\n"
			"AUTHENTICATE \"XOAUTH2\" \"" XOAUTH2_B64 "\"\r\n"
			"" AUTH_BEARER "\"AQ==\"\r\nNOOP\r\n",
	    HELLO_OAUTH LOGIN_BEARER CHALLENGED NO_AUTH LOGIN_XOAUTH2 NO_AUTH
		LOGIN_BEARER CHALLENGED NO_AUTH BYE_BAD "<CLOSE><LEFT 6>");
	/* bad messages and rejections add up */
	login_challenges = challenged;
	check(&set,
	    "AUTHENTICATE \"OAUTHBEARER\" \"" NO_USER_B64 "\"\r\n"
	    "" AUTH_BEARER "\"*\"\r\n"
	    "AUTHENTICATE \"OAUTHBEARER\" \"" NO_USER_B64 "\"\r\nNOOP\r\n",
	    HELLO_OAUTH "NO \"No user name (a=) to route by\"\r\n"
			"" LOGIN_BEARER CHALLENGED NO_AUTH
			"NO \"No user name (a=) to route by\"\r\n" BYE_BAD
			"<CLOSE><LEFT 6>");
	login_results = NULL;
	login_challenges = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_greeting),
	    cmocka_unit_test(test_capability),
	    cmocka_unit_test(test_noop_logout),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_auth_plain_ir),
	    cmocka_unit_test(test_auth_plain_continuation),
	    cmocka_unit_test(test_auth_login),
	    cmocka_unit_test(test_auth_cancel),
	    cmocka_unit_test(test_auth_errors),
	    cmocka_unit_test(test_plaintext_refused),
	    cmocka_unit_test(test_bad_commands),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_login_results),
	    cmocka_unit_test(test_rejected_logins_count_as_bad),
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_oauth_capability),
	    cmocka_unit_test(test_oauth_authenticate),
	    cmocka_unit_test(test_oauth_error_challenge),
	    cmocka_unit_test(test_oauth_long_challenge),
	    cmocka_unit_test(test_oauth_challenge_ignored),
	    cmocka_unit_test(test_oauth_rejected_count_as_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

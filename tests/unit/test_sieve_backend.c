/*
 * test_sieve_backend.c - logging in to a ManageSieve backend.  The
 * backend's replies are scripted (the Pigeonhole ones as Dovecot 2.3.19's
 * managesieve-login sent them on loopback); each script is fed whole and
 * one byte at a time and both transcripts (commands sent, actions) must
 * match each other and the expected text.
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
#include "sieve_backend.h"

#define TRANSCRIPT_MAX 16384
#include "transcript.h"

/* Pigeonhole's capability listing (Debian's build names itself
 * "Dovecot (Debian)"); "XCLIENT" only for login_trusted_networks,
 * "STARTTLS" only before TLS. */
#define PH_CAPS                                                                \
	"\"IMPLEMENTATION\" \"Dovecot (Debian) Pigeonhole\"\r\n"               \
	"\"SIEVE\" \"fileinto reject envelope encoded-character vacation "     \
	"subaddress comparator-i;ascii-numeric relational regex imap4flags "   \
	"copy include variables body enotify environment mailbox date index "  \
	"ihave duplicate mime foreverypart extracttext\"\r\n"                  \
	"\"NOTIFY\" \"mailto\"\r\n"                                            \
	"\"SASL\" \"PLAIN LOGIN\"\r\n"
#define PH_GREETING                                                            \
	PH_CAPS "\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n"                      \
		"OK \"Dovecot (Debian) ready.\"\r\n"
#define PH_GREETING_TRUSTED                                                    \
	PH_CAPS "\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n\"XCLIENT\"\r\n"       \
		"OK \"Dovecot (Debian) ready.\"\r\n"
#define PH_TLS_CAPS                                                            \
	PH_CAPS "\"VERSION\" \"1.0\"\r\n\"XCLIENT\"\r\n"                       \
		"OK \"TLS negotiation successful.\"\r\n"
/* A short listing for the other tests. */
#define GREETING "\"SASL\" \"PLAIN\"\r\nOK\r\n"
#define GREETING_XC "\"SASL\" \"PLAIN\"\r\n\"XCLIENT\"\r\nOK\r\n"

/* "\0bob\0pass" */
#define AUTH_BOB "AUTHENTICATE \"PLAIN\" \"AGJvYgBwYXNz\"\r\n"
#define XCLIENT_LINE                                                           \
	"XCLIENT ADDR=192.0.2.10 PORT=50000 DESTADDR=10.0.0.1 DESTPORT=4190 "  \
	"SESSION=sEsSiOn1 TTL=4\r\n"

static void
drive(const struct proto_creds *creds, const struct proto_client_info *info,
    const struct sieve_backend_settings *set, const char *in, size_t len,
    size_t chunk, struct transcript *t)
{
	struct sieve_backend *b = sieve_backend_new(creds, info, set);
	struct buf *out = sieve_backend_output(b);
	enum proto_action act;
	size_t pos = 0, n, used;

	t->len = 0;
	t->text[0] = '\0';
	for (;;) {
		n = MIN_OF(chunk, len - pos);
		used = sieve_backend_input(b, in + pos, n, &act);
		assert_true(used <= n);
		pos += used;
		if (out->len > 0)
			transcript_add(t, out->data, out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_STARTTLS) {
			transcript_printf(t, "<STARTTLS >");
			sieve_backend_tls_started(b);
			assert_int_equal(out->len, 0);
			continue;
		}
		if (act == PROTO_ACT_LOGGED_IN) {
			transcript_printf(
			    t, "<LOGGED_IN %s>", sieve_backend_reply_text(b));
			break;
		}
		if (act == PROTO_ACT_LOGIN_FAILED) {
			transcript_printf(t, "<FAILED (%s)%s %s>",
			    sieve_backend_resp_code(b),
			    sieve_backend_tempfail(b) ? " tempfail" : "",
			    sieve_backend_reply_text(b));
			if (sieve_backend_challenge(b) != NULL)
				transcript_printf(t, "<CHALLENGE %s>",
				    sieve_backend_challenge(b));
			break;
		}
		if (act == PROTO_ACT_CLOSE) {
			transcript_printf(
			    t, "<CLOSE %s>", sieve_backend_error(b));
			break;
		}
		if (pos == len)
			break;
	}
	if (pos < len)
		transcript_printf(t, "<LEFT %zu>", len - pos);
	/* finished: nothing more is consumed */
	if (act != PROTO_ACT_MORE && act != PROTO_ACT_STARTTLS) {
		assert_int_equal(sieve_backend_input(b, in, len, &act), 0);
		assert_int_equal(act, PROTO_ACT_CLOSE);
	}
	sieve_backend_free(&b);
	assert_null(b);
}

static struct proto_creds creds_user = {
    .kind = PROTO_AUTH_LOGIN,
    .authzid = "",
    .authcid = "bob",
    .password = "pass",
    .password_len = 4,
};
static struct proto_creds creds_sasl = {
    .kind = PROTO_AUTH_SASL_PLAIN,
    .authzid = "bob",
    .authcid = "master",
    .password = "pw",
    .password_len = 2,
};
static struct proto_client_info info = {
    .client_ip = "192.0.2.10",
    .client_port = 50000,
    .local_ip = "10.0.0.1",
    .local_port = 4190,
    .session_id = "sEsSiOn1",
    .ttl = 4,
};
static const struct sieve_backend_settings set_plain = {0};
static const struct sieve_backend_settings set_tls = {.starttls = true};

/* Feeds in[0..len) whole, one byte at a time and in pieces of five
 * bytes; every transcript must equal expect.  Lengths are explicit so NUL
 * bytes are really fed. */
static void
check_len(const struct proto_creds *creds, const struct proto_client_info *ci,
    const struct sieve_backend_settings *set, const char *in, size_t len,
    const char *expect)
{
	static struct transcript tr;
	const size_t chunks[] = {len, 1, 5};
	size_t i;

	for (i = 0; i < nitems(chunks); i++) {
		drive(creds, ci, set, in, len, MAX_OF(chunks[i], 1), &tr);
		assert_string_equal(tr.text, expect);
	}
}

/* check_len() of a string literal (the "" refuses a pointer). */
#define check(creds, ci, set, lit, expect)                                     \
	check_len(creds, ci, set, "" lit "", sizeof(lit) - 1, expect)

/* Pigeonhole's greeting from an untrusted peer: no XCLIENT; the bytes
 * after "OK" belong to the client. */
static void
test_pigeonhole_login(void **state)
{
	check(&creds_user, &info, &set_plain,
	    PH_GREETING "OK \"Logged in.\"\r\nOK \"NOOP Completed\"\r\n",
	    AUTH_BOB "<LOGGED_IN Logged in.><LEFT 21>");
	/* upstream's default names, and a master-user login */
	check(&creds_sasl, &info, &set_plain,
	    "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n"
	    "\"SIEVE\" \"fileinto\"\r\n\"SASL\" \"PLAIN LOGIN\"\r\n"
	    "\"VERSION\" \"1.0\"\r\nOK \"Dovecot ready.\"\r\nOK\r\n",
	    "AUTHENTICATE \"PLAIN\" \"Ym9iAG1hc3RlcgBwdw==\"\r\n<LOGGED_IN >");
	/* the words are case-insensitive; OK may carry a code */
	check(&creds_user, &info, &set_plain,
	    "\"sasl\" \"login plain\"\r\nok\r\nOk (SASL \"\") \"Hi\"\r\n",
	    AUTH_BOB "<LOGGED_IN Hi>");
}

/* What the module keeps of the listing for the client-side module. */
static void
test_capabilities(void **state)
{
	static const char in[] = PH_GREETING;
	struct sieve_backend *b;
	enum proto_action act;

	b = sieve_backend_new(&creds_user, &info, &set_plain);
	assert_int_equal(
	    sieve_backend_input(b, in, sizeof(in) - 2, &act), sizeof(in) - 2);
	assert_int_equal(act, PROTO_ACT_MORE);
	/* incomplete until the OK line has ended */
	assert_null(sieve_backend_capability(b, "SIEVE"));
	assert_string_equal(sieve_backend_sieve_caps(b), "");
	assert_int_equal(sieve_backend_input(b, "\n", 1, &act), 1);
	assert_string_equal(sieve_backend_sieve_caps(b),
	    "fileinto reject envelope encoded-character vacation subaddress "
	    "comparator-i;ascii-numeric relational regex imap4flags copy "
	    "include variables body enotify environment mailbox date index "
	    "ihave duplicate mime foreverypart extracttext");
	assert_string_equal(sieve_backend_capability(b, "notify"), "mailto");
	assert_string_equal(sieve_backend_capability(b, "STARTTLS"), "");
	assert_string_equal(sieve_backend_capability(b, "IMPLEMENTATION"),
	    "Dovecot (Debian) Pigeonhole");
	assert_null(sieve_backend_capability(b, "XCLIENT"));
	sieve_backend_free(&b);
}

/* STARTTLS: the listing sent after TLS replaces the first one (here it
 * adds XCLIENT and PLAIN, which were not offered in plaintext). */
static void
test_starttls(void **state)
{
	check(&creds_user, &info, &set_tls,
	    PH_GREETING "OK \"Begin TLS negotiation now.\"\r\n" PH_TLS_CAPS
			"OK \"Updated\"\r\nOK \"Logged in.\"\r\n",
	    "STARTTLS\r\n<STARTTLS >" XCLIENT_LINE AUTH_BOB
	    "<LOGGED_IN Logged in.>");
	check(&creds_user, &info, &set_tls,
	    "\"SASL\" \"\"\r\n\"STARTTLS\"\r\n\"XCLIENT\"\r\nOK\r\n"
	    "OK\r\n" GREETING "OK\r\n",
	    "STARTTLS\r\n<STARTTLS >" AUTH_BOB "<LOGGED_IN >");
	/* without TLS the same listing offers no PLAIN */
	check(&creds_user, &info, &set_plain,
	    "\"SASL\" \"\"\r\n\"STARTTLS\"\r\nOK\r\n",
	    "<CLOSE backend does not offer SASL PLAIN (TLS required?)>");
	check(&creds_user, &info, &set_tls, GREETING,
	    "<CLOSE backend does not offer STARTTLS>");
	check(&creds_user, &info, &set_tls,
	    PH_GREETING "NO \"TLS not available\"\r\n",
	    "STARTTLS\r\n<CLOSE backend refused STARTTLS>");
	check(&creds_user, &info, &set_tls,
	    PH_GREETING "OK\r\n" GREETING "OK\r\n" GREETING,
	    "STARTTLS\r\n<STARTTLS >" AUTH_BOB "<LOGGED_IN ><LEFT 20>");
	check(&creds_user, &info, &set_tls,
	    PH_GREETING "OK\r\n\"SASL\" \"PLAIN\"\r\nNO \"no\"\r\n",
	    "STARTTLS\r\n<STARTTLS ><CLOSE backend TLS negotiation failed>");
}

static void
test_xclient(void **state)
{
	struct proto_client_info ci = info;

	check(&creds_user, &info, &set_plain,
	    PH_GREETING_TRUSTED "OK \"Updated\"\r\nOK \"Logged in.\"\r\n",
	    XCLIENT_LINE AUTH_BOB "<LOGGED_IN Logged in.>");
	check(&creds_user, &info, &set_plain,
	    PH_GREETING_TRUSTED "NO \"You are not from trusted IP\"\r\n",
	    XCLIENT_LINE "<CLOSE backend refused XCLIENT>");
	/* IPv6; a session id that is no atom is left out */
	strlcpy(ci.client_ip, "2001:db8::1", sizeof(ci.client_ip));
	strlcpy(ci.session_id, "a(b", sizeof(ci.session_id));
	check(&creds_user, &ci, &set_plain, GREETING_XC "OK\r\nOK\r\n",
	    "XCLIENT ADDR=2001:db8::1 PORT=50000 DESTADDR=10.0.0.1 "
	    "DESTPORT=4190 TTL=4\r\n" AUTH_BOB "<LOGGED_IN >");
	/* an unusable client address closes */
	strlcpy(ci.client_ip, "a\"b", sizeof(ci.client_ip));
	check(&creds_user, &ci, &set_plain, GREETING_XC,
	    "<CLOSE invalid client address>");
	/* behind a PROXY v2 header: no XCLIENT, even when offered */
	ci = info;
	ci.proxy_header = true;
	check(&creds_user, &ci, &set_plain,
	    PH_GREETING_TRUSTED "OK \"Logged in.\"\r\n",
	    AUTH_BOB "<LOGGED_IN Logged in.>");
}

static void
test_login_failed(void **state)
{
	/* Pigeonhole's reply to a wrong password */
	check(&creds_user, &info, &set_plain,
	    PH_GREETING "NO \"Authentication failed.\"\r\nmore",
	    AUTH_BOB "<FAILED () Authentication failed.><LEFT 4>");
	check(&creds_user, &info, &set_plain,
	    GREETING "NO (AUTH-FAILED) \"Bad password\"\r\n",
	    AUTH_BOB "<FAILED (AUTH-FAILED) Bad password>");
	check(&creds_user, &info, &set_plain,
	    GREETING "NO (TRYLATER) \"Temporary authentication failure.\"\r\n",
	    AUTH_BOB "<FAILED (TRYLATER) tempfail Temporary authentication "
		     "failure.>");
	check(&creds_user, &info, &set_plain,
	    GREETING "no (trylater/noretry) \"Try later\"\r\n",
	    AUTH_BOB "<FAILED (trylater/noretry) tempfail Try later>");
	check(&creds_user, &info, &set_plain, GREETING "NO (TRYLATERX)\r\n",
	    AUTH_BOB "<FAILED (TRYLATERX) >");
	/* code arguments: strings (with ")" inside), lists, a literal */
	check(&creds_user, &info, &set_plain,
	    GREETING "NO (REFERRAL \"sieve://h)\" (1 (2))) \"Go there\"\r\n",
	    AUTH_BOB "<FAILED (REFERRAL) Go there>");
	check(&creds_user, &info, &set_plain,
	    GREETING "NO (TAG {3}\r\na)b) \"x\"\r\n",
	    AUTH_BOB "<FAILED (TAG) x>");
	/* the text as a literal, over lines, with escapes */
	check(&creds_user, &info, &set_plain,
	    GREETING "NO {20}\r\nline one\r\nline \"two\"\r\n",
	    AUTH_BOB "<FAILED () line one  line \"two\">");
	check(&creds_user, &info, &set_plain,
	    GREETING "NO (X) {3+}\r\na\tb\r\n", AUTH_BOB "<FAILED (X) a b>");
	check(&creds_user, &info, &set_plain,
	    GREETING "NO \"say \\\"no\\\" \\\\o/\"\r\n",
	    AUTH_BOB "<FAILED () say \"no\" \\o/>");
	check(&creds_user, &info, &set_plain, GREETING "NO\r\n",
	    AUTH_BOB "<FAILED () >");
	check(&creds_user, &info, &set_plain, GREETING "NO {0}\r\n\r\n",
	    AUTH_BOB "<FAILED () >");
	check(&creds_user, &info, &set_plain,
	    GREETING "BYE \"Server shutting down.\"\r\n",
	    AUTH_BOB "<CLOSE backend sent BYE>");
}

/* Capability names and values may be literals too. */
static void
test_literal_caps(void **state)
{
	check(&creds_user, &info, &set_plain,
	    "{4}\r\nSASL {5+}\r\nPLAIN\r\n{7}\r\nXCLIENT\r\n"
	    "\"SIEVE\" {0}\r\n\r\nOK\r\nOK\r\nOK\r\n",
	    XCLIENT_LINE AUTH_BOB "<LOGGED_IN >");
}

/* The kinds of credentials all become PLAIN; only SASL PLAIN keeps its
 * authorization identity; a long initial response becomes a literal. */
static void
test_auth_forms(void **state)
{
	struct proto_creds c = creds_user;
	static char pw[800], expect[1400], in[64];
	char b64[1100];
	unsigned char msg[900];
	size_t plen;
	int n;

	c.authzid = "ignored";
	check(
	    &c, &info, &set_plain, GREETING "OK\r\n", AUTH_BOB "<LOGGED_IN >");
	c.kind = PROTO_AUTH_SASL_LOGIN;
	check(
	    &c, &info, &set_plain, GREETING "OK\r\n", AUTH_BOB "<LOGGED_IN >");
	/* 768 bytes encode to 1024, the longest quoted string; 769 need a
	 * literal */
	for (plen = 763; plen <= 764; plen++) {
		memset(pw, 'x', plen);
		c = creds_user;
		c.password = pw;
		c.password_len = plen;
		memcpy(msg, "\0bob\0", 5);
		memcpy(msg + 5, pw, plen);
		assert_int_equal(base64_encode(msg, plen + 5, b64),
		    plen == 763 ? 1024 : 1028);
		if (plen == 763)
			n = snprintf(expect, sizeof(expect),
			    "AUTHENTICATE \"PLAIN\" \"%s\"\r\n<LOGGED_IN >",
			    b64);
		else
			n = snprintf(expect, sizeof(expect),
			    "AUTHENTICATE \"PLAIN\" {1028+}\r\n%s\r\n"
			    "<LOGGED_IN >",
			    b64);
		assert_true(n > 0 && (size_t)n < sizeof(expect));
		n = snprintf(in, sizeof(in), "%sOK\r\n", GREETING);
		check_len(&c, &info, &set_plain, in, (size_t)n, expect);
	}
}

static void
test_hostile(void **state)
{
	struct proto_client_info ci = info;
	struct sieve_backend_settings set = {.line_max = 32};
	static char big[SIEVE_BACKEND_LITERAL_MAX + 64];
	size_t i, n;

	/* a line over line_max; a literal over its limit */
	memset(big, 'x', 128);
	memcpy(big, "\"SASL\" \"", 8);
	check_len(&creds_user, &info, &set, big, 128,
	    "<CLOSE backend reply line too long><LEFT 95>");
	check(&creds_user, &info, &set_plain, "\"SIEVE\" {8193}\r\nabc",
	    "<CLOSE backend literal too long><LEFT 3>");
	check(&creds_user, &info, &set_plain,
	    "\"SIEVE\" {99999999999999999999999}\r\n",
	    "<CLOSE backend literal too long>");
	/* the largest literal is fine */
	n = (size_t)snprintf(
	    big, sizeof(big), "\"X\" {%d}\r\n", SIEVE_BACKEND_LITERAL_MAX);
	memset(big + n, 'y', SIEVE_BACKEND_LITERAL_MAX);
	n += SIEVE_BACKEND_LITERAL_MAX;
	memcpy(big + n, "\r\nBYE\r\n", 7);
	check_len(&creds_user, &info, &set_plain, big, n + 7,
	    "<CLOSE backend sent BYE>");
	/* greeting refusals */
	check(&creds_user, &info, &set_plain,
	    "BYE (TRYLATER) \"Server shutting down.\"\r\n",
	    "<CLOSE backend sent BYE>");
	check(&creds_user, &info, &set_plain, "NO \"go away\"\r\n",
	    "<CLOSE backend greeting is NO>");
	check(&creds_user, &info, &set_plain, "\"SASL\" \"LOGIN\"\r\nOK\r\n",
	    "<CLOSE backend does not offer SASL PLAIN (TLS required?)>");
	/* not ManageSieve */
	check(&creds_user, &info, &set_plain, "* OK IMAP ready\r\n",
	    "<CLOSE unexpected backend reply>");
	check(&creds_user, &info, &set_plain, "\x80 OK\r\n",
	    "<CLOSE invalid character in backend reply>");
	check(&creds_user, &info, &set_plain, "+OK POP3 ready\r\n",
	    "<CLOSE unexpected backend reply>");
	check(&creds_user, &info, &set_plain, "\r\n",
	    "<CLOSE empty backend reply>");
	/* syntax */
	check(&creds_user, &info, &set_plain, "\"SASL\" \"PLAIN\r\n",
	    "<CLOSE invalid quoted string from backend>");
	check(&creds_user, &info, &set_plain, "\"a\\b\"\r\n",
	    "<CLOSE invalid quoted string from backend>");
	check(&creds_user, &info, &set_plain, "\"a\" \"b\" \"c\"\r\n",
	    "<CLOSE invalid backend reply>");
	check(&creds_user, &info, &set_plain, "\"a\" (\r\n",
	    "<CLOSE invalid backend capability>");
	check(&creds_user, &info, &set_plain, "\"a\" {3} x\r\n",
	    "<CLOSE invalid literal from backend>");
	check(&creds_user, &info, &set_plain, "\"a\" {3}\r\nabcd\r\n",
	    "<CLOSE invalid backend reply>");
	check(&creds_user, &info, &set_plain, "OK \"a\" \"b\"\r\n",
	    "<CLOSE invalid backend reply>");
	check(&creds_user, &info, &set_plain, "OK (\"X\")\r\n",
	    "<CLOSE invalid response code from backend>");
	check(&creds_user, &info, &set_plain, "OK (X \"a\"\r\n",
	    "<CLOSE invalid response code from backend>");
	check(&creds_user, &info, &set_plain, "OK (X) (Y)\r\n",
	    "<CLOSE invalid backend reply>");
	check(&creds_user, &info, &set_plain, "OK (X ((((((((1)))))))))\r\n",
	    "<CLOSE invalid response code from backend>");
	check(&creds_user, &info, &set_plain, "\"a\xff\" \"b\"\r\nOK\r\n",
	    "<CLOSE backend does not offer SASL PLAIN (TLS required?)>");
	check_len(&creds_user, &info, &set_plain, "\"a\0b\"\r\nOK\r\n", 11,
	    "<CLOSE NUL byte in backend reply><LEFT 4>");
	/* a SASL challenge, quoted or as a literal */
	check(&creds_user, &info, &set_plain, GREETING "\"\"\r\nOK\r\n",
	    AUTH_BOB "<CLOSE backend sent a SASL challenge><LEFT 4>");
	check(&creds_user, &info, &set_plain, GREETING "{4}\r\nabcd\r\n",
	    AUTH_BOB "<CLOSE backend sent a SASL challenge><LEFT 2>");
	/* too many capabilities */
	n = 0;
	for (i = 0; i <= 64; i++)
		n += (size_t)snprintf(
		    big + n, sizeof(big) - n, "\"C%zu\"\r\n", i);
	check_len(&creds_user, &info, &set_plain, big, n,
	    "<CLOSE backend sent too many capabilities>");
	/* TTL 0: refuse before anything is sent */
	ci.ttl = 0;
	check(&creds_user, &ci, &set_plain, GREETING,
	    "<CLOSE proxy TTL is 0: refusing (proxy loop?)><LEFT 20>");
}

/* "n,a=bob,^Aauth=Bearer tok^A^A" */
static struct proto_creds creds_bearer = {
    .kind = PROTO_AUTH_SASL_OAUTHBEARER,
    .authzid = "",
    .authcid = "bob",
    .password = "n,a=bob,\001auth=Bearer tok\001\001",
    .password_len = 26,
};
/* "user=bob^Aauth=Bearer tok^A^A" */
static struct proto_creds creds_xoauth2 = {
    .kind = PROTO_AUTH_SASL_XOAUTH2,
    .authzid = "",
    .authcid = "bob",
    .password = "user=bob\001auth=Bearer tok\001\001",
    .password_len = 26,
};
#define AUTH_BEARER                                                            \
	"AUTHENTICATE \"OAUTHBEARER\" "                                        \
	"\"bixhPWJvYiwBYXV0aD1CZWFyZXIgdG9rAQE=\"\r\n"
#define AUTH_XOAUTH2                                                           \
	"AUTHENTICATE \"XOAUTH2\" "                                            \
	"\"dXNlcj1ib2IBYXV0aD1CZWFyZXIgdG9rAQE=\"\r\n"
/* {"status":"401"} */
#define CHALLENGE "eyJzdGF0dXMiOiI0MDEifQ=="

/* OAuth: the client's message replayed under its own mechanism. */
static void
test_oauth(void **state)
{
	struct proto_creds c = creds_xoauth2;
	static char msg[800], expect[1400], b64[1100];
	size_t n;

	check(&creds_bearer, &info, &set_plain,
	    PH_GREETING "OK \"Logged in.\"\r\nOK \"NOOP Completed\"\r\n",
	    AUTH_BEARER "<LOGGED_IN Logged in.><LEFT 21>");
	check(&creds_xoauth2, &info, &set_plain,
	    PH_GREETING_TRUSTED "OK\r\nOK \"Logged in.\"\r\n",
	    XCLIENT_LINE AUTH_XOAUTH2 "<LOGGED_IN Logged in.>");
	/* no SASL PLAIN needed: the backend's NO tells the client */
	check(&creds_bearer, &info, &set_plain,
	    "\"SASL\" \"OAUTHBEARER\"\r\nOK\r\nOK\r\n",
	    AUTH_BEARER "<LOGGED_IN >");
	check(&creds_xoauth2, &info, &set_plain,
	    "\"SASL\" \"\"\r\n\"STARTTLS\"\r\nOK\r\n"
	    "NO \"Unsupported authentication mechanism.\"\r\n",
	    AUTH_XOAUTH2 "<FAILED () Unsupported authentication mechanism.>");
	/* a long message goes as a literal */
	memset(msg, 't', sizeof(msg));
	memcpy(msg, "user=bob\001auth=Bearer ", 21);
	memcpy(msg + sizeof(msg) - 2, "\001\001", 2);
	c.password = msg;
	c.password_len = sizeof(msg);
	n = base64_encode((unsigned char *)msg, sizeof(msg), b64);
	assert_int_equal(n, 1068);
	(void)snprintf(expect, sizeof(expect),
	    "AUTHENTICATE \"XOAUTH2\" {1068+}\r\n%s\r\n<LOGGED_IN >", b64);
	check(&c, &info, &set_plain, GREETING "OK\r\n", expect);
}

/* A string after the message is the backend's error challenge: kept,
 * answered with the dummy response, and the NO follows. */
static void
test_oauth_error_challenge(void **state)
{
	/* quoted */
	check(&creds_bearer, &info, &set_plain,
	    GREETING "\"" CHALLENGE "\"\r\n"
		     "NO \"Authentication failed.\"\r\nOK\r\n",
	    AUTH_BEARER "\"AQ==\"\r\n<FAILED () Authentication failed.>"
			"<CHALLENGE " CHALLENGE "><LEFT 4>");
	/* literals */
	check(&creds_bearer, &info, &set_plain,
	    GREETING "{24}\r\n" CHALLENGE "\r\n"
		     "NO (AUTH-FAILED) \"Bad token\"\r\n",
	    AUTH_BEARER "\"AQ==\"\r\n<FAILED (AUTH-FAILED) Bad token>"
			"<CHALLENGE " CHALLENGE ">");
	check(&creds_xoauth2, &info, &set_plain,
	    GREETING "{4+}\r\neyJ9\r\nNO\r\n",
	    AUTH_XOAUTH2 "\"\"\r\n<FAILED () ><CHALLENGE eyJ9>");
	/* XOAUTH2's dummy response is empty; a temporary failure */
	check(&creds_xoauth2, &info, &set_plain,
	    GREETING "\"eyJ9\"\r\nNO (TRYLATER) \"Try later\"\r\n",
	    AUTH_XOAUTH2 "\"\"\r\n<FAILED (TRYLATER) tempfail Try later>"
			 "<CHALLENGE eyJ9>");
	/* accepted after all */
	check(&creds_bearer, &info, &set_plain,
	    GREETING "\"eyJ9\"\r\nOK \"Logged in.\"\r\n",
	    AUTH_BEARER "\"AQ==\"\r\n<LOGGED_IN Logged in.>");
	/* no challenge: none kept */
	check(&creds_bearer, &info, &set_plain, GREETING "NO \"no\"\r\n",
	    AUTH_BEARER "<FAILED () no>");
}

/* Only one challenge, and only base64: anything else closes; PLAIN
 * never takes one. */
static void
test_oauth_bad_challenges(void **state)
{
	static char big[SASL_CHALLENGE_MAX + 128];
	size_t n;

	check(&creds_bearer, &info, &set_plain,
	    GREETING "\"eyJ9\"\r\n\"eyJ9\"\r\n",
	    AUTH_BEARER "\"AQ==\"\r\n<CLOSE backend sent a SASL challenge>");
	check(&creds_bearer, &info, &set_plain,
	    GREETING "\"{\\\"status\\\":\\\"401\\\"}\"\r\n",
	    AUTH_BEARER "<CLOSE invalid OAuth challenge from backend>");
	check(&creds_bearer, &info, &set_plain, GREETING "\"\"\r\n",
	    AUTH_BEARER "<CLOSE invalid OAuth challenge from backend>");
	check(&creds_bearer, &info, &set_plain, GREETING "{0}\r\n\r\n",
	    AUTH_BEARER "<CLOSE invalid OAuth challenge from backend>"
			"<LEFT 2>");
	check(&creds_xoauth2, &info, &set_plain,
	    GREETING "\"eyJ9\" \"eyJ9\"\r\n",
	    AUTH_XOAUTH2 "<CLOSE invalid backend reply>");
	check(&creds_xoauth2, &info, &set_plain, GREETING "\"eyJ9\" OK\r\n",
	    AUTH_XOAUTH2 "<CLOSE invalid backend reply>");
	/* the longest is kept, one more byte closes */
	n = (size_t)snprintf(
	    big, sizeof(big), "%s{%d}\r\n", GREETING, SASL_CHALLENGE_MAX + 1);
	memset(big + n, 'A', SASL_CHALLENGE_MAX + 1);
	n += SASL_CHALLENGE_MAX + 1;
	memcpy(big + n, "\r\n", 2);
	check_len(&creds_bearer, &info, &set_plain, big, n + 2,
	    AUTH_BEARER "<CLOSE invalid OAuth challenge from backend>"
			"<LEFT 2>");
	{
		struct sieve_backend *b;
		enum proto_action act;

		n = (size_t)snprintf(big, sizeof(big), "%s{%d}\r\n", GREETING,
		    SASL_CHALLENGE_MAX);
		memset(big + n, 'A', SASL_CHALLENGE_MAX);
		n += SASL_CHALLENGE_MAX;
		memcpy(big + n, "\r\nNO\r\n", 6);
		b = sieve_backend_new(&creds_bearer, &info, &set_plain);
		assert_int_equal(
		    sieve_backend_input(b, big, n + 6, &act), n + 6);
		assert_int_equal(act, PROTO_ACT_LOGIN_FAILED);
		assert_non_null(sieve_backend_challenge(b));
		assert_int_equal(strspn(sieve_backend_challenge(b), "A"),
		    SASL_CHALLENGE_MAX);
		assert_int_equal(
		    strlen(sieve_backend_challenge(b)), SASL_CHALLENGE_MAX);
		sieve_backend_free(&b);
	}
	/* a string after a PLAIN login is still a broken backend */
	check(&creds_user, &info, &set_plain, GREETING "\"eyJ9\"\r\nNO\r\n",
	    AUTH_BOB "<CLOSE backend sent a SASL challenge><LEFT 4>");
	check(&creds_sasl, &info, &set_plain,
	    GREETING "{24}\r\n" CHALLENGE "\r\nNO\r\n",
	    "AUTHENTICATE \"PLAIN\" \"Ym9iAG1hc3RlcgBwdw==\"\r\n"
	    "<CLOSE backend sent a SASL challenge><LEFT 6>");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pigeonhole_login),
	    cmocka_unit_test(test_capabilities),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_xclient),
	    cmocka_unit_test(test_login_failed),
	    cmocka_unit_test(test_literal_caps),
	    cmocka_unit_test(test_auth_forms),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_oauth),
	    cmocka_unit_test(test_oauth_error_challenge),
	    cmocka_unit_test(test_oauth_bad_challenges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

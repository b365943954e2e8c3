/*
 * test_healthcheck.c - the check dialogue: greetings of IMAP, POP3 and
 * LMTP (good, bad, LOGINDISABLED, multi-line 220), the test logins,
 * quoting, over-long lines; every input fed whole and a byte at a time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "healthcheck.h"

struct step {
	const char *in; /* backend bytes */
	const char *out; /* what the dialogue must have sent after them */
};

struct dialogue {
	enum healthcheck_proto proto;
	const char *user, *password;
	struct step steps[4];
	enum healthcheck_status verdict;
	const char *text; /* a substring of healthcheck_text() */
};

static const struct dialogue dialogues[] = {
    {HEALTHCHECK_IMAP, NULL, NULL,
	{{"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", "hc1 LOGOUT\r\n"}},
	HEALTHCHECK_UP, "imap: greeting ok"},
    {HEALTHCHECK_IMAP, NULL, NULL,
	{{"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n",
	    "hc1 LOGOUT\r\n"}},
	HEALTHCHECK_UP_WARN, "logins disabled"},
    {HEALTHCHECK_IMAP, NULL, NULL,
	{{"* BYE too many connections\r\n", "hc1 LOGOUT\r\n"}},
	HEALTHCHECK_DOWN, "bad greeting: * BYE too many"},
    {HEALTHCHECK_IMAP, NULL, NULL, {{"* PREAUTH hi\r\n", "hc1 LOGOUT\r\n"}},
	HEALTHCHECK_UP_WARN, "preauth"},
    {HEALTHCHECK_IMAP, "probe", "se\"cr\\et",
	{{"* OK ready\r\n", "hc1 LOGIN \"probe\" \"se\\\"cr\\\\et\"\r\n"},
	    {"* CAPABILITY IMAP4rev1\r\nhc1 OK Logged in\r\n",
		"hc1 LOGOUT\r\n"}},
	HEALTHCHECK_UP, "login ok"},
    {HEALTHCHECK_IMAP, "probe", "secret",
	{{"* OK ready\r\n", "hc1 LOGIN \"probe\" \"secret\"\r\n"},
	    {"hc1 NO [AUTHENTICATIONFAILED] no\r\n", "hc1 LOGOUT\r\n"}},
	HEALTHCHECK_DOWN, "test login failed"},
    {HEALTHCHECK_IMAP, "probe", "secret",
	{{"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n",
	    "hc1 LOGOUT\r\n"}},
	HEALTHCHECK_UP_WARN, "logins disabled"},
    {HEALTHCHECK_POP3, NULL, NULL, {{"+OK Dovecot ready.\r\n", "QUIT\r\n"}},
	HEALTHCHECK_UP, "pop3: greeting ok"},
    {HEALTHCHECK_POP3, NULL, NULL, {{"-ERR go away\r\n", "QUIT\r\n"}},
	HEALTHCHECK_DOWN, "bad greeting"},
    {HEALTHCHECK_POP3, "probe", "secret",
	{{"+OK hi\r\n", "USER probe\r\n"}, {"+OK\r\n", "PASS secret\r\n"},
	    {"+OK Logged in.\r\n", "QUIT\r\n"}},
	HEALTHCHECK_UP, "login ok"},
    {HEALTHCHECK_POP3, "probe", "secret",
	{{"+OK hi\r\n", "USER probe\r\n"}, {"+OK\r\n", "PASS secret\r\n"},
	    {"-ERR [AUTH] Authentication failed.\r\n", "QUIT\r\n"}},
	HEALTHCHECK_DOWN, "test login failed"},
    {HEALTHCHECK_LMTP, "probe", "secret",
	{{"220-first\r\n220 host Dovecot LMTP ready\r\n", "QUIT\r\n"}},
	HEALTHCHECK_UP, "lmtp: greeting ok"},
    {HEALTHCHECK_LMTP, NULL, NULL,
	{{"421 4.3.2 shutting down\r\n", "QUIT\r\n"}}, HEALTHCHECK_DOWN, "421"},
    {HEALTHCHECK_LMTP, NULL, NULL, {{"2200 no\r\n", "QUIT\r\n"}},
	HEALTHCHECK_DOWN, "bad greeting"},
    /* ManageSieve: capabilities, then OK; a test account is not used */
    {HEALTHCHECK_SIEVE, "probe", "secret",
	{{"\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\"SASL\" \"PLAIN\"\r\n"
	  "\"VERSION\" \"1.0\"\r\nOK \"Dovecot ready.\"\r\n",
	    "LOGOUT\r\n"}},
	HEALTHCHECK_UP, "sieve: greeting ok"},
    {HEALTHCHECK_SIEVE, NULL, NULL,
	{{"\"VERSION\" \"1.0\"\r\nBYE \"shutting down\"\r\n", "LOGOUT\r\n"}},
	HEALTHCHECK_DOWN, "bad greeting"},
};

/* Feeds in (piece bytes at a time, 0: whole); returns the status. */
static enum healthcheck_status
feed(struct healthcheck *hc, const char *in, size_t piece)
{
	enum healthcheck_status st = HEALTHCHECK_MORE;
	size_t len = strlen(in), pos = 0, n, used;

	while (pos < len) {
		n = piece == 0 ? len - pos : MIN_OF(piece, len - pos);
		st = healthcheck_input(hc, in + pos, n, &used);
		assert_true(used <= n);
		if (st != HEALTHCHECK_MORE)
			return st;
		assert_int_equal(used, n);
		pos += used;
	}
	return st;
}

static void
run(const struct dialogue *t, size_t piece)
{
	struct healthcheck *hc =
	    healthcheck_new(t->proto, t->user, t->password);
	enum healthcheck_status st = HEALTHCHECK_MORE;
	struct buf *out;
	size_t i;

	for (i = 0; i < nitems(t->steps) && t->steps[i].in != NULL; i++) {
		st = feed(hc, t->steps[i].in, piece);
		out = healthcheck_output(hc);
		/* after the verdict: the goodbye (the shell sends it only
		 * to a backend that is up) */
		assert_int_equal(out->len, strlen(t->steps[i].out));
		assert_memory_equal(out->data, t->steps[i].out, out->len);
		buf_clear(out);
	}
	assert_int_equal(st, t->verdict);
	if (strstr(healthcheck_text(hc), t->text) == NULL &&
	    strcasestr(healthcheck_text(hc), t->text) == NULL)
		fail_msg("text %s lacks %s", healthcheck_text(hc), t->text);
	/* the verdict sticks */
	assert_int_equal(feed(hc, "* OK later\r\n", 0), t->verdict);
	healthcheck_free(&hc);
	assert_null(hc);
}

static void
test_dialogues(void **state)
{
	size_t i;

	for (i = 0; i < nitems(dialogues); i++) {
		run(&dialogues[i], 0);
		run(&dialogues[i], 1);
		run(&dialogues[i], 3);
	}
}

static void
test_too_long_and_garbage(void **state)
{
	char line[HEALTHCHECK_LINE_MAX + 10];
	struct healthcheck *hc;
	size_t used;

	memset(line, 'x', sizeof(line));
	hc = healthcheck_new(HEALTHCHECK_IMAP, NULL, NULL);
	assert_int_equal(
	    healthcheck_input(hc, line, sizeof(line), &used), HEALTHCHECK_DOWN);
	assert_non_null(strstr(healthcheck_text(hc), "too long"));
	healthcheck_free(&hc);
	/* remote text is sanitised before anyone logs it */
	hc = healthcheck_new(HEALTHCHECK_POP3, NULL, NULL);
	assert_int_equal(feed(hc, "-ERR \x1b[31mred\r\n", 0), HEALTHCHECK_DOWN);
	assert_null(strchr(healthcheck_text(hc), '\x1b'));
	healthcheck_free(&hc);
	/* a credential with a line break cannot be sent */
	hc = healthcheck_new(HEALTHCHECK_IMAP, "a\r\nb", "c");
	assert_int_equal(feed(hc, "* OK hi\r\n", 0), HEALTHCHECK_UP_WARN);
	healthcheck_free(&hc);
	healthcheck_free(&hc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dialogues),
	    cmocka_unit_test(test_too_long_and_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

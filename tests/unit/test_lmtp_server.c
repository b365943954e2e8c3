/*
 * test_lmtp_server.c - the client-facing LMTP server.  Every scenario is
 * run twice, fed whole and one byte at a time, while a fake shell answers
 * the events; both transcripts (output, events, body bytes) must be
 * identical to each other and to the expected text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "lmtp_backend.h"
#include "lmtp_server.h"
#include "proto.h"

#define TRANSCRIPT_MAX 65536
#include "transcript.h"
#define BODY_MAX 65536
#define RCPT_SLOTS 256

/* How the fake shell answers: RCPT replies in turn (NULL entries and a
 * NULL table: "250 2.1.5 OK"), and whether DATA is refused. */
static const char *const *rcpt_answers;
static const char *data_refusal;
/* Delivery replies the fake shell gives right after DATA, before the
 * body (a backend that failed early): 0 none, 1 all but recipient 0, 2
 * all. */
static int early_answers;

static void
flush_out(struct buf *out, struct transcript *t)
{
	if (out->len > 0)
		transcript_add(t, out->data, out->len);
	buf_consume(out, out->len);
}

/* Answers every accepted recipient's delivery not answered yet in
 * reverse order, from recipient `from` down; the module must still send
 * them in RCPT order. */
static void
answer_data(struct lmtp_server *s, const bool *accepted, bool *answered,
    unsigned int n, unsigned int from)
{
	char reply[64];
	unsigned int i;

	for (i = n; i-- > from;) {
		if (answered[i]) {
			assert_int_equal(
			    lmtp_server_data_reply(s, i, "250 again"), -1);
			continue;
		}
		answered[i] = accepted[i];
		if (!accepted[i]) {
			snprintf(reply, sizeof(reply), "250 x");
			assert_int_equal(
			    lmtp_server_data_reply(s, i, reply), -1);
			continue;
		}
		snprintf(reply, sizeof(reply), "250 2.0.0 rcpt %u saved", i);
		assert_int_equal(lmtp_server_data_reply(s, i, reply), 0);
		/* a second answer is refused */
		if (i > 0)
			assert_int_equal(
			    lmtp_server_data_reply(s, i, reply), -1);
	}
}

static void
drive(const struct lmtp_server_settings *set, const char *in, size_t len,
    size_t chunk, struct transcript *t)
{
	struct lmtp_server *s = lmtp_server_new(set);
	struct buf *out = lmtp_server_output(s);
	static char body[BODY_MAX];
	bool accepted[RCPT_SLOTS], answered[RCPT_SLOTS];
	size_t pos = 0, avail = 0, used, blen = 0, clen;
	const char *cp;
	unsigned int nrcpt = 0, k = 0, idx;
	enum lmtp_server_event ev;

	t->len = 0;
	t->text[0] = '\0';
	memset(accepted, 0, sizeof(accepted));
	memset(answered, 0, sizeof(answered));
	lmtp_server_greeting(s);
	for (;;) {
		/* the shell has at most `chunk` bytes beyond what it fed */
		avail = MIN_OF(len, MAX_OF(avail, pos) + chunk);
		ev = lmtp_server_input(
		    s, in + pos, avail - pos, &used, &cp, &clen);
		assert_true(used <= avail - pos);
		pos += used;
		flush_out(out, t);
		switch (ev) {
		case LMTP_SERVER_EV_MORE:
			assert_null(cp);
			if (avail == len && used == 0)
				goto done;
			continue;
		case LMTP_SERVER_EV_RCPT:
			idx = lmtp_server_rcpt_index(s);
			assert_int_equal(idx, nrcpt);
			transcript_printf(t, "<RCPT %u [%s] from [%s] [%s]>",
			    idx, lmtp_server_rcpt_addr(s),
			    lmtp_server_mail_from(s),
			    lmtp_server_mail_params(s));
			{
				const char *a = rcpt_answers != NULL &&
					rcpt_answers[k] != NULL
				    ? rcpt_answers[k]
				    : "250 2.1.5 OK";

				accepted[nrcpt] = a[0] == '2';
				lmtp_server_rcpt_reply(s, a);
			}
			k++;
			nrcpt++;
			break;
		case LMTP_SERVER_EV_DATA_START:
			transcript_printf(t, "<DATA>");
			if (data_refusal != NULL) {
				lmtp_server_data_refuse(s, data_refusal);
				nrcpt = 0;
				memset(accepted, 0, sizeof(accepted));
			} else {
				lmtp_server_data_go(s);
				if (early_answers > 0)
					answer_data(s, accepted, answered,
					    nrcpt, early_answers == 1 ? 1 : 0);
			}
			blen = 0;
			break;
		case LMTP_SERVER_EV_DATA_CHUNK:
			assert_non_null(cp);
			assert_true(clen > 0 && blen + clen < sizeof(body));
			/* a line that starts with a dot starts a chunk */
			assert_null(memmem(cp, clen, "\n.", 2));
			memcpy(body + blen, cp, clen);
			blen += clen;
			break;
		case LMTP_SERVER_EV_DATA_END:
			/* NUL bytes of the body show as '@' */
			for (clen = 0; clen < blen; clen++) {
				if (body[clen] == '\0')
					body[clen] = '@';
			}
			transcript_printf(t, "<END [%.*s]>", (int)blen, body);
			/* nothing is parsed until every reply is in */
			if (early_answers < 2) {
				assert_int_equal(
				    lmtp_server_input(
					s, "NOOP\r\n", 6, &used, &cp, &clen),
				    LMTP_SERVER_EV_MORE);
				assert_int_equal(used, 0);
			}
			answer_data(s, accepted, answered, nrcpt, 0);
			nrcpt = 0;
			memset(accepted, 0, sizeof(accepted));
			memset(answered, 0, sizeof(answered));
			break;
		case LMTP_SERVER_EV_DATA_ABORT:
			transcript_printf(t, "<ABORT>");
			nrcpt = 0;
			memset(accepted, 0, sizeof(accepted));
			memset(answered, 0, sizeof(answered));
			break;
		case LMTP_SERVER_EV_RESET:
			transcript_printf(t, "<RESET>");
			nrcpt = 0;
			memset(accepted, 0, sizeof(accepted));
			memset(answered, 0, sizeof(answered));
			break;
		case LMTP_SERVER_EV_STARTTLS: {
			/* the rest up to the marker "<TLS>" is discarded */
			const char *m = memmem(in + pos, len - pos, "<TLS>", 5);

			transcript_printf(t, "<STARTTLS@%zu>", pos);
			pos = m != NULL ? (size_t)(m - in) + 5 : len;
			lmtp_server_tls_started(s);
			nrcpt = 0;
			break;
		}
		case LMTP_SERVER_EV_CLOSE:
			transcript_printf(t, "<CLOSE>");
			goto done;
		}
		flush_out(out, t);
	}
done:
	if (pos < len)
		transcript_printf(t, "<LEFT %zu>", len - pos);
	lmtp_server_free(&s);
	assert_null(s);
}

static void
check_len(const struct lmtp_server_settings *set, const char *in, size_t len,
    const char *expect)
{
	static struct transcript whole, bytes;

	drive(set, in, len, len + 1, &whole);
	drive(set, in, len, 1, &bytes);
	assert_string_equal(whole.text, bytes.text);
	if (expect != NULL)
		assert_string_equal(whole.text, expect);
}

static void
check(
    const struct lmtp_server_settings *set, const char *in, const char *expect)
{
	check_len(set, in, strlen(in), expect);
}

static const struct lmtp_server_settings set_plain = {
    .hostname = "dir.example",
};

#define GREET "220 dir.example LMTP ready\r\n"
#define LHLO_REPLY                                                             \
	"250-dir.example\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"     \
	"250 8BITMIME\r\n"

static void
test_transaction(void **state)
{
	/* pipelined, lower case verbs, two recipients, dot-stuffing kept */
	check(&set_plain,
	    "lhlo mta.example\r\nmail from:<a@b> BODY=8BITMIME\r\n"
	    "rcpt to:<u1@x>\r\nRCPT TO:<\"q u\"@x>\r\nDATA\r\n"
	    "Subject: hi\r\n\r\n..dot\r\n.x\r\nend\r\n.\r\nQUIT\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [u1@x] from [a@b] [BODY=8BITMIME]>250 2.1.5 OK\r\n"
	    "<RCPT 1 [\"q u\"@x] from [a@b] [BODY=8BITMIME]>"
	    "250 2.1.5 OK\r\n<DATA>354 OK\r\n"
	    "<END [Subject: hi\r\n\r\n..dot\r\n.x\r\nend\r\n]>"
	    "250 2.0.0 rcpt 0 saved\r\n250 2.0.0 rcpt 1 saved\r\n"
	    "221 2.0.0 dir.example Closing connection\r\n<CLOSE>");
}

static void
test_rcpt_order_and_rejects(void **state)
{
	static const char *const answers[] = {
	    "250 2.1.5 OK",
	    "550 5.1.1 <nouser> User doesn't exist",
	    "250 OK",
	    "451 4.3.0\r\nbad",
	    "250 2.1.5 OK",
	    "garbage",
	    NULL,
	};

	rcpt_answers = answers;
	check(&set_plain,
	    "LHLO m\r\nMAIL FROM:<>\r\nRCPT TO:<a>\r\nRCPT TO:<nouser>\r\n"
	    "RCPT TO:<c>\r\nRCPT TO:<d>\r\nRCPT TO:<e>\r\nRCPT TO:<f>\r\n"
	    "DATA\r\nx\r\n.\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [a] from [] []>250 2.1.5 OK\r\n"
	    "<RCPT 1 [nouser] from [] []>"
	    "550 5.1.1 <nouser> User doesn't exist\r\n"
	    "<RCPT 2 [c] from [] []>250 2.0.0 OK\r\n"
	    "<RCPT 3 [d] from [] []>451 4.3.0  bad\r\n"
	    "<RCPT 4 [e] from [] []>250 2.1.5 OK\r\n"
	    "<RCPT 5 [f] from [] []>451 4.3.0 Invalid reply\r\n"
	    "<DATA>354 OK\r\n<END [x\r\n]>"
	    "250 2.0.0 rcpt 0 saved\r\n250 2.0.0 rcpt 2 saved\r\n"
	    "250 2.0.0 rcpt 4 saved\r\n");
	rcpt_answers = NULL;
}

static void
test_no_valid_recipients(void **state)
{
	static const char *const answers[] = {"550 5.1.1 no", NULL};

	rcpt_answers = answers;
	check(&set_plain,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nRSET\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>550 5.1.1 no\r\n"
	    "503 5.5.1 No valid recipients\r\n250 2.0.0 OK\r\n<RESET>");
	rcpt_answers = NULL;
	/* refused DATA ends the transaction */
	data_refusal = "451 4.3.0 Cannot spool";
	check(&set_plain,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nx\r\n"
	    "RCPT TO:<b>\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n"
	    "<DATA>451 4.3.0 Cannot spool\r\n500 5.5.2 Unknown command\r\n"
	    "503 5.5.1 MAIL needed first\r\n");
	data_refusal = NULL;
}

#define ENVELOPE3                                                              \
	GREET LHLO_REPLY "250 2.1.0 OK\r\n"                                    \
			 "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n"            \
			 "<RCPT 1 [c] from [a] []>550 5.1.1 no\r\n"            \
			 "<RCPT 2 [d] from [a] []>250 2.1.5 OK\r\n"            \
			 "<DATA>354 OK\r\n"

static void
test_replies_before_the_end(void **state)
{
	static const char *const answers[] = {
	    "250 2.1.5 OK", "550 5.1.1 no", "250 2.1.5 OK", NULL};
	static const char in[] =
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\n"
	    "RCPT TO:<d>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n";
	/* a reply given while the body arrives (a backend failed) waits
	 * for the end marker and its turn in RCPT order */
	rcpt_answers = answers;
	early_answers = 1;
	check(&set_plain, in,
	    ENVELOPE3 "<END [x\r\n]>250 2.0.0 rcpt 0 saved\r\n"
		      "250 2.0.0 rcpt 2 saved\r\n250 2.0.0 OK\r\n");
	/* all of them early: out with the end marker (before the shell
	 * sees EV_DATA_END), and the transaction is over at once */
	early_answers = 2;
	check(&set_plain, in,
	    ENVELOPE3 "250 2.0.0 rcpt 0 saved\r\n250 2.0.0 rcpt 2 saved\r\n"
		      "<END [x\r\n]>250 2.0.0 OK\r\n");
	/* too large after all: 552 replaces the early replies */
	{
		struct lmtp_server_settings set = set_plain;

		set.size_max = 2;
		check(&set,
		    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\n"
		    "RCPT TO:<c>\r\nRCPT TO:<d>\r\nDATA\r\nxyz\r\n.\r\n",
		    GREET
		    "250-dir.example\r\n250-PIPELINING\r\n"
		    "250-ENHANCEDSTATUSCODES\r\n250-SIZE 2\r\n"
		    "250 8BITMIME\r\n250 2.1.0 OK\r\n"
		    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n"
		    "<RCPT 1 [c] from [a] []>550 5.1.1 no\r\n"
		    "<RCPT 2 [d] from [a] []>250 2.1.5 OK\r\n"
		    "<DATA>354 OK\r\n"
		    "552 5.3.4 Message size exceeds fixed maximum message "
		    "size\r\n"
		    "552 5.3.4 Message size exceeds fixed maximum message "
		    "size\r\n<ABORT>");
	}
	early_answers = 0;
	rcpt_answers = NULL;
}

static void
test_rset_midway(void **state)
{
	check(&set_plain,
	    "LHLO m\r\nMAIL FROM:<a> SIZE=10\r\nRCPT TO:<b>\r\nRSET\r\n"
	    "MAIL FROM:<c>\r\nRCPT TO:<d>\r\nDATA\r\n.\r\nLHLO n\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] [SIZE=10]>250 2.1.5 OK\r\n"
	    "250 2.0.0 OK\r\n<RESET>250 2.1.0 OK\r\n"
	    "<RCPT 0 [d] from [c] []>250 2.1.5 OK\r\n<DATA>354 OK\r\n"
	    "<END []>250 2.0.0 rcpt 0 saved\r\n" LHLO_REPLY);
}

static void
test_lhlo_resets(void **state)
{
	/* LHLO abandons an open transaction; a 2xx refusal is not one */
	data_refusal = "250 2.0.0 fine";
	check(&set_plain,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nLHLO n\r\n"
	    "RCPT TO:<b>\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n" LHLO_REPLY
	    "<RESET>503 5.5.1 MAIL needed first\r\n250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n"
	    "<DATA>451 4.3.0 Invalid reply\r\n");
	data_refusal = NULL;
}

static void
test_output_backpressure(void **state)
{
	struct lmtp_server *s = lmtp_server_new(&set_plain);
	struct buf *out = lmtp_server_output(s);
	const char *cp;
	size_t used, total = 0, clen;
	unsigned int i;

	/* with nobody draining the output, parsing stops above the mark */
	for (i = 0; i < 4 * LMTP_SERVER_OUTPUT_HIGH / 6; i++) {
		assert_int_equal(
		    lmtp_server_input(s, "NOOP\r\n", 6, &used, &cp, &clen),
		    LMTP_SERVER_EV_MORE);
		total += used;
	}
	assert_true(out->len > LMTP_SERVER_OUTPUT_HIGH);
	assert_true(out->len < LMTP_SERVER_OUTPUT_HIGH + 64);
	assert_true(total < 4 * LMTP_SERVER_OUTPUT_HIGH / 6 * 6);
	buf_consume(out, out->len);
	assert_int_equal(lmtp_server_input(s, "NOOP\r\n", 6, &used, &cp, &clen),
	    LMTP_SERVER_EV_MORE);
	assert_int_equal(used, 6);
	lmtp_server_free(&s);
}

static void
test_sequence_and_syntax(void **state)
{
	struct lmtp_server_settings set = set_plain;

	set.bad_max = 100;
	check(&set,
	    "MAIL FROM:<a>\r\nHELO x\r\nEHLO x\r\nLHLO\r\nLHLO a b\r\n"
	    "LHLO m\r\nRCPT TO:<a>\r\nDATA\r\nMAIL FROM:a\r\n"
	    "MAIL FROM:<a> FOO=1\r\nMAIL FROM:<a> BODY=9BIT\r\n"
	    "MAIL FROM:<a> SIZE=x\r\nMAIL FROM:<a> =x\r\nMAIL FROM:<a>x\r\n"
	    "MAIL FROM:<@r1,@r2:a@b>\r\nMAIL FROM:<c>\r\nRCPT TO:<>\r\n"
	    "RCPT TO:<a> NOTIFY=NEVER\r\nRCPT TO:<\xc3\xa4>\r\nRCPT TO:<a "
	    "b>\r\n"
	    "DATA x\r\nVRFY a\r\nNOOP\r\nRSET x\r\nSTARTTLS\r\n\r\nFOO\r\n",
	    GREET
	    "503 5.5.1 LHLO needed first\r\n"
	    "500 5.5.2 Unknown command\r\n500 5.5.2 Unknown command\r\n"
	    "501 5.5.4 Invalid LHLO domain\r\n"
	    "501 5.5.4 Invalid LHLO domain\r\n" LHLO_REPLY
	    "503 5.5.1 MAIL needed first\r\n503 5.5.1 MAIL needed first\r\n"
	    "501 5.5.4 Invalid FROM: address\r\n"
	    "555 5.5.4 Unsupported parameters\r\n"
	    "501 5.5.4 Invalid BODY parameter\r\n"
	    "501 5.5.4 Invalid SIZE parameter\r\n"
	    "501 5.5.4 Invalid parameters\r\n"
	    "501 5.5.4 Invalid FROM: address\r\n"
	    "250 2.1.0 OK\r\n503 5.5.1 MAIL already given\r\n"
	    "501 5.5.4 Invalid TO: address\r\n"
	    "555 5.5.4 Unsupported parameters\r\n"
	    "501 5.5.4 Invalid TO: address\r\n"
	    "501 5.5.4 Invalid TO: address\r\n"
	    "501 5.5.4 DATA takes no arguments\r\n"
	    "252 2.3.3 Try RCPT instead\r\n250 2.0.0 OK\r\n"
	    "501 5.5.4 RSET takes no arguments\r\n"
	    "502 5.5.1 TLS not available\r\n"
	    "500 5.5.2 Unknown command\r\n"
	    "500 5.5.2 Unknown command\r\n");
	/* the source route is dropped, the sender kept */
	check(&set_plain,
	    "LHLO m\r\nMAIL FROM: <@r1,@r2:a@b>\r\nRCPT TO:<Postmaster>\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [Postmaster] from [a@b] []>250 2.1.5 OK\r\n");
}

static void
test_bad_max_and_nul(void **state)
{
	struct lmtp_server_settings set = set_plain;
	static const char in[] = "NO\0OP\r\nFOO\r\nBAR\r\nNOOP\r\n";

	set.bad_max = 3;
	check_len(&set, in, sizeof(in) - 1,
	    GREET "500 5.5.2 Invalid characters in command\r\n"
		  "500 5.5.2 Unknown command\r\n500 5.5.2 Unknown command\r\n"
		  "421 4.7.0 dir.example Too many invalid commands\r\n"
		  "<CLOSE><LEFT 6>");
}

static void
test_recipient_limit(void **state)
{
	struct lmtp_server_settings set = set_plain;

	set.max_rcpts = 2;
	check(&set,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<1>\r\nRCPT TO:<2>\r\n"
	    "RCPT TO:<3>\r\nDATA\r\n.\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [1] from [a] []>250 2.1.5 OK\r\n"
	    "<RCPT 1 [2] from [a] []>250 2.1.5 OK\r\n"
	    "452 4.5.3 Too many recipients\r\n<DATA>354 OK\r\n<END []>"
	    "250 2.0.0 rcpt 0 saved\r\n250 2.0.0 rcpt 1 saved\r\n");
}

static void
test_size(void **state)
{
	struct lmtp_server_settings set = set_plain;

	/* 10 bytes unstuffed: "..a\r\n" counts 4, "bcd\r\n" 5 */
	set.size_max = 10;
	set.starttls = true;
	check(&set,
	    "LHLO m\r\nMAIL FROM:<a> SIZE=11\r\nMAIL FROM:<a> SIZE=10\r\n"
	    "RCPT TO:<b>\r\nRCPT TO:<c>\r\nDATA\r\n..a\r\nbcd\r\n.\r\n"
	    "MAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\nDATA\r\n"
	    "..a\r\nbcd\r\n\r\n.\r\n",
	    GREET
	    "250-dir.example\r\n250-PIPELINING\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-SIZE 10\r\n250-STARTTLS\r\n"
	    "250 8BITMIME\r\n"
	    "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
	    "250 2.1.0 OK\r\n<RCPT 0 [b] from [a] [SIZE=10]>"
	    "250 2.1.5 OK\r\n<RCPT 1 [c] from [a] [SIZE=10]>"
	    "250 2.1.5 OK\r\n<DATA>354 OK\r\n<END [..a\r\nbcd\r\n]>"
	    "250 2.0.0 rcpt 0 saved\r\n250 2.0.0 rcpt 1 saved\r\n"
	    "250 2.1.0 OK\r\n<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n"
	    "<RCPT 1 [c] from [a] []>250 2.1.5 OK\r\n<DATA>354 OK\r\n"
	    "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
	    "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
	    "<ABORT>");
}

static void
test_body_line_ends(void **state)
{
	static const char in[] =
	    "LHLO m\nMAIL FROM:<a>\nRCPT TO:<b>\nDATA\n"
	    "a\nb\r\rc\r\n\xff\xfe 8bit\x80\r\n.\r.\r\nx\r\n.\nNOOP\r\n";

	/* bare LF and bare CR become CRLF; "." then a bare CR ends */
	check_len(&set_plain, in, sizeof(in) - 1,
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n<DATA>354 OK\r\n"
	    "<END [a\r\nb\r\n\r\nc\r\n\xff\xfe 8bit\x80\r\n]>"
	    "250 2.0.0 rcpt 0 saved\r\n"
	    "500 5.5.2 Unknown command\r\n500 5.5.2 Unknown command\r\n"
	    "500 5.5.2 Unknown command\r\n250 2.0.0 OK\r\n");
	/* "." and a bare LF ends too; NUL in the body is data */
	check_len(&set_plain,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nx\0y\r\n.\n", 49,
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n<DATA>354 OK\r\n"
	    "<END [x@y\r\n]>250 2.0.0 rcpt 0 saved\r\n");
}

static void
test_starttls(void **state)
{
	struct lmtp_server_settings set = set_plain;

	set.starttls = true;
	/* pipelined plaintext after STARTTLS is never executed */
	check(&set,
	    "LHLO m\r\nSTARTTLS\r\nMAIL FROM:<evil>\r\n<TLS>"
	    "MAIL FROM:<a>\r\nLHLO m\r\nSTARTTLS\r\n",
	    GREET "250-dir.example\r\n250-PIPELINING\r\n"
		  "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
		  "220 2.0.0 Begin TLS negotiation now\r\n"
		  "<STARTTLS@18>503 5.5.1 LHLO needed first\r\n" LHLO_REPLY
		  "502 5.5.1 TLS not available\r\n");
}

/* STARTTLS only before a transaction (RFC 3207: TLS starts from a clean
 * state): after MAIL it is refused and the transaction goes on, so the
 * shell never holds recipients the module has forgotten. */
static void
test_starttls_in_transaction(void **state)
{
	struct lmtp_server_settings set = set_plain;

	set.starttls = true;
	check(&set,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nSTARTTLS\r\n"
	    "DATA\r\nx\r\n.\r\nMAIL FROM:<a>\r\nSTARTTLS\r\nRSET\r\n"
	    "STARTTLS\r\n",
	    GREET "250-dir.example\r\n250-PIPELINING\r\n"
		  "250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
		  "250 2.1.0 OK\r\n<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n"
		  "503 5.5.1 STARTTLS not allowed in a mail transaction\r\n"
		  "<DATA>354 OK\r\n<END [x\r\n]>250 2.0.0 rcpt 0 saved\r\n"
		  "250 2.1.0 OK\r\n"
		  "503 5.5.1 STARTTLS not allowed in a mail transaction\r\n"
		  "250 2.0.0 OK\r\n220 2.0.0 Begin TLS negotiation now\r\n"
		  "<STARTTLS@99>");
}

/* MAIL and RCPT lines the backend module could not forward whole are
 * refused at once with 501, before any recipient is routed. */
static void
test_unforwardable_lines(void **state)
{
	static char in[3 * LMTP_SERVER_LINE_MAX + 128], expect[1024];
	char addr[LMTP_SERVER_LINE_MAX];
	size_t n = LMTP_BACKEND_CMD_MAX - 14; /* MAIL FROM:<> CRLF */

	memset(addr, 'a', n);
	addr[n] = '\0';
	/* the longest MAIL line that fits, then one byte more */
	snprintf(in, sizeof(in),
	    "LHLO m\r\nMAIL FROM:<%s>\r\nRSET\r\nMAIL FROM:<%s> BODY=7BIT\r\n"
	    "MAIL FROM:<a%s>\r\n",
	    addr, addr, addr);
	snprintf(expect, sizeof(expect),
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n250 2.0.0 OK\r\n"
	    "501 5.5.4 MAIL FROM line too long to forward\r\n"
	    "501 5.5.4 MAIL FROM line too long to forward\r\n");
	check(&set_plain, in, expect);
	/* RCPT TO:<> CRLF */
	n = LMTP_BACKEND_CMD_MAX - 12;
	memset(addr, 'a', n);
	addr[n] = '\0';
	snprintf(in, sizeof(in), "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<a%s>\r\n",
	    addr);
	snprintf(expect, sizeof(expect),
	    GREET LHLO_REPLY "250 2.1.0 OK\r\n"
			     "501 5.5.4 RCPT TO line too long to forward\r\n");
	check(&set_plain, in, expect);
}

static void
test_long_lines(void **state)
{
	struct lmtp_server_settings set = set_plain;

	set.line_max = 16;
	/* exactly 16 bytes, then 17 */
	check(&set, "NOOP 12345678901\r\n", GREET "250 2.0.0 OK\r\n");
	check(&set, "NOOP 12345678901\n", GREET "250 2.0.0 OK\r\n");
	check(&set, "NOOP 123456789012\r\nNOOP\r\n",
	    GREET "500 5.5.2 Line too long\r\n<CLOSE><LEFT 8>");
	/* body lines are not limited */
	check(&set,
	    "LHLO m\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n"
	    "0123456789012345678901234567890123456789\r\n.\r\n",
	    GREET LHLO_REPLY
	    "250 2.1.0 OK\r\n"
	    "<RCPT 0 [b] from [a] []>250 2.1.5 OK\r\n<DATA>354 OK\r\n"
	    "<END [0123456789012345678901234567890123456789\r\n]>"
	    "250 2.0.0 rcpt 0 saved\r\n");
}

static void
test_reply_normalise(void **state)
{
	static const struct {
		const char *in;
		int code;
		const char *out;
	} cases[] = {
	    {"250 2.1.5 OK", 250, "250 2.1.5 OK"},
	    {"250 OK", 250, "250 2.0.0 OK"},
	    {"250", 250, "250 2.0.0"},
	    {"451 5.1.1 x", 451, "451 4.0.0 5.1.1 x"},
	    {"550-5.1.1 x\ty", 550, "550 5.1.1 x y"},
	    {"550 5.1234.1 x", 550, "550 5.0.0 5.1234.1 x"},
	    {"199 x", -1, "451 4.3.0 Invalid reply"},
	    {"600 x", -1, "451 4.3.0 Invalid reply"},
	    {"25", -1, "451 4.3.0 Invalid reply"},
	    {"250x", -1, "451 4.3.0 Invalid reply"},
	};
	char dst[LMTP_REPLY_MAX + 1], big[2 * LMTP_REPLY_MAX];
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(lmtp_reply_normalise(dst, sizeof(dst),
				     cases[i].in, strlen(cases[i].in)),
		    cases[i].code);
		assert_string_equal(dst, cases[i].out);
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "250 ", 4);
	assert_int_equal(
	    lmtp_reply_normalise(dst, sizeof(dst), big, sizeof(big)), 250);
	assert_int_equal(strlen(dst), LMTP_REPLY_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transaction),
	    cmocka_unit_test(test_rcpt_order_and_rejects),
	    cmocka_unit_test(test_no_valid_recipients),
	    cmocka_unit_test(test_replies_before_the_end),
	    cmocka_unit_test(test_rset_midway),
	    cmocka_unit_test(test_lhlo_resets),
	    cmocka_unit_test(test_output_backpressure),
	    cmocka_unit_test(test_sequence_and_syntax),
	    cmocka_unit_test(test_bad_max_and_nul),
	    cmocka_unit_test(test_recipient_limit),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_body_line_ends),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_starttls_in_transaction),
	    cmocka_unit_test(test_unforwardable_lines),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_reply_normalise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_lmtp_backend.c - the director as an LMTP client of one backend.
 * The backend's replies are scripted and a fake shell runs a planned
 * transaction; each script is fed whole and one byte at a time and both
 * transcripts (commands sent, events with their replies) must match each
 * other and the expected text.
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

#define TRANSCRIPT_MAX 16384
#include "transcript.h"

/* What the fake shell does once the backend is ready. */
struct plan {
	const char *from, *params;
	const char *const *rcpts; /* NULL-terminated */
	bool no_data;
	int rset_at; /* rset() after the RCPT reply with this index */
	unsigned int repeat; /* transactions after the first */
	bool quit; /* quit() after the last transaction */
	/* BDAT chunks instead of DATA (NULL-terminated, the last one with
	 * LAST), sent once the last RCPT has its reply */
	const char *const *chunks;
};

static void
flush_out(struct buf *out, struct transcript *t)
{
	if (out->len > 0)
		transcript_add(t, out->data, out->len);
	buf_consume(out, out->len);
}

static void
start_transaction(struct lmtp_backend *b, const struct plan *p)
{
	unsigned int i;

	assert_int_equal(lmtp_backend_mail(b, p->from, p->params), 0);
	for (i = 0; p->rcpts[i] != NULL; i++)
		assert_int_equal(lmtp_backend_rcpt(b, i, p->rcpts[i]), 0);
	if (!p->no_data && p->chunks == NULL)
		assert_int_equal(lmtp_backend_data(b), 0);
}

/* After the last RCPT reply: the chunks, each written by the shell right
 * after its BDAT line. */
static void
send_chunks(struct lmtp_backend *b, const struct plan *p, struct transcript *t)
{
	struct buf *out = lmtp_backend_output(b);
	unsigned int i;
	bool last;

	assert_true(lmtp_backend_chunking(b));
	for (i = 0; p->chunks[i] != NULL; i++) {
		last = p->chunks[i + 1] == NULL;
		assert_int_equal(
		    lmtp_backend_bdat(b, strlen(p->chunks[i]), last), 0);
		flush_out(out, t);
		transcript_add(t, p->chunks[i], strlen(p->chunks[i]));
		/* no more recipients, no DATA, no RSET in the middle */
		assert_int_equal(lmtp_backend_rcpt(b, 9, "late"), -1);
		assert_int_equal(lmtp_backend_data(b), -1);
		assert_int_equal(lmtp_backend_rset(b), -1);
	}
	assert_int_equal(lmtp_backend_bdat(b, 1, true), -1);
}

static void
drive(const struct lmtp_backend_settings *set,
    const struct proto_client_info *info, const struct plan *p, const char *in,
    size_t len, size_t chunk, struct transcript *t)
{
	struct lmtp_backend *b = lmtp_backend_new(set, info, "mta.example");
	struct buf *out = lmtp_backend_output(b);
	size_t pos = 0, avail = 0, used;
	unsigned int done = 0;
	enum lmtp_backend_event ev;

	t->len = 0;
	t->text[0] = '\0';
	for (;;) {
		avail = MIN_OF(len, MAX_OF(avail, pos) + chunk);
		ev = lmtp_backend_input(b, in + pos, avail - pos, &used);
		assert_true(used <= avail - pos);
		pos += used;
		flush_out(out, t);
		switch (ev) {
		case LMTP_BACKEND_EV_MORE:
			if (avail == len && used == 0)
				goto done;
			continue;
		case LMTP_BACKEND_EV_STARTTLS:
			transcript_printf(t, "<STARTTLS>");
			lmtp_backend_tls_started(b);
			break;
		case LMTP_BACKEND_EV_READY:
			transcript_printf(t, "<READY>");
			if (p != NULL)
				start_transaction(b, p);
			break;
		case LMTP_BACKEND_EV_RCPT_REPLY:
			transcript_printf(t, "<RCPT %u %s>",
			    lmtp_backend_reply_index(b), lmtp_backend_reply(b));
			if (p != NULL && p->rset_at >= 0 &&
			    lmtp_backend_reply_index(b) ==
				(unsigned int)p->rset_at)
				assert_int_equal(lmtp_backend_rset(b), 0);
			if (p != NULL && p->chunks != NULL &&
			    p->rcpts[lmtp_backend_reply_index(b) + 1] == NULL) {
				flush_out(out, t);
				send_chunks(b, p, t);
			}
			break;
		case LMTP_BACKEND_EV_DATA_READY:
			transcript_printf(t, "<DATA_READY>");
			/* the shell's own body write */
			transcript_printf(t, "body\r\n");
			assert_int_equal(lmtp_backend_rset(b), -1);
			assert_int_equal(lmtp_backend_data_end(b), 0);
			break;
		case LMTP_BACKEND_EV_DATA_REPLY:
			transcript_printf(t, "<DATA %u %s>",
			    lmtp_backend_reply_index(b), lmtp_backend_reply(b));
			break;
		case LMTP_BACKEND_EV_DONE:
			transcript_printf(t, "<DONE>");
			if (p != NULL && done++ < p->repeat)
				start_transaction(b, p);
			else if (p != NULL && p->quit)
				lmtp_backend_quit(b);
			break;
		case LMTP_BACKEND_EV_CLOSE:
			transcript_printf(
			    t, "<CLOSE [%s]>", lmtp_backend_error(b));
			goto done;
		}
		flush_out(out, t);
	}
done:
	if (pos < len)
		transcript_printf(t, "<LEFT %zu>", len - pos);
	lmtp_backend_free(&b);
	assert_null(b);
}

static const struct proto_client_info info_default = {
    .client_ip = "192.0.2.1",
    .client_port = 1234,
    .session_id = "abc",
    .ttl = 4,
};
static const struct lmtp_backend_settings set_default = {
    .hostname = "dir",
};

/* Feeds in[0..len) whole and one byte at a time; both transcripts must
 * equal expect.  Lengths are explicit so NUL bytes are really fed. */
static void
check_len(const struct lmtp_backend_settings *set, const struct plan *p,
    const char *in, size_t len, const char *expect)
{
	static struct transcript whole, bytes;

	drive(set, &info_default, p, in, len, len, &whole);
	drive(set, &info_default, p, in, len, 1, &bytes);
	assert_string_equal(whole.text, bytes.text);
	assert_string_equal(whole.text, expect);
}

/* check_len() of a string literal (the "" refuses a pointer). */
#define check(set, p, lit, expect)                                             \
	check_len(set, p, "" lit "", sizeof(lit) - 1, expect)

/* What Dovecot 2.3.19's lmtp says (observed). */
#define DOVECOT_GREETING "220 vm Dovecot (Debian) ready.\r\n"
#define DOVECOT_CAPS                                                           \
	"250-vm\r\n250-8BITMIME\r\n250-CHUNKING\r\n"                           \
	"250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"                        \
	"250-XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT\r\n"       \
	"250 XRCPTFORWARD\r\n"
#define XCLIENT_LINE                                                           \
	"XCLIENT ADDR=192.0.2.1 PORT=1234 HELO=mta.example SESSION=abc "       \
	"TTL=4\r\n"
#define SIMPLE_CAPS "250-backend\r\n250 ENHANCEDSTATUSCODES\r\n"

static const char *const three_rcpts[] = {"u1", "nouser", "u3", NULL};

static void
test_xclient_pipelined(void **state)
{
	const struct plan p = {
	    .from = "a@b",
	    .params = "BODY=8BITMIME SIZE=100",
	    .rcpts = three_rcpts,
	    .rset_at = -1,
	    .quit = true,
	};

	check(&set_default, &p,
	    DOVECOT_GREETING DOVECOT_CAPS DOVECOT_GREETING DOVECOT_CAPS
	    "250 2.1.0 OK\r\n250 2.1.5 OK\r\n"
	    "550 5.1.1 <nouser> User doesn't exist: nouser\r\n"
	    "250 2.1.5 OK\r\n354 OK\r\n"
	    "250 2.0.0 <u1> +Bt1IcMzC2v5SwAAg+zDdQ Saved\r\n"
	    "452 4.2.2 <u3> Quota exceeded\r\n221 2.0.0 Bye\r\n",
	    "LHLO dir\r\n" XCLIENT_LINE "LHLO dir\r\n<READY>"
	    "MAIL FROM:<a@b> BODY=8BITMIME\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\nDATA\r\n"
	    "<RCPT 0 250 2.1.5 OK>"
	    "<RCPT 1 550 5.1.1 <nouser> User doesn't exist: nouser>"
	    "<RCPT 2 250 2.1.5 OK><DATA_READY>body\r\n.\r\n"
	    "<DATA 0 250 2.0.0 <u1> +Bt1IcMzC2v5SwAAg+zDdQ Saved>"
	    "<DATA 2 452 4.2.2 <u3> Quota exceeded><DONE>QUIT\r\n<CLOSE []>");
}

/* Behind a PROXY v2 header: no XCLIENT, whatever the backend offers. */
static void
test_proxy_header_no_xclient(void **state)
{
	static const char *const one[] = {"u1", NULL};
	struct proto_client_info info = info_default;
	const struct plan p = {.from = "a@b", .rcpts = one, .rset_at = -1};
	static const char in[] = DOVECOT_GREETING DOVECOT_CAPS
	    "250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 OK\r\n"
	    "250 2.0.0 <u1> Saved\r\n";
	static struct transcript t;

	info.proxy_header = true;
	drive(&set_default, &info, &p, in, sizeof(in) - 1, sizeof(in) - 1, &t);
	assert_string_equal(t.text,
	    "LHLO dir\r\n<READY>MAIL FROM:<a@b>\r\nRCPT TO:<u1>\r\n"
	    "DATA\r\n<RCPT 0 250 2.1.5 OK><DATA_READY>body\r\n.\r\n"
	    "<DATA 0 250 2.0.0 <u1> Saved><DONE>");
}

static void
test_plain_one_at_a_time(void **state)
{
	static const char *const rcpts[] = {"x", "y", NULL};
	const struct plan p = {
	    .from = "",
	    .params = "BODY=8BITMIME",
	    .rcpts = rcpts,
	    .rset_at = -1,
	    .repeat = 1,
	};

	/* no PIPELINING, no XCLIENT, no 8BITMIME: each command is sent
	 * when the previous one is answered (the next RCPT goes out before
	 * the shell sees the reply event); a second transaction follows */
	check(&set_default, &p,
	    "220-first\r\n220 second\r\n" SIMPLE_CAPS
	    "250 OK\r\n250 OK\r\n550 no\r\n354 go\r\n250 saved\r\n"
	    "250 OK\r\n450 busy\r\n450 busy\r\n554 No valid recipients\r\n",
	    "LHLO dir\r\n<READY>MAIL FROM:<>\r\nRCPT TO:<x>\r\n"
	    "RCPT TO:<y>\r\n<RCPT 0 250 2.0.0 OK>DATA\r\n"
	    "<RCPT 1 550 5.0.0 no><DATA_READY>body\r\n.\r\n"
	    "<DATA 0 250 2.0.0 saved><DONE>MAIL FROM:<>\r\nRCPT TO:<x>\r\n"
	    "RCPT TO:<y>\r\n<RCPT 0 450 4.0.0 busy>DATA\r\n"
	    "<RCPT 1 450 4.0.0 busy><DONE>");
}

static void
test_mail_failure_fanout(void **state)
{
	const struct plan p = {
	    .from = "a",
	    .rcpts = three_rcpts,
	    .rset_at = -1,
	};

	/* pipelined: every RCPT gets MAIL's failure */
	check(&set_default, &p,
	    "220 x\r\n250-x\r\n250 PIPELINING\r\n"
	    "451 4.3.0 <a> Temporary failure\r\n503 5.5.1 MAIL needed\r\n"
	    "503 5.5.1 MAIL needed\r\n503 5.5.1 MAIL needed\r\n"
	    "503 5.5.1 No valid recipients\r\n",
	    "LHLO dir\r\n<READY>MAIL FROM:<a>\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\nDATA\r\n"
	    "<RCPT 0 451 4.3.0 <a> Temporary failure>"
	    "<RCPT 1 451 4.3.0 <a> Temporary failure>"
	    "<RCPT 2 451 4.3.0 <a> Temporary failure><DONE>");
}

static void
test_data_failure_fanout(void **state)
{
	const struct plan p = {
	    .from = "a",
	    .rcpts = three_rcpts,
	    .rset_at = -1,
	};

	/* a multi-line DATA failure is joined, then fanned out */
	check(&set_default, &p,
	    "220 x\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n"
	    "550 no\r\n250 ok\r\n452-4.3.1 Out of\r\n452 4.3.1 space\r\n",
	    "LHLO dir\r\n<READY>MAIL FROM:<a>\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\nDATA\r\n"
	    "<RCPT 0 250 2.0.0 ok><RCPT 1 550 5.0.0 no><RCPT 2 250 2.0.0 ok>"
	    "<DATA 0 452 4.3.1 Out of 4.3.1 space>"
	    "<DATA 2 452 4.3.1 Out of 4.3.1 space><DONE>");
}

static void
test_421_midway(void **state)
{
	const struct plan p = {
	    .from = "a",
	    .rcpts = three_rcpts,
	    .rset_at = -1,
	};

	check(&set_default, &p,
	    DOVECOT_GREETING DOVECOT_CAPS DOVECOT_GREETING DOVECOT_CAPS
	    "250 2.1.0 OK\r\n250 2.1.5 OK\r\n"
	    "421 4.3.2 Shutting\r\n\x01"
	    "down\r\n250 2.1.5 OK\r\n",
	    "LHLO dir\r\n" XCLIENT_LINE "LHLO dir\r\n<READY>"
	    "MAIL FROM:<a>\r\nRCPT TO:<u1>\r\nRCPT TO:<nouser>\r\n"
	    "RCPT TO:<u3>\r\nDATA\r\n<RCPT 0 250 2.1.5 OK>"
	    "<CLOSE [backend closing: 421 4.3.2 Shutting]><LEFT 21>");
}

static void
test_rset_midway(void **state)
{
	const struct plan p = {
	    .from = "a",
	    .rcpts = three_rcpts,
	    .no_data = true,
	    .rset_at = 0,
	    .repeat = 1,
	};

	/* the replies still due after RSET are swallowed; the backend is
	 * reused for a second transaction */
	check(&set_default, &p,
	    "220 x\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n"
	    "250 ok\r\n250 ok\r\n250 reset\r\n250 ok\r\n250 ok\r\n",
	    "LHLO dir\r\n<READY>MAIL FROM:<a>\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\n<RCPT 0 250 2.0.0 ok>"
	    "RSET\r\n<DONE>MAIL FROM:<a>\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\n<RCPT 0 250 2.0.0 ok>"
	    "RSET\r\n");
}

static void
test_starttls(void **state)
{
	struct lmtp_backend_settings set = set_default;

	set.starttls = true;
	check(&set, NULL,
	    "220 x\r\n250-x\r\n250-STARTTLS\r\n250 XCLIENT TTL\r\n"
	    "220 2.0.0 go\r\n250-x\r\n250 XCLIENT TTL FOO\r\n220 x\r\n"
	    "250 x\r\n",
	    "LHLO dir\r\nSTARTTLS\r\n<STARTTLS>LHLO dir\r\nXCLIENT TTL=4\r\n"
	    "LHLO dir\r\n<READY>");
	check(&set, NULL, "220 x\r\n250-x\r\n250 XCLIENT ADDR\r\n",
	    "LHLO dir\r\n<CLOSE [backend does not offer STARTTLS]>");
	check(&set, NULL, "220 x\r\n250-x\r\n250 STARTTLS\r\n454 4.7.0 no\r\n",
	    "LHLO dir\r\nSTARTTLS\r\n"
	    "<CLOSE [backend refused STARTTLS: 454 4.7.0 no]>");
}

static void
test_errors(void **state)
{
	struct lmtp_backend_settings set = set_default;
	static struct transcript t;
	struct proto_client_info info = info_default;

	check(&set_default, NULL, "554 5.3.2 go away\r\n",
	    "<CLOSE [backend greeting refused: 554 5.3.2 go away]>");
	check(&set_default, NULL, "hello\r\n220 x\r\n",
	    "<CLOSE [malformed backend reply]><LEFT 7>");
	check(&set_default, NULL, "220-a\r\n221 b\r\n",
	    "<CLOSE [inconsistent multi-line backend reply]>");
	check(&set_default, NULL, "220 x\r\n250 x\r\n250 extra\r\n",
	    "LHLO dir\r\n<READY><CLOSE [unexpected backend reply: 250 2.0.0 "
	    "extra]>");
	check(&set_default, NULL,
	    "220 x\r\n250-x\r\n250 XCLIENT ADDR\r\n"
	    "550 5.7.0 not trusted\r\n",
	    "LHLO dir\r\nXCLIENT ADDR=192.0.2.1\r\n"
	    "<CLOSE [backend refused XCLIENT: 550 5.7.0 not trusted]>");
	/* a line of exactly line_max bytes, then one more */
	set.line_max = 12;
	check(&set, NULL, "220 12345678\r\n220 123456789\r\n",
	    "LHLO dir\r\n<CLOSE [backend reply line too long]><LEFT 2>");
	/* a NUL byte */
	check(&set_default, NULL, "220 a\0b\r\n220 x\r\n",
	    "<CLOSE [NUL byte in backend reply]><LEFT 7>");
	/* an IPv6 client */
	(void)strlcpy(info.client_ip, "2001:db8::1", sizeof(info.client_ip));
	drive(&set_default, &info, NULL,
	    "220 x\r\n250-x\r\n250 XCLIENT ADDR PORT\r\n", 37, 38, &t);
	assert_string_equal(
	    t.text, "LHLO dir\r\nXCLIENT ADDR=IPV6:2001:db8::1 PORT=1234\r\n");
	/* TTL 0: a proxy loop */
	info.ttl = 0;
	drive(&set_default, &info, NULL, "220 x\r\n", 7, 8, &t);
	assert_string_equal(
	    t.text, "<CLOSE [proxy TTL is 0: refusing (proxy loop?)]><LEFT 7>");
}

static void
test_unsafe_arguments(void **state)
{
	struct lmtp_backend *b =
	    lmtp_backend_new(&set_default, &info_default, NULL);
	static const char in[] = "220 x\r\n250 x\r\n";
	size_t used;

	/* nothing before the backend is ready */
	assert_int_equal(lmtp_backend_mail(b, "a", NULL), -1);
	assert_int_equal(lmtp_backend_input(b, in, sizeof(in) - 1, &used),
	    LMTP_BACKEND_EV_READY);
	assert_int_equal(lmtp_backend_rcpt(b, 0, "x"), -1);
	assert_int_equal(lmtp_backend_data(b), -1);
	assert_int_equal(lmtp_backend_data_end(b), -1);
	assert_int_equal(lmtp_backend_mail(b, "a\r\nRSET", NULL), -1);
	assert_int_equal(lmtp_backend_mail(b, "a", "X=1\n"), -1);
	assert_int_equal(lmtp_backend_mail(b, "a", NULL), 0);
	assert_int_equal(lmtp_backend_rcpt(b, 0, "x\ry"), -1);
	assert_int_equal(lmtp_backend_rcpt(b, 0, ""), -1);
	assert_int_equal(lmtp_backend_rcpt(b, 0, "x"), 0);
	assert_int_equal(lmtp_backend_data(b), 0);
	assert_int_equal(lmtp_backend_data(b), -1);
	assert_int_equal(lmtp_backend_rcpt(b, 1, "y"), -1);
	lmtp_backend_free(&b);
	assert_null(b);
}

static void
test_bdat(void **state)
{
	static const char *const chunks[] = {
	    "Subject: x\r\n\r\n", ".a\r\n", NULL};
	static const char *const empty_last[] = {".\r\n", "", NULL};
	const struct plan p = {
	    .from = "a@b",
	    .rcpts = three_rcpts,
	    .rset_at = -1,
	    .chunks = chunks,
	    .repeat = 1,
	};
	struct plan p2 = p;

	/* Dovecot offers CHUNKING: no DATA, no 354, no dot-stuffing, no end
	 * marker; the chunks' replies are swallowed; a second transaction
	 * on the same connection */
	check(&set_default, &p,
	    DOVECOT_GREETING DOVECOT_CAPS DOVECOT_GREETING DOVECOT_CAPS
	    "250 2.1.0 OK\r\n250 2.1.5 OK\r\n"
	    "550 5.1.1 <nouser> User doesn't exist: nouser\r\n"
	    "250 2.1.5 OK\r\n250 2.0.0 Added 15 octets\r\n"
	    "250 2.0.0 <u1> id Saved\r\n452 4.2.2 <u3> Quota exceeded\r\n"
	    "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n"
	    "250 2.1.5 OK\r\n250 2.0.0 Added 15 octets\r\n"
	    "250 2.0.0 <u1> Saved\r\n250 2.0.0 <nouser> Saved\r\n"
	    "250 2.0.0 <u3> Saved\r\n",
	    "LHLO dir\r\n" XCLIENT_LINE "LHLO dir\r\n<READY>"
	    "MAIL FROM:<a@b>\r\nRCPT TO:<u1>\r\nRCPT TO:<nouser>\r\n"
	    "RCPT TO:<u3>\r\n<RCPT 0 250 2.1.5 OK>"
	    "<RCPT 1 550 5.1.1 <nouser> User doesn't exist: nouser>"
	    "<RCPT 2 250 2.1.5 OK>BDAT 14\r\nSubject: x\r\n\r\n"
	    "BDAT 4 LAST\r\n.a\r\n"
	    "<DATA 0 250 2.0.0 <u1> id Saved>"
	    "<DATA 2 452 4.2.2 <u3> Quota exceeded><DONE>"
	    "MAIL FROM:<a@b>\r\nRCPT TO:<u1>\r\nRCPT TO:<nouser>\r\n"
	    "RCPT TO:<u3>\r\n<RCPT 0 250 2.1.5 OK><RCPT 1 250 2.1.5 OK>"
	    "<RCPT 2 250 2.1.5 OK>BDAT 14\r\nSubject: x\r\n\r\n"
	    "BDAT 4 LAST\r\n.a\r\n<DATA 0 250 2.0.0 <u1> Saved>"
	    "<DATA 1 250 2.0.0 <nouser> Saved><DATA 2 250 2.0.0 <u3> Saved>"
	    "<DONE>");
	/* a refused chunk: its reply for every accepted recipient, then the
	 * connection ends (the reply to LAST is not read) */
	p2.repeat = 0;
	check(&set_default, &p2,
	    "220 x\r\n250-x\r\n250-CHUNKING\r\n250 PIPELINING\r\n"
	    "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n"
	    "552 5.3.4 Too big\r\n503 5.5.1 No transaction\r\n",
	    "LHLO dir\r\n<READY>MAIL FROM:<a@b>\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\n<RCPT 0 250 2.0.0 ok>"
	    "<RCPT 1 550 5.0.0 no><RCPT 2 250 2.0.0 ok>BDAT 14\r\n"
	    "Subject: x\r\n\r\nBDAT 4 LAST\r\n.a\r\n"
	    "<DATA 0 552 5.3.4 Too big><DATA 2 552 5.3.4 Too big>"
	    "<CLOSE [backend refused a BDAT chunk: 552 5.3.4 Too big]>"
	    "<LEFT 26>");
	/* an empty last chunk */
	p2.chunks = empty_last;
	check(&set_default, &p2,
	    "220 x\r\n250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n"
	    "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n250 ok\r\n"
	    "250 saved\r\n250 saved\r\n",
	    "LHLO dir\r\n<READY>MAIL FROM:<a@b>\r\nRCPT TO:<u1>\r\n"
	    "RCPT TO:<nouser>\r\nRCPT TO:<u3>\r\n<RCPT 0 250 2.0.0 ok>"
	    "<RCPT 1 550 5.0.0 no><RCPT 2 250 2.0.0 ok>BDAT 3\r\n.\r\n"
	    "BDAT 0 LAST\r\n<DATA 0 250 2.0.0 saved>"
	    "<DATA 2 250 2.0.0 saved><DONE>");
}

/* When BDAT may not be used. */
static void
test_bdat_refused(void **state)
{
	static const char *const caps[] = {
	    "220 x\r\n250-x\r\n250 CHUNKING\r\n", /* no PIPELINING */
	    "220 x\r\n250-x\r\n250 PIPELINING\r\n", /* no CHUNKING */
	    "220 x\r\n250-x\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
	};
	struct lmtp_backend *b;
	size_t used;
	unsigned int i;

	for (i = 0; i < nitems(caps); i++) {
		b = lmtp_backend_new(&set_default, &info_default, NULL);
		assert_int_equal(
		    lmtp_backend_input(b, caps[i], strlen(caps[i]), &used),
		    LMTP_BACKEND_EV_READY);
		assert_int_equal(lmtp_backend_chunking(b), i == 2);
		/* no transaction yet */
		assert_int_equal(lmtp_backend_bdat(b, 1, true), -1);
		assert_int_equal(lmtp_backend_mail(b, "a", NULL), 0);
		assert_int_equal(lmtp_backend_rcpt(b, 0, "x"), 0);
		/* the RCPT is not answered yet */
		assert_int_equal(lmtp_backend_bdat(b, 1, true), -1);
		/* MAIL's reply, then the RCPT's (sent after it without
		 * PIPELINING) */
		assert_int_equal(lmtp_backend_input(b, "250 ok\r\n", 8, &used),
		    LMTP_BACKEND_EV_MORE);
		assert_int_equal(lmtp_backend_input(b, "250 ok\r\n", 8, &used),
		    LMTP_BACKEND_EV_RCPT_REPLY);
		assert_int_equal(
		    lmtp_backend_bdat(b, 1, true), i == 2 ? 0 : -1);
		lmtp_backend_free(&b);
	}
	/* every recipient refused: no chunk */
	b = lmtp_backend_new(&set_default, &info_default, NULL);
	assert_int_equal(lmtp_backend_input(b, caps[2], strlen(caps[2]), &used),
	    LMTP_BACKEND_EV_READY);
	assert_int_equal(lmtp_backend_mail(b, "a", NULL), 0);
	assert_int_equal(lmtp_backend_rcpt(b, 0, "x"), 0);
	assert_int_equal(
	    lmtp_backend_input(b, "250 ok\r\n550 no\r\n", 16, &used),
	    LMTP_BACKEND_EV_RCPT_REPLY);
	assert_int_equal(lmtp_backend_bdat(b, 1, true), -1);
	lmtp_backend_free(&b);
}

/* A MAIL or RCPT line that would not fit LMTP_BACKEND_CMD_MAX (CRLF
 * included) is refused whole: nothing is queued, so a cut line can never
 * lose its CRLF and run into the next command, and no parameter is
 * silently dropped. */
static void
test_long_mail_refused(void **state)
{
	struct lmtp_backend *b =
	    lmtp_backend_new(&set_default, &info_default, NULL);
	static const char in[] = "220 x\r\n250 x\r\n";
	char from[LMTP_BACKEND_CMD_MAX];
	size_t used, n;
	struct buf *out = lmtp_backend_output(b);

	assert_int_equal(lmtp_backend_input(b, in, sizeof(in) - 1, &used),
	    LMTP_BACKEND_EV_READY);
	buf_consume(out, out->len);
	/* "MAIL FROM:<" + 2015 + ">" + " X=" + 17 = 2047 bytes: no room
	 * left for the CRLF */
	n = LMTP_BACKEND_CMD_MAX - 33;
	memset(from, 'a', n);
	from[n] = '\0';
	assert_int_equal(lmtp_backend_mail(b, from, "X=0123456789abcdefg"), -1);
	assert_int_equal(out->len, 0);
	/* the parameters alone would not fit: not dropped, refused */
	assert_int_equal(
	    lmtp_backend_mail(b, from, "X=1 Y=01234567890123456789"), -1);
	assert_int_equal(out->len, 0);
	/* exactly LMTP_BACKEND_CMD_MAX bytes with the CRLF is fine */
	assert_int_equal(lmtp_backend_mail(b, from, "X=0123456789abcdef"), 0);
	assert_int_equal(out->len, LMTP_BACKEND_CMD_MAX);
	assert_memory_equal(
	    out->data + out->len - 22, "> X=0123456789abcdef\r\n", 22);
	buf_consume(out, out->len);
	/* "RCPT TO:<" + to + ">" CRLF: LMTP_BACKEND_CMD_MAX, then one more */
	n = LMTP_BACKEND_CMD_MAX - 12;
	memset(from, 'a', n + 1);
	from[n + 1] = '\0';
	assert_int_equal(lmtp_backend_rcpt(b, 0, from), -1);
	assert_int_equal(out->len, 0);
	from[n] = '\0';
	assert_int_equal(lmtp_backend_rcpt(b, 0, from), 0);
	lmtp_backend_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xclient_pipelined),
	    cmocka_unit_test(test_proxy_header_no_xclient),
	    cmocka_unit_test(test_plain_one_at_a_time),
	    cmocka_unit_test(test_mail_failure_fanout),
	    cmocka_unit_test(test_data_failure_fanout),
	    cmocka_unit_test(test_421_midway),
	    cmocka_unit_test(test_rset_midway),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_unsafe_arguments),
	    cmocka_unit_test(test_long_mail_refused),
	    cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_bdat_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_lmtp_backend.c - libFuzzer target for the LMTP backend client.
 *
 * The first byte picks settings, the shell's plan and a chunk size; the
 * rest is what the backend sends.  The shell runs up to three
 * transactions (MAIL, three RCPTs, DATA or an RSET after the second RCPT
 * reply), then QUIT.  When the backend offers CHUNKING and PIPELINING the
 * body goes in BDAT chunks instead of DATA, as lmtp_link sends it: once
 * every RCPT has its reply (RSET when none was accepted), one LAST chunk,
 * or two chunks of which the last may be empty.  Fed whole and in chunks, the commands sent and the
 * events must be identical; every command line ends in CRLF with no bare
 * CR or LF; every reply handed out is one clean line starting with a
 * code; nothing past the input is consumed.
 */
#include "compat.h"

#include "buf.h"
#include "lmtp_backend.h"
#include "lmtp_server.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRANSCRIPT_MAX (1024 * 1024)
#define FUZZ_TRANSACTIONS 3

static void
fuzz_check_output(const struct buf *out)
{
	size_t i;

	for (i = 0; i < out->len; i++) {
		if (out->data[i] == '\n' &&
		    (i == 0 || out->data[i - 1] != '\r'))
			abort();
		if (out->data[i] == '\r' &&
		    (i + 1 >= out->len || out->data[i + 1] != '\n'))
			abort();
	}
}

static void
fuzz_check_reply(const char *r)
{
	size_t i, len = strlen(r);

	if (len < 3 || len > LMTP_REPLY_MAX || r[0] < '2' || r[0] > '5')
		abort();
	for (i = 0; i < len; i++) {
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			abort();
	}
}

/* The shell's view of one transaction. */
struct fuzz_trans {
	unsigned int number; /* 1, 2, 3 */
	unsigned int replies; /* RCPT replies so far */
	bool accepted; /* one of them was 2xx */
};

static void
fuzz_start(struct lmtp_backend *b, bool rset, struct fuzz_trans *t)
{
	t->number++;
	t->replies = 0;
	t->accepted = false;
	if (lmtp_backend_mail(b, "from@example", "BODY=8BITMIME SIZE=10") !=
		0 ||
	    lmtp_backend_rcpt(b, 0, "a") != 0 ||
	    lmtp_backend_rcpt(b, 1, "\"b c\"@d") != 0 ||
	    lmtp_backend_rcpt(b, 2, "e") != 0)
		abort();
	if (!rset && !lmtp_backend_chunking(b) && lmtp_backend_data(b) != 0)
		abort();
}

/* After the last RCPT reply of a BDAT transaction: the body in chunks
 * (each command flushed, then its bytes, as lmtp_link writes them), or
 * RSET when no recipient was accepted. */
static void
fuzz_bdat(struct lmtp_backend *b, const struct fuzz_trans *t, struct buf *tr)
{
	struct buf *out = lmtp_backend_output(b);
	static const char body[] = "Subject: x\r\n\r\n.body\r\n";
	size_t first = t->number % 3 == 1 ? 0 : 10;
	size_t second = t->number % 3 == 2 ? 0 : sizeof(body) - 1 - first;

	if (!t->accepted) {
		if (lmtp_backend_rset(b) != 0)
			abort();
		return;
	}
	if (first > 0) {
		if (lmtp_backend_bdat(b, first, false) != 0)
			abort();
		fuzz_check_output(out);
		(void)buf_append(tr, out->data, out->len);
		buf_consume(out, out->len);
		(void)buf_append(tr, body, first);
	}
	if (lmtp_backend_bdat(b, second, true) != 0 ||
	    lmtp_backend_bdat(b, 1, true) != -1 || lmtp_backend_data(b) != -1)
		abort();
	fuzz_check_output(out);
	(void)buf_append(tr, out->data, out->len);
	buf_consume(out, out->len);
	(void)buf_append(tr, body + first, second);
}

static void
fuzz_run(const struct lmtp_backend_settings *set,
    const struct proto_client_info *info, bool rset, const uint8_t *in,
    size_t len, size_t step, struct buf *tr)
{
	struct lmtp_backend *b = lmtp_backend_new(set, info, "helo+=x");
	struct buf *out = lmtp_backend_output(b);
	size_t pos = 0, avail = 0, n;
	struct fuzz_trans trans = {0, 0, false};
	enum lmtp_backend_event ev;

	for (;;) {
		avail = MIN_OF(len, MAX_OF(avail, pos) + step);
		ev = lmtp_backend_input(b, in + pos, avail - pos, &n);
		if (n > avail - pos)
			abort();
		pos += n;
		fuzz_check_output(out);
		(void)buf_append(tr, out->data, out->len);
		buf_consume(out, out->len);
		switch (ev) {
		case LMTP_BACKEND_EV_MORE:
			if (n == 0 && avail == len)
				goto done;
			continue;
		case LMTP_BACKEND_EV_STARTTLS:
			(void)buf_append_str(tr, "[STARTTLS]");
			lmtp_backend_tls_started(b);
			break;
		case LMTP_BACKEND_EV_READY:
			(void)buf_append_str(tr, "[READY]");
			fuzz_start(b, rset, &trans);
			break;
		case LMTP_BACKEND_EV_RCPT_REPLY:
		case LMTP_BACKEND_EV_DATA_REPLY:
			fuzz_check_reply(lmtp_backend_reply(b));
			if (lmtp_backend_reply_index(b) > 2)
				abort();
			(void)buf_printf(tr, "[%d %u %s]", (int)ev,
			    lmtp_backend_reply_index(b), lmtp_backend_reply(b));
			if (ev != LMTP_BACKEND_EV_RCPT_REPLY)
				break;
			if (rset && lmtp_backend_reply_index(b) == 1 &&
			    lmtp_backend_rset(b) != 0)
				abort();
			trans.accepted |= lmtp_backend_reply(b)[0] == '2';
			if (++trans.replies == 3 && !rset &&
			    lmtp_backend_chunking(b))
				fuzz_bdat(b, &trans, tr);
			break;
		case LMTP_BACKEND_EV_DATA_READY:
			(void)buf_append_str(tr, "[DATA_READY]");
			if (lmtp_backend_data_end(b) != 0)
				abort();
			break;
		case LMTP_BACKEND_EV_DONE:
			(void)buf_append_str(tr, "[DONE]");
			if (trans.number < FUZZ_TRANSACTIONS)
				fuzz_start(b, rset, &trans);
			else
				lmtp_backend_quit(b);
			break;
		case LMTP_BACKEND_EV_CLOSE:
			(void)buf_printf(
			    tr, "[CLOSE %s]", lmtp_backend_error(b));
			goto done;
		}
		(void)buf_append(tr, out->data, out->len);
		buf_consume(out, out->len);
	}
done:
	(void)buf_printf(tr, "[pos %zu]", pos);
	lmtp_backend_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_client_info info = {
	    .client_ip = "192.0.2.1",
	    .client_port = 1234,
	    .session_id = "abc",
	    .ttl = 5,
	};
	struct lmtp_backend_settings set;
	struct buf a, b;
	bool rset;

	if (size < 1)
		return 0;
	memset(&set, 0, sizeof(set));
	set.hostname = "fuzz";
	set.starttls = (data[0] & 1) != 0;
	rset = (data[0] & 2) != 0;
	if (data[0] & 4)
		set.line_max = 40;
	if (data[0] & 8)
		info.ttl = 0;
	buf_init(&a, FUZZ_TRANSCRIPT_MAX);
	buf_init(&b, FUZZ_TRANSCRIPT_MAX);
	fuzz_run(&set, &info, rset, data + 1, size - 1, size, &a);
	fuzz_run(&set, &info, rset, data + 1, size - 1, 1 + (data[0] >> 4), &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}

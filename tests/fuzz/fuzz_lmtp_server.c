/*
 * fuzz_lmtp_server.c - libFuzzer target for the LMTP server.
 *
 * The first byte picks the settings and a chunk size; the rest is client
 * input, fed whole and in chunks while playing the shell (RCPT answered
 * with rotating replies, every third DATA refused, delivery replies given
 * in reverse order, STARTTLS completed at once with the rest of the chunk
 * kept as if it came over TLS).  Both transcripts must be identical;
 * output lines end in CRLF and contain no NUL; every body handed out is
 * clean wire form: no bare CR or LF, no end marker inside.
 */
#include "compat.h"

#include "buf.h"
#include "fuzz_lines.h"
#include "lmtp_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRANSCRIPT_MAX (4 * 1024 * 1024)
#define FUZZ_RCPTS 1024

static const char *const fuzz_answers[] = {
    "250 2.1.5 OK",
    "550 5.1.1 no such user",
    "451 4.3.0 \x01temporary",
    "250 OK",
    "bad",
};

/* The body must be CRLF lines only and never contain the end marker. */
static void
fuzz_check_body(const struct buf *body)
{
	size_t i;

	for (i = 0; i < body->len; i++) {
		if (body->data[i] == '\r' &&
		    (i + 1 >= body->len || body->data[i + 1] != '\n'))
			abort();
		if (body->data[i] == '\n' &&
		    (i == 0 || body->data[i - 1] != '\r'))
			abort();
		/* a line holding only "." */
		if (body->data[i] == '.' &&
		    (i == 0 || body->data[i - 1] == '\n') &&
		    i + 1 < body->len && body->data[i + 1] == '\r')
			abort();
	}
	if (body->len > 0 && body->data[body->len - 1] != '\n')
		abort();
}

struct fuzz_shell {
	bool accepted[FUZZ_RCPTS];
	unsigned int nrcpts, nanswers, ndata;
	struct buf body;
};

static void
fuzz_event(struct lmtp_server *s, struct fuzz_shell *sh,
    enum lmtp_server_event ev, const char *chunk, size_t clen, struct buf *tr)
{
	const char *a;
	unsigned int i;

	switch (ev) {
	case LMTP_SERVER_EV_RCPT:
		i = lmtp_server_rcpt_index(s);
		if (i == 0)
			sh->nrcpts = 0;
		if (i != sh->nrcpts || i >= FUZZ_RCPTS)
			abort();
		a = fuzz_answers[sh->nanswers++ % nitems(fuzz_answers)];
		sh->accepted[sh->nrcpts++] = a[0] == '2';
		(void)buf_printf(
		    tr, "[RCPT %u %s]", i, lmtp_server_rcpt_addr(s));
		lmtp_server_rcpt_reply(s, a);
		break;
	case LMTP_SERVER_EV_DATA_START:
		buf_clear(&sh->body);
		if (sh->ndata++ % 3 == 2)
			lmtp_server_data_refuse(s, "452 4.3.1 no spool");
		else
			lmtp_server_data_go(s);
		break;
	case LMTP_SERVER_EV_DATA_CHUNK:
		if (chunk == NULL || clen == 0)
			abort();
		(void)buf_append(&sh->body, chunk, clen);
		break;
	case LMTP_SERVER_EV_DATA_END:
		fuzz_check_body(&sh->body);
		(void)buf_append_str(tr, "[END]");
		(void)buf_append(tr, sh->body.data, sh->body.len);
		for (i = sh->nrcpts; i-- > 0;) {
			if ((lmtp_server_data_reply(s, i, "250 2.0.0 ok") ==
				0) != sh->accepted[i])
				abort();
		}
		break;
	case LMTP_SERVER_EV_DATA_ABORT:
		(void)buf_append_str(tr, "[ABORT]");
		break;
	case LMTP_SERVER_EV_RESET:
		(void)buf_append_str(tr, "[RESET]");
		break;
	case LMTP_SERVER_EV_STARTTLS:
		(void)buf_append_str(tr, "[STARTTLS]");
		lmtp_server_tls_started(s);
		break;
	default:
		break;
	}
}

/* Moves checked output into the transcript. */
static void
fuzz_output(struct buf *out, struct buf *tr)
{
	fuzz_check_lines(out,
	    LMTP_SERVER_OUTPUT_HIGH + 4096 +
		(size_t)LMTP_SERVER_RCPT_MAX * (LMTP_REPLY_MAX + 2));
	(void)buf_append(tr, out->data, out->len);
	buf_consume(out, out->len);
}

static void
fuzz_run(const struct lmtp_server_settings *set, const uint8_t *in, size_t len,
    size_t step, struct buf *tr)
{
	struct lmtp_server *s = lmtp_server_new(set);
	struct buf *out = lmtp_server_output(s);
	struct fuzz_shell sh;
	uint8_t *pending = malloc(len + 1);
	size_t plen = 0, fed = 0, n, clen;
	const char *chunk;
	enum lmtp_server_event ev;

	memset(&sh, 0, sizeof(sh));
	buf_init(&sh.body, FUZZ_TRANSCRIPT_MAX);
	lmtp_server_greeting(s);
	while (fed < len) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			ev = lmtp_server_input(
			    s, pending, plen, &n, &chunk, &clen);
			if (n > plen)
				abort();
			fuzz_output(out, tr);
			/* the chunk may point into pending: use it first */
			fuzz_event(s, &sh, ev, chunk, clen, tr);
			fuzz_output(out, tr);
			memmove(pending, pending + n, plen - n);
			plen -= n;
			if (ev == LMTP_SERVER_EV_CLOSE)
				goto done;
			if (ev == LMTP_SERVER_EV_MORE && n == 0)
				break;
		}
	}
done:
	buf_deinit(&sh.body);
	free(pending);
	lmtp_server_free(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lmtp_server_settings set;
	struct buf a, b;

	if (size < 1)
		return 0;
	memset(&set, 0, sizeof(set));
	set.hostname = "fuzz";
	set.starttls = (data[0] & 1) != 0;
	if (data[0] & 2)
		set.size_max = 64;
	if (data[0] & 4) {
		set.line_max = 64;
		set.bad_max = 3;
	}
	if (data[0] & 8)
		set.max_rcpts = 3;
	buf_init(&a, FUZZ_TRANSCRIPT_MAX);
	buf_init(&b, FUZZ_TRANSCRIPT_MAX);
	fuzz_run(&set, data + 1, size - 1, size, &a);
	fuzz_run(&set, data + 1, size - 1, 1 + (data[0] >> 4), &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}

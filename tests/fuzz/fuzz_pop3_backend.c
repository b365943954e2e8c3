/*
 * fuzz_pop3_backend.c - libFuzzer target for the POP3 backend login.
 *
 * The first byte picks settings and credentials (OAuth too) and a chunk
 * size; the rest is what the backend sends.  Fed whole and in chunks,
 * the commands sent and the actions must be identical; every command
 * line ends in CRLF and has no bare CR or LF inside; nothing past the
 * input is consumed; a kept OAuth error challenge is base64.
 */
#include "compat.h"

#include "buf.h"
#include "pop3_backend.h"
#include "proto.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRANSCRIPT_MAX (256 * 1024)

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
fuzz_run(const struct proto_creds *creds, const struct proto_client_info *info,
    const struct pop3_backend_settings *set, const uint8_t *in, size_t len,
    size_t step, struct buf *tr)
{
	struct pop3_backend *b = pop3_backend_new(creds, info, set);
	struct buf *out = pop3_backend_output(b);
	size_t pos = 0, avail = 0, n;
	enum proto_action act;
	const char *ch;

	while (pos < len) {
		avail = MIN_OF(len, MAX_OF(avail, pos) + step);
		n = pop3_backend_input(b, in + pos, avail - pos, &act);
		if (n > avail - pos)
			abort();
		pos += n;
		fuzz_check_output(out);
		(void)buf_append(tr, out->data, out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_STARTTLS) {
			(void)buf_append_str(tr, "[STARTTLS]");
			pop3_backend_tls_started(b);
			continue;
		}
		if (act == PROTO_ACT_LOGGED_IN ||
		    act == PROTO_ACT_LOGIN_FAILED) {
			ch = pop3_backend_challenge(b);
			if (ch != NULL && !sasl_challenge_valid(ch, strlen(ch)))
				abort();
			(void)buf_printf(tr, "[%d %s|%s]", (int)act,
			    pop3_backend_reply_text(b), ch != NULL ? ch : "");
			break;
		}
		if (act == PROTO_ACT_CLOSE) {
			(void)buf_append_str(tr, "[CLOSE]");
			break;
		}
		if (n == 0 && avail == len)
			break;
	}
	(void)buf_printf(tr, "[pos %zu]", pos);
	pop3_backend_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_creds creds = {
	    .kind = PROTO_AUTH_LOGIN,
	    .authzid = "",
	    .authcid = "user",
	    .password = "pa\r\nss",
	    .password_len = 6,
	};
	struct proto_client_info info = {
	    .client_ip = "192.0.2.1",
	    .client_port = 1234,
	    .session_id = "abc",
	    .ttl = 5,
	};
	struct pop3_backend_settings set;
	struct buf a, b;

	if (size < 1)
		return 0;
	memset(&set, 0, sizeof(set));
	set.starttls = (data[0] & 1) != 0;
	if (data[0] & 2)
		creds.kind = PROTO_AUTH_SASL_PLAIN;
	if (data[0] & 4) {
		creds.password = "secret";
		creds.password_len = 6;
	}
	if (data[0] & 8)
		set.line_max = 40;
	if (data[0] & 16)
		creds.kind = (data[0] & 2) != 0 ? PROTO_AUTH_SASL_XOAUTH2
						: PROTO_AUTH_SASL_OAUTHBEARER;
	buf_init(&a, FUZZ_TRANSCRIPT_MAX);
	buf_init(&b, FUZZ_TRANSCRIPT_MAX);
	fuzz_run(&creds, &info, &set, data + 1, size - 1, size, &a);
	fuzz_run(
	    &creds, &info, &set, data + 1, size - 1, 1 + (data[0] >> 5), &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}

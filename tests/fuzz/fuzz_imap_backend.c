/*
 * fuzz_imap_backend.c - libFuzzer target for the backend login module.
 *
 * The first input byte picks the credentials kind (OAuth too), STARTTLS
 * and a chunk size; the rest is what the backend "sends".  It is fed
 * whole and in chunks; both transcripts (what we send plus the actions)
 * must match.  Invariants: nothing past the offered bytes is consumed,
 * every line we send ends in CRLF and has no NUL (the credentials used
 * have no CR/LF), output stays bounded, relayed texts are single lines, a
 * kept OAuth error challenge is base64.
 */
#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "fuzz_lines.h"
#include "imap_backend.h"
#include "imap_parse.h"
#include "proto.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_OUTPUT_MAX 16384

static void
fuzz_check_line(const char *s)
{
	if (strpbrk(s, "\r\n") != NULL)
		abort();
}

static void
fuzz_check_output(const struct buf *out)
{
	fuzz_check_lines(out, FUZZ_OUTPUT_MAX);
}

static void
fuzz_run(
    uint8_t mode, const uint8_t *in, size_t len, size_t step, struct buf *tr)
{
	static const struct imap_id_field id[] = {
	    {"name", "fuzz"},
	    {"version", NULL},
	};
	struct imap_backend_settings set;
	struct proto_client_info info;
	struct proto_creds cr;
	struct imap_backend *b;
	uint8_t *pending = malloc(len + 1);
	size_t plen = 0, fed = 0, n;
	enum proto_action act = PROTO_ACT_MORE;
	struct buf *out;
	const char *ch;

	memset(&set, 0, sizeof(set));
	set.starttls = (mode & 4) != 0;
	set.line_max = (mode & 8) != 0 ? 64 : 0;
	memset(&info, 0, sizeof(info));
	strlcpy(info.client_ip, "192.0.2.1", sizeof(info.client_ip));
	info.client_port = 1234;
	info.ttl = 5;
	cr.kind = (enum proto_auth_kind)(mode % 3);
	if ((mode & 0xc0) == 0x40)
		cr.kind = PROTO_AUTH_SASL_OAUTHBEARER;
	else if ((mode & 0xc0) == 0x80)
		cr.kind = PROTO_AUTH_SASL_XOAUTH2;
	cr.authzid = (mode & 16) != 0 ? "master" : "";
	cr.authcid = "user\xc3\xa9";
	cr.password = (mode & 32) != 0 ? "p\"w" : "p\xffw";
	cr.password_len = 3;
	b = imap_backend_new(&cr, &info, id, nitems(id), &set);
	out = imap_backend_output(b);
	while (fed < len) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			n = imap_backend_input(b, pending, plen, &act);
			if (n > plen)
				abort();
			memmove(pending, pending + n, plen - n);
			plen -= n;
			fuzz_check_output(out);
			buf_append(tr, out->data, out->len);
			buf_consume(out, out->len);
			if (act == PROTO_ACT_STARTTLS) {
				buf_append_str(tr, "[STARTTLS]");
				imap_backend_tls_started(b);
				fuzz_check_output(out);
				buf_append(tr, out->data, out->len);
				buf_consume(out, out->len);
				if (plen > 0)
					continue;
				break;
			}
			if (act == PROTO_ACT_LOGGED_IN ||
			    act == PROTO_ACT_LOGIN_FAILED) {
				fuzz_check_line(imap_backend_caps(b));
				fuzz_check_line(imap_backend_reply_text(b));
				ch = imap_backend_challenge(b);
				if (ch != NULL &&
				    !sasl_challenge_valid(ch, strlen(ch)))
					abort();
				buf_printf(tr, "[%d %s|%s|%s]", (int)act,
				    imap_backend_caps(b),
				    imap_backend_reply_text(b),
				    ch != NULL ? ch : "");
				goto done;
			}
			if (act == PROTO_ACT_CLOSE) {
				if (imap_backend_error(b) == NULL)
					abort();
				goto done;
			}
			break;
		}
	}
done:
	buf_printf(tr, "[END %d]", (int)act);
	free(pending);
	imap_backend_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, chunked;
	size_t step;

	if (size < 2)
		return 0;
	buf_init(&whole, SIZE_MAX);
	buf_init(&chunked, SIZE_MAX);
	step = 1 + (data[1] & 7);
	fuzz_run(data[0], data + 2, size - 2, size, &whole);
	fuzz_run(data[0], data + 2, size - 2, step, &chunked);
	if (whole.len != chunked.len ||
	    (whole.len > 0 && memcmp(whole.data, chunked.data, whole.len) != 0))
		abort();
	buf_deinit(&whole);
	buf_deinit(&chunked);
	return 0;
}

/*
 * fuzz_sieve_backend.c - libFuzzer target for the ManageSieve backend
 * login.
 *
 * The first byte picks settings, credentials (OAuth ones too) and client
 * info, the second seeds the split points; the rest is what the backend
 * sends.  Fed whole and in pseudo-random pieces, the commands sent and
 * the actions must be identical; the output is whole CRLF lines within
 * the module's bound; a kept OAuth error challenge is base64; nothing
 * past the input is consumed; once an action ends the login, every
 * further input call consumes nothing and says CLOSE.
 */
#include "compat.h"

#include "buf.h"
#include "fuzz_lines.h"
#include "proto.h"
#include "sasl.h"
#include "sieve_backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRANSCRIPT_MAX (256 * 1024)
/* What one login may have queued at most: a few short commands and the
 * AUTHENTICATE line. */
#define FUZZ_OUTPUT_MAX (BASE64_ENCODED_LEN(SASL_RESPONSE_MAX) + 4096)

/* The next piece size: all at once (seed 0) or 1 to 16 bytes. */
static size_t
fuzz_step(uint32_t *seed, size_t len)
{
	if (*seed == 0)
		return len;
	*seed = *seed * 1103515245u + 12345u;
	return 1 + ((*seed >> 16) & 15);
}

static void
fuzz_run(const struct proto_creds *creds, const struct proto_client_info *info,
    const struct sieve_backend_settings *set, const uint8_t *in, size_t len,
    uint32_t seed, struct buf *tr)
{
	struct sieve_backend *b = sieve_backend_new(creds, info, set);
	struct buf *out = sieve_backend_output(b);
	size_t pos = 0, avail = 0, n, step;
	enum proto_action act = PROTO_ACT_MORE;
	const char *ch;

	while (pos < len) {
		step = fuzz_step(&seed, len);
		avail = MIN_OF(len, MAX_OF(avail, pos) + step);
		n = sieve_backend_input(b, in + pos, avail - pos, &act);
		if (n > avail - pos)
			abort();
		pos += n;
		fuzz_check_lines(out, FUZZ_OUTPUT_MAX);
		(void)buf_append(tr, out->data, out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_STARTTLS) {
			(void)buf_append_str(tr, "[STARTTLS]");
			sieve_backend_tls_started(b);
			if (out->len != 0)
				abort();
			continue;
		}
		if (act == PROTO_ACT_LOGGED_IN ||
		    act == PROTO_ACT_LOGIN_FAILED) {
			ch = sieve_backend_challenge(b);
			if (ch != NULL && !sasl_challenge_valid(ch, strlen(ch)))
				abort();
			(void)buf_printf(tr, "[%d %s|%s|%d|%s]", (int)act,
			    sieve_backend_reply_text(b),
			    sieve_backend_resp_code(b),
			    sieve_backend_tempfail(b), ch != NULL ? ch : "");
			break;
		}
		if (act == PROTO_ACT_CLOSE) {
			(void)buf_printf(
			    tr, "[CLOSE %s]", sieve_backend_error(b));
			break;
		}
		if (act != PROTO_ACT_MORE)
			abort();
		if (n == 0 && avail == len)
			break;
	}
	if (act != PROTO_ACT_MORE && act != PROTO_ACT_STARTTLS &&
	    (sieve_backend_input(b, in, len, &act) != 0 ||
		act != PROTO_ACT_CLOSE || out->len != 0))
		abort();
	(void)buf_printf(tr, "[pos %zu][%s]", pos, sieve_backend_sieve_caps(b));
	sieve_backend_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char longpw[900];
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
	    .local_ip = "10.0.0.1",
	    .local_port = 4190,
	    .session_id = "abc",
	    .ttl = 5,
	};
	struct sieve_backend_settings set;
	struct buf a, b;

	if (size < 2)
		return 0;
	memset(&set, 0, sizeof(set));
	set.starttls = (data[0] & 1) != 0;
	if (data[0] & 2) {
		creds.kind = PROTO_AUTH_SASL_PLAIN;
		creds.authzid = "master";
	}
	/* OAuth (both bits: TTL 0 below) */
	if ((data[0] & 0xc0) == 0x40 || (data[0] & 0xc0) == 0x80) {
		creds.kind = (data[0] & 0x40) != 0 ? PROTO_AUTH_SASL_OAUTHBEARER
						   : PROTO_AUTH_SASL_XOAUTH2;
		creds.authzid = "";
		creds.password = "n,a=user,\001auth=Bearer tok\001\001";
		creds.password_len = 27;
	}
	if (data[0] & 4) {
		/* an initial response that needs a literal */
		memset(longpw, 'p', sizeof(longpw));
		creds.password = longpw;
		creds.password_len = sizeof(longpw);
	}
	if (data[0] & 8)
		set.line_max = 40;
	info.proxy_header = (data[0] & 16) != 0;
	if (data[0] & 32)
		strlcpy(info.client_ip, "2001:db8::1", sizeof(info.client_ip));
	if ((data[0] & 0xc0) == 0xc0)
		info.ttl = 0;
	buf_init(&a, FUZZ_TRANSCRIPT_MAX);
	buf_init(&b, FUZZ_TRANSCRIPT_MAX);
	fuzz_run(&creds, &info, &set, data + 2, size - 2, 0, &a);
	fuzz_run(&creds, &info, &set, data + 2, size - 2, 1u + data[1], &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}

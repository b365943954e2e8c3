/*
 * fuzz_pop3_client.c - libFuzzer target for the pre-login POP3 server.
 *
 * The first byte picks the settings and a chunk size; the rest is client
 * input, fed whole and in chunks while playing the shell (LOGIN answered
 * with rotating results, every other one after the backend's OAuth error
 * challenge, STLS completed at once, the rest of the chunk kept as if it
 * came over TLS).  Every SASL mechanism is offered.  Both transcripts
 * must be identical; output lines end in CRLF and contain no NUL;
 * credentials exist exactly when LOGIN is returned.
 */
#include "compat.h"

#include "buf.h"
#include "fuzz_lines.h"
#include "pop3_client.h"
#include "proto.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRANSCRIPT_MAX (1024 * 1024)

static void
fuzz_check_output(const struct buf *out)
{
	fuzz_check_lines(out, POP3_CLIENT_OUTPUT_HIGH + 8192);
}

static void
fuzz_run(const struct pop3_client_settings *set, const uint8_t *in, size_t len,
    size_t step, struct buf *tr)
{
	static const enum proto_login_status results[] = {
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_OK,
	};
	static const char *const texts[] = {"[AUTH] no", NULL, "hi"};
	/* relayed only for OAuth logins that are rejected */
	static const char *const challenges[] = {
	    "eyJzdGF0dXMiOiI0MDEifQ==", NULL};
	struct pop3_client *c = pop3_client_new(set);
	struct buf *out = pop3_client_output(c);
	uint8_t *pending = malloc(len + 1);
	size_t plen = 0, fed = 0, n, nlogin = 0;
	enum proto_action act;
	const char *ch;

	pop3_client_greeting(c);
	while (fed < len) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			n = pop3_client_input(c, pending, plen, &act);
			if (n > plen)
				abort();
			memmove(pending, pending + n, plen - n);
			plen -= n;
			fuzz_check_output(out);
			(void)buf_append(tr, out->data, out->len);
			buf_consume(out, out->len);
			if ((act == PROTO_ACT_LOGIN) !=
			    (pop3_client_creds(c) != NULL))
				abort();
			if (act == PROTO_ACT_CLOSE)
				goto done;
			if (act == PROTO_ACT_STARTTLS) {
				(void)buf_append_str(tr, "[STARTTLS]");
				pop3_client_tls_started(c);
				if (plen > 0)
					continue;
				break;
			}
			if (act == PROTO_ACT_LOGIN) {
				(void)buf_append_str(tr, "[LOGIN]");
				ch = challenges[nlogin % nitems(challenges)];
				if (ch != NULL)
					pop3_client_login_challenge(c, ch);
				pop3_client_login_result(c,
				    results[nlogin % nitems(results)],
				    texts[nlogin % nitems(texts)]);
				nlogin++;
				if (pop3_client_creds(c) != NULL)
					abort();
				continue;
			}
			if (n == 0 || plen == 0)
				break;
		}
	}
done:
	free(pending);
	pop3_client_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_client_settings set;
	struct buf a, b;

	if (size < 1)
		return 0;
	memset(&set, 0, sizeof(set));
	set.starttls = (data[0] & 1) != 0;
	set.secured = (data[0] & 2) != 0;
	set.allow_plaintext_auth = (data[0] & 4) != 0;
	set.mechs = SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2);
	if (data[0] & 8) {
		set.line_max = 64;
		set.bad_max = 3;
	}
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

/*
 * fuzz_imap_client.c - libFuzzer target for the pre-login IMAP server.
 *
 * The first input byte picks the settings and a chunk size; the rest is
 * client input.  It is fed twice, whole and in chunks, playing the shell
 * (LOGIN answered with rotating results, every other one after the
 * backend's OAuth error challenge, STARTTLS completed at once), and both
 * transcripts must be identical.  Every SASL mechanism is offered.  Invariants checked on the way:
 * nothing past the offered bytes is consumed, output stays bounded, every
 * output line ends in CRLF and contains no NUL, credentials exist exactly
 * when LOGIN is returned.
 */
#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "fuzz_lines.h"
#include "imap_client.h"
#include "proto.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Upper bound on output produced by one input call. */
#define FUZZ_OUTPUT_MAX (IMAP_CLIENT_OUTPUT_HIGH + 8192)

static void
fuzz_check_output(const struct buf *out)
{
	fuzz_check_lines(out, FUZZ_OUTPUT_MAX);
}

static void
fuzz_run(const struct imap_client_settings *set, const uint8_t *in, size_t len,
    size_t step, struct buf *tr)
{
	static const enum proto_login_status results[] = {
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_OK,
	};
	/* relayed only for OAuth logins that are rejected */
	static const char *const challenges[] = {
	    "eyJzdGF0dXMiOiI0MDEifQ==", NULL};
	struct imap_client *c = imap_client_new(set);
	uint8_t *pending = malloc(len + 1);
	size_t plen = 0, fed = 0, n, nlogin = 0;
	enum proto_action act = PROTO_ACT_MORE;
	struct buf *out;

	imap_client_greeting(c);
	out = imap_client_output(c);
	while (fed < len) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			n = imap_client_input(c, pending, plen, &act);
			if (n > plen)
				abort();
			memmove(pending, pending + n, plen - n);
			plen -= n;
			fuzz_check_output(out);
			buf_append(tr, out->data, out->len);
			buf_consume(out, out->len);
			if ((act == PROTO_ACT_LOGIN) !=
			    (imap_client_creds(c) != NULL))
				abort();
			if (act == PROTO_ACT_CLOSE)
				goto done;
			if (act == PROTO_ACT_STARTTLS) {
				buf_append_str(tr, "[STARTTLS]");
				imap_client_tls_started(c);
				/* The shell would throw the pending bytes
				 * away; here they stand for what came over
				 * TLS, the same way in both runs. */
				if (plen > 0)
					continue;
				break;
			}
			if (act == PROTO_ACT_LOGIN) {
				const struct proto_creds *cr;
				const char *ch;

				cr = imap_client_creds(c);
				if (cr->authcid == NULL ||
				    cr->authzid == NULL || cr->password == NULL)
					abort();
				buf_printf(tr, "[LOGIN %s]", cr->authcid);
				ch = challenges[nlogin % nitems(challenges)];
				if (ch != NULL)
					imap_client_login_challenge(c, ch);
				imap_client_login_result(c,
				    results[nlogin++ % nitems(results)],
				    "[X] text", "IMAP4rev1");
				continue;
			}
			if (n == 0 || plen == 0)
				break;
		}
	}
done:
	buf_printf(tr, "[END %d]", (int)act);
	free(pending);
	imap_client_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_client_settings set;
	struct buf whole, chunked;
	size_t step;

	if (size < 1)
		return 0;
	memset(&set, 0, sizeof(set));
	set.starttls = (data[0] & 1) != 0;
	set.secured = (data[0] & 2) != 0;
	set.allow_plaintext_auth = (data[0] & 4) != 0;
	set.bad_max = (data[0] & 8) != 0 ? 3 : 0;
	set.line_max = (data[0] & 16) != 0 ? 64 : 0;
	set.literal_max = (data[0] & 16) != 0 ? 16 : 0;
	set.mechs = SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_OAUTHBEARER) |
	    SASL_MECH_BIT(SASL_MECH_XOAUTH2);
	step = 1 + (data[0] >> 5);
	buf_init(&whole, SIZE_MAX);
	buf_init(&chunked, SIZE_MAX);
	fuzz_run(&set, data + 1, size - 1, size, &whole);
	fuzz_run(&set, data + 1, size - 1, step, &chunked);
	if (whole.len != chunked.len ||
	    (whole.len > 0 && memcmp(whole.data, chunked.data, whole.len) != 0))
		abort();
	buf_deinit(&whole);
	buf_deinit(&chunked);
	return 0;
}

/*
 * fuzz_sieve_client.c - libFuzzer target for the pre-login ManageSieve
 * server.
 *
 * The first byte picks the settings and a chunk size, the second how the
 * fake shell behaves (which login results it reports, with which backend
 * text, whether the TLS handshake fails; most logins get the backend's
 * OAuth error challenge first); the rest is client input, fed whole and
 * in chunks.  Every SASL mechanism is offered.  Both transcripts must be
 * identical.  Invariants checked after every call: output lines end in
 * CRLF, contain no NUL and are a capability or challenge string or an
 * OK/NO/BYE reply; credentials exist exactly when LOGIN is returned;
 * calls out of turn (login_challenge, login_result, tls_started) change
 * nothing; after CLOSE nothing is consumed.
 */
#include "compat.h"

#include "buf.h"
#include "fuzz_lines.h"
#include "proto.h"
#include "sasl.h"
#include "sieve_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TRANSCRIPT_MAX (1024 * 1024)

/* Every line is "..." (capability, challenge), a literal "{n}" CRLF
 * with its n octets and CRLF (a long challenge) or a response. */
static void
fuzz_check_output(const struct buf *out)
{
	size_t i = 0, end, n, j;

	fuzz_check_lines(out, SIEVE_CLIENT_OUTPUT_HIGH + 16384);
	while (i < out->len) {
		end = i;
		while (out->data[end] != '\n')
			end++;
		if (out->data[i] == '{') {
			for (n = 0, j = i + 1; j < end && out->data[j] >= '0' &&
			     out->data[j] <= '9';
			     j++)
				n = n * 10 + (size_t)(out->data[j] - '0');
			if (j == i + 1 || j + 2 != end || out->data[j] != '}' ||
			    n > out->len - end - 1 ||
			    out->len - end - 1 - n < 2 ||
			    out->data[end + 1 + n] != '\r' ||
			    out->data[end + 2 + n] != '\n')
				abort();
			i = end + 3 + n;
			continue;
		}
		if (out->data[i] != '"' &&
		    (end - i < 3 || memcmp(out->data + i, "OK", 2) != 0) &&
		    (end - i < 3 || memcmp(out->data + i, "NO", 2) != 0) &&
		    (end - i < 4 || memcmp(out->data + i, "BYE", 3) != 0))
			abort();
		i = end + 1;
	}
}

/* Calls that are out of turn now must not do anything. */
static void
fuzz_out_of_turn(struct sieve_client *c)
{
	struct buf *out = sieve_client_output(c);
	size_t len = out->len;

	sieve_client_login_challenge(c, "eyJ9");
	sieve_client_login_result(c, PROTO_LOGIN_OK, "(X) y");
	sieve_client_tls_started(c);
	if (out->len != len || sieve_client_creds(c) != NULL)
		abort();
}

static void
fuzz_run(const struct sieve_client_settings *set, uint8_t shell,
    const uint8_t *in, size_t len, size_t step, struct buf *tr)
{
	static const enum proto_login_status results[] = {
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_TEMPFAIL,
	    PROTO_LOGIN_REJECTED,
	    PROTO_LOGIN_OK,
	};
	static const char *const texts[] = {
	    "(AUTH-TOO-WEAK) no",
	    NULL,
	    "(REFERRAL \"sieve://x\") \r\nbye\x7f\"\\",
	    "(TRYLATER",
	    "",
	    "(A\"b) c",
	};
	static char long_challenge[1100];
	/* relayed only for OAuth logins that are rejected: logins 0, 2, 4
	 * and 6 (the first is shell & 7) are, with each of these */
	static const char *const challenges[] = {
	    "eyJzdGF0dXMiOiI0MDEifQ==", "eyJ9", long_challenge, NULL, NULL};
	struct sieve_client *c = sieve_client_new(set);
	struct buf *out = sieve_client_output(c);
	uint8_t *pending = malloc(len + 1);
	size_t plen = 0, fed = 0, n, nlogin = shell & 7;
	enum proto_action act;
	const char *ch;

	/* over RFC 5804's 1024 quoted octets */
	memset(long_challenge, 'A', sizeof(long_challenge) - 1);
	sieve_client_greeting(c);
	fuzz_check_output(out);
	(void)buf_append(tr, out->data, out->len);
	buf_consume(out, out->len);
	while (fed < len) {
		size_t add = MIN_OF(step, len - fed);

		memcpy(pending + plen, in + fed, add);
		plen += add;
		fed += add;
		for (;;) {
			n = sieve_client_input(c, pending, plen, &act);
			if (n > plen)
				abort();
			memmove(pending, pending + n, plen - n);
			plen -= n;
			fuzz_check_output(out);
			(void)buf_append(tr, out->data, out->len);
			buf_consume(out, out->len);
			if ((act == PROTO_ACT_LOGIN) !=
			    (sieve_client_creds(c) != NULL))
				abort();
			if (act == PROTO_ACT_CLOSE) {
				if (sieve_client_input(
					c, "NOOP\r\n", 6, &act) != 0 ||
				    act != PROTO_ACT_CLOSE || out->len != 0)
					abort();
				goto done;
			}
			if (act == PROTO_ACT_STARTTLS) {
				(void)buf_append_str(tr, "[STARTTLS]");
				/* a failed handshake: the shell closes */
				if (shell & 8)
					goto done;
				sieve_client_tls_started(c);
				if (plen > 0)
					continue;
				break;
			}
			if (act == PROTO_ACT_LOGIN) {
				(void)buf_append_str(tr, "[LOGIN]");
				ch = challenges[nlogin % nitems(challenges)];
				if (ch != NULL)
					sieve_client_login_challenge(c, ch);
				sieve_client_login_result(c,
				    results[nlogin % nitems(results)],
				    texts[(nlogin + (shell >> 4)) %
					nitems(texts)]);
				nlogin++;
				if (sieve_client_creds(c) != NULL)
					abort();
				continue;
			}
			fuzz_out_of_turn(c);
			if (n == 0 || plen == 0)
				break;
		}
	}
done:
	free(pending);
	sieve_client_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_client_settings set;
	struct buf a, b;

	if (size < 2)
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
	fuzz_run(&set, data[1], data + 2, size - 2, size, &a);
	fuzz_run(&set, data[1], data + 2, size - 2, 1 + (data[0] >> 4), &b);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}

/*
 * fuzz_healthcheck.c - libFuzzer target for the health check dialogue.
 *
 * The first byte picks the protocol, whether a test account is used and
 * a piece size (1..8); the rest is what the backend sends, fed whole and
 * in pieces.  Checks: both ways reach the same verdict and the same
 * text; the text is printable (it is logged); bytes used never exceed
 * what was offered; after the verdict nothing more is taken.
 */
#include "compat.h"

#include "healthcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum healthcheck_status
run(const char *in, size_t len, size_t piece, enum healthcheck_proto proto,
    bool login, char *text, size_t textsize)
{
	struct healthcheck *hc = healthcheck_new(
	    proto, login ? "probe" : NULL, login ? "se\"cret" : NULL);
	enum healthcheck_status st = HEALTHCHECK_MORE;
	size_t pos = 0, n, used;
	const char *t;

	while (pos < len) {
		n = MIN_OF(piece, len - pos);
		st = healthcheck_input(hc, in + pos, n, &used);
		if (used > n)
			abort();
		buf_clear(healthcheck_output(hc));
		if (st != HEALTHCHECK_MORE)
			break;
		if (used != n)
			abort();
		pos += used;
	}
	if (st != HEALTHCHECK_MORE &&
	    (healthcheck_input(hc, "x\n", 2, &used) != st || used != 0))
		abort();
	for (t = healthcheck_text(hc); *t != '\0'; t++) {
		if ((unsigned char)*t < 0x20 || (unsigned char)*t >= 0x7f)
			abort();
	}
	strlcpy(text, healthcheck_text(hc), textsize);
	healthcheck_free(&hc);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char t1[HEALTHCHECK_TEXT_MAX], t2[HEALTHCHECK_TEXT_MAX];
	enum healthcheck_proto proto;
	bool login;
	size_t piece;

	if (size < 1)
		return 0;
	proto = (enum healthcheck_proto)(data[0] % 4);
	login = (data[0] & 4) != 0;
	piece = 1 + ((data[0] >> 3) & 7);
	if (run((const char *)data + 1, size - 1, size, proto, login, t1,
		sizeof(t1)) !=
		run((const char *)data + 1, size - 1, piece, proto, login, t2,
		    sizeof(t2)) ||
	    strcmp(t1, t2) != 0)
		abort();
	return 0;
}

/*
 * fuzz_log_sanitize.c - libFuzzer target for log_sanitize(), the one
 * escaping step remote text takes before it is logged.
 *
 * The first two bytes pick the destination size (0 to 1023), the rest is
 * the untrusted text, NUL bytes included.  The destination is a heap
 * block of exactly that size, so a write past it is an ASan finding.
 * Checked: the output is NUL-terminated inside the block; it holds only
 * printable ASCII (no control byte, no newline, no byte >= 0x7f); every
 * backslash starts a \xNN escape; decoding it gives back the input, or,
 * when the output ends in "..." or is cut short, a prefix of it; an
 * output that had room for every escape is never cut.
 */
#include "compat.h"

#include <stdio.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest destination tried, and the worst-case bytes per input byte. */
#define FUZZ_DST_MAX 1024
#define FUZZ_ESCAPE_LEN 4

static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes out[0..len) into dec; returns the decoded length.  Aborts on a
 * backslash that does not start a well-formed escape. */
static size_t
fuzz_decode(const char *out, size_t len, unsigned char *dec)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (out[i] != '\\') {
			dec[n++] = (unsigned char)out[i];
			continue;
		}
		if (i + 3 >= len || out[i + 1] != 'x')
			abort();
		hi = fuzz_hex(out[i + 2]);
		lo = fuzz_hex(out[i + 3]);
		if (hi < 0 || lo < 0)
			abort();
		dec[n++] = (unsigned char)(hi << 4 | lo);
		i += 3;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 2;
	size_t dstsize, len, olen, dlen, i;
	unsigned char *dec;
	char *dst;
	bool cut;

	if (size < 2)
		return 0;
	dstsize = ((size_t)data[0] << 8 | data[1]) % FUZZ_DST_MAX;
	len = size - 2;
	dst = malloc(dstsize > 0 ? dstsize : 1);
	dst[0] = 'Z';
	if (log_sanitize(dst, dstsize, s, len) != dst)
		abort();
	if (dstsize == 0) {
		/* nothing may be written */
		if (dst[0] != 'Z')
			abort();
		free(dst);
		return 0;
	}
	olen = strnlen(dst, dstsize);
	if (olen >= dstsize)
		abort();
	for (i = 0; i < olen; i++) {
		unsigned char c = (unsigned char)dst[i];

		if (c < 0x20 || c >= 0x7f)
			abort();
	}
	cut = olen >= 3 && memcmp(dst + olen - 3, "...", 3) == 0;
	dec = malloc(olen + 1);
	if (cut) {
		dlen = fuzz_decode(dst, olen - 3, dec);
		/* "..." may also be the text's own dots: then it is whole */
		if (dlen + 3 == len && memcmp(dec, s, dlen) == 0 &&
		    memcmp(s + dlen, "...", 3) == 0)
			cut = false;
		else if (dlen >= len || memcmp(dec, s, dlen) != 0)
			abort();
	}
	if (!cut) {
		dlen = fuzz_decode(dst, olen, dec);
		/* whole, or cut without room even for the "..." */
		if (dlen > len || memcmp(dec, s, dlen) != 0)
			abort();
		if (dlen < len && dstsize >= 4)
			abort();
	}
	/* with room for every byte escaped, nothing is cut */
	if (dstsize > len * FUZZ_ESCAPE_LEN + 4 && (cut || dlen != len))
		abort();
	free(dec);
	free(dst);
	return 0;
}

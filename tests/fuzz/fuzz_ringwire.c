/*
 * fuzz_ringwire.c - libFuzzer target for the director ring codec: the
 * reader fed whole and one byte at a time gives the same lines; a line
 * that parses formats (for minor 9) into one line that parses into the
 * same message; formatting for every older minor never crashes and gives
 * at most one line; error texts are printable.
 */
#include "compat.h"
#include "buf.h"
#include "ringwire.h"

#define FUZZ_ERR_MAX 512
#define FUZZ_OUT_MAX (16 * RING_LINE_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks that out holds exactly one LF-terminated line without NUL. */
static void
check_one_line(const struct buf *out)
{
	if (out->len == 0 || out->data[out->len - 1] != '\n' ||
	    memchr(out->data, '\n', out->len - 1) != NULL ||
	    memchr(out->data, '\0', out->len) != NULL)
		abort();
}

static void
check_line(const char *line, size_t len)
{
	static struct ringwire_msg msg, again;
	char err[FUZZ_ERR_MAX];
	unsigned int minor;
	struct buf out;
	size_t i;

	if (ringwire_parse(line, len, &msg, err, sizeof(err)) != 0) {
		for (i = 0; err[i] != '\0'; i++)
			if (err[i] < 0x20 || err[i] >= 0x7f)
				abort();
		return;
	}
	buf_init(&out, FUZZ_OUT_MAX);
	for (minor = 0; minor < RINGWIRE_MINOR; minor++) {
		buf_clear(&out);
		if (ringwire_format(&msg, minor, &out) == RINGWIRE_FMT_OK)
			check_one_line(&out);
	}
	buf_clear(&out);
	if (ringwire_format(&msg, RINGWIRE_MINOR, &out) != RINGWIRE_FMT_OK)
		abort();
	check_one_line(&out);
	/* a canonical form longer than a line (IPv6 spelt out, say) is
	 * not a line a peer could send */
	if (out.len - 1 < RING_LINE_MAX) {
		if (ringwire_parse(
			out.data, out.len - 1, &again, err, sizeof(err)) != 0 ||
		    memcmp(&msg, &again, sizeof(msg)) != 0)
			abort();
	}
	buf_deinit(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char copy[RING_LINE_MAX + 1];
	struct ringwire_reader whole, bytes;
	enum ringwire_status st, st1 = RINGWIRE_MORE;
	const char *line, *line1 = NULL;
	size_t pos = 0, used, used1, len, len1 = 0;

	ringwire_reader_init(&whole);
	ringwire_reader_init(&bytes);
	for (;;) {
		st = ringwire_reader_feed(
		    &whole, data + pos, size - pos, &used, &line, &len);
		if (st != RINGWIRE_LINE)
			break;
		memcpy(copy, line, len + 1);
		/* the same line, a byte at a time */
		do {
			if (pos >= size)
				abort();
			st1 = ringwire_reader_feed(
			    &bytes, data + pos, 1, &used1, &line1, &len1);
			pos += used1;
		} while (st1 == RINGWIRE_MORE);
		if (st1 != RINGWIRE_LINE || len1 != len ||
		    memcmp(line1, copy, len) != 0)
			abort();
		check_line(copy, len);
	}
	/* the verdict on the rest is the same too */
	while (st == RINGWIRE_TOO_LONG && pos < size) {
		st1 = ringwire_reader_feed(
		    &bytes, data + pos, 1, &used1, &line1, &len1);
		if (st1 != RINGWIRE_MORE)
			break;
		pos += used1;
	}
	if (st == RINGWIRE_TOO_LONG && st1 != RINGWIRE_TOO_LONG)
		abort();
	ringwire_reader_deinit(&whole);
	ringwire_reader_deinit(&bytes);
	return 0;
}

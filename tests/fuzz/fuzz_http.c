/*
 * fuzz_http.c - libFuzzer target for the metrics endpoint's request
 * parser.  Checks: the answer is one of the documented statuses; any
 * prefix of the input is either MORE or the same answer as the whole
 * (the shell calls it again with every piece that arrives); the
 * response head for it fits its buffer.
 */
#include "compat.h"

#include "buf.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
answer(const char *in, size_t len)
{
	int status = -1;
	bool head;

	if (http_parse(in, len, &status, &head) == HTTP_PARSE_MORE)
		return 0;
	switch (status) {
	case 200:
	case 400:
	case 404:
	case 405:
	case 431:
	case 505:
		return status;
	}
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	int whole = answer(in, size), part;
	struct buf b;
	size_t n;

	for (n = 0; n < size && n <= HTTP_REQUEST_MAX + 1; n++) {
		part = answer(in, n);
		if (part != 0) {
			if (part != whole)
				abort();
			break;
		}
	}
	buf_init(&b, 512);
	if (whole != 0 && http_format_head(&b, whole, "text/plain", size) != 0)
		abort();
	buf_deinit(&b);
	return 0;
}

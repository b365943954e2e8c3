/*
 * fuzz_proxyproto.c - libFuzzer target for the PROXY protocol parser.
 *
 * Checks that the verdict is consistent as bytes arrive: every prefix of
 * a header is MORE, a BAD prefix stays BAD, a DONE header gives the same
 * result for any longer input, and consumed never exceeds the input or
 * PROXYPROTO_MAX.
 */
#include "compat.h"

#include "proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prefix lengths checked one by one (keeps each run fast). */
#define FUZZ_PREFIX_MAX 600

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_result res, res2;
	enum proxyproto_status st, prev = PROXYPROTO_MORE;
	size_t consumed, consumed2, i;

	st = proxyproto_parse(data, size, &consumed, &res);
	if (st == PROXYPROTO_DONE) {
		if (consumed == 0 || consumed > size ||
		    consumed > PROXYPROTO_MAX)
			abort();
		if (res.command == PROXYPROTO_CMD_PROXY &&
		    (res.src_ip[0] == '\0' || res.dst_ip[0] == '\0'))
			abort();
	} else if (consumed != 0)
		abort();
	for (i = 0; i <= size && i <= FUZZ_PREFIX_MAX; i++) {
		enum proxyproto_status s =
		    proxyproto_parse(data, i, &consumed2, &res2);

		if (prev == PROXYPROTO_BAD && s != PROXYPROTO_BAD)
			abort();
		if (prev == PROXYPROTO_DONE && s != PROXYPROTO_DONE)
			abort();
		if (s == PROXYPROTO_DONE && prev != PROXYPROTO_DONE) {
			/* the header ends exactly here */
			if (consumed2 != i)
				abort();
		}
		prev = s;
	}
	if (size <= FUZZ_PREFIX_MAX && prev != st)
		abort();
	if (st == PROXYPROTO_DONE && size <= FUZZ_PREFIX_MAX &&
	    memcmp(&res, &res2, sizeof(res)) != 0)
		abort();
	return 0;
}

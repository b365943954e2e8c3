/*
 * fuzz_hoststate.c - libFuzzer target for the backend state file: decode
 * the input; an error must come with a message and no entries; decoded
 * entries must respect the limits and, applied to a host list, encode
 * and decode again to the same records.
 */
#include "compat.h"

#include "buf.h"
#include "hosts.h"
#include "hoststate.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoststate_entry *e = NULL, *e2 = NULL;
	struct hosts *hosts;
	struct buf out;
	const char *aerr;
	char err[256];
	size_t n = 0, n2 = 0, i, hosts_n = 0;

	err[0] = '\0';
	if (hoststate_decode(
		(const char *)data, size, &e, &n, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || e != NULL || n != 0)
			abort();
		return 0;
	}
	hosts = hosts_new(SELECT_METHOD_RENDEZVOUS, 900);
	for (i = 0; i < n; i++) {
		if (e[i].vhost_count > HOST_VHOST_COUNT_MAX ||
		    strlen(e[i].tag) > HOST_TAG_MAX)
			abort();
		if (e[i].removed)
			continue;
		if (hosts_add(hosts, &e[i].ip, e[i].tag, e[i].vhost_count,
			&aerr) == NULL)
			abort();
		hosts_n++;
	}
	buf_init(&out, SIZE_MAX);
	if (hoststate_encode(hosts, NULL, 0, &out) == -1 ||
	    hoststate_decode(out.data, out.len, &e2, &n2, err, sizeof(err)) ==
		-1 ||
	    n2 != hosts_n)
		abort();
	buf_deinit(&out);
	free(e2);
	free(e);
	hosts_free(&hosts);
	return 0;
}

/*
 * fuzz_hostspec.c - libFuzzer target for director_mail_servers parsing:
 * parse the input, load the result into a host list, route a few users,
 * and check that errors always come with a message and that every
 * parsed entry is within the HOSTS_MAX / tag limits.
 */
#include "compat.h"

#include "hosts.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hosts_spec_entry *e = NULL;
	struct hosts *hosts;
	const char *aerr;
	char *spec, err[256];
	size_t n = 0, i, added = 0;
	bool created;
	uint32_t u;

	spec = xstrndup((const char *)data, size);
	err[0] = '\0';
	if (hosts_spec_parse(spec, &e, &n, err, sizeof(err)) < 0) {
		if (err[0] == '\0' || e != NULL || n != 0)
			abort();
		free(spec);
		return 0;
	}
	if (n > HOSTS_MAX)
		abort();
	hosts = hosts_new(
	    data[0] % 2 == 0 ? SELECT_METHOD_DOVECOT : SELECT_METHOD_RENDEZVOUS,
	    900);
	for (i = 0; i < n; i++) {
		if (strlen(e[i].tag) > HOST_TAG_MAX)
			abort();
		if (hosts_add(hosts, &e[i].ip, e[i].tag, (unsigned int)(i % 3),
			&aerr) != NULL)
			added++;
	}
	if (hosts_count(hosts) != added)
		abort();
	(void)hosts_hash(hosts);
	for (u = 1; u < 64; u++) {
		if (n > 0)
			(void)hosts_route_user(
			    hosts, e[0].tag, u * 2654435761u, 1000, &created);
	}
	hosts_free(&hosts);
	free(e);
	free(spec);
	return 0;
}

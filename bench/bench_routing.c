/*
 * bench_routing.c - routing core figures: existing-user lookups per
 * second, new-user selections per second per method and backend count,
 * and memory per user (own accounting and the VmRSS delta).
 *
 * Targets (DESIGN.md section 3): >= 5,000,000 lookups/s on one core,
 * <= 64 bytes per user.  Usage: bench_routing [-q] (-q skips 10M users).
 */
#include "compat.h"

#include "load_util.h"

#include <stdio.h>
#include <time.h>

#include "hosts.h"
#include "select.h"
#include "users.h"
#include "xmalloc.h"

#define BENCH_LOOKUPS 20000000u
#define BENCH_SELECTS 2000000u
#define BENCH_NOW 1000000u
#define BENCH_EXPIRE 900u

static uint64_t bench_rng = 0x1234567;

static uint64_t
bench_rand(void)
{
	uint64_t z = (bench_rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* VmRSS of this process in kB, or 0. */
static long
bench_rss_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static uint32_t *
bench_hashes(size_t n)
{
	uint32_t *h = xreallocarray(NULL, n, sizeof(*h));
	size_t i;

	for (i = 0; i < n; i++)
		h[i] = (uint32_t)bench_rand() | 1;
	return h;
}

static void
bench_memory(size_t n)
{
	struct users *users;
	uint32_t *h = bench_hashes(n);
	long rss0, rss1;
	size_t i;

	rss0 = bench_rss_kb();
	users = users_new(BENCH_EXPIRE);
	for (i = 0; i < n; i++)
		users_add(
		    users, h[i], (uint32_t)(i % 50), BENCH_NOW, BENCH_NOW);
	rss1 = bench_rss_kb();
	printf("memory: %zu users: %.1f bytes/user (own accounting), "
	       "%.1f bytes/user (VmRSS delta)\n",
	    users_count(users),
	    (double)users_memory_bytes(users) / (double)users_count(users),
	    (double)(rss1 - rss0) * 1024.0 / (double)users_count(users));
	users_free(&users);
	free(h);
}

static void
bench_lookups(size_t n)
{
	struct hosts *hosts;
	struct host_tag *tag;
	struct users *users;
	struct ipaddr ip;
	const char *err;
	uint32_t *h = bench_hashes(n), *q, i, found = 0;
	double t0, t1;
	bool created;

	q = xreallocarray(NULL, BENCH_LOOKUPS, sizeof(*q));
	for (i = 0; i < BENCH_LOOKUPS; i++)
		q[i] = h[bench_rand() % n];

	users = users_new(BENCH_EXPIRE);
	for (i = 0; i < n; i++)
		users_add(users, h[i], i % 50, BENCH_NOW, BENCH_NOW);
	t0 = load_now();
	for (i = 0; i < BENCH_LOOKUPS; i++)
		found += users_lookup(users, q[i], BENCH_NOW + 1) != NULL;
	t1 = load_now();
	if (found != BENCH_LOOKUPS)
		printf("BUG: %u of %u found\n", found, BENCH_LOOKUPS);
	printf("users_lookup: %zu users, %.2f M lookups/s\n", n,
	    BENCH_LOOKUPS / (t1 - t0) / 1e6);
	users_free(&users);

	/* the daemon's call: lookup + refresh through hosts_route_user */
	hosts = hosts_new(SELECT_METHOD_RENDEZVOUS, BENCH_EXPIRE);
	for (i = 0; i < 50; i++) {
		ipaddr_parse("10.0.0.1", &ip);
		ip.a[3] = (uint8_t)(i + 1);
		hosts_add(hosts, &ip, "", 100, &err);
	}
	tag = hosts_tag_lookup(hosts, "");
	for (i = 0; i < n; i++)
		users_add(
		    hosts_tag_users(tag), h[i], i % 50, BENCH_NOW, BENCH_NOW);
	t0 = load_now();
	for (i = 0; i < BENCH_LOOKUPS; i++)
		hosts_route_user(
		    hosts, "", q[i], BENCH_NOW + 1 + i / 4000000, &created);
	t1 = load_now();
	printf("hosts_route_user (existing, with refresh): %.2f M/s\n",
	    BENCH_LOOKUPS / (t1 - t0) / 1e6);
	hosts_free(&hosts);
	free(q);
	free(h);
}

static void
bench_select(enum select_method method, size_t nbackends)
{
	struct select_entry *e = xcalloc(nbackends, sizeof(*e));
	struct select *sel = select_new(method);
	uint32_t *q = bench_hashes(BENCH_SELECTS), i, id, sum = 0;
	double t0, t1;
	size_t k;

	for (k = 0; k < nbackends; k++) {
		e[k].ip.family = IPADDR_FAMILY_V4;
		e[k].ip.a[0] = 10;
		e[k].ip.a[2] = (uint8_t)(k / 250);
		e[k].ip.a[3] = (uint8_t)(k % 250 + 1);
		e[k].weight = 100;
		e[k].id = (uint32_t)k;
	}
	t0 = load_now();
	select_build(sel, e, nbackends);
	t1 = load_now();
	printf("select %-10s %3zu backends: build %.2f ms, ",
	    select_method_name(method), nbackends, (t1 - t0) * 1e3);
	t0 = load_now();
	for (i = 0; i < BENCH_SELECTS; i++) {
		select_pick(sel, q[i], &id);
		sum += id;
	}
	t1 = load_now();
	printf("%.2f M selections/s (equal weights)",
	    BENCH_SELECTS / (t1 - t0) / 1e6);
	/* three distinct weights: one logarithm per weight group */
	for (k = 0; k < nbackends; k++)
		e[k].weight = 50 + 50 * (uint32_t)(k % 3);
	select_build(sel, e, nbackends);
	t0 = load_now();
	for (i = 0; i < BENCH_SELECTS; i++) {
		select_pick(sel, q[i], &id);
		sum += id;
	}
	t1 = load_now();
	printf(", %.2f M/s (3 weights)%s\n", BENCH_SELECTS / (t1 - t0) / 1e6,
	    sum == 0 ? " " : "");
	select_free(&sel);
	free(q);
	free(e);
}

int
main(int argc, char **argv)
{
	static const size_t backends[] = {10, 50, 200};
	bool quick = argc > 1 && strcmp(argv[1], "-q") == 0;
	size_t i;

	bench_lookups(1000000);
	for (i = 0; i < nitems(backends); i++)
		bench_select(SELECT_METHOD_DOVECOT, backends[i]);
	for (i = 0; i < nitems(backends); i++)
		bench_select(SELECT_METHOD_RENDEZVOUS, backends[i]);
	bench_memory(1000000);
	if (!quick)
		bench_memory(10000000);
	return 0;
}

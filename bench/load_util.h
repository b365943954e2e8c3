/*
 * load_util.h - what the programs of bench/ share: the server's address
 * from the command line, a monotonic clock, sorting latency samples and
 * picking percentiles, and raising the descriptor limit.
 * Header-only: every bench/X.c is its own program.
 */
#ifndef DIRECTOR_BENCH_LOAD_UTIL_H
#define DIRECTOR_BENCH_LOAD_UTIL_H

#include <sys/resource.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Sets *addr_r to the IPv4 address host and port (command line text);
 * -1 if host is no IPv4 address. */
static inline int
load_parse_addr(const char *host, const char *port, struct sockaddr_in *addr_r)
{
	memset(addr_r, 0, sizeof(*addr_r));
	addr_r->sin_family = AF_INET;
	addr_r->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, host, &addr_r->sin_addr) == 1 ? 0 : -1;
}

/* Seconds on the monotonic clock. */
static inline double
load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int
load_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts the n samples (seconds) and sets the p50 and p99 in ms. */
static inline void
load_percentiles(double *samples, size_t n, double *p50_ms_r, double *p99_ms_r)
{
	qsort(samples, n, sizeof(double), load_cmp_double);
	*p50_ms_r = n > 0 ? samples[n / 2] * 1e3 : 0;
	*p99_ms_r = n > 0 ? samples[n * 99 / 100] * 1e3 : 0;
}

/* Raises the soft descriptor limit to the hard one if want is above it. */
static inline void
load_raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif

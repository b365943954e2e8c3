/*
 * sim.c - the simulator's command line (see sim.h).
 *
 *   sim --seeds N [--first S] [--steps K]   N seeds from S (default 1)
 *   sim --seed S [-v] [--unsafe] [--steps K] one seed, replayable
 *   sim --seconds T [--first S]             seeds until T seconds pass
 *   sim --selftest                          the checker must catch the
 *                                           unsafe HOST-FLUSH
 *
 * Exits 0 when no run found a violation (--selftest: when one did).
 * The wall clock is read only to report steps per second.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define SIM_STEPS_DEFAULT 5000
/* Seeds the self-test tries; one of them must catch the unsafe flush. */
#define SIM_SELFTEST_SEEDS 50

struct sim_totals {
	uint64_t seeds, steps, violations;
};

static double
sim_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one seed; prints the report on a violation. */
static bool
sim_run_seed(uint64_t seed, uint64_t steps, bool unsafe, bool verbose,
    struct sim_totals *t)
{
	struct sim_world *w = sim_world_new(seed, steps, unsafe, verbose);
	bool violated;

	while (sim_world_step(w))
		;
	if (!w->violated)
		sim_check_full(w);
	violated = w->violated;
	if (violated)
		sim_report(w);
	t->seeds++;
	t->steps += w->step;
	t->violations += violated;
	sim_world_free(&w);
	return violated;
}

static void
sim_summary(const struct sim_totals *t, double secs)
{
	printf("sim: %llu seeds, %llu steps, %llu violations, %.0f steps/s\n",
	    (unsigned long long)t->seeds, (unsigned long long)t->steps,
	    (unsigned long long)t->violations,
	    secs > 0 ? (double)t->steps / secs : 0.0);
}

static int
sim_selftest(uint64_t steps)
{
	struct sim_totals t;
	uint64_t seed;

	memset(&t, 0, sizeof(t));
	for (seed = 1; seed <= SIM_SELFTEST_SEEDS; seed++) {
		if (sim_run_seed(seed, steps, true, false, &t)) {
			printf("sim: selftest: the unsafe HOST-FLUSH was "
			       "caught at seed %llu\n",
			    (unsigned long long)seed);
			return 0;
		}
	}
	printf("sim: selftest FAILED: %d seeds with the unsafe HOST-FLUSH "
	       "and no violation found\n",
	    SIM_SELFTEST_SEEDS);
	return 1;
}

static void
sim_usage(void)
{
	fprintf(stderr,
	    "usage: sim --seeds N [--first S] [--steps K]\n"
	    "       sim --seed S [-v] [--unsafe] [--steps K]\n"
	    "       sim --seconds T [--first S] [--steps K]\n"
	    "       sim --selftest\n");
	exit(2);
}

static uint64_t
sim_arg(int argc, char **argv, int *i)
{
	char *end;
	unsigned long long v;

	if (*i + 1 >= argc)
		sim_usage();
	v = strtoull(argv[++*i], &end, 10);
	if (*end != '\0' || end == argv[*i])
		sim_usage();
	return v;
}

int
main(int argc, char **argv)
{
	uint64_t seeds = 0, first = 1, seed = 0, steps = SIM_STEPS_DEFAULT;
	uint64_t seconds = 0;
	bool one = false, verbose = false, unsafe = false, selftest = false;
	struct sim_totals t;
	double start;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0)
			seeds = sim_arg(argc, argv, &i);
		else if (strcmp(argv[i], "--first") == 0)
			first = sim_arg(argc, argv, &i);
		else if (strcmp(argv[i], "--seed") == 0) {
			seed = sim_arg(argc, argv, &i);
			one = true;
		} else if (strcmp(argv[i], "--steps") == 0)
			steps = sim_arg(argc, argv, &i);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = sim_arg(argc, argv, &i);
		else if (strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--unsafe") == 0)
			unsafe = true;
		else if (strcmp(argv[i], "--selftest") == 0)
			selftest = true;
		else
			sim_usage();
	}
	if (selftest)
		return sim_selftest(steps);
	memset(&t, 0, sizeof(t));
	start = sim_clock();
	if (one)
		(void)sim_run_seed(seed, steps, unsafe, verbose, &t);
	else if (seconds > 0) {
		for (seed = first; sim_clock() - start < (double)seconds;
		     seed++)
			(void)sim_run_seed(seed, steps, unsafe, false, &t);
	} else if (seeds > 0) {
		for (seed = first; seed < first + seeds; seed++)
			(void)sim_run_seed(seed, steps, unsafe, false, &t);
	} else
		sim_usage();
	sim_summary(&t, sim_clock() - start);
	return t.violations == 0 ? 0 : 1;
}

/*
 * sim.c - the simulator's command line (see sim.h).
 *
 *   sim --seeds N [--first S] [--steps K]   N seeds from S (default 1)
 *   sim --seed S [-v] [--steps K]           one seed, replayable
 *   sim --seconds T [--first S]             seeds until T seconds pass
 *   sim --selftest                          the checker must catch the
 *                                           unsafe HOST-FLUSH
 * with, for any of the runs:
 *   --unsafe      also issue the unsafe HOST-FLUSH
 *   --partitions  also partitions and long hangs: violations are
 *                 counted, not fatal (sim.h says why)
 *   --count       violations are counted, not fatal (for the default
 *                 faults while the engine has the bugs sim.h lists)
 *   --directors N N directors in every seed (default: drawn per seed)
 *
 * Exits 0 when no run found a violation (counted ones of --partitions
 * aside), broken bookkeeping or a ring that did not come back together
 * after the quiet period (--selftest: when a violation was found).  The
 * wall clock is read only to report steps per second.
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
	uint64_t seeds, steps, faults;
	uint64_t violations, violated_seeds;
	uint64_t live_failures, failed; /* seeds that fail the run */
};

static double
sim_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one seed; prints what went wrong.  Returns true if the seed
 * found an invariant violation. */
static bool
sim_run_seed(uint64_t seed, const struct sim_opts *o, struct sim_totals *t)
{
	struct sim_world *w = sim_world_new(seed, o);
	bool violated, fatal;

	while (sim_world_step(w))
		;
	if (!w->broken && (!w->violated || w->count_only)) {
		sim_check_full(w);
		if (w->quiet)
			sim_check_live(w);
	}
	violated = w->violated || w->broken;
	fatal = w->broken || w->live_failed || (violated && !w->count_only);
	if (fatal)
		sim_report(w);
	else if (violated)
		printf("sim: seed %llu: %llu violations (counted), the first: "
		       "%s\n",
		    (unsigned long long)seed, (unsigned long long)w->violations,
		    w->violation);
	t->seeds++;
	t->steps += w->step;
	t->faults += w->faults;
	t->violations += w->violations;
	t->violated_seeds += violated;
	t->live_failures += w->live_failed;
	t->failed += fatal;
	sim_world_free(&w);
	return violated;
}

static void
sim_summary(const struct sim_totals *t, double secs)
{
	printf("sim: %llu seeds, %llu steps, %llu faults, %llu violations "
	       "in %llu seeds, %llu liveness failures, %.0f steps/s\n",
	    (unsigned long long)t->seeds, (unsigned long long)t->steps,
	    (unsigned long long)t->faults, (unsigned long long)t->violations,
	    (unsigned long long)t->violated_seeds,
	    (unsigned long long)t->live_failures,
	    secs > 0 ? (double)t->steps / secs : 0.0);
}

static int
sim_selftest(const struct sim_opts *o)
{
	struct sim_opts so = *o;
	struct sim_totals t;
	uint64_t seed;

	so.unsafe = true;
	/* the checker against the engine alone: no ring bugs in the way */
	if (so.ndirs == 0)
		so.ndirs = 1;
	memset(&t, 0, sizeof(t));
	for (seed = 1; seed <= SIM_SELFTEST_SEEDS; seed++) {
		if (sim_run_seed(seed, &so, &t)) {
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
	    "usage: sim --seeds N [--first S] [--steps K] [options]\n"
	    "       sim --seed S [-v] [--steps K] [options]\n"
	    "       sim --seconds T [--first S] [--steps K] [options]\n"
	    "       sim --selftest\n"
	    "options: --unsafe (HOST-FLUSH too), --partitions (partitions "
	    "and long hangs too),\n"
	    "         --count (violations counted, not fatal), --allow N "
	    "(counted; fails\n"
	    "         if more than N seeds have any), --directors "
	    "N (1..%d)\n",
	    SIM_DIRECTORS_MAX);
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
	uint64_t seeds = 0, first = 1, seed = 0, seconds = 0;
	uint64_t allow = UINT64_MAX;
	struct sim_opts o = {.steps = SIM_STEPS_DEFAULT};
	bool one = false, selftest = false;
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
			o.steps = sim_arg(argc, argv, &i);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = sim_arg(argc, argv, &i);
		else if (strcmp(argv[i], "-v") == 0)
			o.verbose = true;
		else if (strcmp(argv[i], "--unsafe") == 0)
			o.unsafe = true;
		else if (strcmp(argv[i], "--partitions") == 0)
			o.partitions = true;
		else if (strcmp(argv[i], "--count") == 0)
			o.count_only = true;
		else if (strcmp(argv[i], "--allow") == 0) {
			allow = sim_arg(argc, argv, &i);
			o.count_only = true;
		} else if (strcmp(argv[i], "--directors") == 0) {
			o.ndirs = (uint32_t)sim_arg(argc, argv, &i);
			if (o.ndirs < 1 || o.ndirs > SIM_DIRECTORS_MAX)
				sim_usage();
		} else if (strcmp(argv[i], "--selftest") == 0)
			selftest = true;
		else
			sim_usage();
	}
	if (selftest)
		return sim_selftest(&o);
	memset(&t, 0, sizeof(t));
	start = sim_clock();
	if (one)
		(void)sim_run_seed(seed, &o, &t);
	else if (seconds > 0) {
		for (seed = first; sim_clock() - start < (double)seconds;
		     seed++)
			(void)sim_run_seed(seed, &o, &t);
	} else if (seeds > 0) {
		for (seed = first; seed < first + seeds; seed++)
			(void)sim_run_seed(seed, &o, &t);
	} else
		sim_usage();
	sim_summary(&t, sim_clock() - start);
	if (allow != UINT64_MAX && t.violated_seeds > allow) {
		printf("sim: %llu seeds with violations, more than the %llu "
		       "allowed\n",
		    (unsigned long long)t.violated_seeds,
		    (unsigned long long)allow);
		return 1;
	}
	return t.failed == 0 ? 0 : 1;
}

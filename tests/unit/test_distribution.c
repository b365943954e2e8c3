/*
 * test_distribution.c - balance, weights and movement of the selection
 * methods over 1,000,000 users.
 *
 * Rendezvous: peak/mean <= 1.05 over 50 equal backends; weighted shares
 * within 2 % (relative) of w / sum(w); adding or removing one backend
 * moves within 10 % of the ideal fraction.  Dovecot's ring is only held
 * to moving at most 1.5x the ideal fraction (its balance is known bad).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <math.h>

#include "select.h"
#include "xmalloc.h"

#define N_USERS 1000000u
#define N_BACKENDS 50u

static uint32_t *user_hashes;

/* splitmix64 over a fixed seed: reproducible user hashes. */
static int
setup(void **state)
{
	uint64_t s = 0x5eed, z;
	uint32_t i;

	user_hashes = xreallocarray(NULL, N_USERS, sizeof(uint32_t));
	for (i = 0; i < N_USERS; i++) {
		z = (s += 0x9E3779B97F4A7C15ull);
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		z ^= z >> 31;
		user_hashes[i] = (uint32_t)z != 0 ? (uint32_t)z : 1;
	}
	return 0;
}

static int
teardown(void **state)
{
	free(user_hashes);
	return 0;
}

/* Backend i: 10.0.<i/250>.<i%250+1>, id i. */
static void
make_entries(struct select_entry *e, size_t n, uint32_t weight)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].ip.family = IPADDR_FAMILY_V4;
		e[i].ip.a[0] = 10;
		e[i].ip.a[2] = (uint8_t)(i / 250);
		e[i].ip.a[3] = (uint8_t)(i % 250 + 1);
		e[i].weight = weight;
		e[i].id = (uint32_t)i;
	}
}

static void
pick_all(enum select_method method, const struct select_entry *e, size_t n,
    uint8_t *picks)
{
	struct select *sel = select_new(method);
	uint32_t i, id;

	select_build(sel, e, n);
	for (i = 0; i < N_USERS; i++) {
		assert_int_equal(select_pick(sel, user_hashes[i], &id), 0);
		picks[i] = (uint8_t)id;
	}
	select_free(&sel);
}

static void
test_rendezvous_balance(void **state)
{
	struct select_entry e[N_BACKENDS];
	uint32_t counts[N_BACKENDS] = {0}, peak = 0, i;
	uint8_t *picks = xmalloc(N_USERS);
	double ratio;

	make_entries(e, N_BACKENDS, 100);
	pick_all(SELECT_METHOD_RENDEZVOUS, e, N_BACKENDS, picks);
	for (i = 0; i < N_USERS; i++)
		counts[picks[i]]++;
	for (i = 0; i < N_BACKENDS; i++)
		peak = MAX_OF(peak, counts[i]);
	ratio = (double)peak / ((double)N_USERS / N_BACKENDS);
	print_message("rendezvous peak/mean %.4f\n", ratio);
	assert_true(ratio <= 1.05);
	free(picks);
}

static void
test_rendezvous_weights(void **state)
{
	static const uint32_t w[] = {50, 100, 200, 1, 1000};
	struct select_entry e[nitems(w)];
	uint32_t counts[nitems(w)] = {0}, sum = 0, i;
	uint8_t *picks = xmalloc(N_USERS);
	double want, got;
	size_t n;

	/* 50/100/200 as in Dovecot's docs, then a wider spread */
	for (n = 3; n <= nitems(w); n += 2) {
		make_entries(e, n, 0);
		memset(counts, 0, sizeof(counts));
		for (sum = 0, i = 0; i < n; i++) {
			e[i].weight = w[i];
			sum += w[i];
		}
		pick_all(SELECT_METHOD_RENDEZVOUS, e, n, picks);
		for (i = 0; i < N_USERS; i++)
			counts[picks[i]]++;
		for (i = 0; i < n; i++) {
			want = (double)w[i] / sum;
			got = (double)counts[i] / N_USERS;
			print_message("weight %u: share %.5f want %.5f\n", w[i],
			    got, want);
			/* weight 1 of 1351 is ~740 users: allow sampling */
			assert_true(fabs(got - want) <=
			    (w[i] < 10 ? 0.15 : 0.02) * want);
		}
	}
	free(picks);
}

/* Moves after adding (add=true) or removing one backend. */
static double
moved_fraction(enum select_method method, bool add, double *ideal_r)
{
	struct select_entry e[N_BACKENDS + 1];
	uint8_t *a = xmalloc(N_USERS), *b = xmalloc(N_USERS);
	uint32_t i, moved = 0, removed_id = 17;
	size_t n2;

	make_entries(e, N_BACKENDS + 1, 100);
	pick_all(method, e, N_BACKENDS, a);
	if (add) {
		n2 = N_BACKENDS + 1;
		*ideal_r = 1.0 / (N_BACKENDS + 1);
	} else {
		/* drop backend removed_id */
		e[removed_id] = e[N_BACKENDS - 1];
		n2 = N_BACKENDS - 1;
		*ideal_r = 1.0 / N_BACKENDS;
	}
	pick_all(method, e, n2, b);
	for (i = 0; i < N_USERS; i++) {
		if (a[i] == b[i])
			continue;
		moved++;
		/* only users of/to the changed backend move */
		if (add)
			assert_int_equal(b[i], N_BACKENDS);
		else
			assert_int_equal(a[i], removed_id);
	}
	free(a);
	free(b);
	return (double)moved / N_USERS;
}

static void
test_rendezvous_movement(void **state)
{
	double ideal, moved;

	moved = moved_fraction(SELECT_METHOD_RENDEZVOUS, true, &ideal);
	print_message("rendezvous add: moved %.5f ideal %.5f\n", moved, ideal);
	assert_true(fabs(moved - ideal) <= 0.10 * ideal);
	moved = moved_fraction(SELECT_METHOD_RENDEZVOUS, false, &ideal);
	print_message(
	    "rendezvous remove: moved %.5f ideal %.5f\n", moved, ideal);
	assert_true(fabs(moved - ideal) <= 0.10 * ideal);
}

static void
test_dovecot_movement(void **state)
{
	double ideal, moved;

	moved = moved_fraction(SELECT_METHOD_DOVECOT, true, &ideal);
	print_message("dovecot add: moved %.5f ideal %.5f\n", moved, ideal);
	assert_true(moved <= 1.5 * ideal);
	moved = moved_fraction(SELECT_METHOD_DOVECOT, false, &ideal);
	print_message("dovecot remove: moved %.5f ideal %.5f\n", moved, ideal);
	assert_true(moved <= 1.5 * ideal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rendezvous_balance),
	    cmocka_unit_test(test_rendezvous_weights),
	    cmocka_unit_test(test_rendezvous_movement),
	    cmocka_unit_test(test_dovecot_movement),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

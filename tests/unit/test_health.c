/*
 * test_health.c - the health verdict over virtual time: fall and rise
 * counts, the rapid re-check phase, the hold before up, early checks
 * after a failed login, warnings counting as up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "health.h"

#define T0 1700000000000ull

static const struct health_settings set = {
    .interval_ms = 10000,
    .timeout_ms = 3000,
    .recheck_ms = 1000,
    .hold_ms = 30000,
    .rise = 2,
    .fall = 3,
};

/* Runs the check that is due (at next_ms) with result; returns the
 * change and advances *now. */
static enum health_change
check(struct health *h, uint64_t *now, enum health_result result)
{
	*now = h->next_ms;
	assert_true(health_due(h, *now));
	health_started(h, *now);
	assert_false(health_due(h, *now + 100000));
	return health_finished(h, &set, *now + 5, result, 5, "text");
}

static void
test_fall_after_rapid_rechecks(void **state)
{
	struct health h;
	uint64_t now = T0;

	health_init(&h, now, 500);
	assert_true(h.up);
	assert_false(health_due(&h, now));
	assert_int_equal(check(&h, &now, HEALTH_RESULT_OK), HEALTH_SAME);
	assert_int_equal(h.next_ms, now + 5 + set.interval_ms);
	/* first failure: the rapid phase */
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_SAME);
	assert_int_equal(h.next_ms, now + 5 + set.recheck_ms);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_SAME);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_WENT_DOWN);
	assert_false(h.up);
	assert_int_equal(h.next_ms, now + 5 + set.interval_ms);
	assert_string_equal(h.text, "text");
	assert_int_equal(h.last, HEALTH_RESULT_FAIL);
}

static void
test_one_good_check_resets_the_fall(void **state)
{
	struct health h;
	uint64_t now = T0;

	health_init(&h, now, 0);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_SAME);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_SAME);
	/* a warning is up */
	assert_int_equal(check(&h, &now, HEALTH_RESULT_WARN), HEALTH_SAME);
	assert_int_equal(h.streak, 0);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_SAME);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_FAIL), HEALTH_SAME);
	assert_true(h.up);
}

static void
test_rise_waits_for_the_hold(void **state)
{
	struct health h;
	uint64_t now = T0, down_at;
	int i;

	health_init(&h, now, 0);
	for (i = 0; i < 3; i++)
		(void)check(&h, &now, HEALTH_RESULT_FAIL);
	assert_false(h.up);
	down_at = now + 5;
	/* two good checks, but the hold has 30 s to run */
	assert_int_equal(check(&h, &now, HEALTH_RESULT_OK), HEALTH_SAME);
	assert_int_equal(check(&h, &now, HEALTH_RESULT_OK), HEALTH_SAME);
	assert_false(h.up);
	/* the next check is not before the hold ends, nor later than an
	 * interval */
	assert_true(h.next_ms <= now + 5 + set.interval_ms);
	while (!h.up) {
		assert_true(now < down_at + set.hold_ms + set.interval_ms);
		(void)check(&h, &now, HEALTH_RESULT_OK);
	}
	assert_true(now + 5 >= down_at + set.hold_ms);
}

static void
test_rise_without_hold(void **state)
{
	struct health_settings s = set;
	struct health h;
	uint64_t now = T0;
	int i;

	s.hold_ms = 0;
	health_init(&h, now, 0);
	for (i = 0; i < 3; i++) {
		now = h.next_ms;
		health_started(&h, now);
		(void)health_finished(&h, &s, now, HEALTH_RESULT_FAIL, 1, "x");
	}
	assert_false(h.up);
	now = h.next_ms;
	health_started(&h, now);
	assert_int_equal(
	    health_finished(&h, &s, now, HEALTH_RESULT_OK, 1, "ok"),
	    HEALTH_SAME);
	/* the rapid phase on the way up too */
	assert_int_equal(h.next_ms, now + s.recheck_ms);
	now = h.next_ms;
	health_started(&h, now);
	assert_int_equal(
	    health_finished(&h, &s, now, HEALTH_RESULT_OK, 1, "ok"),
	    HEALTH_WENT_UP);
}

static void
test_recheck_soon(void **state)
{
	struct health h;
	uint64_t now = T0;

	health_init(&h, now, 0);
	(void)check(&h, &now, HEALTH_RESULT_OK);
	/* right after a check: not before recheck_ms has passed */
	health_recheck_soon(&h, &set, now + 10);
	assert_int_equal(h.next_ms, now + 5 + set.recheck_ms);
	/* later: at once */
	(void)check(&h, &now, HEALTH_RESULT_OK);
	health_recheck_soon(&h, &set, now + 5000);
	assert_int_equal(h.next_ms, now + 5000);
	/* never while a check runs */
	health_started(&h, now + 5000);
	health_recheck_soon(&h, &set, now + 6000);
	assert_int_equal(h.next_ms, UINT64_MAX);
}

static void
test_set_from_outside(void **state)
{
	struct health h;

	health_init(&h, T0, 0);
	health_set(&h, false, T0 + 1);
	assert_false(h.up);
	assert_int_equal(h.flipped_ms, T0 + 1);
	assert_string_equal(health_result_name(HEALTH_RESULT_WARN), "warning");
	assert_string_equal(health_result_name(HEALTH_RESULT_NONE), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fall_after_rapid_rechecks),
	    cmocka_unit_test(test_one_good_check_resets_the_fall),
	    cmocka_unit_test(test_rise_waits_for_the_hold),
	    cmocka_unit_test(test_rise_without_hold),
	    cmocka_unit_test(test_recheck_soon),
	    cmocka_unit_test(test_set_from_outside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

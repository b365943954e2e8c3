/*
 * test_users.c - the user directory: injected clock, expiry order,
 * monotonic timestamps, per-host counts, many users.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "users.h"

#define EXPIRE 900

/* Checks list order and that counts match the records. */
static void
check_invariants(struct users *users)
{
	struct user *u;
	uint32_t last = 0;
	size_t n = 0, per_host[8] = {0}, i;

	for (u = users_first(users); u != NULL; u = users_next(users, u)) {
		assert_true(u->timestamp >= last);
		last = u->timestamp;
		if (u->host < nitems(per_host))
			per_host[u->host]++;
		n++;
	}
	assert_int_equal(n, users_count(users));
	for (i = 0; i < nitems(per_host); i++)
		assert_int_equal(per_host[i], users_host_count(users, i));
}

static void
test_add_lookup_expire(void **state)
{
	struct users *users = users_new(EXPIRE);
	struct user *u;

	assert_null(users_lookup(users, 1, 1000));
	u = users_add(users, 1, 0, 1000, 1000);
	assert_non_null(u);
	assert_int_equal(u->timestamp, 1000);
	assert_non_null(users_add(users, 2, 1, 1010, 1010));
	assert_non_null(users_add(users, 3, 1, 1020, 1020));
	assert_ptr_equal(users_lookup(users, 1, 1020), u);
	/* expired when timestamp + expire <= now */
	assert_non_null(users_lookup(users, 1, 1000 + EXPIRE - 1));
	assert_null(users_lookup(users, 1, 1000 + EXPIRE));
	assert_int_equal(users_expire(users, 1000 + EXPIRE - 1), 0);
	assert_int_equal(users_expire(users, 1010 + EXPIRE), 2);
	assert_int_equal(users_count(users), 1);
	assert_null(users_lookup(users, 2, 1010));
	assert_non_null(users_lookup(users, 3, 1020));
	assert_int_equal(users_host_count(users, 0), 0);
	assert_int_equal(users_host_count(users, 1), 1);
	check_invariants(users);
	users_free(&users);
	assert_null(users);
}

static void
test_timestamps_clamped(void **state)
{
	struct users *users = users_new(EXPIRE);
	struct user *u;

	/* never beyond now */
	u = users_add(users, 5, 0, 5000, 2000);
	assert_int_equal(u->timestamp, 2000);
	users_refresh(users, u, 9999, 2100);
	assert_int_equal(u->timestamp, 2100);
	/* never backwards */
	users_refresh(users, u, 1500, 2200);
	assert_int_equal(u->timestamp, 2100);
	/* an already expired timestamp is refused */
	assert_null(users_add(users, 6, 0, 100, 2200));
	assert_null(users_lookup(users, 6, 2200));
	/* re-adding an existing hash moves it and refreshes */
	u = users_add(users, 5, 3, 2150, 2200);
	assert_int_equal(u->host, 3);
	assert_int_equal(u->timestamp, 2150);
	assert_int_equal(users_host_count(users, 0), 0);
	assert_int_equal(users_host_count(users, 3), 1);
	check_invariants(users);
	users_free(&users);
}

static void
test_refresh_reorders(void **state)
{
	struct users *users = users_new(EXPIRE);
	struct user *u;
	uint32_t i;

	for (i = 1; i <= 10; i++)
		assert_non_null(users_add(users, i, i % 4, 1000 + i, 1000 + i));
	/* refresh the oldest to the newest: it goes to the tail */
	users_refresh(users, users_lookup(users, 1, 1011), 1011, 1011);
	check_invariants(users);
	assert_int_equal(users_first(users)->hash, 2);
	/* a ring timestamp in the middle walks back from the tail */
	users_refresh(users, users_lookup(users, 2, 1011), 1005, 1011);
	check_invariants(users);
	assert_int_equal(users_first(users)->hash, 3);
	/* an old timestamp from a peer is inserted in order */
	u = users_add(users, 100, 0, 1004, 1011);
	assert_int_equal(u->timestamp, 1004);
	check_invariants(users);
	/* expiry order follows timestamps: 3, then 100 and 4 */
	assert_int_equal(users_expire(users, 1003 + EXPIRE), 1);
	assert_int_equal(users_expire(users, 1004 + EXPIRE), 2);
	assert_null(users_lookup(users, 100, 1000));
	assert_non_null(users_lookup(users, 2, 1000));
	check_invariants(users);
	users_free(&users);
}

static void
test_killing_not_expired(void **state)
{
	struct users *users = users_new(EXPIRE);
	struct user *u;

	u = users_add(users, 1, 0, 1000, 1000);
	u->flags |= USER_FLAG_KILLING;
	assert_non_null(users_add(users, 2, 0, 1000, 1000));
	assert_int_equal(users_expire(users, 1000 + EXPIRE), 1);
	assert_int_equal(users_count(users), 1);
	assert_int_equal(users_first(users)->hash, 1);
	u->flags = 0;
	assert_int_equal(users_expire(users, 1000 + EXPIRE), 1);
	assert_int_equal(users_count(users), 0);
	users_free(&users);
}

static void
test_remove_host(void **state)
{
	struct users *users = users_new(EXPIRE);
	uint32_t i;

	for (i = 1; i <= 1000; i++)
		assert_non_null(
		    users_add(users, i, i % 5, 1000 + i / 10, 1500));
	assert_int_equal(users_host_count(users, 2), 200);
	/* iteration by host sees exactly that host's users */
	{
		struct user *u = NULL;
		size_t n = 0;

		while ((u = users_next_on_host(users, u, 3)) != NULL) {
			assert_int_equal(u->host, 3);
			assert_int_equal(u->hash % 5, 3);
			n++;
		}
		assert_int_equal(n, 200);
	}
	assert_int_equal(users_remove_host(users, 2), 200);
	assert_int_equal(users_host_count(users, 2), 0);
	assert_int_equal(users_count(users), 800);
	for (i = 1; i <= 1000; i++) {
		if (i % 5 == 2)
			assert_null(users_lookup(users, i, 1500));
		else
			assert_non_null(users_lookup(users, i, 1500));
	}
	users_remove(users, users_lookup(users, 1, 1500));
	assert_null(users_lookup(users, 1, 1500));
	assert_int_equal(users_count(users), 799);
	check_invariants(users);
	users_free(&users);
}

static uint32_t
mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static void
test_many_users(void **state)
{
	const uint32_t n = 100000;
	struct users *users = users_new(EXPIRE);
	struct user *u;
	uint32_t i;

	for (i = 0; i < n; i++) {
		u = users_add(users, mix(i), i % 7, 1000 + i / 1000, 1100);
		assert_non_null(u);
	}
	assert_int_equal(users_count(users), n);
	for (i = 0; i < n; i++) {
		u = users_lookup(users, mix(i), 1100);
		assert_non_null(u);
		assert_int_equal(u->hash, mix(i));
		assert_int_equal(u->host, i % 7);
	}
	/* remove every other one; the rest must still be found */
	for (i = 0; i < n; i += 2)
		users_remove(users, users_lookup(users, mix(i), 1100));
	for (i = 0; i < n; i++) {
		u = users_lookup(users, mix(i), 1100);
		if (i % 2 == 0)
			assert_null(u);
		else
			assert_int_equal(u->hash, mix(i));
	}
	check_invariants(users);
	assert_true(users_memory_bytes(users) <= (size_t)n * 64);
	assert_int_equal(users_expire(users, 1100 + EXPIRE), n / 2);
	assert_int_equal(users_count(users), 0);
	users_free(&users);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_lookup_expire),
	    cmocka_unit_test(test_timestamps_clamped),
	    cmocka_unit_test(test_refresh_reorders),
	    cmocka_unit_test(test_killing_not_expired),
	    cmocka_unit_test(test_remove_host),
	    cmocka_unit_test(test_many_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

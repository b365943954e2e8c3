/*
 * test_registry.c - live sessions by user: add/remove bookkeeping,
 * growth, kicks by user, by backend and of everything, including kick
 * functions that remove the member they are called for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "registry.h"

struct fake_session {
	struct registry_member m;
	int kicked;
};

static struct registry *kick_reg;

static void
fake_kick(void *owner)
{
	struct fake_session *s = owner;

	s->kicked++;
	/* like a real session: it ends and leaves the registry at once */
	registry_remove(kick_reg, &s->m);
}

static struct ipaddr
ip_of(const char *s)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(s, &ip), 0);
	return ip;
}

static void
test_add_remove(void **state)
{
	struct registry *reg = registry_new(fake_kick);
	struct fake_session a = {0}, b = {0}, c = {0};
	struct ipaddr b1 = ip_of("10.0.0.1"), b2 = ip_of("10.0.0.2");

	(void)state;
	registry_add(reg, &a.m, 42, "", &b1, &a);
	registry_add(reg, &b.m, 42, "", &b1, &b);
	registry_add(reg, &c.m, 7, "archive", &b2, &c);
	assert_int_equal(registry_user_sessions(reg, 42), 2);
	assert_int_equal(registry_user_sessions(reg, 7), 1);
	assert_int_equal(registry_user_sessions(reg, 8), 0);
	assert_int_equal(registry_user_count(reg), 2);
	assert_int_equal(registry_session_count(reg), 3);
	registry_remove(reg, &a.m);
	registry_remove(reg, &a.m); /* twice is harmless */
	assert_int_equal(registry_user_sessions(reg, 42), 1);
	registry_remove(reg, &b.m);
	assert_int_equal(registry_user_count(reg), 1);
	registry_remove(reg, &c.m);
	assert_int_equal(registry_user_count(reg), 0);
	assert_int_equal(registry_session_count(reg), 0);
	registry_free(&reg);
	assert_null(reg);
}

static void
test_kicks(void **state)
{
	struct registry *reg = registry_new(fake_kick);
	struct fake_session s[6];
	struct ipaddr b1 = ip_of("10.0.0.1"), b2 = ip_of("10.0.0.2");
	size_t i;

	(void)state;
	memset(s, 0, sizeof(s));
	kick_reg = reg;
	/* user 1: two on b1, one on b2; user 2: one on b1; user 3: two b2 */
	registry_add(reg, &s[0].m, 1, "", &b1, &s[0]);
	registry_add(reg, &s[1].m, 1, "", &b1, &s[1]);
	registry_add(reg, &s[2].m, 1, "", &b2, &s[2]);
	registry_add(reg, &s[3].m, 2, "", &b1, &s[3]);
	registry_add(reg, &s[4].m, 3, "", &b2, &s[4]);
	registry_add(reg, &s[5].m, 3, "", &b2, &s[5]);

	/* a move to b2 kicks user 1's sessions everywhere else */
	assert_int_equal(registry_kick_user(reg, 1, &b2), 2);
	assert_int_equal(s[0].kicked + s[1].kicked, 2);
	assert_int_equal(s[2].kicked, 0);
	assert_int_equal(registry_user_sessions(reg, 1), 1);

	assert_int_equal(registry_kick_backend(reg, &b2), 3);
	assert_int_equal(s[2].kicked + s[4].kicked + s[5].kicked, 3);
	assert_int_equal(s[3].kicked, 0);
	assert_int_equal(registry_user_count(reg), 1);

	assert_int_equal(registry_kick_all(reg), 1);
	assert_int_equal(s[3].kicked, 1);
	assert_int_equal(registry_session_count(reg), 0);
	assert_int_equal(registry_kick_user(reg, 1, NULL), 0);
	for (i = 0; i < nitems(s); i++)
		assert_int_equal(s[i].kicked, 1);
	registry_free(&reg);
}

static void
count_user(
    uint32_t hash, const char *tag, const struct ipaddr *backend, void *context)
{
	size_t *n = context;

	(void)hash;
	(void)tag;
	(void)backend;
	(*n)++;
}

static void
test_many_users(void **state)
{
	enum { N = 5000 };
	struct registry *reg = registry_new(fake_kick);
	struct fake_session *s = calloc(N, sizeof(*s));
	struct ipaddr b1 = ip_of("10.0.0.1");
	size_t i, n = 0;

	(void)state;
	kick_reg = reg;
	for (i = 0; i < N; i++)
		registry_add(reg, &s[i].m, (uint32_t)(i / 2), "", &b1, &s[i]);
	assert_int_equal(registry_user_count(reg), N / 2);
	registry_foreach_user(reg, count_user, &n);
	assert_int_equal(n, N / 2);
	for (i = 0; i < N / 2; i++)
		assert_int_equal(registry_user_sessions(reg, (uint32_t)i), 2);
	for (i = 0; i < N; i += 2)
		registry_remove(reg, &s[i].m);
	assert_int_equal(registry_session_count(reg), N / 2);
	assert_int_equal(registry_kick_all(reg), N / 2);
	assert_int_equal(registry_user_count(reg), 0);
	registry_free(&reg);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_remove),
	    cmocka_unit_test(test_kicks),
	    cmocka_unit_test(test_many_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

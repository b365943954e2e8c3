/*
 * test_engine.c - interleavings of the engine that the simulator
 * (tests/sim) or fuzz_admin found, replayed step by step on an injected
 * clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "compat.h"

#include "engine.h"
#include "log.h"

#define T0 1700000000000ull
#define KICK_DELAY 1000
#define USER 4242

static const struct engine_settings settings = {
    .method = SELECT_METHOD_RENDEZVOUS,
    .user_expire_secs = 60,
    .kick_delay_ms = KICK_DELAY,
    .max_parallel_moves = 1,
};

static struct ipaddr
ip_of(const char *s)
{
	struct ipaddr ip;

	assert_int_equal(ipaddr_parse(s, &ip), 0);
	return ip;
}

/* Takes the queued effects; returns how many were of type, the last of
 * them in *eff_r. */
static size_t
effects_of(
    struct engine *e, enum engine_effect_type type, struct engine_effect *eff_r)
{
	struct engine_effect eff;
	size_t n = 0;

	while (engine_next_effect(e, &eff)) {
		if (eff.type != type)
			continue;
		n++;
		*eff_r = eff;
	}
	return n;
}

static void
admin(struct engine *e, uint64_t now, enum engine_admin_type type,
    const struct ipaddr *ip)
{
	struct engine_admin_op op;
	static int requester;

	memset(&op, 0, sizeof(op));
	op.type = type;
	op.ip = ip;
	op.have_vhosts = type == ENGINE_ADMIN_HOST_SET;
	op.vhosts = 100;
	op.user_hash = USER;
	op.who = "test";
	engine_admin(e, now, &op, &requester);
}

/*
 * Found by the simulator (seed 473): a safe flush of the only usable
 * backend kicked the user, who had no backend left, and forgot it with
 * no fence; a backend added at once took the user's next login while the
 * kicked session was still open.  Now the user is fenced: its logins wait
 * for the kicked session to end and the kick delay, and then go to the
 * new backend (not back to the one flushed).
 */
static void
test_reset_users_without_backend_fences(void **state)
{
	struct hosts_spec_entry spec;
	struct ipaddr a = ip_of("10.0.0.1"), b = ip_of("10.0.0.2");
	struct engine_session s1, s2;
	struct engine_effect eff;
	struct engine *e;
	uint64_t now = T0;

	memset(&spec, 0, sizeof(spec));
	spec.ip = a;
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	e = engine_new(&settings, now);
	engine_configure(e, now, &spec, 1);
	assert_int_equal(engine_route(e, now, &s1, USER, ""), ENGINE_ROUTE_OK);
	assert_true(ipaddr_equals(&s1.backend, &a));
	engine_session_alive(e, now, &s1);

	/* A goes down and is flushed safely: nowhere to move the user */
	now += 10;
	admin(e, now, ENGINE_ADMIN_HOST_DOWN, &a);
	admin(e, now, ENGINE_ADMIN_HOST_RESET_USERS, &a);
	assert_int_equal(effects_of(e, ENGINE_EFFECT_KICK, &eff), 1);
	assert_ptr_equal(eff.session, &s1);

	/* B is added; the user logs in again before the kick completed */
	now += 10;
	admin(e, now, ENGINE_ADMIN_HOST_SET, &b);
	assert_int_equal(
	    engine_route(e, now, &s2, USER, ""), ENGINE_ROUTE_WAIT);
	(void)effects_of(e, ENGINE_EFFECT_ROUTED, &eff);

	/* the kick completes; the login waits the kick delay more */
	now += 500;
	engine_session_end(e, now, &s1);
	engine_tick(e, now + KICK_DELAY - 1);
	assert_int_equal(effects_of(e, ENGINE_EFFECT_ROUTED, &eff), 0);
	assert_int_equal(s2.state, ENGINE_SESSION_WAITING);
	engine_tick(e, now + KICK_DELAY);
	assert_int_equal(effects_of(e, ENGINE_EFFECT_ROUTED, &eff), 1);
	assert_ptr_equal(eff.session, &s2);
	assert_true(ipaddr_equals(&s2.backend, &b));

	engine_session_end(e, now + KICK_DELAY, &s2);
	assert_int_equal(engine_session_count(e), 0);
	engine_free(&e);
}

/*
 * Found by fuzz_admin: the assignment a move made expired while its fence
 * stood (the loop stalled longer than director_user_expire, and the fence
 * keeps an assignment from being removed, not from expiring).  When the
 * fence ended, the user's next login was hashed anew, to another backend
 * than a session the user already had on the move's target.  Now the
 * move's assignment is made again when its fence ends.
 */
static void
test_move_outlives_user_expire(void **state)
{
	struct hosts_spec_entry spec[3];
	struct ipaddr hashed, other;
	struct engine_session s1, s2, s3;
	struct engine_effect eff;
	struct engine *e;
	uint64_t now = T0;

	memset(spec, 0, sizeof(spec));
	spec[0].ip = ip_of("10.0.0.1");
	spec[1].ip = ip_of("10.0.0.2");
	spec[2].ip = ip_of("10.0.0.3");
	strlcpy(spec[2].tag, "t1", sizeof(spec[2].tag));
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	memset(&s3, 0, sizeof(s3));
	e = engine_new(&settings, now);
	engine_configure(e, now, spec, 3);

	/* learn where the hash puts the user, then move it to the other */
	assert_int_equal(engine_route(e, now, &s2, USER, ""), ENGINE_ROUTE_OK);
	hashed = s2.backend;
	other = ipaddr_equals(&hashed, &spec[0].ip) ? spec[1].ip : spec[0].ip;
	engine_session_end(e, now, &s2);
	admin(e, now, ENGINE_ADMIN_USER_MOVE, &other);
	now += KICK_DELAY;
	engine_tick(e, now);
	assert_int_equal(effects_of(e, ENGINE_EFFECT_ADMIN_REPLY, &eff), 1);

	/* a session there, and one in another tag */
	assert_int_equal(engine_route(e, now, &s2, USER, ""), ENGINE_ROUTE_OK);
	assert_true(ipaddr_equals(&s2.backend, &other));
	engine_session_alive(e, now, &s2);
	assert_int_equal(
	    engine_route(e, now, &s1, USER, "t1"), ENGINE_ROUTE_OK);
	engine_session_alive(e, now, &s1);

	/* moved there again: the session of the other tag is kicked */
	admin(e, now, ENGINE_ADMIN_USER_MOVE, &other);
	assert_int_equal(effects_of(e, ENGINE_EFFECT_KICK, &eff), 1);
	assert_ptr_equal(eff.session, &s1);
	engine_session_end(e, now, &s1);

	/* the loop stalls for two minutes; then the user logs in again */
	now += 120 * 1000;
	engine_tick(e, now);
	assert_int_equal(effects_of(e, ENGINE_EFFECT_ADMIN_REPLY, &eff), 1);
	assert_int_equal(engine_route(e, now, &s3, USER, ""), ENGINE_ROUTE_OK);
	assert_true(ipaddr_equals(&s3.backend, &other));

	engine_session_end(e, now, &s2);
	engine_session_end(e, now, &s3);
	assert_int_equal(engine_session_count(e), 0);
	engine_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reset_users_without_backend_fences),
	    cmocka_unit_test(test_move_outlives_user_expire),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

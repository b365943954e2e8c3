/*
 * test_engine_core.c - the engine on a virtual clock: routing registers,
 * a live session keeps its user's assignment past the expiry, a move
 * waits for its kicked sessions and then the kick delay (also for a
 * login that retries right after its kick), a removal fences its tag,
 * admin replies come as effects, withdrawn effects of ended sessions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include "engine.h"
#include "hosts.h"
#include "users.h"

#define T0 1700000000000ull /* unix ms */
#define KICK_DELAY 2000
#define EXPIRE 10

struct world {
	struct engine *e;
	uint64_t now;
	struct ipaddr ip[3];
	/* the effects taken by drain() */
	struct engine_effect eff[64];
	size_t neff;
};

static void
world_init(struct world *w, unsigned int backends)
{
	struct engine_settings set = {
	    .method = SELECT_METHOD_RENDEZVOUS,
	    .user_expire_secs = EXPIRE,
	    .kick_delay_ms = KICK_DELAY,
	    .max_parallel_moves = 2,
	};
	struct hosts_spec_entry spec[3];
	char text[32];
	unsigned int i;

	memset(w, 0, sizeof(*w));
	memset(spec, 0, sizeof(spec));
	w->now = T0;
	w->e = engine_new(&set, w->now);
	for (i = 0; i < backends; i++) {
		snprintf(text, sizeof(text), "10.0.0.%u", i + 1);
		assert_int_equal(ipaddr_parse(text, &w->ip[i]), 0);
		spec[i].ip = w->ip[i];
	}
	engine_configure(w->e, w->now, spec, backends);
}

static void
world_free(struct world *w)
{
	engine_free(&w->e);
}

/* Takes every queued effect into w->eff. */
static void
drain(struct world *w)
{
	w->neff = 0;
	while (w->neff < nitems(w->eff) &&
	    engine_next_effect(w->e, &w->eff[w->neff]))
		w->neff++;
}

static size_t
count_effects(const struct world *w, enum engine_effect_type type,
    const struct engine_session *s)
{
	size_t i, n = 0;

	for (i = 0; i < w->neff; i++) {
		if (w->eff[i].type == type &&
		    (s == NULL || w->eff[i].session == s))
			n++;
	}
	return n;
}

static void
advance(struct world *w, uint64_t ms)
{
	w->now += ms;
	engine_tick(w->e, w->now);
}

/* The index of the backend a session was routed to. */
static int
backend_of(const struct world *w, const struct engine_session *s)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (ipaddr_equals(&w->ip[i], &s->backend))
			return i;
	}
	return -1;
}

static void
admin(struct world *w, enum engine_admin_type type, uint32_t user, int backend,
    void *requester)
{
	struct engine_admin_op op = {
	    .type = type,
	    .user_hash = user,
	    .ip = backend >= 0 ? &w->ip[backend] : NULL,
	    .who = "test",
	};

	engine_admin(w->e, w->now, &op, requester);
}

static void
test_route_registers_and_sticks(void **state)
{
	struct engine_session a = {0}, b = {0};
	struct world w;

	world_init(&w, 3);
	assert_int_equal(engine_route(w.e, w.now, &a, 42, ""), ENGINE_ROUTE_OK);
	assert_int_equal(a.state, ENGINE_SESSION_ROUTED);
	assert_int_equal(engine_user_sessions(w.e, 42), 1);
	engine_session_alive(w.e, w.now, &a);
	assert_int_equal(engine_route(w.e, w.now, &b, 42, ""), ENGINE_ROUTE_OK);
	assert_true(ipaddr_equals(&a.backend, &b.backend));
	assert_int_equal(engine_session_count(w.e), 2);
	engine_session_end(w.e, w.now, &a);
	engine_session_end(w.e, w.now, &b);
	assert_int_equal(engine_session_count(w.e), 0);
	assert_int_equal(a.state, ENGINE_SESSION_IDLE);
	/* unknown tag: no backend, nothing registered */
	assert_int_equal(
	    engine_route(w.e, w.now, &a, 42, "nosuch"), ENGINE_ROUTE_FAIL);
	assert_int_equal(engine_session_count(w.e), 0);
	world_free(&w);
}

/* Finds a user whom the full list sends to backend want. */
static uint32_t
user_for(struct world *w, int want)
{
	struct hosts *hosts = engine_hosts(w->e);
	uint32_t h;

	for (h = 1; h < 100000; h++) {
		struct host *host = hosts_select(hosts, "", h);

		if (host != NULL && ipaddr_equals(&host->ip, &w->ip[want]))
			return h;
	}
	fail();
	return 0;
}

static void
test_live_session_keeps_assignment_past_expiry(void **state)
{
	struct engine_session live = {0}, other = {0};
	struct engine_admin_op add = {.type = ENGINE_ADMIN_HOST_SET};
	struct world w;
	uint32_t user;
	int first, i;

	/* the user hashes to backend 2 of three, which is not there yet */
	world_init(&w, 3);
	user = user_for(&w, 2);
	world_free(&w);
	world_init(&w, 2);
	assert_int_equal(
	    engine_route(w.e, w.now, &live, user, ""), ENGINE_ROUTE_OK);
	engine_session_alive(w.e, w.now, &live);
	first = backend_of(&w, &live);
	assert_true(first == 0 || first == 1);
	{
		struct ipaddr ip3;

		assert_int_equal(ipaddr_parse("10.0.0.3", &ip3), 0);
		w.ip[2] = ip3;
		add.ip = &ip3;
		add.who = "test";
		engine_admin(w.e, w.now, &add, NULL);
	}
	/* three times the expiry, the session open all along */
	for (i = 0; i < 3 * EXPIRE; i++)
		advance(&w, 1000);
	assert_int_equal(
	    engine_route(w.e, w.now, &other, user, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_of(&w, &other), first);
	engine_session_end(w.e, w.now, &other);
	engine_session_end(w.e, w.now, &live);
	/* just before the expiry after the last close: still there */
	advance(&w, (EXPIRE - 1) * 1000);
	assert_int_equal(
	    engine_route(w.e, w.now, &other, user, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_of(&w, &other), first);
	engine_session_end(w.e, w.now, &other);
	/* after it: hashed afresh, to the new backend */
	advance(&w, EXPIRE * 1000 + 1000);
	assert_int_equal(
	    engine_route(w.e, w.now, &other, user, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_of(&w, &other), 2);
	engine_session_end(w.e, w.now, &other);
	world_free(&w);
}

static void
test_move_waits_for_kicked_sessions_then_delay(void **state)
{
	struct engine_session s1 = {0}, s2 = {0}, retry = {0};
	int requester, old, to;
	uint64_t ended;
	struct world w;

	world_init(&w, 3);
	assert_int_equal(engine_route(w.e, w.now, &s1, 7, ""), ENGINE_ROUTE_OK);
	engine_session_alive(w.e, w.now, &s1);
	/* s2 is a login still on its way to the old backend */
	assert_int_equal(engine_route(w.e, w.now, &s2, 7, ""), ENGINE_ROUTE_OK);
	old = backend_of(&w, &s1);
	to = (old + 1) % 3;
	admin(&w, ENGINE_ADMIN_USER_MOVE, 7, to, &requester);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_KICK, &s1), 1);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_KICK, &s2), 1);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ADMIN_REPLY, NULL), 0);
	assert_true(engine_user_moving(w.e, 7, ""));
	/* the kicked login retries at once: it must wait (hole 2) */
	engine_session_end(w.e, w.now, &s2);
	assert_int_equal(
	    engine_route(w.e, w.now, &retry, 7, ""), ENGINE_ROUTE_WAIT);
	/* s1 takes a while to end; the delay counts from then */
	advance(&w, 5000);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ROUTED, NULL), 0);
	engine_session_end(w.e, w.now, &s1);
	ended = w.now;
	assert_true(engine_next_deadline(w.e) <= ended + KICK_DELAY);
	advance(&w, KICK_DELAY - 1);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ROUTED, NULL), 0);
	advance(&w, 1);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ROUTED, &retry), 1);
	assert_int_equal(backend_of(&w, &retry), to);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ADMIN_REPLY, NULL), 1);
	assert_string_equal(w.eff[w.neff - 1].text, "OK");
	assert_false(engine_user_moving(w.e, 7, ""));
	engine_session_end(w.e, w.now, &retry);
	world_free(&w);
}

static void
test_move_to_current_backend_is_immediate(void **state)
{
	struct engine_session s = {0};
	int requester;
	struct world w;

	world_init(&w, 3);
	assert_int_equal(engine_route(w.e, w.now, &s, 9, ""), ENGINE_ROUTE_OK);
	admin(&w, ENGINE_ADMIN_USER_MOVE, 9, backend_of(&w, &s), &requester);
	drain(&w);
	assert_int_equal(w.neff, 1);
	assert_int_equal(w.eff[0].type, ENGINE_EFFECT_ADMIN_REPLY);
	assert_ptr_equal(w.eff[0].requester, &requester);
	assert_string_equal(w.eff[0].text, "OK");
	engine_session_end(w.e, w.now, &s);
	world_free(&w);
}

static void
test_removal_fences_the_tag(void **state)
{
	struct engine_session live = {0}, again = {0}, fresh = {0};
	int requester, old;
	struct world w;

	world_init(&w, 3);
	assert_int_equal(
	    engine_route(w.e, w.now, &live, 11, ""), ENGINE_ROUTE_OK);
	engine_session_alive(w.e, w.now, &live);
	old = backend_of(&w, &live);
	admin(&w, ENGINE_ADMIN_HOST_REMOVE, 0, old, &requester);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_KICK, &live), 1);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_SAVE_HOSTS, NULL), 1);
	assert_int_equal(engine_fences(w.e), 1);
	/* the user has no assignment now: its next login waits */
	assert_int_equal(
	    engine_route(w.e, w.now, &again, 11, ""), ENGINE_ROUTE_WAIT);
	/* and so does a user never seen before in the tag */
	assert_int_equal(
	    engine_route(w.e, w.now, &fresh, 12, ""), ENGINE_ROUTE_WAIT);
	/* a cancelled waiter leaves no trace */
	engine_session_end(w.e, w.now, &fresh);
	engine_session_end(w.e, w.now, &live);
	advance(&w, KICK_DELAY);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ROUTED, &again), 1);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ROUTED, &fresh), 0);
	assert_true(backend_of(&w, &again) != old);
	assert_int_equal(engine_fences(w.e), 0);
	engine_session_end(w.e, w.now, &again);
	world_free(&w);
}

static void
test_ended_session_effects_withdrawn(void **state)
{
	struct engine_session s = {0};
	int requester;
	struct world w;

	world_init(&w, 2);
	assert_int_equal(engine_route(w.e, w.now, &s, 5, ""), ENGINE_ROUTE_OK);
	admin(&w, ENGINE_ADMIN_USER_KICK, 5, -1, &requester);
	/* the session ends before its kick is executed */
	engine_session_end(w.e, w.now, &s);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_KICK, NULL), 0);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ADMIN_REPLY, NULL), 1);
	/* a requester that went away gets no reply */
	assert_int_equal(engine_route(w.e, w.now, &s, 5, ""), ENGINE_ROUTE_OK);
	admin(&w, ENGINE_ADMIN_USER_MOVE, 5, (backend_of(&w, &s) + 1) % 2,
	    &requester);
	engine_admin_forget(w.e, &requester);
	engine_session_end(w.e, w.now, &s);
	advance(&w, KICK_DELAY);
	drain(&w);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ADMIN_REPLY, NULL), 0);
	world_free(&w);
}

static void
test_safe_flush_moves_users_in_batches(void **state)
{
	struct engine_session s[6];
	struct engine_admin_op w0 = {
	    .type = ENGINE_ADMIN_HOST_UPDATE,
	    .have_vhosts = true,
	    .vhosts = 0,
	    .who = "test",
	};
	int requester, target = 0;
	size_t moved_users = 0, i;
	struct world w;

	world_init(&w, 2);
	memset(s, 0, sizeof(s));
	for (i = 0; i < nitems(s); i++) {
		assert_int_equal(
		    engine_route(w.e, w.now, &s[i], (uint32_t)(100 + i), ""),
		    ENGINE_ROUTE_OK);
		if (backend_of(&w, &s[i]) == 0)
			moved_users++;
	}
	assert_true(moved_users > 0);
	w0.ip = &w.ip[target];
	engine_admin(w.e, w.now, &w0, NULL);
	admin(&w, ENGINE_ADMIN_HOST_RESET_USERS, 0, target, &requester);
	drain(&w);
	/* at most max_parallel (2) moves at a time */
	assert_true(engine_moves(w.e) <= 2);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ADMIN_REPLY, NULL), 0);
	for (i = 0; i < nitems(s); i++)
		engine_session_end(w.e, w.now, &s[i]);
	for (i = 0; i < 10 && engine_moves(w.e) > 0; i++)
		advance(&w, KICK_DELAY);
	drain(&w);
	assert_int_equal(engine_moves(w.e), 0);
	assert_int_equal(count_effects(&w, ENGINE_EFFECT_ADMIN_REPLY, NULL), 1);
	assert_int_equal(hosts_user_count(engine_hosts(w.e),
			     hosts_lookup(engine_hosts(w.e), &w.ip[0])),
	    0);
	world_free(&w);
}

/* Users in the directory of the default tag. */
static size_t
directory_size(struct world *w)
{
	return users_count(
	    hosts_tag_users(hosts_tag_lookup(engine_hosts(w->e), "")));
}

static void
test_failed_login_leaves_no_lasting_assignment(void **state)
{
	struct engine_session a = {0}, b = {0};
	const uint64_t keep = (KICK_DELAY + 999) / 1000 * 1000 + 1000;
	struct world w;
	uint32_t user;

	world_init(&w, 3);
	/* a wrong password: routed, never alive, ended */
	assert_int_equal(
	    engine_route(w.e, w.now, &a, 300, ""), ENGINE_ROUTE_OK);
	engine_session_end(w.e, w.now, &a);
	assert_int_equal(directory_size(&w), 1);
	/* it still holds through the kick delay ... */
	advance(&w, KICK_DELAY);
	assert_int_equal(directory_size(&w), 1);
	/* ... and is gone soon after, not after EXPIRE */
	advance(&w, keep - KICK_DELAY);
	assert_int_equal(directory_size(&w), 0);

	/* two logins at once: one fails, the other succeeds: it lasts */
	assert_int_equal(
	    engine_route(w.e, w.now, &a, 301, ""), ENGINE_ROUTE_OK);
	assert_int_equal(
	    engine_route(w.e, w.now, &b, 301, ""), ENGINE_ROUTE_OK);
	engine_session_end(w.e, w.now, &a);
	engine_session_alive(w.e, w.now, &b);
	engine_session_end(w.e, w.now, &b);
	advance(&w, keep + 1000);
	assert_int_equal(directory_size(&w), 1);
	advance(&w, EXPIRE * 1000);
	assert_int_equal(directory_size(&w), 0);

	/* a user who logged in before keeps it after a failed login */
	user = 302;
	assert_int_equal(
	    engine_route(w.e, w.now, &a, user, ""), ENGINE_ROUTE_OK);
	engine_session_alive(w.e, w.now, &a);
	engine_session_end(w.e, w.now, &a);
	assert_int_equal(
	    engine_route(w.e, w.now, &b, user, ""), ENGINE_ROUTE_OK);
	engine_session_end(w.e, w.now, &b);
	advance(&w, keep + 1000);
	assert_int_equal(directory_size(&w), 1);
	world_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_registers_and_sticks),
	    cmocka_unit_test(test_live_session_keeps_assignment_past_expiry),
	    cmocka_unit_test(test_move_waits_for_kicked_sessions_then_delay),
	    cmocka_unit_test(test_move_to_current_backend_is_immediate),
	    cmocka_unit_test(test_removal_fences_the_tag),
	    cmocka_unit_test(test_ended_session_effects_withdrawn),
	    cmocka_unit_test(test_safe_flush_moves_users_in_batches),
	    cmocka_unit_test(test_failed_login_leaves_no_lasting_assignment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

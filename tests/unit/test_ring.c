/*
 * test_ring.c - the engine's ring with several engines on an in-memory
 * network (lines delivered at once, in order, on a shared virtual
 * clock): three directors handshake and sync; a user assigned on one is
 * known on all; an admin change answers only after it went around; a
 * move made on one director kicks the user's session on another and
 * routes it to the new backend only after the kick token came back and
 * the kick delay passed; a near-expiry takeover goes through a weak
 * round; a director whose clock jumped (it was stopped) leaves the ring,
 * routes nothing until it has rejoined, and takes the ring's user map.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hosts.h"
#include "ring.h"
#include "users.h"

#define T0 1700000000000ull
#define KICK_DELAY 1000
#define EXPIRE 600
#define NDIRS_MAX 4

/* director_user_expire of the engines net_init() makes, in seconds */
static uint32_t net_expire = EXPIRE;
#define PIPES_MAX 64

struct net;

struct pipe_end {
	struct net *net;
	int dir; /* engine index */
	struct ring_link *link;
	struct pipe_end *peer;
	bool open;
};

struct pipe {
	struct pipe_end a, b;
};

struct net {
	uint64_t now;
	int n;
	struct engine *e[NDIRS_MAX];
	bool up[NDIRS_MAX]; /* false: stopped (not called at all) */
	struct ring_addr addr[NDIRS_MAX];
	struct ipaddr backend[3];
	struct pipe pipes[PIPES_MAX];
	int npipes;
	/* connections closed while their engine was stopped: it sees the
	 * EOF when it runs again */
	struct pipe_end *pending[PIPES_MAX];
	int npending;
	/* effects other than ring ones, per engine */
	struct engine_effect eff[NDIRS_MAX][64];
	size_t neff[NDIRS_MAX];
};

static void
net_init(struct net *net, int n)
{
	struct engine_settings set = {
	    .method = SELECT_METHOD_RENDEZVOUS,
	    .user_expire_secs = net_expire,
	    .kick_delay_ms = KICK_DELAY,
	    .max_parallel_moves = 2,
	};
	struct hosts_spec_entry spec[3];
	struct ring_settings rs;
	char text[32];
	int i;

	memset(net, 0, sizeof(*net));
	memset(spec, 0, sizeof(spec));
	net->now = T0;
	net->n = n;
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "10.1.0.%d", i + 1);
		assert_int_equal(ipaddr_parse(text, &net->backend[i]), 0);
		spec[i].ip = net->backend[i];
	}
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "10.0.0.%d", i + 1);
		assert_int_equal(ipaddr_parse(text, &net->addr[i].ip), 0);
		net->addr[i].port = 9090;
	}
	for (i = 0; i < n; i++) {
		net->e[i] = engine_new(&set, net->now);
		net->up[i] = true;
		engine_configure(net->e[i], net->now, spec, 3);
		memset(&rs, 0, sizeof(rs));
		rs.self = net->addr[i];
		rs.servers = net->addr;
		rs.server_count = (size_t)n;
		rs.ping_idle_timeout_ms = 8000;
		rs.ping_max_timeout_ms = 20000;
		rs.request_timeout_ms = 30000;
		assert_int_equal(
		    engine_ring_start(net->e[i], net->now, &rs), 0);
	}
}

static void
net_free(struct net *net)
{
	int i;

	for (i = 0; i < net->n; i++)
		engine_free(&net->e[i]);
}

static int
net_find(const struct net *net, const struct ring_addr *a)
{
	int i;

	for (i = 0; i < net->n; i++) {
		if (ipaddr_equals(&net->addr[i].ip, &a->ip) &&
		    net->addr[i].port == a->port)
			return i;
	}
	return -1;
}

static void
end_close(struct pipe_end *pe, const char *why)
{
	struct net *net = pe->net;

	if (!pe->open)
		return;
	pe->open = false;
	if (!net->up[pe->dir]) {
		assert_true(net->npending < PIPES_MAX);
		net->pending[net->npending++] = pe;
		return;
	}
	engine_ring_closed(net->e[pe->dir], net->now, pe->link, why);
}

/* One pass over every engine: effects and output.  True if anything
 * happened. */
static bool
net_step(struct net *net)
{
	struct engine_effect eff;
	struct ring_link *l;
	struct pipe_end *pe;
	struct pipe *p;
	const char *data, *nl;
	bool busy = false;
	size_t len;
	int i, t;

	for (i = 0; i < net->npending; i++) {
		pe = net->pending[i];
		if (!net->up[pe->dir])
			continue;
		net->pending[i--] = net->pending[--net->npending];
		engine_ring_closed(
		    net->e[pe->dir], net->now, pe->link, "connection closed");
		busy = true;
	}
	for (i = 0; i < net->n; i++) {
		if (!net->up[i])
			continue;
		while (engine_next_effect(net->e[i], &eff)) {
			busy = true;
			if (eff.type == ENGINE_EFFECT_RING_CONNECT) {
				t = net_find(net, ring_link_target(eff.link));
				assert_true(t >= 0 && net->npipes < PIPES_MAX);
				p = &net->pipes[net->npipes++];
				memset(p, 0, sizeof(*p));
				p->a = (struct pipe_end){
				    net, i, eff.link, &p->b, true};
				ring_link_set_owner(eff.link, &p->a);
				if (!net->up[t]) {
					/* a stopped process still accepts
					 * in the kernel, then says nothing */
					p->b = (struct pipe_end){
					    net, t, NULL, &p->a, false};
					engine_ring_connected(
					    net->e[i], net->now, eff.link);
					continue;
				}
				p->b = (struct pipe_end){net, t,
				    engine_ring_accept(net->e[t], net->now,
					&net->addr[i].ip, &p->b),
				    &p->a, true};
				engine_ring_connected(
				    net->e[i], net->now, eff.link);
			} else if (eff.type == ENGINE_EFFECT_RING_CLOSE) {
				pe = ring_link_owner(eff.link);
				end_close(pe, NULL);
				end_close(pe->peer, "connection closed");
			} else if (net->neff[i] < 64)
				net->eff[i][net->neff[i]++] = eff;
		}
		while ((l = engine_ring_next_output(net->e[i])) != NULL) {
			busy = true;
			pe = ring_link_owner(l);
			data = ring_link_output(l, &len);
			char *copy = malloc(len + 1);

			memcpy(copy, data, len);
			copy[len] = '\0';
			ring_link_output_taken(l);
			if (getenv("RING_TRACE") != NULL)
				fprintf(stderr, "%d->%d: %s", i, pe->peer->dir,
				    copy);
			for (data = copy;
			     pe->peer->open && net->up[pe->peer->dir] &&
			     (nl = strchr(data, '\n')) != NULL;
			     data = nl + 1)
				engine_ring_input(net->e[pe->peer->dir],
				    net->now, pe->peer->link, data,
				    (size_t)(nl - data));
			free(copy);
			if (pe->open)
				engine_ring_drained(net->e[i], net->now, l);
		}
	}
	return busy;
}

static void
net_settle(struct net *net)
{
	int rounds = 0;

	while (net_step(net))
		assert_true(++rounds < 10000);
}

/* Advances the clock by ms in steps of 100 ms, ticking every engine
 * that is up. */
static void
net_run(struct net *net, uint64_t ms)
{
	uint64_t end = net->now + ms;
	int i;

	net_settle(net);
	while (net->now < end) {
		net->now += 100;
		for (i = 0; i < net->n; i++) {
			if (net->up[i])
				engine_tick(net->e[i], net->now);
		}
		net_settle(net);
	}
}

static bool
net_synced(const struct net *net, int i)
{
	struct ring_status st;

	engine_ring_status(net->e[i], &st);
	return st.synced && st.handshaked && !st.alone;
}

/* The backend index engine i has for user hash, or -1. */
static int
user_backend(const struct net *net, int i, uint32_t hash)
{
	struct hosts *hosts = engine_hosts(net->e[i]);
	struct host_tag *tag = hosts_tag_lookup(hosts, "");
	struct user *u = users_lookup(
	    hosts_tag_users(tag), hash, (uint32_t)(net->now / 1000));
	struct host *h;
	int b;

	if (u == NULL)
		return -1;
	h = hosts_lookup_id(hosts, u->host);
	for (b = 0; b < 3; b++) {
		if (ipaddr_equals(&h->ip, &net->backend[b]))
			return b;
	}
	return -1;
}

static int
backend_index(const struct net *net, const struct ipaddr *ip)
{
	int b;

	for (b = 0; b < 3; b++) {
		if (ipaddr_equals(ip, &net->backend[b]))
			return b;
	}
	return -1;
}

static size_t
take_effects(
    struct net *net, int i, enum engine_effect_type type, const void *who)
{
	size_t k, n = 0;

	for (k = 0; k < net->neff[i]; k++) {
		if (net->eff[i][k].type == type &&
		    (who == NULL || net->eff[i][k].session == who ||
			net->eff[i][k].requester == who))
			n++;
	}
	return n;
}

static void
clear_effects(struct net *net)
{
	memset(net->neff, 0, sizeof(net->neff));
}

/* -- tests ------------------------------------------------------------ */

/* A ring of three, synced, with user hash logged in through director
 * dir (session s, alive); returns the index of its backend. */
static int
net_start_user(
    struct net *net, int dir, struct engine_session *s, uint32_t hash)
{
	net_init(net, 3);
	net_run(net, 500);
	assert_int_equal(
	    engine_route(net->e[dir], net->now, s, hash, ""), ENGINE_ROUTE_OK);
	engine_session_alive(net->e[dir], net->now, s);
	net_settle(net);
	return backend_index(net, &s->backend);
}

static void
test_three_sync(void **state)
{
	struct net net;
	int i;

	net_init(&net, 3);
	net_run(&net, 500);
	for (i = 0; i < 3; i++)
		assert_true(net_synced(&net, i));
	net_free(&net);
}

static void
test_user_known_everywhere(void **state)
{
	struct engine_session s1 = {0}, s2 = {0};
	struct net net;
	int b, i;

	net_init(&net, 3);
	net_run(&net, 500);
	assert_int_equal(
	    engine_route(net.e[0], net.now, &s1, 4242, ""), ENGINE_ROUTE_OK);
	b = backend_index(&net, &s1.backend);
	/* announced as it is made, before the login (a peer whose backend
	 * list changes meanwhile must not hash the user elsewhere) */
	net_settle(&net);
	assert_int_equal(user_backend(&net, 1, 4242), b);
	engine_session_alive(net.e[0], net.now, &s1);
	net_settle(&net);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 4242), b);
	assert_int_equal(
	    engine_route(net.e[2], net.now, &s2, 4242, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_index(&net, &s2.backend), b);
	engine_session_end(net.e[0], net.now, &s1);
	engine_session_end(net.e[2], net.now, &s2);
	net_free(&net);
}

/* A failed login's assignment is forgotten by every director after a
 * short while, not after director_user_expire (a ring keeps #13's
 * hardening against failed logins filling the user directory). */
static void
test_failed_login_forgotten_everywhere(void **state)
{
	struct engine_session s1 = {0}, s2 = {0};
	struct net net;
	int b, i;

	net_init(&net, 3);
	net_run(&net, 500);
	assert_int_equal(
	    engine_route(net.e[1], net.now, &s1, 777, ""), ENGINE_ROUTE_OK);
	b = backend_index(&net, &s1.backend);
	/* the login takes long: the assignment stays announced meanwhile */
	net_run(&net, 120 * 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 777), b);
	assert_int_equal(
	    engine_route(net.e[2], net.now, &s2, 777, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_index(&net, &s2.backend), b);
	engine_session_end(net.e[2], net.now, &s2);
	/* it fails */
	engine_session_end(net.e[1], net.now, &s1);
	net_run(&net, 100 * 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 777), -1);
	net_free(&net);
}

static void
test_admin_answers_after_ring(void **state)
{
	struct engine_admin_op op = {.type = ENGINE_ADMIN_HOST_SET};
	struct ipaddr extra;
	int requester, i;
	struct net net;

	net_init(&net, 3);
	net_run(&net, 500);
	clear_effects(&net);
	assert_int_equal(ipaddr_parse("10.1.0.9", &extra), 0);
	op.ip = &extra;
	op.have_vhosts = true;
	op.vhosts = 5;
	op.who = "test";
	engine_admin(net.e[1], net.now, &op, &requester);
	/* nothing has travelled yet: no answer */
	assert_int_equal(
	    take_effects(&net, 1, ENGINE_EFFECT_ADMIN_REPLY, &requester), 0);
	(void)net_step(&net);
	assert_int_equal(
	    take_effects(&net, 1, ENGINE_EFFECT_ADMIN_REPLY, &requester), 0);
	net_settle(&net);
	assert_int_equal(
	    take_effects(&net, 1, ENGINE_EFFECT_ADMIN_REPLY, &requester), 1);
	for (i = 0; i < 3; i++)
		assert_non_null(hosts_lookup(engine_hosts(net.e[i]), &extra));
	net_free(&net);
}

static void
test_move_fences_across_ring(void **state)
{
	struct engine_session live = {0}, retry = {0}, other = {0};
	struct engine_admin_op op = {.type = ENGINE_ADMIN_USER_MOVE};
	int requester, old, to;
	struct net net;

	old = net_start_user(&net, 1, &live, 77);
	to = (old + 1) % 3;
	clear_effects(&net);
	op.ip = &net.backend[to];
	op.user_hash = 77;
	op.who = "test";
	engine_admin(net.e[0], net.now, &op, &requester);
	net_settle(&net);
	/* the session on director 1 is kicked; nobody answers yet */
	assert_int_equal(take_effects(&net, 1, ENGINE_EFFECT_KICK, &live), 1);
	assert_int_equal(
	    take_effects(&net, 0, ENGINE_EFFECT_ADMIN_REPLY, &requester), 0);
	/* a login on director 2 waits for the move */
	assert_int_equal(
	    engine_route(net.e[2], net.now, &other, 77, ""), ENGINE_ROUTE_WAIT);
	net_run(&net, 3000);
	assert_int_equal(
	    take_effects(&net, 0, ENGINE_EFFECT_ADMIN_REPLY, &requester), 0);
	assert_int_equal(
	    take_effects(&net, 2, ENGINE_EFFECT_ROUTED, &other), 0);
	/* the kicked session ends: token, everywhere, then the delay */
	engine_session_end(net.e[1], net.now, &live);
	net_run(&net, 500);
	assert_int_equal(
	    take_effects(&net, 2, ENGINE_EFFECT_ROUTED, &other), 0);
	net_run(&net, 1000);
	assert_int_equal(
	    take_effects(&net, 0, ENGINE_EFFECT_ADMIN_REPLY, &requester), 1);
	assert_int_equal(
	    take_effects(&net, 2, ENGINE_EFFECT_ROUTED, &other), 1);
	assert_int_equal(backend_index(&net, &other.backend), to);
	assert_int_equal(
	    engine_route(net.e[1], net.now, &retry, 77, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_index(&net, &retry.backend), to);
	engine_session_end(net.e[2], net.now, &other);
	engine_session_end(net.e[1], net.now, &retry);
	net_free(&net);
}

static void
test_frozen_director_rejoins(void **state)
{
	struct engine_admin_op op = {.type = ENGINE_ADMIN_USER_MOVE};
	struct engine_session stale = {0}, s = {0};
	int requester, old, to;
	struct net net;

	old = net_start_user(&net, 2, &stale, 99);
	to = (old + 1) % 3;
	/* director 2 stops; the others drop it and move the user */
	net.up[2] = false;
	net_run(&net, 12000);
	assert_true(net_synced(&net, 0) && net_synced(&net, 1));
	op.ip = &net.backend[to];
	op.user_hash = 99;
	op.who = "test";
	engine_admin(net.e[0], net.now, &op, &requester);
	net_run(&net, 2000);
	assert_int_equal(user_backend(&net, 1, 99), to);
	/* it resumes: its clock jumped, it routes nothing until it has
	 * rejoined, and then the ring's assignment wins and its stale
	 * session is kicked */
	net.up[2] = true;
	clear_effects(&net);
	assert_int_equal(
	    engine_route(net.e[2], net.now, &s, 99, ""), ENGINE_ROUTE_WAIT);
	net_run(&net, 3000);
	assert_int_equal(take_effects(&net, 2, ENGINE_EFFECT_KICK, &stale), 1);
	assert_int_equal(user_backend(&net, 2, 99), to);
	engine_session_end(net.e[2], net.now, &stale);
	net_run(&net, 2000);
	assert_int_equal(take_effects(&net, 2, ENGINE_EFFECT_ROUTED, &s), 1);
	assert_int_equal(backend_index(&net, &s.backend), to);
	assert_true(net_synced(&net, 2));
	engine_session_end(net.e[2], net.now, &s);
	net_free(&net);
}

/* Feeds a line to engine `to` as if it came over its link from `from`. */
static void
inject(struct net *net, int from, int to, const char *line)
{
	struct pipe_end *pe = NULL;
	int k;

	for (k = 0; k < net->npipes; k++) {
		pe = &net->pipes[k].a;
		if (pe->dir == from && pe->open && pe->peer->open &&
		    pe->peer->dir == to)
			break;
		pe = &net->pipes[k].b;
		if (pe->dir == from && pe->open && pe->peer->open &&
		    pe->peer->dir == to)
			break;
	}
	assert_true(k < net->npipes);
	engine_ring_input(
	    net->e[to], net->now, pe->peer->link, line, strlen(line));
}

static void
test_conflict_lower_ip_wins(void **state)
{
	struct engine_session s0 = {0};
	char line[128], ip[IPADDR_STR_MAX];
	int mine, other, winner, i;
	struct net net;

	mine = net_start_user(&net, 0, &s0, 555);
	other = mine == 0 ? 1 : 0;
	winner = mine < other ? mine : other; /* 10.1.0.1 < 10.1.0.2 */
	clear_effects(&net);
	/* director 1 claims another backend for the same user: a USER
	 * that was in flight while the ring disagreed */
	snprintf(line, sizeof(line), "USER\t555\t%s\t%u",
	    ipaddr_format(&net.backend[other], ip),
	    (unsigned int)(net.now / 1000));
	inject(&net, 1, 2, line);
	net_settle(&net);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 555), winner);
	/* the loser's session is kicked everywhere it exists */
	assert_int_equal(take_effects(&net, 0, ENGINE_EFFECT_KICK, &s0),
	    winner == mine ? 0 : 1);
	engine_session_end(net.e[0], net.now, &s0);
	net_free(&net);
}

/* Of two assignments the newer wins: a director cut off from the ring
 * comes back with the one a move replaced, and must not undo the move. */
static void
test_conflict_newer_wins(void **state)
{
	struct engine_session s0 = {0};
	char line[128], ip[IPADDR_STR_MAX];
	uint32_t made;
	int mine, other, i;
	struct net net;

	mine = net_start_user(&net, 0, &s0, 556);
	made = (uint32_t)(net.now / 1000);
	other = mine == 0 ? 1 : 0;
	net_run(&net, 3000);
	clear_effects(&net);
	/* an older assignment elsewhere: ours stays, nothing is kicked */
	snprintf(line, sizeof(line), "USER\t556\t%s\t%u",
	    ipaddr_format(&net.backend[other], ip), made - 5);
	inject(&net, 1, 2, line);
	net_run(&net, 500);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 556), mine);
	assert_int_equal(take_effects(&net, 0, ENGINE_EFFECT_KICK, &s0), 0);
	/* a newer one: it wins everywhere and our session is kicked */
	snprintf(line, sizeof(line), "USER\t556\t%s\t%u",
	    ipaddr_format(&net.backend[other], ip),
	    (unsigned int)(net.now / 1000));
	inject(&net, 1, 2, line);
	net_settle(&net);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 556), other);
	assert_int_equal(take_effects(&net, 0, ENGINE_EFFECT_KICK, &s0), 1);
	engine_session_end(net.e[0], net.now, &s0);
	net_free(&net);
}

static void
test_weak_takeover_near_expiry(void **state)
{
	struct engine_admin_op op = {.type = ENGINE_ADMIN_HOST_DOWN};
	struct engine_session s0 = {0}, s1 = {0};
	int requester, old, i;
	struct net net;

	old = net_start_user(&net, 0, &s0, 31337);
	engine_session_end(net.e[0], net.now, &s0);
	/* its backend goes down: the user keeps it until near expiry */
	op.ip = &net.backend[old];
	op.who = "test";
	engine_admin(net.e[2], net.now, &op, &requester);
	net_settle(&net);
	net_run(&net, (uint64_t)(EXPIRE - 20) * 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 31337), old);
	clear_effects(&net);
	/* a login now takes it over through a weak round */
	assert_int_equal(
	    engine_route(net.e[1], net.now, &s1, 31337, ""), ENGINE_ROUTE_WAIT);
	net_settle(&net);
	/* its USER-WEAK came back: it waits for a SYNC round as well */
	assert_int_equal(take_effects(&net, 1, ENGINE_EFFECT_ROUTED, &s1), 0);
	net_run(&net, 100);
	assert_int_equal(take_effects(&net, 1, ENGINE_EFFECT_ROUTED, &s1), 1);
	assert_int_not_equal(backend_index(&net, &s1.backend), old);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 31337),
		    backend_index(&net, &s1.backend));
	engine_session_end(net.e[1], net.now, &s1);
	net_free(&net);
}

/* One engine of a ring of two (10.0.0.1:9090, 10.0.0.2:9090), as
 * director self; addr_r gets both addresses.  No network: the caller
 * plays the peer. */
static struct engine *
pair_engine(struct ring_addr addr_r[2], int self)
{
	struct engine_settings set = {
	    .method = SELECT_METHOD_RENDEZVOUS,
	    .user_expire_secs = EXPIRE,
	    .kick_delay_ms = KICK_DELAY,
	    .max_parallel_moves = 2,
	};
	struct ring_settings rs;
	struct engine *e;
	int i;

	for (i = 0; i < 2; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		assert_int_equal(ipaddr_parse(ip, &addr_r[i].ip), 0);
		addr_r[i].port = 9090;
	}
	memset(&rs, 0, sizeof(rs));
	rs.self = addr_r[self];
	rs.servers = addr_r;
	rs.server_count = 2;
	rs.ping_idle_timeout_ms = 8000;
	rs.ping_max_timeout_ms = 20000;
	rs.request_timeout_ms = 30000;
	e = engine_new(&set, T0);
	assert_int_equal(engine_ring_start(e, T0, &rs), 0);
	return e;
}

/* Alone, a dial that fails at once (the daemon's bind() failing, say)
 * must not be retried at once: once per second at most, not in a loop. */
static void
test_alone_failed_dial_not_retried_at_once(void **state)
{
	struct ring_addr addr[2];
	struct engine_effect eff;
	struct engine *e = pair_engine(addr, 0);
	uint64_t now = T0;
	size_t dials = 0, round;
	for (round = 0; round < 300; round++) {
		dials = 0;
		while (engine_next_effect(e, &eff)) {
			if (eff.type != ENGINE_EFFECT_RING_CONNECT)
				continue;
			assert_true(++dials < 10);
			engine_ring_closed(e, now, eff.link, "cannot bind");
		}
		now += 100;
		engine_tick(e, now);
	}
	engine_free(&e);
}

/* A peer's host list in a handshake is bounded like ours: one longer
 * than HOSTS_MAX closes the link instead of growing memory. */
static void
test_handshake_host_list_bounded(void **state)
{
	struct ring_addr addr[2];
	struct engine_effect eff;
	struct engine *e = pair_engine(addr, 1);
	struct ring_link *l;
	char line[128];
	bool closed = false;
	size_t i, len;
	l = engine_ring_accept(e, T0, &addr[0].ip, &closed);
	engine_ring_input(e, T0, l, "VERSION\tdirector\t1\t9", 20);
	len = (size_t)snprintf(line, sizeof(line), "ME\t10.0.0.1\t9090\t%llu",
	    (unsigned long long)(T0 / 1000));
	engine_ring_input(e, T0, l, line, len);
	engine_ring_input(e, T0, l, "HOST-HAND-START\t1", 17);
	for (i = 0; i <= HOSTS_MAX && !closed; i++) {
		len = (size_t)snprintf(line, sizeof(line),
		    "HOST\t10.%zu.%zu.1\t100", i / 256, i % 256);
		engine_ring_input(e, T0, l, line, len);
		while (engine_next_effect(e, &eff)) {
			if (eff.type == ENGINE_EFFECT_RING_CLOSE &&
			    eff.link == l) {
				engine_ring_closed(e, T0, l, NULL);
				closed = true;
			} else if (eff.type == ENGINE_EFFECT_RING_CONNECT)
				engine_ring_closed(e, T0, eff.link, "refused");
		}
	}
	assert_true(closed);
	assert_true(i > HOSTS_MAX - 10);
	engine_free(&e);
}

/* A login for user 4242 on director 1 (other) waits while s, the
 * user's kicked session on director 0, stays open, and for the kick
 * delay after it ends; then it is routed. */
static void
login_waits_for(
    struct net *net, struct engine_session *s, struct engine_session *other)
{
	assert_int_equal(engine_route(net->e[1], net->now, other, 4242, ""),
	    ENGINE_ROUTE_WAIT);
	net_run(net, 3000);
	assert_int_equal(take_effects(net, 1, ENGINE_EFFECT_ROUTED, other), 0);
	engine_session_end(net->e[0], net->now, s);
	net_run(net, KICK_DELAY / 2);
	assert_int_equal(take_effects(net, 1, ENGINE_EFFECT_ROUTED, other), 0);
	net_run(net, KICK_DELAY);
	assert_int_equal(take_effects(net, 1, ENGINE_EFFECT_ROUTED, other), 1);
}

/* A backend removed on one director while another has just assigned a
 * user to it (its USER still on the way): the removal waits for a SYNC
 * round, so that user is moved through the ring too, and a login
 * elsewhere waits until its session on the removed backend has ended
 * and the kick delay has passed. */
static void
test_removal_sees_assignments_in_flight(void **state)
{
	struct engine_admin_op op = {.type = ENGINE_ADMIN_HOST_REMOVE};
	struct engine_session s = {0}, other = {0};
	struct net net;
	int requester, b;

	net_init(&net, 3);
	net_run(&net, 500);
	assert_int_equal(
	    engine_route(net.e[0], net.now, &s, 4242, ""), ENGINE_ROUTE_OK);
	engine_session_alive(net.e[0], net.now, &s);
	b = backend_index(&net, &s.backend);
	clear_effects(&net);
	/* director 2 has not heard of the user yet */
	assert_int_equal(user_backend(&net, 2, 4242), -1);
	op.ip = &net.backend[b];
	op.who = "test";
	engine_admin(net.e[2], net.now, &op, &requester);
	net_run(&net, 200);
	assert_int_equal(take_effects(&net, 0, ENGINE_EFFECT_KICK, &s), 1);
	login_waits_for(&net, &s, &other);
	assert_true(backend_index(&net, &other.backend) != b);
	/* the removal answers once HOST-REMOVE went round */
	net_run(&net, 1000);
	assert_int_equal(
	    take_effects(&net, 2, ENGINE_EFFECT_ADMIN_REPLY, &requester), 1);
	assert_null(hosts_lookup(engine_hosts(net.e[1]), &net.backend[b]));
	engine_session_end(net.e[1], net.now, &other);
	net_free(&net);
}

static void
admin_host(struct net *net, int i, enum engine_admin_type type, int b)
{
	struct engine_admin_op op = {.type = type};
	int requester;

	op.ip = &net->backend[b];
	op.who = "test";
	engine_admin(net->e[i], net->now, &op, &requester);
	net_run(net, 500);
}

/* A ring of three where user 4242 has a session s on director 0, on
 * backend 0, the only one up (1 and 2 are down). */
static void
session_on_backend0(struct net *net, struct engine_session *s)
{
	net_init(net, 3);
	net_run(net, 500);
	admin_host(net, 0, ENGINE_ADMIN_HOST_DOWN, 1);
	admin_host(net, 0, ENGINE_ADMIN_HOST_DOWN, 2);
	assert_int_equal(
	    engine_route(net->e[0], net->now, s, 4242, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_index(net, &s->backend), 0);
	engine_session_alive(net->e[0], net->now, s);
}

/* The only backend of its users is removed: they cannot be moved, so
 * every director forgets them; a director that had no session there
 * must still not route one of them to a backend set up afterwards
 * until the sessions at the others have ended and the kick delay has
 * passed (the removal's fence goes round the ring). */
static void
test_removal_fenced_across_ring(void **state)
{
	struct engine_session s = {0}, other = {0};
	struct net net;

	session_on_backend0(&net, &s);
	clear_effects(&net);
	admin_host(&net, 2, ENGINE_ADMIN_HOST_REMOVE, 0);
	assert_int_equal(take_effects(&net, 0, ENGINE_EFFECT_KICK, &s), 1);
	admin_host(&net, 1, ENGINE_ADMIN_HOST_UP, 1);
	login_waits_for(&net, &s, &other);
	assert_int_equal(backend_index(&net, &other.backend), 1);
	engine_session_end(net.e[1], net.now, &other);
	net_free(&net);
}

/* With a director_user_expire no longer than a provisional assignment's
 * life, a peer's copy of a user looks as old as a provisional one; a
 * logged-in session must still keep the user alive on every director
 * (its refreshes reach the ring), not only where it runs. */
static void
test_short_expire_session_keeps_user(void **state)
{
	struct engine_session s = {0}, other = {0};
	struct net net;
	char line[64];
	int b, i;

	net_expire = 10;
	net_init(&net, 3);
	net_expire = EXPIRE;
	net_run(&net, 500);
	assert_int_equal(
	    engine_route(net.e[0], net.now, &s, 5151, ""), ENGINE_ROUTE_OK);
	engine_session_alive(net.e[0], net.now, &s);
	b = backend_index(&net, &s.backend);
	net_run(&net, 3000);
	/* a peer's copy comes back (as after a handshake) */
	snprintf(line, sizeof(line), "USER\t5151\t10.1.0.%d\t%u", b + 1,
	    (unsigned int)(net.now / 1000));
	inject(&net, 1, 0, line);
	for (i = 0; i < 6; i++) {
		net_run(&net, 5 * 1000);
		assert_int_equal(user_backend(&net, 1, 5151), b);
		assert_int_equal(user_backend(&net, 2, 5151), b);
	}
	assert_int_equal(
	    engine_route(net.e[2], net.now, &other, 5151, ""), ENGINE_ROUTE_OK);
	assert_int_equal(backend_index(&net, &other.backend), b);
	engine_session_end(net.e[0], net.now, &s);
	engine_session_end(net.e[2], net.now, &other);
	net_free(&net);
}

/* Two directors move one user at once, to different backends: every
 * director ends with the same one (the move from the lower address
 * wins), and a login waits until the user's session elsewhere has
 * ended and the kick delay has passed. */
static void
test_concurrent_moves_agree(void **state)
{
	struct engine_admin_op op = {.type = ENGINE_ADMIN_USER_MOVE};
	struct engine_session s = {0}, other = {0};
	int requester[2], i;
	struct net net;

	session_on_backend0(&net, &s);
	admin_host(&net, 0, ENGINE_ADMIN_HOST_UP, 1);
	admin_host(&net, 0, ENGINE_ADMIN_HOST_UP, 2);
	clear_effects(&net);
	op.user_hash = 4242;
	op.who = "test";
	op.ip = &net.backend[2];
	engine_admin(net.e[2], net.now, &op, &requester[0]);
	op.ip = &net.backend[1];
	engine_admin(net.e[1], net.now, &op, &requester[1]);
	net_settle(&net);
	assert_int_equal(take_effects(&net, 0, ENGINE_EFFECT_KICK, &s), 1);
	login_waits_for(&net, &s, &other);
	assert_int_equal(backend_index(&net, &other.backend), 1);
	net_run(&net, 1000);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 4242), 1);
	engine_session_end(net.e[1], net.now, &other);
	net_free(&net);
}

/* A HOST-FLUSH right after a director assigned a user to the backend
 * (its USER still on the way): the USER arrives after the flush and
 * must not bring the user back anywhere. */
static void
test_flush_not_undone_by_users_in_flight(void **state)
{
	struct engine_admin_op op = {.type = ENGINE_ADMIN_HOST_FLUSH};
	struct engine_session s = {0};
	int requester, b, i;
	struct net net;

	net_init(&net, 3);
	net_run(&net, 500);
	net.now += 1000; /* a second of its own: not the flush's */
	assert_int_equal(
	    engine_route(net.e[0], net.now, &s, 4242, ""), ENGINE_ROUTE_OK);
	engine_session_alive(net.e[0], net.now, &s);
	engine_session_end(net.e[0], net.now, &s);
	b = backend_index(&net, &s.backend);
	op.ip = &net.backend[b];
	op.who = "test";
	engine_admin(net.e[2], net.now, &op, &requester);
	net_run(&net, 2000);
	for (i = 0; i < 3; i++)
		assert_int_equal(user_backend(&net, i, 4242), -1);
	net_free(&net);
}

static bool
unhealthy(const struct net *net, int i, int b)
{
	return hosts_lookup(engine_hosts(net->e[i]), &net->backend[b])
	    ->unhealthy;
}

/* Health verdicts are shared: the director whose checker found a
 * backend dead marks it down everywhere and only it marks it up again;
 * when it is not heard any more, another director's checker decides. */
static void
test_health_owned_by_one_director(void **state)
{
	struct net net;
	int i;

	net_init(&net, 3);
	net_run(&net, 3000);
	assert_int_equal(
	    engine_host_health(net.e[1], net.now, &net.backend[0], false, "t"),
	    0);
	net_run(&net, 500);
	for (i = 0; i < 3; i++)
		assert_true(unhealthy(&net, i, 0));
	/* another checker finds it up: it stays down */
	(void)engine_host_health(net.e[2], net.now, &net.backend[0], true, "t");
	net_run(&net, 500);
	for (i = 0; i < 3; i++)
		assert_true(unhealthy(&net, i, 0));
	/* its owner's checker does */
	(void)engine_host_health(net.e[1], net.now, &net.backend[0], true, "t");
	net_run(&net, 500);
	for (i = 0; i < 3; i++)
		assert_false(unhealthy(&net, i, 0));
	/* down again by director 1, which then stops for good: director
	 * 2's checker (up) decides once director 1 is not heard */
	(void)engine_host_health(
	    net.e[1], net.now, &net.backend[0], false, "t");
	net_run(&net, 500);
	assert_true(unhealthy(&net, 2, 0));
	net.up[1] = false;
	net_run(&net, 40 * 1000);
	assert_true(unhealthy(&net, 2, 0));
	net_run(&net, 60 * 1000);
	assert_false(unhealthy(&net, 0, 0));
	assert_false(unhealthy(&net, 2, 0));
	net_free(&net);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_three_sync),
	    cmocka_unit_test(test_user_known_everywhere),
	    cmocka_unit_test(test_failed_login_forgotten_everywhere),
	    cmocka_unit_test(test_admin_answers_after_ring),
	    cmocka_unit_test(test_move_fences_across_ring),
	    cmocka_unit_test(test_frozen_director_rejoins),
	    cmocka_unit_test(test_conflict_lower_ip_wins),
	    cmocka_unit_test(test_conflict_newer_wins),
	    cmocka_unit_test(test_weak_takeover_near_expiry),
	    cmocka_unit_test(test_alone_failed_dial_not_retried_at_once),
	    cmocka_unit_test(test_handshake_host_list_bounded),
	    cmocka_unit_test(test_removal_sees_assignments_in_flight),
	    cmocka_unit_test(test_removal_fenced_across_ring),
	    cmocka_unit_test(test_short_expire_session_keeps_user),
	    cmocka_unit_test(test_concurrent_moves_agree),
	    cmocka_unit_test(test_flush_not_undone_by_users_in_flight),
	    cmocka_unit_test(test_health_owned_by_one_director),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

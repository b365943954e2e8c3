/*
 * fuzz_ring.c - libFuzzer target for the ring's state machine: a director
 * in a ring of three gets the input, line by line, on a link accepted from
 * one of its peers (the first byte picks the peer, whether a second link
 * from the other peer carries every other line, and how much time passes
 * between lines); logins of a few users are routed and ended meanwhile.
 * Nothing a peer sends may crash the engine, leak, or leave a session in a
 * state the engine's invariants forbid; every effect names a live link or
 * session.  Control bits 2-3 give the backends' vhost count (0: the
 * default 100, else 1 to 3): every ring point is an MD5, and most inputs
 * need not build 200 of them.
 */
#include "compat.h"

#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "hoststate.h"
#include "log.h"
#include "ring.h"

#define FUZZ_USERS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_link {
	struct ring_link *link;
	bool open;
};

static struct fuzz_link links[8];
static size_t nlinks;

static void
fuzz_drain(struct engine *e, uint64_t now, struct engine_session *s)
{
	struct engine_effect eff;
	struct ring_link *l;
	size_t i, len;

	while (engine_next_effect(e, &eff)) {
		switch (eff.type) {
		case ENGINE_EFFECT_RING_CONNECT:
			/* nobody answers: the dial fails */
			if (nlinks < 8)
				links[nlinks++] =
				    (struct fuzz_link){eff.link, false};
			engine_ring_closed(e, now, eff.link, "refused");
			break;
		case ENGINE_EFFECT_RING_CLOSE:
		case ENGINE_EFFECT_RING_STARTTLS:
			for (i = 0; i < nlinks; i++) {
				if (links[i].link == eff.link && links[i].open)
					break;
			}
			if (i == nlinks)
				abort(); /* names a link that is gone */
			links[i].open = false;
			engine_ring_closed(e, now, eff.link, NULL);
			break;
		case ENGINE_EFFECT_KICK:
		case ENGINE_EFFECT_ROUTED:
		case ENGINE_EFFECT_FAILED:
			if (eff.session < s || eff.session >= s + FUZZ_USERS)
				abort();
			if (eff.type == ENGINE_EFFECT_KICK)
				engine_session_end(e, now, eff.session);
			break;
		default:
			break;
		}
	}
	while ((l = engine_ring_next_output(e)) != NULL) {
		(void)ring_link_output(l, &len);
		ring_link_output_taken(l);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_settings set = {
	    .method = SELECT_METHOD_DOVECOT,
	    .user_expire_secs = 60,
	    .kick_delay_ms = 1000,
	    .max_parallel_moves = 2,
	};
	struct engine_session s[FUZZ_USERS];
	struct hosts_spec_entry spec[2];
	struct hoststate_entry state[2];
	struct ring_addr addr[3];
	struct ring_settings rs;
	struct engine *e;
	uint64_t now = 1700000000000ull;
	const uint8_t *p, *end = data + size, *nl;
	struct ring_link *l[2];
	size_t i, n = 0;
	uint8_t ctl;

	if (size < 1)
		return 0;
	log_set_level(LOG_LEVEL_ERROR);
	ctl = data[0];
	memset(s, 0, sizeof(s));
	memset(spec, 0, sizeof(spec));
	memset(&rs, 0, sizeof(rs));
	nlinks = 0;
	(void)ipaddr_parse("10.1.0.1", &spec[0].ip);
	(void)ipaddr_parse("10.1.0.2", &spec[1].ip);
	for (i = 0; i < 3; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.0.0.%zu", i + 1);
		(void)ipaddr_parse(ip, &addr[i].ip);
		addr[i].port = 9090;
	}
	e = engine_new(&set, now);
	engine_configure(e, now, spec, 2);
	if (((ctl >> 2) & 3) != 0) {
		memset(state, 0, sizeof(state));
		for (i = 0; i < 2; i++) {
			state[i].ip = spec[i].ip;
			state[i].vhost_count = (ctl >> 2) & 3;
		}
		engine_load_state(e, now, state, 2);
	}
	rs.self = addr[1];
	rs.servers = addr;
	rs.server_count = 3;
	rs.ping_idle_timeout_ms = 6000;
	rs.ping_max_timeout_ms = 20000;
	rs.request_timeout_ms = 30000;
	rs.tls = (ctl & 0x10) != 0;
	if (engine_ring_start(e, now, &rs) != 0)
		abort();
	fuzz_drain(e, now, s);
	l[0] = engine_ring_accept(e, now, &addr[ctl & 1 ? 0 : 2].ip, NULL);
	links[nlinks++] = (struct fuzz_link){l[0], true};
	l[1] = engine_ring_accept(e, now, &addr[ctl & 1 ? 2 : 0].ip, NULL);
	links[nlinks++] = (struct fuzz_link){l[1], true};
	fuzz_drain(e, now, s);
	for (p = data + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		i = (ctl & 2) != 0 ? n % 2 : 0;
		if (links[i].open)
			engine_ring_input(
			    e, now, l[i], (const char *)p, (size_t)(nl - p));
		if (n % 3 == 0) {
			engine_route(e, now, &s[n % FUZZ_USERS],
			    (uint32_t)(n * 2654435761u), "");
			fuzz_drain(e, now, s);
			if (s[n % FUZZ_USERS].state == ENGINE_SESSION_ROUTED)
				engine_session_alive(
				    e, now, &s[n % FUZZ_USERS]);
		}
		now += (ctl >> 5) * 250;
		engine_tick(e, now);
		fuzz_drain(e, now, s);
		n++;
	}
	for (i = 0; i < FUZZ_USERS; i++)
		engine_session_end(e, now, &s[i]);
	fuzz_drain(e, now, s);
	for (i = 0; i < 2; i++) {
		if (links[i].open)
			engine_ring_closed(e, now, l[i], "end");
	}
	fuzz_drain(e, now, s);
	engine_free(&e);
	return 0;
}

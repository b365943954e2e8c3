/*
 * fuzz_admin.c - libFuzzer target for the daemon's side of the admin
 * protocol: the real command layer (src/daemon/admin_cmds.c) over a real
 * engine, with sessions of the engine driven by the same input.
 *
 * The seam: admin_cmds.c reaches its connection, the director and the
 * router only through nine functions (admin.h, director.h, router.h).
 * This file defines them, so the linker takes admin_cmds.o from the
 * library and leaves admin.o, director.o and router.o (the libevent
 * shell) out: a connection is a buffer, the clock is virtual and
 * router_run() executes the engine's effects here.
 *
 * The input is read as admin.c reads a socket: LF-terminated lines, a CR
 * before the LF dropped, NUL bytes kept; the first line of a connection
 * must be the VERSION handshake, a command answered ADMIN_CMD_CLOSE ends
 * it (the next line starts a new one).  Two connections take turns: a
 * line goes to the first that is not waiting for a move or flush; lines
 * arriving while both wait are dropped.  A line starting with '@' is not
 * sent to a connection but drives the engine, its next bytes read raw:
 *   @ op session user tag   op % 6: route, alive, end, end every kicked
 *                            session, advance the clock by
 *                            (session << 8 | user) * 10 ms and tick, tick
 *                            at engine_next_deadline()
 * The last input byte picks the selection method, the kick delay and
 * the configured backends' vhost count: 1 to 7, loaded as a state file
 * would be, or (one input in eight) the default HOST_VHOST_COUNT_DEFAULT.
 * Few vhosts keep the ring cheap to build (each point is an MD5), so that
 * the fuzzer spends its time in the admin commands, not in MD5.
 *
 * Checked after every line: the engine's session counts (total and per
 * user) match the sessions in state ROUTED or ALIVE; no user has live
 * sessions on two backends in one tag (unless an unsafe HOST-FLUSH ran);
 * hosts_count() <= HOSTS_MAX.  Every effect names a session in the state
 * it implies; every ADMIN_REPLY is non-empty, NUL-terminated and goes to
 * a connection with a command in progress; a command that returned DONE wrote a
 * reply ending in LF, one that returned WAIT or CLOSE wrote nothing.  At
 * the end every session ends and the engine is freed (LeakSanitizer).
 */
#include "compat.h"

#include <stdio.h>

#include "admin.h"
#include "admin_cmds.h"
#include "adminwire.h"
#include "buf.h"
#include "conf.h"
#include "director.h"
#include "engine.h"
#include "hosts.h"
#include "hoststate.h"
#include "log.h"
#include "router.h"
#include "userhash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONNS 2
#define FUZZ_SESSIONS 16
#define FUZZ_USERS 6
#define FUZZ_SERVERS 3
/* A unix time in ms, so expiry times do not wrap. */
#define FUZZ_START_MS 1700000000000ULL
#define FUZZ_TICK_MS 10
#define FUZZ_OUTPUT_MAX (4 * 1024 * 1024)
#define FUZZ_FIELDS_MAX 8
/* Mode bits 2-4 are the configured backends' vhost count minus one, but
 * this value keeps HOST_VHOST_COUNT_DEFAULT. */
#define FUZZ_MODE_VHOSTS_DEFAULT 7

struct admin_conn {
	struct buf out;
	void *job;
	bool handshaked;
	bool waiting;
	bool gone; /* closed: no reply may reach it */
};

struct fuzz_session {
	struct engine_session es;
	uint32_t user;
	const char *tag;
	bool kicked;
};

static struct {
	struct director d;
	struct conf conf;
	struct hosts_spec_entry servers[FUZZ_SERVERS];
	struct admin_conn conns[FUZZ_CONNS];
	struct fuzz_session sess[FUZZ_SESSIONS];
	uint64_t now;
	bool unsafe; /* an unsafe flush ran */
} fz;

static const char *const fuzz_tags[] = {"", "t1", "none"};

/* -- the nine functions admin_cmds.c needs ------------------------------- */

void
admin_conn_write(struct admin_conn *conn, const void *data, size_t len)
{
	if (conn->gone || buf_append(&conn->out, data, len) == -1)
		abort();
}

void
admin_conn_resume(struct admin_conn *conn)
{
	if (!conn->waiting)
		abort();
	conn->waiting = false;
}

void *
admin_conn_job(const struct admin_conn *conn)
{
	return conn->job;
}

void
admin_conn_set_job(struct admin_conn *conn, void *job)
{
	conn->job = job;
}

const char *
admin_conn_peer(const struct admin_conn *conn)
{
	return "fuzz";
}

struct director *
admin_conn_director(const struct admin_conn *conn)
{
	return &fz.d;
}

int
director_user_hash(const struct director *d, const char *username,
    uint32_t *hash_r, const char **error_r)
{
	return userhash_compute(d->userhash, username, "*", hash_r, error_r);
}

uint64_t
router_now_ms(void)
{
	return fz.now;
}

/* Executes the engine's effects as the router would, checking each. */
void
router_run(struct router *r)
{
	struct engine_effect eff;
	struct fuzz_session *s;
	struct admin_conn *conn;

	while (engine_next_effect(fz.d.engine, &eff)) {
		s = eff.session != NULL ? eff.session->owner : NULL;
		switch (eff.type) {
		case ENGINE_EFFECT_ROUTED:
			if (s == NULL || s->es.state != ENGINE_SESSION_ROUTED)
				abort();
			break;
		case ENGINE_EFFECT_FAILED:
			if (s == NULL || s->es.state != ENGINE_SESSION_IDLE ||
			    eff.text[0] == '\0')
				abort();
			break;
		case ENGINE_EFFECT_KICK:
			if (s == NULL || s->es.state == ENGINE_SESSION_IDLE)
				abort();
			s->kicked = true;
			break;
		case ENGINE_EFFECT_SAVE_HOSTS:
			break;
		case ENGINE_EFFECT_ADMIN_REPLY:
			conn = eff.requester;
			if (conn < fz.conns || conn >= fz.conns + FUZZ_CONNS ||
			    conn->gone || conn->job == NULL ||
			    eff.text[0] == '\0' ||
			    memchr(eff.text, '\0', sizeof(eff.text)) == NULL)
				abort();
			admin_cmds_reply(conn, eff.text);
			break;
		case ENGINE_EFFECT_RING_CONNECT:
		case ENGINE_EFFECT_RING_CLOSE:
		case ENGINE_EFFECT_RING_STARTTLS:
			abort(); /* no ring here */
		}
	}
}

/* -- invariants ------------------------------------------------------------ */

static bool
fuzz_live(const struct fuzz_session *s)
{
	return s->es.state == ENGINE_SESSION_ROUTED ||
	    s->es.state == ENGINE_SESSION_ALIVE;
}

static void
fuzz_check(void)
{
	const struct fuzz_session *s, *t;
	size_t i, j, total = 0, per_user[FUZZ_USERS + 1] = {0};

	for (i = 0; i < FUZZ_SESSIONS; i++) {
		s = &fz.sess[i];
		if (!fuzz_live(s))
			continue;
		total++;
		per_user[s->user]++;
		for (j = 0; j < i && !fz.unsafe; j++) {
			t = &fz.sess[j];
			if (fuzz_live(t) && t->user == s->user &&
			    strcmp(t->tag, s->tag) == 0 &&
			    !ipaddr_equals(&t->es.backend, &s->es.backend))
				abort();
		}
	}
	if (engine_session_count(fz.d.engine) != total)
		abort();
	for (i = 1; i <= FUZZ_USERS; i++)
		if (engine_user_sessions(fz.d.engine, (uint32_t)i) !=
		    per_user[i])
			abort();
	if (hosts_count(engine_hosts(fz.d.engine)) > HOSTS_MAX)
		abort();
}

/* -- input ----------------------------------------------------------------- */

static void
fuzz_tick(void)
{
	engine_tick(fz.d.engine, fz.now);
	router_run(NULL);
}

/* One '@' line: p[0..len) after the '@'. */
static void
fuzz_engine_op(const uint8_t *p, size_t len)
{
	uint8_t b[4] = {0};
	struct fuzz_session *s;
	uint64_t deadline;
	size_t i;

	memcpy(b, p, MIN_OF(len, sizeof(b)));
	s = &fz.sess[b[1] % FUZZ_SESSIONS];
	switch (b[0] % 6) {
	case 0:
		if (s->es.state != ENGINE_SESSION_IDLE)
			break;
		s->user = 1 + b[2] % FUZZ_USERS;
		s->tag = fuzz_tags[b[3] % nitems(fuzz_tags)];
		s->kicked = false;
		switch (engine_route(
		    fz.d.engine, fz.now, &s->es, s->user, s->tag)) {
		case ENGINE_ROUTE_OK:
			if (s->es.state != ENGINE_SESSION_ROUTED)
				abort();
			break;
		case ENGINE_ROUTE_WAIT:
			if (s->es.state != ENGINE_SESSION_WAITING)
				abort();
			break;
		case ENGINE_ROUTE_FAIL:
			if (s->es.state != ENGINE_SESSION_IDLE)
				abort();
			break;
		}
		break;
	case 1:
		if (s->es.state == ENGINE_SESSION_ROUTED)
			engine_session_alive(fz.d.engine, fz.now, &s->es);
		break;
	case 2:
		engine_session_end(fz.d.engine, fz.now, &s->es);
		break;
	case 3:
		for (i = 0; i < FUZZ_SESSIONS; i++) {
			if (fz.sess[i].kicked) {
				fz.sess[i].kicked = false;
				engine_session_end(
				    fz.d.engine, fz.now, &fz.sess[i].es);
			}
		}
		break;
	case 4:
		fz.now += ((uint64_t)b[1] << 8 | b[2]) * FUZZ_TICK_MS;
		fuzz_tick();
		break;
	case 5:
		deadline = engine_next_deadline(fz.d.engine);
		if (deadline > fz.now && deadline != UINT64_MAX)
			fz.now = deadline;
		fuzz_tick();
		break;
	}
	router_run(NULL);
}

static void
fuzz_conn_close(struct admin_conn *conn)
{
	admin_cmds_conn_gone(conn);
	buf_deinit(&conn->out);
	memset(conn, 0, sizeof(*conn));
	buf_init(&conn->out, FUZZ_OUTPUT_MAX);
}

/* Whether line names the unsafe HOST-FLUSH (after unescaping). */
static bool
fuzz_is_flush(const char *line)
{
	char *copy = strdup(line), *f[FUZZ_FIELDS_MAX];
	size_t n;
	bool flush;

	flush = adminwire_split(copy, f, nitems(f), &n) == 0 &&
	    strcmp(f[0], "HOST-FLUSH") == 0;
	free(copy);
	return flush;
}

/* One admin line, NUL-terminated in line[0..len] (NUL bytes inside). */
static void
fuzz_admin_line(char *line, size_t len)
{
	struct admin_conn *conn = NULL;
	size_t i, before;

	for (i = 0; i < FUZZ_CONNS && conn == NULL; i++)
		if (!fz.conns[i].waiting)
			conn = &fz.conns[i];
	if (conn == NULL)
		return;
	if (!conn->handshaked) {
		if (adminwire_handshake_ok(line))
			conn->handshaked = true;
		else
			fuzz_conn_close(conn);
		return;
	}
	if (fuzz_is_flush(line))
		fz.unsafe = true;
	before = conn->out.len;
	switch (admin_cmds_run(conn, line, len)) {
	case ADMIN_CMD_DONE:
		if (conn->out.len == before ||
		    conn->out.data[conn->out.len - 1] != '\n' ||
		    conn->job != NULL)
			abort();
		break;
	case ADMIN_CMD_WAIT:
		if (conn->out.len != before || conn->job == NULL)
			abort();
		conn->waiting = true;
		break;
	case ADMIN_CMD_CLOSE:
		if (conn->out.len != before)
			abort();
		fuzz_conn_close(conn);
		break;
	}
	if (conn->out.len > 0 &&
	    memchr(conn->out.data, '\0', conn->out.len) != NULL)
		abort();
	buf_consume(&conn->out, conn->out.len);
}

static void
fuzz_setup(uint8_t mode)
{
	static struct userhash_template *tmpl;
	struct engine_settings set = {
	    .method = (mode & 1) != 0 ? SELECT_METHOD_RENDEZVOUS
				      : SELECT_METHOD_DOVECOT,
	    .user_expire_secs = 60,
	    .kick_delay_ms = (mode & 2) != 0 ? 0 : 2000,
	    .max_parallel_moves = 2,
	};
	struct hoststate_entry state[FUZZ_SERVERS];
	unsigned int vhosts = (mode >> 2) & 7;
	const char *err;
	size_t i;

	if (tmpl == NULL) {
		tmpl = userhash_template_new(USERHASH_DEFAULT_TEMPLATE, &err);
		log_set_level(LOG_LEVEL_ERROR);
	}
	memset(&fz, 0, sizeof(fz));
	for (i = 0; i < FUZZ_SERVERS; i++) {
		char ip[16];

		snprintf(ip, sizeof(ip), "10.0.0.%zu", i + 1);
		if (ipaddr_parse(ip, &fz.servers[i].ip) == -1)
			abort();
	}
	strlcpy(fz.servers[2].tag, "t1", sizeof(fz.servers[2].tag));
	fz.conf.mail_server_entries = fz.servers;
	fz.conf.mail_server_count = FUZZ_SERVERS;
	fz.now = FUZZ_START_MS;
	fz.d.conf = &fz.conf;
	fz.d.userhash = tmpl;
	fz.d.engine = engine_new(&set, fz.now);
	engine_configure(fz.d.engine, fz.now, fz.servers, FUZZ_SERVERS);
	if (vhosts != FUZZ_MODE_VHOSTS_DEFAULT) {
		memset(state, 0, sizeof(state));
		for (i = 0; i < FUZZ_SERVERS; i++) {
			state[i].ip = fz.servers[i].ip;
			strlcpy(state[i].tag, fz.servers[i].tag,
			    sizeof(state[i].tag));
			state[i].vhost_count = vhosts + 1;
		}
		engine_load_state(fz.d.engine, fz.now, state, FUZZ_SERVERS);
	}
	router_run(NULL);
	for (i = 0; i < FUZZ_CONNS; i++)
		buf_init(&fz.conns[i].out, FUZZ_OUTPUT_MAX);
	for (i = 0; i < FUZZ_SESSIONS; i++)
		fz.sess[i].es.owner = &fz.sess[i];
}

static void
fuzz_teardown(void)
{
	size_t i;

	for (i = 0; i < FUZZ_CONNS; i++) {
		admin_cmds_conn_gone(&fz.conns[i]);
		fz.conns[i].gone = true;
		buf_deinit(&fz.conns[i].out);
	}
	for (i = 0; i < FUZZ_SESSIONS; i++)
		engine_session_end(fz.d.engine, fz.now, &fz.sess[i].es);
	router_run(NULL);
	fuzz_check();
	engine_shutdown(fz.d.engine, fz.now);
	router_run(NULL);
	if (engine_session_count(fz.d.engine) != 0)
		abort();
	engine_free(&fz.d.engine);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *lf;
	size_t len;
	char *line;

	if (size == 0)
		return 0;
	fuzz_setup(data[size - 1]);
	while (p < end && (lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		len = (size_t)(lf - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (len > 0 && p[0] == '@') {
			fuzz_engine_op(p + 1, len - 1);
		} else {
			/* an exact-size copy, as evbuffer_readln gives */
			line = malloc(len + 1);
			memcpy(line, p, len);
			line[len] = '\0';
			fuzz_admin_line(line, len);
			free(line);
		}
		fuzz_check();
		p = lf + 1;
	}
	fuzz_teardown();
	return 0;
}

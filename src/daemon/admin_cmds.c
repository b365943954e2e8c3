/*
 * admin_cmds.c - the admin commands (see admin_cmds.h and Dovecot 2.3's
 * doveadm director; reply formats are Dovecot's, field for field).
 *
 * Invalid arguments and unknown commands are logged and close the
 * connection without a reply, as Dovecot's director does.  Every change
 * is logged at info with who asked for it, and changes to the backend
 * list are saved to the state file (director_hosts_changed()).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "admin_cmds.h"
#include "checker.h"
#include "adminwire.h"
#include "buf.h"
#include "director.h"
#include "hosts.h"
#include "log.h"
#include "engine.h"
#include "ring.h"
#include "router.h"
#include "strnum.h"
#include "users.h"
#include "xmalloc.h"

/* Most fields of a command line (the longest command has 4). */
#define ADMIN_FIELDS_MAX 8
/* Reply text of one line, and the chunk a list reply is flushed at. */
#define ADMIN_REPLY_MAX 4096
#define ADMIN_LIST_CHUNK (64 * 1024)
/* Dovecot's default ring port, for DIRECTOR-LIST without a ring listener */
#define ADMIN_RING_PORT_DEFAULT 9090
/* Room for one argument in a log line, escaped by log_sanitize(). */
#define ADMIN_LOG_ARG_MAX 256

struct admin_cmd {
	const char *name;
	unsigned int min_args, max_args;
	enum admin_cmd_result (*run)(
	    struct admin_conn *conn, char **args, size_t nargs);
};

/* -- replies ------------------------------------------------------------- */

static void
admin_reply(struct admin_conn *conn, const char *text)
{
	admin_conn_write(conn, text, strlen(text));
	admin_conn_write(conn, "\n", 1);
}

/* Appends the fields of one list row (escaped, TAB-separated, LF) to out
 * and flushes out to the connection when it grows large. */
static void
admin_row(struct admin_conn *conn, struct buf *out, const char *const *fields,
    size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (i > 0)
			(void)buf_append(out, "\t", 1);
		(void)adminwire_escape(out, fields[i]);
	}
	(void)buf_append(out, "\n", 1);
	if (out->len >= ADMIN_LIST_CHUNK) {
		admin_conn_write(conn, out->data, out->len);
		buf_consume(out, out->len);
	}
}

/* Ends a list reply: what is left in out, then the empty line. */
static void
admin_list_end(struct admin_conn *conn, struct buf *out)
{
	(void)buf_append(out, "\n", 1);
	admin_conn_write(conn, out->data, out->len);
	buf_deinit(out);
}

static enum admin_cmd_result
admin_bad_args(struct admin_conn *conn, const char *cmd, const char *why)
{
	log_warn("admin %s: %s: %s; closing", admin_conn_peer(conn), cmd, why);
	return ADMIN_CMD_CLOSE;
}

/* -- arguments ----------------------------------------------------------- */

/*
 * arg as it may be logged: decoded arguments can hold LF and other
 * control bytes that would forge log lines, so they are escaped (and a
 * long one is cut).  Returns dst.
 */
static const char *
admin_log_arg(char dst[ADMIN_LOG_ARG_MAX], const char *arg)
{
	return log_sanitize(dst, ADMIN_LOG_ARG_MAX, arg, strlen(arg));
}

/* A decimal argument up to max (<= UINT_MAX). */
static bool
admin_parse_uint(const char *s, unsigned int max, unsigned int *v_r)
{
	uint64_t v;

	if (str_to_uint64(s, max, &v) == -1)
		return false;
	*v_r = (unsigned int)v;
	return true;
}

/* A user argument: a decimal hash (as doveadm sends), else a name hashed
 * with director_username_hash.  Returns 0, or -1 if it cannot be hashed. */
static int
admin_user_hash(struct director *d, const char *arg, uint32_t *hash_r)
{
	const char *err;
	unsigned int v;

	if (admin_parse_uint(arg, UINT32_MAX, &v) && v != 0) {
		*hash_r = v;
		return 0;
	}
	return director_user_hash(d, arg, hash_r, &err);
}

/* The host of an IP argument, NULL if there is none; *bad_r for an
 * argument that is not an IP address. */
static struct host *
admin_host_arg(struct director *d, const char *arg, bool *bad_r)
{
	struct ipaddr ip;

	*bad_r = ipaddr_parse(arg, &ip) == -1;
	return *bad_r ? NULL : hosts_lookup(engine_hosts(d->engine), &ip);
}

/* -- host list ------------------------------------------------------------ */

/* The checker's view of h in f[0..2]: health (up, down, or "-" without
 * checks), the last check's result and its latency in ms (in latency). */
static const struct health *
admin_health_fields(struct director *d, const struct host *h, const char *f[3],
    char latency[24])
{
	const struct health *hl = checker_health(d->checker, &h->ip);

	snprintf(latency, 24, "%llu",
	    hl != NULL ? (unsigned long long)hl->latency_ms : 0ULL);
	f[0] = hl == NULL ? "-" : h->unhealthy ? "down" : "up";
	f[1] = health_result_name(hl != NULL ? hl->last : HEALTH_RESULT_NONE);
	f[2] = latency;
	return hl;
}

/*
 * HOST-LIST: ip, vhosts, users, tag, U or D, the time of the last up/down
 * change and the host name, as 2.3 sends them (its doveadm reads the
 * first six fields), then ours: health (up, down, or "-" without checks),
 * the last check's result and its latency in ms.
 */
static enum admin_cmd_result
admin_host_list(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	char vhosts[16], users[24], changed[16], latency[24];
	const char *f[10];
	struct buf out;
	size_t i;

	buf_init(&out, SIZE_MAX);
	for (i = 0; i < hosts_count(engine_hosts(d->engine)); i++) {
		const struct host *h = hosts_get(engine_hosts(d->engine), i);

		snprintf(vhosts, sizeof(vhosts), "%u", h->vhost_count);
		snprintf(users, sizeof(users), "%zu",
		    hosts_user_count(engine_hosts(d->engine), h));
		snprintf(changed, sizeof(changed), "%u", h->last_updown_change);
		f[0] = h->ip_str;
		f[1] = vhosts;
		f[2] = users;
		f[3] = hosts_tag_name(h->tag);
		f[4] = h->down ? "D" : "U";
		f[5] = changed;
		f[6] = h->name != NULL ? h->name : "";
		(void)admin_health_fields(d, h, &f[7], latency);
		admin_row(conn, &out, f, 10);
	}
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

/*
 * HOST-HEALTH (ours; Dovecot's doveadm never sends it): one line per
 * backend, ip, health (up, down, or "-" without checks), the last check's
 * result (ok, warning, failed, none), its latency in ms, when it ended
 * (unix seconds, 0: none yet) and what it saw.
 */
static enum admin_cmd_result
admin_host_health(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct hosts *hosts = engine_hosts(d->engine);
	char latency[24], when[24];
	const struct health *hl;
	const char *f[6];
	struct buf out;
	size_t i;

	buf_init(&out, SIZE_MAX);
	for (i = 0; i < hosts_count(hosts); i++) {
		const struct host *h = hosts_get(hosts, i);

		hl = admin_health_fields(d, h, &f[1], latency);
		snprintf(when, sizeof(when), "%llu",
		    hl != NULL ? (unsigned long long)(hl->last_ms / 1000)
			       : 0ULL);
		f[0] = h->ip_str;
		f[4] = when;
		f[5] = hl != NULL ? hl->text : "";
		admin_row(conn, &out, f, 6);
	}
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_host_list_removed(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	const struct conf *conf = d->conf;
	char ip[IPADDR_STR_MAX];
	const char *f[1] = {ip};
	struct buf out;
	size_t i;

	buf_init(&out, SIZE_MAX);
	for (i = 0; i < conf->mail_server_count; i++) {
		const struct hosts_spec_entry *e =
		    &conf->mail_server_entries[i];

		if (hosts_lookup(engine_hosts(d->engine), &e->ip) != NULL)
			continue;
		ipaddr_format(&e->ip, ip);
		admin_row(conn, &out, f, 1);
	}
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

/*
 * Hands a write operation to the engine.  Its reply may come at once
 * (then the command is done) or after a move or flush has finished (then
 * the connection waits for admin_cmds_reply()).
 */
static char admin_engine_sync, admin_engine_async;

static enum admin_cmd_result
admin_engine(struct admin_conn *conn, struct engine_admin_op *op)
{
	struct director *d = admin_conn_director(conn);

	op->who = admin_conn_peer(conn);
	admin_conn_set_job(conn, &admin_engine_sync);
	engine_admin(d->engine, router_now_ms(), op, conn);
	router_run(d->router);
	if (admin_conn_job(conn) == NULL)
		return ADMIN_CMD_DONE;
	admin_conn_set_job(conn, &admin_engine_async);
	return ADMIN_CMD_WAIT;
}

void
admin_cmds_reply(struct admin_conn *conn, const char *text)
{
	bool waiting = admin_conn_job(conn) == &admin_engine_async;

	admin_conn_set_job(conn, NULL);
	admin_reply(conn, text);
	if (waiting)
		admin_conn_resume(conn);
}

/* HOST-SET ip[@tag] [vhost_count] and HOST-UPDATE ip vhost_count. */
static enum admin_cmd_result
admin_host_set_or_update(
    struct admin_conn *conn, char **args, size_t nargs, bool update)
{
	const char *cmd = update ? "HOST-UPDATE" : "HOST-SET";
	struct engine_admin_op op = {
	    .type = update ? ENGINE_ADMIN_HOST_UPDATE : ENGINE_ADMIN_HOST_SET,
	    .have_vhosts = nargs > 1,
	};
	unsigned int vhosts = HOST_VHOST_COUNT_DEFAULT;
	struct ipaddr ip;
	char *at;

	at = strchr(args[0], '@');
	if (at != NULL) {
		if (update)
			return admin_bad_args(conn, cmd, "no tag expected");
		*at = '\0';
		op.tag = at + 1;
	}
	if (ipaddr_parse(args[0], &ip) == -1)
		return admin_bad_args(conn, cmd, "invalid IP address");
	if (op.have_vhosts && !admin_parse_uint(args[1], UINT32_MAX, &vhosts))
		return admin_bad_args(conn, cmd, "invalid vhost count");
	if (vhosts > HOST_VHOST_COUNT_MAX) {
		admin_reply(conn, "vhost count too large");
		return ADMIN_CMD_DONE;
	}
	op.ip = &ip;
	op.vhosts = vhosts;
	return admin_engine(conn, &op);
}

static enum admin_cmd_result
admin_host_set(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_set_or_update(conn, args, nargs, false);
}

static enum admin_cmd_result
admin_host_update(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_set_or_update(conn, args, nargs, true);
}

/* The commands that take one backend IP (or none: all backends). */
static enum admin_cmd_result
admin_host_op(struct admin_conn *conn, char **args, size_t nargs,
    const char *cmd, enum engine_admin_type type, bool all_allowed)
{
	struct engine_admin_op op = {.type = type};
	struct ipaddr ip;

	if (nargs > 0 && args[0][0] != '\0') {
		if (ipaddr_parse(args[0], &ip) == -1)
			return admin_bad_args(conn, cmd, "invalid IP address");
		op.ip = &ip;
	} else if (!all_allowed)
		return admin_bad_args(conn, cmd, "invalid IP address");
	if (type == ENGINE_ADMIN_HOST_RESET_USERS && nargs > 1 &&
	    (!admin_parse_uint(args[1], UINT32_MAX, &op.max_parallel) ||
		op.max_parallel == 0))
		return admin_bad_args(conn, cmd, "invalid max_parallel");
	return admin_engine(conn, &op);
}

static enum admin_cmd_result
admin_host_up(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_op(
	    conn, args, nargs, "HOST-UP", ENGINE_ADMIN_HOST_UP, false);
}

static enum admin_cmd_result
admin_host_down(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_op(
	    conn, args, nargs, "HOST-DOWN", ENGINE_ADMIN_HOST_DOWN, false);
}

static enum admin_cmd_result
admin_host_remove(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_op(
	    conn, args, nargs, "HOST-REMOVE", ENGINE_ADMIN_HOST_REMOVE, false);
}

static enum admin_cmd_result
admin_host_flush(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_op(
	    conn, args, nargs, "HOST-FLUSH", ENGINE_ADMIN_HOST_FLUSH, true);
}

static enum admin_cmd_result
admin_host_reset_users(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_op(conn, args, nargs, "HOST-RESET-USERS",
	    ENGINE_ADMIN_HOST_RESET_USERS, true);
}

/* -- users ---------------------------------------------------------------- */

/* The host a full restart would give user_hash in tag: hashing over the
 * configured mail servers only, all up with default vhosts. */
static const char *
admin_initial_config_ip(struct director *d, uint32_t user_hash, const char *tag,
    char ip[IPADDR_STR_MAX])
{
	const struct conf *conf = d->conf;
	struct hosts *tmp;
	const struct host *h;
	const char *err;
	size_t i;

	tmp = hosts_new(hosts_get_method(engine_hosts(d->engine)), 1);
	for (i = 0; i < conf->mail_server_count; i++) {
		(void)hosts_add(tmp, &conf->mail_server_entries[i].ip,
		    conf->mail_server_entries[i].tag, HOST_VHOST_COUNT_DEFAULT,
		    &err);
	}
	h = hosts_select(tmp, tag, user_hash);
	ip[0] = '\0';
	if (h != NULL)
		strlcpy(ip, h->ip_str, IPADDR_STR_MAX);
	hosts_free(&tmp);
	return ip;
}

static enum admin_cmd_result
admin_user_lookup(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	const char *tag = nargs > 1 ? args[1] : "";
	char expire[16] = "0", initial[IPADDR_STR_MAX];
	const char *current = "", *hashed = "";
	struct host_tag *t;
	struct host *h;
	struct user *u;
	uint32_t hash;
	struct buf out;
	const char *f[4];

	if (admin_user_hash(d, args[0], &hash) == -1) {
		admin_reply(conn, "TRYAGAIN");
		return ADMIN_CMD_DONE;
	}
	t = hosts_tag_lookup(engine_hosts(d->engine), tag);
	if (t != NULL) {
		u = users_lookup(hosts_tag_users(t), hash,
		    (uint32_t)(router_now_ms() / 1000));
		h = u != NULL
		    ? hosts_lookup_id(engine_hosts(d->engine), u->host)
		    : NULL;
		if (h != NULL) {
			current = h->ip_str;
			snprintf(expire, sizeof(expire), "%u",
			    u->timestamp +
				users_expire_secs(hosts_tag_users(t)));
		}
	}
	h = hosts_select(engine_hosts(d->engine), tag, hash);
	if (h != NULL)
		hashed = h->ip_str;
	f[0] = current;
	f[1] = expire;
	f[2] = hashed;
	f[3] = admin_initial_config_ip(d, hash, tag, initial);
	buf_init(&out, SIZE_MAX);
	admin_row(conn, &out, f, 4);
	admin_conn_write(conn, out.data, out.len);
	buf_deinit(&out);
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_user_list(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	char hash[16], expire[16];
	const char *f[3] = {hash, expire, NULL};
	uint32_t now = (uint32_t)(router_now_ms() / 1000);
	struct host *only = NULL;
	struct users *users;
	struct user *u;
	struct buf out;
	size_t i;
	bool bad;

	if (nargs > 0 && args[0][0] != '\0') {
		only = admin_host_arg(d, args[0], &bad);
		if (bad)
			return admin_bad_args(
			    conn, "USER-LIST", "invalid IP address");
		if (only == NULL) {
			admin_reply(conn, "");
			return ADMIN_CMD_DONE;
		}
	}
	buf_init(&out, SIZE_MAX);
	for (i = 0; i < hosts_tag_count(engine_hosts(d->engine)); i++) {
		users =
		    hosts_tag_users(hosts_tag_get(engine_hosts(d->engine), i));
		for (u = users_first(users); u != NULL;
		     u = users_next(users, u)) {
			const struct host *h;

			if (users_is_expired(users, u, now) ||
			    (only != NULL && u->host != only->id))
				continue;
			h = hosts_lookup_id(engine_hosts(d->engine), u->host);
			if (h == NULL)
				continue;
			snprintf(hash, sizeof(hash), "%u", u->hash);
			snprintf(expire, sizeof(expire), "%u",
			    u->timestamp + users_expire_secs(users));
			f[2] = h->ip_str;
			admin_row(conn, &out, f, 3);
		}
	}
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_user_move(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct engine_admin_op op = {.type = ENGINE_ADMIN_USER_MOVE};
	char user[ADMIN_LOG_ARG_MAX], host[ADMIN_LOG_ARG_MAX];
	struct ipaddr ip;

	if (ipaddr_parse(args[1], &ip) == -1)
		return admin_bad_args(conn, "USER-MOVE", "invalid IP address");
	if (admin_user_hash(d, args[0], &op.user_hash) == -1)
		return admin_bad_args(conn, "USER-MOVE", "invalid user");
	op.ip = &ip;
	log_info("admin %s: USER-MOVE %s (hash %u) to %s",
	    admin_conn_peer(conn), admin_log_arg(user, args[0]), op.user_hash,
	    admin_log_arg(host, args[1]));
	return admin_engine(conn, &op);
}

static enum admin_cmd_result
admin_user_kick(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct engine_admin_op op = {.type = ENGINE_ADMIN_USER_KICK};
	char user[ADMIN_LOG_ARG_MAX];
	const char *err;

	if (director_user_hash(d, args[0], &op.user_hash, &err) == -1)
		return admin_bad_args(conn, "USER-KICK", "invalid user");
	log_info("admin %s: USER-KICK %s (hash %u)", admin_conn_peer(conn),
	    admin_log_arg(user, args[0]), op.user_hash);
	op.username = args[0]; /* the ring's USER-KICK names the user */
	return admin_engine(conn, &op);
}

static enum admin_cmd_result
admin_user_kick_alt(struct admin_conn *conn, char **args, size_t nargs)
{
	char field[ADMIN_LOG_ARG_MAX];

	/* Sessions carry no passdb fields here; the user name is the only
	 * field a director without an auth service knows. */
	if (strcmp(args[0], "user") == 0)
		return admin_user_kick(conn, args + 1, nargs - 1);
	log_info("admin %s: USER-KICK-ALT %s: no session carries that field; "
		 "nothing kicked",
	    admin_conn_peer(conn), admin_log_arg(field, args[0]));
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
}

/* -- the ring ------------------------------------------------------------ */

/* This director's ring address: the ring listener's, else the first
 * listener's address with Dovecot's default ring port. */
static void
admin_self_address(const struct conf *conf, const char **ip_r, unsigned *port_r)
{
	size_t i;

	*ip_r = "127.0.0.1";
	*port_r = ADMIN_RING_PORT_DEFAULT;
	for (i = 0; i < conf->listener_count; i++) {
		const struct conf_listener *l = &conf->listeners[i];

		if (l->address_count == 0)
			continue;
		if (l->protocol == CONF_PROTOCOL_RING) {
			*ip_r = l->addresses[0];
			*port_r = l->port;
			return;
		}
		if (i == 0)
			*ip_r = l->addresses[0];
	}
}

static const char *const admin_ring_roles[] = {
    [RING_ROLE_NONE] = "",
    [RING_ROLE_SELF] = "self",
    [RING_ROLE_LEFT] = "left",
    [RING_ROLE_RIGHT] = "right",
    [RING_ROLE_LEFT_RIGHT] = "left,right",
};

/* The status column: for us the ring's state, for a neighbour its
 * link's, empty for the others (as Dovecot 2.3 shows them). */
static void
admin_ring_dir_status(const struct ring_status *rs,
    const struct ring_dir_status *ds, uint64_t now_ms, char *buf, size_t size)
{
	if (ds->role == RING_ROLE_SELF) {
		if (!rs->handshaked)
			snprintf(buf, size, "ring handshaking");
		else if (rs->synced)
			snprintf(buf, size, "ring synced");
		else
			snprintf(buf, size, "ring syncing");
	} else if (ds->role != RING_ROLE_NONE)
		snprintf(buf, size, "%s%s", rs->synced ? "synced" : "syncing",
		    ds->tls ? " (tls)" : "");
	else if (ds->handshaking)
		snprintf(buf, size, "handshaking");
	else
		buf[0] = '\0';
	(void)now_ms;
}

static enum admin_cmd_result
admin_director_list(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct ring_dir_status ds;
	struct ring_status rs;
	char ipbuf[IPADDR_STR_MAX], port[8], failed[24], status[48], ms[24];
	const char *ip, *f[6];
	unsigned int p;
	struct buf out;
	size_t i;

	buf_init(&out, SIZE_MAX);
	engine_ring_status(d->engine, &rs);
	if (!engine_ring_dir(d->engine, 0, &ds)) {
		/* no ring: the self line of a director without connections */
		admin_self_address(d->conf, &ip, &p);
		snprintf(port, sizeof(port), "%u", p);
		f[0] = ip;
		f[1] = port;
		f[2] = "self";
		f[3] = "0";
		f[4] = "ring synced";
		f[5] = "0";
		admin_row(conn, &out, f, nitems(f));
		admin_list_end(conn, &out);
		return ADMIN_CMD_DONE;
	}
	for (i = 0; engine_ring_dir(d->engine, i, &ds); i++) {
		snprintf(port, sizeof(port), "%u", ds.addr.port);
		snprintf(failed, sizeof(failed), "%llu",
		    (unsigned long long)(ds.last_failure_ms / 1000));
		admin_ring_dir_status(
		    &rs, &ds, router_now_ms(), status, sizeof(status));
		snprintf(ms, sizeof(ms), "%llu",
		    (unsigned long long)rs.last_sync_ms);
		f[0] = ipaddr_format(&ds.addr.ip, ipbuf);
		f[1] = port;
		f[2] = ds.removed ? "removed" : admin_ring_roles[ds.role];
		f[3] = failed;
		f[4] = status;
		f[5] = ds.role == RING_ROLE_SELF ? ms : "0";
		admin_row(conn, &out, f, nitems(f));
	}
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

/* DIRECTOR-ADD ip [port] / DIRECTOR-REMOVE ip [port]: the port defaults
 * to our own ring port (add) or any (remove). */
static enum admin_cmd_result
admin_director_op(struct admin_conn *conn, char **args, size_t nargs,
    enum engine_admin_type type, const char *name)
{
	struct director *d = admin_conn_director(conn);
	struct engine_admin_op op = {.type = type};
	struct ipaddr ip;
	const char *self_ip;
	unsigned int port = 0, self_port;

	if (ipaddr_parse(args[0], &ip) == -1) {
		char arg[ADMIN_LOG_ARG_MAX];

		log_warn("admin %s: %s %s: not an IP address; closing",
		    admin_conn_peer(conn), name, admin_log_arg(arg, args[0]));
		return ADMIN_CMD_CLOSE;
	}
	if (nargs > 1 &&
	    (!admin_parse_uint(args[1], 65535, &port) || port == 0))
		return admin_bad_args(conn, name, "invalid port");
	admin_self_address(d->conf, &self_ip, &self_port);
	if (port == 0 && type == ENGINE_ADMIN_DIRECTOR_ADD)
		port = self_port;
	if (type == ENGINE_ADMIN_DIRECTOR_REMOVE &&
	    !engine_ring_enabled(d->engine) && strcmp(args[0], self_ip) == 0 &&
	    (port == 0 || port == self_port)) {
		admin_reply(conn, "can't remove self");
		return ADMIN_CMD_DONE;
	}
	op.ip = &ip;
	op.port = (uint16_t)port;
	return admin_engine(conn, &op);
}

static enum admin_cmd_result
admin_director_add(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_director_op(
	    conn, args, nargs, ENGINE_ADMIN_DIRECTOR_ADD, "DIRECTOR-ADD");
}

static enum admin_cmd_result
admin_director_remove(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_director_op(
	    conn, args, nargs, ENGINE_ADMIN_DIRECTOR_REMOVE, "DIRECTOR-REMOVE");
}

/* -- dispatch ------------------------------------------------------------- */

static const struct admin_cmd admin_cmds[] = {
    {"HOST-LIST", 0, 0, admin_host_list},
    {"HOST-LIST-REMOVED", 0, 0, admin_host_list_removed},
    {"HOST-HEALTH", 0, 0, admin_host_health},
    {"HOST-SET", 1, 2, admin_host_set},
    {"HOST-UPDATE", 2, 2, admin_host_update},
    {"HOST-UP", 1, 1, admin_host_up},
    {"HOST-DOWN", 1, 1, admin_host_down},
    {"HOST-REMOVE", 1, 1, admin_host_remove},
    {"HOST-FLUSH", 0, 1, admin_host_flush},
    {"HOST-RESET-USERS", 0, 2, admin_host_reset_users},
    {"USER-LOOKUP", 1, 2, admin_user_lookup},
    {"USER-LIST", 0, 1, admin_user_list},
    {"USER-MOVE", 2, 2, admin_user_move},
    {"USER-KICK", 1, 2, admin_user_kick},
    {"USER-KICK-ALT", 2, 3, admin_user_kick_alt},
    {"DIRECTOR-LIST", 0, 0, admin_director_list},
    {"DIRECTOR-ADD", 1, 2, admin_director_add},
    {"DIRECTOR-REMOVE", 1, 2, admin_director_remove},
};

enum admin_cmd_result
admin_cmds_run(struct admin_conn *conn, char *line, size_t len)
{
	char *f[ADMIN_FIELDS_MAX];
	size_t n, i;

	(void)len;
	if (adminwire_split(line, f, nitems(f), &n) == -1)
		return admin_bad_args(conn, "command",
		    "bad escaping or too "
		    "many arguments");
	for (i = 0; i < nitems(admin_cmds); i++) {
		const struct admin_cmd *c = &admin_cmds[i];

		if (strcmp(f[0], c->name) != 0)
			continue;
		if (n - 1 < c->min_args || n - 1 > c->max_args)
			return admin_bad_args(
			    conn, c->name, "wrong number of arguments");
		return c->run(conn, f + 1, n - 1);
	}
	return admin_bad_args(conn, "command", "unknown command");
}

void
admin_cmds_conn_gone(struct admin_conn *conn)
{
	/* a move or flush goes on; nobody is left to answer */
	admin_conn_set_job(conn, NULL);
	engine_admin_forget(admin_conn_director(conn)->engine, conn);
}

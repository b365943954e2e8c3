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
#include "adminwire.h"
#include "buf.h"
#include "director.h"
#include "hosts.h"
#include "log.h"
#include "moves.h"
#include "registry.h"
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

struct admin_cmd {
	const char *name;
	unsigned int min_args, max_args;
	enum admin_cmd_result (*run)(
	    struct admin_conn *conn, char **args, size_t nargs);
};

/* A safe flush (HOST-RESET-USERS) in progress. */
struct admin_flush {
	struct admin_conn *conn; /* NULL once the client has gone */
	struct director *d;
	uint32_t *hashes; /* users to move, with their new host */
	uint32_t *hosts; /* host ids */
	size_t count, next, running, moved;
	unsigned int max_parallel;
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
	return *bad_r ? NULL : hosts_lookup(d->hosts, &ip);
}

/* -- host list ------------------------------------------------------------ */

static enum admin_cmd_result
admin_host_list(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	char vhosts[16], users[24], changed[16];
	const char *f[7];
	struct buf out;
	size_t i;

	buf_init(&out, SIZE_MAX);
	for (i = 0; i < hosts_count(d->hosts); i++) {
		const struct host *h = hosts_get(d->hosts, i);

		snprintf(vhosts, sizeof(vhosts), "%u", h->vhost_count);
		snprintf(
		    users, sizeof(users), "%zu", hosts_user_count(d->hosts, h));
		snprintf(changed, sizeof(changed), "%u", h->last_updown_change);
		f[0] = h->ip_str;
		f[1] = vhosts;
		f[2] = users;
		f[3] = hosts_tag_name(h->tag);
		f[4] = h->down ? "D" : "U";
		f[5] = changed;
		f[6] = h->name;
		admin_row(conn, &out, f, h->name != NULL ? 7 : 6);
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

		if (hosts_lookup(d->hosts, &e->ip) != NULL)
			continue;
		ipaddr_format(&e->ip, ip);
		admin_row(conn, &out, f, 1);
	}
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

/* HOST-SET ip[@tag] [vhost_count] and HOST-UPDATE ip vhost_count. */
static enum admin_cmd_result
admin_host_set_or_update(
    struct admin_conn *conn, char **args, size_t nargs, bool update)
{
	struct director *d = admin_conn_director(conn);
	const char *cmd = update ? "HOST-UPDATE" : "HOST-SET";
	const char *tag = NULL, *err = NULL;
	unsigned int vhosts = HOST_VHOST_COUNT_DEFAULT;
	bool have_vhosts = nargs > 1;
	struct ipaddr ip;
	struct host *host;
	char *at;

	at = strchr(args[0], '@');
	if (at != NULL) {
		if (update)
			return admin_bad_args(conn, cmd, "no tag expected");
		*at = '\0';
		tag = at + 1;
	}
	if (ipaddr_parse(args[0], &ip) == -1)
		return admin_bad_args(conn, cmd, "invalid IP address");
	if (have_vhosts && !admin_parse_uint(args[1], UINT32_MAX, &vhosts))
		return admin_bad_args(conn, cmd, "invalid vhost count");
	if (vhosts > HOST_VHOST_COUNT_MAX) {
		admin_reply(conn, "vhost count too large");
		return ADMIN_CMD_DONE;
	}
	host = hosts_lookup(d->hosts, &ip);
	if (host == NULL && update) {
		admin_reply(conn, "NOTFOUND");
		return ADMIN_CMD_DONE;
	}
	if (host != NULL && tag != NULL &&
	    strcmp(hosts_tag_name(host->tag), tag) != 0) {
		admin_reply(conn, "host tag can't be changed");
		return ADMIN_CMD_DONE;
	}
	if (host == NULL) {
		host = hosts_add(d->hosts, &ip, tag, vhosts, &err);
		if (host == NULL) {
			admin_reply(conn, err);
			return ADMIN_CMD_DONE;
		}
		log_info("admin %s: backend %s%s%s added with %u vhosts",
		    admin_conn_peer(conn), host->ip_str, tag != NULL ? "@" : "",
		    tag != NULL ? tag : "", vhosts);
	} else if (have_vhosts && host->vhost_count != vhosts) {
		log_info("admin %s: backend %s vhosts %u -> %u",
		    admin_conn_peer(conn), host->ip_str, host->vhost_count,
		    vhosts);
		hosts_set_vhost_count(d->hosts, host, vhosts);
	}
	director_hosts_changed(d);
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
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

static enum admin_cmd_result
admin_host_updown(struct admin_conn *conn, char **args, bool down)
{
	struct director *d = admin_conn_director(conn);
	struct host *host;
	bool bad;

	host = admin_host_arg(d, args[0], &bad);
	if (bad)
		return admin_bad_args(
		    conn, down ? "HOST-DOWN" : "HOST-UP", "invalid IP address");
	if (host == NULL) {
		admin_reply(conn, "NOTFOUND");
		return ADMIN_CMD_DONE;
	}
	if (host->down != down) {
		hosts_set_down(d->hosts, host, down, director_now());
		log_info("admin %s: backend %s is now %s (its %zu users stay "
			 "until moved or expired)",
		    admin_conn_peer(conn), host->ip_str, down ? "down" : "up",
		    hosts_user_count(d->hosts, host));
		director_hosts_changed(d);
	}
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_host_up(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_updown(conn, args, false);
}

static enum admin_cmd_result
admin_host_down(struct admin_conn *conn, char **args, size_t nargs)
{
	return admin_host_updown(conn, args, true);
}

static enum admin_cmd_result
admin_host_remove(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	char why[ADMIN_PEER_MAX + 32];
	struct host *host;
	bool bad;

	host = admin_host_arg(d, args[0], &bad);
	if (bad)
		return admin_bad_args(
		    conn, "HOST-REMOVE", "invalid IP address");
	if (host == NULL) {
		admin_reply(conn, "NOTFOUND");
		return ADMIN_CMD_DONE;
	}
	/* unlike Dovecot, its sessions are kicked and its users wait the
	 * kick delay: they can never be on two backends */
	snprintf(why, sizeof(why), "admin %s", admin_conn_peer(conn));
	moves_retire_host(d, &host, why);
	director_hosts_changed(d);
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_host_flush(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct host *host;
	size_t i, n = 0;
	bool bad;

	if (nargs == 0 || args[0][0] == '\0') {
		for (i = 0; i < hosts_count(d->hosts); i++)
			n +=
			    hosts_flush_users(d->hosts, hosts_get(d->hosts, i));
		log_warn("admin %s: flushed all backend hosts with %zu users. "
			 "This is an unsafe operation: a user may be served by "
			 "two backends until its old sessions end",
		    admin_conn_peer(conn), n);
		admin_reply(conn, "OK");
		return ADMIN_CMD_DONE;
	}
	host = admin_host_arg(d, args[0], &bad);
	if (bad)
		return admin_bad_args(conn, "HOST-FLUSH", "invalid IP address");
	if (host == NULL) {
		admin_reply(conn, "NOTFOUND");
		return ADMIN_CMD_DONE;
	}
	n = hosts_flush_users(d->hosts, host);
	log_warn("admin %s: flushed backend %s with %zu users without kicks. "
		 "This is an unsafe operation: a user may be served by two "
		 "backends until its old sessions end",
	    admin_conn_peer(conn), host->ip_str, n);
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
}

/* -- safe flush ----------------------------------------------------------- */

static bool admin_flush_step(struct admin_flush *fl);

static void
admin_flush_free(struct admin_flush *fl)
{
	free(fl->hashes);
	free(fl->hosts);
	free(fl);
}

static void
admin_flush_on_moved(void *context)
{
	struct admin_flush *fl = context;

	fl->running--;
	(void)admin_flush_step(fl);
}

/* Starts moves up to the parallel limit.  Once all have ended, frees fl
 * (replying first if the command is waiting for it) and returns true. */
static bool
admin_flush_step(struct admin_flush *fl)
{
	struct director *d = fl->d;
	struct admin_conn *conn = fl->conn;
	struct host *to;
	bool waiting;

	while (fl->running < fl->max_parallel && fl->next < fl->count &&
	    !d->shutting_down) {
		to = hosts_lookup_id(d->hosts, fl->hosts[fl->next]);
		if (to != NULL) {
			switch (moves_start(d, fl->hashes[fl->next], to,
			    admin_flush_on_moved, fl)) {
			case MOVE_STARTED:
				fl->running++;
				fl->moved++;
				break;
			case MOVE_DONE:
				fl->moved++;
				break;
			case MOVE_BUSY:
			case MOVE_FAILED:
				break;
			}
		}
		fl->next++;
	}
	if (fl->running > 0 || (fl->next < fl->count && !d->shutting_down))
		return false;
	log_info("safe flush finished: %zu of %zu users moved", fl->moved,
	    fl->count);
	waiting = conn != NULL && admin_conn_job(conn) == fl;
	admin_flush_free(fl);
	if (waiting) {
		admin_conn_set_job(conn, NULL);
		admin_reply(conn, "OK");
		admin_conn_resume(conn);
	}
	return true;
}

/* Adds the users of host whose hash now maps elsewhere to fl; users with
 * no backend left at all are kicked and forgotten. */
static void
admin_flush_collect(struct admin_flush *fl, struct host *host, size_t *cap)
{
	struct director *d = fl->d;
	struct users *users = hosts_tag_users(host->tag);
	const char *tag = hosts_tag_name(host->tag);
	struct user *u, *next;
	struct host *to;
	uint32_t now = director_now();

	for (u = users_next_on_host(users, NULL, host->id); u != NULL;
	     u = next) {
		next = users_next_on_host(users, u, host->id);
		if (users_is_expired(users, u, now))
			continue;
		to = hosts_select(d->hosts, tag, u->hash);
		if (to == host)
			continue;
		if (to == NULL) {
			(void)registry_kick_user(d->registry, u->hash, NULL);
			users_remove(users, u);
			continue;
		}
		if (fl->count == *cap) {
			*cap = *cap == 0 ? 64 : *cap * 2;
			fl->hashes =
			    xreallocarray(fl->hashes, *cap, sizeof(uint32_t));
			fl->hosts =
			    xreallocarray(fl->hosts, *cap, sizeof(uint32_t));
		}
		fl->hashes[fl->count] = u->hash;
		fl->hosts[fl->count] = to->id;
		fl->count++;
	}
}

static enum admin_cmd_result
admin_host_reset_users(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct admin_flush *fl;
	struct host *host = NULL;
	unsigned int max = d->conf->max_parallel_moves;
	size_t i, cap = 0;
	bool bad;

	if (nargs > 0 && args[0][0] != '\0') {
		host = admin_host_arg(d, args[0], &bad);
		if (bad)
			return admin_bad_args(
			    conn, "HOST-RESET-USERS", "invalid IP address");
		if (host == NULL) {
			admin_reply(conn, "NOTFOUND");
			return ADMIN_CMD_DONE;
		}
	}
	if (nargs > 1 &&
	    (!admin_parse_uint(args[1], UINT32_MAX, &max) || max == 0))
		return admin_bad_args(
		    conn, "HOST-RESET-USERS", "invalid max_parallel");
	fl = xcalloc(1, sizeof(*fl));
	fl->d = d;
	fl->conn = conn;
	fl->max_parallel = max;
	if (host != NULL)
		admin_flush_collect(fl, host, &cap);
	else {
		for (i = 0; i < hosts_count(d->hosts); i++)
			admin_flush_collect(fl, hosts_get(d->hosts, i), &cap);
	}
	log_info("admin %s: safe flush of %s: moving %zu users, at most %u at "
		 "a time",
	    admin_conn_peer(conn), host != NULL ? host->ip_str : "all backends",
	    fl->count, max);
	if (admin_flush_step(fl)) {
		/* nothing had to wait */
		admin_reply(conn, "OK");
		return ADMIN_CMD_DONE;
	}
	admin_conn_set_job(conn, fl);
	return ADMIN_CMD_WAIT;
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

	tmp = hosts_new(hosts_get_method(d->hosts), 1);
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
	t = hosts_tag_lookup(d->hosts, tag);
	if (t != NULL) {
		u = users_lookup(hosts_tag_users(t), hash, director_now());
		h = u != NULL ? hosts_lookup_id(d->hosts, u->host) : NULL;
		if (h != NULL) {
			current = h->ip_str;
			snprintf(expire, sizeof(expire), "%u",
			    u->timestamp +
				users_expire_secs(hosts_tag_users(t)));
		}
	}
	h = hosts_select(d->hosts, tag, hash);
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
	uint32_t now = director_now();
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
	for (i = 0; i < hosts_tag_count(d->hosts); i++) {
		users = hosts_tag_users(hosts_tag_get(d->hosts, i));
		for (u = users_first(users); u != NULL;
		     u = users_next(users, u)) {
			const struct host *h;

			if (users_is_expired(users, u, now) ||
			    (only != NULL && u->host != only->id))
				continue;
			h = hosts_lookup_id(d->hosts, u->host);
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

static void
admin_move_done(void *context)
{
	struct admin_conn *conn = context;

	admin_reply(conn, "OK");
	admin_conn_resume(conn);
}

static enum admin_cmd_result
admin_user_move(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	struct host *host;
	uint32_t hash;
	bool bad;

	host = admin_host_arg(d, args[1], &bad);
	if (bad)
		return admin_bad_args(conn, "USER-MOVE", "invalid IP address");
	if (admin_user_hash(d, args[0], &hash) == -1)
		return admin_bad_args(conn, "USER-MOVE", "invalid user");
	if (host == NULL) {
		admin_reply(conn, "NOTFOUND");
		return ADMIN_CMD_DONE;
	}
	log_info("admin %s: move user %s (hash %u) to %s",
	    admin_conn_peer(conn), args[0], hash, host->ip_str);
	switch (moves_start(d, hash, host, admin_move_done, conn)) {
	case MOVE_STARTED:
		return ADMIN_CMD_WAIT;
	case MOVE_DONE:
		admin_reply(conn, "OK");
		return ADMIN_CMD_DONE;
	case MOVE_BUSY:
		admin_reply(conn, "TRYAGAIN");
		return ADMIN_CMD_DONE;
	case MOVE_FAILED:
	default:
		admin_reply(conn, "user directory is full");
		return ADMIN_CMD_DONE;
	}
}

static enum admin_cmd_result
admin_user_kick(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	uint32_t hash;
	const char *err;
	size_t n;

	if (director_user_hash(d, args[0], &hash, &err) == -1)
		return admin_bad_args(conn, "USER-KICK", "invalid user");
	n = registry_kick_user(d->registry, hash, NULL);
	log_info("admin %s: kicked user %s: %zu sessions",
	    admin_conn_peer(conn), args[0], n);
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_user_kick_alt(struct admin_conn *conn, char **args, size_t nargs)
{
	/* Sessions carry no passdb fields here; the user name is the only
	 * field a director without an auth service knows. */
	if (strcmp(args[0], "user") == 0)
		return admin_user_kick(conn, args + 1, nargs - 1);
	log_info("admin %s: USER-KICK-ALT %s: no session carries that field; "
		 "nothing kicked",
	    admin_conn_peer(conn), args[0]);
	admin_reply(conn, "OK");
	return ADMIN_CMD_DONE;
}

/* -- the ring (of one, for now) ---------------------------------------- */

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

static enum admin_cmd_result
admin_director_list(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	char port[8];
	const char *ip, *f[6];
	unsigned int p;
	struct buf out;

	/* as Dovecot 2.3 shows a director without connections: the self
	 * line with the ring status and the last sync time in ms */
	admin_self_address(d->conf, &ip, &p);
	snprintf(port, sizeof(port), "%u", p);
	f[0] = ip;
	f[1] = port;
	f[2] = "self";
	f[3] = "0";
	f[4] = "ring synced";
	f[5] = "0";
	buf_init(&out, SIZE_MAX);
	admin_row(conn, &out, f, nitems(f));
	admin_list_end(conn, &out);
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_director_add(struct admin_conn *conn, char **args, size_t nargs)
{
	log_warn("admin %s: DIRECTOR-ADD %s: this director runs without a "
		 "ring",
	    admin_conn_peer(conn), args[0]);
	admin_reply(conn, "director ring is not supported by this director");
	return ADMIN_CMD_DONE;
}

static enum admin_cmd_result
admin_director_remove(struct admin_conn *conn, char **args, size_t nargs)
{
	struct director *d = admin_conn_director(conn);
	const char *ip;
	unsigned int port, want;

	admin_self_address(d->conf, &ip, &port);
	if (nargs > 1 && !admin_parse_uint(args[1], 65535, &want))
		return admin_bad_args(conn, "DIRECTOR-REMOVE", "invalid port");
	if (strcmp(args[0], ip) == 0 && (nargs < 2 || want == port))
		admin_reply(conn, "can't remove self");
	else
		admin_reply(conn, "NOTFOUND");
	return ADMIN_CMD_DONE;
}

/* -- dispatch ------------------------------------------------------------- */

static const struct admin_cmd admin_cmds[] = {
    {"HOST-LIST", 0, 0, admin_host_list},
    {"HOST-LIST-REMOVED", 0, 0, admin_host_list_removed},
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
	struct admin_flush *fl = admin_conn_job(conn);

	if (fl != NULL) {
		/* the flush goes on; nobody is left to answer */
		fl->conn = NULL;
		admin_conn_set_job(conn, NULL);
	}
	moves_forget(admin_conn_director(conn), conn);
}

/*
 * admin.c - admin socket transport (see admin.h).
 *
 * Each connection reads LF-terminated lines.  The first must be the
 * client's VERSION handshake; every later line is one command, run in
 * order.  A command that has to wait (a move, a flush) returns
 * ADMIN_CMD_WAIT and reading stops until admin_conn_resume(): replies
 * therefore always come one per command, in order, however the client
 * pipelines.  A protocol error is logged and closes the connection
 * without a reply, as Dovecot's director does.
 *
 * The socket's directory usually belongs to the service user, who can
 * swap its entries at any moment: root follows no link there, replaces
 * nothing but a stale socket, and changes no file by name.  In such a
 * directory the socket is created with the service user's effective ids
 * and a umask that gives admin_socket_mode at creation.
 *
 * One descriptor is kept in reserve (spare_fd): when a flood of client
 * connections has used up the process's descriptors, the admin socket
 * still accepts an operator with it; without one it pauses for
 * ADMIN_PAUSE_MS instead of spinning on a failing accept.
 */
#include "compat.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "admin.h"
#include "admin_cmds.h"
#include "adminwire.h"
#include "director.h"
#include "log.h"
#include "sockaddr.h"
#include "xmalloc.h"

#define ADMIN_BACKLOG 64
#define ADMIN_PAUSE_MS 200

struct admin_conn {
	LIST_ENTRY(admin_conn) link;
	struct admin *admin;
	struct bufferevent *bev;
	bool handshaked;
	bool waiting; /* a command is running; input is held */
	bool closing; /* flush, then close */
	void *job; /* admin_cmds.c state of a waiting command */
	char peer[ADMIN_PEER_MAX];
};

struct admin {
	struct director *d;
	int fd;
	int spare_fd; /* -1 while in use */
	char *path;
	struct event *ev;
	struct event *resume_ev;
	LIST_HEAD(, admin_conn) conns;
};

static const char admin_handshake[] = "VERSION\tdirector-doveadm\t1\t0\n";

static void admin_conn_process(struct admin_conn *conn);

/* -- socket setup ------------------------------------------------------ */

/* Whether some process accepts connections on path (a live directord). */
static bool
admin_socket_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd == -1)
		return false;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

/* Whether only root may add or remove entries in the directory of path
 * (then root may create the socket there itself). */
static bool
admin_dir_root_only(const char *path)
{
	char *copy = xstrdup(path);
	struct stat st;
	bool root_only;

	root_only = lstat(dirname(copy), &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
	free(copy);
	return root_only;
}

/* Refuses anything at path but a socket (a link, a file of root's). */
static int
admin_socket_check(const char *path, char **error_r)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r =
		    xasprintf("admin_socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*error_r = xasprintf("admin_socket %s: not a socket (%s); "
				     "refusing to replace it",
		    path,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "another file");
		return -1;
	}
	return 0;
}

/* Switches the effective ids to pw (to_user) or back to root. */
static int
admin_set_ids(const struct passwd *pw, bool to_user)
{
	if (to_user)
		return setegid(pw->pw_gid) == -1 || seteuid(pw->pw_uid) == -1
		    ? -1
		    : 0;
	if (seteuid(0) == -1 || setegid(0) == -1)
		fatal("admin socket: cannot regain root: %s", strerror(errno));
	return 0;
}

/* Removes a stale socket at the path of sun and binds fd there, with
 * mode and owned by pw.  Returns 0, or -1 with errno set. */
static int
admin_socket_bind(
    int fd, const struct sockaddr_un *sun, const struct passwd *pw, mode_t mode)
{
	bool as_user = geteuid() == 0 && pw->pw_uid != 0 &&
	    !admin_dir_root_only(sun->sun_path);
	mode_t old_mask;
	int ret, saved;

	if (as_user && admin_set_ids(pw, true) == -1) {
		saved = errno;
		admin_set_ids(pw, false);
		errno = saved;
		return -1;
	}
	old_mask = umask(~mode & 0777);
	ret = unlink(sun->sun_path) == -1 && errno != ENOENT ? -1 : 0;
	if (ret == 0)
		ret = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	umask(old_mask);
	if (as_user)
		admin_set_ids(pw, false);
	/* a directory only root can write to: nobody can swap the path */
	if (ret == 0 && !as_user && geteuid() == 0 &&
	    lchown(sun->sun_path, pw->pw_uid, pw->pw_gid) == -1)
		return -1;
	errno = saved;
	return ret;
}

struct admin *
admin_new(struct director *d, char **error_r)
{
	const struct conf *conf = d->conf;
	struct sockaddr_un sun;
	struct passwd *pw;
	struct admin *admin;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, conf->admin_socket, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		*error_r = xasprintf(
		    "admin_socket %s: path too long", conf->admin_socket);
		return NULL;
	}
	pw = getpwnam(conf->user);
	if (pw == NULL) {
		*error_r =
		    xasprintf("admin socket: unknown user %s", conf->user);
		return NULL;
	}
	if (admin_socket_check(conf->admin_socket, error_r) == -1)
		return NULL;
	if (admin_socket_in_use(&sun)) {
		*error_r = xasprintf("admin socket %s is in use by another "
				     "process (is directord already running?)",
		    conf->admin_socket);
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		*error_r = xasprintf("admin socket: %s", strerror(errno));
		return NULL;
	}
	if (admin_socket_bind(fd, &sun, pw, (mode_t)conf->admin_socket_mode) ==
		-1 ||
	    listen(fd, ADMIN_BACKLOG) == -1) {
		*error_r = xasprintf(
		    "admin socket %s: %s", conf->admin_socket, strerror(errno));
		close(fd);
		return NULL;
	}
	admin = xcalloc(1, sizeof(*admin));
	admin->d = d;
	admin->fd = fd;
	admin->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	admin->path = xstrdup(conf->admin_socket);
	return admin;
}

/* -- connections --------------------------------------------------------- */

/* Takes back the reserved descriptor once one is free again. */
static void
admin_spare_refill(struct admin *admin)
{
	if (admin->spare_fd == -1)
		admin->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
admin_conn_free(struct admin_conn *conn)
{
	struct admin *admin = conn->admin;
	evutil_socket_t fd = bufferevent_getfd(conn->bev);

	admin_cmds_conn_gone(conn);
	LIST_REMOVE(conn, link);
	/* closed now, not when libevent finalizes the bufferevent, so that
	 * the descriptor can become the reserve again at once */
	bufferevent_setfd(conn->bev, -1);
	bufferevent_free(conn->bev);
	if (fd != -1)
		close(fd);
	free(conn);
	admin_spare_refill(admin);
}

void
admin_conn_write(struct admin_conn *conn, const void *data, size_t len)
{
	bufferevent_write(conn->bev, data, len);
}

const char *
admin_conn_peer(const struct admin_conn *conn)
{
	return conn->peer;
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

struct director *
admin_conn_director(const struct admin_conn *conn)
{
	return conn->admin->d;
}

/* Closes once the replies so far are sent. */
static void
admin_conn_close_later(struct admin_conn *conn)
{
	conn->closing = true;
	bufferevent_disable(conn->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
		admin_conn_free(conn);
}

static void
admin_conn_process(struct admin_conn *conn)
{
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	char *line;
	size_t len;

	while (!conn->waiting && !conn->closing) {
		if (evbuffer_get_length(bufferevent_get_output(conn->bev)) >
		    ADMIN_OUTPUT_MAX) {
			log_warn("admin %s: not reading its replies, closing",
			    conn->peer);
			admin_conn_free(conn);
			return;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > ADMIN_LINE_MAX) {
				log_warn("admin %s: line too long, closing",
				    conn->peer);
				admin_conn_free(conn);
			}
			return;
		}
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (!conn->handshaked) {
			if (!adminwire_handshake_ok(line)) {
				log_warn("admin %s: bad handshake, closing",
				    conn->peer);
				free(line);
				admin_conn_close_later(conn);
				return;
			}
			conn->handshaked = true;
			free(line);
			continue;
		}
		switch (admin_cmds_run(conn, line, len)) {
		case ADMIN_CMD_DONE:
			break;
		case ADMIN_CMD_WAIT:
			conn->waiting = true;
			break;
		case ADMIN_CMD_CLOSE:
			free(line);
			admin_conn_close_later(conn);
			return;
		}
		free(line);
	}
}

void
admin_conn_resume(struct admin_conn *conn)
{
	conn->waiting = false;
	admin_conn_process(conn);
}

static void
admin_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	admin_conn_process(arg);
}

static void
admin_on_write(struct bufferevent *bev, void *arg)
{
	struct admin_conn *conn = arg;

	(void)bev;
	if (conn->closing)
		admin_conn_free(conn);
}

static void
admin_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn *conn = arg;

	(void)bev;
	if (conn->waiting)
		log_info("admin %s: disconnected while a command was running "
			 "(it goes on)",
		    conn->peer);
	admin_conn_free(conn);
}

static void
admin_conn_new(struct admin *admin, int fd, const char *peer)
{
	struct admin_conn *conn = xcalloc(1, sizeof(*conn));

	conn->admin = admin;
	strlcpy(conn->peer, peer, sizeof(conn->peer));
	conn->bev =
	    bufferevent_socket_new(admin->d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (conn->bev == NULL) {
		close(fd);
		free(conn);
		return;
	}
	LIST_INSERT_HEAD(&admin->conns, conn, link);
	bufferevent_setcb(
	    conn->bev, admin_on_read, admin_on_write, admin_on_event, conn);
	/* input is bounded also while a command waits: reading pauses */
	bufferevent_setwatermark(conn->bev, EV_READ, 0, ADMIN_LINE_MAX + 1);
	bufferevent_write(
	    conn->bev, admin_handshake, sizeof(admin_handshake) - 1);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	log_debug("admin %s: connected", peer);
}

static void
admin_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct admin *admin = arg;

	admin_spare_refill(admin);
	event_add(admin->ev, NULL);
}

/* Stops accepting for ADMIN_PAUSE_MS (no descriptor to accept with). */
static void
admin_pause(struct admin *admin)
{
	struct timeval tv = {
	    .tv_sec = ADMIN_PAUSE_MS / 1000,
	    .tv_usec = (ADMIN_PAUSE_MS % 1000) * 1000,
	};

	event_del(admin->ev);
	evtimer_add(admin->resume_ev, &tv);
}

static void
admin_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct admin *admin = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char peer[ADMIN_PEER_MAX];
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1 && (errno == EMFILE || errno == ENFILE) &&
	    admin->spare_fd != -1) {
		/* out of descriptors: the operator gets the reserved one */
		close(admin->spare_fd);
		admin->spare_fd = -1;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("admin socket: accept: %s; pausing accepts "
				 "for %d ms",
			    strerror(errno), ADMIN_PAUSE_MS);
			admin_pause(admin);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED) {
			log_error("admin socket: accept: %s", strerror(errno));
		}
		admin_spare_refill(admin);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_error("admin socket: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	snprintf(peer, sizeof(peer), "uid %ld pid %ld", (long)cred.uid,
	    (long)cred.pid);
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("admin socket: permission denied for %s (only root "
			 "and uid %ld may manage the director)",
		    peer, (long)geteuid());
		close(fd);
		return;
	}
	admin_conn_new(admin, fd, peer);
}

static void
admin_tcp_accept(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	struct director *d = context;
	char text[ADMIN_PEER_MAX];

	(void)peer_len;
	(void)info;
	sockaddr_peer_text(peer, text, sizeof(text));
	if (d->admin == NULL ||
	    !sockaddr_in_networks(
		peer, d->conf->admin_nets, d->conf->admin_net_count)) {
		log_warn("admin: connection from %s refused (not in "
			 "admin_networks)",
		    text);
		close(fd);
		return;
	}
	admin_conn_new(d->admin, fd, text);
}

const struct listener_handler admin_tcp_handler = {
    .accept = admin_tcp_accept,
};

int
admin_start(struct admin *admin, struct event_base *base)
{
	admin->ev = event_new(
	    base, admin->fd, EV_READ | EV_PERSIST, admin_on_accept, admin);
	admin->resume_ev = evtimer_new(base, admin_on_resume, admin);
	if (admin->ev == NULL || admin->resume_ev == NULL ||
	    event_add(admin->ev, NULL) == -1) {
		log_error("admin socket: cannot watch it");
		return -1;
	}
	return 0;
}

void
admin_free(struct admin **adminp)
{
	struct admin *admin = *adminp;

	if (admin == NULL)
		return;
	*adminp = NULL;
	while (!LIST_EMPTY(&admin->conns))
		admin_conn_free(LIST_FIRST(&admin->conns));
	if (admin->ev != NULL)
		event_free(admin->ev);
	if (admin->resume_ev != NULL)
		event_free(admin->resume_ev);
	if (admin->spare_fd != -1)
		close(admin->spare_fd);
	close(admin->fd);
	/* after the privilege drop this may fail: the directory is root's */
	if (unlink(admin->path) == -1 && errno != ENOENT && errno != EACCES)
		log_warn("unlink %s: %s", admin->path, strerror(errno));
	free(admin->path);
	free(admin);
}

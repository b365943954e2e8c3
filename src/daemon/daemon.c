/*
 * daemon.c - the directord process around one libevent event base.
 *
 * All process state lives in one struct directord, built by daemon_run()
 * and torn down by it, so a clean exit frees everything.  Invariants: the
 * pid file exists only while the process is ready to accept connections;
 * the active configuration is always a fully validated one (a failed
 * reload keeps the old); listening sockets are bound once, as root, and
 * never change on reload; the service manager hears READY=1 only once
 * the listeners accept and the pid file exists.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "bevio.h"
#include "conf.h"
#include "daemon.h"
#include "director.h"
#include "fdlimit.h"
#include "listener.h"
#include "lmtp_proxy.h"
#include "metrics.h"
#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "privdrop.h"
#include "ring_conn.h"
#include "session.h"
#include "xmalloc.h"

struct directord {
	char *conf_path; /* absolute, so reloads work after chdir("/") */
	struct conf *conf;
	struct event_base *base;
	struct listener_set *listeners;
	/* with workers: the IMAP, POP3 and ManageSieve sockets of each
	 * (SO_REUSEPORT), bound here as root, then handed to them */
	struct listener_set **worker_listeners;
	unsigned int worker_listener_count;
	struct director *director;
	void *contexts[CONF_PROTOCOL_COUNT]; /* of the listener handlers */
	struct event *sig_term;
	struct event *sig_int;
	struct event *sig_hup;
	char *pid_file; /* the one we wrote, NULL until written */
	struct notify *notify; /* the service manager's socket, or NULL */
};

/* What happens to a connection, by the protocol of its listener. */
static const struct listener_handler *const daemon_handlers[] = {
    [CONF_PROTOCOL_IMAP] = &session_handler_imap,
    [CONF_PROTOCOL_POP3] = &session_handler_pop3,
    [CONF_PROTOCOL_LMTP] = &lmtp_proxy_handler,
    [CONF_PROTOCOL_RING] = &ring_conn_handler,
    [CONF_PROTOCOL_ADMIN] = &admin_tcp_handler,
    [CONF_PROTOCOL_METRICS] = &metrics_handler,
    [CONF_PROTOCOL_SIEVE] = &session_handler_sieve,
};
static_assert(nitems(daemon_handlers) == CONF_PROTOCOL_COUNT, "handlers");

static char *
daemon_absolute_path(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* Routes libevent's own messages into our log. */
static void
daemon_libevent_log(int severity, const char *msg)
{
	if (bevio_quiet())
		return;
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	case EVENT_LOG_WARN:
		log_warn("libevent: %s", msg);
		break;
	default:
		log_error("libevent: %s", msg);
		break;
	}
}

static void
daemon_apply_log_level(const struct conf *conf)
{
	enum log_level level;

	if (log_level_parse(conf->log_level, &level) == 0)
		log_set_level(level);
}

/* Double fork, new session, cwd /, stdio on /dev/null.  Only the
 * grandchild returns. */
static int
daemon_detach(char **error_r)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid == -1)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		goto fail;
	pid = fork();
	if (pid == -1)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1)
		goto fail;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd == -1)
		goto fail;
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		close(fd);
		goto fail;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
fail:
	*error_r = xasprintf("cannot detach: %s", strerror(errno));
	return -1;
}

static void
daemon_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct directord *d = arg;

	log_info("received %s, shutting down",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	notify_send(d->notify, SDNOTIFY_STOPPING, "shutting down");
	/* stop accepting at once; the loop ends after this callback */
	listener_set_free(&d->listeners);
	director_shutdown(d->director);
	event_base_loopbreak(d->base);
}

/* Reads the configuration file again and applies it, or keeps the old
 * one if the file is refused.  Writes one line on the outcome for the
 * service manager to status (size bytes). */
static void
daemon_reload(struct directord *d, char *status, size_t size)
{
	struct conf *conf;
	char *error = NULL;

	conf = conf_load_file(d->conf_path, &error);
	/* Live user assignments are keyed by the user hash: a file that
	 * changes how users are hashed or placed is refused as a whole. */
	if (conf != NULL && conf_reload_check(d->conf, conf, &error) == -1)
		conf_free(&conf);
	if (conf == NULL) {
		log_error(
		    "reload failed: %s; keeping the old configuration", error);
		snprintf(status, size,
		    "reload failed, old configuration kept: %s", error);
		free(error);
		return;
	}
	if (!conf_listeners_equal(d->conf, conf))
		log_warn("listener changes need a restart; keeping the old "
			 "listeners");
	if (strcmp(d->conf->user, conf->user) != 0)
		log_warn("user changes need a restart; still running as %s",
		    d->conf->user);
	if (strcmp(d->conf->pid_file, conf->pid_file) != 0)
		log_warn("pid_file changes need a restart; keeping %s",
		    d->conf->pid_file);
	if (strcmp(d->conf->state_dir, conf->state_dir) != 0)
		log_warn("state_dir changes need a restart; keeping %s",
		    d->conf->state_dir);
	director_reload(d->director, conf);
	conf_free(&d->conf);
	d->conf = conf;
	daemon_apply_log_level(conf);
	log_info("configuration reloaded");
	snprintf(status, size, "configuration reloaded");
}

static void
daemon_on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct directord *d = arg;
	char status[SDNOTIFY_STATUS_MAX + 1];

	log_info("received SIGHUP, reloading %s", d->conf_path);
	notify_send(
	    d->notify, SDNOTIFY_RELOADING, "reloading %s", d->conf_path);
	daemon_reload(d, status, sizeof(status));
	/* READY=1 ends the reload, whatever came of it */
	notify_send(d->notify, SDNOTIFY_READY, "%s", status);
}

static int
daemon_add_signal(
    struct directord *d, struct event **evp, int sig, event_callback_fn cb)
{
	*evp = evsignal_new(d->base, sig, cb, d);
	if (*evp == NULL || event_add(*evp, NULL) == -1) {
		log_error("cannot watch signal %d", sig);
		return -1;
	}
	return 0;
}

static int
daemon_make_dirs(const struct conf *conf, char **error_r)
{
	char *copy, *why = NULL;
	int ret;

	if (privdrop_make_dir(conf->state_dir, conf->user, error_r) == -1)
		return -1;
	/* the state file is read back as root: nobody else may write there */
	if (privdrop_check_dir(conf->state_dir, conf->user, &why) == -1) {
		*error_r = xasprintf("state_dir %s", why);
		free(why);
		return -1;
	}
	/* spool files of LMTP messages (not in state_dir: a client must
	 * not fill the disk the state file lives on) */
	if (privdrop_make_dir(conf->lmtp_spool_dir, conf->user, error_r) == -1)
		return -1;
	copy = xstrdup(conf->pid_file);
	ret = privdrop_make_dir(dirname(copy), conf->user, error_r);
	free(copy);
	if (ret == 0) {
		copy = xstrdup(conf->admin_socket);
		ret = privdrop_make_dir(dirname(copy), conf->user, error_r);
		free(copy);
	}
	return ret;
}

/* The workers' sockets not handed over (startup failed before). */
static void
daemon_free_worker_listeners(struct directord *d)
{
	unsigned int i;

	for (i = 0; i < d->worker_listener_count; i++)
		listener_set_free(&d->worker_listeners[i]);
	free(d->worker_listeners);
	d->worker_listeners = NULL;
	d->worker_listener_count = 0;
}

/* Binds the listening sockets: all of them, or with worker threads the
 * sessions' once per worker (with SO_REUSEPORT) and the others once. */
static int
daemon_bind(struct directord *d, char **error_r)
{
	unsigned int i, n = d->conf->worker_count;

	if (n <= 1) {
		d->listeners = listener_set_bind(d->conf, error_r);
		return d->listeners == NULL ? -1 : 0;
	}
	d->listeners = listener_set_bind_some(
	    d->conf, LISTENER_NOT_SESSIONS, false, error_r);
	if (d->listeners == NULL)
		return -1;
	d->worker_listeners = xcalloc(n, sizeof(*d->worker_listeners));
	d->worker_listener_count = n;
	for (i = 0; i < n; i++) {
		d->worker_listeners[i] = listener_set_bind_some(
		    d->conf, LISTENER_SESSIONS, true, error_r);
		if (d->worker_listeners[i] == NULL)
			return -1;
	}
	return 0;
}

/* Everything up to the loop; returns 0 or -1 (reason logged). */
static int
daemon_start(struct directord *d, bool foreground)
{
	char *error = NULL;
	size_t nlisteners;

	/* as root: the socket's path may be out of the user's reach */
	d->notify = notify_open();
	d->conf = conf_load_file(d->conf_path, &error);
	if (d->conf == NULL)
		goto fail;
	daemon_apply_log_level(d->conf);
	if (fdlimit_raise(d->conf->max_connections,
		d->conf->zero_copy ? d->conf->zero_copy_pipes : 0,
		&error) == -1)
		goto fail;
	if (pidfile_check(d->conf->pid_file, &error) == -1)
		goto fail;
	if (daemon_bind(d, &error) == -1)
		goto fail;
	/* checks state_dir before director_new() reads the state file */
	if (daemon_make_dirs(d->conf, &error) == -1)
		goto fail;
	/* reads TLS keys: before the privilege drop */
	d->director = director_new(d->conf, &error);
	if (d->director == NULL)
		goto fail;
	/* bound as root, owned by the configured user */
	d->director->admin = admin_new(d->director, &error);
	if (d->director->admin == NULL ||
	    privdrop_to_user(d->conf->user, &error) == -1)
		goto fail;
	if (!foreground) {
		if (daemon_detach(&error) == -1)
			goto fail;
		log_init("directord", 0);
	}
	d->base = event_base_new();
	if (d->base == NULL) {
		log_error("cannot create the event base");
		return -1;
	}
	if (daemon_add_signal(d, &d->sig_term, SIGTERM, daemon_on_stop) == -1 ||
	    daemon_add_signal(d, &d->sig_int, SIGINT, daemon_on_stop) == -1 ||
	    daemon_add_signal(d, &d->sig_hup, SIGHUP, daemon_on_hup) == -1)
		return -1;
	/* the workers take their sockets (and start them on their loops);
	 * every worker listens on the same addresses: count them once */
	nlisteners = listener_set_count(d->listeners) +
	    (d->worker_listener_count > 0
		    ? listener_set_count(d->worker_listeners[0])
		    : 0);
	d->director->worker_listeners = d->worker_listeners;
	if (director_start(d->director, d->base) == -1 ||
	    admin_start(d->director->admin, d->base) == -1)
		return -1;
	d->contexts[CONF_PROTOCOL_IMAP] = &d->director->proxy;
	d->contexts[CONF_PROTOCOL_POP3] = &d->director->proxy;
	d->contexts[CONF_PROTOCOL_LMTP] = &d->director->proxy;
	d->contexts[CONF_PROTOCOL_RING] = d->director;
	d->contexts[CONF_PROTOCOL_ADMIN] = d->director;
	d->contexts[CONF_PROTOCOL_METRICS] = d->director;
	d->contexts[CONF_PROTOCOL_SIEVE] = &d->director->proxy;
	if (listener_set_start(
		d->listeners, d->base, daemon_handlers, d->contexts) == -1)
		return -1;
	if (pidfile_claim(d->conf->pid_file, &error) == -1)
		goto fail;
	d->pid_file = xstrdup(d->conf->pid_file);
	log_info("directord ready: %zu listener%s, pid %ld", nlisteners,
	    nlisteners == 1 ? "" : "s", (long)getpid());
	notify_send(d->notify, SDNOTIFY_READY, "ready: %zu listener%s",
	    nlisteners, nlisteners == 1 ? "" : "s");
	return 0;
fail:
	log_error("%s", error != NULL ? error : "startup failed");
	free(error);
	return -1;
}

static void
daemon_free(struct directord *d)
{
	if (d->pid_file != NULL) {
		pidfile_release(d->pid_file);
		free(d->pid_file);
	}
	listener_set_free(&d->listeners);
	daemon_free_worker_listeners(d);
	if (d->director != NULL) {
		/* first: waiting admin commands must not answer mid-shutdown */
		admin_free(&d->director->admin);
		director_shutdown(d->director);
		director_free(&d->director);
	}
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	if (d->sig_hup != NULL)
		event_free(d->sig_hup);
	if (d->base != NULL)
		event_base_free(d->base);
	conf_free(&d->conf);
	free(d->conf_path);
	notify_free(&d->notify);
}

int
daemon_run(const char *conf_path, bool foreground)
{
	struct directord d = {.conf_path = daemon_absolute_path(conf_path)};
	int status = 1;

	signal(SIGPIPE, SIG_IGN);
	event_set_log_callback(daemon_libevent_log);
	if (daemon_start(&d, foreground) == 0) {
		if (event_base_dispatch(d.base) == -1)
			log_error("event loop failed");
		else
			status = 0;
		log_info("directord stopped");
	}
	daemon_free(&d);
	libevent_global_shutdown();
	return status;
}

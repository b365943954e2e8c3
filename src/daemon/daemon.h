/*
 * daemon.h - the directord process: startup, event loop, signals, reload
 * and shutdown.
 */
#ifndef DIRECTOR_DAEMON_H
#define DIRECTOR_DAEMON_H

#include <stdbool.h>

/* Starts directord with the configuration file conf_path: parse, bind
 * every listener, create state_dir and the pid file's directory, drop to
 * the configured user, detach unless foreground, write the pid file, and
 * serve until SIGTERM or SIGINT.  Logs to stderr when foreground, else to
 * syslog once detached.  When $NOTIFY_SOCKET is set, tells the service
 * manager READY=1 once it serves, RELOADING=1 and READY=1 around a SIGHUP
 * reload, and STOPPING=1 at SIGTERM or SIGINT (see notify.h).  Returns the process exit status: 0 after a clean
 * shutdown, 1 when startup failed (the reason is logged). */
int daemon_run(const char *conf_path, bool foreground);

#endif

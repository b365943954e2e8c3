/*
 * fdlimit.h - the process's file descriptor limit, sized for the
 * configuration.
 *
 * Every proxied connection holds FDLIMIT_PER_CONNECTION descriptors (the
 * client and its backend); FDLIMIT_RESERVE more are kept for the
 * listening sockets, the admin socket and its clients, the state file,
 * LMTP spool files and the log, and two for each pipe of the zero-copy
 * splices.
 */
#ifndef DIRECTOR_FDLIMIT_H
#define DIRECTOR_FDLIMIT_H

#define FDLIMIT_PER_CONNECTION 2
#define FDLIMIT_RESERVE 128

/* Raises the soft RLIMIT_NOFILE to what max_connections connections and
 * pipes pipes need,
 * but not above the hard limit; a hard limit below the need is logged as
 * a warning that says what to set.  Returns 0, or -1 with *error_r set to
 * a malloc'd message when the limit cannot be read or set. */
int fdlimit_raise(
    unsigned int max_connections, unsigned int pipes, char **error_r);

#endif

/*
 * directorctl.c - the operator command line of the mail director.
 *
 *   directorctl [-c FILE] [-a PATH|HOST:PORT] [-t SECS] [--json] VERB
 *       [ARG...]
 *
 * The grammar is a table of verbs.  Verbs flagged CTL_NEEDS_SOCKET talk to
 * a running directord (or a Dovecot 2.3 director) over the
 * director-doveadm v1.0 admin protocol (adminwire.h); the others are
 * computed offline from the configuration with the routing core, so they
 * show what directord would do without touching a backend.
 *
 * Exit status (sysexits.h, documented in directorctl(8)): 0 success,
 * EX_USAGE (64) usage error, EX_DATAERR (65) a username that cannot be
 * hashed or a request the server refused, EX_NOHOST (68) NOTFOUND or a
 * host name that does not resolve, EX_UNAVAILABLE (69) no admin socket,
 * EX_TEMPFAIL (75) TRYAGAIN, refused connection, timeout or a connection
 * closed early, EX_PROTOCOL (76) a bad handshake or malformed reply,
 * EX_NOPERM (77) permission denied on the socket, EX_CONFIG (78) the
 * configuration does not load.  Argument errors are reported before the
 * configuration is read and before connecting.
 *
 * The program lives in src/ctl (ctl.h lists its files); this is only its
 * entry point.
 */
#include "compat.h"

#include "ctl.h"

int
main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}

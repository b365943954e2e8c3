/*
 * fdlimit.c - raise RLIMIT_NOFILE to what max_connections needs (see
 * fdlimit.h).  The soft limit is usually 1024, far below what the
 * default max_connections needs; running out of descriptors makes every
 * accept fail.
 */
#include "compat.h"

#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>

#include "fdlimit.h"
#include "log.h"
#include "xmalloc.h"

int
fdlimit_raise(unsigned int max_connections, unsigned int pipes, char **error_r)
{
	rlim_t reserve = FDLIMIT_RESERVE + 2 * (rlim_t)pipes;
	rlim_t need =
	    (rlim_t)max_connections * FDLIMIT_PER_CONNECTION + reserve;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		*error_r =
		    xasprintf("getrlimit RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		log_warn("max_connections = %u needs %llu file descriptors but "
			 "the RLIMIT_NOFILE hard limit is %llu: raise it "
			 "(LimitNOFILE= in the systemd unit, ulimit -Hn) or "
			 "lower max_connections to %llu",
		    max_connections, (unsigned long long)need,
		    (unsigned long long)rl.rlim_max,
		    rl.rlim_max > reserve
			? (unsigned long long)(rl.rlim_max - reserve) /
			    FDLIMIT_PER_CONNECTION
			: 0ULL);
		need = rl.rlim_max;
	}
	/* never lower a limit that is already high enough */
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		*error_r = xasprintf("setrlimit RLIMIT_NOFILE to %llu: %s",
		    (unsigned long long)need, strerror(errno));
		return -1;
	}
	log_debug("RLIMIT_NOFILE soft limit raised to %llu",
	    (unsigned long long)need);
	return 0;
}

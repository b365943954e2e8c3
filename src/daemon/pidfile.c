/*
 * pidfile.c - create, check and remove the pid file.
 *
 * The pid is written to a temporary file next to the target and linked
 * into place: link(2) fails if the target exists, which makes the claim
 * exclusive and the content complete the moment the name appears.
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "pidfile.h"
#include "xmalloc.h"

#define PIDFILE_TEXT_MAX 32

/* Returns the pid in path, 0 if the file is missing or holds no pid, -1 on
 * a read error (errno set). */
static long
pidfile_read(const char *path)
{
	char buf[PIDFILE_TEXT_MAX];
	const char *errstr;
	ssize_t n;
	long pid;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	pid = (long)strtonum(buf, 1, INT_MAX, &errstr);
	return errstr != NULL ? 0 : pid;
}

static bool
pidfile_pid_alive(long pid)
{
	if (pid <= 0 || pid == (long)getpid())
		return false;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int
pidfile_check(const char *path, char **error_r)
{
	long pid = pidfile_read(path);

	if (pid == -1) {
		*error_r = xasprintf("pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (pidfile_pid_alive(pid)) {
		*error_r = xasprintf("pid file %s: directord is already "
				     "running with pid %ld",
		    path, pid);
		return -1;
	}
	return 0;
}

int
pidfile_claim(const char *path, char **error_r)
{
	char *tmp, text[PIDFILE_TEXT_MAX];
	int fd, len, tries;
	bool ok;

	tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		*error_r = xasprintf("pid file %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	ok = write(fd, text, (size_t)len) == len;
	if (close(fd) == -1)
		ok = false;
	if (!ok) {
		*error_r = xasprintf("pid file %s: write failed", tmp);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	for (tries = 0;; tries++) {
		if (link(tmp, path) == 0) {
			unlink(tmp);
			free(tmp);
			return 0;
		}
		if (errno != EEXIST) {
			*error_r =
			    xasprintf("pid file %s: %s", path, strerror(errno));
			break;
		}
		if (pidfile_check(path, error_r) == -1)
			break;
		if (tries > 0) {
			*error_r =
			    xasprintf("pid file %s: cannot replace it", path);
			break;
		}
		/* stale: replace it */
		if (unlink(path) == -1 && errno != ENOENT) {
			*error_r =
			    xasprintf("pid file %s: %s", path, strerror(errno));
			break;
		}
	}
	unlink(tmp);
	free(tmp);
	return -1;
}

void
pidfile_release(const char *path)
{
	if (pidfile_read(path) == (long)getpid())
		(void)unlink(path);
}

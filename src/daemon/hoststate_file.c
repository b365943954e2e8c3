/*
 * hoststate_file.c - reading and writing the backend state file
 * (format: hoststate.h) for director.h: director_hosts_changed() and
 * director_load_state().
 *
 * Writes go to a temporary file in state_dir that is fsync'ed and
 * renamed over the old one, so a crash leaves either the old or the new
 * state, never half of one.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "director.h"
#include "engine.h"
#include "hosts.h"
#include "hoststate.h"
#include "log.h"
#include "router.h"
#include "xmalloc.h"

#define HOSTSTATE_FILE_NAME "hosts.state"
/* A state file is at most a few hundred KiB (HOSTS_MAX hosts). */
#define HOSTSTATE_FILE_MAX (4 * 1024 * 1024)

static const char *
hoststate_file_path(struct director *d)
{
	if (d->state_path == NULL)
		d->state_path =
		    xasprintf("%s/%s", d->conf->state_dir, HOSTSTATE_FILE_NAME);
	return d->state_path;
}

static int
hoststate_write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

void
director_hosts_changed(struct director *d)
{
	const char *path = hoststate_file_path(d);
	char *tmp = xasprintf("%s.tmp", path);
	const struct hosts_spec_entry *configured;
	struct buf out;
	size_t count;
	int fd;

	buf_init(&out, HOSTSTATE_FILE_MAX);
	configured = engine_configured(d->engine, &count);
	if (hoststate_encode(
		engine_hosts(d->engine), configured, count, &out) == -1) {
		log_error("state file %s: too large, not saved", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_error("state file %s: %s; runtime backend changes will "
			  "not survive a restart",
		    tmp, strerror(errno));
		goto out;
	}
	if (hoststate_write_all(fd, out.data, out.len) == -1 ||
	    fsync(fd) == -1) {
		log_error("state file %s: write: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		log_error("state file %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		goto out;
	}
	log_debug("state file %s saved: %zu backends", path,
	    hosts_count(engine_hosts(d->engine)));
out:
	buf_deinit(&out);
	free(tmp);
}

/* Reads the whole file into a malloc'ed buffer.  Returns 0, 1 when it
 * does not exist, or -1 (logged). */
static int
hoststate_read(const char *path, char **data_r, size_t *len_r)
{
	struct stat st;
	char *data;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 1;
		log_error("state file %s: %s; starting from the configuration",
		    path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > HOSTSTATE_FILE_MAX) {
		log_error("state file %s: not a regular file of at most %d "
			  "bytes; starting from the configuration",
		    path, HOSTSTATE_FILE_MAX);
		close(fd);
		return -1;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, data + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*data_r = data;
	*len_r = len;
	return 0;
}

void
director_load_state(struct director *d)
{
	const char *path = hoststate_file_path(d);
	struct hoststate_entry *entries;
	char err[256], *data = NULL;
	size_t len = 0, count;

	if (hoststate_read(path, &data, &len) != 0)
		return;
	if (hoststate_decode(data, len, &entries, &count, err, sizeof(err)) ==
	    -1) {
		log_error(
		    "state file %s: %s; ignoring it and starting from the "
		    "configuration",
		    path, err);
		free(data);
		return;
	}
	free(data);
	engine_load_state(d->engine, router_now_ms(), entries, count);
	free(entries);
	log_info("state file %s: %zu records applied", path, count);
}

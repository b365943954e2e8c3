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
#include "hosts.h"
#include "hoststate.h"
#include "log.h"
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
	struct buf out;
	int fd;

	buf_init(&out, HOSTSTATE_FILE_MAX);
	if (hoststate_encode(d->hosts, d->conf->mail_server_entries,
		d->conf->mail_server_count, &out) == -1) {
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
	log_debug(
	    "state file %s saved: %zu backends", path, hosts_count(d->hosts));
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

static void
hoststate_apply(struct director *d, const struct hoststate_entry *e)
{
	char ip[IPADDR_STR_MAX];
	struct host *h = hosts_lookup(d->hosts, &e->ip);
	const char *err = NULL;

	ipaddr_format(&e->ip, ip);
	if (e->removed) {
		if (h != NULL) {
			log_info("backend %s stays removed (state file)", ip);
			hosts_remove(d->hosts, &h);
		}
		return;
	}
	if (h == NULL) {
		h = hosts_add(d->hosts, &e->ip, e->tag, e->vhost_count, &err);
		if (h == NULL) {
			log_error("state file: backend %s: %s", ip, err);
			return;
		}
		log_info("backend %s%s%s added (state file)", ip,
		    e->tag[0] != '\0' ? "@" : "", e->tag);
	} else if (strcmp(hosts_tag_name(h->tag), e->tag) != 0)
		(void)hosts_set_tag(d->hosts, h, e->tag);
	if (h->vhost_count != e->vhost_count)
		hosts_set_vhost_count(d->hosts, h, e->vhost_count);
	hosts_set_down(d->hosts, h, e->down, e->last_updown_change);
	/* the saved time even when the state did not change (no cache
	 * depends on it) */
	h->last_updown_change = e->last_updown_change;
	if (e->down || e->vhost_count != HOST_VHOST_COUNT_DEFAULT)
		log_info("backend %s: %u vhosts, %s (state file)", ip,
		    e->vhost_count, e->down ? "down" : "up");
}

void
director_load_state(struct director *d)
{
	const char *path = hoststate_file_path(d);
	struct hoststate_entry *entries;
	char err[256], *data = NULL;
	size_t len = 0, count, i;

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
	for (i = 0; i < count; i++)
		hoststate_apply(d, &entries[i]);
	free(entries);
	log_info("state file %s: %zu records applied", path, count);
}

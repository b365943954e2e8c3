/*
 * lmtp_spool.c - where the LMTP proxy keeps a message body while it is
 * received and sent on (see lmtp_int.h): in memory up to
 * lmtp_spool_memory, else in an unlinked temporary file in
 * lmtp_spool_dir, written in pieces of LMTP_SPOOL_WRITE bytes or more.
 * The spool holds the message itself (content form): the server module
 * hands out the body as the client sent it, dot-stuffed, and the dot
 * that starts a line is dropped here (RFC 5321 4.5.2), so a BDAT chunk
 * is a plain range of the spool; DATA toward a backend stuffs again
 * (lmtp_link.c).
 *
 * Invariant: the bytes spooled by all connections together never exceed
 * lmtp_spool_memory_total in memory and lmtp_spool_disk_total in files;
 * each connection's share is given back when its spool is freed.  The
 * totals are per process: the proxies run in one thread.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "conf.h"
#include "lmtp_int.h"
#include "lmtp_proxy.h"
#include "proxy.h"

/* Bytes of a file spool gathered in memory before they are written. */
#define LMTP_SPOOL_WRITE (64 * 1024)
/* The most bytes lmtp_spool_peek() reads from a file at once. */
#define LMTP_SPOOL_PEEK_MAX (64 * 1024)

static uint64_t lmtp_spool_memory_used, lmtp_spool_disk_used;
static char lmtp_spool_peek_buf[LMTP_SPOOL_PEEK_MAX];

void
lmtp_spool_free(struct lmtp_conn *c)
{
	if (c->spool != NULL)
		evbuffer_free(c->spool);
	c->spool = NULL;
	if (c->spool_fd != -1) {
		close(c->spool_fd);
		lmtp_spool_disk_used -= c->spool_len;
	} else
		lmtp_spool_memory_used -= c->spool_len;
	c->spool_fd = -1;
	c->spool_len = 0;
	c->spool_written = 0;
	c->body_complete = false;
}

bool
lmtp_spool_budget_spent(const struct conf *conf)
{
	return lmtp_spool_memory_used >= conf->lmtp_spool_memory_total &&
	    lmtp_spool_disk_used >= conf->lmtp_spool_disk_total;
}

void
lmtp_spool_usage(uint64_t *memory_r, uint64_t *disk_r)
{
	*memory_r = lmtp_spool_memory_used;
	*disk_r = lmtp_spool_disk_used;
}

/* A new unlinked spool file in lmtp_spool_dir, which is created if it
 * does not exist.  Returns the descriptor or -1 (logged). */
static int
lmtp_spool_open(struct lmtp_conn *c)
{
	const char *dir = c->d->conf->lmtp_spool_dir;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/lmtp-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			lmtp_log(c, LOG_LEVEL_ERROR,
			    "cannot create lmtp_spool_dir %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		snprintf(path, sizeof(path), "%s/lmtp-spool.XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
	}
	if (fd == -1) {
		lmtp_log(c, LOG_LEVEL_ERROR,
		    "cannot create a spool file in lmtp_spool_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	/* nothing is left behind, even if we crash */
	(void)unlink(path);
	return fd;
}

int
lmtp_spool_sync(struct lmtp_conn *c)
{
	int n;

	while (c->spool_fd != -1 && c->spool != NULL &&
	    evbuffer_get_length(c->spool) > 0) {
		/* writev(2) of the buffer's pieces */
		n = evbuffer_write(c->spool, c->spool_fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			lmtp_log(c, LOG_LEVEL_ERROR, "spool file write: %s",
			    n == 0 ? "nothing written" : strerror(errno));
			return -1;
		}
		c->spool_written += (uint64_t)n;
	}
	return 0;
}

/* Moves the memory spool of c to a new file. */
static enum lmtp_spool_result
lmtp_spool_to_file(struct lmtp_conn *c)
{
	c->spool_fd = lmtp_spool_open(c);
	if (c->spool_fd == -1)
		return LMTP_SPOOL_ERROR;
	lmtp_spool_memory_used -= c->spool_len;
	lmtp_spool_disk_used += c->spool_len;
	c->spool_written = 0;
	return lmtp_spool_sync(c) == 0 ? LMTP_SPOOL_OK : LMTP_SPOOL_ERROR;
}

enum lmtp_spool_result
lmtp_spool_add(struct lmtp_conn *c, const char *data, size_t len)
{
	const struct conf *conf = c->d->conf;
	size_t added = 0;

	/* len bounds what is added (stuffing dots are dropped) */
	if (c->spool_fd == -1 &&
	    (c->spool_len + len > conf->lmtp_spool_memory ||
		lmtp_spool_memory_used + len > conf->lmtp_spool_memory_total)) {
		if (lmtp_spool_disk_used + c->spool_len + len >
		    conf->lmtp_spool_disk_total)
			return LMTP_SPOOL_FULL;
		if (lmtp_spool_to_file(c) != LMTP_SPOOL_OK)
			return LMTP_SPOOL_ERROR;
	}
	if (c->spool_fd != -1 &&
	    lmtp_spool_disk_used + len > conf->lmtp_spool_disk_total)
		return LMTP_SPOOL_FULL;
	/* the server module starts a chunk at each line that starts with
	 * a dot: no need to look further than its first byte */
	if (c->spool_bol && len > 0 && data[0] == '.') {
		/* the dot of dot-stuffing (the end marker is out already) */
		data++;
		len--;
	}
	if (len > 0) {
		if (evbuffer_add(c->spool, data, len) == -1)
			return LMTP_SPOOL_ERROR;
		added = len;
	}
	c->spool_bol = len > 0 && data[len - 1] == '\n';
	c->spool_len += added;
	if (c->spool_fd == -1) {
		lmtp_spool_memory_used += added;
		return LMTP_SPOOL_OK;
	}
	lmtp_spool_disk_used += added;
	if (evbuffer_get_length(c->spool) >= LMTP_SPOOL_WRITE &&
	    lmtp_spool_sync(c) == -1)
		return LMTP_SPOOL_ERROR;
	return LMTP_SPOOL_OK;
}

uint64_t
lmtp_spool_readable(const struct lmtp_conn *c)
{
	if (c->spool == NULL)
		return 0;
	return c->spool_fd != -1 ? c->spool_written : c->spool_len;
}

int
lmtp_spool_send(
    struct lmtp_conn *c, struct evbuffer *out, uint64_t off, size_t len)
{
	const char *p;
	ssize_t n;
	int fd;

	if (off + len > lmtp_spool_readable(c))
		return -1;
	if (c->spool_fd != -1) {
		/* the segment owns (and closes) a descriptor of its own, so
		 * it outlives the spool safely */
		fd = dup(c->spool_fd);
		if (fd == -1)
			return -1;
		if (evbuffer_add_file(out, fd, (ev_off_t)off, (ev_off_t)len) ==
		    -1) {
			close(fd);
			return -1;
		}
		return 0;
	}
	while (len > 0) {
		n = lmtp_spool_peek(c, off, len, &p);
		if (n <= 0 || evbuffer_add(out, p, (size_t)n) == -1)
			return -1;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
lmtp_spool_peek(
    struct lmtp_conn *c, uint64_t off, size_t len, const char **data_r)
{
	struct evbuffer_ptr pos;
	struct evbuffer_iovec vec;
	ssize_t n;

	if (len == 0 || off + len > lmtp_spool_readable(c))
		return -1;
	if (c->spool_fd == -1) {
		if (evbuffer_ptr_set(
			c->spool, &pos, (size_t)off, EVBUFFER_PTR_SET) == -1 ||
		    evbuffer_peek(c->spool, (ev_ssize_t)len, &pos, &vec, 1) < 1)
			return -1;
		*data_r = vec.iov_base;
		return (ssize_t)MIN_OF(len, vec.iov_len);
	}
	len = MIN_OF(len, sizeof(lmtp_spool_peek_buf));
	do
		n = pread(c->spool_fd, lmtp_spool_peek_buf, len, (off_t)off);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		lmtp_log(c, LOG_LEVEL_ERROR, "spool file read: %s",
		    n == 0 ? "short file" : strerror(errno));
		return -1;
	}
	*data_r = lmtp_spool_peek_buf;
	return n;
}

/*
 * lmtp_spool.c - where the LMTP proxy keeps a message body while it is
 * received (see lmtp_int.h): in memory up to lmtp_spool_memory, else in
 * an unlinked temporary file in lmtp_spool_dir, written in pieces of
 * LMTP_SPOOL_WRITE bytes or more (a body may come in small chunks).
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
#include <unistd.h>

#include <event2/buffer.h>

#include "conf.h"
#include "lmtp_int.h"
#include "lmtp_proxy.h"
#include "proxy.h"

/* Bytes of a file spool gathered in memory before they are written. */
#define LMTP_SPOOL_WRITE (64 * 1024)

static uint64_t lmtp_spool_memory_used, lmtp_spool_disk_used;

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

	if (c->spool_fd == -1 &&
	    (c->spool_len + len > conf->lmtp_spool_memory ||
		lmtp_spool_memory_used + len > conf->lmtp_spool_memory_total)) {
		if (lmtp_spool_disk_used + c->spool_len + len >
		    conf->lmtp_spool_disk_total)
			return LMTP_SPOOL_FULL;
		if (lmtp_spool_to_file(c) != LMTP_SPOOL_OK)
			return LMTP_SPOOL_ERROR;
	}
	if (c->spool_fd == -1) {
		if (evbuffer_add(c->spool, data, len) == -1)
			return LMTP_SPOOL_ERROR;
		c->spool_len += len;
		lmtp_spool_memory_used += len;
		return LMTP_SPOOL_OK;
	}
	if (lmtp_spool_disk_used + len > conf->lmtp_spool_disk_total)
		return LMTP_SPOOL_FULL;
	/* gathered, written in large pieces */
	if (evbuffer_add(c->spool, data, len) == -1)
		return LMTP_SPOOL_ERROR;
	c->spool_len += len;
	lmtp_spool_disk_used += len;
	if (evbuffer_get_length(c->spool) >= LMTP_SPOOL_WRITE &&
	    lmtp_spool_sync(c) == -1)
		return LMTP_SPOOL_ERROR;
	return LMTP_SPOOL_OK;
}

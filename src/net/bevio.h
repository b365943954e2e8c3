/*
 * bevio.h - write-through for libevent socket bufferevents.
 *
 * bufferevent_write() never writes at once: it queues the bytes, enables
 * the write event (one epoll_ctl), waits for the next loop round, writes,
 * and disables the event again (another epoll_ctl).  A proxied IMAP
 * session writes a handful of short lines each way: with that round trip
 * for each, directord made about 58 system calls per LOGIN + SELECT +
 * LOGOUT session, 22 of them epoll_ctl(); writing through, 45 and 12
 * (strace -c, bench/imap_load).  These functions send at once
 * when nothing is queued ahead and the bufferevent is a plain socket (not
 * TLS, not a filter), and queue only what the kernel did not take, so the
 * order of bytes and the bufferevent's error reporting are unchanged: a
 * failed send() queues everything and the bufferevent's own write then
 * reports the error through its event callback as before.
 *
 * bevio_drain_wipe() is the drain for input that may hold credentials.
 */
#ifndef DIRECTOR_BEVIO_H
#define DIRECTOR_BEVIO_H

#include <stddef.h>

struct bufferevent;
struct evbuffer;

/* Sends len bytes of data on bev (queueing what cannot go now). */
void bevio_write(struct bufferevent *bev, const void *data, size_t len);

/* Moves all of buf to bev, sending what can go now; buf ends empty. */
void bevio_write_buffer(struct bufferevent *bev, struct evbuffer *buf);

/* Drains the first len bytes of buf (all of it when it holds fewer),
 * zeroing them first where they lie, so that a password read from a
 * client does not stay in freed or reused buffer memory. */
void bevio_drain_wipe(struct evbuffer *buf, size_t len);

/* Makes libevent's per-descriptor map of base hold descriptors 0 to
 * max - 1 now.  libevent allocates a small entry the first time it sees a
 * descriptor number and keeps it for good; made during a burst of
 * sessions, those entries lie among the sessions' buffers and keep their
 * pages from going back to the system when the burst is over.  Call it
 * before the first connection, while no other thread opens or closes
 * descriptors (a worker's base: before its thread starts). */
struct event_base;
void bevio_presize_fdmap(struct event_base *base, int max);
/* Whether this thread is in bevio_presize_fdmap(): libevent's warnings
 * (each refused descriptor) are expected then, not worth a log line. */
bool bevio_quiet(void);
/* The descriptors this process may open (RLIMIT_NOFILE), at most
 * BEVIO_FD_MAP_MAX: the max for bevio_presize_fdmap(). */
#define BEVIO_FD_MAP_MAX 131072
int bevio_fd_max(void);

/* Stops reading bev and frees it once its pending output is written (or
 * an error or a timeout ends it first): a last reply, then the close. */
void bevio_close_after_output(struct bufferevent *bev);

#endif

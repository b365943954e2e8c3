/*
 * chan.c - a message channel into one event loop (see chan.h).
 *
 * Invariants: the queue (head, tail) changes only under the mutex; the
 * eventfd counter is non-zero whenever the queue is not empty and the
 * receiver has not taken it yet, because the post that made it non-empty
 * wrote to it; the receiver takes the whole queue at once and runs it
 * outside the lock, so a message may post to its own channel.
 */
#include "compat.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "xmalloc.h"

struct chan {
	pthread_mutex_t lock;
	struct chan_msg *head, *tail;
	int efd;
	struct event *ev;
};

/* Takes the whole queue. */
static struct chan_msg *
chan_take(struct chan *ch)
{
	struct chan_msg *m;
	uint64_t n;

	(void)pthread_mutex_lock(&ch->lock);
	m = ch->head;
	ch->head = ch->tail = NULL;
	/* reset the counter with the queue, under the same lock, so that a
	 * post after this unlock wakes the loop again */
	while (read(ch->efd, &n, sizeof(n)) == -1 && errno == EINTR)
		;
	(void)pthread_mutex_unlock(&ch->lock);
	return m;
}

void
chan_run(struct chan *ch)
{
	struct chan_msg *m, *next;

	for (m = chan_take(ch); m != NULL; m = next) {
		next = m->next;
		m->fn(m);
	}
}

static void
chan_on_event(evutil_socket_t fd, short what, void *arg)
{
	chan_run(arg);
}

struct chan *
chan_new(struct event_base *base)
{
	struct chan *ch = xcalloc(1, sizeof(*ch));

	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd == -1) {
		log_error("eventfd: %s", strerror(errno));
		free(ch);
		return NULL;
	}
	ch->ev =
	    event_new(base, ch->efd, EV_READ | EV_PERSIST, chan_on_event, ch);
	if (ch->ev == NULL || event_add(ch->ev, NULL) == -1) {
		log_error("cannot watch a message channel");
		if (ch->ev != NULL)
			event_free(ch->ev);
		close(ch->efd);
		free(ch);
		return NULL;
	}
	(void)pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

void
chan_post(struct chan *ch, struct chan_msg *m, chan_fn *fn)
{
	const uint64_t one = 1;
	bool was_empty;

	m->fn = fn;
	m->next = NULL;
	(void)pthread_mutex_lock(&ch->lock);
	was_empty = ch->head == NULL;
	if (was_empty)
		ch->head = m;
	else
		ch->tail->next = m;
	ch->tail = m;
	if (was_empty) {
		while (
		    write(ch->efd, &one, sizeof(one)) == -1 && errno == EINTR)
			;
	}
	(void)pthread_mutex_unlock(&ch->lock);
}

void
chan_free(struct chan **chp)
{
	struct chan *ch = *chp;

	if (ch == NULL)
		return;
	*chp = NULL;
	chan_run(ch);
	event_free(ch->ev);
	close(ch->efd);
	(void)pthread_mutex_destroy(&ch->lock);
	free(ch);
}

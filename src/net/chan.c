/*
 * chan.c - a message channel into one event loop (see chan.h).
 *
 * Invariants: the queue (head, tail) and signaled change only under the
 * mutex; signaled says that the eventfd counter is non-zero, and it is
 * whenever the queue holds a message posted eagerly that the receiver has
 * not taken yet (that post wrote to it unless it was already signaled);
 * a queue of lazy messages alone is taken by the sweep timer at the
 * latest; the receiver takes the whole queue at once and runs it outside
 * the lock, so a message may post to its own channel.
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
	bool signaled;
	int efd;
	struct event *ev;
	struct event *sweep; /* runs lazy messages nobody woke the loop for */
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
	if (ch->signaled) {
		while (read(ch->efd, &n, sizeof(n)) == -1 && errno == EINTR)
			;
		ch->signaled = false;
	}
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

static void
chan_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;
	bool queued;

	(void)pthread_mutex_lock(&ch->lock);
	queued = ch->head != NULL;
	(void)pthread_mutex_unlock(&ch->lock);
	if (queued)
		chan_run(ch);
}

struct chan *
chan_new(struct event_base *base)
{
	const struct timeval sweep = {0, CHAN_LAZY_MS * 1000};
	struct chan *ch = xcalloc(1, sizeof(*ch));

	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd == -1) {
		log_error("eventfd: %s", strerror(errno));
		free(ch);
		return NULL;
	}
	ch->ev =
	    event_new(base, ch->efd, EV_READ | EV_PERSIST, chan_on_event, ch);
	ch->sweep = event_new(base, -1, EV_PERSIST, chan_on_sweep, ch);
	if (ch->ev == NULL || event_add(ch->ev, NULL) == -1 ||
	    ch->sweep == NULL || event_add(ch->sweep, &sweep) == -1) {
		log_error("cannot watch a message channel");
		if (ch->ev != NULL)
			event_free(ch->ev);
		if (ch->sweep != NULL)
			event_free(ch->sweep);
		close(ch->efd);
		free(ch);
		return NULL;
	}
	(void)pthread_mutex_init(&ch->lock, NULL);
	return ch;
}

static void
chan_queue(struct chan *ch, struct chan_msg *m, chan_fn *fn, bool wake)
{
	const uint64_t one = 1;

	m->fn = fn;
	m->next = NULL;
	(void)pthread_mutex_lock(&ch->lock);
	if (ch->head == NULL)
		ch->head = m;
	else
		ch->tail->next = m;
	ch->tail = m;
	if (wake && !ch->signaled) {
		while (
		    write(ch->efd, &one, sizeof(one)) == -1 && errno == EINTR)
			;
		ch->signaled = true;
	}
	(void)pthread_mutex_unlock(&ch->lock);
}

void
chan_post(struct chan *ch, struct chan_msg *m, chan_fn *fn)
{
	chan_queue(ch, m, fn, true);
}

void
chan_post_lazy(struct chan *ch, struct chan_msg *m, chan_fn *fn)
{
	chan_queue(ch, m, fn, false);
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
	event_free(ch->sweep);
	close(ch->efd);
	(void)pthread_mutex_destroy(&ch->lock);
	free(ch);
}

/*
 * chan.h - a message channel into one event loop, from any thread.
 *
 * Workers and the main thread each run an event loop; they never touch
 * each other's data, they send messages.  A message is a struct chan_msg
 * embedded (first) in the sender's allocation, with the function that the
 * receiving loop runs on it; ownership passes with it: the function frees
 * it.  Messages of one channel run in the order they were posted, on the
 * receiving loop's thread, each exactly once (chan_free() runs those still
 * queued).  A post takes a mutex and, unless the receiver was woken
 * already, writes to an eventfd: a burst of messages costs one wake-up.
 * A lazy post wakes nobody: its message runs with the next one that does,
 * or at the receiving loop's next sweep (every CHAN_LAZY_MS), so that
 * messages nobody waits for (a session's end, say) do not cost a thread
 * wake-up each.
 */
#ifndef DIRECTOR_CHAN_H
#define DIRECTOR_CHAN_H

/* Longest a lazily posted message waits for its loop. */
#define CHAN_LAZY_MS 100

struct chan;
struct chan_msg;
struct event_base;

typedef void chan_fn(struct chan_msg *m);

struct chan_msg {
	struct chan_msg *next; /* the channel's */
	chan_fn *fn;
};

/* A channel whose messages run on base's loop; NULL if it cannot be made
 * (eventfd, event; logged). */
struct chan *chan_new(struct event_base *base);

/* Queues m (with m->fn set) from any thread. */
void chan_post(struct chan *ch, struct chan_msg *m, chan_fn *fn);

/* Queues m without waking the receiving loop (see above). */
void chan_post_lazy(struct chan *ch, struct chan_msg *m, chan_fn *fn);

/* Runs what is queued now, on the receiving thread (the loop does it by
 * itself; for shutdown paths that will not run the loop again). */
void chan_run(struct chan *ch);

/* Frees the channel on the receiving thread, after running what is still
 * queued; no thread may post to it any more.  Clears *chp. */
void chan_free(struct chan **chp);

#endif

/*
 * test_chan.c - the message channel: messages posted from other threads
 * run on the receiving loop, each once, in each sender's order; a
 * message may post to its own channel; chan_free() runs what is left;
 * lazy posts wake nobody but run with the next eager one, keeping the
 * order, or by the sweep.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "compat.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "chan.h"

#define SENDERS 4
#define PER_SENDER 20000

struct test_msg {
	struct chan_msg m;
	int sender;
	int seq;
};

static struct event_base *base;
static struct chan *ch;
static int next_seq[SENDERS + 1];
static int received, order_errors;

static void
on_msg(struct chan_msg *m)
{
	struct test_msg *t = (struct test_msg *)m;

	if (t->seq != next_seq[t->sender])
		order_errors++;
	next_seq[t->sender] = t->seq + 1;
	received++;
	free(t);
	if (received == SENDERS * PER_SENDER)
		event_base_loopbreak(base);
}

static void *
sender(void *arg)
{
	int id = (int)(intptr_t)arg, i;
	struct test_msg *t;

	for (i = 0; i < PER_SENDER; i++) {
		t = calloc(1, sizeof(*t));
		t->sender = id;
		t->seq = i;
		/* sender 0 posts every message lazily, sender 1 every
		 * other one */
		if (id == 0 || (id == 1 && i % 2 == 0))
			chan_post_lazy(ch, &t->m, on_msg);
		else
			chan_post(ch, &t->m, on_msg);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t th[SENDERS];
	int i;

	base = event_base_new();
	ch = chan_new(base);
	assert_non_null(ch);
	for (i = 0; i < SENDERS; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, sender, (void *)(intptr_t)i),
		    0);
	assert_int_equal(event_base_dispatch(base), 0);
	for (i = 0; i < SENDERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(received, SENDERS * PER_SENDER);
	assert_int_equal(order_errors, 0);
	chan_free(&ch);
	assert_null(ch);
	event_base_free(base);
}

static int chained;

static void
on_chained(struct chan_msg *m)
{
	struct test_msg *t = (struct test_msg *)m;

	chained++;
	if (t->seq < 9) {
		t->seq++;
		chan_post(ch, &t->m, on_chained); /* to its own channel */
		return;
	}
	free(t);
	event_base_loopbreak(base);
}

static void
test_post_from_message_and_free(void **state)
{
	struct test_msg *t = calloc(1, sizeof(*t));

	base = event_base_new();
	ch = chan_new(base);
	chained = 0;
	chan_post(ch, &t->m, on_chained);
	assert_int_equal(event_base_dispatch(base), 0);
	assert_int_equal(chained, 10);
	/* queued but never run by the loop: chan_free() runs it */
	received = 0;
	memset(next_seq, 0, sizeof(next_seq));
	t = calloc(1, sizeof(*t));
	t->sender = SENDERS;
	chan_post(ch, &t->m, on_msg);
	chan_free(&ch);
	assert_int_equal(received, 1);
	event_base_free(base);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct test_msg *
test_msg_new(int sender, int seq)
{
	struct test_msg *t = calloc(1, sizeof(*t));

	t->sender = sender;
	t->seq = seq;
	return t;
}

static void
test_lazy(void **state)
{
	uint64_t start;

	base = event_base_new();
	start = now_ms();
	ch = chan_new(base);
	received = order_errors = 0;
	memset(next_seq, 0, sizeof(next_seq));
	/* a lazy message alone does not wake the loop (unless the sweep
	 * came round in the meantime: then there is nothing to check) */
	chan_post_lazy(ch, &test_msg_new(0, 0)->m, on_msg);
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	if (now_ms() - start < CHAN_LAZY_MS)
		assert_int_equal(received, 0);
	/* an eager one wakes it, and both run, in order */
	chan_post(ch, &test_msg_new(0, 1)->m, on_msg);
	chan_post_lazy(ch, &test_msg_new(0, 2)->m, on_msg);
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	assert_int_equal(received, 3);
	assert_int_equal(order_errors, 0);
	/* a lazy one alone runs at the sweep */
	chan_post_lazy(ch, &test_msg_new(0, 3)->m, on_msg);
	while (received < 4)
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	assert_int_equal(order_errors, 0);
	chan_free(&ch);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_post_from_message_and_free),
	    cmocka_unit_test(test_lazy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

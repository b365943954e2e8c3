/*
 * memtrim.c - gives memory back to the system after a burst (see
 * memtrim.h).  glibc's malloc_trim() releases the free pages of the whole
 * heap, not only its top, so the memory of sessions that have ended
 * returns even when live ones sit above it.
 */
#include "compat.h"

#include <malloc.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "memtrim.h"
#include "xmalloc.h"

struct memtrim {
	struct event *timer;
	/* free heap bytes right after the last trim: what was given back
	 * still counts as free, so only growth beyond it is new */
	size_t trimmed_free;
	unsigned int since_trim; /* checks since the last trim */
};

static void
memtrim_arm(struct memtrim *m)
{
	struct timeval tv = {
	    MEMTRIM_INTERVAL_MS / 1000, (MEMTRIM_INTERVAL_MS % 1000) * 1000};

	evtimer_add(m->timer, &tv);
}

static void
memtrim_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct memtrim *m = arg;
	struct mallinfo2 mi = mallinfo2();
	size_t grown;

	if (mi.fordblks < m->trimmed_free)
		m->trimmed_free = mi.fordblks; /* reused since */
	grown = mi.fordblks - m->trimmed_free;
	m->since_trim++;
	/* a burst, or the tail of one once things are quiet */
	if ((grown > MEMTRIM_FREE_MIN ||
		(grown > MEMTRIM_FREE_QUIET &&
		    m->since_trim >= MEMTRIM_QUIET_CHECKS)) &&
	    mi.fordblks > mi.uordblks / 4) {
		log_debug("giving back free heap memory: %zu KiB free, %zu KiB "
			  "in use",
		    mi.fordblks / 1024, mi.uordblks / 1024);
		(void)malloc_trim(0);
		m->trimmed_free = mallinfo2().fordblks;
		m->since_trim = 0;
	}
	memtrim_arm(m);
}

struct memtrim *
memtrim_start(struct event_base *base)
{
	struct memtrim *m = xcalloc(1, sizeof(*m));

	m->timer = evtimer_new(base, memtrim_on_timer, m);
	if (m->timer == NULL) {
		log_warn("cannot start the memory trim timer");
		free(m);
		return NULL;
	}
	memtrim_arm(m);
	return m;
}

void
memtrim_free(struct memtrim **mp)
{
	struct memtrim *m = *mp;

	if (m == NULL)
		return;
	*mp = NULL;
	event_free(m->timer);
	free(m);
}

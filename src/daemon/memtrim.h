/*
 * memtrim.h - gives memory back to the system after a burst.
 *
 * Sessions allocate while they log in (protocol buffers, TLS handshakes)
 * and free it all soon after; the allocator keeps the freed pages, so the
 * process would stay at the peak of the largest burst it ever served.
 * Once a second, when the free bytes of the heap have grown by more than
 * MEMTRIM_FREE_MIN since the last trim (or by more than MEMTRIM_FREE_QUIET
 * and the last trim is MEMTRIM_QUIET_CHECKS checks ago) and are more than
 * a quarter of what is in use, malloc_trim() hands the free pages back.
 * What stays is pages that also hold live objects (users still assigned,
 * say) until those go too.
 */
#ifndef DIRECTOR_MEMTRIM_H
#define DIRECTOR_MEMTRIM_H

struct event_base;
struct memtrim;

#define MEMTRIM_INTERVAL_MS 1000
#define MEMTRIM_FREE_MIN (4 * 1024 * 1024)
#define MEMTRIM_FREE_QUIET (256 * 1024)
#define MEMTRIM_QUIET_CHECKS 10

/* Starts the check on base; NULL if the timer cannot be made (logged). */
struct memtrim *memtrim_start(struct event_base *base);
void memtrim_free(struct memtrim **mp);

#endif

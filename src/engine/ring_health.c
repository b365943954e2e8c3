/*
 * ring_health.c - health checks shared across a ring of our directors
 * (our X-HOST-HEALTH, sent only to peers that offered x-fence-rounds and
 * used only while the last SYNC round saw directors of ours only, as the
 * removal fences are: see ring_host_fences()).
 *
 * Every director checks every backend.  The first whose checker finds
 * one dead marks it down ring-wide and owns that verdict: it moves the
 * backend's users off it (the others only stop giving it new users), and
 * only it marks the backend up again, when its own checker says so
 * (dovemon's rule: monitors on several directors cannot fight over the
 * state).  The owner says its verdict again every
 * RING_HEALTH_REASSERT_MS; if it is not heard for RING_HEALTH_LAPSE_MS
 * (it left the ring, or it is cut off), its verdict lapses and the next
 * director's own checker decides: down, and it takes the duty over; up,
 * and it marks the backend up.  Flips are as rare as each checker's
 * rise, fall and hold allow, and logged with the director behind them.
 */
#include "compat.h"

#include <string.h>

#include "log.h"
#include "ring_int.h"

/* How often the owner of a down verdict says it again, and how long
 * the others wait for that before the verdict lapses. */
#define RING_HEALTH_REASSERT_MS 20000
#define RING_HEALTH_LAPSE_MS 65000

static bool
ring_health_owned(const struct engine *e, const struct host *host)
{
	const struct ring_addr *self = &e->ring->self->addr;

	return host->health_owner_port == self->port &&
	    ipaddr_equals(&host->health_owner, &self->ip);
}

/* <0, 0, >0: host's verdict owner is lower than, the same as, higher
 * than d. */
static int
ring_health_owner_cmp(
    const struct host *host, const struct ringwire_director *d)
{
	int c = ipaddr_cmp(&host->health_owner, &d->ip);

	return c != 0 ? c : (int)host->health_owner_port - (int)d->port;
}

/* X-HOST-HEALTH for host as it is now, owned by owner/port. */
static void
ring_health_announce(struct engine *e, const struct host *host,
    const struct ipaddr *owner, uint16_t port)
{
	struct ringwire_msg *m = &e->ring->msg;

	memset(m, 0, sizeof(*m));
	m->cmd = RINGWIRE_X_HOST_HEALTH;
	m->host.ip = host->ip;
	m->host.down = host->unhealthy;
	m->round.ip = *owner;
	m->round.port = port;
	ring_originate(e, m);
	ring_flood(e, NULL, m);
}

/* We own host's down verdict from now on. */
static void
ring_health_take(struct engine *e, struct host *host, const char *why)
{
	const struct ring_addr *self = &e->ring->self->addr;

	host->health_owner = self->ip;
	host->health_owner_port = self->port;
	host->health_owner_ms = e->now_ms;
	engine_health_apply(e, host, false, true, why);
	ring_health_announce(e, host, &self->ip, self->port);
}

/* host is up again: said to the ring in the name of the verdict's owner
 * (so that every director drops that one). */
static void
ring_health_release(struct engine *e, struct host *host, const char *why)
{
	struct ipaddr owner = host->health_owner;
	uint16_t port = host->health_owner_port;

	memset(&host->health_owner, 0, sizeof(host->health_owner));
	host->health_owner_port = 0;
	engine_health_apply(e, host, true, false, why);
	ring_health_announce(e, host, &owner, port);
}

bool
ring_health_verdict(struct engine *e, struct host *host, const char *why)
{
	char reason[160];

	if (!ring_host_fences(e))
		return false;
	if (host->health_local_down) {
		if (!host->unhealthy)
			ring_health_take(e, host, why);
		return true;
	}
	if (!host->unhealthy)
		return true;
	if (host->health_owner_port == 0 || ring_health_owned(e, host)) {
		snprintf(reason, sizeof(reason), "%s; said to the ring", why);
		ring_health_release(e, host, reason);
		return true;
	}
	log_info("backend %s: our checker finds it up again, but another "
		 "director's checker marked it down: it stays down until "
		 "that one says otherwise",
	    host->ip_str);
	return true;
}

void
ring_handle_host_health(
    struct engine *e, struct ring_link *l, const struct ringwire_msg *msg)
{
	struct host *host = hosts_lookup(e->hosts, &msg->host.ip);
	char why[96], ip[IPADDR_STR_MAX];

	ring_flood(e, l, msg);
	if (host == NULL)
		return;
	snprintf(why, sizeof(why), "%s by the checker of %s:%u",
	    msg->host.down ? "marked down" : "marked up",
	    ipaddr_format(&msg->round.ip, ip), (unsigned int)msg->round.port);
	if (msg->host.down) {
		/* one owner: two that marked it down at once agree on the
		 * lower address */
		if (host->health_owner_port == 0 || !host->unhealthy ||
		    ring_health_owner_cmp(host, &msg->round) >= 0) {
			host->health_owner = msg->round.ip;
			host->health_owner_port = msg->round.port;
			host->health_owner_ms = e->now_ms;
		}
		engine_health_apply(e, host, false, false, why);
		return;
	}
	if (host->health_owner_port != 0 &&
	    (host->health_owner_port != msg->round.port ||
		!ipaddr_equals(&host->health_owner, &msg->round.ip)))
		return; /* not the verdict we follow */
	memset(&host->health_owner, 0, sizeof(host->health_owner));
	host->health_owner_port = 0;
	engine_health_apply(e, host, true, false, why);
}

void
ring_health_tick(struct engine *e)
{
	const struct ring_addr *self = &e->ring->self->addr;
	struct host *host;
	size_t i;

	if (!ring_host_fences(e))
		return;
	for (i = 0; i < hosts_count(e->hosts); i++) {
		host = hosts_get(e->hosts, i);
		if (!host->unhealthy || host->health_owner_port == 0)
			continue;
		if (ring_health_owned(e, host)) {
			if (e->now_ms - host->health_owner_ms >=
			    RING_HEALTH_REASSERT_MS) {
				host->health_owner_ms = e->now_ms;
				ring_health_announce(
				    e, host, &self->ip, self->port);
			}
			continue;
		}
		if (e->now_ms - host->health_owner_ms < RING_HEALTH_LAPSE_MS)
			continue;
		/* its owner is gone: our own checker decides */
		if (host->health_local_down) {
			log_info("backend %s: the director that marked it down "
				 "is not heard any more: our checker takes the "
				 "duty over",
			    host->ip_str);
			host->unhealthy = false; /* taken again below */
			ring_health_take(e, host, "still down here");
		} else
			ring_health_release(e, host,
			    "its owner is not heard any more and our checker "
			    "finds it up");
	}
}

uint64_t
ring_health_deadline(const struct engine *e, uint64_t next)
{
	const struct host *host;
	uint64_t at;
	size_t i;

	for (i = 0; i < hosts_count(e->hosts); i++) {
		host = hosts_get(e->hosts, i);
		if (!host->unhealthy || host->health_owner_port == 0)
			continue;
		at = host->health_owner_ms + RING_HEALTH_REASSERT_MS;
		if (at < next)
			next = at;
	}
	return next;
}

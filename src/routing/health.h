/*
 * health.h - the health verdict on one backend, from the results of its
 * checks (pure: time comes in as now_ms, nothing here opens a socket).
 *
 * The shell runs a check when health_due() says so and reports each
 * result; the verdict flips only after `fall` failed checks in a row
 * (down) or `rise` good ones (up).  A result that disagrees with the
 * verdict starts the rapid re-check phase: the next checks come every
 * recheck_ms instead of every interval_ms, so a dead backend is found
 * within interval + (fall - 1) * recheck (plus the timeouts), and a
 * single lost packet is not enough.  Flips are rate-limited: a backend
 * that went down stays down for at least hold_ms (flapping costs the
 * users of the backend a move each time, so it must not go faster).
 * Going down is never delayed: it stops new users from reaching a
 * backend that does not answer.
 *
 * A failed login to the backend may ask for an early check
 * (health_recheck_soon()), never earlier than recheck_ms after the last
 * one, so a storm of failed logins cannot become a storm of checks.
 */
#ifndef DIRECTOR_HEALTH_H
#define DIRECTOR_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* Longest text kept about the last check. */
#define HEALTH_TEXT_MAX 160

struct health_settings {
	uint64_t interval_ms; /* between checks while nothing changes */
	uint64_t timeout_ms; /* of one check (the shell enforces it) */
	uint64_t recheck_ms; /* between checks of the rapid phase */
	uint64_t hold_ms; /* least time down before up again */
	unsigned int rise; /* good checks in a row to go up (>= 1) */
	unsigned int fall; /* failed checks in a row to go down (>= 1) */
};

enum health_result {
	HEALTH_RESULT_NONE, /* no check has finished yet */
	HEALTH_RESULT_OK,
	HEALTH_RESULT_WARN, /* up, but something to look at */
	HEALTH_RESULT_FAIL,
};

enum health_change {
	HEALTH_SAME,
	HEALTH_WENT_DOWN,
	HEALTH_WENT_UP,
};

/* One backend's checker state.  Read the fields freely; change them only
 * through the functions below. */
struct health {
	bool up; /* the verdict */
	bool running; /* a check is under way */
	unsigned int streak; /* results in a row that disagree with up */
	uint64_t next_ms; /* when the next check is due */
	uint64_t flipped_ms; /* when the verdict last changed (0: never) */
	uint64_t last_ms; /* when the last check ended (0: none yet) */
	uint64_t latency_ms; /* of the last check */
	enum health_result last;
	char text[HEALTH_TEXT_MAX]; /* what the last check saw */
};

/* A backend taken as up (so a restart does not stop routing), its first
 * check due at now_ms + offset_ms (the shell spreads the backends over
 * the interval). */
void health_init(struct health *h, uint64_t now_ms, uint64_t offset_ms);

/* Whether a check should start now. */
bool health_due(const struct health *h, uint64_t now_ms);
/* A check started (no other starts until its result). */
void health_started(struct health *h, uint64_t now_ms);
/*
 * A check ended with result (OK, WARN or FAIL), latency_ms after it
 * started, and text (what it saw; copied, may be cut).  Returns whether
 * the verdict changed.  The next check is scheduled.
 */
enum health_change health_finished(struct health *h,
    const struct health_settings *set, uint64_t now_ms,
    enum health_result result, uint64_t latency_ms, const char *text);
/* Asks for a check soon (a login to the backend failed). */
void health_recheck_soon(
    struct health *h, const struct health_settings *set, uint64_t now_ms);
/* Sets the verdict from outside (a peer director's checker); the
 * counters start again. */
void health_set(struct health *h, bool up, uint64_t now_ms);

/* "ok", "warning", "failed" or "none". */
const char *health_result_name(enum health_result result);

#endif

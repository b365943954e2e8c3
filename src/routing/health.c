/*
 * health.c - the health verdict on one backend (see health.h).
 *
 * Invariants: the verdict flips only when `streak` results in a row have
 * disagreed with it (fall to go down, rise to go up), and never up
 * within hold_ms of going down; streak is 0 whenever the last result
 * agreed with the verdict.
 */
#include "compat.h"

#include <string.h>

#include "health.h"

void
health_init(struct health *h, uint64_t now_ms, uint64_t offset_ms)
{
	memset(h, 0, sizeof(*h));
	h->up = true;
	h->next_ms = now_ms + offset_ms;
}

bool
health_due(const struct health *h, uint64_t now_ms)
{
	return !h->running && h->next_ms <= now_ms;
}

void
health_started(struct health *h, uint64_t now_ms)
{
	h->running = true;
	/* a check that never reports must not stop the schedule */
	h->next_ms = UINT64_MAX;
}

static uint64_t
health_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

enum health_change
health_finished(struct health *h, const struct health_settings *set,
    uint64_t now_ms, enum health_result result, uint64_t latency_ms,
    const char *text)
{
	bool good = result != HEALTH_RESULT_FAIL;
	enum health_change change = HEALTH_SAME;
	uint64_t up_at;

	h->running = false;
	h->last = result;
	h->last_ms = now_ms;
	h->latency_ms = latency_ms;
	strlcpy(h->text, text != NULL ? text : "", sizeof(h->text));
	if (good == h->up) {
		h->streak = 0;
		h->next_ms = now_ms + set->interval_ms;
		return HEALTH_SAME;
	}
	h->streak++;
	/* the rapid phase: confirm (or refute) the change soon */
	h->next_ms = now_ms + set->recheck_ms;
	if (!good && h->streak >= set->fall) {
		h->up = false;
		change = HEALTH_WENT_DOWN;
	} else if (good && h->streak >= set->rise) {
		up_at = h->flipped_ms + set->hold_ms;
		if (h->flipped_ms == 0 || up_at <= now_ms) {
			h->up = true;
			change = HEALTH_WENT_UP;
		} else {
			/* held down: look again when the hold ends */
			h->next_ms = health_min(now_ms + set->interval_ms,
			    up_at > now_ms + set->recheck_ms
				? up_at
				: now_ms + set->recheck_ms);
		}
	}
	if (change != HEALTH_SAME) {
		h->flipped_ms = now_ms;
		h->streak = 0;
		h->next_ms = now_ms + set->interval_ms;
	}
	return change;
}

void
health_recheck_soon(
    struct health *h, const struct health_settings *set, uint64_t now_ms)
{
	uint64_t at = h->last_ms + set->recheck_ms;

	if (h->running || !h->up)
		return;
	if (at < now_ms)
		at = now_ms;
	if (at < h->next_ms)
		h->next_ms = at;
}

void
health_set(struct health *h, bool up, uint64_t now_ms)
{
	if (h->up == up)
		return;
	h->up = up;
	h->streak = 0;
	h->flipped_ms = now_ms;
}

const char *
health_result_name(enum health_result result)
{
	switch (result) {
	case HEALTH_RESULT_NONE:
		break;
	case HEALTH_RESULT_OK:
		return "ok";
	case HEALTH_RESULT_WARN:
		return "warning";
	case HEALTH_RESULT_FAIL:
		return "failed";
	}
	return "none";
}

/*
 * checker.h - the health checker's shell: it connects to every backend
 * on the port of every protocol the director serves, runs the check
 * dialogue (healthcheck.h) and hands each round's result to the verdict
 * (health.h); a verdict that changes goes to the engine
 * (engine_host_health()).  Checks run on the event loop and never
 * delay a login: a login that finds a backend dead only asks for an
 * early check (checker_backend_failed()).
 *
 * Owned by the director (struct director's checker).  The backend list
 * is followed as the engine has it; a backend removed at runtime is
 * forgotten, a new one checked from its first second.
 */
#ifndef DIRECTOR_CHECKER_H
#define DIRECTOR_CHECKER_H

#include <stdbool.h>
#include <stdint.h>

#include "health.h"
#include "ipaddr.h"

struct checker;
struct director;
struct event_base;

/*
 * A checker for d (borrowed) that follows d->conf (health_check_*).  The
 * test account's file is read here (as root, before the privilege
 * drop): it must be mode 0600 or stricter.  Returns NULL with a
 * malloc'ed *error_r naming the setting's file:line.
 */
struct checker *checker_new(struct director *d, char **error_r);
/* Starts checking on base.  Returns 0, or -1 (logged). */
int checker_start(struct checker *c, struct event_base *base);
/* Closes every check under way and frees *c; clears the pointer. */
void checker_free(struct checker **c);

/* A login could not reach the backend at ip: check it soon. */
void checker_backend_failed(struct checker *c, const struct ipaddr *ip);

/* The checker's state of the backend at ip, or NULL (not checked). */
const struct health *checker_health(
    const struct checker *c, const struct ipaddr *ip);
/* Whether checks are on (health_check = yes). */
bool checker_enabled(const struct checker *c);

#endif

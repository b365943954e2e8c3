/*
 * pidfile.h - the pid file that marks a running directord.
 *
 * The file holds the decimal pid and a newline.  It appears atomically
 * (complete or not at all), so a reader never sees a partial pid.
 */
#ifndef DIRECTOR_PIDFILE_H
#define DIRECTOR_PIDFILE_H

/* Returns 0 if no live process holds path (missing, unreadable content or
 * a dead pid: stale), or -1 with *error_r set to a malloc'd message naming
 * the running pid. */
int pidfile_check(const char *path, char **error_r);

/* Writes our pid to path, replacing a stale file but never one that names
 * a live process.  Returns 0, or -1 with *error_r set. */
int pidfile_claim(const char *path, char **error_r);

/* Removes path if it still holds our pid. */
void pidfile_release(const char *path);

#endif

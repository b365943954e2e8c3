/*
 * log.h - logging to syslog or stderr.
 *
 * One process-wide logger.  Before log_init() messages go to stderr.
 * Remote text must pass through log_sanitize() before it is logged.
 */
#ifndef DIRECTOR_LOG_H
#define DIRECTOR_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Starts logging as ident.  to_stderr != 0 writes timestamped lines to
 * stderr, otherwise to syslog (facility mail). */
void log_init(const char *ident, int to_stderr);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warning", "info" or "debug"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *level_r);
const char *log_level_name(enum log_level level);

void log_error(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_msg(enum log_level level, const char *fmt, ...) ATTR_PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    ATTR_PRINTF(2, 0);
/* For startup problems and broken invariants only; never for remote
 * input.  Logs at error level and exits with status 1. */
void fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

/* Copies at most len bytes of untrusted text s into dst (size dstsize),
 * escaping control and non-ASCII bytes as \xNN and marking truncation with
 * "...".  Always NUL-terminates; returns dst. */
char *log_sanitize(char *dst, size_t dstsize, const char *s, size_t len);

#endif

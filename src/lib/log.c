/*
 * log.c - logging to syslog or stderr.
 *
 * Lines written to stderr carry a timestamp with milliseconds, the level
 * and the message; one write(2) per line so that concurrent writers do not
 * interleave within a line.
 */
#include "compat.h"

#include <sys/time.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096

static int log_to_stderr = 1;
/* read by every thread (worker.h), set by the main one */
static _Atomic int log_cur_level = LOG_LEVEL_INFO;
static const char *log_ident = "director";

static const char *const log_level_names[] = {
    "error",
    "warning",
    "info",
    "debug",
};
static_assert(
    nitems(log_level_names) == LOG_LEVEL_DEBUG + 1, "log level names");

void
log_init(const char *ident, int to_stderr)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(enum log_level level)
{
	atomic_store(&log_cur_level, (int)level);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_cur_level);
}

int
log_level_parse(const char *s, enum log_level *level_r)
{
	size_t i;

	for (i = 0; i < nitems(log_level_names); i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level >= nitems(log_level_names))
		return "?";
	return log_level_names[level];
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[LOG_LINE_MAX];
	struct timeval tv;
	struct tm tm;
	int saved_errno = errno;
	int n, m;

	if ((int)level > atomic_load(&log_cur_level))
		return;
	if (!log_to_stderr) {
		vsnprintf(line, sizeof(line), fmt, ap);
		syslog(prio[level], "%s", line);
		errno = saved_errno;
		return;
	}
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s[%ld]: %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long)tv.tv_usec / 1000, log_ident, (long)getpid(),
	    log_level_names[level]);
	if (n < 0)
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)write(STDERR_FILENO, line, (size_t)n);
	errno = saved_errno;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, level)                                                    \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_vmsg(level, fmt, ap);                                      \
		va_end(ap);                                                    \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARNING)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_sanitize(char *dst, size_t dstsize, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (dstsize == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 + 4 > dstsize)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 + 4 > dstsize)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	if (i < len && dstsize >= 4) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

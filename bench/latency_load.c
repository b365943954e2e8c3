/*
 * latency_load.c - login latency at concurrency 1: COUNT sessions one
 * after the other on a single connection at a time, each step of a
 * session (connect and greeting, then one command and its reply) timed
 * on its own.  Prints one line a step with its p50 and p99, so a step
 * that waits on a timer (a delayed ACK behind Nagle's algorithm, say)
 * stands out even where the session as a whole looks fine.
 *
 * Usage: latency_load HOST PORT imap|pop3|lmtp COUNT USERS
 * Users are user0..user{USERS-1}, password "pass"; LMTP delivers one
 * short message to one of them a session.  Output, a line a step:
 *   step NAME samples N p50_ms X p99_ms Y
 * then lines of the same form for the milestone ("logged-in" from
 * connect to the login reply; in LMTP "delivered", up to the message's
 * reply) and for the whole "session", and last "errors E" (sessions that
 * stopped at an unexpected reply).
 * Without arguments it prints this usage and exits 0.
 */
#include "compat.h"

#include "load_util.h"

#include <sys/socket.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LATENCY_STEPS_MAX 8
/* the steps, the milestone and the session */
#define LATENCY_SERIES_MAX (LATENCY_STEPS_MAX + 2)
#define LATENCY_COUNT_MAX 100000
#define LATENCY_LINE_MAX 4096
#define LATENCY_IO_TIMEOUT_SECS 10

/* One step: send cmd ("%u" in it stands for the user number; NULL: connect
 * and read the greeting), then read lines up to the protocol's final one,
 * which must start with ok. */
struct latency_step {
	const char *name;
	const char *cmd;
	const char *ok;
};

struct latency_proto {
	const char *name;
	/* Through a director the backend is reached at the login (or, in
	 * LMTP, the RCPT) step, not at connect: the milestone, the time from
	 * connect to the end of step milestone_step, is what compares with a
	 * direct run. */
	const char *milestone;
	size_t milestone_step;
	/* Whether line ends the reply to step (the lines before it are
	 * untagged data or continuations). */
	bool (*final)(size_t step, const char *line);
	struct latency_step steps[LATENCY_STEPS_MAX];
};

struct latency_conn {
	int fd;
	size_t len;
	char buf[LATENCY_LINE_MAX];
};

static bool
latency_imap_final(size_t step, const char *line)
{
	return step == 0 || strncmp(line, "* ", 2) != 0;
}

static bool
latency_pop3_final(size_t step, const char *line)
{
	(void)step;
	(void)line;
	return true;
}

static bool
latency_lmtp_final(size_t step, const char *line)
{
	(void)step;
	return strlen(line) < 4 || line[3] != '-';
}

static const struct latency_proto latency_protos[] = {
    {"imap", "logged-in", 1, latency_imap_final,
	{{"greeting", NULL, "* OK"},
	    {"LOGIN", "a LOGIN user%u pass\r\n", "a OK"},
	    {"LOGOUT", "b LOGOUT\r\n", "b OK"}}},
    {"pop3", "logged-in", 2, latency_pop3_final,
	{{"greeting", NULL, "+OK"}, {"USER", "USER user%u\r\n", "+OK"},
	    {"PASS", "PASS pass\r\n", "+OK"}, {"STAT", "STAT\r\n", "+OK"},
	    {"QUIT", "QUIT\r\n", "+OK"}}},
    {"lmtp", "delivered", 5, latency_lmtp_final,
	{{"greeting", NULL, "220"}, {"LHLO", "LHLO bench\r\n", "250"},
	    {"MAIL", "MAIL FROM:<bench@example.com>\r\n", "250"},
	    {"RCPT", "RCPT TO:<user%u>\r\n", "250"},
	    {"DATA", "DATA\r\n", "354"},
	    {"message", "Subject: latency\r\n\r\nOne short message.\r\n.\r\n",
		"250"},
	    {"QUIT", "QUIT\r\n", "221"}}},
};

static struct sockaddr_in latency_addr;

static int
latency_connect(struct latency_conn *c)
{
	struct timeval tv = {LATENCY_IO_TIMEOUT_SECS, 0};
	int one = 1;

	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd == -1)
		return -1;
	/* every command is one write: Nagle would only add our own delay */
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
		-1 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(c->fd, (struct sockaddr *)&latency_addr,
		sizeof(latency_addr)) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

/* Reads the next line (CRLF stripped) into line_r; -1 on EOF, error or
 * an over-long line. */
static int
latency_read_line(struct latency_conn *c, char *line_r, size_t size)
{
	char *nl;
	size_t n;
	ssize_t got;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf))
			return -1;
		got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		c->len += (size_t)got;
	}
	n = (size_t)(nl - c->buf);
	if (n + 1 > size)
		return -1;
	memcpy(line_r, c->buf, n);
	line_r[n > 0 && line_r[n - 1] == '\r' ? n - 1 : n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return 0;
}

/* Writes cmd to out with its "%u", if any, replaced by user (the
 * commands are data, not formats); returns what snprintf returns. */
static int
latency_format(char *out, size_t size, const char *cmd, unsigned int user)
{
	const char *at = strstr(cmd, "%u");

	if (at == NULL)
		return snprintf(out, size, "%s", cmd);
	return snprintf(
	    out, size, "%.*s%u%s", (int)(at - cmd), cmd, user, at + 2);
}

/* Runs step i of p for user; 0 when its final reply line starts with the
 * step's ok text. */
static int
latency_step(const struct latency_proto *p, size_t i, unsigned int user,
    struct latency_conn *c)
{
	const struct latency_step *s = &p->steps[i];
	char line[LATENCY_LINE_MAX];
	int n;

	if (s->cmd == NULL) {
		if (latency_connect(c) == -1)
			return -1;
	} else {
		n = latency_format(line, sizeof(line), s->cmd, user);
		if (n < 0 || (size_t)n >= sizeof(line) ||
		    write(c->fd, line, (size_t)n) != n)
			return -1;
	}
	do {
		if (latency_read_line(c, line, sizeof(line)) == -1)
			return -1;
	} while (!p->final(i, line));
	return strncmp(line, s->ok, strlen(s->ok)) == 0 ? 0 : -1;
}

/* Name of series i: a step, then the milestone and the whole session. */
static const char *
latency_series_name(const struct latency_proto *p, size_t nsteps, size_t i)
{
	if (i < nsteps)
		return p->steps[i].name;
	return i == nsteps ? p->milestone : "session";
}

static int
latency_run(const struct latency_proto *p, size_t count, unsigned int users)
{
	double *samples[LATENCY_SERIES_MAX] = {NULL};
	size_t nsamples[LATENCY_SERIES_MAX] = {0};
	size_t nsteps, i, k;
	unsigned long errors = 0;
	struct latency_conn c;
	double start, t0, t1, p50, p99;
	int rc = 0;

	nsteps = 0;
	while (nsteps < LATENCY_STEPS_MAX && p->steps[nsteps].name != NULL)
		nsteps++;
	for (i = 0; i < nsteps + 2; i++) {
		samples[i] = calloc(count, sizeof(double));
		if (samples[i] == NULL)
			rc = 1;
	}
	for (k = 0; k < count && rc == 0; k++) {
		c.fd = -1;
		start = t1 = load_now();
		for (i = 0; i < nsteps; i++) {
			t0 = t1;
			if (latency_step(p, i, (unsigned int)(k % users), &c) ==
			    -1) {
				errors++;
				break;
			}
			t1 = load_now();
			samples[i][nsamples[i]++] = t1 - t0;
			if (i == p->milestone_step)
				samples[nsteps][nsamples[nsteps]++] =
				    t1 - start;
		}
		if (i == nsteps)
			samples[i + 1][nsamples[i + 1]++] = t1 - start;
		if (c.fd != -1)
			close(c.fd);
	}
	for (i = 0; i < nsteps + 2 && rc == 0; i++) {
		load_percentiles(samples[i], nsamples[i], &p50, &p99);
		printf("step %s samples %zu p50_ms %.3f p99_ms %.3f\n",
		    latency_series_name(p, nsteps, i), nsamples[i], p50, p99);
	}
	printf("errors %lu\n", errors);
	for (i = 0; i < nsteps + 2; i++)
		free(samples[i]);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct latency_proto *p = NULL;
	size_t i, count;
	unsigned int users;

	if (argc != 6) {
		printf("usage: latency_load HOST PORT imap|pop3|lmtp COUNT "
		       "USERS\n");
		return 0;
	}
	if (load_parse_addr(argv[1], argv[2], &latency_addr) == -1)
		return 2;
	for (i = 0; i < nitems(latency_protos); i++) {
		if (strcmp(argv[3], latency_protos[i].name) == 0)
			p = &latency_protos[i];
	}
	count = (size_t)atol(argv[4]);
	users = (unsigned int)atoi(argv[5]);
	if (p == NULL || count == 0 || count > LATENCY_COUNT_MAX || users == 0)
		return 2;
	return latency_run(p, count, users);
}

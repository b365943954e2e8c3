/*
 * imap_load.c - IMAP load generator: LOGIN + SELECT INBOX + LOGOUT
 * sessions per second with p50/p99 latency (mode "sessions"), or N idle
 * logged-in connections held open for T seconds (mode "idle").
 *
 * Usage: imap_load HOST PORT sessions CONC SECONDS USERS
 *        imap_load HOST PORT idle COUNT SECONDS USERS
 * In idle mode SECONDS is how long the connections stay open once all are
 * logged in ("idle_ready ..." is printed then).
 * Users are user0..user{USERS-1}, password "pass".  Without arguments it
 * prints this usage and exits 0 (bench/run.sh runs it that way).
 */
#include "compat.h"

#include "load_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOAD_LINE_MAX 4096
#define LOAD_MAX_CONNS 20000
#define LOAD_MAX_SAMPLES 4000000
#define LOAD_IDLE_LOGIN_SECS 300

enum load_step {
	STEP_GREETING,
	STEP_LOGIN,
	STEP_SELECT,
	STEP_LOGOUT,
	STEP_IDLE
};

struct load_conn {
	int fd;
	enum load_step step;
	double start;
	size_t len;
	char buf[LOAD_LINE_MAX];
};

static struct sockaddr_in load_addr;
static unsigned load_users;
static unsigned load_next_user;
static double *load_samples;
static size_t load_nsamples;
static unsigned long load_errors;

static int
load_send(int fd, const char *s)
{
	size_t n = strlen(s);

	return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

static void
load_open(struct load_conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	c->step = STEP_GREETING;
	c->len = 0;
	c->start = load_now();
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&load_addr, sizeof(load_addr)) !=
		0) {
		load_errors++;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
}

/* Handles one complete line; returns 1 when the session ended. */
static int
load_line(struct load_conn *c, const char *line, int idle)
{
	char cmd[128];

	switch (c->step) {
	case STEP_GREETING:
		if (strncmp(line, "* OK", 4) != 0)
			return -1;
		snprintf(cmd, sizeof(cmd), "a LOGIN user%u pass\r\n",
		    load_next_user++ % load_users);
		c->step = STEP_LOGIN;
		return load_send(c->fd, cmd);
	case STEP_LOGIN:
		if (line[0] == '*')
			return 0;
		if (strncmp(line, "a OK", 4) != 0)
			return -1;
		if (idle) {
			c->step = STEP_IDLE;
			return 0;
		}
		c->step = STEP_SELECT;
		return load_send(c->fd, "b SELECT INBOX\r\n");
	case STEP_SELECT:
		if (line[0] == '*')
			return 0;
		if (strncmp(line, "b OK", 4) != 0)
			return -1;
		c->step = STEP_LOGOUT;
		return load_send(c->fd, "c LOGOUT\r\n");
	case STEP_LOGOUT:
		if (line[0] == '*')
			return 0;
		if (strncmp(line, "c OK", 4) != 0)
			return -1;
		if (load_nsamples < LOAD_MAX_SAMPLES)
			load_samples[load_nsamples++] = load_now() - c->start;
		return 1;
	case STEP_IDLE:
		return 0;
	}
	return -1;
}

/* Reads what is available; returns 1 when done, -1 on error. */
static int
load_read(struct load_conn *c, int idle)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t off = 0;

	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	for (;;) {
		char *nl = memchr(c->buf + off, '\n', c->len - off);
		int rc;

		if (nl == NULL)
			break;
		*nl = '\0';
		rc = load_line(c, c->buf + off, idle);
		off = (size_t)(nl - c->buf) + 1;
		if (rc != 0)
			return rc;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	if (c->len == sizeof(c->buf))
		return -1;
	return 0;
}

static int
load_run(unsigned conc, double seconds, int idle)
{
	struct load_conn *conns = calloc(conc, sizeof(*conns));
	struct pollfd *pfds = calloc(conc, sizeof(*pfds));
	double t0 = load_now(), end = t0 + seconds;
	unsigned logged = 0, i;
	int reported = 0;

	if (conns == NULL || pfds == NULL)
		return 1;
	for (i = 0; i < conc; i++)
		load_open(&conns[i]);
	/* idle: hold for SECONDS once every connection is logged in (or
	 * failed); give up on logins after LOAD_IDLE_LOGIN_SECS */
	if (idle)
		end = t0 + LOAD_IDLE_LOGIN_SECS;
	while (load_now() < end) {
		for (i = 0; i < conc; i++) {
			pfds[i].fd = conns[i].fd;
			pfds[i].events = POLLIN;
			pfds[i].revents = 0;
		}
		if (poll(pfds, conc, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < conc; i++) {
			struct load_conn *c = &conns[i];
			int rc;

			if (c->fd < 0) {
				if (!idle)
					load_open(c);
				continue;
			}
			if (pfds[i].revents == 0)
				continue;
			rc = load_read(c, idle);
			if (rc == 0 && idle && c->step == STEP_IDLE)
				continue;
			if (rc == 0)
				continue;
			if (rc < 0)
				load_errors++;
			close(c->fd);
			c->fd = -1;
			if (!idle)
				load_open(c);
		}
		if (idle && !reported) {
			logged = 0;
			for (i = 0; i < conc; i++)
				logged += conns[i].step == STEP_IDLE &&
				    conns[i].fd >= 0;
			if (logged + load_errors >= conc) {
				printf("idle_ready logged_in %u errors %lu "
				       "after %.2f s\n",
				    logged, load_errors, load_now() - t0);
				fflush(stdout);
				reported = 1;
				end = load_now() + seconds;
			}
		}
	}
	if (!idle) {
		double el = load_now() - t0, p50, p99;

		load_percentiles(load_samples, load_nsamples, &p50, &p99);
		printf("sessions %zu sessions_per_s %.1f p50_ms %.3f "
		       "p99_ms %.3f errors %lu\n",
		    load_nsamples, (double)load_nsamples / el, p50, p99,
		    load_errors);
	} else {
		printf("idle_done errors %lu\n", load_errors);
	}
	for (i = 0; i < conc; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	free(pfds);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned conc;
	int idle;

	if (argc != 7) {
		printf("usage: imap_load HOST PORT sessions|idle CONC SECONDS "
		       "USERS\n");
		return 0;
	}
	if (load_parse_addr(argv[1], argv[2], &load_addr) == -1)
		return 2;
	idle = strcmp(argv[3], "idle") == 0;
	conc = (unsigned)atoi(argv[4]);
	load_users = (unsigned)atoi(argv[6]);
	if (conc == 0 || conc > LOAD_MAX_CONNS || load_users == 0)
		return 2;
	load_raise_nofile((rlim_t)conc + 64);
	load_samples = calloc(LOAD_MAX_SAMPLES, sizeof(double));
	if (load_samples == NULL)
		return 1;
	return load_run(conc, atof(argv[5]), idle);
}

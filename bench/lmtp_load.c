/*
 * lmtp_load.c - LMTP load generator: CONC connections deliver a message
 * of SIZE bytes to RCPTS recipients per transaction (users user0 ..
 * user{USERS-1}, in turn) for SECONDS, each connection running one
 * transaction after the other.  Prints deliveries (transactions) per
 * second, p50/p99 latency from MAIL to the last reply, and errors (any
 * reply that is not the expected 2xx/354).
 *
 * Usage: lmtp_load HOST PORT CONC SECONDS RCPTS SIZE USERS
 * Without arguments it prints this usage and exits 0.
 */
#include "compat.h"

#include "load_util.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LMTP_LOAD_MAX_CONNS 1000
#define LMTP_LOAD_MAX_RCPTS 50
#define LMTP_LOAD_MAX_SAMPLES 1000000
#define LMTP_LOAD_LINE_MAX 4096

struct lmtp_load_conn {
	int fd;
	double start;
	unsigned int replies_due; /* replies still expected this round */
	unsigned int stage; /* 0 greeting+LHLO, 1 envelope, 2 DATA replies */
	size_t len;
	char buf[LMTP_LOAD_LINE_MAX];
};

static struct sockaddr_in load_addr;
static unsigned int load_rcpts, load_users, load_next_user;
static char *load_body; /* dot-terminated message */
static size_t load_body_len;
static double *load_samples;
static size_t load_nsamples;
static unsigned long load_errors;

static int
load_write(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends MAIL, the RCPTs and DATA of one transaction (pipelined). */
static int
load_envelope(struct lmtp_load_conn *c)
{
	char cmd[256 * (LMTP_LOAD_MAX_RCPTS + 2)];
	size_t off;
	unsigned int i;

	off = (size_t)snprintf(
	    cmd, sizeof(cmd), "MAIL FROM:<load@example.com>\r\n");
	for (i = 0; i < load_rcpts; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off,
		    "RCPT TO:<user%u>\r\n", load_next_user++ % load_users);
	off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "DATA\r\n");
	c->start = load_now();
	c->stage = 1;
	c->replies_due = load_rcpts + 2; /* MAIL, RCPTs, 354 */
	return load_write(c->fd, cmd, off);
}

static void
load_open(struct lmtp_load_conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	c->len = 0;
	c->stage = 0;
	c->replies_due = 2; /* greeting, LHLO */
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&load_addr, sizeof(load_addr)) !=
		0 ||
	    load_write(c->fd, "LHLO load\r\n", 11) == -1) {
		load_errors++;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
}

/* One complete reply line; returns -1 on an unexpected reply. */
static int
load_line(struct lmtp_load_conn *c, const char *line)
{
	if (strlen(line) < 4)
		return -1;
	if (line[3] == '-')
		return 0; /* continuation of a multi-line reply */
	if (line[0] != '2' && !(line[0] == '3' && c->stage == 1))
		return -1;
	if (--c->replies_due > 0)
		return 0;
	switch (c->stage) {
	case 0:
		return load_envelope(c);
	case 1:
		c->stage = 2;
		c->replies_due = load_rcpts;
		return load_write(c->fd, load_body, load_body_len);
	default:
		if (load_nsamples < LMTP_LOAD_MAX_SAMPLES)
			load_samples[load_nsamples++] = load_now() - c->start;
		return load_envelope(c);
	}
}

static int
load_read(struct lmtp_load_conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	size_t off = 0;

	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	for (;;) {
		char *nl = memchr(c->buf + off, '\n', c->len - off);

		if (nl == NULL)
			break;
		*nl = '\0';
		if (nl > c->buf + off && nl[-1] == '\r')
			nl[-1] = '\0';
		if (load_line(c, c->buf + off) == -1)
			return -1;
		off = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	return c->len == sizeof(c->buf) ? -1 : 0;
}

/* The message: headers and lines of text up to size bytes, dot-stuffed
 * (no line starts with a dot) and ended by the end marker. */
static void
load_make_body(size_t size)
{
	size_t off;

	load_body = malloc(size + 128);
	if (load_body == NULL)
		exit(1);
	off = (size_t)snprintf(
	    load_body, 128, "From: load@example.com\r\nSubject: load\r\n\r\n");
	while (off + 80 < size) {
		memset(load_body + off, 'x', 76);
		memcpy(load_body + off + 76, "\r\n", 2);
		off += 78;
	}
	memcpy(load_body + off, "end\r\n.\r\n", 8);
	load_body_len = off + 8;
}

int
main(int argc, char **argv)
{
	struct lmtp_load_conn *conns;
	struct pollfd *pfds;
	unsigned int conc, i;
	double t0, end, el, p50, p99;

	if (argc != 8) {
		printf("usage: lmtp_load HOST PORT CONC SECONDS RCPTS SIZE "
		       "USERS\n");
		return 0;
	}
	if (load_parse_addr(argv[1], argv[2], &load_addr) == -1)
		return 2;
	conc = (unsigned int)atoi(argv[3]);
	load_rcpts = (unsigned int)atoi(argv[5]);
	load_users = (unsigned int)atoi(argv[7]);
	if (conc == 0 || conc > LMTP_LOAD_MAX_CONNS || load_rcpts == 0 ||
	    load_rcpts > LMTP_LOAD_MAX_RCPTS || load_users == 0)
		return 2;
	load_raise_nofile((rlim_t)conc + 64);
	load_make_body((size_t)atol(argv[6]));
	load_samples = calloc(LMTP_LOAD_MAX_SAMPLES, sizeof(double));
	conns = calloc(conc, sizeof(*conns));
	pfds = calloc(conc, sizeof(*pfds));
	if (load_samples == NULL || conns == NULL || pfds == NULL)
		return 1;
	t0 = load_now();
	end = t0 + atof(argv[4]);
	for (i = 0; i < conc; i++)
		load_open(&conns[i]);
	while (load_now() < end) {
		for (i = 0; i < conc; i++) {
			pfds[i].fd = conns[i].fd;
			pfds[i].events = POLLIN;
			pfds[i].revents = 0;
		}
		if (poll(pfds, conc, 100) < 0 && errno != EINTR)
			break;
		for (i = 0; i < conc; i++) {
			if (conns[i].fd < 0) {
				load_open(&conns[i]);
				continue;
			}
			if (pfds[i].revents == 0 || load_read(&conns[i]) == 0)
				continue;
			load_errors++;
			close(conns[i].fd);
			conns[i].fd = -1;
		}
	}
	el = load_now() - t0;
	load_percentiles(load_samples, load_nsamples, &p50, &p99);
	printf("deliveries %zu deliveries_per_s %.1f p50_ms %.3f p99_ms %.3f "
	       "errors %lu\n",
	    load_nsamples, (double)load_nsamples / el, p50, p99, load_errors);
	for (i = 0; i < conc; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	free(conns);
	free(pfds);
	free(load_samples);
	free(load_body);
	return 0;
}

/*
 * adminclient.c - the client end of the admin socket, for command-line
 * tools (see adminclient.h).  Blocking I/O with poll() timeouts: a tool
 * does one thing at a time and exits.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "adminclient.h"
#include "buf.h"
#include "xmalloc.h"

/* Bytes read at a time, the longest request line, and the most text of
 * one error message. */
#define ADMINCLIENT_READ_SIZE 65536
#define ADMINCLIENT_REQUEST_MAX (ADMINWIRE_LINE_MAX + 1)
#define ADMINCLIENT_TEXT_MAX (4 * ADMINWIRE_LINE_MAX)

/* Milliseconds for poll(): -t in ms, or -1 (no timeout). */
static int
adminclient_poll_ms(const struct adminclient *ac)
{
	return ac->timeout_secs == 0 ? -1 : (int)ac->timeout_secs * 1000;
}

/* Maps a connect() errno to an exit status after printing why. */
static int
adminclient_connect_error(const struct adminclient *ac, int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		fprintf(stderr,
		    "%s: %s: no admin socket (is directord "
		    "running?)\n",
		    program_invocation_short_name, ac->endpoint);
		return EX_UNAVAILABLE;
	case EACCES:
	case EPERM:
		fprintf(stderr, "%s: %s: permission denied\n",
		    program_invocation_short_name, ac->endpoint);
		return EX_NOPERM;
	case ECONNREFUSED:
	case ETIMEDOUT:
	case EAGAIN:
		fprintf(stderr, "%s: %s: connect: %s\n",
		    program_invocation_short_name, ac->endpoint,
		    err == EAGAIN ? "timed out" : strerror(err));
		return EX_TEMPFAIL;
	default:
		fprintf(stderr, "%s: %s: connect: %s\n",
		    program_invocation_short_name, ac->endpoint, strerror(err));
		return EX_UNAVAILABLE;
	}
}

/* Connects fd to sa within the timeout.  Returns 0, or an errno. */
static int
adminclient_connect_fd(const struct adminclient *ac, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(int);
	int err = 0, n;

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	do {
		n = poll(&pfd, 1, adminclient_poll_ms(ac));
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		return EAGAIN;
	if (n == -1)
		return errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/* Splits "HOST:PORT" or "[V6]:PORT" into host_r (malloc'ed) and port_r.
 * Returns 0, or -1. */
int
adminclient_split_hostport(const char *s, char **host_r, const char **port_r)
{
	const char *colon;

	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (colon == NULL || colon[1] != ':' || colon[2] == '\0')
			return -1;
		*host_r = strndup(s + 1, (size_t)(colon - s - 1));
		*port_r = colon + 2;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || colon == s || colon[1] == '\0' ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		*host_r = strndup(s, (size_t)(colon - s));
		*port_r = colon + 1;
	}
	return *host_r != NULL ? 0 : -1;
}

/* Opens a connection to ac->endpoint: a UNIX socket path (it contains a
 * '/') or HOST:PORT.  Returns 0, or an exit status after printing why. */
static int
adminclient_open_fd(struct adminclient *ac)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct sockaddr_un sun;
	const char *port;
	char *host = NULL;
	int err, gai;

	if (strchr(ac->endpoint, '/') != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlcpy(sun.sun_path, ac->endpoint, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path)) {
			fprintf(stderr, "%s: %s: path too long\n",
			    program_invocation_short_name, ac->endpoint);
			return EX_USAGE;
		}
		ac->fd = socket(
		    AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (ac->fd == -1)
			return adminclient_connect_error(ac, errno);
		err = adminclient_connect_fd(
		    ac, ac->fd, (struct sockaddr *)&sun, sizeof(sun));
		return err == 0 ? 0 : adminclient_connect_error(ac, err);
	}
	if (adminclient_split_hostport(ac->endpoint, &host, &port) == -1) {
		fprintf(stderr,
		    "%s: -a %s: expected a socket path (with a "
		    "'/') or HOST:PORT\n",
		    program_invocation_short_name, ac->endpoint);
		return EX_USAGE;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(host, port, &hints, &res);
	free(host);
	if (gai != 0) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name,
		    ac->endpoint, gai_strerror(gai));
		return gai == EAI_AGAIN ? EX_TEMPFAIL : EX_NOHOST;
	}
	err = ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		ac->fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (ac->fd == -1) {
			err = errno;
			continue;
		}
		err = adminclient_connect_fd(
		    ac, ac->fd, ai->ai_addr, ai->ai_addrlen);
		if (err == 0)
			break;
		close(ac->fd);
		ac->fd = -1;
	}
	freeaddrinfo(res);
	return err == 0 ? 0 : adminclient_connect_error(ac, err);
}

/* Writes all of out to the server.  Returns 0, or an exit status. */
static int
adminclient_send(struct adminclient *ac, const struct buf *out)
{
	struct pollfd pfd = {.fd = ac->fd, .events = POLLOUT};
	size_t off = 0;
	ssize_t n;
	int r;

	while (off < out->len) {
		n = send(ac->fd, out->data + off, out->len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN) {
			fprintf(stderr, "%s: %s: write: %s\n",
			    program_invocation_short_name, ac->endpoint,
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		r = poll(&pfd, 1, adminclient_poll_ms(ac));
		if (r == 0) {
			fprintf(stderr, "%s: %s: write timed out after %u s\n",
			    program_invocation_short_name, ac->endpoint,
			    ac->timeout_secs);
			return EX_TEMPFAIL;
		}
	}
	return 0;
}

/* Reads the next reply line (unsplit, still escaped) into *line_r, valid
 * until the next call.  Returns 0, or an exit status after printing why;
 * what names the request waiting for the line. */
int
adminclient_read_line(struct adminclient *ac, const char *what, char **line_r)
{
	struct pollfd pfd = {.fd = ac->fd, .events = POLLIN};
	char data[ADMINCLIENT_READ_SIZE];
	ssize_t n;
	int r;

	for (;;) {
		switch (adminwire_reader_next(&ac->reader, line_r)) {
		case ADMINWIRE_LINE:
			return 0;
		case ADMINWIRE_TOO_LONG:
			fprintf(stderr,
			    "%s: %s: %s: reply line longer than %d "
			    "bytes\n",
			    program_invocation_short_name, ac->endpoint, what,
			    ADMINWIRE_LINE_MAX);
			return EX_PROTOCOL;
		case ADMINWIRE_BAD:
			fprintf(stderr, "%s: %s: %s: NUL byte in the reply\n",
			    program_invocation_short_name, ac->endpoint, what);
			return EX_PROTOCOL;
		case ADMINWIRE_MORE:
			break;
		}
		n = read(ac->fd, data, sizeof(data));
		if (n > 0) {
			adminwire_reader_feed(&ac->reader, data, (size_t)n);
			continue;
		}
		if (n == 0) {
			fprintf(stderr,
			    "%s: %s: %s: connection closed by the "
			    "director before it answered\n",
			    program_invocation_short_name, ac->endpoint, what);
			return EX_TEMPFAIL;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			fprintf(stderr, "%s: %s: %s: read: %s\n",
			    program_invocation_short_name, ac->endpoint, what,
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		do {
			r = poll(&pfd, 1, adminclient_poll_ms(ac));
		} while (r == -1 && errno == EINTR);
		if (r == 0) {
			fprintf(stderr,
			    "%s: %s: %s: no reply within %u s "
			    "(see -t)\n",
			    program_invocation_short_name, ac->endpoint, what,
			    ac->timeout_secs);
			return EX_TEMPFAIL;
		}
	}
}

int
adminclient_open(
    struct adminclient *ac, const char *endpoint, unsigned int timeout_secs)
{
	struct buf out;
	char *line;
	int ret;

	memset(ac, 0, sizeof(*ac));
	ac->fd = -1;
	ac->endpoint = xstrdup(endpoint);
	ac->timeout_secs = timeout_secs;
	adminwire_reader_init(&ac->reader);
	if ((ret = adminclient_open_fd(ac)) != 0)
		return ret;
	buf_init(&out, ADMINCLIENT_REQUEST_MAX);
	(void)buf_append_str(&out, ADMINWIRE_HANDSHAKE);
	ret = adminclient_send(ac, &out);
	buf_deinit(&out);
	if (ret == 0)
		ret = adminclient_read_line(ac, "handshake", &line);
	if (ret == 0 && !adminwire_handshake_ok(line)) {
		fprintf(stderr,
		    "%s: %s: not a director-doveadm v1 admin socket "
		    "(handshake was \"",
		    program_invocation_short_name, ac->endpoint);
		buf_init(&out, ADMINCLIENT_REQUEST_MAX * 4);
		if (adminwire_text_str(&out, line) == 0)
			fwrite(out.data, 1, out.len, stderr);
		buf_deinit(&out);
		fprintf(stderr, "\")\n");
		ret = EX_PROTOCOL;
	}
	return ret;
}

void
adminclient_close(struct adminclient *ac)
{
	if (ac->fd != -1)
		close(ac->fd);
	ac->fd = -1;
	adminwire_reader_deinit(&ac->reader);
	free(ac->endpoint);
	ac->endpoint = NULL;
}

/* Sends one request line.  Returns 0, or an exit status. */
int
adminclient_request(struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs)
{
	struct buf out;
	int ret;

	buf_init(&out, ADMINCLIENT_REQUEST_MAX);
	if (adminwire_request(&out, cmd, args, nargs) == -1) {
		buf_deinit(&out);
		fprintf(stderr, "%s: %s: arguments too long\n",
		    program_invocation_short_name, cmd);
		return EX_USAGE;
	}
	ret = adminclient_send(ac, &out);
	buf_deinit(&out);
	return ret;
}

/* What a NOTFOUND or TRYAGAIN reply means, per command prefix. */
static const struct {
	const char *cmd, *notfound, *tryagain;
} adminclient_reply_hints[] = {
    {"USER-MOVE", "no such backend",
	"the user is already being moved; wait for that move to end"},
    {"USER-LOOKUP", NULL, "the user name cannot be hashed"},
    {"USER-KICK", NULL, "too many kicks are running"},
    {"DIRECTOR-REMOVE", "no such director", NULL},
    {"HOST-", "no such backend", NULL},
};

/* Maps a one-line reply to an exit status and, on failure, prints one
 * line naming the socket, the request and the reply. */
int
adminclient_reply_status(const struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs, const char *reply)
{
	const char *hint = NULL;
	struct buf text;
	size_t i, h;
	int ret;

	for (h = 0; h < nitems(adminclient_reply_hints); h++)
		if (strncmp(cmd, adminclient_reply_hints[h].cmd,
			strlen(adminclient_reply_hints[h].cmd)) == 0)
			break;
	switch (adminwire_reply_kind(reply)) {
	case ADMINWIRE_REPLY_OK:
		return 0;
	case ADMINWIRE_REPLY_NOTFOUND:
		ret = EX_NOHOST;
		if (h < nitems(adminclient_reply_hints))
			hint = adminclient_reply_hints[h].notfound;
		break;
	case ADMINWIRE_REPLY_TRYAGAIN:
		ret = EX_TEMPFAIL;
		if (h < nitems(adminclient_reply_hints))
			hint = adminclient_reply_hints[h].tryagain;
		if (hint == NULL)
			hint = "temporary, try again later";
		break;
	case ADMINWIRE_REPLY_ERROR:
	default:
		ret = EX_DATAERR;
		break;
	}
	buf_init(&text, ADMINCLIENT_TEXT_MAX);
	(void)buf_printf(&text, "%s: %s: %s", program_invocation_short_name,
	    ac->endpoint, cmd);
	for (i = 0; i < nargs; i++) {
		(void)buf_append_str(&text, " ");
		(void)adminwire_text_str(&text, args[i]);
	}
	(void)buf_append_str(&text, ": ");
	(void)adminwire_text_str(&text, reply);
	if (hint != NULL)
		(void)buf_printf(&text, " (%s)", hint);
	(void)buf_append_str(&text, "\n");
	fwrite(text.data, 1, text.len, stderr);
	buf_deinit(&text);
	return ret;
}

/* Sends a command that answers one line (OK, NOTFOUND, TRYAGAIN or a
 * text).  Returns its exit status. */
int
adminclient_simple(struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs)
{
	char *line;
	int ret;

	if ((ret = adminclient_request(ac, cmd, args, nargs)) != 0 ||
	    (ret = adminclient_read_line(ac, cmd, &line)) != 0)
		return ret;
	return adminclient_reply_status(ac, cmd, args, nargs, line);
}

/* Sends cmd and reads its list reply up to the empty line, handing each
 * line to fn.  Returns 0, or an exit status after printing why. */
int
adminclient_list(struct adminclient *ac, const char *cmd,
    const char *const *args, size_t nargs, adminclient_row_fn *fn, void *ctx)
{
	char *fields[ADMINWIRE_FIELDS_MAX];
	size_t count;
	char *line;
	int ret;

	if ((ret = adminclient_request(ac, cmd, args, nargs)) != 0)
		return ret;
	for (;;) {
		if ((ret = adminclient_read_line(ac, cmd, &line)) != 0)
			return ret;
		if (*line == '\0')
			return 0;
		if (adminwire_split(line, fields, nitems(fields), &count) ==
			-1 ||
		    fn(ctx, fields, count) == -1) {
			fprintf(stderr, "%s: %s: %s: malformed reply line\n",
			    program_invocation_short_name, ac->endpoint, cmd);
			return EX_PROTOCOL;
		}
	}
}

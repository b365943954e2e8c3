/*
 * ringwire_parse.c - the reading half of the ring codec: lines out of a
 * peer's bytes, and a line into a struct ringwire_msg (see ringwire.h).
 *
 * Invariants: a line is never longer than RING_LINE_MAX bytes with its
 * LF; a parsed message holds only values its fields' types can take
 * (ports 1..65535, 32-bit hashes and sequence numbers, strings within
 * their buffers); error texts hold no control bytes from the peer.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdio.h>

#include "adminwire.h"
#include "ringwire.h"
#include "strnum.h"

/* Most bytes of the peer's line that an error message shows. */
#define RINGWIRE_ERR_INPUT_MAX 200
/* Room for one error message's own text, before the input. */
#define RINGWIRE_ERR_TEXT_MAX 128
/* The longest sanitised form of one input byte ("\xHH"). */
#define RINGWIRE_ERR_BYTE_MAX 4

/* One line being parsed: the raw line for error messages and its fields
 * (f[0] is the command), split and unescaped in buf. */
struct ringwire_parser {
	const char *line;
	size_t len;
	char buf[RING_LINE_MAX];
	char *f[RINGWIRE_FIELDS_MAX];
	size_t n; /* fields, the command included */
	char *err;
	size_t errsize;
};

/* Appends s[0..len) to dst (size bytes, NUL-terminated, holding *pos
 * bytes) with TAB as "\t" and other control or non-ASCII bytes as
 * "\xHH", cut with "..." where it does not fit. */
static void
ringwire_sanitise(
    char *dst, size_t size, size_t *pos, const char *s, size_t len)
{
	char one[RINGWIRE_ERR_BYTE_MAX + 1];
	unsigned char c;
	size_t i, n;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\t')
			n = (size_t)snprintf(one, sizeof(one), "\\t");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			n = (size_t)snprintf(one, sizeof(one), "\\x%02x", c);
		else {
			one[0] = (char)c;
			n = 1;
		}
		if (i == RINGWIRE_ERR_INPUT_MAX || *pos + n + 4 > size) {
			if (*pos + 4 <= size) {
				memcpy(dst + *pos, "...", 3);
				*pos += 3;
			}
			break;
		}
		memcpy(dst + *pos, one, n);
		*pos += n;
	}
	dst[*pos] = '\0';
}

/* Writes "<what> (input: <line>)" to the error buffer; returns -1. */
static int ringwire_fail(struct ringwire_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
ringwire_fail(struct ringwire_parser *p, const char *fmt, ...)
{
	char text[RINGWIRE_ERR_TEXT_MAX];
	size_t pos = 0;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p->err[0] = '\0';
	if (p->n > 0) {
		ringwire_sanitise(p->err, p->errsize, &pos, "Command ", 8);
		ringwire_sanitise(
		    p->err, p->errsize, &pos, p->f[0], strlen(p->f[0]));
		ringwire_sanitise(p->err, p->errsize, &pos, ": ", 2);
	}
	ringwire_sanitise(p->err, p->errsize, &pos, text, strlen(text));
	ringwire_sanitise(p->err, p->errsize, &pos, " (input: ", 9);
	ringwire_sanitise(p->err, p->errsize, &pos, p->line, p->len);
	ringwire_sanitise(p->err, p->errsize, &pos, ")", 1);
	return -1;
}

/* Checks that the command has min..max arguments (fields after it). */
static int
ringwire_nargs(struct ringwire_parser *p, size_t min, size_t max)
{
	size_t nargs = p->n - 1;

	if (nargs >= min && nargs <= max)
		return 0;
	if (min == max)
		return ringwire_fail(p,
		    "wrong number of fields (%zu, expected %zu)", nargs, min);
	return ringwire_fail(p,
	    "wrong number of fields (%zu, expected %zu to %zu)", nargs, min,
	    max);
}

static int
ringwire_u32(
    struct ringwire_parser *p, size_t i, const char *what, uint32_t *v_r)
{
	uint64_t v;

	if (str_to_uint64(p->f[i], UINT32_MAX, &v) == -1)
		return ringwire_fail(p, "invalid %s", what);
	*v_r = (uint32_t)v;
	return 0;
}

/* A time_t field.  2.3's str_to_time() would take a sign too, but a 2.3
 * director only ever sends a clock reading or 0. */
static int
ringwire_time_str(const char *s, int64_t *t_r)
{
	uint64_t v;

	if (str_to_uint64(s, INT64_MAX, &v) == -1)
		return -1;
	*t_r = (int64_t)v;
	return 0;
}

static int
ringwire_time(
    struct ringwire_parser *p, size_t i, const char *what, int64_t *t_r)
{
	if (ringwire_time_str(p->f[i], t_r) == -1)
		return ringwire_fail(p, "invalid %s", what);
	return 0;
}

static int
ringwire_ip(
    struct ringwire_parser *p, size_t i, const char *what, struct ipaddr *ip_r)
{
	if (ipaddr_parse(p->f[i], ip_r) == -1)
		return ringwire_fail(p, "invalid %s IP address", what);
	return 0;
}

/* A port, 1..65535 like 2.3's net_str2port(). */
static int
ringwire_port(struct ringwire_parser *p, size_t i, uint16_t *port_r)
{
	uint64_t v;

	if (str_to_uint64(p->f[i], UINT16_MAX, &v) == -1 || v == 0)
		return ringwire_fail(p, "invalid port");
	*port_r = (uint16_t)v;
	return 0;
}

/* Copies field i into dst (size bytes with the NUL). */
static int
ringwire_text(struct ringwire_parser *p, size_t i, const char *what, char *dst,
    size_t size)
{
	size_t n = strlen(p->f[i]);

	if (n >= size)
		return ringwire_fail(p, "%s too long (%zu bytes, at most %zu)",
		    what, n, size - 1);
	memcpy(dst, p->f[i], n + 1);
	return 0;
}

/* A "0" or "1" field. */
static int
ringwire_flag(struct ringwire_parser *p, size_t i, const char *what, bool *b_r)
{
	if (strcmp(p->f[i], "0") != 0 && strcmp(p->f[i], "1") != 0)
		return ringwire_fail(p, "invalid %s flag", what);
	*b_r = p->f[i][0] == '1';
	return 0;
}

/* <ip> <port> at fields i and i + 1. */
static int
ringwire_director(
    struct ringwire_parser *p, size_t i, struct ringwire_director *dir)
{
	if (ringwire_ip(p, i, "director", &dir->ip) == -1 ||
	    ringwire_port(p, i + 1, &dir->port) == -1)
		return -1;
	return 0;
}

/* <orig ip> <orig port> <seq> at fields 1..3. */
static int
ringwire_orig(struct ringwire_parser *p, struct ringwire_director *dir)
{
	if (ringwire_director(p, 1, dir) == -1 ||
	    ringwire_u32(p, 3, "sequence number", &dir->seq) == -1)
		return -1;
	return 0;
}

/* A kill round, <ip> <port> <seq>, at fields i to i + 2. */
static int
ringwire_round(struct ringwire_parser *p, size_t i, struct ringwire_director *r)
{
	if (ringwire_director(p, i, r) == -1 ||
	    ringwire_u32(p, i + 2, "round sequence number", &r->seq) == -1)
		return -1;
	return 0;
}

/* <hash> <ip> at fields i and i + 1. */
static int
ringwire_hash_ip(struct ringwire_parser *p, size_t i, const char *what,
    struct ringwire_user *user)
{
	if (ringwire_u32(p, i, "user hash", &user->hash) == -1 ||
	    ringwire_ip(p, i + 1, what, &user->ip) == -1)
		return -1;
	return 0;
}

/* Whether s is an up/down field, [UD]<time>. */
static bool
ringwire_is_updown(const char *s)
{
	int64_t t;

	return (s[0] == 'U' || s[0] == 'D') &&
	    ringwire_time_str(s + 1, &t) == 0;
}

/* <ip> <vhosts> [<tag> [<U|D><ts> [<name>]]] from field i to the end. */
static int
ringwire_host(struct ringwire_parser *p, size_t i, struct ringwire_host *host)
{
	if (ringwire_ip(p, i, "backend", &host->ip) == -1 ||
	    ringwire_u32(p, i + 1, "vhost count", &host->vhost_count) == -1)
		return -1;
	if (p->n > i + 2 &&
	    ringwire_text(p, i + 2, "tag", host->tag, sizeof(host->tag)) == -1)
		return -1;
	if (p->n > i + 3) {
		if (!ringwire_is_updown(p->f[i + 3]))
			return ringwire_fail(p, "invalid up/down state");
		host->down = p->f[i + 3][0] == 'D';
		(void)ringwire_time_str(p->f[i + 3] + 1, &host->updown_ts);
	}
	if (p->n > i + 4 &&
	    ringwire_text(
		p, i + 4, "host name", host->name, sizeof(host->name)) == -1)
		return -1;
	return 0;
}

/* HOST: the handshake form has 2 to 5 arguments, the flooded form 5 to
 * 8.  Five are the flooded form when the fourth is an IP address (the
 * backend's), the handshake form when it is not (an up/down state). */
static int
ringwire_parse_host(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	size_t nargs = p->n - 1;
	struct ipaddr ip;

	if (nargs < 5 || (nargs == 5 && ipaddr_parse(p->f[4], &ip) == -1)) {
		msg->cmd = RINGWIRE_HOST_HAND;
		if (ringwire_nargs(p, 2, 5) == -1)
			return -1;
		return ringwire_host(p, 1, &msg->host);
	}
	msg->cmd = RINGWIRE_HOST;
	if (ringwire_nargs(p, 5, 8) == -1 || ringwire_orig(p, &msg->dir) == -1)
		return -1;
	return ringwire_host(p, 4, &msg->host);
}

/* U <hash> <ip> <ts> [w], also as USER with 4 arguments. */
static int
ringwire_parse_u(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	msg->cmd = RINGWIRE_U;
	msg->user.has_ts = true;
	if (ringwire_nargs(p, 3, 4) == -1 ||
	    ringwire_hash_ip(p, 1, "backend", &msg->user) == -1 ||
	    ringwire_u32(p, 3, "timestamp", &msg->user.ts) == -1)
		return -1;
	if (p->n == 5) {
		if (strcmp(p->f[4], "w") != 0)
			return ringwire_fail(p, "invalid weak flag");
		msg->user.weak = true;
	}
	return 0;
}

static int
ringwire_parse_user(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	if (p->n == 5)
		return ringwire_parse_u(p, msg);
	if (ringwire_nargs(p, 2, 3) == -1 ||
	    ringwire_hash_ip(p, 1, "backend", &msg->user) == -1)
		return -1;
	if (p->n == 4) {
		msg->user.has_ts = true;
		return ringwire_u32(p, 3, "timestamp", &msg->user.ts);
	}
	return 0;
}

static int
ringwire_parse_version(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	if (ringwire_nargs(p, 3, 3) == -1)
		return -1;
	if (strcmp(p->f[1], RINGWIRE_NAME) != 0)
		return ringwire_fail(p, "wrong protocol");
	if (ringwire_u32(p, 2, "major version", &msg->major) == -1 ||
	    ringwire_u32(p, 3, "minor version", &msg->minor) == -1)
		return -1;
	return 0;
}

static int
ringwire_parse_options(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	size_t i;

	if (ringwire_nargs(p, 0, RINGWIRE_OPTIONS_MAX) == -1)
		return -1;
	for (i = 1; i < p->n; i++) {
		if (ringwire_text(p, i, "option", msg->options[i - 1],
			sizeof(msg->options[i - 1])) == -1)
			return -1;
	}
	msg->options_count = (unsigned int)(p->n - 1);
	return 0;
}

/* PING and PONG: <unix time> <output buffer bytes>, or nothing. */
static int
ringwire_parse_ping(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	uint64_t v;

	if (p->n == 1)
		return 0;
	if (ringwire_nargs(p, 2, 2) == -1 ||
	    ringwire_time(p, 1, "timestamp", &msg->time) == -1)
		return -1;
	if (str_to_uint64(p->f[2], UINT64_MAX, &v) == -1)
		return ringwire_fail(p, "invalid buffer size");
	msg->has_time = true;
	msg->outbuf_size = v;
	return 0;
}

/* QUIT: 2.3 sends its reason unescaped and logs the fields joined by
 * spaces; so do we. */
static int
ringwire_parse_quit(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	size_t i, pos = 0, n;

	for (i = 1; i < p->n; i++) {
		n = strlen(p->f[i]);
		if (pos + n + 1 >= sizeof(msg->reason))
			return ringwire_fail(p, "reason too long");
		if (i > 1)
			msg->reason[pos++] = ' ';
		memcpy(msg->reason + pos, p->f[i], n);
		pos += n;
	}
	msg->reason[pos] = '\0';
	return 0;
}

static int
ringwire_parse_sync(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	if (p->n != 4 && ringwire_nargs(p, 6, 6) == -1)
		return -1;
	if (ringwire_orig(p, &msg->dir) == -1)
		return -1;
	if (p->n == 4)
		return 0;
	msg->sync.has_extra = true;
	if (ringwire_u32(p, 4, "minor version", &msg->sync.minor) == -1 ||
	    ringwire_u32(p, 5, "timestamp", &msg->sync.ts) == -1 ||
	    ringwire_u32(p, 6, "hosts hash", &msg->sync.hosts_hash) == -1)
		return -1;
	return 0;
}

/* The commands whose arguments are <orig> and then a few more. */
static int
ringwire_parse_flooded(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	switch (msg->cmd) {
	case RINGWIRE_X_HOST_KILLED_EVERYWHERE:
		if (ringwire_nargs(p, 7, 7) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1 ||
		    ringwire_ip(p, 4, "backend", &msg->host.ip) == -1)
			return -1;
		return ringwire_round(p, 5, &msg->round);
	case RINGWIRE_X_HOST_HEALTH:
		if (ringwire_nargs(p, 7, 7) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1 ||
		    ringwire_ip(p, 4, "backend", &msg->host.ip) == -1)
			return -1;
		if (strcmp(p->f[5], "up") != 0 && strcmp(p->f[5], "down") != 0)
			return ringwire_fail(p, "invalid health state");
		msg->host.down = p->f[5][0] == 'd';
		return ringwire_director(p, 6, &msg->round);
	case RINGWIRE_X_USER_KILLED:
		/* the move's target: optional */
		if (ringwire_nargs(p, 4, 5) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1 ||
		    ringwire_u32(p, 4, "user hash", &msg->user.hash) == -1)
			return -1;
		return p->n == 6 ? ringwire_ip(p, 5, "backend", &msg->user.ip)
				 : 0;
	case RINGWIRE_X_USER_KILLED_EVERYWHERE:
		if (ringwire_nargs(p, 7, 7) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1 ||
		    ringwire_u32(p, 4, "user hash", &msg->user.hash) == -1)
			return -1;
		return ringwire_round(p, 5, &msg->round);
	case RINGWIRE_HOST_REMOVE:
	case RINGWIRE_HOST_FLUSH:
	case RINGWIRE_X_HOST_KILLED:
		if (ringwire_nargs(p, 4, 4) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1)
			return -1;
		return ringwire_ip(p, 4, "backend", &msg->host.ip);
	case RINGWIRE_USER_WEAK:
	case RINGWIRE_USER_MOVE:
	case RINGWIRE_USER_KICK_HASH:
		if (ringwire_nargs(p, 5, 5) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1)
			return -1;
		return ringwire_hash_ip(p, 4,
		    msg->cmd == RINGWIRE_USER_KICK_HASH ? "except" : "backend",
		    &msg->user);
	case RINGWIRE_USER_KILLED_EVERYWHERE:
		if (ringwire_nargs(p, 4, 4) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1)
			return -1;
		return ringwire_u32(p, 4, "user hash", &msg->user.hash);
	case RINGWIRE_USER_KICK:
		if (ringwire_nargs(p, 4, 4) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1)
			return -1;
		return ringwire_text(
		    p, 4, "user name", msg->username, sizeof(msg->username));
	case RINGWIRE_USER_KICK_ALT:
		if (ringwire_nargs(p, 5, 5) == -1 ||
		    ringwire_orig(p, &msg->dir) == -1 ||
		    ringwire_text(p, 4, "field", msg->alt_field,
			sizeof(msg->alt_field)) == -1)
			return -1;
		return ringwire_text(
		    p, 5, "value", msg->alt_value, sizeof(msg->alt_value));
	default:
		return ringwire_parse_sync(p, msg);
	}
}

static int
ringwire_parse_args(struct ringwire_parser *p, struct ringwire_msg *msg)
{
	switch (msg->cmd) {
	case RINGWIRE_VERSION:
		return ringwire_parse_version(p, msg);
	case RINGWIRE_ME:
		if (ringwire_nargs(p, 2, 3) == -1 ||
		    ringwire_director(p, 1, &msg->dir) == -1)
			return -1;
		msg->has_time = p->n == 4;
		return p->n == 4 ? ringwire_time(p, 3, "timestamp", &msg->time)
				 : 0;
	case RINGWIRE_DONE:
		return ringwire_nargs(p, 0, 0);
	case RINGWIRE_OPTIONS:
		return ringwire_parse_options(p, msg);
	case RINGWIRE_HOST_HAND_START:
	case RINGWIRE_HOST_HAND_END:
		if (ringwire_nargs(p, 1, 1) == -1)
			return -1;
		return ringwire_flag(
		    p, 1, "ring handshaked", &msg->ring_handshaked);
	case RINGWIRE_HOST_HAND:
	case RINGWIRE_HOST:
		return ringwire_parse_host(p, msg);
	case RINGWIRE_U:
		return ringwire_parse_u(p, msg);
	case RINGWIRE_USER:
		return ringwire_parse_user(p, msg);
	case RINGWIRE_DIRECTOR:
	case RINGWIRE_DIRECTOR_REMOVE:
	case RINGWIRE_CONNECT:
		if (ringwire_nargs(p, 2, 2) == -1)
			return -1;
		return ringwire_director(p, 1, &msg->dir);
	case RINGWIRE_USER_KILLED:
		if (ringwire_nargs(p, 1, 1) == -1)
			return -1;
		return ringwire_u32(p, 1, "user hash", &msg->user.hash);
	case RINGWIRE_PING:
	case RINGWIRE_PONG:
		return ringwire_parse_ping(p, msg);
	case RINGWIRE_QUIT:
		return ringwire_parse_quit(p, msg);
	default:
		return ringwire_parse_flooded(p, msg);
	}
}

/* Splits the line into p's fields.  Returns 0, or -1. */
static int
ringwire_split(struct ringwire_parser *p)
{
	size_t i, tabs = 0;

	if (p->len >= sizeof(p->buf))
		return ringwire_fail(p, "Line too long");
	for (i = 0; i < p->len; i++) {
		if (p->line[i] == '\0' || p->line[i] == '\r' ||
		    p->line[i] == '\n')
			return ringwire_fail(p, "Raw control byte in line");
		if (p->line[i] == '\t')
			tabs++;
	}
	if (p->len == 0)
		return ringwire_fail(p, "Received empty line");
	if (tabs >= RINGWIRE_FIELDS_MAX)
		return ringwire_fail(p, "Too many fields");
	memcpy(p->buf, p->line, p->len);
	p->buf[p->len] = '\0';
	if (adminwire_split(p->buf, p->f, RINGWIRE_FIELDS_MAX, &p->n) == -1) {
		p->n = 0;
		return ringwire_fail(p, "Invalid escape");
	}
	return 0;
}

int
ringwire_parse(const char *line, size_t len, struct ringwire_msg *msg_r,
    char *err, size_t errsize)
{
	struct ringwire_parser p;
	unsigned int c;

	memset(msg_r, 0, sizeof(*msg_r));
	p.line = line;
	p.len = len;
	p.n = 0;
	p.err = err;
	p.errsize = errsize;
	if (ringwire_split(&p) == -1)
		return -1;
	for (c = 0; c < RINGWIRE_CMD_COUNT; c++) {
		if (strcmp(p.f[0], ringwire_cmd_name(c)) == 0)
			break;
	}
	if (c == RINGWIRE_CMD_COUNT)
		return ringwire_fail(&p, "Unknown command");
	msg_r->cmd = c;
	return ringwire_parse_args(&p, msg_r);
}

void
ringwire_reader_init(struct ringwire_reader *r)
{
	linebuf_init(&r->lb, RING_LINE_MAX - 1);
	r->line_bytes = 0;
}

void
ringwire_reader_deinit(struct ringwire_reader *r)
{
	linebuf_deinit(&r->lb);
	r->line_bytes = 0;
}

enum ringwire_status
ringwire_reader_feed(struct ringwire_reader *r, const void *data, size_t len,
    size_t *used_r, const char **line_r, size_t *line_len_r)
{
	enum linebuf_status st;

	st = linebuf_feed(&r->lb, data, len, used_r, line_r, line_len_r);
	r->line_bytes += *used_r;
	switch (st) {
	case LINEBUF_MORE:
		return RINGWIRE_MORE;
	case LINEBUF_LINE:
		/* linebuf lets a CR through at the bound; 2.3's buffer
		 * holds the CR and LF too */
		if (r->line_bytes > RING_LINE_MAX) {
			r->lb.too_long = true;
			*line_r = NULL;
			*line_len_r = 0;
			return RINGWIRE_TOO_LONG;
		}
		r->line_bytes = 0;
		return RINGWIRE_LINE;
	case LINEBUF_TOO_LONG:
	default:
		return RINGWIRE_TOO_LONG;
	}
}

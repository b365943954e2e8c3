/*
 * lmtp_server.c - LMTP server state machine (see lmtp_server.h); the
 * path, parameter and reply syntax is in lmtp_syntax.c.
 *
 * Invariants: at most one command line is buffered (line_max bytes, in a
 * linebuf), so whole and byte-wise feeding give the same result; nothing after a line that produced an event is
 * consumed; body bytes are never buffered: a body call returns a slice of
 * the input, or a static string for what normalisation adds or a previous
 * call held back (at most ".\r" of a possible end marker, kept as state);
 * delivery replies leave in RCPT order, and none before the end marker.
 */
#include "compat.h"

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "buf.h"
#include "linebuf.h"
#include "lmtp_backend.h"
#include "lmtp_server.h"
#include "lmtp_syntax.h"
#include "xmalloc.h"

#define LMTP_SERVER_HOSTNAME_MAX 256
#define LMTP_SERVER_HOSTNAME_DEFAULT "director"
#define LMTP_SERVER_SIZE_DIGITS_MAX 20
/* What the backend module puts around an address: "MAIL FROM:<" ">"
 * CRLF, "RCPT TO:<" ">" CRLF. */
#define LMTP_SERVER_MAIL_EXTRA 14
#define LMTP_SERVER_RCPT_EXTRA 12
/* Reply room: the LHLO reply, or one reply per recipient. */
#define LMTP_SERVER_OUTPUT_ROOM 4096

enum lmtp_server_state {
	LMTP_SERVER_CMD,
	LMTP_SERVER_RCPT_WAIT, /* waiting for rcpt_reply() */
	LMTP_SERVER_DATA_WAIT, /* waiting for data_go()/data_refuse() */
	LMTP_SERVER_BODY,
	LMTP_SERVER_REPLIES, /* waiting for data_reply() calls */
	LMTP_SERVER_TLS_WAIT,
	LMTP_SERVER_CLOSED,
};

/* Where the body scanner is; the last three hold consumed bytes back. */
enum lmtp_body_state {
	LMTP_BODY_BOL,
	LMTP_BODY_MID,
	LMTP_BODY_CR, /* "\r" held */
	LMTP_BODY_DOT, /* "." at the start of a line held */
	LMTP_BODY_DOTCR, /* ".\r" at the start of a line held */
};

struct lmtp_rcpt {
	bool accepted;
	char *reply; /* delivery reply, until written */
};

struct lmtp_server {
	struct lmtp_server_settings set;
	char hostname[LMTP_SERVER_HOSTNAME_MAX];
	struct proto_client_info client;
	char helo[LMTP_SERVER_HELO_MAX + 1];
	enum lmtp_server_state state;
	struct buf out;
	struct linebuf line;
	unsigned int bad;
	/* the transaction */
	bool have_mail;
	char *mail_from, *mail_params, *rcpt_addr;
	struct lmtp_rcpt *rcpts; /* max_rcpts entries */
	unsigned int nrcpts, naccepted, next_reply;
	enum lmtp_body_state body;
	uint64_t body_size;
	bool too_big;
};

struct lmtp_server *
lmtp_server_new(const struct lmtp_server_settings *set)
{
	struct lmtp_server *s;

	s = xcalloc(1, sizeof(*s));
	s->set = *set;
	if (s->set.line_max == 0)
		s->set.line_max = LMTP_SERVER_LINE_MAX;
	if (s->set.max_rcpts == 0)
		s->set.max_rcpts = LMTP_SERVER_RCPT_MAX;
	if (s->set.bad_max == 0)
		s->set.bad_max = LMTP_SERVER_BAD_MAX;
	(void)strlcpy(s->hostname,
	    set->hostname != NULL ? set->hostname
				  : LMTP_SERVER_HOSTNAME_DEFAULT,
	    sizeof(s->hostname));
	s->set.hostname = s->hostname;
	if (set->client != NULL)
		s->client = *set->client;
	s->set.client = &s->client;
	linebuf_init(&s->line, s->set.line_max);
	s->rcpts = xcalloc(s->set.max_rcpts, sizeof(*s->rcpts));
	buf_init(&s->out,
	    LMTP_SERVER_OUTPUT_HIGH + LMTP_SERVER_OUTPUT_ROOM +
		(size_t)s->set.max_rcpts * (LMTP_REPLY_MAX + 2));
	return s;
}

/* Forgets MAIL, the recipients and the body state. */
static void
lmtp_server_reset(struct lmtp_server *s)
{
	unsigned int i;

	for (i = 0; i < s->nrcpts; i++) {
		free(s->rcpts[i].reply);
		s->rcpts[i].reply = NULL;
		s->rcpts[i].accepted = false;
	}
	free(s->mail_from);
	free(s->mail_params);
	free(s->rcpt_addr);
	s->mail_from = s->mail_params = s->rcpt_addr = NULL;
	s->have_mail = false;
	s->nrcpts = s->naccepted = s->next_reply = 0;
	s->body = LMTP_BODY_BOL;
	s->body_size = 0;
	s->too_big = false;
}

void
lmtp_server_free(struct lmtp_server **sp)
{
	struct lmtp_server *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	lmtp_server_reset(s);
	free(s->rcpts);
	linebuf_deinit(&s->line);
	buf_deinit(&s->out);
	free(s);
}

struct buf *
lmtp_server_output(struct lmtp_server *s)
{
	return &s->out;
}

void
lmtp_server_greeting(struct lmtp_server *s)
{
	(void)buf_printf(&s->out, "220 %s LMTP ready\r\n", s->hostname);
}

static void
lmtp_server_reply(struct lmtp_server *s, const char *line)
{
	(void)buf_printf(&s->out, "%s\r\n", line);
}

/* Counts a bad command; closes after bad_max of them. */
static enum lmtp_server_event
lmtp_server_bad(struct lmtp_server *s, const char *reply)
{
	lmtp_server_reply(s, reply);
	if (++s->bad >= s->set.bad_max) {
		(void)buf_printf(&s->out,
		    "421 4.7.0 %s Too many invalid commands\r\n", s->hostname);
		s->state = LMTP_SERVER_CLOSED;
		return LMTP_SERVER_EV_CLOSE;
	}
	return LMTP_SERVER_EV_MORE;
}

/* Checks the MAIL parameters we advertise: NULL if fine, else a reply. */
static const char *
lmtp_server_mail_params_check(
    const struct lmtp_server *s, const char *p, size_t len)
{
	const char *end = p + len, *sp, *eq;
	size_t klen, vlen;

	while (p < end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		eq = memchr(p, '=', (size_t)(sp - p));
		klen = eq != NULL ? (size_t)(eq - p) : (size_t)(sp - p);
		vlen = eq != NULL ? (size_t)(sp - eq - 1) : 0;
		if (klen == 4 && strncasecmp(p, "BODY", 4) == 0) {
			if (eq == NULL ||
			    !((vlen == 4 &&
				  strncasecmp(eq + 1, "7BIT", 4) == 0) ||
				(vlen == 8 &&
				    strncasecmp(eq + 1, "8BITMIME", 8) == 0)))
				return "501 5.5.4 Invalid BODY parameter";
		} else if (klen == 4 && strncasecmp(p, "SIZE", 4) == 0) {
			uint64_t size = 0;
			size_t i;

			if (eq == NULL || vlen == 0 ||
			    vlen > LMTP_SERVER_SIZE_DIGITS_MAX)
				return "501 5.5.4 Invalid SIZE parameter";
			for (i = 0; i < vlen; i++) {
				if (!lmtp_is_digit(eq[1 + i]))
					return "501 5.5.4 Invalid SIZE "
					       "parameter";
				if (size <= UINT64_MAX / 10)
					size = size * 10 +
					    (uint64_t)(eq[1 + i] - '0');
				else
					size = UINT64_MAX;
			}
			if (s->set.size_max != 0 && size > s->set.size_max)
				return "552 5.3.4 Message size exceeds fixed "
				       "maximum message size";
		} else
			return "555 5.5.4 Unsupported parameters";
		p = sp;
		while (p < end && *p == ' ')
			p++;
	}
	return NULL;
}

static enum lmtp_server_event
lmtp_server_cmd_mail(struct lmtp_server *s, const char *args, size_t len)
{
	const char *err;
	char *addr;
	size_t n;

	if (s->helo[0] == '\0')
		return lmtp_server_bad(s, "503 5.5.1 LHLO needed first");
	if (s->have_mail)
		return lmtp_server_bad(s, "503 5.5.1 MAIL already given");
	n = lmtp_parse_arg(args, len, "FROM:", &addr);
	if (n == 0)
		return lmtp_server_bad(s, "501 5.5.4 Invalid FROM: address");
	if (!lmtp_params_valid(args + n, len - n)) {
		free(addr);
		return lmtp_server_bad(s, "501 5.5.4 Invalid parameters");
	}
	err = lmtp_server_mail_params_check(s, args + n, len - n);
	if (err != NULL) {
		free(addr);
		lmtp_server_reply(s, err);
		return LMTP_SERVER_EV_MORE;
	}
	s->mail_from = addr;
	s->mail_params = xstrndup(args + n, len - n);
	/* trailing spaces are not part of the parameters */
	n = strlen(s->mail_params);
	while (n > 0 && s->mail_params[n - 1] == ' ')
		s->mail_params[--n] = '\0';
	/* refused now, with a clean 5xx, rather than at every backend (an
	 * upper bound: the backend module may drop parameters) */
	if (strlen(addr) + LMTP_SERVER_MAIL_EXTRA + (n > 0 ? n + 1 : 0) >
	    LMTP_BACKEND_CMD_MAX) {
		lmtp_server_reset(s);
		lmtp_server_reply(
		    s, "501 5.5.4 MAIL FROM line too long to forward");
		return LMTP_SERVER_EV_MORE;
	}
	s->have_mail = true;
	lmtp_server_reply(s, "250 2.1.0 OK");
	return LMTP_SERVER_EV_MORE;
}

static enum lmtp_server_event
lmtp_server_cmd_rcpt(struct lmtp_server *s, const char *args, size_t len)
{
	char *addr;
	size_t n;

	if (!s->have_mail)
		return lmtp_server_bad(s, "503 5.5.1 MAIL needed first");
	n = lmtp_parse_arg(args, len, "TO:", &addr);
	if (n == 0 || addr[0] == '\0') {
		free(addr);
		return lmtp_server_bad(s, "501 5.5.4 Invalid TO: address");
	}
	if (n < len) {
		free(addr);
		if (!lmtp_params_valid(args + n, len - n))
			return lmtp_server_bad(
			    s, "501 5.5.4 Invalid parameters");
		lmtp_server_reply(s, "555 5.5.4 Unsupported parameters");
		return LMTP_SERVER_EV_MORE;
	}
	if (strlen(addr) + LMTP_SERVER_RCPT_EXTRA > LMTP_BACKEND_CMD_MAX) {
		free(addr);
		lmtp_server_reply(
		    s, "501 5.5.4 RCPT TO line too long to forward");
		return LMTP_SERVER_EV_MORE;
	}
	if (s->nrcpts >= s->set.max_rcpts) {
		free(addr);
		lmtp_server_reply(s, "452 4.5.3 Too many recipients");
		return LMTP_SERVER_EV_MORE;
	}
	free(s->rcpt_addr);
	s->rcpt_addr = addr;
	s->state = LMTP_SERVER_RCPT_WAIT;
	return LMTP_SERVER_EV_RCPT;
}

/* Forgets the transaction; RESET if the shell knew about it. */
static enum lmtp_server_event
lmtp_server_abandon(struct lmtp_server *s)
{
	bool had_rcpts = s->nrcpts > 0;

	lmtp_server_reset(s);
	return had_rcpts ? LMTP_SERVER_EV_RESET : LMTP_SERVER_EV_MORE;
}

static enum lmtp_server_event
lmtp_server_cmd_lhlo(struct lmtp_server *s, const char *arg, size_t len)
{
	size_t i;

	if (len == 0 || len > LMTP_SERVER_HELO_MAX)
		return lmtp_server_bad(s, "501 5.5.4 Invalid LHLO domain");
	for (i = 0; i < len; i++) {
		if (arg[i] <= ' ' || arg[i] >= 0x7f)
			return lmtp_server_bad(
			    s, "501 5.5.4 Invalid LHLO domain");
	}
	memcpy(s->helo, arg, len);
	s->helo[len] = '\0';
	(void)buf_printf(&s->out,
	    "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n",
	    s->hostname);
	if (s->set.size_max != 0)
		(void)buf_printf(
		    &s->out, "250-SIZE %" PRIu64 "\r\n", s->set.size_max);
	if (s->set.starttls)
		(void)buf_append_str(&s->out, "250-STARTTLS\r\n");
	lmtp_server_reply(s, "250 8BITMIME");
	return lmtp_server_abandon(s);
}

static enum lmtp_server_event
lmtp_server_cmd_data(struct lmtp_server *s, size_t len)
{
	if (len != 0)
		return lmtp_server_bad(s, "501 5.5.4 DATA takes no arguments");
	if (!s->have_mail)
		return lmtp_server_bad(s, "503 5.5.1 MAIL needed first");
	if (s->naccepted == 0) {
		/* normal after pipelined RCPTs that all failed */
		lmtp_server_reply(s, "503 5.5.1 No valid recipients");
		return LMTP_SERVER_EV_MORE;
	}
	s->state = LMTP_SERVER_DATA_WAIT;
	return LMTP_SERVER_EV_DATA_START;
}

static enum lmtp_server_event
lmtp_server_cmd_starttls(struct lmtp_server *s, size_t len)
{
	if (len != 0)
		return lmtp_server_bad(
		    s, "501 5.5.4 STARTTLS takes no arguments");
	if (!s->set.starttls)
		return lmtp_server_bad(s, "502 5.5.1 TLS not available");
	/* TLS starts from a clean state (RFC 3207 4.2): a transaction
	 * would leave the shell with recipients this module forgets */
	if (s->have_mail)
		return lmtp_server_bad(
		    s, "503 5.5.1 STARTTLS not allowed in a mail transaction");
	lmtp_server_reply(s, "220 2.0.0 Begin TLS negotiation now");
	s->state = LMTP_SERVER_TLS_WAIT;
	return LMTP_SERVER_EV_STARTTLS;
}

/* Executes one complete command line (without CRLF). */
static enum lmtp_server_event
lmtp_server_command(struct lmtp_server *s, const char *line, size_t len)
{
	const char *sp, *arg;
	size_t vlen, alen, i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return lmtp_server_bad(
			    s, "500 5.5.2 Invalid characters in command");
	}
	sp = memchr(line, ' ', len);
	vlen = sp != NULL ? (size_t)(sp - line) : len;
	arg = sp != NULL ? sp + 1 : line + len;
	alen = len - (size_t)(arg - line);

#define LMTP_IS(name) proto_word_is(line, vlen, name)
	if (LMTP_IS("LHLO"))
		return lmtp_server_cmd_lhlo(s, arg, alen);
	if (LMTP_IS("MAIL"))
		return lmtp_server_cmd_mail(s, arg, alen);
	if (LMTP_IS("RCPT"))
		return lmtp_server_cmd_rcpt(s, arg, alen);
	if (LMTP_IS("DATA"))
		return lmtp_server_cmd_data(s, alen + (sp != NULL));
	if (LMTP_IS("RSET")) {
		if (sp != NULL)
			return lmtp_server_bad(
			    s, "501 5.5.4 RSET takes no arguments");
		lmtp_server_reply(s, "250 2.0.0 OK");
		return lmtp_server_abandon(s);
	}
	if (LMTP_IS("NOOP")) {
		lmtp_server_reply(s, "250 2.0.0 OK");
		return LMTP_SERVER_EV_MORE;
	}
	if (LMTP_IS("QUIT")) {
		(void)buf_printf(&s->out, "221 2.0.0 %s Closing connection\r\n",
		    s->hostname);
		s->state = LMTP_SERVER_CLOSED;
		return LMTP_SERVER_EV_CLOSE;
	}
	if (LMTP_IS("VRFY")) {
		lmtp_server_reply(s, "252 2.3.3 Try RCPT instead");
		return LMTP_SERVER_EV_MORE;
	}
	if (LMTP_IS("STARTTLS"))
		return lmtp_server_cmd_starttls(s, alen + (sp != NULL));
#undef LMTP_IS
	return lmtp_server_bad(s, "500 5.5.2 Unknown command");
}

/* Hands out a normalised line end for `used` input bytes. */
static bool
lmtp_server_body_eol(struct lmtp_server *s, size_t used, size_t *used_r,
    const char **piece_r, size_t *plen_r)
{
	s->body = LMTP_BODY_BOL;
	s->body_size += 2;
	*used_r = used;
	*piece_r = "\r\n";
	*plen_r = 2;
	return false;
}

/*
 * Scans body bytes in state s->body.  Sets *used_r and a piece of the
 * wire form (*piece_r, *plen_r; may be empty).  Returns true when the end
 * marker was consumed.  A piece is either p[0..k) or a static string;
 * bytes whose meaning depends on input not yet seen are consumed into
 * the state only when nothing precedes them in this call.  A line that
 * starts with a dot starts a piece.
 */
static bool
lmtp_server_body_scan(struct lmtp_server *s, const char *p, size_t len,
    size_t *used_r, const char **piece_r, size_t *plen_r)
{
	size_t i = 0;
	uint64_t counted = 0;

	*piece_r = NULL;
	*plen_r = 0;
	*used_r = 0;
	/* resolve what an earlier call held back */
	switch (s->body) {
	case LMTP_BODY_CR:
		return lmtp_server_body_eol(
		    s, p[0] == '\n' ? 1 : 0, used_r, piece_r, plen_r);
	case LMTP_BODY_DOT:
		if (p[0] == '\n') {
			*used_r = 1;
			return true;
		}
		if (p[0] == '\r') {
			*used_r = 1;
			s->body = LMTP_BODY_DOTCR;
			return false;
		}
		/* a stuffed dot: forwarded, not counted */
		s->body = LMTP_BODY_MID;
		*piece_r = ".";
		*plen_r = 1;
		return false;
	case LMTP_BODY_DOTCR:
		*used_r = p[0] == '\n' ? 1 : 0;
		return true;
	default:
		break;
	}
	while (i < len) {
		const char *lf, *cr;
		size_t j;

		if (s->body == LMTP_BODY_BOL && p[i] == '.') {
			/* a line that starts with a dot starts a piece */
			if (i > 0)
				break;
			if (i + 1 < len && p[i + 1] != '\r' &&
			    p[i + 1] != '\n') {
				i++;
				s->body = LMTP_BODY_MID;
				continue;
			}
			if (i + 1 >= len) {
				s->body = LMTP_BODY_DOT;
				*used_r = 1;
				return false;
			}
			if (p[i + 1] == '\n') {
				*used_r = 2;
				return true;
			}
			if (i + 2 >= len) {
				s->body = LMTP_BODY_DOTCR;
				*used_r = 2;
				return false;
			}
			*used_r = p[i + 2] == '\n' ? 3 : 2;
			return true;
		}
		/* the plain bytes up to the next CR or LF, found by
		 * memchr(3) rather than byte by byte */
		lf = memchr(p + i, '\n', len - i);
		j = lf != NULL ? (size_t)(lf - p) : len;
		cr = memchr(p + i, '\r', j - i);
		if (cr != NULL)
			j = (size_t)(cr - p);
		if (j > i) {
			counted += j - i;
			s->body = LMTP_BODY_MID;
			i = j;
			if (i == len)
				break;
		}
		if (p[i] == '\r') {
			if (i + 1 < len && p[i + 1] == '\n') {
				i += 2;
				counted += 2;
				s->body = LMTP_BODY_BOL;
				continue;
			}
			if (i > 0)
				break;
			if (i + 1 >= len) {
				s->body = LMTP_BODY_CR;
				*used_r = 1;
				return false;
			}
			/* bare CR: a line end */
			return lmtp_server_body_eol(
			    s, 1, used_r, piece_r, plen_r);
		}
		/* bare LF: a line end */
		if (i > 0)
			break;
		return lmtp_server_body_eol(s, 1, used_r, piece_r, plen_r);
	}
	*used_r = i;
	*piece_r = p;
	*plen_r = i;
	s->body_size += counted;
	return false;
}

/* Sends the delivery replies known, in RCPT order, up to the first one
 * still missing; ends the transaction once all of them are out. */
static void
lmtp_server_replies_send(struct lmtp_server *s)
{
	struct lmtp_rcpt *r;

	while (s->next_reply < s->nrcpts) {
		r = &s->rcpts[s->next_reply];
		if (r->accepted) {
			if (r->reply == NULL)
				return;
			lmtp_server_reply(s, r->reply);
		}
		s->next_reply++;
	}
	lmtp_server_reset(s);
	s->state = LMTP_SERVER_CMD;
}

/* The end marker was read. */
static enum lmtp_server_event
lmtp_server_body_end(struct lmtp_server *s)
{
	unsigned int i;

	if (!s->too_big) {
		s->state = LMTP_SERVER_REPLIES;
		s->next_reply = 0;
		/* replies given while the body arrived go out now */
		lmtp_server_replies_send(s);
		return LMTP_SERVER_EV_DATA_END;
	}
	for (i = 0; i < s->nrcpts; i++) {
		if (s->rcpts[i].accepted)
			lmtp_server_reply(s,
			    "552 5.3.4 Message size exceeds fixed maximum "
			    "message size");
	}
	lmtp_server_reset(s);
	s->state = LMTP_SERVER_CMD;
	return LMTP_SERVER_EV_DATA_ABORT;
}

static enum lmtp_server_event
lmtp_server_body_input(struct lmtp_server *s, const char *p, size_t len,
    size_t *consumed_r, const char **chunk_r, size_t *chunk_len_r)
{
	const char *piece;
	size_t used, plen, i = 0;

	while (i < len) {
		bool end = lmtp_server_body_scan(
		    s, p + i, len - i, &used, &piece, &plen);

		i += used;
		if (s->set.size_max != 0 && s->body_size > s->set.size_max)
			s->too_big = true;
		if (end) {
			*consumed_r = i;
			return lmtp_server_body_end(s);
		}
		if (plen > 0 && !s->too_big) {
			*consumed_r = i;
			*chunk_r = piece;
			*chunk_len_r = plen;
			return LMTP_SERVER_EV_DATA_CHUNK;
		}
	}
	*consumed_r = i;
	return LMTP_SERVER_EV_MORE;
}

enum lmtp_server_event
lmtp_server_input(struct lmtp_server *s, const void *data, size_t len,
    size_t *consumed_r, const char **chunk_r, size_t *chunk_len_r)
{
	const char *p = data, *line;
	size_t i = 0, used, n;
	enum lmtp_server_event ev = LMTP_SERVER_EV_MORE;
	enum linebuf_status st;

	*consumed_r = 0;
	*chunk_r = NULL;
	*chunk_len_r = 0;
	if (s->state == LMTP_SERVER_CLOSED)
		return LMTP_SERVER_EV_CLOSE;
	if (s->state == LMTP_SERVER_BODY)
		return lmtp_server_body_input(
		    s, p, len, consumed_r, chunk_r, chunk_len_r);
	while (i < len && ev == LMTP_SERVER_EV_MORE &&
	    s->state == LMTP_SERVER_CMD) {
		/* a new line is only started with room for its reply */
		if (linebuf_at_start(&s->line) &&
		    s->out.len > LMTP_SERVER_OUTPUT_HIGH)
			break;
		st = linebuf_feed(&s->line, p + i, len - i, &used, &line, &n);
		i += used;
		if (st == LINEBUF_TOO_LONG) {
			lmtp_server_reply(s, "500 5.5.2 Line too long");
			s->state = LMTP_SERVER_CLOSED;
			ev = LMTP_SERVER_EV_CLOSE;
		} else if (st == LINEBUF_LINE)
			ev = lmtp_server_command(s, line, n);
	}
	*consumed_r = i;
	return ev;
}

void
lmtp_server_tls_started(struct lmtp_server *s)
{
	if (s->state != LMTP_SERVER_TLS_WAIT)
		return;
	s->state = LMTP_SERVER_CMD;
	s->set.starttls = false;
	s->helo[0] = '\0';
	linebuf_reset(&s->line);
	lmtp_server_reset(s);
}

bool
lmtp_server_client_busy(const struct lmtp_server *s)
{
	switch (s->state) {
	case LMTP_SERVER_CMD:
		return s->have_mail || !linebuf_at_start(&s->line);
	case LMTP_SERVER_RCPT_WAIT:
	case LMTP_SERVER_DATA_WAIT:
	case LMTP_SERVER_BODY:
		return true;
	default:
		return false;
	}
}

const char *
lmtp_server_rcpt_addr(const struct lmtp_server *s)
{
	return s->rcpt_addr != NULL ? s->rcpt_addr : "";
}

unsigned int
lmtp_server_rcpt_index(const struct lmtp_server *s)
{
	return s->nrcpts;
}

const char *
lmtp_server_mail_from(const struct lmtp_server *s)
{
	return s->mail_from != NULL ? s->mail_from : "";
}

const char *
lmtp_server_mail_params(const struct lmtp_server *s)
{
	return s->mail_params != NULL ? s->mail_params : "";
}

const char *
lmtp_server_helo(const struct lmtp_server *s)
{
	return s->helo;
}

const struct proto_client_info *
lmtp_server_client(const struct lmtp_server *s)
{
	return &s->client;
}

void
lmtp_server_rcpt_reply(struct lmtp_server *s, const char *reply)
{
	char line[LMTP_REPLY_MAX + 1];
	int code;

	if (s->state != LMTP_SERVER_RCPT_WAIT)
		return;
	code = lmtp_reply_normalise(line, sizeof(line), reply, strlen(reply));
	/* a recipient is either accepted (2xx) or refused (4xx/5xx) */
	if (code >= 300 && code < 400)
		(void)strlcpy(line, "451 4.3.0 Invalid reply", sizeof(line));
	lmtp_server_reply(s, line);
	if (code >= 200 && code < 300) {
		s->rcpts[s->nrcpts].accepted = true;
		s->naccepted++;
	}
	s->nrcpts++;
	free(s->rcpt_addr);
	s->rcpt_addr = NULL;
	s->state = LMTP_SERVER_CMD;
}

void
lmtp_server_data_go(struct lmtp_server *s)
{
	if (s->state != LMTP_SERVER_DATA_WAIT)
		return;
	lmtp_server_reply(s, "354 OK");
	s->body = LMTP_BODY_BOL;
	s->body_size = 0;
	s->too_big = false;
	s->state = LMTP_SERVER_BODY;
}

void
lmtp_server_data_refuse(struct lmtp_server *s, const char *reply)
{
	char line[LMTP_REPLY_MAX + 1];
	int code;

	if (s->state != LMTP_SERVER_DATA_WAIT)
		return;
	code = lmtp_reply_normalise(line, sizeof(line), reply, strlen(reply));
	if (code < 400)
		(void)strlcpy(line, "451 4.3.0 Invalid reply", sizeof(line));
	lmtp_server_reply(s, line);
	lmtp_server_reset(s);
	s->state = LMTP_SERVER_CMD;
}

int
lmtp_server_data_reply(
    struct lmtp_server *s, unsigned int rcpt_index, const char *reply)
{
	char line[LMTP_REPLY_MAX + 1];
	struct lmtp_rcpt *r;
	int code;

	if ((s->state != LMTP_SERVER_DATA_WAIT &&
		s->state != LMTP_SERVER_BODY &&
		s->state != LMTP_SERVER_REPLIES) ||
	    rcpt_index >= s->nrcpts)
		return -1;
	r = &s->rcpts[rcpt_index];
	if (!r->accepted || r->reply != NULL)
		return -1;
	code = lmtp_reply_normalise(line, sizeof(line), reply, strlen(reply));
	if (code >= 300 && code < 400)
		(void)strlcpy(line, "451 4.3.0 Invalid reply", sizeof(line));
	r->reply = xstrdup(line);
	/* before the end marker a reply is only kept: the client reads
	 * nothing until its body is complete */
	if (s->state == LMTP_SERVER_REPLIES)
		lmtp_server_replies_send(s);
	return 0;
}

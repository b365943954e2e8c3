/*
 * lmtp_backend.c - LMTP client state machine for one backend (see
 * lmtp_backend.h).
 *
 * Invariants: one reply line is buffered at most (line_max bytes) and a
 * multi-line reply's text is kept only up to LMTP_REPLY_MAX; lines are
 * found by a linebuf, so whole and byte-wise feeding agree; each complete
 * reply answers the oldest command sent and not yet answered; nothing is
 * sent after DATA until its reply; no CR, LF or other control byte from
 * the shell's arguments ever reaches a command line; events the module
 * makes up itself (fan-out of a failed DATA, DONE) are returned without
 * consuming input; a BDAT command line is always followed by its chunk,
 * which the shell writes at once.
 */
#include "compat.h"

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "buf.h"
#include "linebuf.h"
#include "lmtp_backend.h"
#include "lmtp_server.h"
#include "xclient.h"
#include "xmalloc.h"

#define LMTP_BACKEND_HOSTNAME_MAX 256
#define LMTP_BACKEND_HOSTNAME_DEFAULT "director"
#define LMTP_BACKEND_OUTPUT_MAX (256 * 1024)
#define LMTP_BACKEND_ERROR_MAX (LMTP_REPLY_MAX + 64)
#define LMTP_BACKEND_RCPT_EXTRA 12 /* "RCPT TO:<" ">" CRLF */

enum lmtp_backend_state {
	LMTP_BACKEND_GREETING,
	LMTP_BACKEND_LHLO,
	LMTP_BACKEND_STARTTLS,
	LMTP_BACKEND_TLS_WAIT,
	LMTP_BACKEND_XCLIENT,
	LMTP_BACKEND_IDLE,
	LMTP_BACKEND_TRANS, /* MAIL/RCPT/DATA/RSET queued or sent */
	LMTP_BACKEND_BODY, /* 354 received, waiting for data_end() */
	LMTP_BACKEND_DATA_REPLIES, /* reading one reply per accepted rcpt */
	LMTP_BACKEND_FANOUT, /* DATA failed: its reply for each rcpt */
	LMTP_BACKEND_DONE_PENDING, /* EV_DONE not given yet */
	LMTP_BACKEND_CLOSE_PENDING, /* EV_CLOSE after a fan-out */
	LMTP_BACKEND_QUIT,
	LMTP_BACKEND_CLOSED,
};

enum lmtp_cmd_type {
	LMTP_CMD_MAIL,
	LMTP_CMD_RCPT,
	LMTP_CMD_DATA,
	LMTP_CMD_RSET,
	LMTP_CMD_BDAT,
	LMTP_CMD_BDAT_LAST,
};

/* XCLIENT attributes we may send. */
#define LMTP_XC_ADDR 0x01u
#define LMTP_XC_PORT 0x02u
#define LMTP_XC_HELO 0x04u
#define LMTP_XC_SESSION 0x08u
#define LMTP_XC_TTL 0x10u

struct lmtp_cmd {
	enum lmtp_cmd_type type;
	unsigned int idx;
	bool discard; /* abandoned by rset(): reply swallowed */
	char *line; /* with CRLF; NULL once sent */
};

struct lmtp_backend {
	struct lmtp_backend_settings set;
	char hostname[LMTP_BACKEND_HOSTNAME_MAX];
	struct proto_client_info info;
	char helo[LMTP_BACKEND_HOSTNAME_MAX];
	enum lmtp_backend_state state;
	struct buf out;
	struct linebuf line;
	/* the reply being read */
	int rcode;
	unsigned int rlines;
	char rtext[LMTP_REPLY_MAX + 8];
	size_t rtext_len;
	/* capabilities from the last LHLO */
	bool cap_pipelining, cap_starttls, cap_8bitmime, cap_size, cap_xclient;
	bool cap_chunking;
	unsigned int xclient_attrs;
	bool tls_done, xclient_done;
	/* the transaction */
	struct lmtp_cmd *cmds;
	unsigned int ncmds, cmds_alloc, nsent, nanswered;
	bool data_queued, mail_failed;
	bool bdat, bdat_last; /* the body goes in BDAT chunks; LAST sent */
	char mail_reply[LMTP_REPLY_MAX + 1];
	unsigned int *accepted; /* indexes accepted at RCPT */
	unsigned int naccepted, accepted_alloc, nreplies;
	/* what the last event reports */
	char reply[LMTP_REPLY_MAX + 1];
	unsigned int reply_idx;
	char error[LMTP_BACKEND_ERROR_MAX];
};

struct lmtp_backend *
lmtp_backend_new(const struct lmtp_backend_settings *set,
    const struct proto_client_info *info, const char *helo)
{
	struct lmtp_backend *b;

	b = xcalloc(1, sizeof(*b));
	b->set = *set;
	if (b->set.line_max == 0)
		b->set.line_max = LMTP_BACKEND_LINE_MAX;
	(void)strlcpy(b->hostname,
	    set->hostname != NULL ? set->hostname
				  : LMTP_BACKEND_HOSTNAME_DEFAULT,
	    sizeof(b->hostname));
	b->set.hostname = b->hostname;
	b->info = *info;
	b->info.client_ip[sizeof(b->info.client_ip) - 1] = '\0';
	b->info.local_ip[sizeof(b->info.local_ip) - 1] = '\0';
	b->info.session_id[sizeof(b->info.session_id) - 1] = '\0';
	(void)strlcpy(b->helo, helo != NULL ? helo : "", sizeof(b->helo));
	linebuf_init(&b->line, b->set.line_max);
	buf_init(&b->out, LMTP_BACKEND_OUTPUT_MAX);
	if (info->ttl == 0) {
		b->state = LMTP_BACKEND_CLOSED;
		(void)strlcpy(b->error,
		    "proxy TTL is 0: refusing (proxy loop?)", sizeof(b->error));
	}
	return b;
}

static void
lmtp_backend_clear_trans(struct lmtp_backend *b)
{
	unsigned int i;

	for (i = 0; i < b->ncmds; i++)
		free(b->cmds[i].line);
	b->ncmds = b->nsent = b->nanswered = 0;
	b->naccepted = b->nreplies = 0;
	b->data_queued = b->mail_failed = false;
	b->bdat = b->bdat_last = false;
}

void
lmtp_backend_free(struct lmtp_backend **bp)
{
	struct lmtp_backend *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	lmtp_backend_clear_trans(b);
	free(b->cmds);
	free(b->accepted);
	linebuf_deinit(&b->line);
	buf_deinit(&b->out);
	free(b);
}

struct buf *
lmtp_backend_output(struct lmtp_backend *b)
{
	return &b->out;
}

unsigned int
lmtp_backend_reply_index(const struct lmtp_backend *b)
{
	return b->reply_idx;
}

const char *
lmtp_backend_reply(const struct lmtp_backend *b)
{
	return b->reply;
}

const char *
lmtp_backend_error(const struct lmtp_backend *b)
{
	return b->error;
}

/* Ends the connection; the reason is ours, optionally with the reply. */
static enum lmtp_backend_event
lmtp_backend_fail(struct lmtp_backend *b, const char *why, bool with_reply)
{
	if (with_reply)
		(void)snprintf(
		    b->error, sizeof(b->error), "%s: %s", why, b->reply);
	else
		(void)strlcpy(b->error, why, sizeof(b->error));
	b->state = LMTP_BACKEND_CLOSED;
	return LMTP_BACKEND_EV_CLOSE;
}

static void
lmtp_backend_send_lhlo(struct lmtp_backend *b)
{
	b->cap_pipelining = b->cap_starttls = b->cap_8bitmime = false;
	b->cap_size = b->cap_xclient = b->cap_chunking = false;
	b->xclient_attrs = 0;
	(void)buf_printf(&b->out, "LHLO %s\r\n", b->hostname);
	b->state = LMTP_BACKEND_LHLO;
}

/* Sends XCLIENT with the announced attributes we have values for (see
 * xclient.h for which values qualify); false if none. */
static bool
lmtp_backend_send_xclient(struct lmtp_backend *b)
{
	unsigned int a = b->xclient_attrs;
	struct xclient x;

	xclient_begin(&x, &b->out);
	if (a & LMTP_XC_ADDR)
		(void)xclient_add_addr(&x, "ADDR", b->info.client_ip, true);
	if ((a & LMTP_XC_PORT) && b->info.client_port != 0)
		(void)xclient_add_uint(&x, "PORT", b->info.client_port);
	if (a & LMTP_XC_HELO)
		(void)xclient_add(&x, "HELO", b->helo);
	if (a & LMTP_XC_SESSION)
		(void)xclient_add(&x, "SESSION", b->info.session_id);
	if (a & LMTP_XC_TTL)
		(void)xclient_add_uint(&x, "TTL", b->info.ttl);
	return xclient_end(&x);
}

/* The LHLO reply is complete: STARTTLS, XCLIENT, or ready. */
static enum lmtp_backend_event
lmtp_backend_caps_done(struct lmtp_backend *b)
{
	if (b->set.starttls && !b->tls_done) {
		if (!b->cap_starttls)
			return lmtp_backend_fail(
			    b, "backend does not offer STARTTLS", false);
		(void)buf_append_str(&b->out, "STARTTLS\r\n");
		b->state = LMTP_BACKEND_STARTTLS;
		return LMTP_BACKEND_EV_MORE;
	}
	if (b->cap_xclient && !b->xclient_done && !b->info.proxy_header) {
		b->xclient_done = true;
		if (lmtp_backend_send_xclient(b)) {
			b->state = LMTP_BACKEND_XCLIENT;
			return LMTP_BACKEND_EV_MORE;
		}
	}
	b->state = LMTP_BACKEND_IDLE;
	return LMTP_BACKEND_EV_READY;
}

/* One capability line of the LHLO reply (not the first one). */
static void
lmtp_backend_cap(struct lmtp_backend *b, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *w;
	size_t wlen;

	w = proto_next_word(&p, end, &wlen);
	if (w == NULL)
		return;
	if (proto_word_is(w, wlen, "PIPELINING"))
		b->cap_pipelining = true;
	else if (proto_word_is(w, wlen, "STARTTLS"))
		b->cap_starttls = true;
	else if (proto_word_is(w, wlen, "8BITMIME"))
		b->cap_8bitmime = true;
	else if (proto_word_is(w, wlen, "SIZE"))
		b->cap_size = true;
	else if (proto_word_is(w, wlen, "CHUNKING"))
		b->cap_chunking = true;
	else if (proto_word_is(w, wlen, "XCLIENT")) {
		b->cap_xclient = true;
		while ((w = proto_next_word(&p, end, &wlen)) != NULL) {
			if (proto_word_is(w, wlen, "ADDR"))
				b->xclient_attrs |= LMTP_XC_ADDR;
			else if (proto_word_is(w, wlen, "PORT"))
				b->xclient_attrs |= LMTP_XC_PORT;
			else if (proto_word_is(w, wlen, "HELO"))
				b->xclient_attrs |= LMTP_XC_HELO;
			else if (proto_word_is(w, wlen, "SESSION"))
				b->xclient_attrs |= LMTP_XC_SESSION;
			else if (proto_word_is(w, wlen, "TTL"))
				b->xclient_attrs |= LMTP_XC_TTL;
		}
	}
}

/* Sends what may go out now: everything with PIPELINING (never past
 * DATA before its reply), else the next command once all are answered. */
static void
lmtp_backend_flush(struct lmtp_backend *b)
{
	struct lmtp_cmd *c;

	while (b->nsent < b->ncmds) {
		if (b->nsent > b->nanswered &&
		    (!b->cap_pipelining ||
			b->cmds[b->nsent - 1].type == LMTP_CMD_DATA))
			return;
		c = &b->cmds[b->nsent++];
		(void)buf_append_str(&b->out, c->line);
		free(c->line);
		c->line = NULL;
	}
}

/* Rejects control bytes (and spaces if !spaces); the line length is
 * checked by the caller. */
static bool
lmtp_backend_arg_safe(const char *s, bool spaces)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (*s == ' ' && !spaces))
			return false;
	}
	return true;
}

static int
lmtp_backend_queue(struct lmtp_backend *b, enum lmtp_cmd_type type,
    unsigned int idx, char *line)
{
	struct lmtp_cmd *c;

	if (b->ncmds == b->cmds_alloc) {
		b->cmds_alloc = b->cmds_alloc == 0 ? 8 : b->cmds_alloc * 2;
		b->cmds = xreallocarray(b->cmds, b->cmds_alloc, sizeof(*c));
	}
	c = &b->cmds[b->ncmds++];
	c->type = type;
	c->idx = idx;
	c->discard = false;
	c->line = line;
	lmtp_backend_flush(b);
	return 0;
}

/* Appends the parameters the backend understands.  Returns 0, or -1 when
 * dst is full (a parameter is never silently dropped for lack of room). */
static int
lmtp_backend_filter_params(
    const struct lmtp_backend *b, const char *params, struct buf *dst)
{
	const char *p = params, *sp;
	size_t n;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (!((n >= 5 && strncasecmp(p, "BODY=", 5) == 0 &&
			  !b->cap_8bitmime) ||
			(n >= 5 && strncasecmp(p, "SIZE=", 5) == 0 &&
			    !b->cap_size))) {
			if (buf_append_str(dst, " ") == -1 ||
			    buf_append(dst, p, n) == -1)
				return -1;
		}
		p += n;
	}
	return 0;
}

int
lmtp_backend_mail(struct lmtp_backend *b, const char *from, const char *params)
{
	struct buf line;
	char *s;

	if (params == NULL)
		params = "";
	if (b->state != LMTP_BACKEND_IDLE ||
	    !lmtp_backend_arg_safe(from, true) ||
	    !lmtp_backend_arg_safe(params, true))
		return -1;
	/* the whole line, CRLF included, or nothing: a line cut at the
	 * limit would run into the next command */
	buf_init(&line, LMTP_BACKEND_CMD_MAX);
	if (buf_printf(&line, "MAIL FROM:<%s>", from) == -1 ||
	    lmtp_backend_filter_params(b, params, &line) == -1 ||
	    buf_append_str(&line, "\r\n") == -1) {
		buf_deinit(&line);
		return -1;
	}
	s = xstrndup(line.data, line.len);
	buf_deinit(&line);
	lmtp_backend_clear_trans(b);
	b->state = LMTP_BACKEND_TRANS;
	return lmtp_backend_queue(b, LMTP_CMD_MAIL, 0, s);
}

int
lmtp_backend_rcpt(
    struct lmtp_backend *b, unsigned int rcpt_index, const char *to)
{
	if (b->state != LMTP_BACKEND_TRANS || b->data_queued || b->ncmds == 0 ||
	    b->cmds[b->ncmds - 1].type == LMTP_CMD_RSET ||
	    !lmtp_backend_arg_safe(to, true) || to[0] == '\0' ||
	    strlen(to) + LMTP_BACKEND_RCPT_EXTRA > LMTP_BACKEND_CMD_MAX)
		return -1;
	return lmtp_backend_queue(
	    b, LMTP_CMD_RCPT, rcpt_index, xasprintf("RCPT TO:<%s>\r\n", to));
}

int
lmtp_backend_data(struct lmtp_backend *b)
{
	if (b->state != LMTP_BACKEND_TRANS || b->data_queued || b->ncmds == 0 ||
	    b->cmds[b->ncmds - 1].type == LMTP_CMD_RSET)
		return -1;
	b->data_queued = true;
	return lmtp_backend_queue(b, LMTP_CMD_DATA, 0, xstrdup("DATA\r\n"));
}

bool
lmtp_backend_chunking(const struct lmtp_backend *b)
{
	/* a chunk is written right after its command, before the replies
	 * to the earlier ones: only with PIPELINING */
	return b->cap_chunking && b->cap_pipelining;
}

int
lmtp_backend_bdat(struct lmtp_backend *b, uint64_t size, bool last)
{
	if (b->state != LMTP_BACKEND_TRANS || !lmtp_backend_chunking(b) ||
	    b->bdat_last)
		return -1;
	if (!b->bdat) {
		/* the first chunk: every RCPT answered, one accepted */
		if (b->data_queued || b->ncmds == 0 ||
		    b->nanswered < b->ncmds || b->naccepted == 0 ||
		    b->mail_failed)
			return -1;
		b->data_queued = true;
		b->bdat = true;
	}
	b->bdat_last = last;
	return lmtp_backend_queue(b, last ? LMTP_CMD_BDAT_LAST : LMTP_CMD_BDAT,
	    0, xasprintf("BDAT %" PRIu64 "%s\r\n", size, last ? " LAST" : ""));
}

int
lmtp_backend_data_end(struct lmtp_backend *b)
{
	if (b->state != LMTP_BACKEND_BODY)
		return -1;
	(void)buf_append_str(&b->out, ".\r\n");
	b->state = LMTP_BACKEND_DATA_REPLIES;
	b->nreplies = 0;
	return 0;
}

int
lmtp_backend_rset(struct lmtp_backend *b)
{
	unsigned int i;

	if (b->state == LMTP_BACKEND_IDLE) {
		lmtp_backend_clear_trans(b);
		b->state = LMTP_BACKEND_TRANS;
	} else if (b->state != LMTP_BACKEND_TRANS)
		return -1;
	if (b->data_queued && b->nsent == b->ncmds)
		return -1;
	/* unsent commands are dropped, sent ones swallowed */
	for (i = b->nsent; i < b->ncmds; i++)
		free(b->cmds[i].line);
	b->ncmds = b->nsent;
	for (i = 0; i < b->ncmds; i++)
		b->cmds[i].discard = true;
	b->data_queued = false;
	return lmtp_backend_queue(b, LMTP_CMD_RSET, 0, xstrdup("RSET\r\n"));
}

void
lmtp_backend_quit(struct lmtp_backend *b)
{
	if (b->state == LMTP_BACKEND_CLOSED || b->state == LMTP_BACKEND_QUIT)
		return;
	if (b->state != LMTP_BACKEND_BODY && b->state != LMTP_BACKEND_TLS_WAIT)
		(void)buf_append_str(&b->out, "QUIT\r\n");
	b->state = LMTP_BACKEND_QUIT;
	b->error[0] = '\0';
}

static void
lmtp_backend_accept(struct lmtp_backend *b, unsigned int idx)
{
	if (b->naccepted == b->accepted_alloc) {
		b->accepted_alloc =
		    b->accepted_alloc == 0 ? 8 : b->accepted_alloc * 2;
		b->accepted = xreallocarray(
		    b->accepted, b->accepted_alloc, sizeof(*b->accepted));
	}
	b->accepted[b->naccepted++] = idx;
}

/* A delivery reply for the next accepted recipient. */
static enum lmtp_backend_event
lmtp_backend_data_reply(struct lmtp_backend *b, int code)
{
	if (code / 100 == 3)
		return lmtp_backend_fail(
		    b, "unexpected reply after DATA", true);
	b->reply_idx = b->accepted[b->nreplies++];
	if (b->nreplies == b->naccepted)
		b->state = LMTP_BACKEND_DONE_PENDING;
	return LMTP_BACKEND_EV_DATA_REPLY;
}

/* A complete reply to the oldest outstanding transaction command. */
static enum lmtp_backend_event
lmtp_backend_trans_reply(struct lmtp_backend *b, int code)
{
	struct lmtp_cmd *c;

	if (b->nanswered >= b->nsent)
		return lmtp_backend_fail(b, "unexpected backend reply", true);
	c = &b->cmds[b->nanswered++];
	if (c->type == LMTP_CMD_RSET) {
		if (code / 100 != 2)
			return lmtp_backend_fail(
			    b, "backend refused RSET", true);
		lmtp_backend_clear_trans(b);
		b->state = LMTP_BACKEND_IDLE;
		return LMTP_BACKEND_EV_DONE;
	}
	lmtp_backend_flush(b);
	if (c->discard)
		return LMTP_BACKEND_EV_MORE;
	switch (c->type) {
	case LMTP_CMD_MAIL:
		if (code / 100 != 2) {
			b->mail_failed = true;
			(void)strlcpy(
			    b->mail_reply, b->reply, sizeof(b->mail_reply));
		}
		return LMTP_BACKEND_EV_MORE;
	case LMTP_CMD_RCPT:
		b->reply_idx = c->idx;
		if (b->mail_failed)
			(void)strlcpy(
			    b->reply, b->mail_reply, sizeof(b->reply));
		else if (code / 100 == 2)
			lmtp_backend_accept(b, c->idx);
		else if (code / 100 == 3)
			return lmtp_backend_fail(
			    b, "unexpected reply to RCPT", true);
		return LMTP_BACKEND_EV_RCPT_REPLY;
	case LMTP_CMD_DATA:
		if (code == 354) {
			if (b->naccepted == 0)
				return lmtp_backend_fail(b,
				    "backend accepted DATA without recipients",
				    false);
			b->state = LMTP_BACKEND_BODY;
			return LMTP_BACKEND_EV_DATA_READY;
		}
		if (code / 100 < 4)
			return lmtp_backend_fail(
			    b, "unexpected reply to DATA", true);
		b->nreplies = 0;
		b->state = b->naccepted > 0 ? LMTP_BACKEND_FANOUT
					    : LMTP_BACKEND_DONE_PENDING;
		return LMTP_BACKEND_EV_MORE;
	case LMTP_CMD_BDAT:
		if (code / 100 == 2)
			return LMTP_BACKEND_EV_MORE;
		if (code / 100 == 3)
			return lmtp_backend_fail(
			    b, "unexpected reply to BDAT", true);
		/* the transaction failed: its reply for every recipient,
		 * then the end of the connection (replies to the chunks
		 * still on their way would follow, in no defined form) */
		(void)snprintf(b->error, sizeof(b->error), "%s: %s",
		    "backend refused a BDAT chunk", b->reply);
		b->nreplies = 0;
		b->state = LMTP_BACKEND_FANOUT;
		return LMTP_BACKEND_EV_MORE;
	case LMTP_CMD_BDAT_LAST:
		/* RFC 2033/3030: one reply per accepted recipient */
		b->state = LMTP_BACKEND_DATA_REPLIES;
		b->nreplies = 0;
		return lmtp_backend_data_reply(b, code);
	default:
		return lmtp_backend_fail(b, "unexpected backend reply", true);
	}
}

/* A complete reply (code, normalised text in b->reply). */
static enum lmtp_backend_event
lmtp_backend_reply_done(struct lmtp_backend *b, int code)
{
	if (b->state == LMTP_BACKEND_QUIT) {
		b->state = LMTP_BACKEND_CLOSED;
		return LMTP_BACKEND_EV_CLOSE;
	}
	if (code == 421)
		return lmtp_backend_fail(b, "backend closing", true);
	switch (b->state) {
	case LMTP_BACKEND_GREETING:
		if (code != 220)
			return lmtp_backend_fail(
			    b, "backend greeting refused", true);
		lmtp_backend_send_lhlo(b);
		return LMTP_BACKEND_EV_MORE;
	case LMTP_BACKEND_LHLO:
		if (code != 250)
			return lmtp_backend_fail(
			    b, "backend refused LHLO", true);
		return lmtp_backend_caps_done(b);
	case LMTP_BACKEND_STARTTLS:
		if (code != 220)
			return lmtp_backend_fail(
			    b, "backend refused STARTTLS", true);
		b->state = LMTP_BACKEND_TLS_WAIT;
		return LMTP_BACKEND_EV_STARTTLS;
	case LMTP_BACKEND_XCLIENT:
		/* the backend greets again (220) and wants LHLO */
		if (code / 100 != 2)
			return lmtp_backend_fail(
			    b, "backend refused XCLIENT", true);
		lmtp_backend_send_lhlo(b);
		return LMTP_BACKEND_EV_MORE;
	case LMTP_BACKEND_TRANS:
		return lmtp_backend_trans_reply(b, code);
	case LMTP_BACKEND_DATA_REPLIES:
		return lmtp_backend_data_reply(b, code);
	default:
		return lmtp_backend_fail(b, "unexpected backend reply", true);
	}
}

/* One reply line (without CRLF); multi-line replies are joined. */
static enum lmtp_backend_event
lmtp_backend_line(struct lmtp_backend *b, const char *line, size_t len)
{
	const char *text;
	size_t tlen;
	int code;
	char raw[LMTP_REPLY_MAX + 16];

	if (memchr(line, '\0', len) != NULL)
		return lmtp_backend_fail(b, "NUL byte in backend reply", false);
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return lmtp_backend_fail(b, "malformed backend reply", false);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (b->rlines > 0 && code != b->rcode)
		return lmtp_backend_fail(
		    b, "inconsistent multi-line backend reply", false);
	b->rcode = code;
	text = len > 4 ? line + 4 : "";
	tlen = len > 4 ? len - 4 : 0;
	if (b->state == LMTP_BACKEND_LHLO && b->rlines > 0)
		lmtp_backend_cap(b, text, tlen);
	/* keep the joined text bounded */
	if (b->rlines > 0 && b->rtext_len < LMTP_REPLY_MAX)
		b->rtext[b->rtext_len++] = ' ';
	tlen = MIN_OF(tlen,
	    LMTP_REPLY_MAX - MIN_OF(b->rtext_len, (size_t)LMTP_REPLY_MAX));
	memcpy(b->rtext + b->rtext_len, text, tlen);
	b->rtext_len += tlen;
	b->rlines++;
	if (len > 3 && line[3] == '-')
		return LMTP_BACKEND_EV_MORE;
	(void)snprintf(
	    raw, sizeof(raw), "%03d %.*s", code, (int)b->rtext_len, b->rtext);
	(void)lmtp_reply_normalise(
	    b->reply, sizeof(b->reply), raw, strlen(raw));
	b->rlines = 0;
	b->rtext_len = 0;
	return lmtp_backend_reply_done(b, code);
}

/* Events the module makes up without input. */
static bool
lmtp_backend_synthetic(struct lmtp_backend *b, enum lmtp_backend_event *ev_r)
{
	if (b->state == LMTP_BACKEND_FANOUT) {
		/* b->reply still holds the DATA (or BDAT) command's reply */
		b->reply_idx = b->accepted[b->nreplies++];
		if (b->nreplies == b->naccepted)
			b->state = b->bdat ? LMTP_BACKEND_CLOSE_PENDING
					   : LMTP_BACKEND_DONE_PENDING;
		*ev_r = LMTP_BACKEND_EV_DATA_REPLY;
		return true;
	}
	if (b->state == LMTP_BACKEND_CLOSE_PENDING) {
		b->state = LMTP_BACKEND_CLOSED;
		*ev_r = LMTP_BACKEND_EV_CLOSE;
		return true;
	}
	if (b->state == LMTP_BACKEND_DONE_PENDING) {
		lmtp_backend_clear_trans(b);
		b->state = LMTP_BACKEND_IDLE;
		*ev_r = LMTP_BACKEND_EV_DONE;
		return true;
	}
	return false;
}

enum lmtp_backend_event
lmtp_backend_input(
    struct lmtp_backend *b, const void *data, size_t len, size_t *consumed_r)
{
	const char *p = data, *line;
	size_t i = 0, used, n;
	enum lmtp_backend_event ev = LMTP_BACKEND_EV_MORE;
	enum linebuf_status st;

	*consumed_r = 0;
	if (b->state == LMTP_BACKEND_CLOSED)
		return LMTP_BACKEND_EV_CLOSE;
	if (lmtp_backend_synthetic(b, &ev))
		return ev;
	while (i < len && ev == LMTP_BACKEND_EV_MORE &&
	    b->state != LMTP_BACKEND_TLS_WAIT &&
	    b->state != LMTP_BACKEND_FANOUT &&
	    b->state != LMTP_BACKEND_DONE_PENDING &&
	    b->state != LMTP_BACKEND_CLOSE_PENDING) {
		st = linebuf_feed(&b->line, p + i, len - i, &used, &line, &n);
		i += used;
		if (st == LINEBUF_TOO_LONG)
			ev = lmtp_backend_fail(
			    b, "backend reply line too long", false);
		else if (st == LINEBUF_LINE)
			ev = lmtp_backend_line(b, line, n);
	}
	*consumed_r = i;
	if (ev == LMTP_BACKEND_EV_MORE)
		(void)lmtp_backend_synthetic(b, &ev);
	return ev;
}

void
lmtp_backend_tls_started(struct lmtp_backend *b)
{
	if (b->state != LMTP_BACKEND_TLS_WAIT)
		return;
	b->tls_done = true;
	linebuf_reset(&b->line);
	lmtp_backend_send_lhlo(b);
}

/*
 * sieve_client.c - pre-login ManageSieve server state machine (see
 * sieve_client.h).
 *
 * Two state variables: the protocol state (reading commands, inside
 * AUTHENTICATE, waiting for the shell) and the reader state (a line, or
 * the bytes of a literal).  A command, and inside AUTHENTICATE a client
 * response, is collected line by line into a few tokens whose bytes live
 * in one bounded buffer (cmd_data); it ends at the first line that does
 * not announce a literal.
 *
 * Invariants:
 * - At most one line (line_max bytes, in a linebuf wiped after each line)
 *   and one command (SIEVE_ARGS_MAX arguments in 2 * line_max bytes) are
 *   held, so whole and byte-wise feeding give the same result.
 * - Literal bytes are never parsed as commands: a literal is stored,
 *   skipped (a rejected command) or the session is closed.
 * - A rejected command stays rejected to its end: its arguments are
 *   still read (to find the end) but not stored; the first reason wins.
 * - Nothing after a command that produced an action other than MORE is
 *   consumed.
 * - Credentials exist only between PROTO_ACT_LOGIN and login_result();
 *   the SASL exchange is sasl.c's; every copy of a secret (line, command
 *   buffer, credentials) is wiped.  Nothing is logged here.
 */
#include "compat.h"

#include <ctype.h>
#include <stdint.h>

#include "imap_parse.h"
#include "sieve_client_int.h"
#include "xmalloc.h"

/* The commands and how many arguments (strings) each takes at most. */
static const struct {
	const char *name;
	enum sieve_cmd_kind kind;
	unsigned int max_args;
} sieve_cmd_names[] = {
    {"CAPABILITY", SIEVE_CMD_CAPABILITY, 0},
    {"STARTTLS", SIEVE_CMD_STARTTLS, 0},
    {"AUTHENTICATE", SIEVE_CMD_AUTHENTICATE, 2},
    {"NOOP", SIEVE_CMD_NOOP, 1},
    {"LOGOUT", SIEVE_CMD_LOGOUT, 0},
};

/* Copies a setting (or its default) as one line of bounded length. */
static char *
sieve_client_value(const char *value, const char *def)
{
	if (value == NULL)
		value = def;
	return imap_text_dup_oneline(
	    value, strlen(value), SIEVE_CLIENT_VALUE_MAX);
}

/* Forgets the command being collected and the reader state. */
static void
sieve_client_cmd_reset(struct sieve_client *c)
{
	c->cmd_started = false;
	c->kind = SIEVE_CMD_UNKNOWN;
	c->max_args = 0;
	c->reject_code = NULL;
	c->reject = NULL;
	c->reject_counts = false;
	c->need_sep = false;
	c->ntokens = 0;
	c->in_literal = false;
	c->literal_skip = false;
	c->literal_left = 0;
	buf_clear(&c->cmd_data);
}

struct sieve_client *
sieve_client_new(const struct sieve_client_settings *set)
{
	struct sieve_client *c;
	struct buf names;

	c = xcalloc(1, sizeof(*c));
	c->set = *set;
	c->greeting = sieve_client_value(set->greeting, SIEVE_GREETING_DEFAULT);
	c->implementation = sieve_client_value(
	    set->implementation, SIEVE_IMPLEMENTATION_DEFAULT);
	c->extensions = sieve_client_value(
	    set->sieve_extensions, SIEVE_CLIENT_EXTENSIONS_DEFAULT);
	c->notify = sieve_client_value(set->notify,
	    imap_caps_has(c->extensions, "enotify") ? "mailto" : "");
	c->set.greeting = NULL;
	c->set.implementation = NULL;
	c->set.sieve_extensions = NULL;
	c->set.notify = NULL;
	if (c->set.line_max == 0)
		c->set.line_max = SIEVE_CLIENT_LINE_MAX;
	if (c->set.bad_max == 0)
		c->set.bad_max = SIEVE_CLIENT_BAD_MAX;
	if (c->set.secured)
		c->set.starttls = false;
	c->state = SIEVE_CLIENT_PREAUTH;
	buf_init(&c->out, SIEVE_CLIENT_OUTPUT_MAX);
	linebuf_init(&c->line, c->set.line_max);
	/* room for the longest line's strings plus one full literal */
	buf_init(&c->cmd_data, 2 * c->set.line_max);
	buf_init(&c->challenge, SIEVE_CHALLENGE_MAX);
	/* "PLAIN LOGIN ...": the names with a space before each, the
	 * first space dropped */
	buf_init(&names, 128);
	sasl_mechs_append(&names, c->set.mechs, " ", "");
	c->mechs = xstrndup(names.data + 1, names.len - 1);
	buf_deinit(&names);
	return c;
}

void
sieve_client_free(struct sieve_client **cp)
{
	struct sieve_client *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	proto_creds_clear(&c->creds);
	linebuf_deinit(&c->line);
	buf_deinit(&c->out);
	buf_deinit(&c->cmd_data);
	buf_deinit(&c->challenge);
	free(c->mechs);
	free(c->oauth_challenge);
	free(c->auth_code);
	free(c->auth_text);
	free(c->greeting);
	free(c->implementation);
	free(c->extensions);
	free(c->notify);
	freezero(c, sizeof(*c));
}

struct buf *
sieve_client_output(struct sieve_client *c)
{
	return &c->out;
}

static bool
sieve_client_auth_allowed(const struct sieve_client *c)
{
	return c->set.secured || c->set.allow_plaintext_auth;
}

/* Queues "<status>[ (<code>)][ <text as a quoted string>]" CRLF (also a
 * capability line: status is then the quoted name).  code is ours or
 * checked by sieve_client_code_len(); text is one line. */
void
sieve_client_reply(struct sieve_client *c, const char *status, const char *code,
    const char *text)
{
	(void)buf_append_str(&c->out, status);
	if (code != NULL)
		(void)buf_printf(&c->out, " (%s)", code);
	if (text != NULL) {
		(void)buf_append_str(&c->out, " ");
		(void)imap_append_quoted(&c->out, text, strlen(text));
	}
	(void)buf_append_str(&c->out, "\r\n");
}

/* The capability lines: "NAME" or "NAME" "value". */
static void
sieve_client_caps(struct sieve_client *c)
{
	sieve_client_reply(c, "\"IMPLEMENTATION\"", NULL, c->implementation);
	sieve_client_reply(c, "\"SIEVE\"", NULL, c->extensions);
	if (c->notify[0] != '\0')
		sieve_client_reply(c, "\"NOTIFY\"", NULL, c->notify);
	sieve_client_reply(
	    c, "\"SASL\"", NULL, sieve_client_auth_allowed(c) ? c->mechs : "");
	if (c->set.starttls)
		sieve_client_reply(c, "\"STARTTLS\"", NULL, NULL);
	sieve_client_reply(c, "\"VERSION\"", NULL, "1.0");
}

void
sieve_client_greeting(struct sieve_client *c)
{
	sieve_client_caps(c);
	sieve_client_reply(c, "OK", NULL, c->greeting);
}

/* Ends an AUTHENTICATE exchange without credentials. */
void
sieve_client_auth_end(struct sieve_client *c)
{
	sasl_server_abort(&c->sasl);
	proto_creds_clear(&c->creds);
	buf_clear(&c->challenge);
	if (c->state == SIEVE_CLIENT_AUTH)
		c->state = SIEVE_CLIENT_PREAUTH;
}

/* Ends the session: BYE "<text>". */
static enum proto_action
sieve_client_close(struct sieve_client *c, const char *text)
{
	sieve_client_auth_end(c);
	sieve_client_reply(c, "BYE", NULL, text);
	c->state = SIEVE_CLIENT_CLOSED;
	sieve_client_cmd_reset(c);
	return PROTO_ACT_CLOSE;
}

/* Counts a bad command; ends the session at bad_max. */
enum proto_action
sieve_client_count_bad(struct sieve_client *c)
{
	if (++c->bad >= c->set.bad_max)
		return sieve_client_close(
		    c, "Too many invalid MANAGESIEVE commands.");
	return PROTO_ACT_MORE;
}

/* NO "<text>", then counts a bad command. */
enum proto_action
sieve_client_bad(struct sieve_client *c, const char *text)
{
	sieve_client_reply(c, "NO", NULL, text);
	return sieve_client_count_bad(c);
}

/* Marks the command rejected (the first reason wins). */
static void
sieve_client_set_reject(
    struct sieve_client *c, const char *code, const char *text, bool counts)
{
	if (c->reject != NULL)
		return;
	c->reject_code = code;
	c->reject = text;
	c->reject_counts = counts;
}

/* A syntax error: its wording depends on what was being read. */
static void
sieve_client_set_syntax_error(struct sieve_client *c)
{
	sieve_client_set_reject(c, NULL,
	    c->state == SIEVE_CLIENT_AUTH ? TEXT_BAD_RESPONSE : TEXT_BAD, true);
}

/* Ends the current command with its rejection reply (inside
 * AUTHENTICATE, the exchange ends too). */
static enum proto_action
sieve_client_cmd_reject(struct sieve_client *c)
{
	bool counts = c->reject_counts;

	if (c->state == SIEVE_CLIENT_AUTH_ERROR) {
		sieve_client_cmd_reset(c);
		return sieve_client_auth_error_end(c);
	}
	if (c->state == SIEVE_CLIENT_AUTH)
		sieve_client_auth_end(c);
	sieve_client_reply(c, "NO", c->reject_code, c->reject);
	sieve_client_cmd_reset(c);
	return counts ? sieve_client_count_bad(c) : PROTO_ACT_MORE;
}

/* Token i's bytes: not NUL-terminated, may hold NUL ("" when empty). */
const char *
sieve_client_token(const struct sieve_client *c, unsigned int i)
{
	if (c->tokens[i].len == 0)
		return "";
	return c->cmd_data.data + c->tokens[i].off;
}

/* Records a token of len bytes starting at the end of cmd_data (where
 * the caller has put or will put them). */
static void
sieve_client_add_token(
    struct sieve_client *c, enum sieve_token_type type, size_t len)
{
	struct sieve_token *t = &c->tokens[c->ntokens++];

	t->type = type;
	t->off = c->cmd_data.len;
	t->len = len;
}

/* Whether another token of len bytes can be stored; rejects the command
 * if not. */
static bool
sieve_client_can_store(struct sieve_client *c, uint64_t len)
{
	if (c->reject != NULL)
		return false;
	if (c->ntokens == c->max_args) {
		sieve_client_set_syntax_error(c);
		return false;
	}
	if (len > c->set.line_max || len > c->cmd_data.max - c->cmd_data.len) {
		sieve_client_set_reject(c, NULL, TEXT_LITERAL, true);
		return false;
	}
	return true;
}

/* The length of the quoted string at line[0] == '"' up to and including
 * its closing quote, and in *value_len_r the length of its value; 0 if it
 * is malformed (unterminated, a bad escape, CR or LF). */
size_t
sieve_quoted_len(const char *line, size_t len, size_t *value_len_r)
{
	size_t i, n = 0;

	for (i = 1; i < len; i++, n++) {
		if (line[i] == '"') {
			*value_len_r = n;
			return i + 1;
		}
		if (line[i] == '\r' || line[i] == '\n')
			return 0;
		if (line[i] == '\\' &&
		    (++i == len || (line[i] != '"' && line[i] != '\\')))
			return 0;
	}
	return 0;
}

/* Reads the quoted string at line[*posp] and stores its value as a
 * token.  Returns false on a syntax error. */
static bool
sieve_client_quoted(
    struct sieve_client *c, const char *line, size_t len, size_t *posp)
{
	const char *q = line + *posp;
	size_t qlen, vlen, i;

	qlen = sieve_quoted_len(q, len - *posp, &vlen);
	if (qlen == 0)
		return false;
	*posp += qlen;
	if (!sieve_client_can_store(c, vlen))
		return true;
	sieve_client_add_token(c, SIEVE_TOKEN_STRING, vlen);
	/* the escapes are known to be well-formed: drop each backslash */
	for (i = 1; i + 1 < qlen; i++) {
		if (q[i] == '\\')
			i++;
		(void)buf_append(&c->cmd_data, &q[i], 1);
	}
	return true;
}

/* A literal {size} or {size+} ends the line: its bytes come next. */
static enum proto_action
sieve_client_literal_start(struct sieve_client *c, uint64_t size)
{
	c->literal_skip = !sieve_client_can_store(c, size);
	if (c->literal_skip && size > SIEVE_CLIENT_LITERAL_SKIP_MAX)
		return sieve_client_close(c, TEXT_LITERAL);
	if (!c->literal_skip)
		sieve_client_add_token(c, SIEVE_TOKEN_STRING, (size_t)size);
	c->literal_left = size;
	c->in_literal = size > 0;
	c->need_sep = true;
	return PROTO_ACT_MORE;
}

/* Takes literal bytes; returns how many. */
static size_t
sieve_client_literal_input(struct sieve_client *c, const char *data, size_t len)
{
	size_t n = len;

	if ((uint64_t)n > c->literal_left)
		n = (size_t)c->literal_left;
	/* room was checked when the literal was announced */
	if (!c->literal_skip)
		(void)buf_append(&c->cmd_data, data, n);
	c->literal_left -= n;
	if (c->literal_left == 0)
		c->in_literal = false;
	return n;
}

/* Sets kind and max_args of the command name[0..len). */
static void
sieve_client_cmd_lookup(struct sieve_client *c, const char *name, size_t len)
{
	size_t i;

	c->kind = SIEVE_CMD_UNKNOWN;
	c->max_args = 0;
	for (i = 0; i < nitems(sieve_cmd_names); i++) {
		if (proto_word_is(name, len, sieve_cmd_names[i].name)) {
			c->kind = sieve_cmd_names[i].kind;
			c->max_args = sieve_cmd_names[i].max_args;
			return;
		}
	}
}

/* Starts a command at its name, line[*posp] onwards; false if there is
 * no name. */
static bool
sieve_client_cmd_name(
    struct sieve_client *c, const char *line, size_t len, size_t *posp)
{
	size_t start = *posp, pos = start;

	while (pos < len && imap_is_astring_char((unsigned char)line[pos]))
		pos++;
	if (pos == start)
		return false;
	*posp = pos;
	sieve_client_cmd_lookup(c, line + start, pos - start);
	if (c->kind == SIEVE_CMD_UNKNOWN)
		sieve_client_set_reject(c, NULL, TEXT_BAD, true);
	else if (c->kind == SIEVE_CMD_AUTHENTICATE &&
	    !sieve_client_auth_allowed(c))
		/* decided now, so that no argument is stored */
		sieve_client_set_reject(
		    c, "ENCRYPT-NEEDED", TEXT_PLAINTEXT, false);
	c->need_sep = true;
	return true;
}

static enum proto_action sieve_client_cmd_execute(struct sieve_client *c);

/* Handles one line of a command or client response: the first one or
 * one after a literal. */
static enum proto_action
sieve_client_cmd_line(struct sieve_client *c, const char *line, size_t len)
{
	enum imap_literal_spec spec;
	uint64_t lsize = 0;
	size_t pos = 0, lstart = 0, start;

	spec = imap_literal_spec_find(line, len, &lsize, &lstart);
	if (memchr(line, '\0', len) != NULL)
		goto syntax_error;
	if (!c->cmd_started) {
		while (pos < len && line[pos] == ' ')
			pos++;
		if (pos == len && c->state == SIEVE_CLIENT_PREAUTH)
			return PROTO_ACT_MORE;
		c->cmd_started = true;
		c->kind = SIEVE_CMD_RESPONSE;
		c->max_args = 1;
		if (c->state == SIEVE_CLIENT_PREAUTH &&
		    !sieve_client_cmd_name(c, line, len, &pos))
			goto syntax_error;
	}
	while (pos < len) {
		unsigned char ch = (unsigned char)line[pos];

		if (ch == ' ') {
			c->need_sep = false;
			pos++;
		} else if (c->need_sep) {
			goto syntax_error;
		} else if (ch == '"') {
			if (!sieve_client_quoted(c, line, len, &pos))
				goto syntax_error;
			c->need_sep = true;
		} else if (ch == '{') {
			if ((spec != IMAP_LITERAL_SYNC &&
				spec != IMAP_LITERAL_NONSYNC) ||
			    lstart != pos)
				goto syntax_error;
			return sieve_client_literal_start(c, lsize);
		} else if (imap_is_astring_char(ch)) {
			start = pos;
			while (pos < len &&
			    imap_is_astring_char((unsigned char)line[pos]))
				pos++;
			if (sieve_client_can_store(c, pos - start)) {
				sieve_client_add_token(
				    c, SIEVE_TOKEN_ATOM, pos - start);
				(void)buf_append(
				    &c->cmd_data, line + start, pos - start);
			}
			c->need_sep = true;
		} else {
			goto syntax_error;
		}
	}
	if (c->reject != NULL)
		return sieve_client_cmd_reject(c);
	return sieve_client_cmd_execute(c);

syntax_error:
	sieve_client_set_syntax_error(c);
	/* where the command ends is unknown if a literal may follow */
	if (spec == IMAP_LITERAL_SYNC || spec == IMAP_LITERAL_NONSYNC)
		return sieve_client_close(c, "Invalid command with a literal.");
	return sieve_client_cmd_reject(c);
}

/* NOOP [tag]: the tag comes back in a TAG response code. */
static enum proto_action
sieve_client_cmd_noop(struct sieve_client *c)
{
	const char *tag;
	size_t len;

	if (c->ntokens == 0) {
		sieve_client_reply(c, "OK", NULL, "NOOP Completed");
		return PROTO_ACT_MORE;
	}
	tag = sieve_client_token(c, 0);
	len = c->tokens[0].len;
	if (c->tokens[0].type != SIEVE_TOKEN_STRING || len > SIEVE_TAG_MAX ||
	    !imap_is_quotable(tag, len)) {
		sieve_client_reply(c, "NO", NULL, "Invalid echo tag.");
		return PROTO_ACT_MORE;
	}
	(void)buf_append_str(&c->out, "OK (TAG ");
	(void)imap_append_quoted(&c->out, tag, len);
	(void)buf_append_str(&c->out, ") \"Done\"\r\n");
	return PROTO_ACT_MORE;
}

static enum proto_action
sieve_client_cmd_starttls(struct sieve_client *c)
{
	if (c->set.secured) {
		sieve_client_reply(c, "NO", NULL, "TLS is already active.");
		return PROTO_ACT_MORE;
	}
	if (!c->set.starttls) {
		sieve_client_reply(c, "NO", NULL, "TLS support isn't enabled.");
		return PROTO_ACT_MORE;
	}
	sieve_client_reply(c, "OK", NULL, "Begin TLS negotiation now.");
	c->state = SIEVE_CLIENT_STARTTLS;
	return PROTO_ACT_STARTTLS;
}

/* Runs a complete command (or client response) that was not rejected
 * (so its arguments are within max_args), then forgets it. */
static enum proto_action
sieve_client_cmd_execute(struct sieve_client *c)
{
	enum proto_action act = PROTO_ACT_MORE;

	switch (c->kind) {
	case SIEVE_CMD_RESPONSE:
		act = sieve_client_response(c);
		break;
	case SIEVE_CMD_AUTHENTICATE:
		act = sieve_client_cmd_authenticate(c);
		break;
	case SIEVE_CMD_NOOP:
		act = sieve_client_cmd_noop(c);
		break;
	case SIEVE_CMD_CAPABILITY:
		sieve_client_caps(c);
		sieve_client_reply(c, "OK", NULL, "Capability completed.");
		break;
	case SIEVE_CMD_STARTTLS:
		act = sieve_client_cmd_starttls(c);
		break;
	case SIEVE_CMD_LOGOUT:
		sieve_client_reply(c, "OK", NULL, "Logout completed.");
		c->state = SIEVE_CLIENT_CLOSED;
		act = PROTO_ACT_CLOSE;
		break;
	case SIEVE_CMD_UNKNOWN:
		/* rejected when its name was read */
		break;
	}
	sieve_client_cmd_reset(c);
	return act;
}

size_t
sieve_client_input(struct sieve_client *c, const void *data, size_t len,
    enum proto_action *act_r)
{
	const char *p = data, *line;
	size_t consumed = 0, used, llen;
	enum proto_action act = PROTO_ACT_MORE;
	enum linebuf_status st;

	if (c->state == SIEVE_CLIENT_CLOSED) {
		*act_r = PROTO_ACT_CLOSE;
		return 0;
	}
	while (act == PROTO_ACT_MORE && consumed < len) {
		if (c->state != SIEVE_CLIENT_PREAUTH &&
		    c->state != SIEVE_CLIENT_AUTH &&
		    c->state != SIEVE_CLIENT_AUTH_ERROR)
			break;
		if (c->in_literal) {
			consumed += sieve_client_literal_input(
			    c, p + consumed, len - consumed);
			continue;
		}
		/* a new line is only started with room for its reply */
		if (linebuf_at_start(&c->line) &&
		    c->out.len > SIEVE_CLIENT_OUTPUT_HIGH)
			break;
		st = linebuf_feed(&c->line, p + consumed, len - consumed, &used,
		    &line, &llen);
		consumed += used;
		if (st == LINEBUF_TOO_LONG) {
			act = sieve_client_close(c, "Input line too long.");
			break;
		}
		if (st == LINEBUF_MORE)
			break;
		act = sieve_client_cmd_line(c, line, llen);
		linebuf_drop(&c->line);
	}
	*act_r = act;
	return consumed;
}

void
sieve_client_tls_started(struct sieve_client *c)
{
	if (c->state != SIEVE_CLIENT_STARTTLS)
		return;
	c->state = SIEVE_CLIENT_PREAUTH;
	c->set.secured = true;
	c->set.starttls = false;
	linebuf_reset(&c->line);
	sieve_client_cmd_reset(c);
	sieve_client_caps(c);
	sieve_client_reply(c, "OK", NULL, "TLS negotiation successful.");
}

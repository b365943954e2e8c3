/*
 * imap_client.c - the pre-login IMAP server facing a client (pure): the
 * command reader, the simple commands (CAPABILITY, NOOP, LOGOUT, STARTTLS,
 * ID) and the dispatch; LOGIN/AUTHENTICATE are in imap_client_login.c.
 *
 * Two state variables, as in nginx: the protocol state (enum
 * imap_client_state: reading commands, inside AUTHENTICATE, waiting for
 * the shell) and the reader state (a line, or the bytes of a literal).
 * A command is collected line by line into bounded storage: a fixed token
 * array whose bytes live in one buffer (cmd_data).  Lines are at most
 * line_max bytes, stored literals at most literal_max, the whole command at
 * most IMAP_CMD_DATA_MAX bytes and IMAP_ARGS_MAX tokens.
 *
 * Invariants:
 * - Literal bytes are never parsed as commands: a literal is either read
 *   into a token, skipped byte by byte (a rejected command), or the session
 *   is closed.
 * - A rejected command stays "rejected" until its end: its arguments are
 *   still tokenized (to find the end) but not stored.
 * - input() returns right after any command that yields an action other
 *   than PROTO_ACT_MORE, so bytes pipelined after STARTTLS or LOGIN are left
 *   to the shell.
 * - Secrets (passwords, the command buffer holding them) are wiped when
 *   no longer needed.  Nothing is logged here.
 */
#include "compat.h"

#include <stdio.h>
#include <strings.h>

#include "imap_client_int.h"
#include "sasl.h"
#include "xmalloc.h"

struct imap_cmd_name {
	const char *name;
	enum imap_cmd_kind kind;
};

static const struct imap_cmd_name imap_cmd_names[] = {
    {"CAPABILITY", IMAP_CMD_CAPABILITY},
    {"NOOP", IMAP_CMD_NOOP},
    {"LOGOUT", IMAP_CMD_LOGOUT},
    {"STARTTLS", IMAP_CMD_STARTTLS},
    {"LOGIN", IMAP_CMD_LOGIN},
    {"AUTHENTICATE", IMAP_CMD_AUTHENTICATE},
    {"ID", IMAP_CMD_ID},
    {"ENABLE", IMAP_CMD_LATER},
    {"SELECT", IMAP_CMD_LATER},
    {"EXAMINE", IMAP_CMD_LATER},
    {"CREATE", IMAP_CMD_LATER},
    {"DELETE", IMAP_CMD_LATER},
    {"RENAME", IMAP_CMD_LATER},
    {"SUBSCRIBE", IMAP_CMD_LATER},
    {"UNSUBSCRIBE", IMAP_CMD_LATER},
    {"LIST", IMAP_CMD_LATER},
    {"LSUB", IMAP_CMD_LATER},
    {"NAMESPACE", IMAP_CMD_LATER},
    {"STATUS", IMAP_CMD_LATER},
    {"APPEND", IMAP_CMD_LATER},
    {"IDLE", IMAP_CMD_LATER},
    {"CHECK", IMAP_CMD_LATER},
    {"CLOSE", IMAP_CMD_LATER},
    {"UNSELECT", IMAP_CMD_LATER},
    {"EXPUNGE", IMAP_CMD_LATER},
    {"SEARCH", IMAP_CMD_LATER},
    {"FETCH", IMAP_CMD_LATER},
    {"STORE", IMAP_CMD_LATER},
    {"COPY", IMAP_CMD_LATER},
    {"MOVE", IMAP_CMD_LATER},
    {"UID", IMAP_CMD_LATER},
};

static void
imap_client_id_clear(struct imap_client *c)
{
	size_t i;

	for (i = 0; i < c->id_count; i++) {
		free(c->id_fields[i].name);
		free(c->id_fields[i].value);
		c->id_fields[i].name = NULL;
		c->id_fields[i].value = NULL;
	}
	c->id_count = 0;
}

/* Forgets the command being collected and the reader state. */
static void
imap_client_cmd_reset(struct imap_client *c)
{
	c->cmd_started = false;
	c->tag[0] = '\0';
	c->kind = IMAP_CMD_UNKNOWN;
	c->reject = NULL;
	c->reject_counts = false;
	c->need_sep = false;
	c->depth = 0;
	c->ntokens = 0;
	c->in_literal = false;
	c->literal_skip = false;
	c->literal_left = 0;
	buf_clear(&c->cmd_data);
}

struct imap_client *
imap_client_new(const struct imap_client_settings *set)
{
	struct imap_client *c;
	const char *greeting, *name;

	c = xcalloc(1, sizeof(*c));
	c->set = *set;
	greeting = set->greeting != NULL ? set->greeting : "Director ready.";
	c->greeting = imap_text_dup_oneline(
	    greeting, strlen(greeting), IMAP_RELAY_TEXT_MAX);
	name = set->server_name != NULL ? set->server_name : "director";
	c->server_name = imap_text_dup_oneline(name, strlen(name), 64);
	c->set.greeting = NULL;
	c->set.server_name = NULL;
	if (c->set.line_max == 0)
		c->set.line_max = IMAP_CLIENT_LINE_MAX;
	if (c->set.literal_max == 0)
		c->set.literal_max = IMAP_CLIENT_LITERAL_MAX;
	if (c->set.bad_max == 0)
		c->set.bad_max = IMAP_CLIENT_BAD_MAX;
	if (c->set.secured)
		c->set.starttls = false;
	buf_init(&c->out, IMAP_CLIENT_OUTPUT_MAX);
	linebuf_init(&c->line, c->set.line_max);
	buf_init(&c->cmd_data, IMAP_CMD_DATA_MAX);
	c->state = IMAP_CLIENT_PREAUTH;
	return c;
}

void
imap_client_free(struct imap_client **cp)
{
	struct imap_client *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	proto_creds_clear(&c->creds);
	free(c->challenge);
	free(c->auth_reply);
	imap_client_id_clear(c);
	buf_deinit(&c->out);
	linebuf_deinit(&c->line);
	buf_deinit(&c->cmd_data);
	free(c->greeting);
	free(c->server_name);
	freezero(c, sizeof(*c));
}

struct buf *
imap_client_output(struct imap_client *c)
{
	return &c->out;
}

static bool
imap_client_auth_allowed(const struct imap_client *c)
{
	return c->set.secured || c->set.allow_plaintext_auth;
}

static void
imap_client_append_caps(struct imap_client *c)
{
	(void)buf_append_str(&c->out, IMAP_CAPS_BASE);
	if (c->set.starttls && !c->set.secured)
		(void)buf_append_str(&c->out, " STARTTLS");
	if (imap_client_auth_allowed(c))
		sasl_mechs_append(&c->out, c->set.mechs, " AUTH=", "");
	else
		(void)buf_append_str(&c->out, " LOGINDISABLED");
}

void
imap_client_greeting(struct imap_client *c)
{
	(void)buf_append_str(&c->out, "* OK [CAPABILITY ");
	imap_client_append_caps(c);
	(void)buf_printf(&c->out, "] %s\r\n", c->greeting);
}

/* Queues "<tag> <text>" (or "* <text>" without a tag). */
void
imap_client_reply(struct imap_client *c, const char *tag, const char *text)
{
	(void)buf_printf(
	    &c->out, "%s %s\r\n", tag[0] != '\0' ? tag : "*", text);
}

static enum proto_action
imap_client_close(struct imap_client *c, const char *text)
{
	(void)buf_printf(&c->out, "* BYE %s\r\n", text);
	c->state = IMAP_CLIENT_CLOSED;
	imap_client_cmd_reset(c);
	return PROTO_ACT_CLOSE;
}

/* Counts a bad command; closes the session past the limit. */
enum proto_action
imap_client_count_bad(struct imap_client *c)
{
	if (++c->bad_count >= c->set.bad_max)
		return imap_client_close(c, "Too many invalid IMAP commands.");
	return PROTO_ACT_MORE;
}

/* Ends the current command with its rejection reply. */
static enum proto_action
imap_client_cmd_reject(struct imap_client *c)
{
	bool counts = c->reject_counts;

	imap_client_reply(c, c->tag, c->reject);
	imap_client_cmd_reset(c);
	return counts ? imap_client_count_bad(c) : PROTO_ACT_MORE;
}

/* Marks the command rejected (the first reason wins). */
static void
imap_client_set_reject(struct imap_client *c, const char *text, bool counts)
{
	if (c->reject != NULL)
		return;
	c->reject = text;
	c->reject_counts = counts;
}

/* Stores a token, or rejects the command when the limits are hit. */
static void
imap_client_add_token(struct imap_client *c, enum imap_token_type type,
    const char *data, size_t len)
{
	struct imap_token *t;

	if (c->reject != NULL)
		return;
	if (c->ntokens == IMAP_ARGS_MAX) {
		imap_client_set_reject(c, TEXT_BAD_ARGS, true);
		return;
	}
	t = &c->tokens[c->ntokens];
	t->type = type;
	t->off = c->cmd_data.len;
	t->len = len;
	if (len > 0 && buf_append(&c->cmd_data, data, len) == -1) {
		imap_client_set_reject(c, TEXT_BAD_ARGS, true);
		return;
	}
	c->ntokens++;
}

static enum imap_cmd_kind
imap_client_cmd_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < nitems(imap_cmd_names); i++) {
		if (strlen(imap_cmd_names[i].name) == len &&
		    strncasecmp(imap_cmd_names[i].name, name, len) == 0)
			return imap_cmd_names[i].kind;
	}
	return IMAP_CMD_UNKNOWN;
}

/* Parses "tag SP command" at the start of a command.  Returns the offset
 * after the command name, or -1 if the tag is invalid (an untagged BAD was
 * the answer) and -2 for any other syntax error (the tag is known). */
static long
imap_client_parse_head(struct imap_client *c, const char *line, size_t len)
{
	size_t pos = 0, start, i;

	while (pos < len && line[pos] != ' ')
		pos++;
	if (pos == 0 || pos > IMAP_TAG_MAX)
		return -1;
	for (i = 0; i < pos; i++) {
		if (!imap_is_tag_char((unsigned char)line[i]))
			return -1;
	}
	memcpy(c->tag, line, pos);
	c->tag[pos] = '\0';
	c->cmd_started = true;
	if (pos == len)
		return -2;
	start = ++pos;
	while (pos < len && imap_is_astring_char((unsigned char)line[pos]))
		pos++;
	if (pos == start || (pos < len && line[pos] != ' '))
		return -2;
	c->kind = imap_client_cmd_lookup(line + start, pos - start);
	switch (c->kind) {
	case IMAP_CMD_UNKNOWN:
		imap_client_set_reject(c, TEXT_BAD_UNKNOWN, true);
		break;
	case IMAP_CMD_LATER:
		imap_client_set_reject(c, TEXT_BAD_NOT_YET, true);
		break;
	case IMAP_CMD_LOGIN:
	case IMAP_CMD_AUTHENTICATE:
		/* Rejected before any literal is requested, so a password
		 * never has to cross the plaintext connection. */
		if (!imap_client_auth_allowed(c))
			imap_client_set_reject(c, TEXT_NO_PRIVACY, false);
		break;
	default:
		break;
	}
	/* A following argument starts with its separator. */
	return (long)pos;
}

/* Parses a quoted string starting at line[*posp] == '"' and adds it as a
 * token.  Returns false on a syntax error. */
static bool
imap_client_parse_quoted(
    struct imap_client *c, const char *line, size_t len, size_t *posp)
{
	size_t pos = *posp + 1, off = c->cmd_data.len;
	bool store = c->reject == NULL && c->ntokens < IMAP_ARGS_MAX;
	bool overflow = false;

	for (; pos < len && line[pos] != '"'; pos++) {
		char ch = line[pos];

		if (ch == '\0' || ch == '\r' || ch == '\n')
			return false;
		if (ch == '\\') {
			if (pos + 1 == len ||
			    (line[pos + 1] != '"' && line[pos + 1] != '\\'))
				return false;
			ch = line[++pos];
		}
		if (store && !overflow &&
		    buf_append(&c->cmd_data, &ch, 1) == -1)
			overflow = true;
	}
	if (pos == len)
		return false;
	*posp = pos + 1;
	if (!store || overflow) {
		c->cmd_data.len = off;
		imap_client_set_reject(c, TEXT_BAD_ARGS, true);
		return true;
	}
	c->tokens[c->ntokens].type = IMAP_TOKEN_STRING;
	c->tokens[c->ntokens].off = off;
	c->tokens[c->ntokens].len = c->cmd_data.len - off;
	c->ntokens++;
	return true;
}

static enum proto_action imap_client_cmd_execute(struct imap_client *c);

/* A literal {size} / {size+} was announced at the end of a line. */
static enum proto_action
imap_client_literal_start(
    struct imap_client *c, enum imap_literal_spec spec, uint64_t size)
{
	bool sync = spec == IMAP_LITERAL_SYNC;

	if (c->reject == NULL &&
	    (size > c->set.literal_max ||
		size > c->cmd_data.max - c->cmd_data.len))
		imap_client_set_reject(c, TEXT_BAD_LITERAL, true);
	if (c->reject == NULL && c->ntokens == IMAP_ARGS_MAX)
		imap_client_set_reject(c, TEXT_BAD_ARGS, true);
	if (c->reject != NULL) {
		/* A synchronizing literal is not sent without our "+", so
		 * the command ends here. */
		if (sync)
			return imap_client_cmd_reject(c);
		if (size > IMAP_LITERAL_SKIP_MAX)
			return imap_client_close(
			    c, "Literal too large in rejected command.");
		c->literal_skip = true;
	} else {
		c->tokens[c->ntokens].type = IMAP_TOKEN_STRING;
		c->tokens[c->ntokens].off = c->cmd_data.len;
		c->tokens[c->ntokens].len = (size_t)size;
		c->ntokens++;
		c->literal_skip = false;
		if (sync)
			(void)buf_append_str(&c->out, "+ OK\r\n");
	}
	c->literal_left = size;
	c->in_literal = size > 0;
	c->need_sep = true;
	return PROTO_ACT_MORE;
}

/* Handles one line of a command (the first one or one after a
 * literal). */
static enum proto_action
imap_client_cmd_line(struct imap_client *c, const char *line, size_t len)
{
	enum imap_literal_spec spec;
	uint64_t lsize = 0;
	size_t pos = 0, lstart = 0, start;
	long r;

	if (!c->cmd_started) {
		if (len == 0)
			return PROTO_ACT_MORE;
		r = imap_client_parse_head(c, line, len);
		if (r == -1) {
			c->tag[0] = '\0';
			c->cmd_started = true;
			imap_client_set_reject(c, TEXT_BAD_SYNTAX, true);
			goto syntax_error;
		}
		if (r == -2) {
			imap_client_set_reject(c, TEXT_BAD_SYNTAX, true);
			goto syntax_error;
		}
		pos = (size_t)r;
		c->need_sep = true;
	}
	spec = imap_literal_spec_find(line, len, &lsize, &lstart);
	while (pos < len) {
		unsigned char ch = (unsigned char)line[pos];

		if (c->need_sep && ch != ' ' && ch != ')')
			goto syntax_error;
		if (ch == ' ') {
			if (!c->need_sep)
				goto syntax_error;
			c->need_sep = false;
			pos++;
			continue;
		}
		if (ch == '(') {
			if (++c->depth > IMAP_DEPTH_MAX)
				goto syntax_error;
			imap_client_add_token(c, IMAP_TOKEN_LPAREN, NULL, 0);
			pos++;
		} else if (ch == ')') {
			if (c->depth == 0)
				goto syntax_error;
			c->depth--;
			imap_client_add_token(c, IMAP_TOKEN_RPAREN, NULL, 0);
			c->need_sep = true;
			pos++;
		} else if (ch == '"') {
			if (!imap_client_parse_quoted(c, line, len, &pos))
				goto syntax_error;
			c->need_sep = true;
		} else if (ch == '{') {
			if ((spec != IMAP_LITERAL_SYNC &&
				spec != IMAP_LITERAL_NONSYNC) ||
			    lstart != pos)
				goto syntax_error;
			return imap_client_literal_start(c, spec, lsize);
		} else if (imap_is_astring_char(ch)) {
			start = pos;
			while (pos < len &&
			    imap_is_astring_char((unsigned char)line[pos]))
				pos++;
			imap_client_add_token(
			    c, IMAP_TOKEN_ATOM, line + start, pos - start);
			c->need_sep = true;
		} else {
			goto syntax_error;
		}
	}
	if (c->depth != 0)
		goto syntax_error;
	if (c->reject != NULL)
		return imap_client_cmd_reject(c);
	return imap_client_cmd_execute(c);

syntax_error:
	imap_client_set_reject(c, TEXT_BAD_SYNTAX, true);
	/* Whether the client thinks a literal follows decides where the
	 * command ends. */
	spec = imap_literal_spec_find(line, len, &lsize, &lstart);
	if (spec == IMAP_LITERAL_NONSYNC)
		return imap_client_close(c, "Invalid command with a literal.");
	return imap_client_cmd_reject(c);
}

const char *
imap_client_token_str(const struct imap_client *c, unsigned int i)
{
	if (c->tokens[i].len == 0)
		return "";
	return c->cmd_data.data + c->tokens[i].off;
}

/* Copies token i into a new NUL-terminated string; fails on NUL bytes. */
char *
imap_client_token_dup(const struct imap_client *c, unsigned int i)
{
	const struct imap_token *t = &c->tokens[i];
	const char *s = imap_client_token_str(c, i);

	if (memchr(s, '\0', t->len) != NULL)
		return NULL;
	return xstrndup(s, t->len);
}

bool
imap_client_token_is_string(const struct imap_client *c, unsigned int i)
{
	return c->tokens[i].type == IMAP_TOKEN_ATOM ||
	    c->tokens[i].type == IMAP_TOKEN_STRING;
}

static bool
imap_client_token_is_nil(const struct imap_client *c, unsigned int i)
{
	return c->tokens[i].type == IMAP_TOKEN_ATOM && c->tokens[i].len == 3 &&
	    strncasecmp(imap_client_token_str(c, i), "NIL", 3) == 0;
}

enum proto_action
imap_client_bad(struct imap_client *c, const char *tag, const char *text)
{
	imap_client_reply(c, tag, text);
	return imap_client_count_bad(c);
}

static enum proto_action
imap_client_cmd_id(struct imap_client *c)
{
	unsigned int i, n = c->ntokens;
	size_t count = 0;

	if (n == 1 && imap_client_token_is_nil(c, 0)) {
		imap_client_id_clear(c);
		goto reply;
	}
	if (n < 2 || c->tokens[0].type != IMAP_TOKEN_LPAREN ||
	    c->tokens[n - 1].type != IMAP_TOKEN_RPAREN || (n - 2) % 2 != 0)
		return imap_client_bad(c, c->tag, TEXT_BAD_SYNTAX);
	for (i = 1; i + 1 < n; i += 2) {
		if (c->tokens[i].type != IMAP_TOKEN_STRING ||
		    c->tokens[i].len == 0 ||
		    c->tokens[i].len > IMAP_ID_NAME_MAX ||
		    (c->tokens[i + 1].type != IMAP_TOKEN_STRING &&
			!imap_client_token_is_nil(c, i + 1)) ||
		    c->tokens[i + 1].len > IMAP_ID_VALUE_MAX)
			return imap_client_bad(
			    c, c->tag, "BAD Invalid ID parameters.");
	}
	imap_client_id_clear(c);
	for (i = 1; i + 1 < n && count < IMAP_ID_FIELDS_MAX; i += 2) {
		struct imap_id_field *f = &c->id_fields[count];

		f->name = imap_client_token_dup(c, i);
		if (f->name == NULL)
			continue;
		if (c->tokens[i + 1].type == IMAP_TOKEN_STRING) {
			f->value = imap_client_token_dup(c, i + 1);
			if (f->value == NULL) {
				free(f->name);
				f->name = NULL;
				continue;
			}
		}
		count++;
	}
	c->id_count = count;
reply:
	(void)buf_append_str(&c->out, "* ID (\"name\" ");
	(void)imap_append_quoted(
	    &c->out, c->server_name, strlen(c->server_name));
	(void)buf_append_str(&c->out, ")\r\n");
	imap_client_reply(c, c->tag, "OK ID completed.");
	return PROTO_ACT_MORE;
}

/* Runs a complete, well-formed, not rejected command.  The command
 * storage is reset afterwards (the tag is copied where it must live on). */
static enum proto_action
imap_client_cmd_execute(struct imap_client *c)
{
	enum proto_action act = PROTO_ACT_MORE;
	bool no_args = c->ntokens == 0;

	switch (c->kind) {
	case IMAP_CMD_CAPABILITY:
		if (!no_args)
			goto bad;
		(void)buf_append_str(&c->out, "* CAPABILITY ");
		imap_client_append_caps(c);
		(void)buf_append_str(&c->out, "\r\n");
		imap_client_reply(c, c->tag,
		    "OK Pre-login capabilities "
		    "listed, post-login capabilities have more.");
		break;
	case IMAP_CMD_NOOP:
		if (!no_args)
			goto bad;
		imap_client_reply(c, c->tag, "OK NOOP completed.");
		break;
	case IMAP_CMD_LOGOUT:
		if (!no_args)
			goto bad;
		(void)buf_append_str(&c->out, "* BYE Logging out\r\n");
		imap_client_reply(c, c->tag, "OK Logout completed.");
		c->state = IMAP_CLIENT_CLOSED;
		act = PROTO_ACT_CLOSE;
		break;
	case IMAP_CMD_STARTTLS:
		if (!no_args)
			goto bad;
		if (c->set.secured) {
			act = imap_client_bad(
			    c, c->tag, "BAD TLS is already active.");
		} else if (!c->set.starttls) {
			act = imap_client_bad(
			    c, c->tag, "BAD TLS support isn't enabled.");
		} else {
			imap_client_reply(
			    c, c->tag, "OK Begin TLS negotiation now.");
			c->state = IMAP_CLIENT_STARTTLS;
			act = PROTO_ACT_STARTTLS;
		}
		break;
	case IMAP_CMD_LOGIN:
		act = imap_client_cmd_login(c);
		break;
	case IMAP_CMD_AUTHENTICATE:
		act = imap_client_cmd_authenticate(c);
		break;
	case IMAP_CMD_ID:
		act = imap_client_cmd_id(c);
		break;
	default:
		goto bad;
	}
	imap_client_cmd_reset(c);
	return act;
bad:
	act = imap_client_bad(c, c->tag, TEXT_BAD_SYNTAX);
	imap_client_cmd_reset(c);
	return act;
}

/* One complete line (CRLF or LF stripped) in the current state. */
static enum proto_action
imap_client_line(struct imap_client *c, const char *line, size_t len)
{
	switch (c->state) {
	case IMAP_CLIENT_PREAUTH:
		return imap_client_cmd_line(c, line, len);
	case IMAP_CLIENT_AUTH:
		return imap_client_sasl_line(c, line, len);
	case IMAP_CLIENT_AUTH_ERROR:
		return imap_client_auth_error_line(c);
	default:
		return PROTO_ACT_MORE;
	}
}

/* Reads literal bytes; returns how many were consumed. */
static size_t
imap_client_literal_input(struct imap_client *c, const char *data, size_t len)
{
	size_t n = len;

	if ((uint64_t)n > c->literal_left)
		n = (size_t)c->literal_left;
	if (!c->literal_skip) {
		if (memchr(data, '\0', n) != NULL) {
			/* IMAP literals are CHAR8: no NUL.  Keep reading
			 * to the end of the command, but reject it. */
			c->literal_skip = true;
			c->ntokens--;
			imap_client_set_reject(c, TEXT_BAD_SYNTAX, true);
		} else {
			(void)buf_append(&c->cmd_data, data, n);
		}
	}
	c->literal_left -= n;
	if (c->literal_left == 0)
		c->in_literal = false;
	return n;
}

size_t
imap_client_input(struct imap_client *c, const void *data, size_t len,
    enum proto_action *act_r)
{
	const char *p = data, *line;
	size_t consumed = 0, used, llen;
	enum proto_action act = PROTO_ACT_MORE;
	enum linebuf_status st;

	if (c->state == IMAP_CLIENT_CLOSED) {
		*act_r = PROTO_ACT_CLOSE;
		return 0;
	}
	while (act == PROTO_ACT_MORE && consumed < len) {
		if (c->state != IMAP_CLIENT_PREAUTH &&
		    c->state != IMAP_CLIENT_AUTH &&
		    c->state != IMAP_CLIENT_AUTH_ERROR)
			break;
		if (c->out.len > IMAP_CLIENT_OUTPUT_HIGH)
			break;
		if (c->in_literal) {
			consumed += imap_client_literal_input(
			    c, p + consumed, len - consumed);
			continue;
		}
		st = linebuf_feed(&c->line, p + consumed, len - consumed, &used,
		    &line, &llen);
		consumed += used;
		if (st == LINEBUF_TOO_LONG) {
			act = imap_client_close(c, "Too long command line.");
			break;
		}
		if (st == LINEBUF_MORE)
			break;
		act = imap_client_line(c, line, llen);
		linebuf_drop(&c->line);
	}
	*act_r = act;
	return consumed;
}

void
imap_client_tls_started(struct imap_client *c)
{
	c->set.secured = true;
	c->set.starttls = false;
	imap_client_cmd_reset(c);
	linebuf_reset(&c->line);
	imap_client_id_clear(c);
	if (c->state == IMAP_CLIENT_STARTTLS)
		c->state = IMAP_CLIENT_PREAUTH;
}

const struct imap_id_field *
imap_client_id_fields(const struct imap_client *c, size_t *count_r)
{
	*count_r = c->id_count;
	return c->id_fields;
}

bool
imap_client_proxy_ttl(const struct imap_client *c, unsigned int *ttl_r)
{
	const char *errstr;
	long long v;
	size_t i;

	for (i = 0; i < c->id_count; i++) {
		if (strcasecmp(c->id_fields[i].name, "x-proxy-ttl") != 0 ||
		    c->id_fields[i].value == NULL)
			continue;
		v = strtonum(c->id_fields[i].value, 0, UINT_MAX, &errstr);
		if (errstr != NULL)
			return false;
		*ttl_r = (unsigned int)v;
		return true;
	}
	return false;
}

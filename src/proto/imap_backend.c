/*
 * imap_backend.c - the pre-login IMAP client facing a backend (pure).
 * OAuth logins replay the client's SASL message unchanged; an error
 * challenge after it is kept for the client and answered with the
 * mechanism's dummy response.
 *
 * A line reader feeds complete reply lines to a small state machine
 * (enum imap_backend_state).  Literals at the end of untagged lines (an ID
 * reply may carry some) are skipped byte by byte, never parsed.  Commands
 * with synchronizing literals (and AUTHENTICATE without SASL-IR) are kept
 * as segments in `pending`; each "+" continuation releases the next one.
 *
 * Invariants:
 * - Every reply line is at most line_max bytes; every skipped literal at
 *   most IMAP_BACKEND_LITERAL_SKIP_MAX; the output is a few fixed commands.
 * - Only tagged replies with our own tags advance the state; any other
 *   tag, an untagged BYE or PREAUTH closes.
 * - The credentials live in `creds` and, while being sent, in `pending`
 *   and the output buffer; all are wiped on free.  Nothing is logged.
 */
#include "compat.h"

#include <stdio.h>
#include <strings.h>

#include "buf.h"
#include "imap_backend.h"
#include "imap_parse.h"
#include "linebuf.h"
#include "sasl.h"
#include "xmalloc.h"

/* Largest literal inside an untagged reply that is skipped. */
#define IMAP_BACKEND_LITERAL_SKIP_MAX 65536
/* Output: ID (bounded by the ID limits) plus one login command. */
#define IMAP_BACKEND_OUTPUT_MAX 131072
/* Segments of one command separated by synchronizing literals. */
#define IMAP_BACKEND_SEGMENTS_MAX 3
/* Longest tag we generate ("D" and a small counter). */
#define IMAP_BACKEND_TAG_MAX 12
/* Longest backend text kept for the client. */
#define IMAP_BACKEND_TEXT_MAX 1024
/* Longest capability list kept. */
#define IMAP_BACKEND_CAPS_MAX 4096

enum imap_backend_state {
	IMAP_BACKEND_GREETING,
	IMAP_BACKEND_CAPS, /* CAPABILITY before login */
	IMAP_BACKEND_STARTTLS, /* STARTTLS sent */
	IMAP_BACKEND_TLS_WAIT, /* until imap_backend_tls_started() */
	IMAP_BACKEND_LOGIN, /* ID and login sent */
	IMAP_BACKEND_POST_CAPS, /* CAPABILITY after login */
	IMAP_BACKEND_DONE, /* LOGGED_IN or LOGIN_FAILED given */
	IMAP_BACKEND_CLOSED,
};

struct imap_backend {
	struct imap_backend_settings set;
	struct proto_creds creds;
	struct proto_client_info info;
	struct imap_id_field *id_fields;
	size_t id_count;

	enum imap_backend_state state;
	enum proto_action final_act; /* repeated once DONE */
	struct buf out;

	/* Line reader. */
	struct linebuf line;
	uint64_t skip_left; /* literal bytes still to skip */
	bool untagged_cont; /* next line continues an untagged
	                                 * reply after a literal */

	unsigned int tag_counter;
	char tag_caps[IMAP_BACKEND_TAG_MAX];
	char tag_starttls[IMAP_BACKEND_TAG_MAX];
	char tag_id[IMAP_BACKEND_TAG_MAX];
	char tag_login[IMAP_BACKEND_TAG_MAX];
	bool tls_done;

	/* Rest of the login command, released by "+" continuations. */
	struct buf pending;
	size_t seg_end[IMAP_BACKEND_SEGMENTS_MAX];
	unsigned int nsegs, seg_next;

	char *caps; /* pre-login */
	char *post_caps; /* from untagged CAPABILITY after
	                                 * login was sent */
	char *reply_text;
	char *challenge; /* an OAuth error challenge (base64) */
	const char *error;
};

/*
 * Client ID fields whose names start with this are dropped: backends
 * trust x- fields from the director (x-originating-ip, x-forward-*,
 * x-session-ext-id, ...), so only the director may set them.
 */
#define IMAP_BACKEND_OWN_PREFIX "x-"

struct imap_backend *
imap_backend_new(const struct proto_creds *creds,
    const struct proto_client_info *info, const struct imap_id_field *id_fields,
    size_t id_count, const struct imap_backend_settings *set)
{
	struct imap_backend *b;

	if (info->ttl == 0)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	b->set = *set;
	if (b->set.line_max == 0)
		b->set.line_max = IMAP_BACKEND_LINE_MAX;
	b->creds.kind = creds->kind;
	b->creds.authzid =
	    xstrdup(creds->authzid != NULL ? creds->authzid : "");
	b->creds.authcid =
	    xstrdup(creds->authcid != NULL ? creds->authcid : "");
	b->creds.password = xmalloc(creds->password_len + 1);
	if (creds->password_len > 0)
		memcpy(b->creds.password, creds->password, creds->password_len);
	b->creds.password[creds->password_len] = '\0';
	b->creds.password_len = creds->password_len;
	b->info = *info;
	b->info.client_ip[sizeof(b->info.client_ip) - 1] = '\0';
	b->info.local_ip[sizeof(b->info.local_ip) - 1] = '\0';
	b->info.session_id[sizeof(b->info.session_id) - 1] = '\0';
	if (id_count > IMAP_ID_FIELDS_MAX)
		id_count = IMAP_ID_FIELDS_MAX;
	b->id_fields = imap_id_fields_copy(id_fields, id_count);
	b->id_count = id_count;
	buf_init(&b->out, IMAP_BACKEND_OUTPUT_MAX);
	linebuf_init(&b->line, b->set.line_max);
	buf_init(&b->pending, IMAP_BACKEND_OUTPUT_MAX);
	b->state = IMAP_BACKEND_GREETING;
	return b;
}

void
imap_backend_free(struct imap_backend **bp)
{
	struct imap_backend *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	proto_creds_clear(&b->creds);
	imap_id_fields_free(&b->id_fields, b->id_count);
	buf_deinit(&b->out);
	linebuf_deinit(&b->line);
	buf_deinit(&b->pending);
	free(b->caps);
	free(b->post_caps);
	free(b->reply_text);
	free(b->challenge);
	freezero(b, sizeof(*b));
}

struct buf *
imap_backend_output(struct imap_backend *b)
{
	return &b->out;
}

const char *
imap_backend_caps(const struct imap_backend *b)
{
	return b->post_caps != NULL ? b->post_caps : "";
}

const char *
imap_backend_reply_text(const struct imap_backend *b)
{
	return b->reply_text != NULL ? b->reply_text : "";
}

const char *
imap_backend_challenge(const struct imap_backend *b)
{
	return b->challenge;
}

const char *
imap_backend_error(const struct imap_backend *b)
{
	return b->error;
}

static enum proto_action
imap_backend_close(struct imap_backend *b, const char *error)
{
	b->state = IMAP_BACKEND_CLOSED;
	b->error = error;
	return PROTO_ACT_CLOSE;
}

/* Starts a command: allocates the next tag into tag (IMAP_BACKEND_TAG_MAX
 * bytes) and writes "tag " to out. */
static void
imap_backend_cmd_begin(struct imap_backend *b, char *tag, struct buf *out)
{
	snprintf(tag, IMAP_BACKEND_TAG_MAX, "D%u", ++b->tag_counter);
	(void)buf_printf(out, "%s ", tag);
}

static void
imap_backend_send_capability(struct imap_backend *b)
{
	imap_backend_cmd_begin(b, b->tag_caps, &b->out);
	(void)buf_append_str(&b->out, "CAPABILITY\r\n");
}

/* Ends a segment of the pending login command (before a synchronizing
 * literal's data, or before a SASL response). */
static void
imap_backend_seg_cut(struct imap_backend *b)
{
	if (b->nsegs < IMAP_BACKEND_SEGMENTS_MAX)
		b->seg_end[b->nsegs++] = b->pending.len;
}

/* Appends an astring: quoted when possible, else a literal. */
static void
imap_backend_append_astring(struct imap_backend *b, const char *s, size_t len)
{
	if (imap_is_quotable(s, len)) {
		(void)imap_append_quoted(&b->pending, s, len);
		return;
	}
	if (imap_caps_has(b->caps, "LITERAL+")) {
		(void)buf_printf(&b->pending, "{%zu+}\r\n", len);
	} else {
		(void)buf_printf(&b->pending, "{%zu}\r\n", len);
		imap_backend_seg_cut(b);
	}
	(void)buf_append(&b->pending, s, len);
}

static void
imap_backend_append_id_pair(
    struct imap_backend *b, bool *first, const char *name, const char *value)
{
	(void)buf_append_str(&b->out, *first ? "" : " ");
	*first = false;
	(void)imap_append_quoted(&b->out, name, strlen(name));
	(void)buf_append_str(&b->out, " ");
	if (value == NULL)
		(void)buf_append_str(&b->out, "NIL");
	else
		(void)imap_append_quoted(&b->out, value, strlen(value));
}

static bool
imap_backend_own_field(const char *name)
{
	return strncasecmp(name, IMAP_BACKEND_OWN_PREFIX,
		   strlen(IMAP_BACKEND_OWN_PREFIX)) == 0;
}

/* The x- fields of ours: the client's addresses, session, TTL. */
static void
imap_backend_id_ours(struct imap_backend *b, bool *first)
{
	const struct proto_client_info *info = &b->info;
	char num[16];

	if (info->client_ip[0] != '\0') {
		imap_backend_append_id_pair(
		    b, first, "x-originating-ip", info->client_ip);
		snprintf(num, sizeof(num), "%u", info->client_port);
		imap_backend_append_id_pair(
		    b, first, "x-originating-port", num);
	}
	if (info->local_ip[0] != '\0') {
		imap_backend_append_id_pair(
		    b, first, "x-connected-ip", info->local_ip);
		snprintf(num, sizeof(num), "%u", info->local_port);
		imap_backend_append_id_pair(b, first, "x-connected-port", num);
	}
	if (info->session_id[0] != '\0')
		imap_backend_append_id_pair(
		    b, first, "x-session-id", info->session_id);
	snprintf(num, sizeof(num), "%u", info->ttl);
	imap_backend_append_id_pair(b, first, "x-proxy-ttl", num);
}

static void
imap_backend_send_id(struct imap_backend *b)
{
	const struct proto_client_info *info = &b->info;
	bool first = true;
	size_t i, mark;

	imap_backend_cmd_begin(b, b->tag_id, &b->out);
	(void)buf_append_str(&b->out, "ID ");
	mark = b->out.len;
	(void)buf_append_str(&b->out, "(");
	/* ours, unless the PROXY header said it all */
	if (!info->proxy_header)
		imap_backend_id_ours(b, &first);
	/* The client's own fields follow, unless they are x- fields (ours
	 * to set) or need a literal (which would stall the pipeline). */
	for (i = 0; i < b->id_count; i++) {
		const struct imap_id_field *f = &b->id_fields[i];

		if (imap_backend_own_field(f->name) ||
		    !imap_is_quotable(f->name, strlen(f->name)) ||
		    (f->value != NULL &&
			!imap_is_quotable(f->value, strlen(f->value))))
			continue;
		imap_backend_append_id_pair(b, &first, f->name, f->value);
	}
	if (first) { /* nothing to say: an empty list is not allowed */
		b->out.len = mark;
		(void)buf_append_str(&b->out, "NIL\r\n");
		return;
	}
	(void)buf_append_str(&b->out, ")\r\n");
}

/* Moves the next pending segment to the output. */
static void
imap_backend_seg_release(struct imap_backend *b)
{
	size_t start = b->seg_next == 0 ? 0 : b->seg_end[b->seg_next - 1];
	size_t end =
	    b->seg_next < b->nsegs ? b->seg_end[b->seg_next] : b->pending.len;

	(void)buf_append(&b->out, b->pending.data + start, end - start);
	b->seg_next++;
	if (b->seg_next > b->nsegs) {
		buf_clear(&b->pending);
		b->nsegs = 0;
		b->seg_next = 0;
	}
}

static bool
imap_backend_has_pending(const struct imap_backend *b)
{
	return b->pending.len > 0;
}

/* AUTHENTICATE <mech> with the client's OAuth message, as SASL-IR when
 * the backend offers it, else after the "+" continuation. */
static void
imap_backend_oauth_cmd(struct imap_backend *b)
{
	const char *mech = sasl_mech_name(sasl_oauth_creds_mech(&b->creds));
	size_t size = BASE64_ENCODED_LEN(b->creds.password_len) + 1;
	char *ir = xmalloc(size);

	(void)base64_encode((const unsigned char *)b->creds.password,
	    b->creds.password_len, ir);
	if (imap_caps_has(b->caps, "SASL-IR")) {
		(void)buf_printf(&b->pending, "AUTHENTICATE %s %s\r\n", mech,
		    ir[0] != '\0' ? ir : "=");
	} else {
		(void)buf_printf(&b->pending, "AUTHENTICATE %s\r\n", mech);
		imap_backend_seg_cut(b);
		(void)buf_printf(&b->pending, "%s\r\n", ir);
	}
	freezero(ir, size);
}

/* Builds the login command into pending and releases its first
 * segment. */
static enum proto_action
imap_backend_send_login(struct imap_backend *b)
{
	bool oauth = proto_auth_is_oauth(b->creds.kind);
	bool sasl = b->creds.kind != PROTO_AUTH_LOGIN && !oauth;
	char *ir;

	if (imap_caps_has(b->caps, "LOGINDISABLED"))
		return imap_backend_close(
		    b, "backend has LOGINDISABLED (use TLS to the backend)");
	if (sasl && !imap_caps_has(b->caps, "AUTH=PLAIN")) {
		/* Without an authorization identity LOGIN is equivalent. */
		if (b->creds.authzid[0] != '\0')
			return imap_backend_close(b,
			    "backend does not offer AUTH=PLAIN for a "
			    "master-user login");
		sasl = false;
	}
	if (imap_caps_has(b->caps, "ID") &&
	    (!b->info.proxy_header || b->id_count > 0))
		imap_backend_send_id(b);
	imap_backend_cmd_begin(b, b->tag_login, &b->pending);
	if (oauth) {
		imap_backend_oauth_cmd(b);
	} else if (sasl) {
		ir = sasl_plain_encode(&b->creds);
		if (imap_caps_has(b->caps, "SASL-IR")) {
			(void)buf_printf(&b->pending,
			    "AUTHENTICATE PLAIN %s\r\n",
			    ir[0] != '\0' ? ir : "=");
		} else {
			(void)buf_append_str(
			    &b->pending, "AUTHENTICATE PLAIN\r\n");
			imap_backend_seg_cut(b);
			(void)buf_printf(&b->pending, "%s\r\n", ir);
		}
		freezero(ir, strlen(ir) + 1);
	} else {
		(void)buf_append_str(&b->pending, "LOGIN ");
		imap_backend_append_astring(
		    b, b->creds.authcid, strlen(b->creds.authcid));
		(void)buf_append_str(&b->pending, " ");
		imap_backend_append_astring(
		    b, b->creds.password, b->creds.password_len);
		(void)buf_append_str(&b->pending, "\r\n");
	}
	imap_backend_seg_release(b);
	b->state = IMAP_BACKEND_LOGIN;
	return PROTO_ACT_MORE;
}

/* The pre-login capabilities are known: STARTTLS or log in. */
static enum proto_action
imap_backend_caps_known(struct imap_backend *b)
{
	if (b->set.starttls && !b->tls_done) {
		if (!imap_caps_has(b->caps, "STARTTLS"))
			return imap_backend_close(
			    b, "backend does not offer STARTTLS");
		imap_backend_cmd_begin(b, b->tag_starttls, &b->out);
		(void)buf_append_str(&b->out, "STARTTLS\r\n");
		b->state = IMAP_BACKEND_STARTTLS;
		return PROTO_ACT_MORE;
	}
	return imap_backend_send_login(b);
}

static void
imap_backend_set_caps(char **dst, const char *s, size_t len)
{
	free(*dst);
	*dst = imap_text_dup_oneline(s, len, IMAP_BACKEND_CAPS_MAX);
}

static enum proto_action
imap_backend_logged_in(struct imap_backend *b)
{
	b->state = IMAP_BACKEND_DONE;
	b->final_act = PROTO_ACT_LOGGED_IN;
	buf_clear(&b->pending);
	return PROTO_ACT_LOGGED_IN;
}

/* "word" at the start of s (len bytes) followed by SP or the end? */
static bool
imap_backend_word(const char *s, size_t len, const char *word, size_t *rest_r)
{
	size_t wlen = strlen(word);

	if (len < wlen || strncasecmp(s, word, wlen) != 0 ||
	    (len > wlen && s[wlen] != ' '))
		return false;
	*rest_r = len > wlen ? wlen + 1 : wlen;
	return true;
}

static enum proto_action
imap_backend_untagged(struct imap_backend *b, const char *s, size_t len)
{
	size_t rest;

	if (imap_backend_word(s, len, "BYE", &rest))
		return imap_backend_close(b, "backend sent BYE");
	if (b->state == IMAP_BACKEND_GREETING) {
		if (!imap_backend_word(s, len, "OK", &rest))
			return imap_backend_close(
			    b, "unexpected backend greeting");
		b->caps = imap_resp_code_caps(s + rest, len - rest);
		if (b->caps != NULL)
			return imap_backend_caps_known(b);
		imap_backend_send_capability(b);
		b->state = IMAP_BACKEND_CAPS;
		return PROTO_ACT_MORE;
	}
	if (imap_backend_word(s, len, "PREAUTH", &rest))
		return imap_backend_close(b, "backend sent PREAUTH");
	if (imap_backend_word(s, len, "CAPABILITY", &rest)) {
		if (b->state == IMAP_BACKEND_CAPS)
			imap_backend_set_caps(&b->caps, s + rest, len - rest);
		else if (b->state == IMAP_BACKEND_LOGIN ||
		    b->state == IMAP_BACKEND_POST_CAPS)
			imap_backend_set_caps(
			    &b->post_caps, s + rest, len - rest);
	}
	/* Anything else (ID reply, OK notices) is ignored. */
	return PROTO_ACT_MORE;
}

static enum proto_action
imap_backend_tagged(
    struct imap_backend *b, const char *tag, const char *s, size_t len)
{
	char *code;
	size_t rest;
	bool ok;

	if (imap_backend_word(s, len, "OK", &rest))
		ok = true;
	else if (imap_backend_word(s, len, "NO", &rest) ||
	    imap_backend_word(s, len, "BAD", &rest))
		ok = false;
	else
		return imap_backend_close(b, "invalid tagged backend reply");

	if (b->state == IMAP_BACKEND_CAPS && strcmp(tag, b->tag_caps) == 0) {
		if (!ok || b->caps == NULL)
			return imap_backend_close(
			    b, "backend CAPABILITY failed");
		return imap_backend_caps_known(b);
	}
	if (b->state == IMAP_BACKEND_STARTTLS &&
	    strcmp(tag, b->tag_starttls) == 0) {
		if (!ok)
			return imap_backend_close(
			    b, "backend refused STARTTLS");
		b->state = IMAP_BACKEND_TLS_WAIT;
		return PROTO_ACT_STARTTLS;
	}
	if (b->state == IMAP_BACKEND_LOGIN && b->tag_id[0] != '\0' &&
	    strcmp(tag, b->tag_id) == 0)
		return PROTO_ACT_MORE; /* the ID outcome does not matter */
	if (b->state == IMAP_BACKEND_LOGIN && strcmp(tag, b->tag_login) == 0) {
		free(b->reply_text);
		b->reply_text = imap_text_dup_oneline(
		    s + rest, len - rest, IMAP_BACKEND_TEXT_MAX);
		if (!ok) {
			b->state = IMAP_BACKEND_DONE;
			b->final_act = PROTO_ACT_LOGIN_FAILED;
			buf_clear(&b->pending);
			return PROTO_ACT_LOGIN_FAILED;
		}
		code = imap_resp_code_caps(s + rest, len - rest);
		if (code != NULL) {
			free(b->post_caps);
			b->post_caps = code;
		}
		if (b->post_caps != NULL)
			return imap_backend_logged_in(b);
		imap_backend_send_capability(b);
		b->state = IMAP_BACKEND_POST_CAPS;
		return PROTO_ACT_MORE;
	}
	if (b->state == IMAP_BACKEND_POST_CAPS && strcmp(tag, b->tag_caps) == 0)
		return imap_backend_logged_in(b);
	return imap_backend_close(b, "unexpected tagged backend reply");
}

/* A challenge after the whole OAuth message is the backend's error
 * (RFC 7628 section 3.2.3): kept for the client, and the exchange ends
 * with the dummy response; the tagged NO follows. */
static enum proto_action
imap_backend_oauth_error(struct imap_backend *b, const char *s, size_t len)
{
	if (len < 3 || !sasl_challenge_valid(s + 2, len - 2))
		return imap_backend_close(
		    b, "invalid OAuth challenge from backend");
	b->challenge = xstrndup(s + 2, len - 2);
	(void)buf_printf(&b->out, "%s\r\n",
	    sasl_oauth_dummy_response(sasl_oauth_creds_mech(&b->creds)));
	return PROTO_ACT_MORE;
}

static enum proto_action
imap_backend_line(struct imap_backend *b, const char *s, size_t len)
{
	char tag[IMAP_BACKEND_TAG_MAX];
	size_t tlen;

	if (len >= 1 && s[0] == '+' && (len == 1 || s[1] == ' ')) {
		if (b->state == IMAP_BACKEND_LOGIN &&
		    !imap_backend_has_pending(b) &&
		    proto_auth_is_oauth(b->creds.kind) && b->challenge == NULL)
			return imap_backend_oauth_error(b, s, len);
		if (b->state != IMAP_BACKEND_LOGIN ||
		    !imap_backend_has_pending(b))
			return imap_backend_close(
			    b, "unexpected continuation from backend");
		imap_backend_seg_release(b);
		return PROTO_ACT_MORE;
	}
	if (len >= 2 && s[0] == '*' && s[1] == ' ')
		return imap_backend_untagged(b, s + 2, len - 2);
	if (b->state == IMAP_BACKEND_GREETING)
		return imap_backend_close(b, "unexpected backend greeting");
	for (tlen = 0; tlen < len && s[tlen] != ' '; tlen++)
		;
	if (tlen == 0 || tlen >= sizeof(tag) || tlen == len)
		return imap_backend_close(b, "invalid backend reply");
	memcpy(tag, s, tlen);
	tag[tlen] = '\0';
	return imap_backend_tagged(b, tag, s + tlen + 1, len - tlen - 1);
}

size_t
imap_backend_input(struct imap_backend *b, const void *data, size_t len,
    enum proto_action *act_r)
{
	const char *p = data, *line;
	size_t consumed = 0, used, n, llen;
	enum proto_action act = PROTO_ACT_MORE;
	enum linebuf_status st;
	enum imap_literal_spec spec;
	uint64_t lsize;
	size_t lstart;
	bool untagged;

	if (b->state == IMAP_BACKEND_CLOSED) {
		*act_r = PROTO_ACT_CLOSE;
		return 0;
	}
	if (b->state == IMAP_BACKEND_DONE) {
		*act_r = b->final_act;
		return 0;
	}
	while (act == PROTO_ACT_MORE && consumed < len &&
	    b->state != IMAP_BACKEND_TLS_WAIT) {
		if (b->skip_left > 0) {
			n = MIN_OF((uint64_t)(len - consumed), b->skip_left);
			b->skip_left -= n;
			consumed += n;
			continue;
		}
		st = linebuf_feed(&b->line, p + consumed, len - consumed, &used,
		    &line, &llen);
		consumed += used;
		if (st == LINEBUF_TOO_LONG) {
			act = imap_backend_close(
			    b, "backend sent a too long line");
			break;
		}
		if (st == LINEBUF_MORE)
			break;
		untagged = b->untagged_cont ||
		    (llen >= 2 && line[0] == '*' && line[1] == ' ');
		if (!b->untagged_cont)
			act = imap_backend_line(b, line, llen);
		b->untagged_cont = false;
		/* An untagged reply may continue after a literal. */
		if (act == PROTO_ACT_MORE && untagged &&
		    b->state != IMAP_BACKEND_CLOSED) {
			spec =
			    imap_literal_spec_find(line, llen, &lsize, &lstart);
			if (spec == IMAP_LITERAL_SYNC ||
			    spec == IMAP_LITERAL_NONSYNC) {
				if (lsize > IMAP_BACKEND_LITERAL_SKIP_MAX) {
					act = imap_backend_close(b,
					    "backend sent a too large "
					    "literal");
				} else {
					b->skip_left = lsize;
					b->untagged_cont = true;
				}
			}
		}
	}
	*act_r = act;
	return consumed;
}

void
imap_backend_tls_started(struct imap_backend *b)
{
	if (b->state != IMAP_BACKEND_TLS_WAIT)
		return;
	b->tls_done = true;
	linebuf_reset(&b->line);
	b->skip_left = 0;
	b->untagged_cont = false;
	free(b->caps);
	b->caps = NULL;
	imap_backend_send_capability(b);
	b->state = IMAP_BACKEND_CAPS;
}

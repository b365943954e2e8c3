/*
 * sieve_backend.c - ManageSieve backend login state machine (see
 * sieve_backend.h).
 *
 * A linebuf yields reply lines; each line is cut into tokens (atoms,
 * quoted strings, parentheses) that drive a small per-reply parser
 * (enum sieve_backend_rstate).  A literal announced at the end of a line
 * is read raw, becomes a string token, and the reply goes on with the
 * next line.  A complete reply then drives the login state machine
 * (enum sieve_backend_state).
 *
 * Invariants:
 * - At most one line (line_max bytes) and one string (the larger of
 *   line_max and SIEVE_BACKEND_LITERAL_MAX) are buffered, and a listing
 *   keeps at most SIEVE_BACKEND_CAP_LINES_MAX capabilities in
 *   SIEVE_BACKEND_CAPS_MAX bytes; lines and literals are cut by counts,
 *   so whole and byte-wise feeding agree.
 * - Nothing after an action's reply line is consumed.
 * - Only our own fixed commands, the XCLIENT line (atoms checked by
 *   xclient.h and here) and the base64 initial response reach the
 *   output; the credentials live in `creds` and, while being sent, in the
 *   output buffer; all are wiped on free.  Nothing remote is logged.
 */
#include "compat.h"

#include <strings.h>

#include "buf.h"
#include "imap_parse.h"
#include "linebuf.h"
#include "sasl.h"
#include "sasl_oauth.h"
#include "sieve_backend.h"
#include "xclient.h"
#include "xmalloc.h"

/* Commands we send are short apart from the AUTHENTICATE line. */
#define SIEVE_BACKEND_OUTPUT_MAX                                               \
	(BASE64_ENCODED_LEN(SASL_OAUTH_MESSAGE_MAX) + 4096)
/* Longest quoted string we send (RFC 5804 section 4); a longer initial
 * response goes as a literal. */
#define SIEVE_BACKEND_QUOTED_MAX 1024
/* Capability lines in one listing (Pigeonhole sends about 8). */
#define SIEVE_BACKEND_CAP_LINES_MAX 64
/* Bytes of capability names and values kept from one listing. */
#define SIEVE_BACKEND_CAPS_MAX 16384
/* Longest reply text kept for the client. */
#define SIEVE_BACKEND_TEXT_MAX 1024
/* Longest response code kept (longer ones are dropped). */
#define SIEVE_BACKEND_CODE_MAX 64
/* Parentheses nested in a response code's arguments. */
#define SIEVE_BACKEND_DEPTH_MAX 8

enum sieve_backend_state {
	SIEVE_BACKEND_GREETING, /* capability listing, then OK */
	SIEVE_BACKEND_STARTTLS, /* STARTTLS sent */
	SIEVE_BACKEND_TLS_WAIT, /* until sieve_backend_tls_started() */
	SIEVE_BACKEND_TLS_CAPS, /* the listing sent after TLS */
	SIEVE_BACKEND_XCLIENT,
	SIEVE_BACKEND_AUTH,
	SIEVE_BACKEND_FINISHED,
};

/* Where the parser is within one reply. */
enum sieve_backend_rstate {
	SIEVE_R_START,
	SIEVE_R_STATUS, /* after OK / NO / BYE */
	SIEVE_R_CODE_NAME, /* after "(" */
	SIEVE_R_CODE, /* inside the response code */
	SIEVE_R_AFTER_CODE, /* after its ")" */
	SIEVE_R_TEXT, /* after the text: only the end may follow */
	SIEVE_R_CAP_NAME, /* after a capability name */
	SIEVE_R_CAP_VALUE, /* after its value */
	SIEVE_R_CHALLENGE, /* after an OAuth error challenge */
};

enum sieve_backend_status {
	SIEVE_STATUS_OK,
	SIEVE_STATUS_NO,
	SIEVE_STATUS_BYE,
};

enum sieve_backend_token {
	SIEVE_TOK_ATOM,
	SIEVE_TOK_STRING,
	SIEVE_TOK_LPAREN,
	SIEVE_TOK_RPAREN,
};

struct sieve_backend {
	struct sieve_backend_settings set;
	struct proto_client_info info;
	struct proto_creds creds;
	enum sieve_backend_state state;
	struct buf out;
	struct linebuf line;
	bool tls_done;

	/* The capability listing: "name\0value\0" pairs, sanitised. */
	struct buf caps;
	unsigned int cap_lines;
	bool caps_complete;
	bool cap_starttls, cap_xclient, cap_plain;
	bool cap_is_sasl; /* the line being read is "SASL" */

	/* The reply being parsed. */
	enum sieve_backend_rstate rstate;
	enum sieve_backend_status status;
	unsigned int depth;
	bool cont; /* the next line continues it after a literal */
	bool in_literal;
	size_t literal_left;
	struct buf tok; /* quoted string decoded, or literal read */

	char code[SIEVE_BACKEND_CODE_MAX];
	char *reply_text;
	char *challenge; /* an OAuth error challenge (base64) */
	bool tempfail;
	const char *error;
};

struct sieve_backend *
sieve_backend_new(const struct proto_creds *creds,
    const struct proto_client_info *info,
    const struct sieve_backend_settings *set)
{
	struct sieve_backend *b;
	size_t plen = creds->password != NULL ? creds->password_len : 0;

	b = xcalloc(1, sizeof(*b));
	b->set = *set;
	if (b->set.line_max == 0)
		b->set.line_max = SIEVE_BACKEND_LINE_MAX;
	b->info = *info;
	b->info.client_ip[sizeof(b->info.client_ip) - 1] = '\0';
	b->info.local_ip[sizeof(b->info.local_ip) - 1] = '\0';
	b->info.session_id[sizeof(b->info.session_id) - 1] = '\0';
	b->creds.kind = creds->kind;
	/* only a PLAIN exchange carries an authorization identity */
	b->creds.authzid = xstrdup(
	    creds->kind == PROTO_AUTH_SASL_PLAIN && creds->authzid != NULL
		? creds->authzid
		: "");
	b->creds.authcid =
	    xstrdup(creds->authcid != NULL ? creds->authcid : "");
	b->creds.password = xmalloc(plen + 1);
	if (plen > 0)
		memcpy(b->creds.password, creds->password, plen);
	b->creds.password[plen] = '\0';
	b->creds.password_len = plen;
	linebuf_init(&b->line, b->set.line_max);
	buf_init(&b->out, SIEVE_BACKEND_OUTPUT_MAX);
	buf_init(&b->caps, SIEVE_BACKEND_CAPS_MAX);
	buf_init(&b->tok, MAX_OF(b->set.line_max, SIEVE_BACKEND_LITERAL_MAX));
	b->reply_text = xstrdup("");
	if (info->ttl == 0) {
		b->state = SIEVE_BACKEND_FINISHED;
		b->error = "proxy TTL is 0: refusing (proxy loop?)";
	}
	return b;
}

void
sieve_backend_free(struct sieve_backend **bp)
{
	struct sieve_backend *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	proto_creds_clear(&b->creds);
	linebuf_deinit(&b->line);
	buf_deinit(&b->out);
	buf_deinit(&b->caps);
	buf_deinit(&b->tok);
	free(b->reply_text);
	free(b->challenge);
	freezero(b, sizeof(*b));
}

struct buf *
sieve_backend_output(struct sieve_backend *b)
{
	return &b->out;
}

const char *
sieve_backend_reply_text(const struct sieve_backend *b)
{
	return b->reply_text;
}

const char *
sieve_backend_resp_code(const struct sieve_backend *b)
{
	return b->code;
}

bool
sieve_backend_tempfail(const struct sieve_backend *b)
{
	return b->tempfail;
}

const char *
sieve_backend_challenge(const struct sieve_backend *b)
{
	return b->challenge;
}

const char *
sieve_backend_error(const struct sieve_backend *b)
{
	return b->error != NULL ? b->error : "";
}

const char *
sieve_backend_capability(const struct sieve_backend *b, const char *name)
{
	const char *p = b->caps.data, *end = p + b->caps.len, *value;

	if (!b->caps_complete)
		return NULL;
	while (p < end) {
		value = p + strlen(p) + 1;
		if (strcasecmp(p, name) == 0)
			return value;
		p = value + strlen(value) + 1;
	}
	return NULL;
}

const char *
sieve_backend_sieve_caps(const struct sieve_backend *b)
{
	const char *v = sieve_backend_capability(b, "SIEVE");

	return v != NULL ? v : "";
}

static enum proto_action
sieve_backend_fail(struct sieve_backend *b, const char *error)
{
	b->state = SIEVE_BACKEND_FINISHED;
	b->error = error;
	return PROTO_ACT_CLOSE;
}

/* ATOM-CHAR of RFC 5804: printable US-ASCII but atom-specials. */
static bool
sieve_backend_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){\"\\", c) == NULL;
}

/* XCLIENT values reach managesieve-login as atoms, which rules out the
 * atom-specials on top of the xclient.h policy. */
static bool
sieve_backend_xclient_value_ok(const char *value)
{
	size_t i;

	if (!xclient_value_ok(value))
		return false;
	for (i = 0; value[i] != '\0'; i++) {
		if (!sieve_backend_is_atom_char((unsigned char)value[i]))
			return false;
	}
	return true;
}

/* A listing starts: forget the previous one. */
static void
sieve_backend_caps_reset(struct sieve_backend *b)
{
	buf_clear(&b->caps);
	b->cap_lines = 0;
	b->caps_complete = false;
	b->cap_starttls = b->cap_xclient = b->cap_plain = false;
}

/* Appends s[0..len) sanitised and NUL-terminated to the listing. */
static int
sieve_backend_caps_add(struct sieve_backend *b, const char *s, size_t len)
{
	char *t = imap_text_dup_oneline(s, len, len);
	int ret;

	ret = buf_append(&b->caps, t, len + 1);
	free(t);
	return ret;
}

/* The initial response ir: PLAIN with the credentials, or the client's
 * OAuth message; newly allocated, the caller wipes it. */
static char *
sieve_backend_ir(const struct sieve_backend *b)
{
	char *ir;

	if (!proto_auth_is_oauth(b->creds.kind))
		return sasl_plain_encode(&b->creds);
	ir = xmalloc(BASE64_ENCODED_LEN(b->creds.password_len) + 1);
	(void)base64_encode((const unsigned char *)b->creds.password,
	    b->creds.password_len, ir);
	return ir;
}

static enum proto_action
sieve_backend_send_auth(struct sieve_backend *b)
{
	const char *mech = proto_auth_is_oauth(b->creds.kind)
	    ? sasl_mech_name(sasl_oauth_creds_mech(&b->creds))
	    : "PLAIN";
	char *ir = sieve_backend_ir(b);
	size_t len = strlen(ir);
	int ret;

	if (len <= SIEVE_BACKEND_QUOTED_MAX)
		ret = buf_printf(
		    &b->out, "AUTHENTICATE \"%s\" \"%s\"\r\n", mech, ir);
	else
		ret = buf_printf(&b->out,
		    "AUTHENTICATE \"%s\" {%zu+}\r\n%s\r\n", mech, len, ir);
	freezero(ir, len + 1);
	if (ret == -1)
		return sieve_backend_fail(b, "credentials too long");
	b->state = SIEVE_BACKEND_AUTH;
	return PROTO_ACT_MORE;
}

static enum proto_action
sieve_backend_send_xclient(struct sieve_backend *b)
{
	struct xclient x;

	if (!sieve_backend_xclient_value_ok(b->info.client_ip))
		return sieve_backend_fail(b, "invalid client address");
	xclient_begin(&x, &b->out);
	(void)xclient_add_addr(&x, "ADDR", b->info.client_ip, false);
	(void)xclient_add_uint(&x, "PORT", b->info.client_port);
	/* Pigeonhole 0.5 (Dovecot 2.3) skips DESTADDR/DESTPORT, 2.4 reads
	 * them */
	if (sieve_backend_xclient_value_ok(b->info.local_ip) &&
	    xclient_add_addr(&x, "DESTADDR", b->info.local_ip, false))
		(void)xclient_add_uint(&x, "DESTPORT", b->info.local_port);
	if (sieve_backend_xclient_value_ok(b->info.session_id))
		(void)xclient_add(&x, "SESSION", b->info.session_id);
	(void)xclient_add_uint(&x, "TTL", b->info.ttl);
	if (!xclient_end(&x))
		return sieve_backend_fail(b, "XCLIENT too long");
	b->state = SIEVE_BACKEND_XCLIENT;
	return PROTO_ACT_MORE;
}

/* The capability listing ended with OK: STARTTLS, XCLIENT or log in. */
static enum proto_action
sieve_backend_caps_done(struct sieve_backend *b)
{
	b->caps_complete = true;
	if (b->set.starttls && !b->tls_done) {
		if (!b->cap_starttls)
			return sieve_backend_fail(
			    b, "backend does not offer STARTTLS");
		(void)buf_append_str(&b->out, "STARTTLS\r\n");
		b->state = SIEVE_BACKEND_STARTTLS;
		return PROTO_ACT_MORE;
	}
	/* an OAuth login goes on: the backend's NO tells the client */
	if (!b->cap_plain && !proto_auth_is_oauth(b->creds.kind))
		return sieve_backend_fail(
		    b, "backend does not offer SASL PLAIN (TLS required?)");
	if (b->cap_xclient && !b->info.proxy_header)
		return sieve_backend_send_xclient(b);
	return sieve_backend_send_auth(b);
}

/* A complete OK / NO / BYE reply. */
static enum proto_action
sieve_backend_status_done(struct sieve_backend *b)
{
	bool ok = b->status == SIEVE_STATUS_OK;

	if (b->status == SIEVE_STATUS_BYE)
		return sieve_backend_fail(b, "backend sent BYE");
	switch (b->state) {
	case SIEVE_BACKEND_GREETING:
		if (!ok)
			return sieve_backend_fail(b, "backend greeting is NO");
		return sieve_backend_caps_done(b);
	case SIEVE_BACKEND_STARTTLS:
		if (!ok)
			return sieve_backend_fail(
			    b, "backend refused STARTTLS");
		b->state = SIEVE_BACKEND_TLS_WAIT;
		return PROTO_ACT_STARTTLS;
	case SIEVE_BACKEND_TLS_CAPS:
		if (!ok)
			return sieve_backend_fail(
			    b, "backend TLS negotiation failed");
		return sieve_backend_caps_done(b);
	case SIEVE_BACKEND_XCLIENT:
		if (!ok)
			return sieve_backend_fail(b, "backend refused XCLIENT");
		return sieve_backend_send_auth(b);
	case SIEVE_BACKEND_AUTH:
		b->state = SIEVE_BACKEND_FINISHED;
		if (ok)
			return PROTO_ACT_LOGGED_IN;
		b->tempfail = strncasecmp(b->code, "TRYLATER", 8) == 0 &&
		    (b->code[8] == '\0' || b->code[8] == '/');
		return PROTO_ACT_LOGIN_FAILED;
	default:
		return sieve_backend_fail(b, "unexpected backend reply");
	}
}

/* The first token of a reply. */
static enum proto_action
sieve_backend_first(struct sieve_backend *b, enum sieve_backend_token tok,
    const char *s, size_t len)
{
	bool listing = b->state == SIEVE_BACKEND_GREETING ||
	    b->state == SIEVE_BACKEND_TLS_CAPS;

	if (tok == SIEVE_TOK_ATOM) {
		if (proto_word_is(s, len, "OK"))
			b->status = SIEVE_STATUS_OK;
		else if (proto_word_is(s, len, "NO"))
			b->status = SIEVE_STATUS_NO;
		else if (proto_word_is(s, len, "BYE"))
			b->status = SIEVE_STATUS_BYE;
		else
			return sieve_backend_fail(
			    b, "unexpected backend reply");
		b->code[0] = '\0';
		b->rstate = SIEVE_R_STATUS;
		return PROTO_ACT_MORE;
	}
	if (tok != SIEVE_TOK_STRING)
		return sieve_backend_fail(b, "invalid backend reply");
	if (b->state == SIEVE_BACKEND_AUTH &&
	    proto_auth_is_oauth(b->creds.kind) && b->challenge == NULL) {
		/* the OAuth error challenge (RFC 7628 section 3.2.3) */
		if (!sasl_challenge_valid(s, len))
			return sieve_backend_fail(
			    b, "invalid OAuth challenge from backend");
		b->challenge = xstrndup(s, len);
		b->rstate = SIEVE_R_CHALLENGE;
		return PROTO_ACT_MORE;
	}
	if (!listing)
		return sieve_backend_fail(b,
		    b->state == SIEVE_BACKEND_AUTH
			? "backend sent a SASL challenge"
			: "unexpected backend reply");
	if (++b->cap_lines > SIEVE_BACKEND_CAP_LINES_MAX)
		return sieve_backend_fail(
		    b, "backend sent too many capabilities");
	if (proto_word_is(s, len, "STARTTLS"))
		b->cap_starttls = true;
	else if (proto_word_is(s, len, "XCLIENT"))
		b->cap_xclient = true;
	b->cap_is_sasl = proto_word_is(s, len, "SASL");
	if (sieve_backend_caps_add(b, s, len) == -1)
		return sieve_backend_fail(
		    b, "backend capability listing too long");
	b->rstate = SIEVE_R_CAP_NAME;
	return PROTO_ACT_MORE;
}

static enum proto_action
sieve_backend_cap_value(struct sieve_backend *b, const char *s, size_t len)
{
	const char *p = s, *w;
	size_t wlen;

	if (b->cap_is_sasl) {
		while ((w = proto_next_word(&p, s + len, &wlen)) != NULL) {
			if (proto_word_is(w, wlen, "PLAIN"))
				b->cap_plain = true;
		}
	}
	if (sieve_backend_caps_add(b, s, len) == -1)
		return sieve_backend_fail(
		    b, "backend capability listing too long");
	b->rstate = SIEVE_R_CAP_VALUE;
	return PROTO_ACT_MORE;
}

/* One token of a reply, in order. */
static enum proto_action
sieve_backend_token(struct sieve_backend *b, enum sieve_backend_token tok,
    const char *s, size_t len)
{
	switch (b->rstate) {
	case SIEVE_R_START:
		return sieve_backend_first(b, tok, s, len);
	case SIEVE_R_STATUS:
		if (tok == SIEVE_TOK_LPAREN) {
			b->rstate = SIEVE_R_CODE_NAME;
			b->depth = 1;
			return PROTO_ACT_MORE;
		}
		break;
	case SIEVE_R_CODE_NAME:
		if (tok != SIEVE_TOK_ATOM)
			return sieve_backend_fail(
			    b, "invalid response code from backend");
		if (len < sizeof(b->code)) {
			memcpy(b->code, s, len);
			b->code[len] = '\0';
		}
		b->rstate = SIEVE_R_CODE;
		return PROTO_ACT_MORE;
	case SIEVE_R_CODE:
		if (tok == SIEVE_TOK_LPAREN &&
		    ++b->depth > SIEVE_BACKEND_DEPTH_MAX)
			return sieve_backend_fail(
			    b, "invalid response code from backend");
		if (tok == SIEVE_TOK_RPAREN && --b->depth == 0)
			b->rstate = SIEVE_R_AFTER_CODE;
		return PROTO_ACT_MORE;
	case SIEVE_R_AFTER_CODE:
		break;
	case SIEVE_R_CAP_NAME:
		if (tok == SIEVE_TOK_STRING)
			return sieve_backend_cap_value(b, s, len);
		return sieve_backend_fail(b, "invalid backend capability");
	default:
		return sieve_backend_fail(b, "invalid backend reply");
	}
	/* after the status or the code: the text */
	if (tok != SIEVE_TOK_STRING)
		return sieve_backend_fail(b, "invalid backend reply");
	if (b->state == SIEVE_BACKEND_AUTH) {
		free(b->reply_text);
		b->reply_text =
		    imap_text_dup_oneline(s, len, SIEVE_BACKEND_TEXT_MAX);
	}
	b->rstate = SIEVE_R_TEXT;
	return PROTO_ACT_MORE;
}

/* The reply has ended (a line without a literal at its end). */
static enum proto_action
sieve_backend_reply_done(struct sieve_backend *b)
{
	enum sieve_backend_rstate rstate = b->rstate;

	b->rstate = SIEVE_R_START;
	switch (rstate) {
	case SIEVE_R_STATUS:
	case SIEVE_R_AFTER_CODE:
	case SIEVE_R_TEXT:
		return sieve_backend_status_done(b);
	case SIEVE_R_CAP_NAME:
		/* no value: "" */
		if (buf_append(&b->caps, "", 1) == -1)
			return sieve_backend_fail(
			    b, "backend capability listing too long");
		return PROTO_ACT_MORE;
	case SIEVE_R_CAP_VALUE:
		return PROTO_ACT_MORE;
	case SIEVE_R_CHALLENGE:
		/* the exchange ends with the dummy response; NO follows */
		(void)buf_printf(&b->out, "\"%s\"\r\n",
		    sasl_oauth_dummy_response(
			sasl_oauth_creds_mech(&b->creds)));
		return PROTO_ACT_MORE;
	case SIEVE_R_START:
		return sieve_backend_fail(b, "empty backend reply");
	default:
		return sieve_backend_fail(
		    b, "invalid response code from backend");
	}
}

/* A quoted string starts at line[*ip]: decodes it into tok, moves *ip
 * past it and hands it on. */
static enum proto_action
sieve_backend_quoted(
    struct sieve_backend *b, const char *line, size_t len, size_t *ip)
{
	size_t i;
	bool bad = false;
	char c;

	buf_clear(&b->tok);
	for (i = *ip + 1; i < len && line[i] != '"' && !bad; i++) {
		c = line[i];
		if (c == '\\' && i + 1 < len &&
		    (line[i + 1] == '"' || line[i + 1] == '\\'))
			c = line[++i];
		else if (c == '\\' || c == '\r')
			bad = true; /* not a QUOTED-CHAR */
		if (!bad && buf_append(&b->tok, &c, 1) == -1)
			bad = true;
	}
	if (bad || i >= len)
		return sieve_backend_fail(
		    b, "invalid quoted string from backend");
	*ip = i + 1;
	return sieve_backend_token(
	    b, SIEVE_TOK_STRING, b->tok.data, b->tok.len);
}

/* The literal's data is complete: it is the reply's next token. */
static enum proto_action
sieve_backend_literal_done(struct sieve_backend *b)
{
	b->in_literal = false;
	b->cont = true;
	return sieve_backend_token(
	    b, SIEVE_TOK_STRING, b->tok.data, b->tok.len);
}

/* A literal announcement starts at line[i]; it must end the line. */
static enum proto_action
sieve_backend_literal(
    struct sieve_backend *b, const char *line, size_t len, size_t i)
{
	enum imap_literal_spec spec;
	uint64_t size;
	size_t start;

	spec = imap_literal_spec_find(line, len, &size, &start);
	if ((spec != IMAP_LITERAL_SYNC && spec != IMAP_LITERAL_NONSYNC) ||
	    start != i)
		return sieve_backend_fail(b, "invalid literal from backend");
	if (size > SIEVE_BACKEND_LITERAL_MAX)
		return sieve_backend_fail(b, "backend literal too long");
	buf_clear(&b->tok);
	b->in_literal = true;
	b->literal_left = (size_t)size;
	if (size == 0)
		return sieve_backend_literal_done(b);
	return PROTO_ACT_MORE;
}

/* Handles one line (without CRLF, NUL-terminated): its tokens, then the
 * end of the reply unless a literal follows. */
static enum proto_action
sieve_backend_line(struct sieve_backend *b, const char *line, size_t len)
{
	enum proto_action act = PROTO_ACT_MORE;
	size_t i = 0, start;

	if (memchr(line, '\0', len) != NULL)
		return sieve_backend_fail(b, "NUL byte in backend reply");
	if (b->cont) {
		/* after a literal: a separator, ")" or the end */
		b->cont = false;
		if (len > 0 && line[0] != ' ' && line[0] != ')')
			return sieve_backend_fail(b, "invalid backend reply");
	}
	while (i < len && act == PROTO_ACT_MORE) {
		if (line[i] == ' ') {
			i++;
		} else if (line[i] == '(' || line[i] == ')') {
			act = sieve_backend_token(b,
			    line[i] == '(' ? SIEVE_TOK_LPAREN
					   : SIEVE_TOK_RPAREN,
			    NULL, 0);
			i++;
		} else if (line[i] == '"') {
			act = sieve_backend_quoted(b, line, len, &i);
		} else if (line[i] == '{') {
			return sieve_backend_literal(b, line, len, i);
		} else {
			start = i;
			while (i < len &&
			    sieve_backend_is_atom_char((unsigned char)line[i]))
				i++;
			if (i == start)
				return sieve_backend_fail(
				    b, "invalid character in backend reply");
			act = sieve_backend_token(
			    b, SIEVE_TOK_ATOM, line + start, i - start);
		}
	}
	if (act != PROTO_ACT_MORE)
		return act;
	return sieve_backend_reply_done(b);
}

size_t
sieve_backend_input(struct sieve_backend *b, const void *data, size_t len,
    enum proto_action *act_r)
{
	const char *p = data, *line;
	size_t i = 0, used, n;
	enum proto_action act = PROTO_ACT_MORE;
	enum linebuf_status st;

	if (b->state == SIEVE_BACKEND_FINISHED) {
		*act_r = PROTO_ACT_CLOSE;
		return 0;
	}
	while (i < len && act == PROTO_ACT_MORE &&
	    b->state != SIEVE_BACKEND_TLS_WAIT) {
		if (b->in_literal) {
			n = MIN_OF(len - i, b->literal_left);
			(void)buf_append(&b->tok, p + i, n);
			i += n;
			b->literal_left -= n;
			if (b->literal_left == 0)
				act = sieve_backend_literal_done(b);
			continue;
		}
		st = linebuf_feed(&b->line, p + i, len - i, &used, &line, &n);
		i += used;
		if (st == LINEBUF_TOO_LONG)
			act = sieve_backend_fail(
			    b, "backend reply line too long");
		else if (st == LINEBUF_LINE)
			act = sieve_backend_line(b, line, n);
	}
	*act_r = act;
	return i;
}

void
sieve_backend_tls_started(struct sieve_backend *b)
{
	if (b->state != SIEVE_BACKEND_TLS_WAIT)
		return;
	b->tls_done = true;
	linebuf_reset(&b->line);
	b->rstate = SIEVE_R_START;
	b->cont = false;
	b->in_literal = false;
	sieve_backend_caps_reset(b);
	b->state = SIEVE_BACKEND_TLS_CAPS;
}

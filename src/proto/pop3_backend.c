/*
 * pop3_backend.c - POP3 backend login state machine (see pop3_backend.h).
 *
 * Invariants: one reply line is buffered at most (line_max bytes, in a
 * linebuf) so whole and byte-wise feeding agree; nothing
 * after an action line is consumed; no CR or LF from the credentials or
 * the client info ever reaches a command line; secrets are wiped.
 */
#include "compat.h"

#include <ctype.h>
#include <strings.h>

#include "buf.h"
#include "linebuf.h"
#include "pop3_backend.h"
#include "sasl.h"
#include "sasl_oauth.h"
#include "xclient.h"
#include "xmalloc.h"

/* Commands we send are short apart from the AUTH line. */
#define POP3_BACKEND_OUTPUT_MAX                                                \
	(BASE64_ENCODED_LEN(SASL_OAUTH_MESSAGE_MAX) + 4096)
/* Longest command line with an initial response (RFC 5034 section 4:
 * 255 octets with CRLF); a longer one waits for the "+" continuation. */
#define POP3_BACKEND_IR_LINE_MAX 255

enum pop3_backend_state {
	POP3_BACKEND_GREETING,
	POP3_BACKEND_CAPA, /* waiting for the CAPA status line */
	POP3_BACKEND_CAPA_LIST, /* reading capability lines up to "." */
	POP3_BACKEND_STLS,
	POP3_BACKEND_TLS_WAIT, /* waiting for tls_started() */
	POP3_BACKEND_XCLIENT,
	POP3_BACKEND_USER,
	POP3_BACKEND_PASS,
	POP3_BACKEND_AUTH,
	POP3_BACKEND_AUTH_CONT, /* OAuth AUTH sent, message after "+" */
	POP3_BACKEND_FINISHED,
};

struct pop3_backend {
	struct pop3_backend_settings set;
	struct proto_client_info info;
	struct proto_creds creds;
	enum pop3_backend_state state;
	struct buf out;
	struct linebuf line;
	bool tls_done;
	bool cap_stls, cap_xclient, cap_user, cap_plain;
	bool greet_xclient; /* the greeting said [XCLIENT] */
	char *reply_text;
	char *challenge; /* an OAuth error challenge (base64) */
	const char *error;
};

static char *
pop3_backend_dup_secret(const char *s, size_t len)
{
	char *p = xmalloc(len + 1);

	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

struct pop3_backend *
pop3_backend_new(const struct proto_creds *creds,
    const struct proto_client_info *info,
    const struct pop3_backend_settings *set)
{
	struct pop3_backend *b;

	b = xcalloc(1, sizeof(*b));
	b->set = *set;
	if (b->set.line_max == 0)
		b->set.line_max = POP3_BACKEND_LINE_MAX;
	b->info = *info;
	b->info.client_ip[sizeof(b->info.client_ip) - 1] = '\0';
	b->info.local_ip[sizeof(b->info.local_ip) - 1] = '\0';
	b->info.session_id[sizeof(b->info.session_id) - 1] = '\0';
	b->creds.kind = creds->kind;
	b->creds.authzid =
	    xstrdup(creds->authzid != NULL ? creds->authzid : "");
	b->creds.authcid =
	    xstrdup(creds->authcid != NULL ? creds->authcid : "");
	b->creds.password = pop3_backend_dup_secret(
	    creds->password != NULL ? creds->password : "",
	    creds->password != NULL ? creds->password_len : 0);
	b->creds.password_len =
	    creds->password != NULL ? creds->password_len : 0;
	linebuf_init(&b->line, b->set.line_max);
	b->reply_text = xstrdup("");
	buf_init(&b->out, POP3_BACKEND_OUTPUT_MAX);
	if (info->ttl == 0) {
		b->state = POP3_BACKEND_FINISHED;
		b->error = "proxy TTL is 0: refusing (proxy loop?)";
	}
	return b;
}

void
pop3_backend_free(struct pop3_backend **bp)
{
	struct pop3_backend *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	proto_creds_clear(&b->creds);
	linebuf_deinit(&b->line);
	free(b->reply_text);
	free(b->challenge);
	buf_deinit(&b->out);
	free(b);
}

struct buf *
pop3_backend_output(struct pop3_backend *b)
{
	return &b->out;
}

const char *
pop3_backend_reply_text(const struct pop3_backend *b)
{
	return b->reply_text;
}

const char *
pop3_backend_challenge(const struct pop3_backend *b)
{
	return b->challenge;
}

const char *
pop3_backend_error(const struct pop3_backend *b)
{
	return b->error != NULL ? b->error : "";
}

static enum proto_action
pop3_backend_fail(struct pop3_backend *b, const char *error)
{
	b->state = POP3_BACKEND_FINISHED;
	b->error = error;
	return PROTO_ACT_CLOSE;
}

/* Reply status of a line: 1 for +OK, 0 for -ERR, -1 otherwise; *text_r
 * points after the status and one space. */
static int
pop3_backend_status(const char *line, size_t len, const char **text_r)
{
	int ok;
	size_t n;

	if (len >= 3 && memcmp(line, "+OK", 3) == 0) {
		ok = 1;
		n = 3;
	} else if (len >= 4 && memcmp(line, "-ERR", 4) == 0) {
		ok = 0;
		n = 4;
	} else
		return -1;
	if (len > n && line[n] != ' ')
		return -1;
	*text_r = len > n ? line + n + 1 : line + n;
	return ok;
}

static bool
pop3_backend_has_crlf(const char *s, size_t len)
{
	return memchr(s, '\r', len) != NULL || memchr(s, '\n', len) != NULL;
}

static void
pop3_backend_send_capa(struct pop3_backend *b)
{
	b->cap_stls = b->cap_xclient = false;
	b->cap_user = b->cap_plain = false;
	(void)buf_append_str(&b->out, "CAPA\r\n");
	b->state = POP3_BACKEND_CAPA;
}

/* Appends the client's OAuth message, base64-encoded, to the output;
 * returns its length. */
static size_t
pop3_backend_oauth_message(struct pop3_backend *b)
{
	size_t size = BASE64_ENCODED_LEN(b->creds.password_len) + 1;
	char *msg = xmalloc(size);
	size_t n;

	n = base64_encode((const unsigned char *)b->creds.password,
	    b->creds.password_len, msg);
	(void)buf_append(&b->out, msg, n);
	freezero(msg, size);
	return n;
}

/* AUTH <mech> with the client's OAuth message: as initial response when
 * the line stays within POP3_BACKEND_IR_LINE_MAX, else after "+". */
static enum proto_action
pop3_backend_send_oauth(struct pop3_backend *b)
{
	const char *mech = sasl_mech_name(sasl_oauth_creds_mech(&b->creds));
	size_t b64len = BASE64_ENCODED_LEN(b->creds.password_len);

	if (strlen("AUTH  \r\n") + strlen(mech) + b64len >
	    POP3_BACKEND_IR_LINE_MAX) {
		(void)buf_printf(&b->out, "AUTH %s\r\n", mech);
		b->state = POP3_BACKEND_AUTH_CONT;
		return PROTO_ACT_MORE;
	}
	(void)buf_printf(&b->out, "AUTH %s ", mech);
	if (pop3_backend_oauth_message(b) == 0)
		(void)buf_append_str(&b->out, "=");
	(void)buf_append_str(&b->out, "\r\n");
	b->state = POP3_BACKEND_AUTH;
	return PROTO_ACT_MORE;
}

/* A "+" continuation during AUTH: the OAuth message after AUTH without
 * it, or the backend's error challenge after the message (RFC 7628
 * section 3.2.3), kept for the client and answered with the dummy
 * response; the -ERR follows. */
static enum proto_action
pop3_backend_continuation(struct pop3_backend *b, const char *line, size_t len)
{
	if (b->state == POP3_BACKEND_AUTH_CONT) {
		(void)pop3_backend_oauth_message(b);
		(void)buf_append_str(&b->out, "\r\n");
		b->state = POP3_BACKEND_AUTH;
		return PROTO_ACT_MORE;
	}
	if (b->state != POP3_BACKEND_AUTH ||
	    !proto_auth_is_oauth(b->creds.kind) || b->challenge != NULL)
		return pop3_backend_fail(
		    b, "unexpected continuation from backend");
	if (len < 3 || !sasl_challenge_valid(line + 2, len - 2))
		return pop3_backend_fail(
		    b, "invalid OAuth challenge from backend");
	b->challenge = xstrndup(line + 2, len - 2);
	(void)buf_printf(&b->out, "%s\r\n",
	    sasl_oauth_dummy_response(sasl_oauth_creds_mech(&b->creds)));
	return PROTO_ACT_MORE;
}

static enum proto_action
pop3_backend_send_login(struct pop3_backend *b)
{
	char *ir;
	bool sasl = b->creds.kind != PROTO_AUTH_LOGIN ||
	    pop3_backend_has_crlf(b->creds.authcid, strlen(b->creds.authcid)) ||
	    pop3_backend_has_crlf(b->creds.password, b->creds.password_len) ||
	    memchr(b->creds.password, '\0', b->creds.password_len) != NULL;

	if (proto_auth_is_oauth(b->creds.kind))
		return pop3_backend_send_oauth(b);
	if (sasl) {
		ir = sasl_plain_encode(&b->creds);
		if (buf_printf(&b->out, "AUTH PLAIN %s\r\n",
			ir[0] != '\0' ? ir : "=") == -1) {
			freezero(ir, strlen(ir) + 1);
			return pop3_backend_fail(b, "credentials too long");
		}
		freezero(ir, strlen(ir) + 1);
		b->state = POP3_BACKEND_AUTH;
		return PROTO_ACT_MORE;
	}
	/* PASS waits for USER's reply even where PIPELINING is offered: a
	 * backend that answers USER at once and PASS after its auth lookup
	 * (Dovecot) would otherwise send the second reply while the first
	 * is unacknowledged, and Nagle's algorithm on its socket holds it
	 * until our delayed ACK, some 40 ms later.  Sending PASS acknowledges
	 * USER's reply; the price is one round trip, for any backend. */
	(void)buf_printf(&b->out, "USER %s\r\n", b->creds.authcid);
	b->state = POP3_BACKEND_USER;
	return PROTO_ACT_MORE;
}

/* The capability list is complete: go on with STLS, XCLIENT or login. */
static enum proto_action
pop3_backend_caps_done(struct pop3_backend *b)
{
	if (b->set.starttls && !b->tls_done) {
		if (!b->cap_stls)
			return pop3_backend_fail(
			    b, "backend does not offer STLS");
		(void)buf_append_str(&b->out, "STLS\r\n");
		b->state = POP3_BACKEND_STLS;
		return PROTO_ACT_MORE;
	}
	if ((b->cap_xclient || b->greet_xclient) && !b->info.proxy_header) {
		struct xclient x;

		/* pop3-login reads bare addresses only (see xclient.h) */
		if (!xclient_value_ok(b->info.client_ip))
			return pop3_backend_fail(b, "invalid client address");
		xclient_begin(&x, &b->out);
		(void)xclient_add_addr(&x, "ADDR", b->info.client_ip, false);
		(void)xclient_add_uint(&x, "PORT", b->info.client_port);
		if (xclient_add_addr(&x, "DESTADDR", b->info.local_ip, false))
			(void)xclient_add_uint(
			    &x, "DESTPORT", b->info.local_port);
		(void)xclient_add(&x, "SESSION", b->info.session_id);
		(void)xclient_add_uint(&x, "TTL", b->info.ttl);
		if (!xclient_end(&x))
			return pop3_backend_fail(b, "XCLIENT too long");
		b->state = POP3_BACKEND_XCLIENT;
		return PROTO_ACT_MORE;
	}
	return pop3_backend_send_login(b);
}

static void
pop3_backend_capa_line(struct pop3_backend *b, const char *line, size_t len)
{
	const char *p = line, *end = line + len, *w;
	size_t wlen;

	w = proto_next_word(&p, end, &wlen);
	if (w == NULL)
		return;
	if (proto_word_is(w, wlen, "STLS"))
		b->cap_stls = true;
	else if (proto_word_is(w, wlen, "XCLIENT"))
		b->cap_xclient = true;
	else if (proto_word_is(w, wlen, "USER"))
		b->cap_user = true;
	else if (proto_word_is(w, wlen, "SASL")) {
		while ((w = proto_next_word(&p, end, &wlen)) != NULL) {
			if (proto_word_is(w, wlen, "PLAIN"))
				b->cap_plain = true;
		}
	}
}

static void
pop3_backend_set_text(struct pop3_backend *b, const char *text)
{
	free(b->reply_text);
	b->reply_text = xstrdup(text);
}

/* Handles one complete reply line (without CRLF, NUL-terminated). */
static enum proto_action
pop3_backend_line(struct pop3_backend *b, const char *line, size_t len)
{
	const char *text;
	int st;

	if (memchr(line, '\0', len) != NULL)
		return pop3_backend_fail(b, "NUL byte in backend reply");
	if (b->state == POP3_BACKEND_CAPA_LIST) {
		if (len == 1 && line[0] == '.')
			return pop3_backend_caps_done(b);
		if (len > 0 && line[0] == '.') {
			line++;
			len--;
		}
		pop3_backend_capa_line(b, line, len);
		return PROTO_ACT_MORE;
	}
	if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' '))
		return pop3_backend_continuation(b, line, len);
	st = pop3_backend_status(line, len, &text);
	if (st == -1)
		return pop3_backend_fail(b, "unexpected backend reply");
	switch (b->state) {
	case POP3_BACKEND_GREETING:
		if (st == 0)
			return pop3_backend_fail(b, "backend greeting is -ERR");
		pop3_backend_send_capa(b);
		/* Dovecot announces XCLIENT to trusted peers only in the
		 * greeting ("+OK [XCLIENT] ..."), never in CAPA. */
		b->greet_xclient = strncasecmp(text, "[XCLIENT]", 9) == 0;
		return PROTO_ACT_MORE;
	case POP3_BACKEND_CAPA:
		if (st == 0) {
			/* no CAPA (RFC 1939 server): no extensions */
			return pop3_backend_caps_done(b);
		}
		b->state = POP3_BACKEND_CAPA_LIST;
		return PROTO_ACT_MORE;
	case POP3_BACKEND_STLS:
		if (st == 0)
			return pop3_backend_fail(b, "backend refused STLS");
		b->state = POP3_BACKEND_TLS_WAIT;
		return PROTO_ACT_STARTTLS;
	case POP3_BACKEND_XCLIENT:
		if (st == 0)
			return pop3_backend_fail(b, "backend refused XCLIENT");
		return pop3_backend_send_login(b);
	case POP3_BACKEND_USER:
		if (st == 0) {
			pop3_backend_set_text(b, text);
			b->state = POP3_BACKEND_FINISHED;
			return PROTO_ACT_LOGIN_FAILED;
		}
		(void)buf_append_str(&b->out, "PASS ");
		(void)buf_append(
		    &b->out, b->creds.password, b->creds.password_len);
		(void)buf_append_str(&b->out, "\r\n");
		b->state = POP3_BACKEND_PASS;
		return PROTO_ACT_MORE;
	case POP3_BACKEND_AUTH_CONT:
		/* refused before the message was sent (no such mechanism):
		 * the client's failure; +OK without it makes no sense */
		if (st == 1)
			return pop3_backend_fail(b, "unexpected backend reply");
		pop3_backend_set_text(b, text);
		b->state = POP3_BACKEND_FINISHED;
		return PROTO_ACT_LOGIN_FAILED;
	case POP3_BACKEND_PASS:
	case POP3_BACKEND_AUTH:
		pop3_backend_set_text(b, text);
		b->state = POP3_BACKEND_FINISHED;
		return st == 1 ? PROTO_ACT_LOGGED_IN : PROTO_ACT_LOGIN_FAILED;
	default:
		return pop3_backend_fail(b, "unexpected backend reply");
	}
}

size_t
pop3_backend_input(struct pop3_backend *b, const void *data, size_t len,
    enum proto_action *act_r)
{
	const char *p = data, *line;
	size_t i = 0, used, n;
	enum proto_action act = PROTO_ACT_MORE;
	enum linebuf_status st;

	if (b->state == POP3_BACKEND_FINISHED) {
		*act_r = PROTO_ACT_CLOSE;
		return 0;
	}
	while (i < len && act == PROTO_ACT_MORE &&
	    b->state != POP3_BACKEND_TLS_WAIT) {
		st = linebuf_feed(&b->line, p + i, len - i, &used, &line, &n);
		i += used;
		if (st == LINEBUF_TOO_LONG)
			act =
			    pop3_backend_fail(b, "backend reply line too long");
		else if (st == LINEBUF_LINE)
			act = pop3_backend_line(b, line, n);
	}
	*act_r = act;
	return i;
}

void
pop3_backend_tls_started(struct pop3_backend *b)
{
	if (b->state != POP3_BACKEND_TLS_WAIT)
		return;
	b->tls_done = true;
	linebuf_reset(&b->line);
	pop3_backend_send_capa(b);
}

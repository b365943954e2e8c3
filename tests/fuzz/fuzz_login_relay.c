/*
 * fuzz_login_relay.c - property target: credentials go from the client
 * side (imap_client, pop3_client) to the backend side (imap_backend,
 * pop3_backend) unchanged and as exactly one well-formed login.
 *
 * Input: a mode byte, a user length byte, the user, the password.  The
 * mode picks IMAP LOGIN (quoted strings when every byte is printable
 * ASCII, else LITERAL+ literals; or literals always), IMAP AUTHENTICATE
 * PLAIN, POP3 USER+PASS or POP3 AUTH PLAIN, each with or without an
 * initial response, and what the scripted backend advertises (LITERAL+,
 * SASL-IR and AUTH=PLAIN, ID; SASL PLAIN, XCLIENT).  Bytes a form cannot
 * carry are changed first (NUL in SASL PLAIN and in POP3 lines, LF in
 * POP3 lines, to 0x01), so every command built is valid.
 *
 * Client side: the module either reports PROTO_ACT_LOGIN with exactly
 * the user and password (authzid empty), or refuses with a reply and no
 * credentials.  Backend side, after a greeting and the replies a
 * cooperative backend gives (CAPABILITY/CAPA, ID, XCLIENT, "+ "
 * continuations): every command ends in CRLF with no CR or LF inside
 * outside of literals whose length is announced; exactly one login
 * (LOGIN, AUTHENTICATE PLAIN, USER+PASS, AUTH PLAIN) is sent and it
 * decodes to the same authzid, user and password; nothing else but
 * ID/CAPABILITY/CAPA/XCLIENT is sent; the result is PROTO_ACT_LOGGED_IN,
 * or PROTO_ACT_CLOSE with no login sent (a clean refusal).
 */
#include "compat.h"

#include <stdio.h>

#include "buf.h"
#include "fuzz_lines.h"
#include "imap_backend.h"
#include "imap_client.h"
#include "pop3_backend.h"
#include "pop3_client.h"
#include "proto.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ROUNDS 64
#define FUZZ_TOKENS 8
#define FUZZ_BUF_MAX (1024 * 1024)

enum fuzz_method {
	FUZZ_IMAP_LOGIN,
	FUZZ_IMAP_AUTH,
	FUZZ_POP3_USER,
	FUZZ_POP3_AUTH,
};

#define FUZZ_MODE_IR 0x04 /* client sends an initial response */
#define FUZZ_MODE_LITERAL 0x08 /* IMAP LOGIN always uses literals */
#define FUZZ_MODE_LITPLUS 0x10 /* backend: LITERAL+ */
#define FUZZ_MODE_SASL 0x20 /* backend: SASL-IR AUTH=PLAIN / SASL PLAIN */
#define FUZZ_MODE_ID 0x40 /* backend: ID / XCLIENT */
#define FUZZ_MODE_GREETCAPS 0x80 /* IMAP: capabilities in the greeting */

/* One side of the exchange: what the backend module sent, and the state
 * of the harness reading it. */
struct fuzz_backend {
	uint8_t mode;
	const struct proto_creds *creds;
	struct buf sent; /* every byte the module sent */
	size_t done; /* commands before this offset are answered */
	size_t cont_at; /* sync literal already answered with "+" */
	struct buf reply; /* what the scripted backend sends next */
	bool sasl_wait; /* AUTHENTICATE/AUTH without IR: next line */
	char sasl_tag[16];
	unsigned int logins;
};

struct fuzz_token {
	const char *p;
	size_t len;
	char *own; /* decoded quoted string */
};

static bool
fuzz_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Checks a decoded PLAIN message against creds. */
static void
fuzz_check_plain(const struct proto_creds *creds, const char *b64, size_t len)
{
	unsigned char *msg = malloc(BASE64_DECODED_MAX(len) + 1);
	const char *zid, *cid, *pw;
	long n;
	size_t zlen, clen;

	n = base64_decode(b64, len, msg);
	if (n < 0)
		abort();
	msg[n] = '\0';
	zid = (const char *)msg;
	zlen = strnlen(zid, (size_t)n);
	if (zlen + 1 > (size_t)n)
		abort();
	cid = zid + zlen + 1;
	clen = strnlen(cid, (size_t)n - zlen - 1);
	if (zlen + 1 + clen + 1 > (size_t)n)
		abort();
	pw = cid + clen + 1;
	if (!fuzz_eq(zid, zlen, creds->authzid, strlen(creds->authzid)) ||
	    !fuzz_eq(cid, clen, creds->authcid, strlen(creds->authcid)) ||
	    !fuzz_eq(pw, (size_t)n - zlen - clen - 2, creds->password,
		creds->password_len))
		abort();
	free(msg);
}

/* A backend module and the scripted backend it talks to. */
struct fuzz_backend_ops {
	size_t (*input)(
	    void *m, const void *data, size_t len, enum proto_action *act_r);
	struct buf *(*output)(void *m);
	const char *(*error)(void *m);
	/* answers what the module sent: appends to fb->reply */
	void (*answer)(struct fuzz_backend *fb);
};

static const struct proto_client_info fuzz_info = {
    .client_ip = "192.0.2.1",
    .client_port = 1234,
    .local_ip = "192.0.2.2",
    .local_port = 143,
    .session_id = "fuzz",
    .ttl = 5,
};

/* Runs module m against the script until it logs in or gives up; what
 * the backend says first is in fb->reply.  Frees fb's buffers. */
static void
fuzz_backend_run(
    struct fuzz_backend *fb, const struct fuzz_backend_ops *ops, void *m)
{
	enum proto_action act = PROTO_ACT_MORE;
	struct buf *out = ops->output(m);
	size_t n, round;

	buf_init(&fb->sent, FUZZ_BUF_MAX);
	fb->cont_at = SIZE_MAX;
	for (round = 0; round < FUZZ_ROUNDS; round++) {
		n = ops->input(m, fb->reply.data, fb->reply.len, &act);
		if (n > fb->reply.len)
			abort();
		buf_consume(&fb->reply, n);
		(void)buf_append(&fb->sent, out->data, out->len);
		buf_consume(out, out->len);
		if (act == PROTO_ACT_LOGGED_IN || act == PROTO_ACT_CLOSE ||
		    act == PROTO_ACT_LOGIN_FAILED)
			break;
		ops->answer(fb);
		if (fb->reply.len == 0)
			break;
	}
	if (act == PROTO_ACT_LOGGED_IN) {
		if (fb->logins != 1 || fb->done != fb->sent.len)
			abort();
	} else if (act != PROTO_ACT_CLOSE || fb->logins != 0 ||
	    ops->error(m) == NULL) {
		abort();
	}
	buf_deinit(&fb->sent);
	buf_deinit(&fb->reply);
}

/* -- IMAP backend ------------------------------------------------------ */

enum fuzz_parse {
	FUZZ_PARSE_DONE,
	FUZZ_PARSE_MORE,
	FUZZ_PARSE_CONT, /* a synchronizing literal waits for "+" */
};

/* Parses one IMAP command at s[0..len) into tok (zeroed by the caller,
 * who frees their .own); sets *used_r.  A CR
 * or LF anywhere but in a CRLF ending a line or in literal data aborts. */
static enum fuzz_parse
fuzz_imap_command(const char *s, size_t len, struct fuzz_token *tok,
    size_t *ntok_r, size_t *used_r, size_t *lit_r)
{
	size_t i = 0, n = 0, lit, j;
	bool sync;
	char *q;

	for (;;) {
		if (n == FUZZ_TOKENS)
			abort();
		if (i >= len)
			return FUZZ_PARSE_MORE;
		if (s[i] == '"') {
			q = tok[n].own = malloc(len);
			tok[n].p = q;
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\r' || s[i] == '\n')
					abort();
				if (s[i] == '\\' && ++i >= len)
					break;
				*q++ = s[i];
			}
			if (i >= len)
				return FUZZ_PARSE_MORE;
			tok[n].len = (size_t)(q - tok[n].own);
			i++;
		} else if (s[i] == '{') {
			lit = 0;
			for (j = i + 1; j < len && s[j] >= '0' && s[j] <= '9';
			     j++)
				lit = lit * 10 + (size_t)(s[j] - '0');
			sync = !(j < len && s[j] == '+');
			if (!sync)
				j++;
			if (j + 2 >= len)
				return FUZZ_PARSE_MORE;
			if (s[j] != '}' || s[j + 1] != '\r' || s[j + 2] != '\n')
				abort();
			j += 3;
			if (len - j < lit) {
				*lit_r = j;
				return sync ? FUZZ_PARSE_CONT : FUZZ_PARSE_MORE;
			}
			tok[n].p = s + j;
			tok[n].len = lit;
			i = j + lit;
		} else {
			tok[n].p = s + i;
			while (i < len && s[i] != ' ' && s[i] != '\r' &&
			    s[i] != '\n' && s[i] != '(')
				i++;
			if (i < len && s[i] == '(') {
				/* ID's list: up to the end of the line */
				while (i < len && s[i] != '\r' && s[i] != '\n')
					i++;
			}
			tok[n].len = (size_t)(s + i - tok[n].p);
		}
		n++;
		if (i >= len)
			return FUZZ_PARSE_MORE;
		if (s[i] == ' ') {
			i++;
			continue;
		}
		if (s[i] != '\r')
			abort();
		if (i + 1 >= len)
			return FUZZ_PARSE_MORE;
		if (s[i + 1] != '\n')
			abort();
		*ntok_r = n;
		*used_r = i + 2;
		return FUZZ_PARSE_DONE;
	}
}

static void
fuzz_imap_caps(struct fuzz_backend *fb)
{
	(void)buf_append_str(&fb->reply, "IMAP4rev1");
	if (fb->mode & FUZZ_MODE_LITPLUS)
		(void)buf_append_str(&fb->reply, " LITERAL+");
	if (fb->mode & FUZZ_MODE_SASL)
		(void)buf_append_str(&fb->reply, " SASL-IR AUTH=PLAIN");
	if (fb->mode & FUZZ_MODE_ID)
		(void)buf_append_str(&fb->reply, " ID");
}

/* Answers every complete command the IMAP module sent. */
static void
fuzz_imap_answer(struct fuzz_backend *fb)
{
	struct fuzz_token tok[FUZZ_TOKENS];
	size_t ntok = 0, used, lit, i;
	const char *s;
	enum fuzz_parse r;
	const char *cr;

	for (;;) {
		s = fb->sent.data + fb->done;
		if (fb->done == fb->sent.len)
			return;
		if (fb->sasl_wait) {
			cr = memchr(s, '\r', fb->sent.len - fb->done);
			if (cr == NULL)
				return;
			if (cr + 1 >= fb->sent.data + fb->sent.len)
				return;
			if (cr[1] != '\n' ||
			    memchr(s, '\n', (size_t)(cr - s)) != NULL)
				abort();
			fuzz_check_plain(fb->creds, s, (size_t)(cr - s));
			fb->logins++;
			fb->sasl_wait = false;
			(void)buf_printf(
			    &fb->reply, "%s OK done\r\n", fb->sasl_tag);
			fb->done += (size_t)(cr + 2 - s);
			continue;
		}
		memset(tok, 0, sizeof(tok));
		r = fuzz_imap_command(
		    s, fb->sent.len - fb->done, tok, &ntok, &used, &lit);
		for (i = 0; r != FUZZ_PARSE_DONE && i < FUZZ_TOKENS; i++)
			free(tok[i].own);
		if (r == FUZZ_PARSE_CONT) {
			if (fb->cont_at != fb->done + lit) {
				fb->cont_at = fb->done + lit;
				(void)buf_append_str(&fb->reply, "+ go\r\n");
			}
			return;
		}
		if (r == FUZZ_PARSE_MORE)
			return;
		if (ntok < 2 || tok[0].len >= sizeof(fb->sasl_tag))
			abort();
		if (fuzz_eq(tok[1].p, tok[1].len, "ID", 2)) {
			(void)buf_printf(&fb->reply, "* ID NIL\r\n%.*s OK\r\n",
			    (int)tok[0].len, tok[0].p);
		} else if (fuzz_eq(tok[1].p, tok[1].len, "CAPABILITY", 10)) {
			(void)buf_append_str(&fb->reply, "* CAPABILITY ");
			fuzz_imap_caps(fb);
			(void)buf_printf(&fb->reply, "\r\n%.*s OK\r\n",
			    (int)tok[0].len, tok[0].p);
		} else if (fuzz_eq(tok[1].p, tok[1].len, "LOGIN", 5)) {
			if (ntok != 4 || fb->creds->authzid[0] != '\0' ||
			    !fuzz_eq(tok[2].p, tok[2].len, fb->creds->authcid,
				strlen(fb->creds->authcid)) ||
			    !fuzz_eq(tok[3].p, tok[3].len, fb->creds->password,
				fb->creds->password_len))
				abort();
			fb->logins++;
			(void)buf_printf(&fb->reply,
			    "%.*s OK [CAPABILITY IMAP4rev1] in\r\n",
			    (int)tok[0].len, tok[0].p);
		} else if (fuzz_eq(tok[1].p, tok[1].len, "AUTHENTICATE", 12)) {
			if (ntok < 3 || ntok > 4 ||
			    !fuzz_eq(tok[2].p, tok[2].len, "PLAIN", 5))
				abort();
			memcpy(fb->sasl_tag, tok[0].p, tok[0].len);
			fb->sasl_tag[tok[0].len] = '\0';
			if (ntok == 4) {
				fuzz_check_plain(
				    fb->creds, tok[3].p, tok[3].len);
				fb->logins++;
				(void)buf_printf(
				    &fb->reply, "%s OK done\r\n", fb->sasl_tag);
			} else {
				fb->sasl_wait = true;
				(void)buf_append_str(&fb->reply, "+ \r\n");
			}
		} else {
			abort();
		}
		for (i = 0; i < FUZZ_TOKENS; i++)
			free(tok[i].own);
		fb->done += used;
	}
}

static size_t
fuzz_imap_input(void *m, const void *data, size_t len, enum proto_action *act_r)
{
	return imap_backend_input(m, data, len, act_r);
}

static struct buf *
fuzz_imap_output(void *m)
{
	return imap_backend_output(m);
}

static const char *
fuzz_imap_error(void *m)
{
	return imap_backend_error(m);
}

static const struct fuzz_backend_ops fuzz_imap_ops = {
    fuzz_imap_input,
    fuzz_imap_output,
    fuzz_imap_error,
    fuzz_imap_answer,
};

static void
fuzz_imap_backend(const struct proto_creds *creds, uint8_t mode)
{
	struct imap_backend_settings set = {0};
	struct fuzz_backend fb = {.mode = mode, .creds = creds};
	struct imap_backend *b;

	b = imap_backend_new(creds, &fuzz_info, NULL, 0, &set);
	if (b == NULL)
		abort();
	buf_init(&fb.reply, FUZZ_BUF_MAX);
	(void)buf_append_str(&fb.reply, "* OK ");
	if (mode & FUZZ_MODE_GREETCAPS) {
		(void)buf_append_str(&fb.reply, "[CAPABILITY ");
		fuzz_imap_caps(&fb);
		(void)buf_append_str(&fb.reply, "] ");
	}
	(void)buf_append_str(&fb.reply, "ready\r\n");
	fuzz_backend_run(&fb, &fuzz_imap_ops, b);
	imap_backend_free(&b);
}

/* -- POP3 backend ------------------------------------------------------ */

/* Answers every complete line the POP3 module sent. */
static void
fuzz_pop3_answer(struct fuzz_backend *fb)
{
	const char *s, *cr, *arg;
	size_t len, alen;

	for (;;) {
		s = fb->sent.data + fb->done;
		cr = memchr(s, '\r', fb->sent.len - fb->done);
		if (cr == NULL) {
			if (memchr(s, '\n', fb->sent.len - fb->done) != NULL)
				abort();
			return;
		}
		if (cr + 1 >= fb->sent.data + fb->sent.len)
			return;
		len = (size_t)(cr - s);
		if (cr[1] != '\n' || memchr(s, '\n', len) != NULL)
			abort();
		fb->done += len + 2;
		arg = memchr(s, ' ', len);
		alen = arg != NULL ? len - (size_t)(arg + 1 - s) : 0;
		arg = arg != NULL ? arg + 1 : s + len;
		if (fb->sasl_wait) {
			fuzz_check_plain(fb->creds, s, len);
			fb->logins++;
			fb->sasl_wait = false;
			(void)buf_append_str(&fb->reply, "+OK in\r\n");
		} else if (fuzz_eq(s, len, "CAPA", 4)) {
			(void)buf_append_str(&fb->reply, "+OK\r\nUSER\r\n");
			if (fb->mode & FUZZ_MODE_SASL)
				(void)buf_append_str(
				    &fb->reply, "SASL PLAIN\r\n");
			if (fb->mode & FUZZ_MODE_ID)
				(void)buf_append_str(&fb->reply, "XCLIENT\r\n");
			(void)buf_append_str(&fb->reply, ".\r\n");
		} else if (len > 8 && memcmp(s, "XCLIENT ", 8) == 0) {
			(void)buf_append_str(&fb->reply, "+OK\r\n");
		} else if (len >= 5 && memcmp(s, "USER ", 5) == 0) {
			if (!fuzz_eq(arg, alen, fb->creds->authcid,
				strlen(fb->creds->authcid)) ||
			    fb->creds->authzid[0] != '\0')
				abort();
			(void)buf_append_str(&fb->reply, "+OK\r\n");
		} else if (len >= 5 && memcmp(s, "PASS ", 5) == 0) {
			if (!fuzz_eq(arg, alen, fb->creds->password,
				fb->creds->password_len))
				abort();
			fb->logins++;
			(void)buf_append_str(&fb->reply, "+OK in\r\n");
		} else if (fuzz_eq(s, len, "AUTH PLAIN", 10)) {
			fb->sasl_wait = true;
			(void)buf_append_str(&fb->reply, "+ \r\n");
		} else if (len > 11 && memcmp(s, "AUTH PLAIN ", 11) == 0) {
			fuzz_check_plain(fb->creds, s + 11, len - 11);
			fb->logins++;
			(void)buf_append_str(&fb->reply, "+OK in\r\n");
		} else {
			abort();
		}
	}
}

static size_t
fuzz_pop3_input(void *m, const void *data, size_t len, enum proto_action *act_r)
{
	return pop3_backend_input(m, data, len, act_r);
}

static struct buf *
fuzz_pop3_output(void *m)
{
	return pop3_backend_output(m);
}

static const char *
fuzz_pop3_error(void *m)
{
	return pop3_backend_error(m);
}

static const struct fuzz_backend_ops fuzz_pop3_ops = {
    fuzz_pop3_input,
    fuzz_pop3_output,
    fuzz_pop3_error,
    fuzz_pop3_answer,
};

static void
fuzz_pop3_backend(const struct proto_creds *creds, uint8_t mode)
{
	struct pop3_backend_settings set = {0};
	struct fuzz_backend fb = {.mode = mode, .creds = creds};
	struct pop3_backend *b;

	b = pop3_backend_new(creds, &fuzz_info, &set);
	buf_init(&fb.reply, FUZZ_BUF_MAX);
	(void)buf_append_str(&fb.reply, "+OK ready\r\n");
	fuzz_backend_run(&fb, &fuzz_pop3_ops, b);
	pop3_backend_free(&b);
}

/* -- client side ------------------------------------------------------- */

static bool
fuzz_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* An IMAP string: quoted if it can be, else a LITERAL+ literal. */
static void
fuzz_imap_string(struct buf *cmd, const char *s, size_t len, bool literal)
{
	size_t i;

	if (!literal && fuzz_printable(s, len)) {
		(void)buf_append(cmd, "\"", 1);
		for (i = 0; i < len; i++) {
			if (s[i] == '"' || s[i] == '\\')
				(void)buf_append(cmd, "\\", 1);
			(void)buf_append(cmd, s + i, 1);
		}
		(void)buf_append(cmd, "\"", 1);
		return;
	}
	(void)buf_printf(cmd, "{%zu+}\r\n", len);
	(void)buf_append(cmd, s, len);
}

/* The base64 PLAIN message of user and pass (no authzid). */
static void
fuzz_plain_b64(struct buf *cmd, const char *user, size_t ulen, const char *pass,
    size_t plen)
{
	size_t mlen = ulen + plen + 2;
	unsigned char *msg = malloc(mlen);
	char *b64 = malloc(BASE64_ENCODED_LEN(mlen) + 1);

	msg[0] = '\0';
	memcpy(msg + 1, user, ulen);
	msg[1 + ulen] = '\0';
	memcpy(msg + 2 + ulen, pass, plen);
	(void)buf_append(cmd, b64, base64_encode(msg, mlen, b64));
	free(msg);
	free(b64);
}

/* Whether the client module's credentials are exactly ours. */
static void
fuzz_check_creds(const struct proto_creds *cr, enum proto_auth_kind kind,
    const char *user, size_t ulen, const char *pass, size_t plen)
{
	if (cr == NULL || cr->kind != kind || cr->authzid == NULL ||
	    cr->authzid[0] != '\0' || cr->authcid == NULL ||
	    !fuzz_eq(cr->authcid, strlen(cr->authcid), user, ulen) ||
	    cr->password == NULL ||
	    !fuzz_eq(cr->password, cr->password_len, pass, plen))
		abort();
}

static void
fuzz_imap(
    uint8_t mode, const char *user, size_t ulen, const char *pass, size_t plen)
{
	struct imap_client_settings set = {.allow_plaintext_auth = true};
	struct imap_client *c = imap_client_new(&set);
	enum proto_action act = PROTO_ACT_MORE;
	bool sasl = (mode & 3) == FUZZ_IMAP_AUTH;
	size_t pos = 0, n;
	struct buf cmd;

	buf_init(&cmd, FUZZ_BUF_MAX);
	if (!sasl) {
		(void)buf_append_str(&cmd, "a LOGIN ");
		fuzz_imap_string(&cmd, user, ulen, mode & FUZZ_MODE_LITERAL);
		(void)buf_append(&cmd, " ", 1);
		fuzz_imap_string(&cmd, pass, plen, mode & FUZZ_MODE_LITERAL);
	} else {
		(void)buf_append_str(&cmd, "a AUTHENTICATE PLAIN");
		(void)buf_append_str(
		    &cmd, (mode & FUZZ_MODE_IR) != 0 ? " " : "\r\n");
		fuzz_plain_b64(&cmd, user, ulen, pass, plen);
	}
	(void)buf_append(&cmd, "\r\n", 2);
	imap_client_greeting(c);
	while (pos < cmd.len) {
		n = imap_client_input(c, cmd.data + pos, cmd.len - pos, &act);
		if (n > cmd.len - pos)
			abort();
		pos += n;
		fuzz_check_lines(imap_client_output(c), FUZZ_BUF_MAX);
		if (act != PROTO_ACT_MORE || n == 0)
			break;
	}
	if (act == PROTO_ACT_LOGIN) {
		fuzz_check_creds(imap_client_creds(c),
		    sasl ? PROTO_AUTH_SASL_PLAIN : PROTO_AUTH_LOGIN, user, ulen,
		    pass, plen);
		fuzz_imap_backend(imap_client_creds(c), mode);
	} else if (imap_client_creds(c) != NULL) {
		abort();
	}
	imap_client_free(&c);
	buf_deinit(&cmd);
}

static void
fuzz_pop3(
    uint8_t mode, const char *user, size_t ulen, const char *pass, size_t plen)
{
	struct pop3_client_settings set = {.allow_plaintext_auth = true};
	struct pop3_client *c = pop3_client_new(&set);
	enum proto_action act = PROTO_ACT_MORE;
	bool sasl = (mode & 3) == FUZZ_POP3_AUTH;
	size_t pos = 0, n;
	struct buf cmd;

	buf_init(&cmd, FUZZ_BUF_MAX);
	if (!sasl) {
		(void)buf_append_str(&cmd, "USER ");
		(void)buf_append(&cmd, user, ulen);
		(void)buf_append_str(&cmd, "\r\nPASS ");
		(void)buf_append(&cmd, pass, plen);
	} else {
		(void)buf_append_str(&cmd, "AUTH PLAIN");
		(void)buf_append_str(
		    &cmd, (mode & FUZZ_MODE_IR) != 0 ? " " : "\r\n");
		fuzz_plain_b64(&cmd, user, ulen, pass, plen);
	}
	(void)buf_append(&cmd, "\r\n", 2);
	pop3_client_greeting(c);
	while (pos < cmd.len) {
		n = pop3_client_input(c, cmd.data + pos, cmd.len - pos, &act);
		if (n > cmd.len - pos)
			abort();
		pos += n;
		fuzz_check_lines(pop3_client_output(c), FUZZ_BUF_MAX);
		if (act != PROTO_ACT_MORE || n == 0)
			break;
	}
	if (act == PROTO_ACT_LOGIN) {
		fuzz_check_creds(pop3_client_creds(c),
		    sasl ? PROTO_AUTH_SASL_PLAIN : PROTO_AUTH_LOGIN, user, ulen,
		    pass, plen);
		fuzz_pop3_backend(pop3_client_creds(c), mode);
	} else if (pop3_client_creds(c) != NULL) {
		abort();
	}
	pop3_client_free(&c);
	buf_deinit(&cmd);
}

/* Changes the bytes the chosen form cannot carry. */
static void
fuzz_representable(uint8_t mode, char *s, size_t len)
{
	size_t i;
	bool line = (mode & 3) == FUZZ_POP3_USER;
	bool sasl =
	    (mode & 3) == FUZZ_IMAP_AUTH || (mode & 3) == FUZZ_POP3_AUTH;

	for (i = 0; i < len; i++) {
		if ((s[i] == '\0' && (line || sasl)) ||
		    ((s[i] == '\n' || s[i] == '\r') && line))
			s[i] = 0x01;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ulen, plen;
	uint8_t mode;
	char *copy;

	if (size < 2)
		return 0;
	mode = data[0];
	ulen = MIN_OF(data[1], size - 2);
	plen = size - 2 - ulen;
	copy = malloc(size - 2 + 1);
	memcpy(copy, data + 2, size - 2);
	fuzz_representable(mode, copy, size - 2);
	if ((mode & 3) == FUZZ_IMAP_LOGIN || (mode & 3) == FUZZ_IMAP_AUTH)
		fuzz_imap(mode, copy, ulen, copy + ulen, plen);
	else
		fuzz_pop3(mode, copy, ulen, copy + ulen, plen);
	free(copy);
	return 0;
}

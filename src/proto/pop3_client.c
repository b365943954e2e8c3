/*
 * pop3_client.c - pre-login POP3 server state machine (see pop3_client.h).
 *
 * Invariants: at most one line is buffered (line_max bytes, in a linebuf
 * that is wiped after each line), so whole and byte-wise feeding give the
 * same result; the SASL exchange is sasl.c's; nothing after a line that produced an action
 * other than MORE is consumed; credentials exist only between
 * PROTO_ACT_LOGIN and login_result(), and every copy of a secret is wiped.
 */
#include "compat.h"

#include <ctype.h>
#include <strings.h>

#include "buf.h"
#include "linebuf.h"
#include "pop3_client.h"
#include "sasl.h"
#include "xmalloc.h"

#define POP3_CLIENT_OUTPUT_MAX (POP3_CLIENT_OUTPUT_HIGH + 16384)
#define POP3_CLIENT_GREETING_DEFAULT "Director ready."
#define POP3_CLIENT_GREETING_MAX 256

#define POP3_ERR_PLAINTEXT                                                     \
	"-ERR [AUTH] Plaintext authentication disallowed on non-secure "       \
	"(SSL/TLS) connections."

enum pop3_client_state {
	POP3_CLIENT_PREAUTH,
	POP3_CLIENT_AUTH, /* AUTH: sasl is active */
	POP3_CLIENT_STARTTLS, /* waiting for tls_started() */
	POP3_CLIENT_LOGIN, /* waiting for login_result() */
	/* the backend's OAuth error challenge was relayed: the next line
	 * is the client's response, answered by auth_reply */
	POP3_CLIENT_AUTH_ERROR,
	POP3_CLIENT_DONE, /* logged in */
	POP3_CLIENT_CLOSED,
};

struct pop3_client {
	struct pop3_client_settings set;
	char greeting[POP3_CLIENT_GREETING_MAX];
	enum pop3_client_state state;
	struct buf out;
	struct linebuf line; /* wiped after each line */
	unsigned int bad;
	char *user; /* from USER */
	struct proto_creds creds;
	struct sasl_server sasl;
	char *challenge; /* the backend's OAuth error challenge */
	char *auth_reply; /* "-ERR ..." sent after the response */
};

struct pop3_client *
pop3_client_new(const struct pop3_client_settings *set)
{
	struct pop3_client *c;

	c = xcalloc(1, sizeof(*c));
	c->set = *set;
	if (c->set.line_max == 0)
		c->set.line_max = POP3_CLIENT_LINE_MAX;
	if (c->set.bad_max == 0)
		c->set.bad_max = POP3_CLIENT_BAD_MAX;
	(void)strlcpy(c->greeting,
	    set->greeting != NULL ? set->greeting
				  : POP3_CLIENT_GREETING_DEFAULT,
	    sizeof(c->greeting));
	c->set.greeting = c->greeting;
	if (c->set.secured)
		c->set.starttls = false;
	linebuf_init(&c->line, c->set.line_max);
	buf_init(&c->out, POP3_CLIENT_OUTPUT_MAX);
	return c;
}

static void
pop3_client_forget_user(struct pop3_client *c)
{
	if (c->user != NULL) {
		freezero(c->user, strlen(c->user) + 1);
		c->user = NULL;
	}
}

void
pop3_client_free(struct pop3_client **cp)
{
	struct pop3_client *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	proto_creds_clear(&c->creds);
	free(c->challenge);
	free(c->auth_reply);
	pop3_client_forget_user(c);
	linebuf_deinit(&c->line);
	buf_deinit(&c->out);
	free(c);
}

struct buf *
pop3_client_output(struct pop3_client *c)
{
	return &c->out;
}

void
pop3_client_greeting(struct pop3_client *c)
{
	(void)buf_printf(&c->out, "+OK %s\r\n", c->greeting);
}

static bool
pop3_client_auth_allowed(const struct pop3_client *c)
{
	return c->set.secured || c->set.allow_plaintext_auth;
}

static void
pop3_client_reply(struct pop3_client *c, const char *line)
{
	(void)buf_printf(&c->out, "%s\r\n", line);
}

/* Counts a bad command; closes after bad_max of them. */
static enum proto_action
pop3_client_bad(struct pop3_client *c, const char *reply)
{
	pop3_client_reply(c, reply);
	if (++c->bad >= c->set.bad_max) {
		pop3_client_reply(c, "-ERR Too many bad commands.");
		c->state = POP3_CLIENT_CLOSED;
		return PROTO_ACT_CLOSE;
	}
	return PROTO_ACT_MORE;
}

static void
pop3_client_capa(struct pop3_client *c)
{
	(void)buf_append_str(&c->out,
	    "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n"
	    "AUTH-RESP-CODE\r\n");
	if (c->set.starttls)
		(void)buf_append_str(&c->out, "STLS\r\n");
	if (pop3_client_auth_allowed(c)) {
		(void)buf_append_str(&c->out, "USER\r\nSASL");
		sasl_mechs_append(&c->out, c->set.mechs, " ", "");
		(void)buf_append_str(&c->out, "\r\n");
	}
	(void)buf_append_str(&c->out, ".\r\n");
}

/* Returns to the pre-auth state after a failed or aborted exchange. */
static enum proto_action
pop3_client_auth_fail(struct pop3_client *c, const char *reply, bool counts)
{
	sasl_server_abort(&c->sasl);
	proto_creds_clear(&c->creds);
	pop3_client_forget_user(c);
	c->state = POP3_CLIENT_PREAUTH;
	if (counts)
		return pop3_client_bad(c, reply);
	pop3_client_reply(c, reply);
	return PROTO_ACT_MORE;
}

/* How an AUTH that ends without credentials is answered, by
 * sasl_server_step() result, and whether it counts as a bad command
 * (BAD_PLAIN is answered with the decoder's own text). */
static const struct {
	const char *text;
	bool counts;
} pop3_client_sasl_fail[] = {
    [SASL_SERVER_CANCELLED] = {"-ERR Authentication aborted by client.", false},
    [SASL_SERVER_BAD_BASE64] =
	{"-ERR Invalid base64 data in continued response.", true},
    [SASL_SERVER_BAD_USER] = {"-ERR [AUTH] Invalid username.", true},
    [SASL_SERVER_BAD_PASSWORD] = {"-ERR [AUTH] Invalid password.", true},
};

/* Goes on after sasl_server_start() or _step() returned res. */
static enum proto_action
pop3_client_sasl_result(
    struct pop3_client *c, enum sasl_server_result res, const char *error)
{
	char reply[128];

	switch (res) {
	case SASL_SERVER_CONTINUE:
		return PROTO_ACT_MORE;
	case SASL_SERVER_DONE:
		c->state = POP3_CLIENT_LOGIN;
		return PROTO_ACT_LOGIN;
	case SASL_SERVER_BAD_PLAIN:
	case SASL_SERVER_BAD_OAUTH:
		(void)snprintf(reply, sizeof(reply), "-ERR [AUTH] %s", error);
		return pop3_client_auth_fail(c, reply, true);
	default:
		return pop3_client_auth_fail(c, pop3_client_sasl_fail[res].text,
		    pop3_client_sasl_fail[res].counts);
	}
}

static enum proto_action
pop3_client_cmd_auth(struct pop3_client *c, const char *args, size_t len)
{
	enum sasl_server_result res;
	const char *sp, *error;
	enum sasl_mech mech;
	size_t mlen;

	if (len == 0) {
		/* RFC 5034: list the mechanisms */
		(void)buf_append_str(&c->out, "+OK\r\n");
		if (pop3_client_auth_allowed(c))
			sasl_mechs_append(&c->out, c->set.mechs, "", "\r\n");
		(void)buf_append_str(&c->out, ".\r\n");
		return PROTO_ACT_MORE;
	}
	if (!pop3_client_auth_allowed(c)) {
		pop3_client_reply(c, POP3_ERR_PLAINTEXT);
		return PROTO_ACT_MORE;
	}
	sp = memchr(args, ' ', len);
	mlen = sp != NULL ? (size_t)(sp - args) : len;
	pop3_client_forget_user(c);
	if (sasl_mech_lookup(args, mlen, c->set.mechs, &mech) == -1)
		return pop3_client_bad(
		    c, "-ERR Unsupported authentication mechanism.");
	c->state = POP3_CLIENT_AUTH;
	res = sasl_server_start(&c->sasl, mech, &c->creds,
	    sp != NULL ? sp + 1 : NULL,
	    sp != NULL ? len - (size_t)(sp + 1 - args) : 0, &c->out, &error);
	return pop3_client_sasl_result(c, res, error);
}

static enum proto_action
pop3_client_cmd_user(
    struct pop3_client *c, const char *arg, size_t len, bool has_arg)
{
	if (!pop3_client_auth_allowed(c)) {
		pop3_client_reply(c, POP3_ERR_PLAINTEXT);
		return PROTO_ACT_MORE;
	}
	if (!has_arg || len == 0)
		return pop3_client_bad(c, "-ERR Missing username.");
	if (len > SASL_IDENTITY_MAX)
		return pop3_client_bad(c, "-ERR Username too long.");
	pop3_client_forget_user(c);
	c->user = xstrndup(arg, len);
	pop3_client_reply(c, "+OK");
	return PROTO_ACT_MORE;
}

static enum proto_action
pop3_client_cmd_pass(
    struct pop3_client *c, const char *arg, size_t len, bool has_arg)
{
	if (!pop3_client_auth_allowed(c)) {
		pop3_client_reply(c, POP3_ERR_PLAINTEXT);
		return PROTO_ACT_MORE;
	}
	if (c->user == NULL)
		return pop3_client_bad(c, "-ERR No username given.");
	if (!has_arg)
		return pop3_client_bad(c, "-ERR Missing password.");
	proto_creds_clear(&c->creds);
	c->creds.kind = PROTO_AUTH_LOGIN;
	c->creds.authzid = xstrdup("");
	c->creds.authcid = c->user;
	c->user = NULL;
	c->creds.password = xstrndup(arg, len);
	c->creds.password_len = len;
	c->state = POP3_CLIENT_LOGIN;
	return PROTO_ACT_LOGIN;
}

/* Executes one complete line (without CRLF) in the pre-auth state. */
static enum proto_action
pop3_client_command(struct pop3_client *c, const char *line, size_t len)
{
	const char *sp, *arg;
	size_t clen, alen;

	sp = memchr(line, ' ', len);
	clen = sp != NULL ? (size_t)(sp - line) : len;
	arg = sp != NULL ? sp + 1 : line + len;
	alen = len - (size_t)(arg - line);

#define POP3_IS(name) proto_word_is(line, clen, name)
	if (POP3_IS("CAPA")) {
		pop3_client_capa(c);
		return PROTO_ACT_MORE;
	}
	if (POP3_IS("NOOP")) {
		pop3_client_reply(c, "+OK");
		return PROTO_ACT_MORE;
	}
	if (POP3_IS("QUIT")) {
		pop3_client_reply(c, "+OK Logging out");
		c->state = POP3_CLIENT_CLOSED;
		return PROTO_ACT_CLOSE;
	}
	if (POP3_IS("STLS")) {
		if (c->set.secured) {
			pop3_client_reply(c, "-ERR TLS is already active.");
			return PROTO_ACT_MORE;
		}
		if (!c->set.starttls) {
			pop3_client_reply(c, "-ERR TLS support isn't enabled.");
			return PROTO_ACT_MORE;
		}
		pop3_client_reply(c, "+OK Begin TLS negotiation now.");
		c->state = POP3_CLIENT_STARTTLS;
		return PROTO_ACT_STARTTLS;
	}
	if (POP3_IS("USER"))
		return pop3_client_cmd_user(c, arg, alen, sp != NULL);
	if (POP3_IS("PASS"))
		return pop3_client_cmd_pass(c, arg, alen, sp != NULL);
	if (POP3_IS("AUTH"))
		return pop3_client_cmd_auth(c, arg, alen);
#undef POP3_IS
	return pop3_client_bad(c, "-ERR Unknown command.");
}

/* A rejected login is a bad command: guessing passwords on one
 * connection ends at the limit. */
static enum proto_action
pop3_client_rejected(struct pop3_client *c)
{
	if (++c->bad >= c->set.bad_max) {
		pop3_client_reply(c, "-ERR Too many bad commands.");
		c->state = POP3_CLIENT_CLOSED;
		return PROTO_ACT_CLOSE;
	}
	return PROTO_ACT_MORE;
}

static enum proto_action
pop3_client_line(struct pop3_client *c, const char *line, size_t len)
{
	enum sasl_server_result res;
	const char *error;

	if (memchr(line, '\0', len) != NULL &&
	    c->state != POP3_CLIENT_AUTH_ERROR) {
		if (c->state != POP3_CLIENT_PREAUTH)
			return pop3_client_auth_fail(
			    c, "-ERR Invalid input.", true);
		return pop3_client_bad(c, "-ERR Invalid input.");
	}
	switch (c->state) {
	case POP3_CLIENT_PREAUTH:
		if (len == 0)
			return PROTO_ACT_MORE;
		return pop3_client_command(c, line, len);
	case POP3_CLIENT_AUTH:
		res = sasl_server_step(
		    &c->sasl, &c->creds, line, len, &c->out, &error);
		return pop3_client_sasl_result(c, res, error);
	case POP3_CLIENT_AUTH_ERROR:
		/* whatever the response (the dummy one, "*"), the exchange
		 * failed at the backend */
		if (c->auth_reply != NULL)
			pop3_client_reply(c, c->auth_reply);
		free(c->auth_reply);
		c->auth_reply = NULL;
		c->state = POP3_CLIENT_PREAUTH;
		return pop3_client_rejected(c);
	default:
		return PROTO_ACT_MORE;
	}
}

size_t
pop3_client_input(struct pop3_client *c, const void *data, size_t len,
    enum proto_action *act_r)
{
	const char *p = data, *line;
	size_t i = 0, used, n;
	enum proto_action act = PROTO_ACT_MORE;
	enum linebuf_status st;

	if (c->state == POP3_CLIENT_CLOSED) {
		*act_r = PROTO_ACT_CLOSE;
		return 0;
	}
	while (i < len && act == PROTO_ACT_MORE) {
		if (c->state != POP3_CLIENT_PREAUTH &&
		    c->state != POP3_CLIENT_AUTH &&
		    c->state != POP3_CLIENT_AUTH_ERROR)
			break;
		/* a new line is only started with room for its reply */
		if (linebuf_at_start(&c->line) &&
		    c->out.len > POP3_CLIENT_OUTPUT_HIGH)
			break;
		st = linebuf_feed(&c->line, p + i, len - i, &used, &line, &n);
		i += used;
		if (st == LINEBUF_TOO_LONG) {
			pop3_client_reply(c, "-ERR Input line too long.");
			c->state = POP3_CLIENT_CLOSED;
			act = PROTO_ACT_CLOSE;
		} else if (st == LINEBUF_LINE) {
			act = pop3_client_line(c, line, n);
			linebuf_drop(&c->line);
		}
	}
	*act_r = act;
	return i;
}

void
pop3_client_tls_started(struct pop3_client *c)
{
	if (c->state != POP3_CLIENT_STARTTLS)
		return;
	c->state = POP3_CLIENT_PREAUTH;
	c->set.secured = true;
	c->set.starttls = false;
	linebuf_reset(&c->line);
	pop3_client_forget_user(c);
}

const struct proto_creds *
pop3_client_creds(const struct pop3_client *c)
{
	return c->state == POP3_CLIENT_LOGIN ? &c->creds : NULL;
}

/* Copies remote text into dst as one printable line. */
static void
pop3_client_flatten(char *dst, size_t size, const char *src)
{
	size_t i;

	(void)strlcpy(dst, src, size);
	for (i = 0; dst[i] != '\0'; i++) {
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
	}
}

void
pop3_client_login_result(struct pop3_client *c, enum proto_login_status status,
    const char *backend_text)
{
	char text[POP3_CLIENT_TEXT_MAX + 1];
	const char *t;

	if (c->state != POP3_CLIENT_LOGIN)
		return;
	text[0] = '\0';
	if (backend_text != NULL)
		pop3_client_flatten(text, sizeof(text), backend_text);
	switch (status) {
	case PROTO_LOGIN_OK:
		(void)buf_printf(&c->out, "+OK %s\r\n",
		    text[0] != '\0' ? text : "Logged in.");
		proto_creds_clear(&c->creds);
		c->state = POP3_CLIENT_DONE;
		return;
	case PROTO_LOGIN_REJECTED:
		if (c->challenge != NULL) {
			/* as the backend did: the challenge, the client's
			 * response, then -ERR (pop3_client_line) */
			(void)buf_printf(&c->out, "+ %s\r\n", c->challenge);
			free(c->auth_reply);
			c->auth_reply = xasprintf("-ERR %s",
			    text[0] != '\0' ? text
					    : "[AUTH] Authentication failed.");
			proto_creds_clear(&c->creds);
			free(c->challenge);
			c->challenge = NULL;
			c->state = POP3_CLIENT_AUTH_ERROR;
			return;
		}
		(void)buf_printf(&c->out, "-ERR %s\r\n",
		    text[0] != '\0' ? text : "[AUTH] Authentication failed.");
		break;
	case PROTO_LOGIN_TEMPFAIL:
		t = text;
		if (t[0] == '[') {
			/* drop the backend's own response code */
			t = strchr(t, ']');
			t = t == NULL ? "" : t + 1;
			while (*t == ' ')
				t++;
		}
		(void)buf_printf(&c->out, "-ERR [SYS/TEMP] %s\r\n",
		    t[0] != '\0' ? t : "Account is temporarily unavailable.");
		break;
	}
	proto_creds_clear(&c->creds);
	free(c->challenge);
	c->challenge = NULL;
	c->state = POP3_CLIENT_PREAUTH;
	if (status == PROTO_LOGIN_REJECTED)
		(void)pop3_client_rejected(c);
}

void
pop3_client_login_challenge(struct pop3_client *c, const char *b64)
{
	if (c->state == POP3_CLIENT_LOGIN)
		sasl_oauth_challenge_keep(&c->challenge, &c->creds, b64);
}

/*
 * imap_client_login.c - LOGIN, AUTHENTICATE PLAIN|LOGIN (with and without
 * SASL-IR) and the login outcome, for the pre-login IMAP server
 * (imap_client.c has the command reader and the other commands).
 *
 * Invariants: credentials are complete and NUL-free when PROTO_ACT_LOGIN
 * is returned; they live only in c->creds and are wiped on every path that
 * abandons them (failure, cancel, login result, free).  Decoded SASL
 * buffers are wiped before they are freed.  Nothing is logged.
 */
#include "compat.h"

#include <stdio.h>
#include <strings.h>

#include "imap_client_int.h"
#include "sasl.h"
#include "xmalloc.h"

/* Credentials are complete: hand over to the shell. */
static enum proto_action
imap_client_login_ready(struct imap_client *c, const char *tag)
{
	(void)strlcpy(c->login_tag, tag, sizeof(c->login_tag));
	c->state = IMAP_CLIENT_LOGIN;
	return PROTO_ACT_LOGIN;
}

enum proto_action
imap_client_cmd_login(struct imap_client *c)
{
	const struct imap_token *pt;

	if (c->ntokens != 2 || !imap_client_token_is_string(c, 0) ||
	    !imap_client_token_is_string(c, 1))
		return imap_client_bad(c, c->tag, TEXT_BAD_SYNTAX);
	pt = &c->tokens[1];
	/* Like Dovecot: a login that cannot succeed fails like a wrong
	 * password (not a protocol error). */
	if (c->tokens[0].len == 0 || c->tokens[0].len > SASL_IDENTITY_MAX ||
	    pt->len > SASL_RESPONSE_MAX) {
		imap_client_reply(c, c->tag, TEXT_NO_AUTH);
		return PROTO_ACT_MORE;
	}
	proto_creds_clear(&c->creds);
	c->creds.authcid = imap_client_token_dup(c, 0);
	if (c->creds.authcid == NULL ||
	    memchr(imap_client_token_str(c, 1), '\0', pt->len) != NULL) {
		proto_creds_clear(&c->creds);
		imap_client_reply(c, c->tag, TEXT_NO_AUTH);
		return PROTO_ACT_MORE;
	}
	c->creds.kind = PROTO_AUTH_LOGIN;
	c->creds.authzid = xstrdup("");
	c->creds.password = xmalloc(pt->len + 1);
	memcpy(c->creds.password, imap_client_token_str(c, 1), pt->len);
	c->creds.password[pt->len] = '\0';
	c->creds.password_len = pt->len;
	return imap_client_login_ready(c, c->tag);
}

/* Decodes one base64 SASL response.  "=" stands for an empty response
 * when initial is set (RFC 4959).  Returns the decoded length or -1; the
 * caller wipes *msg_r with freezero(*msg_r, *size_r). */
static long
imap_client_sasl_decode(const char *b64, size_t len, bool initial,
    unsigned char **msg_r, size_t *size_r)
{
	long n;

	*msg_r = NULL;
	*size_r = 0;
	if (initial && len == 1 && b64[0] == '=')
		len = 0;
	if (len > BASE64_ENCODED_LEN(SASL_RESPONSE_MAX))
		return -1;
	*size_r = BASE64_DECODED_MAX(len) + 1;
	*msg_r = xmalloc(*size_r);
	if (len == 0)
		return 0;
	n = base64_decode(b64, len, *msg_r);
	if (n < 0 || (size_t)n > SASL_RESPONSE_MAX)
		return -1;
	return n;
}

/* Ends an AUTHENTICATE exchange without credentials. */
static enum proto_action
imap_client_auth_fail(struct imap_client *c, const char *text, bool counts)
{
	proto_creds_clear(&c->creds);
	c->state = IMAP_CLIENT_PREAUTH;
	imap_client_reply(c, c->login_tag, text);
	c->login_tag[0] = '\0';
	return counts ? imap_client_count_bad(c) : PROTO_ACT_MORE;
}

/* Handles one SASL response (a continuation line or an initial
 * response) in the current AUTH state. */
static enum proto_action
imap_client_sasl_step(
    struct imap_client *c, const char *b64, size_t len, bool initial)
{
	unsigned char *msg;
	const char *error;
	size_t size;
	long n;
	char *s;

	if (!initial && len == 1 && b64[0] == '*')
		return imap_client_auth_fail(
		    c, "BAD Authentication aborted by client.", false);
	n = imap_client_sasl_decode(b64, len, initial, &msg, &size);
	if (n < 0) {
		freezero(msg, size);
		return imap_client_auth_fail(
		    c, "BAD Invalid base64 data in continued response.", true);
	}
	switch (c->state) {
	case IMAP_CLIENT_AUTH_PLAIN:
		proto_creds_clear(&c->creds);
		if (sasl_plain_decode(msg, (size_t)n, &c->creds, &error) ==
		    -1) {
			/* Dovecot answers a malformed PLAIN message like a
			 * wrong password; so do we. */
			freezero(msg, size);
			return imap_client_auth_fail(c, TEXT_NO_AUTH, false);
		}
		freezero(msg, size);
		c->creds.kind = PROTO_AUTH_SASL_PLAIN;
		return imap_client_login_ready(c, c->login_tag);
	case IMAP_CLIENT_AUTH_LOGIN_USER:
		if (n == 0 || n > SASL_IDENTITY_MAX ||
		    memchr(msg, '\0', (size_t)n) != NULL) {
			freezero(msg, size);
			return imap_client_auth_fail(c,
			    "NO [AUTHENTICATIONFAILED] Invalid user name.",
			    false);
		}
		proto_creds_clear(&c->creds);
		c->creds.kind = PROTO_AUTH_SASL_LOGIN;
		c->creds.authzid = xstrdup("");
		c->creds.authcid = xstrndup((const char *)msg, (size_t)n);
		freezero(msg, size);
		c->state = IMAP_CLIENT_AUTH_LOGIN_PASS;
		(void)buf_append_str(
		    &c->out, "+ " SASL_LOGIN_CHALLENGE_PASS "\r\n");
		return PROTO_ACT_MORE;
	case IMAP_CLIENT_AUTH_LOGIN_PASS:
		if (memchr(msg, '\0', (size_t)n) != NULL) {
			freezero(msg, size);
			return imap_client_auth_fail(c,
			    "NO [AUTHENTICATIONFAILED] Invalid password.",
			    false);
		}
		s = xmalloc((size_t)n + 1);
		memcpy(s, msg, (size_t)n);
		s[n] = '\0';
		freezero(msg, size);
		c->creds.password = s;
		c->creds.password_len = (size_t)n;
		return imap_client_login_ready(c, c->login_tag);
	default:
		freezero(msg, size);
		return imap_client_auth_fail(c, TEXT_BAD_SYNTAX, true);
	}
}

enum proto_action
imap_client_cmd_authenticate(struct imap_client *c)
{
	const char *mech;
	bool plain;

	if (c->ntokens < 1 || c->ntokens > 2 ||
	    c->tokens[0].type != IMAP_TOKEN_ATOM ||
	    (c->ntokens == 2 && c->tokens[1].type != IMAP_TOKEN_ATOM))
		return imap_client_bad(c, c->tag, TEXT_BAD_SYNTAX);
	mech = imap_client_token_str(c, 0);
	if (c->tokens[0].len == 5 && strncasecmp(mech, "PLAIN", 5) == 0)
		plain = true;
	else if (c->tokens[0].len == 5 && strncasecmp(mech, "LOGIN", 5) == 0)
		plain = false;
	else {
		imap_client_reply(c, c->tag,
		    "NO [ALERT] Unsupported authentication mechanism.");
		return PROTO_ACT_MORE;
	}
	(void)strlcpy(c->login_tag, c->tag, sizeof(c->login_tag));
	c->state = plain ? IMAP_CLIENT_AUTH_PLAIN : IMAP_CLIENT_AUTH_LOGIN_USER;
	if (c->ntokens == 2)
		return imap_client_sasl_step(
		    c, imap_client_token_str(c, 1), c->tokens[1].len, true);
	(void)buf_append_str(
	    &c->out, plain ? "+ \r\n" : "+ " SASL_LOGIN_CHALLENGE_USER "\r\n");
	return PROTO_ACT_MORE;
}

const struct proto_creds *
imap_client_creds(const struct imap_client *c)
{
	if (c->state != IMAP_CLIENT_LOGIN)
		return NULL;
	return &c->creds;
}

const char *
imap_client_login_tag(const struct imap_client *c)
{
	return c->login_tag;
}

void
imap_client_login_result(struct imap_client *c, enum proto_login_status status,
    const char *backend_text, const char *backend_caps)
{
	char *text = NULL, *caps = NULL;

	/* Only the answer to a pending login has a tag to reply with. */
	if (c->state != IMAP_CLIENT_LOGIN)
		return;
	if (backend_text != NULL && backend_text[0] != '\0')
		text = imap_text_dup_oneline(
		    backend_text, strlen(backend_text), IMAP_RELAY_TEXT_MAX);
	if (backend_caps != NULL && backend_caps[0] != '\0')
		caps = imap_text_dup_oneline(backend_caps, strlen(backend_caps),
		    IMAP_RELAY_TEXT_MAX * 4);
	switch (status) {
	case PROTO_LOGIN_OK:
		if (text != NULL && text[0] == '[')
			(void)buf_printf(
			    &c->out, "%s OK %s\r\n", c->login_tag, text);
		else if (caps != NULL)
			(void)buf_printf(&c->out,
			    "%s OK [CAPABILITY %s] %s\r\n", c->login_tag, caps,
			    text != NULL ? text : "Logged in");
		else
			(void)buf_printf(&c->out, "%s OK %s\r\n", c->login_tag,
			    text != NULL ? text : "Logged in");
		c->state = IMAP_CLIENT_DONE;
		break;
	case PROTO_LOGIN_REJECTED:
		(void)buf_printf(&c->out, "%s NO %s\r\n", c->login_tag,
		    text != NULL
			? text
			: "[AUTHENTICATIONFAILED] Authentication failed.");
		c->state = IMAP_CLIENT_PREAUTH;
		break;
	case PROTO_LOGIN_TEMPFAIL:
	default:
		(void)buf_printf(&c->out, "%s NO [UNAVAILABLE] %s\r\n",
		    c->login_tag,
		    text != NULL ? text
				 : "Account is temporarily unavailable.");
		c->state = IMAP_CLIENT_PREAUTH;
		break;
	}
	proto_creds_clear(&c->creds);
	c->login_tag[0] = '\0';
	free(text);
	free(caps);
}

enum proto_action
imap_client_sasl_line(struct imap_client *c, const char *line, size_t len)
{
	return imap_client_sasl_step(c, line, len, false);
}

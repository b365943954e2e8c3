/*
 * imap_client_login.c - LOGIN, AUTHENTICATE PLAIN|LOGIN|OAUTHBEARER|XOAUTH2
 * (with and without SASL-IR) and the login outcome, with the backend's
 * OAuth error challenge relayed, for the pre-login IMAP server
 * (imap_client.c has the command reader and the other commands).
 *
 * Invariants: credentials are complete and NUL-free when PROTO_ACT_LOGIN
 * is returned; they live only in c->creds and are wiped on every path that
 * abandons them (failure, cancel, login result, free).  The PLAIN/LOGIN
 * exchange itself (decoding, wiping) is sasl.c's; this file words its
 * outcome in IMAP.  Nothing is logged.
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

/* How an AUTHENTICATE that ends without credentials is answered, by
 * sasl_server_step() result, and whether it counts as a bad command. */
static const struct {
	const char *text;
	bool counts;
} imap_client_sasl_fail[] = {
    [SASL_SERVER_CANCELLED] = {"BAD Authentication aborted by client.", false},
    [SASL_SERVER_BAD_BASE64] =
	{"BAD Invalid base64 data in continued response.", true},
    /* Dovecot answers a malformed PLAIN message like a wrong password */
    [SASL_SERVER_BAD_PLAIN] = {TEXT_NO_AUTH, false},
    [SASL_SERVER_BAD_USER] = {"NO [AUTHENTICATIONFAILED] Invalid user name.",
	false},
    [SASL_SERVER_BAD_PASSWORD] = {"NO [AUTHENTICATIONFAILED] Invalid password.",
	false},
    /* the text is sasl_oauth's */
    [SASL_SERVER_BAD_OAUTH] = {TEXT_NO_AUTH, true},
};

/* Goes on after sasl_server_start() or _step() returned res (error: the
 * text of BAD_OAUTH). */
static enum proto_action
imap_client_sasl_result(
    struct imap_client *c, enum sasl_server_result res, const char *error)
{
	if (res == SASL_SERVER_CONTINUE)
		return PROTO_ACT_MORE;
	if (res == SASL_SERVER_DONE)
		return imap_client_login_ready(c, c->login_tag);
	c->state = IMAP_CLIENT_PREAUTH;
	if (res == SASL_SERVER_BAD_OAUTH)
		(void)buf_printf(&c->out,
		    "%s NO [AUTHENTICATIONFAILED] %s.\r\n", c->login_tag,
		    error != NULL ? error : "Invalid message");
	else
		imap_client_reply(
		    c, c->login_tag, imap_client_sasl_fail[res].text);
	c->login_tag[0] = '\0';
	return imap_client_sasl_fail[res].counts ? imap_client_count_bad(c)
						 : PROTO_ACT_MORE;
}

enum proto_action
imap_client_cmd_authenticate(struct imap_client *c)
{
	enum sasl_server_result res;
	enum sasl_mech mech;
	const char *error;

	if (c->ntokens < 1 || c->ntokens > 2 ||
	    c->tokens[0].type != IMAP_TOKEN_ATOM ||
	    (c->ntokens == 2 && c->tokens[1].type != IMAP_TOKEN_ATOM))
		return imap_client_bad(c, c->tag, TEXT_BAD_SYNTAX);
	if (sasl_mech_lookup(imap_client_token_str(c, 0), c->tokens[0].len,
		c->set.mechs, &mech) == -1) {
		imap_client_reply(c, c->tag,
		    "NO [ALERT] Unsupported authentication mechanism.");
		return PROTO_ACT_MORE;
	}
	(void)strlcpy(c->login_tag, c->tag, sizeof(c->login_tag));
	c->state = IMAP_CLIENT_AUTH;
	res = sasl_server_start(&c->sasl, mech, &c->creds,
	    c->ntokens == 2 ? imap_client_token_str(c, 1) : NULL,
	    c->ntokens == 2 ? c->tokens[1].len : 0, &c->out, &error);
	return imap_client_sasl_result(c, res, error);
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
		if (c->challenge != NULL) {
			/* as the backend did: the challenge, the client's
			 * response, then NO (imap_client_auth_error_line) */
			(void)buf_printf(&c->out, "+ %s\r\n", c->challenge);
			free(c->auth_reply);
			c->auth_reply = xasprintf("%s NO %s", c->login_tag,
			    text != NULL ? text
					 : "[AUTHENTICATIONFAILED] "
					   "Authentication failed.");
			c->state = IMAP_CLIENT_AUTH_ERROR;
			break;
		}
		(void)buf_printf(&c->out, "%s NO %s\r\n", c->login_tag,
		    text != NULL
			? text
			: "[AUTHENTICATIONFAILED] Authentication failed.");
		c->state = IMAP_CLIENT_PREAUTH;
		/* a rejected login is a bad command: guessing passwords on
		 * one connection ends at the limit */
		(void)imap_client_count_bad(c);
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
	free(c->challenge);
	c->challenge = NULL;
	free(text);
	free(caps);
}

enum proto_action
imap_client_sasl_line(struct imap_client *c, const char *line, size_t len)
{
	const char *error;

	enum sasl_server_result res;

	res = sasl_server_step(&c->sasl, &c->creds, line, len, &c->out, &error);
	return imap_client_sasl_result(c, res, error);
}

void
imap_client_login_challenge(struct imap_client *c, const char *b64)
{
	if (c->state == IMAP_CLIENT_LOGIN)
		sasl_oauth_challenge_keep(&c->challenge, &c->creds, b64);
}

enum proto_action
imap_client_auth_error_line(struct imap_client *c)
{
	/* whatever the client answered (the dummy response, "*"), the
	 * exchange failed at the backend */
	if (c->auth_reply != NULL)
		(void)buf_printf(&c->out, "%s\r\n", c->auth_reply);
	free(c->auth_reply);
	c->auth_reply = NULL;
	c->state = IMAP_CLIENT_PREAUTH;
	return imap_client_count_bad(c);
}

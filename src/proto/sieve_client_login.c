/*
 * sieve_client_login.c - AUTHENTICATE PLAIN|LOGIN|OAUTHBEARER|XOAUTH2 and
 * the login outcome, with the backend's OAuth error challenge relayed,
 * for the pre-login ManageSieve server (sieve_client.c has the reader and
 * the other commands).  Credentials live only in c->creds and are wiped
 * on every path that abandons them.  Nothing is logged.
 */
#include "compat.h"

#include <ctype.h>

#include "imap_parse.h"
#include "sieve_client_int.h"
#include "xmalloc.h"

/* How an exchange that ended without credentials is answered, by
 * sasl_server_step() result, and whether it counts as a bad command.  A
 * malformed PLAIN message is a failed authentication, as in Dovecot. */
static const struct {
	const char *text;
	bool counts;
} sieve_client_sasl_fail[] = {
    [SASL_SERVER_CANCELLED] = {"Authentication aborted by client.", false},
    [SASL_SERVER_BAD_BASE64] = {"Invalid base64 data in continued response.",
	true},
    [SASL_SERVER_BAD_PLAIN] = {"Authentication failed.", true},
    [SASL_SERVER_BAD_USER] = {"Invalid username.", true},
    [SASL_SERVER_BAD_PASSWORD] = {"Invalid password.", true},
    /* worded by sasl_oauth */
    [SASL_SERVER_BAD_OAUTH] = {"Authentication failed.", true},
};

/* Sends sasl.c's challenge ("+ <base64>" CRLF) as a ManageSieve string:
 * base64 needs no escaping. */
static void
sieve_client_challenge(struct sieve_client *c)
{
	const struct buf *ch = &c->challenge;
	size_t n = 0;

	if (ch->len >= 4 && memcmp(ch->data, "+ ", 2) == 0)
		n = ch->len - 4;
	(void)buf_append_str(&c->out, "\"");
	if (n > 0)
		(void)buf_append(&c->out, ch->data + 2, n);
	(void)buf_append_str(&c->out, "\"\r\n");
	buf_clear(&c->challenge);
}

/* Goes on after sasl_server_start() or _step() returned res (error: the
 * text of BAD_OAUTH). */
static enum proto_action
sieve_client_sasl_result(
    struct sieve_client *c, enum sasl_server_result res, const char *error)
{
	const char *text;

	switch (res) {
	case SASL_SERVER_CONTINUE:
		sieve_client_challenge(c);
		return PROTO_ACT_MORE;
	case SASL_SERVER_DONE:
		buf_clear(&c->challenge);
		c->state = SIEVE_CLIENT_LOGIN;
		return PROTO_ACT_LOGIN;
	default:
		text = sieve_client_sasl_fail[res].text;
		if (res == SASL_SERVER_BAD_OAUTH && error != NULL)
			text = error;
		sieve_client_auth_end(c);
		if (sieve_client_sasl_fail[res].counts)
			return sieve_client_bad(c, text);
		sieve_client_reply(c, "NO", NULL, text);
		return PROTO_ACT_MORE;
	}
}

static bool
sieve_client_args_are_strings(const struct sieve_client *c)
{
	unsigned int i;

	for (i = 0; i < c->ntokens; i++) {
		if (c->tokens[i].type != SIEVE_TOKEN_STRING)
			return false;
	}
	return true;
}

enum proto_action
sieve_client_cmd_authenticate(struct sieve_client *c)
{
	enum sasl_server_result res;
	enum sasl_mech mech;
	const char *error;
	bool ir = c->ntokens == 2;

	if (c->ntokens == 0 || !sieve_client_args_are_strings(c))
		return sieve_client_bad(c, TEXT_BAD);
	if (sasl_mech_lookup(sieve_client_token(c, 0), c->tokens[0].len,
		c->set.mechs, &mech) == -1)
		return sieve_client_bad(
		    c, "Unsupported authentication mechanism.");
	c->state = SIEVE_CLIENT_AUTH;
	res = sasl_server_start(&c->sasl, mech, &c->creds,
	    ir ? sieve_client_token(c, 1) : NULL, ir ? c->tokens[1].len : 0,
	    &c->challenge, &error);
	return sieve_client_sasl_result(c, res, error);
}

/* A client response inside AUTHENTICATE: exactly one string. */
enum proto_action
sieve_client_response(struct sieve_client *c)
{
	enum sasl_server_result res;
	const char *error;

	if (c->state == SIEVE_CLIENT_AUTH_ERROR)
		return sieve_client_auth_error_end(c);
	if (c->ntokens == 0 || !sieve_client_args_are_strings(c)) {
		sieve_client_auth_end(c);
		return sieve_client_bad(c, TEXT_BAD_RESPONSE);
	}
	res = sasl_server_step(&c->sasl, &c->creds, sieve_client_token(c, 0),
	    c->tokens[0].len, &c->challenge, &error);
	return sieve_client_sasl_result(c, res, error);
}

enum proto_action
sieve_client_auth_error_end(struct sieve_client *c)
{
	/* whatever the client answered (the dummy response, "*"), the
	 * exchange failed at the backend */
	sieve_client_reply(c, "NO", c->auth_code,
	    c->auth_text != NULL ? c->auth_text : "Authentication failed.");
	free(c->auth_code);
	free(c->auth_text);
	c->auth_code = NULL;
	c->auth_text = NULL;
	c->state = SIEVE_CLIENT_PREAUTH;
	return sieve_client_count_bad(c);
}

void
sieve_client_login_challenge(struct sieve_client *c, const char *b64)
{
	if (c->state == SIEVE_CLIENT_LOGIN)
		sasl_oauth_challenge_keep(&c->oauth_challenge, &c->creds, b64);
}

const struct proto_creds *
sieve_client_creds(const struct sieve_client *c)
{
	return c->state == SIEVE_CLIENT_LOGIN ? &c->creds : NULL;
}

/* The length of a well-formed response code "(NAME[/SUB...][ detail])"
 * at the start of s, followed by a space or the end; 0 if there is none.
 * The detail is an atom or a quoted string of printable US-ASCII. */
static size_t
sieve_client_code_len(const char *s)
{
	size_t i = 1, start, qlen, vlen;

	if (s[0] != '(')
		return 0;
	while (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '/')
		i++;
	if (i == 1)
		return 0;
	if (s[i] == ' ' && s[i + 1] == '"') {
		start = i + 1;
		qlen = sieve_quoted_len(s + start, strlen(s + start), &vlen);
		if (qlen == 0 || !imap_is_quotable(s + start, qlen))
			return 0;
		i = start + qlen;
	} else if (s[i] == ' ') {
		start = ++i;
		while ((unsigned char)s[i] > ' ' &&
		    (unsigned char)s[i] < 0x7f && strchr("()\"", s[i]) == NULL)
			i++;
		if (i == start)
			return 0;
	}
	if (s[i] != ')' || (s[i + 1] != '\0' && s[i + 1] != ' ') ||
	    i - 1 > SIEVE_CODE_MAX)
		return 0;
	return i + 1;
}

void
sieve_client_login_result(struct sieve_client *c,
    enum proto_login_status status, const char *backend_text)
{
	char code[SIEVE_CODE_MAX + 1], *text = NULL;
	const char *rest = backend_text != NULL ? backend_text : "";
	const char *codep = NULL;
	size_t clen;

	if (c->state != SIEVE_CLIENT_LOGIN)
		return;
	clen = sieve_client_code_len(rest);
	if (clen > 0) {
		memcpy(code, rest + 1, clen - 2);
		code[clen - 2] = '\0';
		codep = code;
		rest += clen;
		while (*rest == ' ')
			rest++;
	}
	if (rest[0] != '\0')
		text = imap_text_dup_oneline(
		    rest, strlen(rest), SIEVE_CLIENT_TEXT_MAX);
	switch (status) {
	case PROTO_LOGIN_OK:
		sieve_client_reply(
		    c, "OK", codep, text != NULL ? text : "Logged in.");
		c->state = SIEVE_CLIENT_DONE;
		break;
	case PROTO_LOGIN_REJECTED:
		if (c->oauth_challenge != NULL) {
			/* as the backend did: the challenge (a string, a
			 * literal past RFC 5804's 1024 quoted octets), the
			 * client's response, then NO */
			if (strlen(c->oauth_challenge) <= SIEVE_QUOTED_MAX)
				(void)buf_printf(
				    &c->out, "\"%s\"\r\n", c->oauth_challenge);
			else
				(void)buf_printf(&c->out, "{%zu}\r\n%s\r\n",
				    strlen(c->oauth_challenge),
				    c->oauth_challenge);
			free(c->auth_code);
			free(c->auth_text);
			c->auth_code = codep != NULL ? xstrdup(codep) : NULL;
			c->auth_text = text;
			text = NULL;
			c->state = SIEVE_CLIENT_AUTH_ERROR;
			break;
		}
		sieve_client_reply(c, "NO", codep,
		    text != NULL ? text : "Authentication failed.");
		c->state = SIEVE_CLIENT_PREAUTH;
		/* a rejected login is a bad command: guessing passwords on
		 * one connection ends at the limit */
		(void)sieve_client_count_bad(c);
		break;
	case PROTO_LOGIN_TEMPFAIL:
	default:
		sieve_client_reply(c, "NO", "TRYLATER",
		    text != NULL ? text
				 : "Account is temporarily unavailable.");
		c->state = SIEVE_CLIENT_PREAUTH;
		break;
	}
	proto_creds_clear(&c->creds);
	free(c->oauth_challenge);
	c->oauth_challenge = NULL;
	free(text);
}

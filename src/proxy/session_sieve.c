/*
 * session_sieve.c - the ManageSieve entry of the session protocol table:
 * thin casts around sieve_client and sieve_backend.  The backend's
 * rejection reaches the client with its response code ("(TRYLATER)
 * text", the form sieve_client_login_result() takes).
 */
#include "compat.h"

#include <stdio.h>

#include "session_proto.h"
#include "sieve_backend.h"
#include "sieve_client.h"

/* The backend's reply for the client: "(CODE) text", or the text. */
#define SIEVE_S_REPLY_MAX 1100

static void *
sieve_s_client_new(const struct session_client_settings *set)
{
	struct sieve_client_settings cs = {
	    .starttls = set->starttls,
	    .secured = set->secured,
	    .allow_plaintext_auth = set->allow_plaintext_auth,
	    .mechs = set->mechs,
	};

	return sieve_client_new(&cs);
}

static void
sieve_s_client_free(void **client)
{
	struct sieve_client *c = *client;

	*client = NULL;
	sieve_client_free(&c);
}

static struct buf *
sieve_s_client_output(void *client)
{
	return sieve_client_output(client);
}

static void
sieve_s_client_greeting(void *client)
{
	sieve_client_greeting(client);
}

static size_t
sieve_s_client_input(
    void *client, const void *data, size_t len, enum proto_action *act_r)
{
	return sieve_client_input(client, data, len, act_r);
}

static void
sieve_s_client_tls_started(void *client)
{
	sieve_client_tls_started(client);
}

static const struct proto_creds *
sieve_s_client_creds(const void *client)
{
	return sieve_client_creds(client);
}

static void
sieve_s_client_login_result(void *client, enum proto_login_status status,
    const char *text, const char *caps)
{
	(void)caps;
	sieve_client_login_result(client, status, text);
}

static void
sieve_s_client_relay_challenge(void *client, const void *backend)
{
	const char *b64 = sieve_backend_challenge(backend);

	if (b64 != NULL)
		sieve_client_login_challenge(client, b64);
}

static bool
sieve_s_client_proxy_ttl(const void *client, unsigned int *ttl_r)
{
	(void)client;
	(void)ttl_r;
	return false; /* no way for a ManageSieve client to send one */
}

static void *
sieve_s_backend_new(const void *client, const struct proto_creds *creds,
    const struct proto_client_info *info, bool starttls)
{
	struct sieve_backend_settings set = {.starttls = starttls};

	(void)client;
	return sieve_backend_new(creds, info, &set);
}

static void
sieve_s_backend_free(void **backend)
{
	struct sieve_backend *b = *backend;

	*backend = NULL;
	sieve_backend_free(&b);
}

static struct buf *
sieve_s_backend_output(void *backend)
{
	return sieve_backend_output(backend);
}

static size_t
sieve_s_backend_input(
    void *backend, const void *data, size_t len, enum proto_action *act_r)
{
	return sieve_backend_input(backend, data, len, act_r);
}

static void
sieve_s_backend_tls_started(void *backend)
{
	sieve_backend_tls_started(backend);
}

static const char *
sieve_s_backend_reply_text(const void *backend)
{
	static char reply[SIEVE_S_REPLY_MAX];
	const char *code = sieve_backend_resp_code(backend);

	if (code[0] == '\0')
		return sieve_backend_reply_text(backend);
	snprintf(reply, sizeof(reply), "(%s) %s", code,
	    sieve_backend_reply_text(backend));
	return reply;
}

static const char *
sieve_s_backend_error(const void *backend)
{
	return sieve_backend_error(backend);
}

static uint16_t
sieve_s_backend_port(const struct conf_backend *backend)
{
	return backend->sieve_port;
}

const struct session_proto session_proto_sieve = {
    .name = "sieve",
    .line_too_many = "BYE (TRYLATER) \"Too many connections, try again "
		     "later.\"\r\n",
    .line_timeout = "BYE \"Disconnected for inactivity during "
		    "authentication.\"\r\n",
    .line_shutdown = "BYE (TRYLATER) \"Server shutting down.\"\r\n",
    .client_new = sieve_s_client_new,
    .client_free = sieve_s_client_free,
    .client_output = sieve_s_client_output,
    .client_greeting = sieve_s_client_greeting,
    .client_input = sieve_s_client_input,
    .client_tls_started = sieve_s_client_tls_started,
    .client_creds = sieve_s_client_creds,
    .client_login_result = sieve_s_client_login_result,
    .client_relay_challenge = sieve_s_client_relay_challenge,
    .client_proxy_ttl = sieve_s_client_proxy_ttl,
    .backend_new = sieve_s_backend_new,
    .backend_free = sieve_s_backend_free,
    .backend_output = sieve_s_backend_output,
    .backend_input = sieve_s_backend_input,
    .backend_tls_started = sieve_s_backend_tls_started,
    .backend_reply_text = sieve_s_backend_reply_text,
    .backend_caps = NULL,
    .backend_error = sieve_s_backend_error,
    .backend_port = sieve_s_backend_port,
};

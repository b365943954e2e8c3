/*
 * session_pop3.c - the POP3 entry of the session protocol table: thin
 * casts around pop3_client and pop3_backend.
 */
#include "compat.h"

#include "pop3_backend.h"
#include "pop3_client.h"
#include "session_proto.h"

static void *
pop3_s_client_new(const struct session_client_settings *set)
{
	struct pop3_client_settings cs = {
	    .starttls = set->starttls,
	    .secured = set->secured,
	    .allow_plaintext_auth = set->allow_plaintext_auth,
	    .mechs = set->mechs,
	};

	return pop3_client_new(&cs);
}

static void
pop3_s_client_free(void **client)
{
	struct pop3_client *c = *client;

	*client = NULL;
	pop3_client_free(&c);
}

static struct buf *
pop3_s_client_output(void *client)
{
	return pop3_client_output(client);
}

static void
pop3_s_client_greeting(void *client)
{
	pop3_client_greeting(client);
}

static size_t
pop3_s_client_input(
    void *client, const void *data, size_t len, enum proto_action *act_r)
{
	return pop3_client_input(client, data, len, act_r);
}

static void
pop3_s_client_tls_started(void *client)
{
	pop3_client_tls_started(client);
}

static const struct proto_creds *
pop3_s_client_creds(const void *client)
{
	return pop3_client_creds(client);
}

static void
pop3_s_client_login_result(void *client, enum proto_login_status status,
    const char *text, const char *caps)
{
	(void)caps;
	pop3_client_login_result(client, status, text);
}

static void
pop3_s_client_relay_challenge(void *client, const void *backend)
{
	const char *b64 = pop3_backend_challenge(backend);

	if (b64 != NULL)
		pop3_client_login_challenge(client, b64);
}

static bool
pop3_s_client_proxy_ttl(const void *client, unsigned int *ttl_r)
{
	(void)client;
	(void)ttl_r;
	return false; /* POP3 clients have no way to send one */
}

static void *
pop3_s_backend_new(const void *client, const struct proto_creds *creds,
    const struct proto_client_info *info, bool starttls)
{
	struct pop3_backend_settings set = {.starttls = starttls};

	(void)client;
	return pop3_backend_new(creds, info, &set);
}

static void
pop3_s_backend_free(void **backend)
{
	struct pop3_backend *b = *backend;

	*backend = NULL;
	pop3_backend_free(&b);
}

static struct buf *
pop3_s_backend_output(void *backend)
{
	return pop3_backend_output(backend);
}

static size_t
pop3_s_backend_input(
    void *backend, const void *data, size_t len, enum proto_action *act_r)
{
	return pop3_backend_input(backend, data, len, act_r);
}

static void
pop3_s_backend_tls_started(void *backend)
{
	pop3_backend_tls_started(backend);
}

static const char *
pop3_s_backend_reply_text(const void *backend)
{
	return pop3_backend_reply_text(backend);
}

static const char *
pop3_s_backend_error(const void *backend)
{
	return pop3_backend_error(backend);
}

static uint16_t
pop3_s_backend_port(const struct conf_backend *backend)
{
	return backend->pop3_port;
}

const struct session_proto session_proto_pop3 = {
    .name = "pop3",
    .line_too_many = "-ERR [SYS/TEMP] Too many connections, "
		     "try again later.\r\n",
    .line_timeout = "-ERR Disconnected for inactivity during "
		    "authentication.\r\n",
    .line_shutdown = "-ERR [SYS/TEMP] Server shutting down.\r\n",
    .client_new = pop3_s_client_new,
    .client_free = pop3_s_client_free,
    .client_output = pop3_s_client_output,
    .client_greeting = pop3_s_client_greeting,
    .client_input = pop3_s_client_input,
    .client_tls_started = pop3_s_client_tls_started,
    .client_creds = pop3_s_client_creds,
    .client_login_result = pop3_s_client_login_result,
    .client_relay_challenge = pop3_s_client_relay_challenge,
    .client_proxy_ttl = pop3_s_client_proxy_ttl,
    .backend_new = pop3_s_backend_new,
    .backend_free = pop3_s_backend_free,
    .backend_output = pop3_s_backend_output,
    .backend_input = pop3_s_backend_input,
    .backend_tls_started = pop3_s_backend_tls_started,
    .backend_reply_text = pop3_s_backend_reply_text,
    .backend_caps = NULL,
    .backend_error = pop3_s_backend_error,
    .backend_port = pop3_s_backend_port,
};

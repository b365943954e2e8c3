/*
 * session_imap.c - the IMAP entry of the session protocol table: thin
 * casts around imap_client and imap_backend.
 */
#include "compat.h"

#include "imap_backend.h"
#include "imap_client.h"
#include "session_proto.h"

static void *
imap_s_client_new(const struct session_client_settings *set)
{
	struct imap_client_settings cs = {
	    .starttls = set->starttls,
	    .secured = set->secured,
	    .allow_plaintext_auth = set->allow_plaintext_auth,
	    .mechs = set->mechs,
	};

	return imap_client_new(&cs);
}

static void
imap_s_client_free(void **client)
{
	struct imap_client *c = *client;

	*client = NULL;
	imap_client_free(&c);
}

static struct buf *
imap_s_client_output(void *client)
{
	return imap_client_output(client);
}

static void
imap_s_client_greeting(void *client)
{
	imap_client_greeting(client);
}

static size_t
imap_s_client_input(
    void *client, const void *data, size_t len, enum proto_action *act_r)
{
	return imap_client_input(client, data, len, act_r);
}

static void
imap_s_client_tls_started(void *client)
{
	imap_client_tls_started(client);
}

static const struct proto_creds *
imap_s_client_creds(const void *client)
{
	return imap_client_creds(client);
}

static void
imap_s_client_login_result(void *client, enum proto_login_status status,
    const char *text, const char *caps)
{
	imap_client_login_result(client, status, text, caps);
}

static void
imap_s_client_relay_challenge(void *client, const void *backend)
{
	const char *b64 = imap_backend_challenge(backend);

	if (b64 != NULL)
		imap_client_login_challenge(client, b64);
}

static bool
imap_s_client_proxy_ttl(const void *client, unsigned int *ttl_r)
{
	return imap_client_proxy_ttl(client, ttl_r);
}

static void *
imap_s_backend_new(const void *client, const struct proto_creds *creds,
    const struct proto_client_info *info, bool starttls)
{
	struct imap_backend_settings set = {.starttls = starttls};
	const struct imap_id_field *fields;
	size_t count;

	fields = imap_client_id_fields(client, &count);
	return imap_backend_new(creds, info, fields, count, &set);
}

static void
imap_s_backend_free(void **backend)
{
	struct imap_backend *b = *backend;

	*backend = NULL;
	imap_backend_free(&b);
}

static struct buf *
imap_s_backend_output(void *backend)
{
	return imap_backend_output(backend);
}

static size_t
imap_s_backend_input(
    void *backend, const void *data, size_t len, enum proto_action *act_r)
{
	return imap_backend_input(backend, data, len, act_r);
}

static void
imap_s_backend_tls_started(void *backend)
{
	imap_backend_tls_started(backend);
}

static const char *
imap_s_backend_reply_text(const void *backend)
{
	return imap_backend_reply_text(backend);
}

static const char *
imap_s_backend_caps(const void *backend)
{
	return imap_backend_caps(backend);
}

static const char *
imap_s_backend_error(const void *backend)
{
	return imap_backend_error(backend);
}

static uint16_t
imap_s_backend_port(const struct conf_backend *backend)
{
	return backend->imap_port;
}

const struct session_proto session_proto_imap = {
    .name = "imap",
    .line_too_many = "* BYE [UNAVAILABLE] Too many connections, "
		     "try again later.\r\n",
    .line_timeout = "* BYE Disconnected for inactivity during "
		    "authentication.\r\n",
    .line_shutdown = "* BYE Server shutting down.\r\n",
    .client_new = imap_s_client_new,
    .client_free = imap_s_client_free,
    .client_output = imap_s_client_output,
    .client_greeting = imap_s_client_greeting,
    .client_input = imap_s_client_input,
    .client_tls_started = imap_s_client_tls_started,
    .client_creds = imap_s_client_creds,
    .client_login_result = imap_s_client_login_result,
    .client_relay_challenge = imap_s_client_relay_challenge,
    .client_proxy_ttl = imap_s_client_proxy_ttl,
    .backend_new = imap_s_backend_new,
    .backend_free = imap_s_backend_free,
    .backend_output = imap_s_backend_output,
    .backend_input = imap_s_backend_input,
    .backend_tls_started = imap_s_backend_tls_started,
    .backend_reply_text = imap_s_backend_reply_text,
    .backend_caps = imap_s_backend_caps,
    .backend_error = imap_s_backend_error,
    .backend_port = imap_s_backend_port,
};

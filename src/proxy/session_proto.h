/*
 * session_proto.h - what the session shell needs from a mail protocol.
 *
 * One table of function pointers per protocol (nginx's ngx_mail_protocol
 * idea): session.c never looks at protocol names.  Each entry adapts the
 * pure client-side and backend-side modules of src/proto/ (which keep
 * their typed APIs) to void pointers, and supplies the protocol's fixed
 * lines for conditions the shell detects itself (limits, timeouts,
 * shutdown).
 */
#ifndef DIRECTOR_SESSION_PROTO_H
#define DIRECTOR_SESSION_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "proto.h"

struct buf;

/* How the client side is set up for one connection. */
struct session_client_settings {
	bool starttls; /* offer STARTTLS/STLS */
	bool secured; /* TLS is active (implicit TLS) */
	bool allow_plaintext_auth;
	unsigned int mechs; /* SASL mechanisms offered (sasl.h bits) */
};

struct session_proto {
	const char *name; /* for logs: "imap", "pop3" */
	/* Complete lines, CRLF included, the shell writes itself. */
	const char *line_too_many; /* connection limit hit */
	const char *line_timeout; /* login_timeout expired */
	const char *line_shutdown; /* director stopping */

	void *(*client_new)(const struct session_client_settings *set);
	void (*client_free)(void **client);
	struct buf *(*client_output)(void *client);
	void (*client_greeting)(void *client);
	size_t (*client_input)(void *client, const void *data, size_t len,
	    enum proto_action *act_r);
	void (*client_tls_started)(void *client);
	const struct proto_creds *(*client_creds)(const void *client);
	void (*client_login_result)(void *client,
	    enum proto_login_status status, const char *text, const char *caps);
	/* Before client_login_result(REJECTED): hands the backend's OAuth
	 * error challenge, if it sent one, to the client side. */
	void (*client_relay_challenge)(void *client, const void *backend);
	/* The TTL a proxying client asked for, if any. */
	bool (*client_proxy_ttl)(const void *client, unsigned int *ttl_r);

	/* NULL when the login cannot be attempted (TTL exhausted). */
	void *(*backend_new)(const void *client,
	    const struct proto_creds *creds,
	    const struct proto_client_info *info, bool starttls);
	void (*backend_free)(void **backend);
	struct buf *(*backend_output)(void *backend);
	size_t (*backend_input)(void *backend, const void *data, size_t len,
	    enum proto_action *act_r);
	void (*backend_tls_started)(void *backend);
	const char *(*backend_reply_text)(const void *backend);
	const char *(*backend_caps)(const void *backend); /* may be NULL */
	const char *(*backend_error)(const void *backend);
	/* The backend port from the backend { } block. */
	uint16_t (*backend_port)(const struct conf_backend *backend);
};

extern const struct session_proto session_proto_imap;
extern const struct session_proto session_proto_pop3;
extern const struct session_proto session_proto_sieve;

#endif

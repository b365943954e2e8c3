/*
 * proto.h - the contract between the pure pre-auth protocol modules
 * (imap_client, imap_backend, pop3_client, pop3_backend, later sieve) and
 * the I/O shell that drives them.
 *
 * A client-side module is the server the client talks to until login.  The
 * shell feeds it the bytes the client sent and performs the action it
 * returns; the module never touches a socket.  Replies accumulate in the
 * module's output buffer (struct buf), which the shell writes out and
 * consumes.  A backend-side module is the mirror image: it logs in to the
 * backend with the client's credentials and reports the outcome.
 *
 * Input contract (both sides): xxx_input(m, data, len, &act) consumes a
 * prefix of data and returns how many bytes it consumed.  It stops right
 * after the command (or reply line) that produced an action other than
 * PROTO_ACT_MORE; the shell performs the action and feeds the unconsumed
 * rest afterwards (or, for LOGIN, keeps it to forward to the backend
 * once logged in: pipelined client bytes).  Feeding the same bytes whole
 * or one at a time gives the same actions and output.
 */
#ifndef DIRECTOR_PROTO_H
#define DIRECTOR_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the shell must do after an input call. */
enum proto_action {
	/* Write out pending output (if any) and feed more input. */
	PROTO_ACT_MORE,
	/* Client side: flush output, throw away every byte received after
	 * the STARTTLS/STLS command (never execute it), start TLS, then call
	 * xxx_tls_started().  Backend side: start TLS towards the backend,
	 * then call xxx_tls_started(). */
	PROTO_ACT_STARTTLS,
	/* Client side: credentials are complete (xxx_creds()); route the
	 * user, connect to the backend and run the backend-side module.  No
	 * more client input is parsed until the shell reports the outcome
	 * with xxx_login_result(). */
	PROTO_ACT_LOGIN,
	/* Backend side: the backend accepted the login.  The shell sends
	 * the client the reply the client-side module builds, then copies
	 * bytes both ways. */
	PROTO_ACT_LOGGED_IN,
	/* Backend side: the backend rejected the credentials; the text for
	 * the client comes from xxx_backend_reply_text().  The backend
	 * connection is closed, the client may try again. */
	PROTO_ACT_LOGIN_FAILED,
	/* Flush output, then close the connection. */
	PROTO_ACT_CLOSE,
};

/* How the client authenticated; the backend-side module replays the
 * same kind of login. */
enum proto_auth_kind {
	PROTO_AUTH_LOGIN, /* IMAP LOGIN, POP3 USER+PASS */
	PROTO_AUTH_SASL_PLAIN,
	PROTO_AUTH_SASL_LOGIN,
	/* OAuth 2.0: authcid is the user the message names, password
	 * the client's decoded SASL message, replayed unchanged */
	PROTO_AUTH_SASL_OAUTHBEARER,
	PROTO_AUTH_SASL_XOAUTH2,
};

/* Whether kind is an OAuth login (the backend checks a token). */
bool proto_auth_is_oauth(enum proto_auth_kind kind);

/* Credentials taken from the client.  Owned by the client-side module
 * until the module is freed; secrets are wiped on free.  For SASL PLAIN
 * with an authorization identity (master-user login), authzid is the user
 * to route and authcid the login name; otherwise authzid is "".  */
struct proto_creds {
	enum proto_auth_kind kind;
	char *authzid;
	char *authcid;
	char *password;
	size_t password_len;
};

/* The name routing uses: authzid if not empty, else authcid.  The master
 * user separator is applied by the routing core, not here. */
const char *proto_creds_user(const struct proto_creds *creds);

/* Whether the len bytes of word are name, ignoring ASCII case (verbs,
 * capability names). */
bool proto_word_is(const char *word, size_t len, const char *name);
/* The next space-separated word of [*pp, end) (spaces before it are
 * skipped): returns its start with its length in *len_r and moves *pp
 * past it, or returns NULL when only spaces are left. */
const char *proto_next_word(const char **pp, const char *end, size_t *len_r);

/* Who the client is, for the backend (IMAP ID x-* fields, XCLIENT). */
struct proto_client_info {
	char client_ip[46]; /* the real client (after PROXY protocol) */
	uint16_t client_port;
	char local_ip[46]; /* where the client connected to us */
	uint16_t local_port;
	char session_id[32];
	unsigned int ttl; /* proxy TTL to send (ours minus one) */
	/* the backend connection began with a PROXY v2 header that carries
	 * the addresses: no ID or XCLIENT forwarding */
	bool proxy_header;
};

/* Outcome of a backend login, as the client must see it. */
enum proto_login_status {
	PROTO_LOGIN_OK,
	/* The backend said no (wrong password, unknown user, ...): the text
	 * (with its response code) is relayed to the client. */
	PROTO_LOGIN_REJECTED,
	/* The backend could not be reached, timed out or misbehaved: the
	 * client gets a temporary failure ([UNAVAILABLE], [SYS/TEMP]). */
	PROTO_LOGIN_TEMPFAIL,
};

#endif

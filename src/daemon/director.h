/*
 * director.h - the routing state of a running directord: the backend
 * list and user directory (the routing core), the username hash
 * template, the registry of live sessions, connection counts and the TLS
 * contexts, plus the timers that expire idle users and keep the users
 * of live sessions assigned.
 *
 * Owned by the daemon; sessions borrow it.  Invariant: a user with a
 * live proxied session keeps its assignment (refreshed while it lives and
 * once more when it ends), so it expires director_user_expire after its
 * last session closed, never while connected.
 */
#ifndef DIRECTOR_DIRECTOR_H
#define DIRECTOR_DIRECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "ipaddr.h"

struct admin;
struct connlimit;
struct event;
struct event_base;
struct host;
struct hosts;
struct lmtp_conn;
struct move;
struct registry;
struct session;
struct ssl_ctx_st;
struct userhash_template;

#define DIRECTOR_HOSTNAME_MAX 255
/* The proxy TTL we start with (Dovecot's default proxy_max_ttl). */
#define DIRECTOR_PROXY_TTL 5

struct director {
	const struct conf *conf; /* the daemon's current configuration */
	struct event_base *base;
	struct hosts *hosts;
	struct userhash_template *userhash;
	struct registry *registry;
	struct connlimit *connlimit;
	struct ssl_ctx_st *tls_server; /* NULL without ssl_cert */
	struct ssl_ctx_st *tls_client; /* NULL with backend tls = no */
	struct event *tick; /* once a second: expiry and refresh */
	uint32_t last_refresh;
	struct session *sessions; /* every open session (session.c) */
	struct lmtp_conn *lmtp_conns; /* LMTP connections (lmtp_proxy.c) */
	struct move *moves; /* moves in progress (moves.c) */
	struct admin *admin; /* the admin socket (admin.c), or NULL */
	char *state_path; /* the backend state file (hoststate.h) */
	unsigned int connections; /* open client connections */
	uint64_t session_seq;
	bool shutting_down;
	char hostname[DIRECTOR_HOSTNAME_MAX + 1];
};

/*
 * Builds the routing state from conf: the backends of
 * director_mail_servers (up, 100 vhosts each), the hash template and the
 * TLS contexts (this reads key files: call it before dropping
 * privileges).  Returns NULL with a malloc'ed *error_r.
 */
struct director *director_new(const struct conf *conf, char **error_r);
/* Starts the timers on base.  Returns 0 or -1 (logged). */
int director_start(struct director *d, struct event_base *base);
/*
 * Applies a reloaded configuration (already validated): backends added
 * to director_mail_servers are added, those removed from it are removed
 * (with their users), tag changes are applied; backends added at runtime
 * are kept.  TLS files are not re-read (that needs a restart).  d->conf
 * becomes conf.
 */
void director_reload(struct director *d, const struct conf *conf);
/* Kicks every live session (shutdown). */
void director_shutdown(struct director *d);
void director_free(struct director **d);

/*
 * The backend list changed at runtime (an admin command): saves it to the
 * state file, atomically, so a restart keeps it.  Failures are logged.
 */
void director_hosts_changed(struct director *d);
/*
 * Applies the state file, if there is one, over the configured backends
 * (director_new() does it).  A missing file is fine; an unreadable or
 * corrupt one is logged and ignored.
 */
void director_load_state(struct director *d);

/* The routing clock: wall-clock seconds. */
uint32_t director_now(void);

/*
 * Computes the user hash of username (after the master-user separator is
 * applied).  Returns 0, or -1 with a static *error_r.
 */
int director_user_hash(const struct director *d, const char *username,
    uint32_t *hash_r, const char **error_r);

/*
 * Routes a user hash in tag: its live assignment, or a newly selected
 * backend.  Returns NULL when tag has no usable backend.
 */
struct host *director_route(
    struct director *d, const char *tag, uint32_t user_hash);

/* Refreshes the assignment of a user whose session on backend ended or
 * still lives. */
void director_refresh_user(struct director *d, uint32_t user_hash,
    const char *tag, const struct ipaddr *backend);

/* Writes a fresh session id (base64url text, NUL-terminated) to buf. */
void director_session_id(struct director *d, char *buf, size_t size);

#endif

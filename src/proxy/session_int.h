/*
 * session_int.h - what session.c and session_backend.c share: the
 * session object and the helpers both halves use.  Not for use outside
 * the session module.
 */
#ifndef DIRECTOR_SESSION_INT_H
#define DIRECTOR_SESSION_INT_H

#include <sys/queue.h>
#include <sys/time.h>

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "ipaddr.h"
#include "log.h"
#include "proto.h"
#include "router.h"
#include "session.h"
#include "session_proto.h"

/* Pre-login input the shell buffers: more than any bounded command. */
#define SESSION_PRELOGIN_INPUT_MAX (64 * 1024)
/* Client output above which pre-login parsing waits for the client. */
#define SESSION_PRELOGIN_OUTPUT_MAX (64 * 1024)
/* How long a last reply may take to reach a closing client. */
#define SESSION_CLOSE_FLUSH_SECS 5
#define SESSION_ID_MAX 24
#define SESSION_USER_LOG_MAX 128
#define SESSION_TAG "" /* listeners carry no tag yet */

enum session_state {
	SESSION_PROXY_HEADER,
	SESSION_PRELOGIN,
	SESSION_MOVE_WAIT, /* login waits for the user's move to end */
	SESSION_BACKEND,
	SESSION_PROXYING,
	SESSION_CLOSING,
	SESSION_PENALTY, /* a rejected login's reply waits (penalty.h) */
};

struct session {
	LIST_ENTRY(session) link; /* d->sessions */
	struct proxy_env *d;
	const struct session_proto *proto;
	enum session_state state;
	enum conf_tls tls_mode;
	bool tls_active;
	bool ip_counted;
	bool output_paused;
	/* the login's backend connection failed (for the metrics) */
	bool backend_unreachable;

	struct event *penalty_ev; /* ends SESSION_PENALTY */
	char *penalty_text; /* the backend's rejection, for the reply */

	int fd; /* until the client bufferevent owns it */
	struct event *header_ev;
	uint8_t *header; /* PROXY header bytes consumed so far */
	size_t header_len;

	struct bufferevent *client;
	struct bufferevent *backend;
	void *pc; /* protocol client module */
	void *pb; /* protocol backend module */
	struct event *timer; /* login timeout, then close flush */
	struct splice *splice;
	struct router_client rc; /* routed and registered in one step */

	struct proto_client_info info;
	struct ipaddr client_ip;
	struct timeval started, login_started, proxied_at;

	uint32_t user_hash;
	char user[SESSION_USER_LOG_MAX]; /* sanitised, for logs */
	struct ipaddr backend_ip;
	uint16_t backend_port;
	char backend_str[IPADDR_STR_MAX + 8];
};

/* session.c */
void session_log(const struct session *s, enum log_level level, const char *fmt,
    ...) ATTR_PRINTF(3, 4);
uint64_t session_ms_since(const struct timeval *tv);
void session_timeval_ms(struct timeval *tv, uint64_t ms);
/* Moves what the client module wrote into the client's socket buffer. */
void session_client_flush(struct session *s);
void session_backend_flush(struct session *s);
/* Frees the backend side and ends the session's route. */
void session_drop_backend(struct session *s);
/* Runs the client module over what the client sent (pre-login). */
void session_client_process(struct session *s);
void session_free(struct session *s);

/* session_backend.c */
extern const struct router_client_ops session_router_ops;
/* The client module has credentials: hash the user, route, log in. */
void session_login(struct session *s);
/* The login failed for a reason of ours: tempfail to the client, back
 * to pre-login. */
void session_login_tempfail(struct session *s, const char *why);
/* The same answer without going on with the client's input (the caller
 * closes the session next). */
void session_login_tempfail_reply(struct session *s, const char *why);
/* Counts the login's outcome (stats.h), on its backend if it has one. */
void session_count_login(struct session *s, enum stats_result result);

#endif

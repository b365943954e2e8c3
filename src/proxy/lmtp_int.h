/*
 * lmtp_int.h - what the LMTP proxy's files share (lmtp_client.c: the
 * client connection; lmtp_proxy.c: what the client says and its
 * transactions; lmtp_link.c: the backend connections and the recipients
 * routed to them; lmtp_spool.c: the message bodies and their global
 * budget).  Not for use outside the LMTP proxy.
 *
 * Ownership: a struct lmtp_conn owns its recipients (rcpts[], each with
 * its own struct lmtp_route while the engine knows it) and its links.
 */
#ifndef DIRECTOR_LMTP_INT_H
#define DIRECTOR_LMTP_INT_H

#include <sys/queue.h>
#include <sys/time.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "ipaddr.h"
#include "lmtp_backend.h"
#include "log.h"
#include "proto.h"
#include "router.h"

struct bufferevent;
struct conf;
struct evbuffer;
struct event;
struct lmtp_server;

#define LMTP_TAG "" /* listeners carry no tag yet */
#define LMTP_CLIENT_IDLE_MS (5 * 60 * 1000)
#define LMTP_LOG_RCPTS_MAX 2048 /* bytes of recipients in a log line */
/* One read of the client, and the most of its input kept unparsed. */
#define LMTP_READ_CHUNK 65536

enum lmtp_rcpt_state {
	LMTP_RCPT_ROUTING, /* waiting for its backend's RCPT reply */
	LMTP_RCPT_ACCEPTED,
	LMTP_RCPT_REFUSED,
};

struct lmtp_rcpt {
	char *addr;
	uint32_t hash;
	/* routed and registered in one step, from its RCPT until its
	 * delivery is over, so a move or kick of its user aborts a delivery
	 * to the old backend at any point (451: the MTA retries) */
	struct lmtp_route *route;
	struct lmtp_link *link; /* NULL if never routed */
	enum lmtp_rcpt_state state;
	bool answered; /* its DATA reply was given */
	char code[4]; /* first three bytes of its last reply, for logs */
};

/* A recipient as the engine knows it (apart from rcpts[], which moves
 * when it grows). */
struct lmtp_route {
	struct router_client rc;
	struct lmtp_conn *c;
	unsigned int index;
};

struct lmtp_link {
	struct lmtp_link *next;
	struct lmtp_conn *c;
	struct ipaddr ip;
	char name[IPADDR_STR_MAX + 8]; /* ip:port */
	struct bufferevent *bev;
	struct lmtp_backend *b;
	bool ready, mail_sent, data_sent, data_ready, body_sent;
	bool bdat; /* the body goes in BDAT chunks, else after DATA */
	bool stuff_bol; /* DATA: the next body byte starts a line */
	uint64_t body_off; /* spool bytes queued toward the backend */
	bool idle; /* handshake or last transaction done, nothing pending */
	bool closed;
	bool connected; /* the TCP connection was made */
	int want_rcpt; /* RCPT to send once ready, or -1 */
	unsigned int accepted;
};

struct lmtp_conn {
	LIST_ENTRY(lmtp_conn) link; /* d->lmtp_conns */
	struct proxy_env *d;
	struct bufferevent *client;
	struct lmtp_server *srv;
	struct proto_client_info info;
	struct ipaddr client_ip;
	bool ip_counted, tls_active, closing;
	bool waiting; /* an event of srv is being answered */
	struct event *resume_ev; /* lmtp_process() from the loop */
	/* a plain socket client is read by us, in large reads (its
	 * bufferevent's reading stays off); NULL for TLS */
	struct event *read_ev;
	bool reading; /* read_ev is added */

	struct lmtp_rcpt *rcpts;
	unsigned int rcpt_count, rcpt_cap;
	struct lmtp_link *links;
	/* the body, in content form (the dots of dot-stuffing removed):
	 * in spool (memory), or in the file spool_fd with spool holding
	 * what is not written to it yet */
	struct evbuffer *spool;
	int spool_fd;
	uint64_t spool_len; /* bytes of the body so far */
	uint64_t spool_written; /* of them in the file */
	bool spool_bol; /* the next body byte starts a line */
	bool body_complete;
	bool spool_full; /* the spool budget was spent: 452 at the end */
	struct event *deadline_ev; /* lmtp_transaction_timeout */
	unsigned int replies_due;
	bool tx_finished; /* all replies given: end it at a safe point */
	char *from; /* MAIL FROM of the transaction, for the log */
	struct timeval tx_started;
};

/* lmtp_client.c */
void lmtp_log(const struct lmtp_conn *c, enum log_level level, const char *fmt,
    ...) ATTR_PRINTF(3, 4);
/* Moves the server module's replies to the client. */
void lmtp_client_flush(struct lmtp_conn *c);
/* The one place that turns reading the client on and off: on while it
 * is not closing and less than LMTP_READ_CHUNK of its input waits to be
 * parsed. */
void lmtp_client_reading(struct lmtp_conn *c);
/* STARTTLS: drops the client's unparsed input and wraps its connection
 * in TLS.  Returns 0, or -1 when it failed and c is freed. */
int lmtp_client_start_tls(struct lmtp_conn *c);
/* Closes c once its output is written (at once if there is none: then
 * c is freed). */
void lmtp_close_after_flush(struct lmtp_conn *c);
/* Frees c: its transaction, links, spool and connection. */
void lmtp_conn_free(struct lmtp_conn *c);

/* lmtp_proxy.c */
/* Runs the server module over the client's input.  May free c. */
void lmtp_process(struct lmtp_conn *c);
/* All DATA replies given: log and let the client go on. */
void lmtp_tx_maybe_done(struct lmtp_conn *c);
/* Ends the transaction: its recipients, backend connections and spool. */
void lmtp_tx_end(struct lmtp_conn *c);
/* Frees the links of c, but keeps those idle again when keep_idle. */
void lmtp_tx_end_links(struct lmtp_conn *c, bool keep_idle);
/* The timer of c's lmtp_transaction_timeout (for c->deadline_ev). */
struct event *lmtp_deadline_new(struct lmtp_conn *c);

/* lmtp_spool.c */
enum lmtp_spool_result {
	LMTP_SPOOL_OK,
	LMTP_SPOOL_FULL, /* the global budget is spent */
	LMTP_SPOOL_ERROR, /* logged */
};
/* Appends a body chunk in wire form (as the server module hands it out:
 * dot-stuffed, CRLF lines, a line that starts with a dot starting a
 * chunk) to c's spool (memory, else a file) in content form: the dot
 * that starts a line is dropped. */
enum lmtp_spool_result lmtp_spool_add(
    struct lmtp_conn *c, const char *data, size_t len);
/* Writes what waits in memory to the spool file (nothing for a memory
 * spool).  Returns 0, or -1 (logged). */
int lmtp_spool_sync(struct lmtp_conn *c);
/* How many bytes from the start of the body may be sent now: all of a
 * memory spool, what is written of a file. */
uint64_t lmtp_spool_readable(const struct lmtp_conn *c);
/* Appends spool bytes [off, off + len) (readable) to out: a range of the
 * file (sent with sendfile(2) where out drains to a socket) or a copy.
 * Returns 0 or -1. */
int lmtp_spool_send(
    struct lmtp_conn *c, struct evbuffer *out, uint64_t off, size_t len);
/* Points *data_r at up to len readable spool bytes from off: into the
 * memory spool, or into a buffer read from the file, valid until the
 * next call.  Returns the count (> 0), or -1 (logged). */
ssize_t lmtp_spool_peek(
    struct lmtp_conn *c, uint64_t off, size_t len, const char **data_r);
/* Frees c's spool and gives its bytes back to the budget. */
void lmtp_spool_free(struct lmtp_conn *c);
/* Whether both budgets are spent, so that no message fits. */
bool lmtp_spool_budget_spent(const struct conf *conf);

/* lmtp_link.c */
/* The link to backend ip for this transaction, connecting a new one if
 * there is none (check ->closed). */
struct lmtp_link *lmtp_link_get(struct lmtp_conn *c, const struct ipaddr *ip);
void lmtp_link_free(struct lmtp_link *l);
void lmtp_link_flush(struct lmtp_link *l);
/* Sends MAIL (first time) and the waiting RCPT of a ready link. */
void lmtp_link_send_rcpt(struct lmtp_link *l);
/* Starts the body on a link with accepted recipients: BDAT chunks if the
 * backend offers CHUNKING, else DATA.  Returns 0, or -1 (link lost). */
int lmtp_link_body_start(struct lmtp_link *l);
/* Queues the body bytes spooled so far toward a link ready for them (up
 * to a bound on its output; its write callback comes back for more), and
 * the end of the body once it is complete. */
void lmtp_link_pump(struct lmtp_link *l);
/* The link failed or closed: its unanswered recipients get 4xx. */
void lmtp_link_lost(struct lmtp_link *l, const char *why);
/* A recipient's delivery is over: the engine stops counting it. */
void lmtp_rcpt_unroute(struct lmtp_conn *c, struct lmtp_rcpt *r);
/* Answers recipient i (not yet answered) with a 451 naming why. */
void lmtp_rcpt_fail(struct lmtp_conn *c, unsigned int i, const char *why);
/* The router's kick of a recipient. */
void lmtp_on_kick(struct router_client *rc);

#endif

/*
 * admin.h - the admin interface: Dovecot 2.3's director-doveadm v1.0
 * line protocol on a UNIX socket (and on `listen { protocol = admin }`
 * TCP listeners), so `doveadm director -a SOCKET ...`, poolmon and
 * directorctl manage a running directord.
 *
 * Transport only lives here (sockets, peer checks, line framing, the
 * handshake, one reply per command in order); what each command does is
 * in admin_cmds.c.
 */
#ifndef DIRECTOR_ADMIN_H
#define DIRECTOR_ADMIN_H

#include <stddef.h>

#include "listener.h"

struct admin;
struct admin_conn;
struct director;
struct event_base;

/* Longest command line accepted (Dovecot's doveadm sends short ones). */
#define ADMIN_LINE_MAX (64 * 1024)
/* Longest peer description in logs. */
#define ADMIN_PEER_MAX 64
/* Replies queued for a client that does not read, before it is dropped. */
#define ADMIN_OUTPUT_MAX (16 * 1024 * 1024)

/*
 * Creates the UNIX socket at d->conf->admin_socket (replacing a stale
 * one, refusing one another process still listens on), with
 * admin_socket_mode, owned by the configured user.  Call as root, before
 * the privilege drop.  Returns NULL with a malloc'ed *error_r.
 */
struct admin *admin_new(struct director *d, char **error_r);
/* Starts accepting on base.  Returns 0 or -1 (logged). */
int admin_start(struct admin *admin, struct event_base *base);
/* Closes every connection and the socket (and unlinks it). */
void admin_free(struct admin **admin);

/* The handler of admin TCP listeners; context is the struct director. */
extern const struct listener_handler admin_tcp_handler;

/* For admin_cmds.c: queue reply text on a connection. */
void admin_conn_write(struct admin_conn *conn, const void *data, size_t len);
/* For admin_cmds.c: a command that returned ADMIN_CMD_WAIT finished (its
 * reply is written); reading the next commands resumes. */
void admin_conn_resume(struct admin_conn *conn);
/* For admin_cmds.c: the command state of a waiting command (NULL when
 * none). */
void *admin_conn_job(const struct admin_conn *conn);
void admin_conn_set_job(struct admin_conn *conn, void *job);
/* For logs: "uid 0 pid 42" or "127.0.0.1:4711". */
const char *admin_conn_peer(const struct admin_conn *conn);
struct director *admin_conn_director(const struct admin_conn *conn);

#endif

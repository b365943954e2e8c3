/*
 * admin_cmds.h - the commands of the director-doveadm v1.0 admin
 * protocol (Dovecot 2.3), executed on this director.
 *
 * admin.c frames lines and keeps replies in order; this module parses a
 * command line, changes the routing state and writes exactly one reply
 * (one line, or a list ended by an empty line).  Commands that must wait
 * (USER-MOVE, HOST-RESET-USERS) answer later and hold the connection's
 * input until then.  Until the director ring exists, the ring commands
 * describe a ring of one.
 */
#ifndef DIRECTOR_ADMIN_CMDS_H
#define DIRECTOR_ADMIN_CMDS_H

#include <stddef.h>

struct admin_conn;

enum admin_cmd_result {
	ADMIN_CMD_DONE, /* replied */
	ADMIN_CMD_WAIT, /* replies later, then calls admin_conn_resume() */
	ADMIN_CMD_CLOSE, /* protocol error (logged): close without a reply */
};

/* Runs one command line (NUL-terminated, without its LF; len bytes,
 * modified in place). */
enum admin_cmd_result admin_cmds_run(
    struct admin_conn *conn, char *line, size_t len);

/* The engine's reply to a write command of conn (router hook). */
void admin_cmds_reply(struct admin_conn *conn, const char *text);

/* conn is going away: a command still running finishes without
 * replying. */
void admin_cmds_conn_gone(struct admin_conn *conn);

#endif

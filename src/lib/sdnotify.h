/*
 * sdnotify.h - the text side of systemd's service notification protocol
 * (sd_notify(3)): where $NOTIFY_SOCKET points, and the datagrams that tell
 * the service manager that directord is ready, reloading or stopping.
 *
 * Pure: nothing here touches a socket; src/daemon/notify.c sends.
 */
#ifndef DIRECTOR_SDNOTIFY_H
#define DIRECTOR_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of sun_path in a Linux struct sockaddr_un. */
#define SDNOTIFY_ADDR_MAX 108
/* Longest STATUS= text; longer texts are cut. */
#define SDNOTIFY_STATUS_MAX 256
/* A buffer of this size holds every datagram sdnotify_format() writes. */
#define SDNOTIFY_MSG_MAX 512

enum sdnotify_addr {
	SDNOTIFY_ADDR_PATH, /* a socket in the file system */
	SDNOTIFY_ADDR_ABSTRACT, /* "@name": Linux's abstract namespace */
	SDNOTIFY_ADDR_INVALID, /* empty, relative, or another kind (vsock:) */
	SDNOTIFY_ADDR_TOO_LONG, /* does not fit in sun_path */
};

enum sdnotify_state {
	SDNOTIFY_READY, /* startup finished, or a reload is over */
	SDNOTIFY_RELOADING, /* a reload began: READY follows when it ends */
	SDNOTIFY_STOPPING, /* shutdown began */
	SDNOTIFY_STATUS, /* no change of state, STATUS= only */
};

struct sdnotify_msg {
	enum sdnotify_state state;
	long mainpid; /* > 0: MAINPID= (with READY only) */
	uint64_t monotonic_usec; /* MONOTONIC_USEC= (with RELOADING only) */
	const char *status; /* STATUS= text, or NULL */
};

/* Parses value, the text of $NOTIFY_SOCKET.  An absolute path is copied
 * to path_r with its NUL; "@name" becomes a NUL byte followed by name (no
 * terminator: abstract names are exact byte strings).  *len_r is the
 * number of bytes of path_r the address uses, so the address length is
 * offsetof(struct sockaddr_un, sun_path) + *len_r.  path_r and *len_r
 * are set only for SDNOTIFY_ADDR_PATH and SDNOTIFY_ADDR_ABSTRACT. */
enum sdnotify_addr sdnotify_parse_address(
    const char *value, char path_r[SDNOTIFY_ADDR_MAX], size_t *len_r);

/* Writes the datagram of msg to buf (size bytes; SDNOTIFY_MSG_MAX is
 * always enough): newline-separated assignments, the state's own
 * ("READY=1", ...) first.  Bytes of status that are control characters
 * (the newline that separates assignments among them) or not ASCII become
 * '?', and status is cut after SDNOTIFY_STATUS_MAX bytes.  Returns the
 * length (buf is NUL-terminated, the NUL not counted: the datagram has
 * no terminator), or 0 if buf is too small. */
size_t sdnotify_format(const struct sdnotify_msg *msg, char *buf, size_t size);

#endif

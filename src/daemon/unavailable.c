/*
 * unavailable.c - the handler of listeners whose protocol is not served
 * yet (the director ring): log and close; no state outlives the call.
 */
#include "compat.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "sockaddr.h"
#include "unavailable.h"

static void
unavailable_reply(int fd, const struct sockaddr *peer,
    const struct listener_info *info, const char *line)
{
	char peer_text[INET6_ADDRSTRLEN + 8];

	sockaddr_peer_text(peer, peer_text, sizeof(peer_text));
	log_debug("%s connection from %s on listen %s: proxying not "
		  "available yet, closing",
	    conf_protocol_name(info->protocol), peer_text, info->name);
	if (line != NULL &&
	    send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) == -1)
		log_debug("%s: send: %s", peer_text, strerror(errno));
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void
unavailable_ring(int fd, const struct sockaddr *peer, socklen_t peer_len,
    const struct listener_info *info, void *context)
{
	unavailable_reply(fd, peer, info, NULL);
}

const struct listener_handler unavailable_ring_handler = {
    .accept = unavailable_ring,
};

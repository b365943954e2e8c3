/*
 * sockaddr.h - socket addresses as text and back: the one place that
 * turns a struct sockaddr into "ip" and a port, or "ip:port" for logs,
 * and an ipaddr plus port into a struct sockaddr to connect to.
 */
#ifndef DIRECTOR_SOCKADDR_H
#define DIRECTOR_SOCKADDR_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_network;
struct ipaddr;

/* Longest "ip:port" text, NUL included. */
#define SOCKADDR_TEXT_MAX (46 + 8)

/* The address of sa as text in ip[ipsize] and its port; "" and 0 for
 * families other than IPv4 and IPv6. */
void sockaddr_text(
    const struct sockaddr *sa, char *ip, size_t ipsize, uint16_t *port_r);
/* "ip:port" (IPv6 without brackets, as the logs always had it), or
 * "?:0" for other families. */
void sockaddr_peer_text(const struct sockaddr *sa, char *buf, size_t size);
/* Fills ss for ip and port; returns its length. */
socklen_t sockaddr_from_ip(
    const struct ipaddr *ip, uint16_t port, struct sockaddr_storage *ss);
/* Whether sa (IPv4 or IPv6; other families never) is inside one of the
 * count networks (an access list such as admin_networks). */
bool sockaddr_in_networks(
    const struct sockaddr *sa, const struct conf_network *nets, size_t count);

#endif

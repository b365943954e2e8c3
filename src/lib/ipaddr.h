/*
 * ipaddr.h - a small, pure IP address value type.
 *
 * Parsing and formatting follow inet_pton/inet_ntop (Dovecot's ip_str);
 * comparison and hashing are bit-exact with Dovecot's net_ip_cmp and
 * net_ip_hash, because hosts_hash and the vhost ring depend on them.
 * An ipaddr is a plain value: copy it freely, no ownership.
 */
#ifndef DIRECTOR_IPADDR_H
#define DIRECTOR_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPADDR_FAMILY_V4 4
#define IPADDR_FAMILY_V6 6
/* Longest text form plus NUL (same as INET6_ADDRSTRLEN). */
#define IPADDR_STR_MAX 46

struct ipaddr {
	uint8_t family; /* IPADDR_FAMILY_V4 or _V6 */
	uint8_t a[16]; /* network byte order; IPv4 uses a[0..3], rest 0 */
};

/*
 * Parses a numeric IPv4 or IPv6 address (no brackets, no scope, no
 * hostnames).  Returns 0, or -1 with *ip_r zeroed.
 */
int ipaddr_parse(const char *str, struct ipaddr *ip_r);
/* Like ipaddr_parse, for the first len bytes of str. */
int ipaddr_parse_n(const char *str, size_t len, struct ipaddr *ip_r);
/* Writes the inet_ntop form into buf (IPADDR_STR_MAX bytes) and returns it */
const char *ipaddr_format(const struct ipaddr *ip, char buf[IPADDR_STR_MAX]);
/* net_ip_cmp order: IPv4 before IPv6, then address bytes. <0, 0, >0. */
int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b);
bool ipaddr_equals(const struct ipaddr *a, const struct ipaddr *b);
/*
 * Dovecot's net_ip_hash.  For IPv4 it is the in_addr value in host byte
 * order; this implementation fixes it to little-endian (x86), the order
 * all Dovecot directors we interoperate with use.
 */
uint32_t ipaddr_hash(const struct ipaddr *ip);
/* Address length in bytes: 4 or 16. */
size_t ipaddr_len(const struct ipaddr *ip);

#endif

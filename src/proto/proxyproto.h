/*
 * proxyproto.h - server side of the HAProxy PROXY protocol, versions 1
 * (text) and 2 (binary), as a pure parser; and the client side of
 * version 2 (proxyproto_v2_build()).
 *
 * The shell keeps the bytes received so far on a PROXY listener and calls
 * proxyproto_parse() with all of them after every read.  The parser is
 * stateless: it looks at the buffer from the start and says whether the
 * header is incomplete (MORE), complete (DONE, with the header length), or
 * invalid (BAD).  Garbage is reported as early as the first byte that
 * cannot start or continue a valid header, so the shell need not wait for
 * a timeout.  Who may send a header (trusted networks) is the shell's
 * business.
 */
#ifndef DIRECTOR_PROXYPROTO_H
#define DIRECTOR_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

/* v1: longest line including CRLF (from the specification). */
#define PROXYPROTO_V1_MAX 107
/* v2: the fixed part (signature, version/command, family, length). */
#define PROXYPROTO_V2_HEADER 16
/* v2: largest variable part (addresses + TLVs) we accept.  The 16-bit
 * length field allows 65535; a sane sender stays far below this. */
#define PROXYPROTO_V2_LEN_MAX 2048
/* Largest complete header this parser can accept. */
#define PROXYPROTO_MAX (PROXYPROTO_V2_HEADER + PROXYPROTO_V2_LEN_MAX)
/* Text address buffer, like INET6_ADDRSTRLEN. */
#define PROXYPROTO_ADDR_MAX 46

enum proxyproto_status {
	PROXYPROTO_MORE, /* valid so far, need more bytes */
	PROXYPROTO_DONE, /* header complete, result filled */
	PROXYPROTO_BAD, /* not a valid header: close */
};

enum proxyproto_command {
	/* The proxy's own connection (health check), or v1 UNKNOWN: use
	 * the connection's real addresses. */
	PROXYPROTO_CMD_LOCAL,
	/* Relayed connection: use the addresses in the result. */
	PROXYPROTO_CMD_PROXY,
};

enum proxyproto_family {
	PROXYPROTO_FAMILY_UNSPEC, /* with PROXYPROTO_CMD_LOCAL only */
	PROXYPROTO_FAMILY_INET,
	PROXYPROTO_FAMILY_INET6,
};

struct proxyproto_result {
	unsigned int version; /* 1 or 2 */
	enum proxyproto_command command;
	enum proxyproto_family family;
	/* Valid for PROXYPROTO_CMD_PROXY; empty strings and 0 otherwise.
	 * Text as inet_ntop() writes it. */
	char src_ip[PROXYPROTO_ADDR_MAX];
	uint16_t src_port;
	char dst_ip[PROXYPROTO_ADDR_MAX];
	uint16_t dst_port;
};

/* Parses the PROXY header at the start of data (all bytes received so
 * far on the connection).  DONE: *consumed_r is the header length (the
 * bytes after it belong to the real protocol) and *result_r is filled.
 * MORE and BAD: *consumed_r is 0 and *result_r zeroed.
 * v1 accepts exactly "PROXY TCP4|TCP6 src dst sport dport\r\n" (single
 * spaces, addresses of the named family, ports 0..65535 without leading
 * zeros) and "PROXY UNKNOWN[ anything]\r\n" (reported as LOCAL).  v2
 * accepts version 2, command LOCAL (any family, addresses ignored) or
 * PROXY with TCP over IPv4/IPv6, a length up to PROXYPROTO_V2_LEN_MAX
 * that holds the addresses, and well-formed TLVs (skipped). */
enum proxyproto_status proxyproto_parse(const void *data, size_t len,
    size_t *consumed_r, struct proxyproto_result *result_r);

/*
 * The client side, toward a backend that takes PROXY v2 (Dovecot's
 * haproxy listeners, Postfix, Cyrus, ...): writes into out (size bytes)
 * a PROXY command for a TCP connection from src:src_port to
 * dst:dst_port (both of one family) and, when the client used TLS
 * (tls_version, e.g. "TLSv1.3"; NULL: it did not), a PP2_TYPE_SSL TLV
 * with PP2_CLIENT_SSL and the version as PP2_SUBTYPE_SSL_VERSION.
 * Returns the header's length, or 0 if it does not fit or the addresses
 * are unusable.  PROXYPROTO_V2_OUT_MAX always fits.
 */
#define PROXYPROTO_V2_OUT_MAX 128
struct ipaddr;
size_t proxyproto_v2_build(uint8_t *out, size_t size, const struct ipaddr *src,
    uint16_t src_port, const struct ipaddr *dst, uint16_t dst_port,
    const char *tls_version);
/* A LOCAL command (the proxy's own connection: a health check): the
 * backend uses the connection's addresses.  Returns its length, 16, or
 * 0 if size is smaller. */
size_t proxyproto_v2_local(uint8_t *out, size_t size);

#endif

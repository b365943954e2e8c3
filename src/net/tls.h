/*
 * tls.h - OpenSSL contexts and libevent TLS bufferevents.
 *
 * One server context (the configured ssl_cert/ssl_key, used for implicit
 * TLS listeners and STARTTLS/STLS) and one client context (towards
 * backends).  Contexts are built before privileges are dropped, because
 * the key file is usually readable by root only, and rebuilt on reload.
 * A verifying client context checks the backend's name, not only its
 * chain: tls_wrap_backend() names what the certificate must carry.
 */
#ifndef DIRECTOR_TLS_H
#define DIRECTOR_TLS_H

#include <stdbool.h>

struct bufferevent;
struct event_base;
struct ipaddr;
struct ssl_ctx_st;

/* Protocol floor: TLS1_VERSION .. TLS1_3_VERSION numbering of OpenSSL. */
struct tls_server_settings {
	const char *cert_file;
	const char *key_file;
	const char *ca_file; /* optional chain, may be NULL */
	int min_version; /* an OpenSSL *_VERSION constant */
};

/* Builds a server context.  Returns NULL and sets *error_r (malloc'd,
 * caller frees) naming the file and OpenSSL's reason on failure. */
struct ssl_ctx_st *tls_server_ctx_new(
    const struct tls_server_settings *set, char **error_r);

/* Builds a client context for backend connections.  verify: check the
 * backend certificate against ca_file (or the system store when NULL). */
struct ssl_ctx_st *tls_client_ctx_new(
    bool verify, const char *ca_file, int min_version, char **error_r);

/* A context for director ring links: our certificate (shown to the peer
 * either way) and peers verified against set->ca_file, which is required;
 * server side when accept.  A peer without a certificate is refused. */
struct ssl_ctx_st *tls_ring_ctx_new(
    const struct tls_server_settings *set, bool accept, char **error_r);

void tls_ctx_free(struct ssl_ctx_st **ctx);

/* Wraps an existing plaintext bufferevent (which the new one takes over and
 * frees) in a TLS filter: server side when accept is true.  Any input
 * already buffered on the underlying bufferevent is discarded first, so
 * plaintext pipelined after STARTTLS is never executed.  Dirty shutdowns
 * (no close_notify) are allowed.  Returns NULL on failure (the underlying
 * bufferevent is then freed too). */
struct bufferevent *tls_wrap(struct bufferevent *under, struct ssl_ctx_st *ctx,
    bool accept, const char *sni);

/* tls_wrap() towards a backend at ip.  When ctx verifies, the backend's
 * certificate must name ssl_name (a DNS name, also sent as SNI) or, when
 * ssl_name is NULL or "", carry ip as an IP address subjectAltName. */
struct bufferevent *tls_wrap_backend(struct bufferevent *under,
    struct ssl_ctx_st *ctx, const char *ssl_name, const struct ipaddr *ip);

/* tls_wrap() of a ring link (a tls_ring_ctx_new() context): the peer's
 * certificate must carry ip as an IP address subjectAltName. */
struct bufferevent *tls_wrap_ring(struct bufferevent *under,
    struct ssl_ctx_st *ctx, bool accept, const struct ipaddr *ip);

/* Creates a TLS bufferevent on a connected or accepted socket fd (implicit
 * TLS).  The bufferevent owns fd.  Returns NULL (and closes fd) on
 * failure. */
struct bufferevent *tls_socket_new(struct event_base *base, int fd,
    struct ssl_ctx_st *ctx, bool accept, const char *sni);

/* Describes the last TLS error on bev (or "connection closed") into a
 * static buffer, for one log line; a failed certificate check names
 * OpenSSL's reason ("IP address mismatch", "hostname mismatch"). */
const char *tls_error_string(struct bufferevent *bev);

/* The protocol version of bev's TLS session ("TLSv1.3"), or NULL if bev
 * does not speak TLS. */
const char *tls_session_version(struct bufferevent *bev);

/* Maps "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" to OpenSSL's constant;
 * returns 0 for an unknown name. */
int tls_version_parse(const char *name);

#endif

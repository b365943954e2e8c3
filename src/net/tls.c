/*
 * tls.c - OpenSSL contexts and libevent TLS bufferevents.
 *
 * Rules kept here (style-anchors 7.5): plaintext buffered before a
 * STARTTLS switch is thrown away; dirty shutdowns are allowed so that a
 * peer closing without close_notify is an ordinary EOF where libevent can
 * tell, and callers treat EOF and ERROR alike as "peer gone" anyway;
 * bufferevent_openssl_*_new() failures are checked and cleaned up; a
 * verifying client checks the backend's IP address or configured name
 * (X509_VERIFY_PARAM), never the chain alone.
 */
#include "compat.h"

#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ipaddr.h"
#include "tls.h"
#include "xmalloc.h"

static char *
tls_errorf(const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char reason[256];

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		strlcpy(reason, "unknown error", sizeof(reason));
	ERR_clear_error();
	if (file != NULL)
		return xasprintf("%s %s: %s", what, file, reason);
	return xasprintf("%s: %s", what, reason);
}

/* Our certificate and key, and the CA that verifies peers (if any). */
static int
tls_ctx_load(
    SSL_CTX *ctx, const struct tls_server_settings *set, char **error_r)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, set->cert_file) != 1) {
		*error_r =
		    tls_errorf("cannot load certificate", set->cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, set->key_file, SSL_FILETYPE_PEM) !=
	    1) {
		*error_r = tls_errorf("cannot load private key", set->key_file);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_errorf(
		    "private key does not match certificate", set->key_file);
		return -1;
	}
	if (set->ca_file != NULL && set->ca_file[0] != '\0' &&
	    SSL_CTX_load_verify_locations(ctx, set->ca_file, NULL) != 1) {
		*error_r = tls_errorf("cannot load CA file", set->ca_file);
		return -1;
	}
	return 0;
}

struct ssl_ctx_st *
tls_server_ctx_new(const struct tls_server_settings *set, char **error_r)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = tls_errorf("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, set->min_version);
	/* CLEANSE_PLAINTEXT: records hold credentials before a login */
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
		SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (tls_ctx_load(ctx, set, error_r) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct ssl_ctx_st *
tls_ring_ctx_new(
    const struct tls_server_settings *set, bool accept, char **error_r)
{
	SSL_CTX *ctx;

	if (set->ca_file == NULL || set->ca_file[0] == '\0') {
		*error_r = xasprintf("TLS on ring links requires ssl_ca");
		return NULL;
	}
	ctx = SSL_CTX_new(accept ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		*error_r = tls_errorf("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, set->min_version);
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* both sides prove who they are */
	SSL_CTX_set_verify(
	    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (tls_ctx_load(ctx, set, error_r) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct ssl_ctx_st *
tls_client_ctx_new(
    bool verify, const char *ca_file, int min_version, char **error_r)
{
	SSL_CTX *ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = tls_errorf("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, min_version);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
		SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (ca_file != NULL && ca_file[0] != '\0') {
			if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) !=
			    1) {
				*error_r =
				    tls_errorf("cannot load CA file", ca_file);
				SSL_CTX_free(ctx);
				return NULL;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			*error_r =
			    tls_errorf("cannot load the system CA store", NULL);
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;
}

void
tls_ctx_free(struct ssl_ctx_st **ctx)
{
	if (*ctx != NULL)
		SSL_CTX_free(*ctx);
	*ctx = NULL;
}

static SSL *
tls_ssl_new(SSL_CTX *ctx, bool accept, const char *sni)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (!accept && sni != NULL && sni[0] != '\0') {
		SSL_set_tlsext_host_name(ssl, sni);
		if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)
			SSL_set1_host(ssl, sni);
	}
	return ssl;
}

struct bufferevent *
tls_wrap(struct bufferevent *under, struct ssl_ctx_st *ctx, bool accept,
    const char *sni)
{
	struct bufferevent *bev;
	struct evbuffer *in;
	SSL *ssl;

	/* Never execute plaintext that arrived after the STARTTLS command. */
	in = bufferevent_get_input(under);
	evbuffer_drain(in, evbuffer_get_length(in));

	ssl = tls_ssl_new(ctx, accept, sni);
	if (ssl == NULL) {
		bufferevent_free(under);
		return NULL;
	}
	bev = bufferevent_openssl_filter_new(bufferevent_get_base(under), under,
	    ssl,
	    accept ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		bufferevent_free(under);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct bufferevent *
tls_wrap_backend(struct bufferevent *under, struct ssl_ctx_st *ctx,
    const char *ssl_name, const struct ipaddr *ip)
{
	struct bufferevent *bev;
	X509_VERIFY_PARAM *param;
	bool named = ssl_name != NULL && ssl_name[0] != '\0';
	int ok;

	bev = tls_wrap(under, ctx, false, named ? ssl_name : NULL);
	if (bev == NULL || named)
		return bev;
	/* no name configured: the certificate must carry the address we
	 * connected to */
	param = SSL_get0_param(bufferevent_openssl_get_ssl(bev));
	ok = X509_VERIFY_PARAM_set1_ip(param, ip->a, ipaddr_len(ip));
	if (ok != 1) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

struct bufferevent *
tls_wrap_ring(struct bufferevent *under, struct ssl_ctx_st *ctx, bool accept,
    const struct ipaddr *ip)
{
	struct bufferevent *bev = tls_wrap(under, ctx, accept, NULL);

	if (bev == NULL)
		return NULL;
	if (X509_VERIFY_PARAM_set1_ip(
		SSL_get0_param(bufferevent_openssl_get_ssl(bev)), ip->a,
		ipaddr_len(ip)) != 1) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

struct bufferevent *
tls_socket_new(struct event_base *base, int fd, struct ssl_ctx_st *ctx,
    bool accept, const char *sni)
{
	struct bufferevent *bev;
	SSL *ssl;

	ssl = tls_ssl_new(ctx, accept, sni);
	if (ssl == NULL) {
		close(fd);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    accept ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

const char *
tls_session_version(struct bufferevent *bev)
{
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl != NULL ? SSL_get_version(ssl) : NULL;
}

const char *
tls_error_string(struct bufferevent *bev)
{
	static char buf[320];
	unsigned long e = bufferevent_get_openssl_error(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (e == 0 && verify == X509_V_OK)
		return "connection closed";
	if (e == 0)
		strlcpy(buf, "certificate verify failed", sizeof(buf));
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	if (verify != X509_V_OK) {
		strlcat(buf, ": ", sizeof(buf));
		strlcat(
		    buf, X509_verify_cert_error_string(verify), sizeof(buf));
	}
	return buf;
}

int
tls_version_parse(const char *name)
{
	static const struct {
		const char *name;
		int version;
	} versions[] = {
	    {"TLSv1", TLS1_VERSION},
	    {"TLSv1.1", TLS1_1_VERSION},
	    {"TLSv1.2", TLS1_2_VERSION},
	    {"TLSv1.3", TLS1_3_VERSION},
	};
	size_t i;

	for (i = 0; i < nitems(versions); i++) {
		if (strcmp(name, versions[i].name) == 0)
			return versions[i].version;
	}
	return 0;
}

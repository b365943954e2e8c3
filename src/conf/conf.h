/*
 * conf.h - the directord configuration: one struct conf parsed from a file.
 *
 * Syntax (Dovecot-like): `key = value` lines, `type [name] {` ... `}`
 * blocks, `#` comments, `!include FILE` and `!include_try FILE`.  A parsed
 * struct conf owns all of its memory, has every default filled in and has
 * passed the cross-field checks; a caller never sees a half-valid one.
 * Every error message has the form "file:line: message".
 *
 * This module is pure: it reads files but never touches sockets.
 */
#ifndef DIRECTOR_CONF_H
#define DIRECTOR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default configuration file of directord. */
#ifndef DIRECTORD_CONF
#define DIRECTORD_CONF "/etc/director/directord.conf"
#endif

/* Nesting of !include files (the top file is depth 0). */
struct hosts_spec_entry;

#define CONF_INCLUDE_DEPTH_MAX 16
/* Largest configuration file accepted, in bytes. */
#define CONF_FILE_SIZE_MAX (4 * 1024 * 1024)
/* Smallest director_user_expire (Dovecot's limit), in milliseconds. */
#define CONF_USER_EXPIRE_MIN_MS (10 * 1000)
/* lmtp_spool_dir when it is not set: this directory below state_dir. */
#define CONF_LMTP_SPOOL_SUBDIR "lmtp"

enum conf_protocol {
	CONF_PROTOCOL_IMAP,
	CONF_PROTOCOL_POP3,
	CONF_PROTOCOL_LMTP,
	CONF_PROTOCOL_RING,
	CONF_PROTOCOL_ADMIN,
	CONF_PROTOCOL_METRICS, /* Prometheus text over HTTP */
	CONF_PROTOCOL_SIEVE, /* ManageSieve (RFC 5804) */
};
#define CONF_PROTOCOL_COUNT 7

enum conf_tls {
	CONF_TLS_NO,
	CONF_TLS_STARTTLS,
	CONF_TLS_IMPLICIT,
};

enum conf_hashing {
	CONF_HASHING_RENDEZVOUS,
	CONF_HASHING_DOVECOT,
};

enum conf_ssl_protocol {
	CONF_SSL_TLSV1,
	CONF_SSL_TLSV1_1,
	CONF_SSL_TLSV1_2,
	CONF_SSL_TLSV1_3,
};

/* One `listen NAME { }` block.  Addresses are IP literals as written;
 * "*" means IPv4 any and "::" IPv6 any. */
struct conf_listener {
	char *name;
	enum conf_protocol protocol;
	char **addresses;
	size_t address_count;
	uint16_t port;
	enum conf_tls tls;
	bool haproxy;
	char *loc; /* "file:line" of the block */
};

/* One entry of director_servers. */
struct conf_director_server {
	char *address; /* IP literal, without brackets */
	uint16_t port;
};

/* One CIDR of haproxy_trusted_networks; addr is in network byte order,
 * 4 bytes used for IPv4.  Bits beyond prefix_len are cleared. */
struct conf_network {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	unsigned int prefix_len;
};

/* The `backend { }` block: how directord reaches every backend. */
struct conf_backend {
	uint16_t imap_port;
	uint16_t pop3_port;
	uint16_t lmtp_port;
	uint16_t sieve_port;
	enum conf_tls tls;
	bool ssl_verify;
	/* the name every backend certificate carries; "" = the backend's
	 * IP address */
	char *ssl_name;
	uint64_t connect_timeout_ms;
	uint64_t idle_timeout_ms;
	/* a PROXY v2 header opens every backend connection (the client's
	 * addresses; no IMAP ID or XCLIENT then) */
	bool proxy_protocol;
};

/* Most worker threads (workers = N). */
#define CONF_WORKERS_MAX 64

struct conf {
	char *path; /* the top-level file (or buffer name) */

	char *user;
	char *state_dir;
	char *admin_socket;
	char *pid_file;
	char *log_level; /* validated: error | warning | info | debug */

	char *mail_servers; /* raw director_mail_servers */
	char *mail_servers_loc; /* "file:line", or NULL when not set */
	struct hosts_spec_entry *mail_server_entries; /* parsed, may be NULL */
	size_t mail_server_count;
	char *servers; /* raw director_servers */
	char *servers_loc;
	struct conf_director_server *director_servers;
	size_t director_server_count;

	enum conf_hashing hashing;
	uint64_t user_expire_ms;
	char *username_hash;
	char *username_hash_loc;
	uint64_t user_kick_delay_ms;
	unsigned int max_parallel_moves;
	unsigned int max_parallel_kicks;
	uint64_t ping_idle_timeout_ms;
	uint64_t ping_max_timeout_ms;
	uint64_t output_buffer_size;
	char *auth_master_user_separator;
	char *recipient_delimiter; /* LMTP: detail separators ("+") */

	char *ssl_cert;
	char *ssl_key;
	char *ssl_ca;
	enum conf_ssl_protocol ssl_min_protocol;

	uint64_t login_timeout_ms;
	/* Refuse LOGIN/USER/AUTH before TLS unless the client connected
	 * from the address it connected to (Dovecot's rule). */
	bool disable_plaintext_auth;
	/* SASL mechanisms offered to IMAP, POP3 and ManageSieve clients
	 * (Dovecot's name and default "plain login"; also oauthbearer and
	 * xoauth2); auth_mechs is the parsed set (sasl.h bits). */
	char *auth_mechanisms;
	unsigned int auth_mechs;
	char *haproxy_trusted_networks; /* raw */
	char *admin_networks; /* raw: who may use admin TCP listeners */
	struct conf_network *admin_nets;
	size_t admin_net_count;
	unsigned int admin_socket_mode; /* of the UNIX admin socket */
	struct conf_network *trusted_networks;
	size_t trusted_network_count;
	/* ring peers that may speak plaintext to a ring listener with
	 * tls = starttls (Dovecot directors during a migration) */
	char *ring_plaintext_networks; /* raw */
	struct conf_network *ring_plaintext_nets;
	size_t ring_plaintext_net_count;
	unsigned int max_connections;
	unsigned int max_connections_per_ip; /* 0 = unlimited */
	/* IPv6 clients are counted by this prefix length (1..128) */
	unsigned int max_connections_per_ip_ipv6_prefix;

	/* LMTP proxying */
	unsigned int lmtp_max_recipients; /* RCPTs per transaction */
	uint64_t lmtp_max_message_size; /* SIZE; 0 = unlimited */
	uint64_t lmtp_spool_memory; /* bodies above it go to a file */
	uint64_t lmtp_backend_timeout_ms; /* one backend reply */
	/* MAIL to the end of DATA, however the client trickles */
	uint64_t lmtp_transaction_timeout_ms;
	/* spooled bodies of all connections together, in memory and in
	 * files; beyond them a message gets 452 4.3.1 */
	uint64_t lmtp_spool_memory_total;
	uint64_t lmtp_spool_disk_total;
	char *lmtp_spool_dir; /* never state_dir (default state_dir/lmtp) */

	/* health checks of the backends (health.h) */
	bool health_check;
	/* Proxied bytes between plain sockets move with splice(2) through
	 * at most zero_copy_pipes pipes at once. */
	bool zero_copy;
	unsigned int zero_copy_pipes;
	/* Threads for the IMAP, POP3 and ManageSieve sessions: "auto" (one
	 * per CPU) or a number; worker_count is what it comes to (1: the
	 * main thread does everything). */
	char *workers;
	unsigned int worker_count;
	uint64_t health_check_interval_ms;
	uint64_t health_check_timeout_ms;
	uint64_t health_check_recheck_ms; /* the rapid re-check phase */
	uint64_t health_check_hold_ms; /* least time down before up */
	unsigned int health_check_rise;
	unsigned int health_check_fall;
	/* "user:password" of a test account (mode 0600), "" = none */
	char *health_check_login_file;
	char *health_check_login_file_loc;

	/* who may scrape a metrics listener */
	char *metrics_networks; /* raw */
	struct conf_network *metrics_nets;
	size_t metrics_net_count;

	struct conf_listener *listeners;
	size_t listener_count;
	struct conf_backend backend;
};

/*
 * Parses director_mail_servers into conf->mail_server_entries and checks
 * director_username_hash.  Returns 0, or -1 with a malloc'ed "file:line:
 * message" in *error_r.  Called by the loaders; exposed for tests.
 */
int conf_validate_routing(struct conf *conf, char **error_r);

/* Parses the file at path (and the files it includes) into a new struct
 * conf.  On error returns NULL and sets *error_r to a malloc'd
 * "file:line: message" string that the caller frees. */
struct conf *conf_load_file(const char *path, char **error_r);

/* Flags for conf_parse_buffer(). */
#define CONF_PARSE_NO_INCLUDE 0x01 /* !include is an error (fuzzing) */

/* Parses len bytes of buf as if they were the file called name; relative
 * !include paths are resolved against the directory of name.  Same result
 * and error contract as conf_load_file(). */
struct conf *conf_parse_buffer(const char *name, const char *buf, size_t len,
    unsigned int flags, char **error_r);

/* Frees *conf and everything it owns and sets *conf to NULL.  Accepts a
 * NULL *conf. */
void conf_free(struct conf **conf);

/* Returns the listener called name, or NULL. */
const struct conf_listener *conf_find_listener(
    const struct conf *conf, const char *name);

/* Returns true if a and b describe the same listening sockets (names,
 * protocols, addresses, ports, tls and haproxy). */
bool conf_listeners_equal(const struct conf *a, const struct conf *b);

/*
 * Whether new may replace old on a reload (SIGHUP).  These settings only
 * change with a restart, because the running state depends on them:
 * director_username_hash and auth_master_user_separator make the user
 * hash that live user assignments are keyed by (a new login of a user
 * with open sessions would be hashed differently and could land on
 * another backend); director_hashing picks the backend of every hash
 * (most users would move at once, without kicks); director_user_expire is
 * fixed in the user directory when it is created.  Returns 0 if none of
 * them differs, or -1 with *error_r set to a malloc'd message that names
 * each one that does, with its file:line, its old and new value, and that
 * it needs a restart.
 */
int conf_reload_check(
    const struct conf *old, const struct conf *new, char **error_r);

/* Value parsers, shared with other modules.  Each returns 0 and stores the
 * value, or -1 leaving *r untouched. */

/* "15 min", "2s", "500 ms", "1 hour", "1 day", "1 week"; a plain number
 * is seconds. */
/* Whether the address (family 4 or 6, network byte order; 4 bytes used
 * for IPv4) is inside one of the count networks. */
bool conf_networks_match(const struct conf_network *nets, size_t count,
    int family, const uint8_t *addr);

int conf_parse_time(const char *s, uint64_t *msecs_r);
/* "10M", "10 MB", "64k", "1G", "1 T"; a plain number is bytes; units are
 * powers of 1024. */
int conf_parse_size(const char *s, uint64_t *bytes_r);
/* yes | no | true | false (case-insensitive). */
int conf_parse_bool(const char *s, bool *r);
/* A decimal port 1..65535. */
int conf_parse_port(const char *s, uint16_t *port_r);

/* Names of the enums, for logging and the man page. */
const char *conf_protocol_name(enum conf_protocol protocol);
const char *conf_tls_name(enum conf_tls tls);
const char *conf_hashing_name(enum conf_hashing hashing);

#endif

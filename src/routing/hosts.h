/*
 * hosts.h - the backend list, its tags, and routing of users to backends.
 *
 * A struct hosts owns every struct host, one struct host_tag per tag in
 * use (each with its own selection structure and user directory), and
 * the cached hosts_hash.  Hosts are kept sorted by IP (net_ip_cmp).
 * Everything here is pure: time comes in as `now` (unix seconds).
 *
 * Invariants: no two hosts share an IP; a user record always names a
 * host that exists in the user's tag (removing a host or changing its
 * tag drops its users); a tag's selection structure and hosts_hash are
 * rebuilt lazily after any change that affects them.
 */
#ifndef DIRECTOR_HOSTS_H
#define DIRECTOR_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"
#include "select.h"

#define HOSTS_MAX 4096
#define HOST_TAG_MAX 64
#define HOST_NAME_MAX_LEN 255
#define HOST_VHOST_COUNT_DEFAULT 100
#define HOST_VHOST_COUNT_MAX 1000

struct host_tag;
struct hosts;
struct user;

/*
 * A backend.  Read the fields freely; change them only through the
 * hosts_set_*() functions (they invalidate the caches).
 */
struct host {
	uint32_t id; /* small, stable while the host exists */
	struct ipaddr ip;
	char ip_str[IPADDR_STR_MAX];
	char *name; /* hostname from the config, or NULL */
	struct host_tag *tag; /* never NULL; "" is the default tag */
	unsigned int vhost_count;
	bool down; /* admin down */
	uint32_t last_updown_change;
	bool unhealthy; /* health checker says down */
	/* what our own checker says (unhealthy may come from another
	 * director's in a ring); the director whose checker marked it
	 * down, ring-wide (port 0: none), and when that was last said */
	bool health_local_down;
	struct ipaddr health_owner;
	uint16_t health_owner_port;
	uint64_t health_owner_ms;
	/* unix time of its last HOST-FLUSH: assignments to it made until
	 * then, still on their way from other directors, are void */
	uint32_t flushed_ts;
	bool desynced; /* changed locally, ring not re-synced yet */
};

/* One entry of a parsed director_mail_servers value. */
struct hosts_spec_entry {
	struct ipaddr ip;
	char tag[HOST_TAG_MAX + 1];
};

/*
 * Parses a director_mail_servers value: space-separated `ip`, `ip1-ip2`
 * (IPv4 ranges may differ only in the last 8 bits, IPv6 in the last 16;
 * same family; ip1 <= ip2), each optionally followed by `@tag`.  Returns
 * 0 with a malloc'ed array in *entries_r (free() it; NULL if empty) and
 * its length in *count_r, or -1 with a message in err[errsize].  At most
 * HOSTS_MAX addresses in total.
 */
int hosts_spec_parse(const char *spec, struct hosts_spec_entry **entries_r,
    size_t *count_r, char *err, size_t errsize);

/* An empty host list using method; users expire after expire_secs. */
struct hosts *hosts_new(enum select_method method, uint32_t expire_secs);
/* Frees all hosts, tags and users. */
void hosts_free(struct hosts **hosts);

/*
 * Adds a backend, up and healthy, in tag ("" or NULL = default).
 * Returns it, or NULL with a static *err_r if the IP already exists,
 * the tag is invalid, vhost_count > HOST_VHOST_COUNT_MAX or there are
 * HOSTS_MAX hosts.
 */
struct host *hosts_add(struct hosts *hosts, const struct ipaddr *ip,
    const char *tag, unsigned int vhost_count, const char **err_r);
/* Removes the host and all of its users; clears *host. */
void hosts_remove(struct hosts *hosts, struct host **host);
struct host *hosts_lookup(const struct hosts *hosts, const struct ipaddr *ip);
struct host *hosts_lookup_id(const struct hosts *hosts, uint32_t id);
/* Number of hosts, and the i-th in IP order (i < hosts_count). */
size_t hosts_count(const struct hosts *hosts);
struct host *hosts_get(const struct hosts *hosts, size_t i);

/* Sets a copy of name (NULL clears).  Returns -1 if too long. */
int hosts_set_name(struct hosts *hosts, struct host *host, const char *name);
/* vhost_count is clamped to HOST_VHOST_COUNT_MAX. */
void hosts_set_vhost_count(
    struct hosts *hosts, struct host *host, unsigned int vhost_count);
/* Admin up/down; stamps last_updown_change = now when it changes. */
void hosts_set_down(
    struct hosts *hosts, struct host *host, bool down, uint32_t now);
void hosts_set_healthy(struct hosts *hosts, struct host *host, bool healthy);
void hosts_set_desynced(struct hosts *hosts, struct host *host, bool desynced);
/*
 * Moves host to another tag, dropping its users (as Dovecot does for a
 * tag change received from the ring).  Returns -1 if the tag is invalid.
 */
int hosts_set_tag(struct hosts *hosts, struct host *host, const char *tag);

/* Forgets every user of host without kicks (doveadm director flush -F)
 * at unix time now (kept as host->flushed_ts). */
size_t hosts_flush_users(struct hosts *hosts, struct host *host, uint32_t now);

const char *hosts_tag_name(const struct host_tag *tag);
/* Number of tags ever used, and the i-th (i < hosts_tag_count). */
size_t hosts_tag_count(const struct hosts *hosts);
struct host_tag *hosts_tag_get(const struct hosts *hosts, size_t i);
/* The tag, or NULL if no host ever used it. */
struct host_tag *hosts_tag_lookup(const struct hosts *hosts, const char *tag);
/* The user directory of a tag. */
struct users *hosts_tag_users(struct host_tag *tag);
size_t hosts_user_count(const struct hosts *hosts, const struct host *host);

/*
 * Dovecot 2.3's hosts_hash: CRC-32 over the hosts in IP order of
 * (down ^ vhost_count) and net_ip_hash (each as 4 little-endian bytes)
 * and the tag name; 0 is reported as 1.  Cached until the next change.
 */
uint32_t hosts_hash(struct hosts *hosts);

/*
 * The backend a new user with user_hash would get in tag (hosts that are
 * admin up, healthy and have vhost_count > 0), or NULL.
 */
struct host *hosts_select(
    struct hosts *hosts, const char *tag, uint32_t user_hash);
/*
 * Routes a user: a live assignment in tag is refreshed (timestamp = now)
 * and its host returned; otherwise a host is selected and the user added.
 * Returns NULL if the tag has no eligible host.  *created_r says whether
 * a new assignment was made.
 */
struct host *hosts_route_user(struct hosts *hosts, const char *tag,
    uint32_t user_hash, uint32_t now, bool *created_r);
/* Expires users in every tag; returns how many were removed. */
size_t hosts_expire_users(struct hosts *hosts, uint32_t now);
enum select_method hosts_get_method(const struct hosts *hosts);

#endif

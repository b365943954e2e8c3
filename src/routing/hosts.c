/*
 * hosts.c - backend list, tags, hosts_hash, director_mail_servers parsing
 * and the "route this user" entry point.
 *
 * Storage: `sorted` holds the hosts in net_ip_cmp order (binary search
 * by IP, the order hosts_hash needs); `by_id` maps a host id to the host
 * (ids are reused after removal; a removed host's users are gone first,
 * so a user record never names a stale id).  Tags are few and live until
 * hosts_free(), so struct host_tag pointers stay valid.
 */
#include "compat.h"

#include <stdio.h>

#include "hosts.h"
#include "md5.h"
#include "users.h"
#include "xmalloc.h"

struct host_tag {
	char *name;
	struct users *users;
	struct select *sel;
	bool sel_dirty;
};

struct hosts {
	enum select_method method;
	uint32_t expire_secs;

	struct host **sorted;
	size_t count;
	struct host **by_id;
	size_t by_id_len;

	struct host_tag **tags;
	size_t ntags;

	uint32_t hash;
	bool hash_valid;

	struct select_entry *scratch; /* HOSTS_MAX entries for rebuilds */
};

/* ---- director_mail_servers parsing ---- */

static bool
hosts_tag_is_valid(const char *tag, size_t len)
{
	size_t i;

	if (len > HOST_TAG_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tag[i];

		if (c <= ' ' || c >= 0x7f || c == '@' || c == '\t')
			return false;
	}
	return true;
}

/* Appends ip1..ip2 to the array; checks the Dovecot range rules. */
static int
hosts_spec_add_range(const struct ipaddr *ip1, const struct ipaddr *ip2,
    const char *tag, size_t taglen, struct hosts_spec_entry **arr,
    size_t *count, char *err, size_t errsize)
{
	struct ipaddr ip = *ip1;
	size_t prefix, n, i;
	uint32_t lo, hi;

	if (ip1->family != ip2->family) {
		snprintf(err, errsize, "IP range mixes IPv4 and IPv6");
		return -1;
	}
	prefix = ip1->family == IPADDR_FAMILY_V4 ? 3 : 14;
	if (memcmp(ip1->a, ip2->a, prefix) != 0) {
		snprintf(err, errsize, "IP range too large (%s)",
		    ip1->family == IPADDR_FAMILY_V4
			? "IPv4 ranges may differ only in the last 8 bits"
			: "IPv6 ranges may differ only in the last 16 bits");
		return -1;
	}
	if (ipaddr_cmp(ip1, ip2) > 0) {
		snprintf(err, errsize, "IP range is reversed");
		return -1;
	}
	if (ip1->family == IPADDR_FAMILY_V4) {
		lo = ip1->a[3];
		hi = ip2->a[3];
	} else {
		lo = ((uint32_t)ip1->a[14] << 8) | ip1->a[15];
		hi = ((uint32_t)ip2->a[14] << 8) | ip2->a[15];
	}
	n = hi - lo + 1;
	if (*count + n > HOSTS_MAX) {
		snprintf(err, errsize, "too many hosts (max %u)", HOSTS_MAX);
		return -1;
	}
	*arr = xreallocarray(*arr, *count + n, sizeof(**arr));
	for (i = 0; i < n; i++) {
		struct hosts_spec_entry *e = &(*arr)[*count + i];
		uint32_t v = lo + (uint32_t)i;

		if (ip.family == IPADDR_FAMILY_V4) {
			ip.a[3] = (uint8_t)v;
		} else {
			ip.a[14] = (uint8_t)(v >> 8);
			ip.a[15] = (uint8_t)v;
		}
		e->ip = ip;
		memcpy(e->tag, tag, taglen);
		e->tag[taglen] = '\0';
	}
	*count += n;
	return 0;
}

static int
hosts_spec_parse_token(const char *tok, size_t len,
    struct hosts_spec_entry **arr, size_t *count, char *err, size_t errsize)
{
	struct ipaddr ip1, ip2;
	const char *at, *dash, *tag = "";
	size_t alen = len, taglen = 0;

	at = memchr(tok, '@', len);
	if (at != NULL) {
		alen = (size_t)(at - tok);
		tag = at + 1;
		taglen = len - alen - 1;
		if (taglen == 0 || !hosts_tag_is_valid(tag, taglen)) {
			snprintf(err, errsize, "invalid tag in: %.*s",
			    (int)MIN_OF(len, 300), tok);
			return -1;
		}
	}
	if (alen == 0) {
		snprintf(err, errsize, "missing address in: %.*s",
		    (int)MIN_OF(len, 300), tok);
		return -1;
	}
	if (ipaddr_parse_n(tok, alen, &ip1) == 0)
		return hosts_spec_add_range(
		    &ip1, &ip1, tag, taglen, arr, count, err, errsize);
	dash = memchr(tok, '-', alen);
	if (dash != NULL &&
	    ipaddr_parse_n(tok, (size_t)(dash - tok), &ip1) == 0 &&
	    ipaddr_parse_n(dash + 1, alen - (size_t)(dash + 1 - tok), &ip2) ==
		0)
		return hosts_spec_add_range(
		    &ip1, &ip2, tag, taglen, arr, count, err, errsize);
	snprintf(err, errsize,
	    "hostnames are not supported in director_mail_servers: %.*s",
	    (int)MIN_OF(alen, 300), tok);
	return -1;
}

int
hosts_spec_parse(const char *spec, struct hosts_spec_entry **entries_r,
    size_t *count_r, char *err, size_t errsize)
{
	struct hosts_spec_entry *arr = NULL;
	size_t count = 0, len;
	const char *p = spec;

	for (;;) {
		p += strspn(p, " \t\r\n");
		if (*p == '\0')
			break;
		len = strcspn(p, " \t\r\n");
		if (hosts_spec_parse_token(p, len, &arr, &count, err, errsize) <
		    0) {
			free(arr);
			*entries_r = NULL;
			*count_r = 0;
			return -1;
		}
		p += len;
	}
	*entries_r = arr;
	*count_r = count;
	return 0;
}

/* ---- tags ---- */

static struct host_tag *
hosts_tag_get_or_create(struct hosts *hosts, const char *name)
{
	struct host_tag *tag = hosts_tag_lookup(hosts, name);

	if (tag != NULL)
		return tag;
	tag = xcalloc(1, sizeof(*tag));
	tag->name = xstrdup(name);
	tag->users = users_new(hosts->expire_secs);
	tag->sel = select_new(hosts->method);
	tag->sel_dirty = true;
	hosts->tags =
	    xreallocarray(hosts->tags, hosts->ntags + 1, sizeof(*hosts->tags));
	hosts->tags[hosts->ntags++] = tag;
	return tag;
}

struct host_tag *
hosts_tag_lookup(const struct hosts *hosts, const char *name)
{
	size_t i;

	if (name == NULL)
		name = "";
	for (i = 0; i < hosts->ntags; i++) {
		if (strcmp(hosts->tags[i]->name, name) == 0)
			return hosts->tags[i];
	}
	return NULL;
}

size_t
hosts_tag_count(const struct hosts *hosts)
{
	return hosts->ntags;
}

struct host_tag *
hosts_tag_get(const struct hosts *hosts, size_t i)
{
	return i < hosts->ntags ? hosts->tags[i] : NULL;
}

const char *
hosts_tag_name(const struct host_tag *tag)
{
	return tag->name;
}

struct users *
hosts_tag_users(struct host_tag *tag)
{
	return tag->users;
}

/* ---- host list ---- */

struct hosts *
hosts_new(enum select_method method, uint32_t expire_secs)
{
	struct hosts *hosts = xcalloc(1, sizeof(*hosts));

	hosts->method = method;
	hosts->expire_secs = expire_secs;
	hosts->scratch =
	    xreallocarray(NULL, HOSTS_MAX, sizeof(*hosts->scratch));
	return hosts;
}

void
hosts_free(struct hosts **_hosts)
{
	struct hosts *hosts = *_hosts;
	size_t i;

	if (hosts == NULL)
		return;
	for (i = 0; i < hosts->count; i++) {
		free(hosts->sorted[i]->name);
		free(hosts->sorted[i]);
	}
	for (i = 0; i < hosts->ntags; i++) {
		users_free(&hosts->tags[i]->users);
		select_free(&hosts->tags[i]->sel);
		free(hosts->tags[i]->name);
		free(hosts->tags[i]);
	}
	free(hosts->tags);
	free(hosts->sorted);
	free(hosts->by_id);
	free(hosts->scratch);
	free(hosts);
	*_hosts = NULL;
}

enum select_method
hosts_get_method(const struct hosts *hosts)
{
	return hosts->method;
}

/* Index of ip in sorted, or of where it would be inserted. */
static size_t
hosts_find_pos(
    const struct hosts *hosts, const struct ipaddr *ip, bool *found_r)
{
	size_t lo = 0, hi = hosts->count, mid;
	int c;

	*found_r = false;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = ipaddr_cmp(&hosts->sorted[mid]->ip, ip);
		if (c == 0) {
			*found_r = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
hosts_changed(struct hosts *hosts, struct host_tag *tag)
{
	hosts->hash_valid = false;
	if (tag != NULL)
		tag->sel_dirty = true;
}

struct host *
hosts_add(struct hosts *hosts, const struct ipaddr *ip, const char *tag,
    unsigned int vhost_count, const char **err_r)
{
	struct host *host;
	size_t pos, id;
	bool found;

	if (tag == NULL)
		tag = "";
	pos = hosts_find_pos(hosts, ip, &found);
	if (found) {
		*err_r = "host already exists";
		return NULL;
	}
	if (hosts->count >= HOSTS_MAX) {
		*err_r = "too many hosts";
		return NULL;
	}
	if (!hosts_tag_is_valid(tag, strlen(tag))) {
		*err_r = "invalid tag";
		return NULL;
	}
	if (vhost_count > HOST_VHOST_COUNT_MAX) {
		*err_r = "vhost count out of range";
		return NULL;
	}
	for (id = 0; id < hosts->by_id_len; id++) {
		if (hosts->by_id[id] == NULL)
			break;
	}
	if (id == hosts->by_id_len) {
		hosts->by_id =
		    xreallocarray(hosts->by_id, id + 1, sizeof(*hosts->by_id));
		hosts->by_id_len++;
	}
	host = xcalloc(1, sizeof(*host));
	host->id = (uint32_t)id;
	host->ip = *ip;
	ipaddr_format(ip, host->ip_str);
	host->tag = hosts_tag_get_or_create(hosts, tag);
	host->vhost_count = vhost_count;
	hosts->by_id[id] = host;
	hosts->sorted = xreallocarray(
	    hosts->sorted, hosts->count + 1, sizeof(*hosts->sorted));
	memmove(hosts->sorted + pos + 1, hosts->sorted + pos,
	    (hosts->count - pos) * sizeof(*hosts->sorted));
	hosts->sorted[pos] = host;
	hosts->count++;
	hosts_changed(hosts, host->tag);
	return host;
}

void
hosts_remove(struct hosts *hosts, struct host **_host)
{
	struct host *host = *_host;
	size_t pos;
	bool found;

	if (host == NULL)
		return;
	pos = hosts_find_pos(hosts, &host->ip, &found);
	assert(found && hosts->sorted[pos] == host);
	users_remove_host(host->tag->users, host->id);
	memmove(hosts->sorted + pos, hosts->sorted + pos + 1,
	    (hosts->count - pos - 1) * sizeof(*hosts->sorted));
	hosts->count--;
	hosts->by_id[host->id] = NULL;
	hosts_changed(hosts, host->tag);
	free(host->name);
	free(host);
	*_host = NULL;
}

struct host *
hosts_lookup(const struct hosts *hosts, const struct ipaddr *ip)
{
	size_t pos;
	bool found;

	pos = hosts_find_pos(hosts, ip, &found);
	return found ? hosts->sorted[pos] : NULL;
}

struct host *
hosts_lookup_id(const struct hosts *hosts, uint32_t id)
{
	return id < hosts->by_id_len ? hosts->by_id[id] : NULL;
}

size_t
hosts_count(const struct hosts *hosts)
{
	return hosts->count;
}

struct host *
hosts_get(const struct hosts *hosts, size_t i)
{
	return i < hosts->count ? hosts->sorted[i] : NULL;
}

int
hosts_set_name(struct hosts *hosts, struct host *host, const char *name)
{
	if (name != NULL && strlen(name) > HOST_NAME_MAX_LEN)
		return -1;
	free(host->name);
	host->name = name == NULL ? NULL : xstrdup(name);
	return 0;
}

void
hosts_set_vhost_count(
    struct hosts *hosts, struct host *host, unsigned int vhost_count)
{
	vhost_count = MIN_OF(vhost_count, HOST_VHOST_COUNT_MAX);
	if (host->vhost_count == vhost_count)
		return;
	host->vhost_count = vhost_count;
	hosts_changed(hosts, host->tag);
}

void
hosts_set_down(struct hosts *hosts, struct host *host, bool down, uint32_t now)
{
	if (host->down == down)
		return;
	host->down = down;
	host->last_updown_change = now;
	hosts_changed(hosts, host->tag);
}

void
hosts_set_healthy(struct hosts *hosts, struct host *host, bool healthy)
{
	if (host->unhealthy == !healthy)
		return;
	host->unhealthy = !healthy;
	/* health is ours only: it does not enter hosts_hash */
	host->tag->sel_dirty = true;
}

void
hosts_set_desynced(struct hosts *hosts, struct host *host, bool desynced)
{
	host->desynced = desynced;
}

int
hosts_set_tag(struct hosts *hosts, struct host *host, const char *tag)
{
	if (tag == NULL)
		tag = "";
	if (!hosts_tag_is_valid(tag, strlen(tag)))
		return -1;
	if (strcmp(host->tag->name, tag) == 0)
		return 0;
	users_remove_host(host->tag->users, host->id);
	hosts_changed(hosts, host->tag);
	host->tag = hosts_tag_get_or_create(hosts, tag);
	hosts_changed(hosts, host->tag);
	return 0;
}

size_t
hosts_flush_users(struct hosts *hosts, struct host *host, uint32_t now)
{
	if (now > host->flushed_ts)
		host->flushed_ts = now;
	return users_remove_host(host->tag->users, host->id);
}

size_t
hosts_user_count(const struct hosts *hosts, const struct host *host)
{
	return users_host_count(host->tag->users, host->id);
}

/* ---- hashing and routing ---- */

static uint32_t
hosts_crc_u32(uint32_t crc, uint32_t num)
{
	uint8_t b[4];

	b[0] = (uint8_t)num;
	b[1] = (uint8_t)(num >> 8);
	b[2] = (uint8_t)(num >> 16);
	b[3] = (uint8_t)(num >> 24);
	return crc32_update(crc, b, sizeof(b));
}

uint32_t
hosts_hash(struct hosts *hosts)
{
	uint32_t crc = 0;
	size_t i;

	if (hosts->hash_valid)
		return hosts->hash;
	for (i = 0; i < hosts->count; i++) {
		const struct host *h = hosts->sorted[i];

		crc = hosts_crc_u32(crc, (h->down ? 1u : 0u) ^ h->vhost_count);
		crc = hosts_crc_u32(crc, ipaddr_hash(&h->ip));
		crc = crc32_update(crc, h->tag->name, strlen(h->tag->name));
	}
	hosts->hash = crc == 0 ? 1 : crc;
	hosts->hash_valid = true;
	return hosts->hash;
}

static void
hosts_tag_rebuild(struct hosts *hosts, struct host_tag *tag)
{
	size_t i, n = 0;

	for (i = 0; i < hosts->count; i++) {
		const struct host *h = hosts->sorted[i];

		if (h->tag != tag || h->down || h->unhealthy ||
		    h->vhost_count == 0)
			continue;
		hosts->scratch[n].ip = h->ip;
		hosts->scratch[n].weight = h->vhost_count;
		hosts->scratch[n].id = h->id;
		n++;
	}
	select_build(tag->sel, hosts->scratch, n);
	tag->sel_dirty = false;
}

static struct host *
hosts_tag_select(struct hosts *hosts, struct host_tag *tag, uint32_t user_hash)
{
	uint32_t id;

	if (tag->sel_dirty)
		hosts_tag_rebuild(hosts, tag);
	if (select_pick(tag->sel, user_hash, &id) < 0)
		return NULL;
	return hosts->by_id[id];
}

struct host *
hosts_select(struct hosts *hosts, const char *tag, uint32_t user_hash)
{
	struct host_tag *t = hosts_tag_lookup(hosts, tag);

	return t == NULL ? NULL : hosts_tag_select(hosts, t, user_hash);
}

struct host *
hosts_route_user(struct hosts *hosts, const char *tag, uint32_t user_hash,
    uint32_t now, bool *created_r)
{
	struct host_tag *t = hosts_tag_lookup(hosts, tag);
	struct host *host;
	struct user *u;

	*created_r = false;
	if (t == NULL)
		return NULL;
	u = users_lookup(t->users, user_hash, now);
	if (u != NULL) {
		users_refresh(t->users, u, now, now);
		return hosts->by_id[u->host];
	}
	host = hosts_tag_select(hosts, t, user_hash);
	if (host == NULL)
		return NULL;
	if (users_add(t->users, user_hash, host->id, now, now) != NULL)
		*created_r = true;
	return host;
}

size_t
hosts_expire_users(struct hosts *hosts, uint32_t now)
{
	size_t i, n = 0;

	for (i = 0; i < hosts->ntags; i++)
		n += users_expire(hosts->tags[i]->users, now);
	return n;
}

/*
 * users.c - user directory: slab-allocated records, an open-addressing
 * index and a timestamp-ordered list.
 *
 * Layout: record i lives in slabs[i >> USERS_SLAB_BITS].  The index is a
 * power-of-two table of uint64 slots, (hash << 32) | (record + 1), 0 =
 * empty, home slot = murmur3-finaliser(hash ^ random seed), linear
 * probing with backward-shift deletion (no tombstones), at most 3/4 full.
 * That is 24 bytes per record plus 10.7-21 bytes of table per user, well
 * under the 64-byte budget.  Free records are chained through `next`.
 */
#include "compat.h"

#include "users.h"
#include "xmalloc.h"

#define USERS_SLAB_BITS 12
#define USERS_SLAB_SIZE (1u << USERS_SLAB_BITS)
#define USERS_TABLE_MIN_BITS 4
#define USERS_IDX_NONE UINT32_MAX

struct users {
	uint32_t expire_secs;
	/*
	 * Random per directory: user hashes come from user names a client
	 * chooses, so slot positions must not be predictable (probe-chain
	 * flooding).  Only the table layout depends on it, never a result.
	 */
	uint32_t seed;
	size_t count;

	uint64_t *table;
	unsigned int table_bits;
	size_t table_mask;

	struct user **slabs;
	size_t nslabs;
	uint32_t nrecords; /* records ever handed out (high-water mark) */
	uint32_t free_head;

	uint32_t head, tail;

	uint32_t *host_counts;
	size_t host_counts_len;
};

static inline struct user *
users_rec(const struct users *users, uint32_t idx)
{
	return &users->slabs[idx >> USERS_SLAB_BITS]
			    [idx & (USERS_SLAB_SIZE - 1)];
}

static inline size_t
users_home(const struct users *users, uint32_t hash)
{
	uint32_t h = hash ^ users->seed;

	/* murmur3 finaliser */
	h ^= h >> 16;
	h *= 0x85EBCA6Bu;
	h ^= h >> 13;
	h *= 0xC2B2AE35u;
	h ^= h >> 16;
	return h >> (32 - users->table_bits);
}

static void
users_table_alloc(struct users *users, unsigned int bits)
{
	users->table_bits = bits;
	users->table_mask = ((size_t)1 << bits) - 1;
	users->table = xcalloc((size_t)1 << bits, sizeof(uint64_t));
}

struct users *
users_new(uint32_t expire_secs)
{
	struct users *users = xcalloc(1, sizeof(*users));

	users->expire_secs = expire_secs > 0 ? expire_secs : 1;
	users->seed = arc4random();
	users_table_alloc(users, USERS_TABLE_MIN_BITS);
	users->free_head = USERS_IDX_NONE;
	users->head = users->tail = USERS_IDX_NONE;
	return users;
}

void
users_free(struct users **_users)
{
	struct users *users = *_users;
	size_t i;

	if (users == NULL)
		return;
	for (i = 0; i < users->nslabs; i++)
		free(users->slabs[i]);
	free(users->slabs);
	free(users->table);
	free(users->host_counts);
	free(users);
	*_users = NULL;
}

/* Table slot holding hash, or the empty slot where it would go. */
static size_t
users_find_slot(const struct users *users, uint32_t hash)
{
	size_t i = users_home(users, hash);
	uint64_t s;

	while ((s = users->table[i]) != 0 && (uint32_t)(s >> 32) != hash)
		i = (i + 1) & users->table_mask;
	return i;
}

static void
users_table_grow(struct users *users)
{
	uint64_t *old = users->table;
	size_t i, j, oldsize = users->table_mask + 1;

	users_table_alloc(users, users->table_bits + 1);
	for (i = 0; i < oldsize; i++) {
		if (old[i] == 0)
			continue;
		j = users_home(users, (uint32_t)(old[i] >> 32));
		while (users->table[j] != 0)
			j = (j + 1) & users->table_mask;
		users->table[j] = old[i];
	}
	free(old);
}

static void
users_table_delete(struct users *users, size_t i)
{
	size_t j = i, k, mask = users->table_mask;

	for (;;) {
		j = (j + 1) & mask;
		if (users->table[j] == 0)
			break;
		k = users_home(users, (uint32_t)(users->table[j] >> 32));
		/* Leave it if its home lies cyclically in (i, j]. */
		if (((j - k) & mask) < ((j - i) & mask))
			continue;
		users->table[i] = users->table[j];
		i = j;
	}
	users->table[i] = 0;
}

static void
users_count_adjust(struct users *users, uint32_t host, int delta)
{
	size_t newlen;

	if (host == USERS_HOST_NONE)
		return;
	if (host >= users->host_counts_len) {
		newlen = MAX_OF((size_t)host + 1, users->host_counts_len * 2);
		users->host_counts =
		    xreallocarray(users->host_counts, newlen, sizeof(uint32_t));
		memset(users->host_counts + users->host_counts_len, 0,
		    (newlen - users->host_counts_len) * sizeof(uint32_t));
		users->host_counts_len = newlen;
	}
	users->host_counts[host] += (uint32_t)delta;
}

static uint32_t
users_rec_alloc(struct users *users)
{
	uint32_t idx;

	if (users->free_head != USERS_IDX_NONE) {
		idx = users->free_head;
		users->free_head = users_rec(users, idx)->next;
		return idx;
	}
	if (users->nrecords == users->nslabs * USERS_SLAB_SIZE) {
		users->slabs = xreallocarray(
		    users->slabs, users->nslabs + 1, sizeof(*users->slabs));
		users->slabs[users->nslabs++] =
		    xreallocarray(NULL, USERS_SLAB_SIZE, sizeof(struct user));
	}
	return users->nrecords++;
}

static void
users_list_unlink(struct users *users, struct user *u)
{
	if (u->prev != USERS_IDX_NONE)
		users_rec(users, u->prev)->next = u->next;
	else
		users->head = u->next;
	if (u->next != USERS_IDX_NONE)
		users_rec(users, u->next)->prev = u->prev;
	else
		users->tail = u->prev;
}

/* Links record idx after the last record whose timestamp <= its own. */
static void
users_list_insert(struct users *users, uint32_t idx)
{
	struct user *u = users_rec(users, idx);
	uint32_t at = users->tail;

	while (at != USERS_IDX_NONE &&
	    users_rec(users, at)->timestamp > u->timestamp)
		at = users_rec(users, at)->prev;
	u->prev = at;
	if (at == USERS_IDX_NONE) {
		u->next = users->head;
		users->head = idx;
	} else {
		u->next = users_rec(users, at)->next;
		users_rec(users, at)->next = idx;
	}
	if (u->next != USERS_IDX_NONE)
		users_rec(users, u->next)->prev = idx;
	else
		users->tail = idx;
}

static inline uint32_t
users_list_idx(const struct users *users, const struct user *u)
{
	/* A record's index is reachable from its list neighbours. */
	if (u->prev != USERS_IDX_NONE)
		return users_rec(users, u->prev)->next;
	return users->head;
}

bool
users_is_expired(
    const struct users *users, const struct user *user, uint32_t now)
{
	return (uint64_t)user->timestamp + users->expire_secs <= now;
}

struct user *
users_lookup(struct users *users, uint32_t hash, uint32_t now)
{
	uint64_t s = users->table[users_find_slot(users, hash)];
	struct user *u;

	if (s == 0)
		return NULL;
	u = users_rec(users, (uint32_t)s - 1);
	return users_is_expired(users, u, now) ? NULL : u;
}

struct user *
users_add(struct users *users, uint32_t hash, uint32_t host, uint32_t ts,
    uint32_t now)
{
	struct user *u;
	size_t slot;
	uint32_t idx;

	ts = MIN_OF(ts, now);
	if ((uint64_t)ts + users->expire_secs <= now)
		return NULL;
	slot = users_find_slot(users, hash);
	if (users->table[slot] != 0) {
		u = users_rec(users, (uint32_t)users->table[slot] - 1);
		users_set_host(users, u, host);
		users_refresh(users, u, ts, now);
		return u;
	}
	if (users->count >= USERS_MAX)
		return NULL;
	if ((users->count + 1) * 4 > (users->table_mask + 1) * 3) {
		users_table_grow(users);
		slot = users_find_slot(users, hash);
	}
	idx = users_rec_alloc(users);
	u = users_rec(users, idx);
	u->hash = hash;
	u->host = host;
	u->timestamp = ts;
	u->flags = 0;
	users->table[slot] = ((uint64_t)hash << 32) | ((uint64_t)idx + 1);
	users_list_insert(users, idx);
	users->count++;
	users_count_adjust(users, host, 1);
	return u;
}

void
users_refresh(struct users *users, struct user *user, uint32_t ts, uint32_t now)
{
	uint32_t idx, newts = MIN_OF(ts, now);

	if (newts <= user->timestamp)
		return;
	user->timestamp = newts;
	if (user->next == USERS_IDX_NONE ||
	    users_rec(users, user->next)->timestamp >= newts)
		return;
	idx = users_list_idx(users, user);
	users_list_unlink(users, user);
	users_list_insert(users, idx);
}

void
users_set_host(struct users *users, struct user *user, uint32_t host)
{
	if (user->host == host)
		return;
	users_count_adjust(users, user->host, -1);
	users_count_adjust(users, host, 1);
	user->host = host;
}

void
users_remove(struct users *users, struct user *user)
{
	uint32_t idx = users_list_idx(users, user);

	users_table_delete(users, users_find_slot(users, user->hash));
	users_list_unlink(users, user);
	users_count_adjust(users, user->host, -1);
	users->count--;
	user->next = users->free_head;
	user->prev = USERS_IDX_NONE;
	users->free_head = idx;
}

size_t
users_expire(struct users *users, uint32_t now)
{
	struct user *u, *next;
	size_t n = 0;

	for (u = users_first(users); u != NULL; u = next) {
		if (!users_is_expired(users, u, now))
			break;
		next = users_next(users, u);
		if ((u->flags & USER_FLAG_KILLING) != 0)
			continue;
		users_remove(users, u);
		n++;
	}
	return n;
}

size_t
users_remove_host(struct users *users, uint32_t host)
{
	struct user *u, *next;
	size_t n = 0;

	for (u = users_first(users); u != NULL; u = next) {
		next = users_next(users, u);
		if (u->host == host) {
			users_remove(users, u);
			n++;
		}
	}
	return n;
}

struct user *
users_first(struct users *users)
{
	return users->head == USERS_IDX_NONE ? NULL
					     : users_rec(users, users->head);
}

struct user *
users_next(struct users *users, const struct user *user)
{
	return user->next == USERS_IDX_NONE ? NULL
					    : users_rec(users, user->next);
}

struct user *
users_next_on_host(struct users *users, const struct user *user, uint32_t host)
{
	struct user *u;

	u = user == NULL ? users_first(users) : users_next(users, user);
	while (u != NULL && u->host != host)
		u = users_next(users, u);
	return u;
}

size_t
users_count(const struct users *users)
{
	return users->count;
}

size_t
users_host_count(const struct users *users, uint32_t host)
{
	return host < users->host_counts_len ? users->host_counts[host] : 0;
}

uint32_t
users_expire_secs(const struct users *users)
{
	return users->expire_secs;
}

size_t
users_memory_bytes(const struct users *users)
{
	return sizeof(*users) + (users->table_mask + 1) * sizeof(uint64_t) +
	    users->nslabs *
	    (USERS_SLAB_SIZE * sizeof(struct user) + sizeof(struct user *)) +
	    users->host_counts_len * sizeof(uint32_t);
}

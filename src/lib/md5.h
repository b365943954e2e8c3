/*
 * md5.h - MD5 (RFC 1321) and CRC-32 (IEEE 802.3, as in zlib).
 *
 * Both are used for routing decisions that every director of a ring must
 * compute identically (user hashes, vhost ring points, hosts_hash), so they
 * are implemented here bit-exactly and tested against the published check
 * values.  No allocation, no global state except a constant table.
 */
#ifndef DIRECTOR_MD5_H
#define DIRECTOR_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN 16
#define MD5_BLOCK_LEN 64

struct md5_ctx {
	uint32_t state[4];
	uint64_t total; /* bytes hashed so far */
	uint8_t block[MD5_BLOCK_LEN];
};

/* Starts a new digest. */
void md5_init(struct md5_ctx *ctx);
/* Feeds len bytes; may be called any number of times. */
void md5_update(struct md5_ctx *ctx, const void *data, size_t len);
/* Writes the 16-byte digest to digest_r; ctx must be re-initialised after. */
void md5_final(struct md5_ctx *ctx, uint8_t digest_r[MD5_DIGEST_LEN]);
/* One-shot MD5 of len bytes. */
void md5_get_digest(
    const void *data, size_t len, uint8_t digest_r[MD5_DIGEST_LEN]);
/* First 4 digest bytes of MD5(data) read as a big-endian integer. */
uint32_t md5_get_u32_be(const void *data, size_t len);

/*
 * Continues a CRC-32 over len more bytes.  Start with crc = 0; the
 * pre/post inversion is done inside, so calls chain:
 * crc32_update(crc32_update(0, a, n), b, m) == CRC-32 of a||b, and
 * crc32_update(0, "123456789", 9) == 0xCBF43926.
 */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif

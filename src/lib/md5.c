/*
 * md5.c - MD5 per RFC 1321 and the reflected IEEE CRC-32.
 *
 * Invariants: md5_ctx.block holds (total % 64) pending bytes; the CRC
 * table is computed at compile time from the polynomial 0xEDB88320, so
 * there is no lazy initialisation to race on.
 */
#include "compat.h"

#include "md5.h"

#define ROTL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* Per-round shift amounts (RFC 1321 section 3.4). */
static const uint8_t md5_shift[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17,
    22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

/* T[i] = floor(abs(sin(i + 1)) * 2^32). */
static const uint32_t md5_t[64] = {0xd76aa478, 0xe8c7b756, 0x242070db,
    0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
    0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e,
    0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
    0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942,
    0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60,
    0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
    0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7,
    0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1, 0x6fa87e4f,
    0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391};

static void
md5_transform(uint32_t state[4], const uint8_t block[MD5_BLOCK_LEN])
{
	uint32_t m[16], a, b, c, d, f, tmp;
	unsigned int i, g;

	for (i = 0; i < 16; i++) {
		m[i] = (uint32_t)block[i * 4] |
		    ((uint32_t)block[i * 4 + 1] << 8) |
		    ((uint32_t)block[i * 4 + 2] << 16) |
		    ((uint32_t)block[i * 4 + 3] << 24);
	}
	a = state[0];
	b = state[1];
	c = state[2];
	d = state[3];
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		tmp = d;
		d = c;
		c = b;
		b = b + ROTL32(a + f + md5_t[i] + m[g], md5_shift[i]);
		a = tmp;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
}

void
md5_init(struct md5_ctx *ctx)
{
	ctx->state[0] = 0x67452301;
	ctx->state[1] = 0xefcdab89;
	ctx->state[2] = 0x98badcfe;
	ctx->state[3] = 0x10325476;
	ctx->total = 0;
}

void
md5_update(struct md5_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = ctx->total % MD5_BLOCK_LEN, n;

	ctx->total += len;
	if (used > 0) {
		n = MIN_OF(len, MD5_BLOCK_LEN - used);
		memcpy(ctx->block + used, p, n);
		p += n;
		len -= n;
		if (used + n < MD5_BLOCK_LEN)
			return;
		md5_transform(ctx->state, ctx->block);
	}
	for (; len >= MD5_BLOCK_LEN; p += MD5_BLOCK_LEN, len -= MD5_BLOCK_LEN)
		md5_transform(ctx->state, p);
	if (len > 0)
		memcpy(ctx->block, p, len);
}

void
md5_final(struct md5_ctx *ctx, uint8_t digest_r[MD5_DIGEST_LEN])
{
	static const uint8_t pad[MD5_BLOCK_LEN] = {0x80};
	uint64_t bits = ctx->total * 8;
	uint8_t lenbuf[8];
	size_t used = ctx->total % MD5_BLOCK_LEN;
	unsigned int i;

	for (i = 0; i < 8; i++)
		lenbuf[i] = (uint8_t)(bits >> (8 * i));
	/* Pad to 56 mod 64, then append the bit length little-endian. */
	md5_update(ctx, pad, used < 56 ? 56 - used : 120 - used);
	md5_update(ctx, lenbuf, sizeof(lenbuf));
	for (i = 0; i < 16; i++)
		digest_r[i] = (uint8_t)(ctx->state[i / 4] >> (8 * (i % 4)));
	explicit_bzero(ctx, sizeof(*ctx));
}

void
md5_get_digest(const void *data, size_t len, uint8_t digest_r[MD5_DIGEST_LEN])
{
	struct md5_ctx ctx;

	md5_init(&ctx);
	md5_update(&ctx, data, len);
	md5_final(&ctx, digest_r);
}

uint32_t
md5_get_u32_be(const void *data, size_t len)
{
	uint8_t d[MD5_DIGEST_LEN];

	md5_get_digest(data, len, d);
	return ((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) |
	    ((uint32_t)d[2] << 8) | d[3];
}

/* CRC-32 table for the reflected polynomial 0xEDB88320, built per byte. */
#define CRC_POLY 0xEDB88320u
#define CRC_B1(c) (((c)&1) ? ((c) >> 1) ^ CRC_POLY : (c) >> 1)
#define CRC_B2(c) CRC_B1(CRC_B1(c))
#define CRC_B4(c) CRC_B2(CRC_B2(c))
#define CRC_B8(c) CRC_B4(CRC_B4(c))
#define CRC_E(n) CRC_B8((uint32_t)(n))
#define CRC_E4(n) CRC_E(n), CRC_E((n) + 1), CRC_E((n) + 2), CRC_E((n) + 3)
#define CRC_E16(n) CRC_E4(n), CRC_E4((n) + 4), CRC_E4((n) + 8), CRC_E4((n) + 12)
#define CRC_E64(n)                                                             \
	CRC_E16(n), CRC_E16((n) + 16), CRC_E16((n) + 32), CRC_E16((n) + 48)

static const uint32_t crc32_table[256] = {
    CRC_E64(0), CRC_E64(64), CRC_E64(128), CRC_E64(192)};

uint32_t
crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len-- > 0)
		crc = crc32_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

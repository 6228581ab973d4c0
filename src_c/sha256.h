/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) for fastsig's signing kernels.
 *
 * The compression function is chosen once at run time: the x86-64 SHA extensions (SHA-NI),
 * the ARMv8 SHA-2 instructions, or portable C. Every implementation the CPU can run can be
 * selected by name, so the tests exercise each one, not only the one dispatch picks.
 */
#ifndef FASTSIG_SHA256_H
#define FASTSIG_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fs_sha256_blocks_fn)(uint32_t state[8], const uint8_t *data, size_t nblocks);

typedef struct {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t buffer[64];
    size_t buffered;      /* bytes waiting in buffer */
} fs_sha256_ctx;

/* The precomputed inner and outer states of HMAC-SHA256 under one key. */
typedef struct {
    fs_sha256_ctx inner;
    fs_sha256_ctx outer;
} fs_hmac_key;

extern const uint32_t fs_sha256_k[64];

void fs_sha256_blocks_portable(uint32_t state[8], const uint8_t *data, size_t nblocks);
int fs_sha256_shani_supported(void);
void fs_sha256_blocks_shani(uint32_t state[8], const uint8_t *data, size_t nblocks);
void fs_sha256_block_shani_x2(uint32_t state_a[8], const uint8_t *data_a,
                              uint32_t state_b[8], const uint8_t *data_b);
int fs_sha256_armv8_supported(void);
void fs_sha256_blocks_armv8(uint32_t state[8], const uint8_t *data, size_t nblocks);

/* Picks the fastest implementation the CPU supports; returns its name. */
const char *fs_sha256_autoselect(void);
/* Forces "portable", "shani" or "armv8"; returns 0 on success, -1 if the CPU lacks it. */
int fs_sha256_select(const char *name);
const char *fs_sha256_selected(void);

void fs_sha256_init(fs_sha256_ctx *ctx);
void fs_sha256_update(fs_sha256_ctx *ctx, const void *data, size_t len);
void fs_sha256_final(fs_sha256_ctx *ctx, uint8_t digest[32]);
void fs_sha256(const void *data, size_t len, uint8_t digest[32]);

void fs_hmac_init(fs_hmac_key *key, const uint8_t *secret, size_t len);
void fs_hmac(const fs_hmac_key *key, const void *msg, size_t len, uint8_t mac[32]);
/* The HMAC of a message whose start is already hashed into `start` (a copy of key->inner,
 * updated): the rest is `msg`. Messages that share a prefix hash it once. */
void fs_hmac_from(const fs_hmac_key *key, const fs_sha256_ctx *start, const void *msg,
                  size_t len, uint8_t mac[32]);

/* Two messages at once, each continuing its own context (copied, not changed) and finished:
 * what fs_sha256_update then fs_sha256_final give, faster where the CPU can interleave two
 * compressions (SHA-NI). */
void fs_sha256_final_x2(const fs_sha256_ctx *start_a, const void *msg_a, size_t len_a,
                        uint8_t digest_a[32], const fs_sha256_ctx *start_b, const void *msg_b,
                        size_t len_b, uint8_t digest_b[32]);
/* fs_hmac_from of two messages under one key and start. */
void fs_hmac_from_x2(const fs_hmac_key *key, const fs_sha256_ctx *start, const void *msg_a,
                     size_t len_a, uint8_t mac_a[32], const void *msg_b, size_t len_b,
                     uint8_t mac_b[32]);

/* Lowercase hex of n bytes into out (2n characters, no terminator). */
void fs_hex(const uint8_t *in, size_t n, char *out);

#endif

/* SHA-256 compression with the ARMv8 SHA-2 instructions (vsha256h/h2/su0/su1).
 *
 * Each group of four rounds: sha256h/sha256h2 on W+K, while sha256su0/su1 turn the oldest
 * four schedule words into the ones needed four groups later.
 */
#include "sha256.h"

#if defined(__aarch64__) || defined(_M_ARM64)
#define FASTSIG_ARM64 1
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif
#elif defined(_WIN32)
#include <windows.h>
#endif
#if defined(__clang__)
#define FS_TARGET_SHA2 __attribute__((target("sha2")))
#elif defined(__GNUC__)
#define FS_TARGET_SHA2 __attribute__((target("+crypto")))
#else
#define FS_TARGET_SHA2
#endif
#endif

#ifdef FASTSIG_ARM64

int fs_sha256_armv8_supported(void)
{
#if defined(__APPLE__)
    return 1; /* every Apple arm64 CPU has the SHA-2 instructions */
#elif defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
#elif defined(_WIN32)
    return IsProcessorFeaturePresent(PF_ARM_V8_CRYPTO_INSTRUCTIONS_AVAILABLE) != 0;
#else
    return 0;
#endif
}

FS_TARGET_SHA2
void fs_sha256_blocks_armv8(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
    uint32x4_t abcd = vld1q_u32(&state[0]);
    uint32x4_t efgh = vld1q_u32(&state[4]);
    while (nblocks--) {
        uint32x4_t m[4], abcd_save = abcd, efgh_save = efgh;
        int g;
        for (g = 0; g < 4; g++)
            m[g] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 16 * g)));
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 16
#endif
        for (g = 0; g < 16; g++) {
            uint32x4_t wk = vaddq_u32(m[g & 3], vld1q_u32(&fs_sha256_k[4 * g]));
            uint32x4_t abcd_prev = abcd;
            if (g < 12) /* W[4g+16..4g+19] from W[4g..4g+15] */
                m[g & 3] = vsha256su1q_u32(vsha256su0q_u32(m[g & 3], m[(g + 1) & 3]),
                                           m[(g + 2) & 3], m[(g + 3) & 3]);
            abcd = vsha256hq_u32(abcd, efgh, wk);
            efgh = vsha256h2q_u32(efgh, abcd_prev, wk);
        }
        abcd = vaddq_u32(abcd, abcd_save);
        efgh = vaddq_u32(efgh, efgh_save);
        data += 64;
    }
    vst1q_u32(&state[0], abcd);
    vst1q_u32(&state[4], efgh);
}

#else /* not arm64 */

int fs_sha256_armv8_supported(void) { return 0; }

void fs_sha256_blocks_armv8(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
    fs_sha256_blocks_portable(state, data, nblocks);
}

#endif

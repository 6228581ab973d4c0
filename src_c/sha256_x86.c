/* SHA-256 compression with the x86-64 SHA extensions (SHA-NI).
 *
 * The message schedule runs ahead of the rounds as in Intel's reference ordering:
 * sha256msg1 starts W[t+12..] three groups early, alignr + sha256msg2 finish W[t+4..] one
 * group early, so the rounds never wait on the schedule. Written as a loop over the 16
 * groups of four rounds; the compiler unrolls it (the conditions are constant per group).
 */
#include "sha256.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FASTSIG_X86 1
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define FS_TARGET_SHA
#else
#include <cpuid.h>
#define FS_TARGET_SHA __attribute__((target("sha,sse4.1,ssse3")))
#endif
#endif

#ifdef FASTSIG_X86

int fs_sha256_shani_supported(void)
{
    unsigned int a, b, c, d;
#if defined(_MSC_VER) && !defined(__clang__)
    int regs[4];
    __cpuid(regs, 0);
    if (regs[0] < 7)
        return 0;
    __cpuid(regs, 1);
    c = (unsigned int)regs[2];
    __cpuidex(regs, 7, 0);
    b = (unsigned int)regs[1];
    (void)a; (void)d;
#else
    if (__get_cpuid_max(0, 0) < 7)
        return 0;
    __cpuid(1, a, b, c, d);
    {
        unsigned int c1 = c;
        __cpuid_count(7, 0, a, b, c, d);
        c = c1;
    }
#endif
    /* SHA (leaf 7 EBX bit 29), SSE4.1 (leaf 1 ECX bit 19), SSSE3 (leaf 1 ECX bit 9). */
    return (b >> 29 & 1) && (c >> 19 & 1) && (c >> 9 & 1);
}

FS_TARGET_SHA
void fs_sha256_blocks_shani(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp, state0, state1, msg, m[4], abef_save, cdgh_save;
    int g;

    /* state[] is A..H; the instructions want ABEF and CDGH. */
    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);    /* CDAB */
    state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B); /* EFGH */
    state0 = _mm_alignr_epi8(tmp, state1, 8);                                       /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                    /* CDGH */

    while (nblocks--) {
        abef_save = state0;
        cdgh_save = state1;
        /* Fully unrolled, m[] lives in registers and every condition below is resolved at
         * compile time. */
#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 16
#endif
        for (g = 0; g < 16; g++) {
            if (g < 4)
                m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), byteswap);
            msg = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&fs_sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            if (g >= 3 && g <= 14) {
                /* Finish W[4g+4..4g+7] = msg2(msg1(..) + W[4g-3..4g], W[4g..4g+3]). */
                tmp = _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4);
                m[(g + 1) & 3] = _mm_add_epi32(m[(g + 1) & 3], tmp);
                m[(g + 1) & 3] = _mm_sha256msg2_epu32(m[(g + 1) & 3], m[g & 3]);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
            if (g >= 1 && g <= 12) /* start W[4g+12..4g+15] */
                m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
        }
        state0 = _mm_add_epi32(state0, abef_save);
        state1 = _mm_add_epi32(state1, cdgh_save);
        data += 64;
    }

    tmp = _mm_shuffle_epi32(state0, 0x1B);        /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);     /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);  /* DCBA */
    state1 = _mm_alignr_epi8(state1, tmp, 8);     /* ABEF -> HGFE */
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
}

/* Two independent messages, one block each, their rounds interleaved. sha256rnds2 waits on
 * the previous one's result (a latency of about twice its issue interval on current cores),
 * so one message leaves the SHA unit idle half the time; a second fills those gaps. Bulk
 * presigning hashes two canonical requests, then two strings to sign, this way. */
FS_TARGET_SHA
void fs_sha256_block_shani_x2(uint32_t state_a[8], const uint8_t *data_a,
                              uint32_t state_b[8], const uint8_t *data_b)
{
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp, msg, tmp_b, msg_b;
    __m128i s0, s1, m[4], save0, save1, s0_b, s1_b, m_b[4], save0_b, save1_b;
    int g;

    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state_a[0]), 0xB1);
    s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state_a[4]), 0x1B);
    s0 = _mm_alignr_epi8(tmp, s1, 8);
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);
    tmp_b = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state_b[0]), 0xB1);
    s1_b = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state_b[4]), 0x1B);
    s0_b = _mm_alignr_epi8(tmp_b, s1_b, 8);
    s1_b = _mm_blend_epi16(s1_b, tmp_b, 0xF0);
    save0 = s0;
    save1 = s1;
    save0_b = s0_b;
    save1_b = s1_b;

#if defined(__clang__)
#pragma clang loop unroll(full)
#elif defined(__GNUC__)
#pragma GCC unroll 16
#endif
    for (g = 0; g < 16; g++) {
        const __m128i k = _mm_loadu_si128((const __m128i *)&fs_sha256_k[4 * g]);
        if (g < 4) {
            m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_a + 16 * g)), byteswap);
            m_b[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_b + 16 * g)), byteswap);
        }
        msg = _mm_add_epi32(m[g & 3], k);
        msg_b = _mm_add_epi32(m_b[g & 3], k);
        s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
        s1_b = _mm_sha256rnds2_epu32(s1_b, s0_b, msg_b);
        if (g >= 3 && g <= 14) {
            tmp = _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4);
            tmp_b = _mm_alignr_epi8(m_b[g & 3], m_b[(g - 1) & 3], 4);
            m[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(m[(g + 1) & 3], tmp), m[g & 3]);
            m_b[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(m_b[(g + 1) & 3], tmp_b),
                                                    m_b[g & 3]);
        }
        msg = _mm_shuffle_epi32(msg, 0x0E);
        msg_b = _mm_shuffle_epi32(msg_b, 0x0E);
        s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
        s0_b = _mm_sha256rnds2_epu32(s0_b, s1_b, msg_b);
        if (g >= 1 && g <= 12) {
            m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
            m_b[(g - 1) & 3] = _mm_sha256msg1_epu32(m_b[(g - 1) & 3], m_b[g & 3]);
        }
    }
    s0 = _mm_add_epi32(s0, save0);
    s1 = _mm_add_epi32(s1, save1);
    s0_b = _mm_add_epi32(s0_b, save0_b);
    s1_b = _mm_add_epi32(s1_b, save1_b);

    tmp = _mm_shuffle_epi32(s0, 0x1B);
    s1 = _mm_shuffle_epi32(s1, 0xB1);
    _mm_storeu_si128((__m128i *)&state_a[0], _mm_blend_epi16(tmp, s1, 0xF0));
    _mm_storeu_si128((__m128i *)&state_a[4], _mm_alignr_epi8(s1, tmp, 8));
    tmp_b = _mm_shuffle_epi32(s0_b, 0x1B);
    s1_b = _mm_shuffle_epi32(s1_b, 0xB1);
    _mm_storeu_si128((__m128i *)&state_b[0], _mm_blend_epi16(tmp_b, s1_b, 0xF0));
    _mm_storeu_si128((__m128i *)&state_b[4], _mm_alignr_epi8(s1_b, tmp_b, 8));
}

#else /* not x86 */

int fs_sha256_shani_supported(void) { return 0; }

void fs_sha256_blocks_shani(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
    fs_sha256_blocks_portable(state, data, nblocks);
}

void fs_sha256_block_shani_x2(uint32_t state_a[8], const uint8_t *data_a,
                              uint32_t state_b[8], const uint8_t *data_b)
{
    fs_sha256_blocks_portable(state_a, data_a, 1);
    fs_sha256_blocks_portable(state_b, data_b, 1);
}

#endif

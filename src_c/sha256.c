/* Portable SHA-256, the streaming layer, HMAC and dispatch. */
#include "sha256.h"

#include <string.h>

const uint32_t fs_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t initial_state[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* A word at a time: GCC merged byte-wise stores into 8-byte pieces that the next 16-byte
 * load (a digest's, a padded block's) waited on, store forwarding failing. */
static void store_be32(uint8_t *p, uint32_t v)
{
#if defined(__GNUC__)
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
#else
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
#endif
}

/* The digest, big-endian, from the state. */
static void digest_of(const uint32_t state[8], uint8_t digest[32])
{
    int i;
    for (i = 0; i < 8; i++)
        store_be32(digest + 4 * i, state[i]);
}

void fs_sha256_blocks_portable(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
    uint32_t w[64];
    while (nblocks--) {
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        int t;
        for (t = 0; t < 16; t++)
            w[t] = load_be32(data + 4 * t);
        for (t = 16; t < 64; t++) {
            uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        for (t = 0; t < 64; t++) {
            uint32_t S1 = ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + S1 + ch + fs_sha256_k[t] + w[t];
            uint32_t S0 = ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22);
            uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            uint32_t t2 = S0 + maj;
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
        state[4] += e; state[5] += f; state[6] += g; state[7] += h;
        data += 64;
    }
}

/* -- dispatch ------------------------------------------------------------------------------ */

typedef void (*fs_sha256_block_x2_fn)(uint32_t state_a[8], const uint8_t *data_a,
                                      uint32_t state_b[8], const uint8_t *data_b);

static fs_sha256_blocks_fn sha256_blocks = fs_sha256_blocks_portable;
/* Two blocks of two messages interleaved, where that is faster than one after the other. */
static fs_sha256_block_x2_fn sha256_block_x2 = NULL;
static const char *sha256_name = "portable";

int fs_sha256_select(const char *name)
{
    if (strcmp(name, "portable") == 0) {
        sha256_blocks = fs_sha256_blocks_portable;
        sha256_block_x2 = NULL;
    } else if (strcmp(name, "shani") == 0 && fs_sha256_shani_supported()) {
        sha256_blocks = fs_sha256_blocks_shani;
        sha256_block_x2 = fs_sha256_block_shani_x2;
    } else if (strcmp(name, "armv8") == 0 && fs_sha256_armv8_supported()) {
        sha256_blocks = fs_sha256_blocks_armv8;
        sha256_block_x2 = NULL;
    } else {
        return -1;
    }
    sha256_name = strcmp(name, "portable") == 0 ? "portable"
                  : strcmp(name, "shani") == 0  ? "shani"
                                                : "armv8";
    return 0;
}

const char *fs_sha256_autoselect(void)
{
    if (fs_sha256_select("shani") != 0 && fs_sha256_select("armv8") != 0)
        fs_sha256_select("portable");
    return sha256_name;
}

const char *fs_sha256_selected(void) { return sha256_name; }

/* -- streaming ----------------------------------------------------------------------------- */

void fs_sha256_init(fs_sha256_ctx *ctx)
{
    memcpy(ctx->state, initial_state, sizeof initial_state);
    ctx->length = 0;
    ctx->buffered = 0;
}

void fs_sha256_update(fs_sha256_ctx *ctx, const void *data, size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    ctx->length += len;
    if (ctx->buffered) {
        size_t take = 64 - ctx->buffered;
        if (take > len)
            take = len;
        memcpy(ctx->buffer + ctx->buffered, p, take);
        ctx->buffered += take;
        p += take;
        len -= take;
        if (ctx->buffered < 64)
            return;
        sha256_blocks(ctx->state, ctx->buffer, 1);
        ctx->buffered = 0;
    }
    if (len >= 64) {
        size_t blocks = len / 64;
        sha256_blocks(ctx->state, p, blocks);
        p += blocks * 64;
        len -= blocks * 64;
    }
    if (len) {
        memcpy(ctx->buffer, p, len);
        ctx->buffered = len;
    }
}

void fs_sha256_final(fs_sha256_ctx *ctx, uint8_t digest[32])
{
    uint64_t bits = ctx->length * 8;
    size_t n = ctx->buffered;
    ctx->buffer[n++] = 0x80;
    if (n > 56) {
        memset(ctx->buffer + n, 0, 64 - n);
        sha256_blocks(ctx->state, ctx->buffer, 1);
        n = 0;
    }
    memset(ctx->buffer + n, 0, 56 - n);
    store_be32(ctx->buffer + 56, (uint32_t)(bits >> 32));
    store_be32(ctx->buffer + 60, (uint32_t)bits);
    sha256_blocks(ctx->state, ctx->buffer, 1);
    digest_of(ctx->state, digest);
}

void fs_sha256(const void *data, size_t len, uint8_t digest[32])
{
    fs_sha256_ctx ctx;
    fs_sha256_init(&ctx);
    fs_sha256_update(&ctx, data, len);
    fs_sha256_final(&ctx, digest);
}

/* -- two messages at once ------------------------------------------------------------------ */

/* The blocks that finish one message from a context: the context's buffer once the message's
 * first bytes fill it (`head`), the message's whole blocks in place, then the padded tail. */
typedef struct {
    fs_sha256_ctx ctx;
    int head;
    const uint8_t *direct;
    size_t direct_n;
    uint8_t tail[128];
    size_t tail_n;
} lane;

static size_t lane_start(lane *l, const fs_sha256_ctx *start, const uint8_t *msg, size_t len)
{
    uint64_t bits = (start->length + len) * 8;
    size_t rest;
    l->ctx = *start;
    l->head = 0;
    if (l->ctx.buffered) {
        size_t take = 64 - l->ctx.buffered;
        if (take > len)
            take = len;
        memcpy(l->ctx.buffer + l->ctx.buffered, msg, take);
        l->ctx.buffered += take;
        msg += take;
        len -= take;
        if (l->ctx.buffered == 64) {
            l->head = 1;
            l->ctx.buffered = 0;
        }
    }
    l->direct = msg;
    l->direct_n = len / 64;
    rest = len % 64;
    if (l->ctx.buffered) /* the message ended inside the buffer: nothing is left of it */
        memcpy(l->tail, l->ctx.buffer, rest = l->ctx.buffered);
    else
        memcpy(l->tail, msg + 64 * l->direct_n, rest);
    l->tail[rest++] = 0x80;
    l->tail_n = rest > 56 ? 2 : 1;
    memset(l->tail + rest, 0, 64 * l->tail_n - 8 - rest);
    store_be32(l->tail + 64 * l->tail_n - 8, (uint32_t)(bits >> 32));
    store_be32(l->tail + 64 * l->tail_n - 4, (uint32_t)bits);
    return (size_t)l->head + l->direct_n + l->tail_n;
}

static const uint8_t *lane_block(const lane *l, size_t i)
{
    if (l->head) {
        if (i == 0)
            return l->ctx.buffer;
        i--;
    }
    if (i < l->direct_n)
        return l->direct + 64 * i;
    return l->tail + 64 * (i - l->direct_n);
}

void fs_sha256_final_x2(const fs_sha256_ctx *start_a, const void *msg_a, size_t len_a,
                        uint8_t digest_a[32], const fs_sha256_ctx *start_b, const void *msg_b,
                        size_t len_b, uint8_t digest_b[32])
{
    lane a, b;
    size_t na, nb, i;
    if (sha256_block_x2 == NULL) {
        fs_sha256_ctx ctx = *start_a;
        fs_sha256_update(&ctx, msg_a, len_a);
        fs_sha256_final(&ctx, digest_a);
        ctx = *start_b;
        fs_sha256_update(&ctx, msg_b, len_b);
        fs_sha256_final(&ctx, digest_b);
        return;
    }
    na = lane_start(&a, start_a, (const uint8_t *)msg_a, len_a);
    nb = lane_start(&b, start_b, (const uint8_t *)msg_b, len_b);
    for (i = 0; i < na && i < nb; i++)
        sha256_block_x2(a.ctx.state, lane_block(&a, i), b.ctx.state, lane_block(&b, i));
    for (; i < na; i++)
        sha256_blocks(a.ctx.state, lane_block(&a, i), 1);
    for (; i < nb; i++)
        sha256_blocks(b.ctx.state, lane_block(&b, i), 1);
    digest_of(a.ctx.state, digest_a);
    digest_of(b.ctx.state, digest_b);
}

/* -- HMAC ---------------------------------------------------------------------------------- */

void fs_hmac_init(fs_hmac_key *key, const uint8_t *secret, size_t len)
{
    uint8_t block[64], pad[64];
    int i;
    memset(block, 0, sizeof block);
    if (len > 64)
        fs_sha256(secret, len, block);
    else if (len)
        memcpy(block, secret, len);
    for (i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x36;
    fs_sha256_init(&key->inner);
    fs_sha256_update(&key->inner, pad, 64);
    for (i = 0; i < 64; i++)
        pad[i] = block[i] ^ 0x5c;
    fs_sha256_init(&key->outer);
    fs_sha256_update(&key->outer, pad, 64);
}

void fs_hmac(const fs_hmac_key *key, const void *msg, size_t len, uint8_t mac[32])
{
    fs_hmac_from(key, &key->inner, msg, len, mac);
}

void fs_hmac_from(const fs_hmac_key *key, const fs_sha256_ctx *start, const void *msg,
                  size_t len, uint8_t mac[32])
{
    fs_sha256_ctx ctx = *start;
    uint8_t inner[32];
    fs_sha256_update(&ctx, msg, len);
    fs_sha256_final(&ctx, inner);
    ctx = key->outer;
    fs_sha256_update(&ctx, inner, 32);
    fs_sha256_final(&ctx, mac);
}

void fs_hmac_from_x2(const fs_hmac_key *key, const fs_sha256_ctx *start, const void *msg_a,
                     size_t len_a, uint8_t mac_a[32], const void *msg_b, size_t len_b,
                     uint8_t mac_b[32])
{
    uint8_t inner_a[32], inner_b[32];
    fs_sha256_final_x2(start, msg_a, len_a, inner_a, start, msg_b, len_b, inner_b);
    fs_sha256_final_x2(&key->outer, inner_a, 32, mac_a, &key->outer, inner_b, 32, mac_b);
}

/* Two characters per byte from one table read: hex is on every signature's path. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>

/* Sixteen bytes at a time: each nibble n becomes '0' + n, plus 39 more when n > 9 (to reach
   'a'), and the high and low nibbles are interleaved. SSE2 is part of x86-64 itself. */
static void hex16(const uint8_t *in, char *out)
{
    const __m128i mask = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
    const __m128i zero = _mm_set1_epi8('0'), gap = _mm_set1_epi8('a' - '0' - 10);
    __m128i v = _mm_loadu_si128((const __m128i *)in);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
    __m128i lo = _mm_and_si128(v, mask);
    hi = _mm_add_epi8(_mm_add_epi8(hi, zero), _mm_and_si128(_mm_cmpgt_epi8(hi, nine), gap));
    lo = _mm_add_epi8(_mm_add_epi8(lo, zero), _mm_and_si128(_mm_cmpgt_epi8(lo, nine), gap));
    _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi8(hi, lo));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi8(hi, lo));
}
#define HAVE_HEX16 1
#endif

void fs_hex(const uint8_t *in, size_t n, char *out)
{
    size_t i = 0;
#ifdef HAVE_HEX16
    for (; i + 16 <= n; i += 16)
        hex16(in + i, out + 2 * i);
#endif
    for (; i < n; i++)
        memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
}

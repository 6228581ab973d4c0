#include "uri.h"

#include <string.h>

#define U1(c) [c] = 1
#define DIGITS U1('0'), U1('1'), U1('2'), U1('3'), U1('4'), U1('5'), U1('6'), U1('7'), U1('8'), U1('9')
#define UPPER U1('A'), U1('B'), U1('C'), U1('D'), U1('E'), U1('F'), U1('G'), U1('H'), U1('I'), \
    U1('J'), U1('K'), U1('L'), U1('M'), U1('N'), U1('O'), U1('P'), U1('Q'), U1('R'), U1('S'), \
    U1('T'), U1('U'), U1('V'), U1('W'), U1('X'), U1('Y'), U1('Z')
#define LOWER U1('a'), U1('b'), U1('c'), U1('d'), U1('e'), U1('f'), U1('g'), U1('h'), U1('i'), \
    U1('j'), U1('k'), U1('l'), U1('m'), U1('n'), U1('o'), U1('p'), U1('q'), U1('r'), U1('s'), \
    U1('t'), U1('u'), U1('v'), U1('w'), U1('x'), U1('y'), U1('z')

const uint8_t fs_uri_keep_query[256] = {DIGITS, UPPER, LOWER, U1('-'), U1('.'), U1('_'), U1('~')};
const uint8_t fs_uri_keep_path[256] = {DIGITS, UPPER, LOWER, U1('-'), U1('.'), U1('_'), U1('~'),
                                       U1('/')};

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>

static __m128i in_range(__m128i v, char lo, char hi)
{
    /* v - lo, unsigned, below the width: one signed compare once shifted by 0x80, which is
     * right for every byte, 0x80 and above too. */
    __m128i shifted = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo)));
    return _mm_cmplt_epi8(shifted, _mm_set1_epi8((char)(0x80 + (hi - lo + 1))));
}

static unsigned trailing_ones(unsigned mask)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctz(~mask);
#else
    unsigned i = 0;
    while (mask & 1) {
        mask >>= 1;
        i++;
    }
    return i;
#endif
}
#endif

int fs_is_hex(const char *s, size_t n)
{
    size_t i = 0;
    unsigned char c;
#if defined(__SSE2__) || defined(_M_X64)
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i ok = _mm_or_si128(in_range(v, '0', '9'), in_range(v, 'a', 'f'));
        if (_mm_movemask_epi8(ok) != 0xffff)
            return 0;
    }
#endif
    for (; i < n; i++) {
        c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

#if defined(__SSE2__) || defined(_M_X64)
/* A bit for each of the sixteen bytes at s that is unreserved. */
static unsigned unreserved16(const uint8_t *s)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    /* ORing in 0x20 folds A-Z onto a-z and nothing else onto them. */
    __m128i ok = _mm_or_si128(in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 'z'),
                              _mm_or_si128(in_range(v, '0', '9'), in_range(v, '-', '.')));
    ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('_')),
                                       _mm_cmpeq_epi8(v, _mm_set1_epi8('~'))));
    return (unsigned)_mm_movemask_epi8(ok);
}
#endif

uint64_t fs_uri_stops64(const uint8_t *s, size_t n, size_t base)
{
    uint64_t stops = 0;
    size_t i, end = n - base < 64 ? n : base + 64;
#if defined(__SSE2__) || defined(_M_X64)
    if (end - base == 64) {
        const uint8_t *at = s + base;
        return ~((uint64_t)unreserved16(at) | (uint64_t)unreserved16(at + 16) << 16
                 | (uint64_t)unreserved16(at + 32) << 32 | (uint64_t)unreserved16(at + 48) << 48);
    }
    if (n >= 16) {
        for (i = base; i < end; i += 16) {
            if (i + 16 <= n) {
                stops |= (uint64_t)(~unreserved16(s + i) & 0xffffu) << (i - base);
            } else {
                /* The last sixteen bytes, of which those before i were seen already. */
                unsigned tail = ~unreserved16(s + n - 16) & 0xffffu;
                stops |= (uint64_t)(tail >> (i - (n - 16))) << (i - base);
            }
        }
        return stops;
    }
#endif
    for (i = base; i < end; i++)
        stops |= (uint64_t)!fs_uri_keep_query[s[i]] << (i - base);
    return stops;
}

size_t fs_ascii_run(const char *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__) || defined(_M_X64)
    unsigned high;
    if (n >= 16) {
        for (; i + 16 <= n; i += 16) {
            high = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(s + i)));
            if (high)
                return i + trailing_ones(~high);
        }
        /* The last sixteen, overlapping bytes known to be ASCII. */
        high = (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(s + n - 16)));
        return high ? n - 16 + trailing_ones(~high) : n;
    }
#endif
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

#if defined(__SSE2__) || defined(_M_X64)
/* 0xff in each byte lane of v that may be in a header value. Signed compares: bytes of 0x80
 * and above are negative, so below 0x20. */
static __m128i value_lanes(__m128i v)
{
    __m128i visible = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
                                       _mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f)));
    return _mm_or_si128(visible, _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
}
#endif

int fs_header_value_ok(const char *s, size_t n)
{
    size_t i = 0;
    unsigned char c;
#if defined(__SSE2__) || defined(_M_X64)
    /* Sixteen bytes at a time (Authorization values run to hundreds), the last sixteen
     * overlapping the rest; from 8 bytes, two overlapping halves. */
    if (n >= 16) {
        __m128i ok = value_lanes(_mm_loadu_si128((const __m128i *)(s + n - 16)));
        for (; i + 16 <= n; i += 16)
            ok = _mm_and_si128(ok, value_lanes(_mm_loadu_si128((const __m128i *)(s + i))));
        return _mm_movemask_epi8(ok) == 0xffff;
    }
    if (n >= 8) {
        __m128i v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)s),
                                       _mm_loadl_epi64((const __m128i *)(s + n - 8)));
        return _mm_movemask_epi8(value_lanes(v)) == 0xffff;
    }
#endif
    for (; i < n; i++) {
        c = (unsigned char)s[i];
        if (!((c >= 0x20 && c < 0x7f) || c == '\t'))
            return 0;
    }
    return 1;
}

#if defined(__SSE2__) || defined(_M_X64)
/* A bit for each of the sixteen bytes at s that is '?', '#', a control character (below
 * 0x20, or 0x7f) or, with `slash`, '/'. */
static unsigned url_stops16(const char *s, __m128i slash)
{
    __m128i v = _mm_loadu_si128((const __m128i *)s);
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('?')),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('#'))),
                               _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)), control));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, _mm_cmpeq_epi8(v, slash)));
}
#endif

size_t fs_url_stop(const char *s, size_t n, size_t i, int slash)
{
    unsigned char c;
#if defined(__SSE2__) || defined(_M_X64)
    /* Without `slash`, compared with 0x7f: a byte found anyway. */
    const __m128i also = _mm_set1_epi8(slash ? '/' : 0x7f);
    unsigned hit;
    for (; i + 16 <= n; i += 16) {
        hit = url_stops16(s + i, also);
        if (hit)
            return i + trailing_ones(~hit);
    }
    if (i < n && n >= 16) { /* the last sixteen, overlapping bytes already seen */
        hit = url_stops16(s + n - 16, also) >> (i - (n - 16));
        return hit ? i + trailing_ones(~hit) : n;
    }
#endif
    for (; i < n; i++) {
        c = (unsigned char)s[i];
        if (c == '?' || c == '#' || c < 0x20 || c == 0x7f || (slash && c == '/'))
            return i;
    }
    return n;
}

size_t fs_uri_encode(const uint8_t *in, size_t len, char *out, const uint8_t keep[256])
{
    static const char hex[] = "0123456789ABCDEF";
    char *start = out;
    size_t i;
    for (i = 0; i < len; i++) {
        uint8_t c = in[i];
        if (keep[c]) {
            *out++ = (char)c;
        } else {
            out[0] = '%';
            out[1] = hex[c >> 4];
            out[2] = hex[c & 15];
            out += 3;
        }
    }
    return (size_t)(out - start);
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ptrdiff_t fs_uri_decode(const uint8_t *in, size_t len, uint8_t *out)
{
    uint8_t *start = out;
    const uint8_t *end = in + len;
    while (in < end) {
        /* Runs between escapes are copied whole: escapes are few (a credential's slashes). */
        const uint8_t *pct = memchr(in, '%', (size_t)(end - in));
        size_t run = (size_t)((pct ? pct : end) - in);
        int hi, lo;
        memcpy(out, in, run);
        out += run;
        in += run;
        if (in == end)
            break;
        if (end - in < 3)
            return -1;
        hi = hexval(in[1]);
        lo = hexval(in[2]);
        if (hi < 0 || lo < 0)
            return -1;
        *out++ = (uint8_t)(hi << 4 | lo);
        in += 3;
    }
    return out - start;
}

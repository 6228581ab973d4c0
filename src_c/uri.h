/* RFC 3986 percent-encoding as SigV4 wants it: the unreserved characters A-Z a-z 0-9 - . _ ~
 * stay, every other byte becomes %XX with uppercase hex. And the scans of received text. */
#ifndef FASTSIG_URI_H
#define FASTSIG_URI_H

#include <stddef.h>
#include <stdint.h>

/* 1 for the bytes that stay as they are (the unreserved set, plus '/' in path mode). */
extern const uint8_t fs_uri_keep_query[256];
extern const uint8_t fs_uri_keep_path[256];

/* Whether s[0..n) is all lowercase hex digits (signatures and payload hashes as sent). */
int fs_is_hex(const char *s, size_t n);

/* A bit for each byte of s[base..min(base + 64, n)) that is not unreserved (bit i for
 * s[base + i]): a query's stops ('=', '&', '%' and anything to reject), 64 bytes at a time. */
uint64_t fs_uri_stops64(const uint8_t *s, size_t n, size_t base);

/* The index of the lowest set bit of x, which is not 0. */
static inline unsigned fs_lowest_bit(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned i = 0;
    while (!(x & 1)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* The length of the run of ASCII bytes at the start of s[0..n). */
size_t fs_ascii_run(const char *s, size_t n);

/* Whether every byte of s[0..n) may be in a header value as received: visible ASCII, space
 * and tab. */
int fs_header_value_ok(const char *s, size_t n);

/* The index of the first byte of s[i..n) that is '?', '#', a control character (below 0x20,
 * or 0x7f) or, with `slash`, '/'; or n: the scan of a URL's authority, path and query. */
size_t fs_url_stop(const char *s, size_t n, size_t i, int slash);

/* Encodes in[0..len) into out, which must hold 3 * len bytes; returns the bytes written. */
size_t fs_uri_encode(const uint8_t *in, size_t len, char *out, const uint8_t keep[256]);

/* Decodes %XX escapes of in[0..len) into out (at most len bytes); returns the bytes written,
 * or -1 if a '%' is not followed by two hex digits. */
ptrdiff_t fs_uri_decode(const uint8_t *in, size_t len, uint8_t *out);

#endif

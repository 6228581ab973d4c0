# Object keys in URLs: a key quoted for the path of its URL (quote_key's rule), and a block of
# keys, one a line, presigned in one call (presign_key_lines: the command line's and
# write_presigned_keys' step). Included by fastsig/_speedups.pyx after signing.pxi; its pure
# twin is fastsig/_kernels/keys.py.
#
# A listing holds odd keys ('%', '?', '#', controls, beside the spaces, '+' and non-ASCII
# that the path encoder handles anyway): quoting them here, in C, keeps a block with one of
# them on the compiled path, so such a listing costs what a plain one costs.

from ._kernels import keys as _py_keys

# quote_key's rule on bytes: a key holding any of '%', '?', '#' or a control character is
# escaped whole, every byte but the unreserved ones and KEY_SAFE; any other key stays raw, for
# the path encoder to encode as it encodes every path.
cdef uint8_t KEY_NEEDS_QUOTING[256]
cdef uint8_t KEY_KEEP[256]
for _c in range(256):
    KEY_NEEDS_QUOTING[_c] = _c < 0x20 or _c == 0x7F or chr(_c) in "%?#"
    KEY_KEEP[_c] = _c < 0x80 and (chr(_c).isalnum() or chr(_c) in "_.-~" + _py_keys.KEY_SAFE)

cdef const char *HEX_UPPER = "0123456789ABCDEF"


cdef int add_quoted_key(Buf *b, const char *s, Py_ssize_t n) except -1:
    """Appends quote_key(s[0..n)) (UTF-8 in, ASCII or the key as given out)."""
    cdef Py_ssize_t i
    cdef uint8_t c
    for i in range(n):
        if KEY_NEEDS_QUOTING[<uint8_t>s[i]]:
            break
    else:
        return buf_add(b, s, n)
    buf_reserve(b, 3 * n)
    for i in range(n):
        c = <uint8_t>s[i]
        if KEY_KEEP[c]:
            b.p[b.n] = c
            b.n += 1
        else:
            b.p[b.n] = b'%'
            b.p[b.n + 1] = HEX_UPPER[c >> 4]
            b.p[b.n + 2] = HEX_UPPER[c & 15]
            b.n += 3
    return 0


cdef bint utf8_valid(const uint8_t *s, Py_ssize_t n) noexcept:
    """Whether s[0..n) is UTF-8 as Python's strict decoder takes it (no overlong form, no
    surrogate, nothing past U+10FFFF: Unicode's table 3-7), without making a str: a block of
    512 KiB with one emoji decodes to 2 MiB of UCS-4."""
    cdef Py_ssize_t i = 0
    cdef uint8_t c, lo, hi
    cdef int extra, j
    while i < n:
        i += fs_ascii_run(<const char *>s + i, n - i)
        if i == n:
            break
        c = s[i]
        lo, hi = 0x80, 0xBF
        if 0xC2 <= c <= 0xDF:
            extra = 1
        elif 0xE0 <= c <= 0xEF:
            extra = 2
            if c == 0xE0:
                lo = 0xA0
            elif c == 0xED:
                hi = 0x9F
        elif 0xF0 <= c <= 0xF4:
            extra = 3
            if c == 0xF0:
                lo = 0x90
            elif c == 0xF4:
                hi = 0x8F
        else:
            return False
        if i + extra >= n or not (lo <= s[i + 1] <= hi):
            return False
        for j in range(2, extra + 1):
            if not (0x80 <= s[i + j] <= 0xBF):
                return False
        i += extra + 1
    return True


cdef object presign_key_lines(SigningContext context, method, str prefix, object keys,
                              long expires_in, str payload_hash):
    """SigningContext.presign_key_lines (see the pure twin): every line quoted by
    add_quoted_key and presigned as presign_lines presigns prefix + line. Whatever the C path
    does not take (a bad method or prefix, a lone surrogate, bytes that are not UTF-8) goes to
    the pure twin, which gives the result or the error."""
    cdef Url u
    cdef Buf path, sent, canonical, creq, local
    cdef Buf *out
    cdef Py_ssize_t keys_n, start, end, prefix_n
    cdef const char *k = NULL
    cdef const char *newline
    cdef bytes m = method_bytes(method)
    cdef bytes payload = context.payload_bytes(payload_hash)
    if m is None or not keys:
        return context.fallback().presign_key_lines(method, prefix, keys, expires_in, payload_hash)
    # The prefix must end inside a path, so that each line only lengthens it.
    if (parse_url(&u, prefix) or u.authority_end == u.n
            or u.query_start >= 0 or u.path_end != u.n):
        return context.fallback().presign_key_lines(method, prefix, keys, expires_in, payload_hash)
    try:
        origin = context.origins.get(&u)
    except ValueError:  # the pure twin raises it
        origin = None
    if type(keys) is bytes:  # the command line's block as read: no str of it is made
        k = PyBytes_AS_STRING(keys)
        keys_n = PyBytes_GET_SIZE(keys)
        if not utf8_valid(<const uint8_t *>k, keys_n):
            k = NULL
    elif isinstance(keys, str):
        k = utf8_or_null(keys, &keys_n)
    if origin is None or k == NULL:
        return context.fallback().presign_key_lines(method, prefix, keys, expires_in, payload_hash)
    prefix_n = u.path_end - u.authority_end
    buf_init(&path, 1024)
    buf_init(&sent, 1024)
    buf_init(&canonical, 1024)
    buf_init(&creq, 2048)
    buf_init(&local, 0)
    out = &local if context.lines_busy else &context.lines_out
    out.n = 0
    context.lines_busy = True
    try:
        buf_add(&path, u.s + u.authority_end, prefix_n)
        start = 0
        while start <= keys_n:
            newline = <const char *>memchr(k + start, b'\n', keys_n - start)
            end = newline - k if newline != NULL else keys_n
            path.n = prefix_n
            add_quoted_key(&path, k + start, end - start)
            if context.presign_into(m, origin, path.p, path.n, NULL, 0, expires_in, None,
                                    payload, &sent, &canonical, &creq, out):
                return context.fallback().presign_key_lines(method, prefix, keys, expires_in,
                                                            payload_hash)
            buf_addc(out, b'\n')
            start = end + 1
        return PyBytes_FromStringAndSize(out.p, out.n)
    finally:
        if out is &context.lines_out:
            context.lines_busy = False
        buf_free(&path)
        buf_free(&sent)
        buf_free(&canonical)
        buf_free(&creq)
        buf_free(&local)

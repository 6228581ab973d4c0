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


# presign_key_lines' one pass over a block: what each byte asks for. 0 nothing; 1 the end of a
# key; 2 its key needs quoting; 3 a UTF-8 sequence starts (or should) here, to check.
cdef uint8_t KEY_SCAN[256]
for _c in range(256):
    KEY_SCAN[_c] = 3 if _c >= 0x80 else 1 if _c == 0x0A else 2 if KEY_NEEDS_QUOTING[_c] else 0


cdef inline int utf8_char(const uint8_t *s, Py_ssize_t n) noexcept:
    """The length of the UTF-8 sequence at s[0] (n bytes left), 0 if it is not one that
    Python's strict decoder takes (an overlong form, a surrogate, past U+10FFFF, cut short:
    Unicode's table 3-7). Bytes are checked here so that no str of a block is made: 512 KiB
    with one emoji decode to 2 MiB of UCS-4."""
    cdef uint8_t c = s[0], lo = 0x80, hi = 0xBF
    cdef int extra, j
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
        return 0
    if extra >= n or not (lo <= s[1] <= hi):
        return 0
    for j in range(2, extra + 1):
        if not (0x80 <= s[j] <= 0xBF):
            return 0
    return extra + 1


cdef object presign_key_lines(SigningContext context, method, str prefix, object keys,
                              long expires_in, str payload_hash):
    """SigningContext.presign_key_lines (see the pure twin): every line quoted by
    add_quoted_key and presigned as presign_lines presigns prefix + line. Whatever the C path
    does not take (a bad method or prefix, a lone surrogate, bytes that are not UTF-8) goes to
    the pure twin, which gives the result or the error."""
    cdef Url u
    cdef Buf path, sent, canonical, creq, local
    cdef Deferred later
    cdef Buf *out
    cdef Py_ssize_t keys_n, start, end, prefix_n
    cdef const char *k = NULL
    cdef uint8_t scan
    cdef int step
    cdef bint quoted
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
    elif isinstance(keys, str):
        k = utf8_or_null(keys, &keys_n)
    if origin is None or k == NULL:  # a lone surrogate: the twin's error
        return context.fallback().presign_key_lines(method, prefix, keys, expires_in, payload_hash)
    prefix_n = u.path_end - u.authority_end
    buf_init(&path, 1024)
    buf_init(&sent, 1024)
    buf_init(&canonical, 1024)
    buf_init(&creq, 2048)
    buf_init(&local, 0)
    deferred_init(&later)
    out = &local if context.lines_busy else &context.lines_out
    out.n = 0
    context.lines_busy = True
    try:
        buf_add(&path, u.s + u.authority_end, prefix_n)
        start = 0
        while start <= keys_n:
            # One pass over the key: its end, whether it needs quoting, its UTF-8 checked.
            quoted = False
            end = start
            while True:
                while end < keys_n and KEY_SCAN[<uint8_t>k[end]] == 0:
                    end += 1
                if end == keys_n:
                    break
                scan = KEY_SCAN[<uint8_t>k[end]]
                if scan == 1:
                    break
                if scan == 2:
                    quoted = True
                    end += 1
                else:
                    step = utf8_char(<const uint8_t *>k + end, keys_n - end)
                    if step == 0:  # not UTF-8: the twin's UnicodeDecodeError
                        return context.fallback().presign_key_lines(
                            method, prefix, keys, expires_in, payload_hash)
                    end += step
            path.n = prefix_n
            if quoted:
                add_quoted_key(&path, k + start, end - start)
            else:
                buf_add(&path, k + start, end - start)
            if context.presign_into(m, origin, path.p, path.n, NULL, 0, expires_in, None,
                                    payload, &sent, &canonical, &creq, out, &later):
                return context.fallback().presign_key_lines(method, prefix, keys, expires_in,
                                                            payload_hash)
            buf_addc(out, b'\n')
            start = end + 1
        sign_deferred(&context.key, &context.sts_inner, &later, out)
        return PyBytes_FromStringAndSize(out.p, out.n)
    finally:
        if out is &context.lines_out:
            context.lines_busy = False
        buf_free(&path)
        buf_free(&sent)
        buf_free(&canonical)
        buf_free(&creq)
        buf_free(&local)
        deferred_free(&later)

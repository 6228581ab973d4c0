# The request line: method, URL and its parts, Host.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/request.py.

cdef uint8_t TOKEN_CHARS[256]
cdef uint8_t SCHEME_CHARS[256]
for _c in bytearray(b"+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"):
    SCHEME_CHARS[_c] = 1
for _c in bytearray(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"):
    TOKEN_CHARS[_c] = 1
# A header name's character lowercased, or 0 for one that cannot be in a name.
cdef char TOKEN_LOWER[256]
for _c in range(256):
    TOKEN_LOWER[_c] = (_c + 32 if 65 <= _c <= 90 else _c) if TOKEN_CHARS[_c] else 0


cdef inline bint lower_is(const char *name, const char *lowercase, Py_ssize_t n) noexcept:
    """Whether header name ``name`` (n bytes) is ``lowercase`` in any case."""
    cdef Py_ssize_t i
    for i in range(n):
        if TOKEN_LOWER[<uint8_t>name[i]] != lowercase[i]:
            return False
    return True


DEF ROLE_IGNORED = 0  # a header a presigned URL never signs
DEF ROLE_HOST = 1
DEF ROLE_OTHER = 2    # x-amz-*, Authorization, or a name that is not text: the general path's


cdef int header_role(name) except -1:
    """What a received header's name (str or bytes) is to a presigned URL's check."""
    cdef const char *s
    cdef Py_ssize_t n
    if type(name) is str:
        s = utf8_or_null(name, &n)
        if s == NULL:
            return ROLE_OTHER
    elif type(name) is bytes:
        s, n = PyBytes_AS_STRING(name), PyBytes_GET_SIZE(name)
    else:
        return ROLE_OTHER
    if (n >= 6 and lower_is(s, b"x-amz-", 6)) or (n == 13 and lower_is(s, b"authorization", 13)):
        return ROLE_OTHER
    return ROLE_HOST if n == 4 and lower_is(s, b"host", 4) else ROLE_IGNORED


cdef uint8_t HOST_CHARS[256]
for _c in bytearray(b"-.:[]0123456789abcdefghijklmnopqrstuvwxyz"):
    HOST_CHARS[_c] = 1


cdef bint plain_host(bytes host) noexcept:
    """A Host header of lowercase name or address characters only, safe to splice into a
    URL: no "/", "@", "?" or "#" that would move the authority's end, and no capital, which
    the URL's host would lose but the general path, signing the header as sent, keeps."""
    cdef const char *s = PyBytes_AS_STRING(host)
    cdef Py_ssize_t i, n = PyBytes_GET_SIZE(host)
    for i in range(n):
        if not HOST_CHARS[<uint8_t>s[i]]:
            return False
    return n > 0


DEF SLASH = 1
DEF QUESTION = 2
DEF HASH = 3
DEF CONTROL = 4
cdef uint8_t URL_CLASS[256]
for _c in range(0x20):
    URL_CLASS[_c] = CONTROL
URL_CLASS[0x7F] = CONTROL
URL_CLASS[ord("/")] = SLASH
URL_CLASS[ord("?")] = QUESTION
URL_CLASS[ord("#")] = HASH
# presign_lines' scan of its keys: the end of a line (1), or what a path cannot hold (2).
cdef uint8_t LINE_STOP[256]
for _c in range(256):
    LINE_STOP[_c] = 2 if URL_CLASS[_c] > SLASH else 0
LINE_STOP[ord("\n")] = 1

cdef struct Url:
    const char *s
    Py_ssize_t n
    Py_ssize_t scheme_end   # index of "://"
    Py_ssize_t authority_end
    Py_ssize_t path_end     # index of "?" or "#" or n
    Py_ssize_t query_start  # -1 without "?"
    Py_ssize_t query_end

cdef int parse_url(Url *u, str url, bint trust_query=False) except -1:
    """Splits a URL; returns 1 for anything the pure twin must judge. With ``trust_query``
    the query and fragment are not scanned for control characters: the caller checks them."""
    cdef Py_ssize_t n
    cdef const char *s = utf8_or_null(url, &n)
    if s == NULL:
        return 1
    return parse_url_at(u, s, n, trust_query)

cdef int parse_url_at(Url *u, const char *s, Py_ssize_t n, bint trust_query) noexcept:
    """parse_url of the UTF-8 text s[0..n), which must outlive ``u``."""
    cdef Py_ssize_t i
    cdef const char *hash_at
    cdef uint8_t c
    u.s = s
    u.n = n
    if n == 0 or not ((b'a' <= s[0] <= b'z') or (b'A' <= s[0] <= b'Z')):
        return 1
    i = 1
    while i < n and SCHEME_CHARS[<uint8_t>s[i]]:
        i += 1
    if i + 3 > n or s[i] != b':' or s[i + 1] != b'/' or s[i + 2] != b'/':
        return 1
    u.scheme_end = i
    u.path_end = u.query_end = n
    u.query_start = -1
    # The first "/", "?" or "#" ends the authority, the first "?" or "#" the path, the first
    # "#" the query; any control character anywhere sends the URL to the pure twin.
    i = u.authority_end = fs_url_stop(s, n, i + 3, True)
    while i < n:
        c = URL_CLASS[<uint8_t>s[i]]
        if c == CONTROL:
            return 1
        if c == HASH:
            if u.path_end == n:
                u.path_end = i
            u.query_end = i
            break
        if c == QUESTION and u.path_end == n:
            u.path_end = i
            u.query_start = i + 1
            if trust_query:
                hash_at = <const char *>memchr(s + i + 1, b'#', n - i - 1)
                if hash_at != NULL:
                    u.query_end = hash_at - s
                    for i in range(u.query_end, n):  # the fragment: no control characters
                        if URL_CLASS[<uint8_t>s[i]] == CONTROL:
                            return 1
                return 0
        i = fs_url_stop(s, n, i + 1, False)
    for i in range(i, n):  # the fragment: dropped, but still no control characters
        if URL_CLASS[<uint8_t>s[i]] == CONTROL:
            return 1
    if u.query_start < 0:
        u.query_end = u.path_end
    return 0

cdef struct Target:  # a request target's path and query (NULL: none), as the verifiers take it
    const char *path
    Py_ssize_t path_n
    const char *query
    Py_ssize_t query_n

cdef inline Target target_of(Url *u) noexcept:
    cdef Target t
    t.path = u.s + u.authority_end
    t.path_n = u.path_end - u.authority_end
    t.query = u.s + u.query_start if u.query_start >= 0 else NULL
    t.query_n = u.query_end - u.query_start if u.query_start >= 0 else 0
    return t

cdef inline bint url_part_ok(const char *s, Py_ssize_t n, uint8_t highest) noexcept:
    """Whether no byte of s[0..n) has a URL_CLASS above ``highest``."""
    cdef Py_ssize_t i
    for i in range(n):
        if URL_CLASS[<uint8_t>s[i]] > highest:
            return False
    return True

cdef dict _origins = {}

cdef tuple origin_of(Url *u):
    """(scheme, Host header), cached per "scheme://authority"; None for the pure twin."""
    cdef Py_ssize_t i
    for i in range(u.authority_end):
        if <uint8_t>u.s[i] >= 0x80:
            return None  # a non-ASCII host is the pure twin's to reject
    key = ascii_str(u.s, u.authority_end)
    origin = _origins.get(key)
    if origin is None:
        origin = _py._origin(key[:u.scheme_end], key[u.scheme_end + 3:])
        if len(_origins) >= 1024:
            _origins.clear()
        _origins[key] = origin
    return <tuple>origin


def split_url(url):
    """(scheme, Host header, path, query) of a request URL; the fragment is dropped."""
    cdef Url u
    if type(url) is not str or parse_url(&u, url):
        return _py.split_url(url)
    origin = origin_of(&u)
    if origin is None:
        return _py.split_url(url)
    path = PyUnicode_DecodeUTF8(u.s + u.authority_end, u.path_end - u.authority_end, NULL)
    query = "" if u.query_start < 0 else PyUnicode_DecodeUTF8(
        u.s + u.query_start, u.query_end - u.query_start, NULL)
    return origin[0], origin[1], path, query


cdef bytes method_bytes(method):
    """The uppercase method, or None for the pure twin to judge."""
    cdef Py_ssize_t n, i
    cdef const char *s
    cdef char buf[32]
    if method == "GET":
        return b"GET"
    if type(method) is not str:
        return None
    s = utf8_or_null(method, &n)
    if s == NULL or n == 0 or n > 32:
        return None
    for i in range(n):
        if not TOKEN_CHARS[<uint8_t>s[i]]:
            return None
        buf[i] = s[i] - 32 if b'a' <= s[i] <= b'z' else s[i]
    return PyBytes_FromStringAndSize(buf, n)


cdef inline bint is_trimmed(const char *s, Py_ssize_t n) noexcept:
    """Whether a header value is already canonical: no tab, no blank at either end, no two
    blanks in a row. Most are, and need only a copy."""
    cdef const char *at
    cdef const char *end = s + n
    if n == 0:
        return True
    if s[0] == b' ' or s[n - 1] == b' ' or memchr(s, b'\t', n) != NULL:
        return False
    at = <const char *>memchr(s, b' ', n)
    while at != NULL:
        if at[1] == b' ':  # never the last byte: that one is not a blank
            return False
        at = <const char *>memchr(at + 1, b' ', end - at - 1)
    return True

cdef int trimall_into(Buf *b, const char *s, Py_ssize_t n) except -1:
    """Header value canonical form: trimmed, runs of blanks collapsed to one space."""
    cdef Py_ssize_t i = 0
    cdef bint gap = False, any_out = False
    if is_trimmed(s, n):
        return buf_add(b, s, n)
    buf_reserve(b, n)
    for i in range(n):
        if s[i] == b' ' or s[i] == b'\t':
            gap = True
        else:
            if gap and any_out:
                b.p[b.n] = b' '
                b.n += 1
            b.p[b.n] = s[i]
            b.n += 1
            gap = False
            any_out = True
    return 0

# URI encoding (RFC 3986 as SigV4 uses it) and canonical paths (task 1, CanonicalURI).
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/uri.py.

cdef extern from "uri.h" nogil:
    const uint8_t fs_uri_keep_query[256]
    const uint8_t fs_uri_keep_path[256]
    bint fs_is_hex(const char *s, size_t n)
    uint64_t fs_uri_stops64(const uint8_t *s, size_t n, size_t base)
    unsigned fs_lowest_bit(uint64_t x)
    bint fs_header_value_ok(const char *s, size_t n)
    size_t fs_ascii_run(const char *s, size_t n)
    size_t fs_url_stop(const char *s, size_t n, size_t i, bint slash)
    size_t fs_uri_encode(const uint8_t *inp, size_t len, char *out, const uint8_t *keep)
    Py_ssize_t fs_uri_decode(const uint8_t *inp, size_t len, uint8_t *out)


# ---------------------------------------------------------------------------------------------
# URI encoding, paths and queries

cdef int encode_into(Buf *b, const uint8_t *s, Py_ssize_t n, const uint8_t *keep) except -1:
    buf_reserve(b, 3 * n)
    b.n += fs_uri_encode(s, n, b.p + b.n, keep)
    return 0

cdef int8_t UPPER_HEX[256]  # value of an uppercase hex digit, else -1
for _c in range(256):
    UPPER_HEX[_c] = -1
for _c in range(10):
    UPPER_HEX[48 + _c] = _c
for _c in range(6):
    UPPER_HEX[65 + _c] = 10 + _c

cdef struct Stops:
    # The bytes of s[0..n) that are not unreserved, in order: fs_uri_stops64's bits for the 64
    # bytes from ``base`` not yet taken.
    const uint8_t *s
    Py_ssize_t n, base
    uint64_t bits

cdef inline void stops_init(Stops *t, const char *s, Py_ssize_t n) noexcept:
    t.s = <const uint8_t *>s
    t.n = n
    t.base = 0
    t.bits = fs_uri_stops64(t.s, n, 0)

cdef inline Py_ssize_t next_stop(Stops *t) noexcept:
    """The position of the next byte that is not unreserved, or n."""
    cdef Py_ssize_t i
    while t.bits == 0:
        if t.base + 64 >= t.n:
            return t.n
        t.base += 64
        t.bits = fs_uri_stops64(t.s, t.n, t.base)
    i = t.base + fs_lowest_bit(t.bits)
    t.bits &= t.bits - 1
    return i

cdef inline bint canonical_escape(const uint8_t *s, Py_ssize_t i, Py_ssize_t n,
                                  const uint8_t *keep) noexcept:
    """Whether s[i..i + 3) is the canonical escape of a byte: %XX, uppercase, of a byte that
    ``keep`` does not keep. Its two digits are unreserved: no stops among them."""
    cdef int hi, lo
    if s[i] != b'%' or i + 2 >= n:
        return False
    hi = UPPER_HEX[s[i + 1]]
    lo = UPPER_HEX[s[i + 2]]
    return hi >= 0 and lo >= 0 and not keep[hi * 16 + lo]

cdef inline bint is_canonical(const uint8_t *s, Py_ssize_t n, const uint8_t *keep) noexcept:
    """Whether text is already in the canonical encoding: kept bytes as they are, every other
    byte as %XX in uppercase. Received URLs mostly are, and need only a copy."""
    cdef Stops stops
    cdef Py_ssize_t i
    stops_init(&stops, <const char *>s, n)
    while True:
        i = next_stop(&stops)
        if i == n:
            return True
        if not (keep[s[i]] or canonical_escape(s, i, n, keep)):
            return False

cdef int reencode_into(Buf *b, const uint8_t *s, Py_ssize_t n, const uint8_t *keep) except -1:
    """Canonical encoding of %-encoded text; returns 1 (nothing written) on a bad escape."""
    cdef Py_ssize_t m
    cdef uint8_t *tmp
    cdef uint8_t small[256]
    if memchr(s, b'%', n) == NULL:  # nothing to decode (keys to presign mostly)
        return encode_into(b, s, n, keep)
    if is_canonical(s, n, keep):  # received URLs mostly
        return buf_add(b, <const char *>s, n)
    if n < 256:
        tmp = small
    else:
        tmp = <uint8_t *>malloc(n + 1)
        if tmp == NULL:
            raise MemoryError()
    m = fs_uri_decode(s, n, tmp)
    if m >= 0:
        encode_into(b, tmp, m, keep)
    if tmp != &small[0]:
        free(tmp)
    return 1 if m < 0 else 0

cdef int normalize_into(Buf *b, const char *s, Py_ssize_t n) except -1:
    """normalize_path of s[0..n) appended to b (see the pure twin for the rules)."""
    cdef Py_ssize_t start = b.n, i = 0, j, seg_len, mark
    cdef Py_ssize_t depth = 0
    cdef Py_ssize_t *marks = <Py_ssize_t *>malloc((n + 1) * sizeof(Py_ssize_t))
    if marks == NULL:
        raise MemoryError()
    try:
        while i <= n:
            j = i
            while j < n and s[j] != b'/':
                j += 1
            seg_len = j - i
            if seg_len == 2 and s[i] == b'.' and s[i + 1] == b'.':
                if depth:
                    depth -= 1
                    b.n = marks[depth]
            elif seg_len and not (seg_len == 1 and s[i] == b'.'):
                marks[depth] = b.n
                depth += 1
                buf_addc(b, b'/')
                buf_add(b, s + i, seg_len)
            i = j + 1
        if depth == 0:
            b.n = start
            buf_addc(b, b'/')
        elif n and s[n - 1] == b'/':
            buf_addc(b, b'/')
    finally:
        free(marks)
    return 0


cdef const char *utf8_or_null(str text, Py_ssize_t *n) except? NULL:
    """The UTF-8 of ``text``, or NULL (no exception) when it holds a lone surrogate: the caller
    then hands the call to the pure twin, which raises the right error."""
    try:
        return PyUnicode_AsUTF8AndSize(text, n)
    except UnicodeEncodeError:
        return NULL


cdef bint utf8_ok(const char *s, Py_ssize_t n) except -1:
    """Whether s[0..n) is valid UTF-8, as received bytes must be before they are read as text:
    the decoder only past an ASCII start."""
    if fs_ascii_run(s, n) == <size_t>n:
        return True
    try:
        PyUnicode_DecodeUTF8(s, n, NULL)
    except UnicodeDecodeError:
        return False
    return True


def uri_encode(str text not None, bint keep_slash=False):
    """Percent-encode ``text`` as SigV4 requires: unreserved characters stay, every other byte
    of its UTF-8 form becomes ``%XX``. With ``keep_slash``, ``/`` stays too (paths)."""
    cdef Py_ssize_t n
    cdef const char *s
    cdef Buf b
    cdef const uint8_t *keep = fs_uri_keep_query
    if keep_slash:
        keep = fs_uri_keep_path
    s = utf8_or_null(text, &n)
    if s == NULL:
        return _py.uri_encode(text, keep_slash)
    buf_init(&b, 3 * n + 1)
    try:
        encode_into(&b, <const uint8_t *>s, n, keep)
        return ascii_str(b.p, b.n)
    finally:
        buf_free(&b)


def normalize_path(str path not None):
    """Remove ``.`` and ``..`` segments and collapse repeated slashes (see the pure twin)."""
    cdef Py_ssize_t n
    cdef const char *s
    cdef Buf b
    s = utf8_or_null(path, &n)
    if s == NULL:
        return _py.normalize_path(path)
    buf_init(&b, n + 2)
    try:
        normalize_into(&b, s, n)
        return PyUnicode_DecodeUTF8(b.p, b.n, NULL)
    finally:
        buf_free(&b)


cdef inline bint plain_path(const char *s, Py_ssize_t n) noexcept:
    """Whether every rule leaves the path as it is: "/" and unreserved bytes, which no
    encoding touches, and no empty, "." or ".." segment for normalization to remove (any
    segment that starts with "." is taken for one)."""
    cdef Stops stops
    cdef Py_ssize_t i
    if n == 0 or s[0] != b'/':
        return False
    stops_init(&stops, s, n)
    while True:
        i = next_stop(&stops)
        if i == n:
            return True
        if s[i] != b'/' or (i + 1 < n and (s[i + 1] == b'/' or s[i + 1] == b'.')):
            return False

cdef int path_into(Buf *sent, Buf *canonical, const char *s, Py_ssize_t n,
                   bint double_encode, bint normalize, bint plus_space=False) except -1:
    """The path to send and the canonical URI; returns 1 to hand the call to the pure twin.
    ``plus_space``: a raw "+" is a space (S3's reading of a received path)."""
    cdef Buf tmp
    cdef Py_ssize_t i
    if n == 0:
        s = "/"
        n = 1
    if plain_path(s, n):
        buf_add(sent, s, n)
        buf_add(canonical, s, n)
        return 0
    if double_encode:
        buf_add(sent, s, n)
        if normalize:
            buf_init(&tmp, n + 2)
            try:
                normalize_into(&tmp, s, n)
                encode_into(canonical, <const uint8_t *>tmp.p, tmp.n, fs_uri_keep_path)
            finally:
                buf_free(&tmp)
        else:
            encode_into(canonical, <const uint8_t *>s, n, fs_uri_keep_path)
        return 0
    if plus_space and memchr(s, b'+', n) != NULL:
        buf_init(&tmp, n + 16)
        try:
            for i in range(n):
                if s[i] == b'+':
                    buf_add(&tmp, b"%20", 3)
                else:
                    buf_addc(&tmp, s[i])
            if reencode_into(sent, <const uint8_t *>tmp.p, tmp.n, fs_uri_keep_path):
                return 1
        finally:
            buf_free(&tmp)
    elif reencode_into(sent, <const uint8_t *>s, n, fs_uri_keep_path):
        return 1
    if normalize:
        normalize_into(canonical, sent.p, sent.n)
    else:
        buf_add(canonical, sent.p, sent.n)
    return 0


cdef class PathPolicy:
    """How one kind of service treats the URI path (see the pure twin)."""

    cdef readonly bint double_encode
    cdef readonly bint normalize
    cdef readonly bint plus_is_space

    def __init__(self, double_encode, normalize, plus_is_space=False):
        self.double_encode = bool(double_encode)
        self.normalize = bool(normalize)
        self.plus_is_space = bool(plus_is_space)

    def __repr__(self):
        return (f"PathPolicy(double_encode={self.double_encode}, normalize={self.normalize}"
                + (", plus_is_space=True)" if self.plus_is_space else ")"))

    cdef object _twin(self):
        return _py.PathPolicy(self.double_encode, self.normalize, self.plus_is_space)

    def paths(self, str path not None):
        """(the path to send, the canonical URI) for a request path."""
        cdef Py_ssize_t n
        cdef const char *s
        cdef Buf sent, canonical
        try:
            s = PyUnicode_AsUTF8AndSize(path, &n)
        except UnicodeEncodeError:
            return self._twin().paths(path)
        buf_init(&sent, 3 * n + 2)
        buf_init(&canonical, 3 * n + 2)
        try:
            if path_into(&sent, &canonical, s, n, self.double_encode, self.normalize,
                         self.plus_is_space):
                return self._twin().paths(path)
            return utf8_str(sent.p, sent.n), ascii_str(canonical.p, canonical.n)
        finally:
            buf_free(&sent)
            buf_free(&canonical)


S3_PATHS = PathPolicy(False, False)
SERVICE_PATHS = PathPolicy(True, True)
DOUBLE_ENCODED_PATHS = PathPolicy(True, False)
NORMALIZED_S3_STYLE_PATHS = PathPolicy(False, True)
S3_RECEIVED_PATHS = PathPolicy(False, False, True)


cdef struct Pair:
    const char *key
    Py_ssize_t key_len
    const char *value
    Py_ssize_t value_len

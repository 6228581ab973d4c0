# A growable byte buffer on the C heap, in which the kernels build every string.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/buffer.py.

DEF INLINE_BYTES = 512

cdef struct Buf:
    char *p
    Py_ssize_t n
    Py_ssize_t cap
    char inline[INLINE_BYTES]  # a typical request never needs the heap

cdef int buf_init(Buf *b, Py_ssize_t cap) except -1:
    b.n = 0
    if cap <= INLINE_BYTES:
        b.p = b.inline
        b.cap = INLINE_BYTES
        return 0
    b.p = <char *>malloc(cap)
    if b.p == NULL:
        raise MemoryError()
    b.cap = cap
    return 0

cdef int buf_reserve(Buf *b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t cap
    cdef char *p
    if b.n + extra <= b.cap:
        return 0
    cap = b.cap * 2
    if cap < b.n + extra:
        cap = b.n + extra
    if b.p == b.inline:
        p = <char *>malloc(cap)
        if p != NULL:
            memcpy(p, b.p, b.n)
    else:
        p = <char *>realloc(b.p, cap)
    if p == NULL:
        raise MemoryError()
    b.p = p
    b.cap = cap
    return 0

cdef inline int buf_add(Buf *b, const char *s, Py_ssize_t n) except -1:
    if b.n + n > b.cap:
        buf_reserve(b, n)
    memcpy(b.p + b.n, s, n)
    b.n += n
    return 0

cdef inline int buf_addc(Buf *b, char c) except -1:
    if b.n + 1 > b.cap:
        buf_reserve(b, 1)
    b.p[b.n] = c
    b.n += 1
    return 0

cdef inline int buf_addb(Buf *b, bytes s) except -1:
    return buf_add(b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s))

cdef inline int buf_adds(Buf *b, str s) except -1:
    """Appends the UTF-8 form of ``s``."""
    cdef Py_ssize_t n
    cdef const char *p = PyUnicode_AsUTF8AndSize(s, &n)
    return buf_add(b, p, n)

cdef inline void buf_free(Buf *b) noexcept:
    if b.p != b.inline:
        free(b.p)
    b.p = NULL

cdef object ascii_str(const char *s, Py_ssize_t n):
    """A str from bytes known to be ASCII: one allocation and a copy, no decoding."""
    cdef object out = PyUnicode_New(n, 127)
    memcpy(PyUnicode_DATA(out), s, n)
    return out

cdef object utf8_str(const char *s, Py_ssize_t n):
    cdef Py_ssize_t i
    for i in range(n):
        if <uint8_t>s[i] >= 0x80:
            return PyUnicode_DecodeUTF8(s, n, NULL)
    return ascii_str(s, n)

cdef inline int add_hex_digest(Buf *b, const uint8_t *digest) except -1:
    buf_reserve(b, 64)
    fs_hex(digest, 32, b.p + b.n)
    b.n += 64
    return 0

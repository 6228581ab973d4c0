# cython: language_level=3
"""The signing kernels, compiled: the twin of ``_speedups_py.py`` with the same names and
byte-identical results.

Every call runs in C for the inputs real traffic has. When the C scanner meets anything
unusual (an invalid escape, a folded header, a non-str argument, a lone surrogate...), that one
call is handed to the pure-Python twin, which raises the same exception or returns the same
result. So each error message exists once, and the two backends cannot drift on edge cases.
"""

cimport cython
from cpython.datetime cimport (
    PyDateTime_CheckExact, PyDateTime_DATE_GET_HOUR, PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND, PyDateTime_GET_DAY, PyDateTime_GET_MONTH, PyDateTime_GET_YEAR,
    datetime_tzinfo, import_datetime,
)
from cpython.dict cimport PyDict_Copy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.buffer cimport PyBUF_SIMPLE, PyObject_GetBuffer, PyBuffer_Release
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memchr, memcmp, memcpy, strlen

import datetime as _datetime
import time as _time

from . import _speedups_py as _py

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    bint PyDict_Next(object d, Py_ssize_t *pos, PyObject **key, PyObject **value)
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    void *PyUnicode_DATA(object o)
    bint PyUnicode_IS_ASCII(object o)
    object PyType_GenericAlloc(type t, Py_ssize_t n)
    void PyObject_GC_UnTrack(void *op)

cdef extern from "sha256.h" nogil:
    ctypedef struct fs_sha256_ctx:
        pass
    ctypedef struct fs_hmac_key:
        fs_sha256_ctx inner
        fs_sha256_ctx outer
    const char *fs_sha256_autoselect()
    int fs_sha256_select(const char *name)
    const char *fs_sha256_selected()
    int fs_sha256_shani_supported()
    int fs_sha256_armv8_supported()
    void fs_sha256_init(fs_sha256_ctx *ctx)
    void fs_sha256_update(fs_sha256_ctx *ctx, const void *data, size_t len)
    void fs_sha256_final(fs_sha256_ctx *ctx, uint8_t *digest)
    void fs_sha256(const void *data, size_t len, uint8_t *digest)
    void fs_hmac_init(fs_hmac_key *key, const uint8_t *secret, size_t len)
    void fs_hmac(const fs_hmac_key *key, const void *msg, size_t len, uint8_t *mac)
    void fs_hmac_from(const fs_hmac_key *key, const fs_sha256_ctx *start, const void *msg,
                      size_t len, uint8_t *mac)
    void fs_hex(const uint8_t *inp, size_t n, char *out)

cdef extern from "crc.h" nogil:
    void fs_crc_init()
    uint32_t fs_crc32c(uint32_t crc, const uint8_t *data, size_t len)
    uint64_t fs_crc64nvme(uint64_t crc, const uint8_t *data, size_t len)

cdef extern from "clock.h" nogil:
    double fs_wall_time()

cdef extern from "uri.h" nogil:
    const uint8_t fs_uri_keep_query[256]
    const uint8_t fs_uri_keep_path[256]
    bint fs_is_hex(const char *s, size_t n)
    uint64_t fs_uri_stops64(const uint8_t *s, size_t n, size_t base)
    unsigned fs_lowest_bit(uint64_t x)
    bint fs_header_value_ok(const char *s, size_t n)
    size_t fs_ascii_run(const char *s, size_t n)
    size_t fs_uri_encode(const uint8_t *inp, size_t len, char *out, const uint8_t *keep)
    Py_ssize_t fs_uri_decode(const uint8_t *inp, size_t len, uint8_t *out)

ALGORITHM = _py.ALGORITHM
EMPTY_SHA256 = _py.EMPTY_SHA256
UNSIGNED_PAYLOAD = _py.UNSIGNED_PAYLOAD

fs_sha256_autoselect()

# Release the GIL for updates at least this long: below it, the handoff costs more than it saves.
DEF NOGIL_THRESHOLD = 4096


def sha256_implementations():
    """The SHA-256 compression functions this CPU can run; the first is the default."""
    names = []
    if fs_sha256_shani_supported():
        names.append("shani")
    if fs_sha256_armv8_supported():
        names.append("armv8")
    names.append("portable")
    return names


def select_sha256(str name):
    """Force one SHA-256 implementation (for tests); returns the one in use before."""
    before = fs_sha256_selected().decode()
    if fs_sha256_select(name.encode()) != 0:
        raise ValueError(f"SHA-256 implementation {name!r} is not available on this CPU")
    return before


# ---------------------------------------------------------------------------------------------
# A growable byte buffer on the C heap; the kernels build every string in one.

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


# ---------------------------------------------------------------------------------------------
# SHA-256 and HMAC-SHA256

cdef int hash_buffer(fs_sha256_ctx *ctx, data) except -1:
    """Feeds a bytes-like object to ``ctx``, without the GIL when it is large."""
    cdef Py_buffer view
    if isinstance(data, str):
        raise TypeError("Strings must be encoded before hashing")
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        if view.len >= NOGIL_THRESHOLD:
            with nogil:
                fs_sha256_update(ctx, view.buf, view.len)
        else:
            fs_sha256_update(ctx, view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return 0


cdef class Sha256:
    """Streaming SHA-256 of a payload: ``update`` with bytes-like data, ``update_file`` with a
    binary file object, then ``hexdigest``. Large updates release the GIL."""

    cdef fs_sha256_ctx ctx

    def __init__(self, data=b""):
        fs_sha256_init(&self.ctx)
        hash_buffer(&self.ctx, data)

    def update(self, data):
        hash_buffer(&self.ctx, data)

    def update_file(self, fileobj, Py_ssize_t chunk_size=65536):
        """Hash ``fileobj`` from its current position to its end; return the bytes read."""
        cdef Py_ssize_t total = 0
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        read = fileobj.read
        while True:
            chunk = read(chunk_size)
            if not chunk:
                return total
            if isinstance(chunk, str):
                raise TypeError("file object returned str; open it in binary mode")
            self.update(chunk)
            total += len(chunk)

    def copy(self):
        cdef Sha256 clone = Sha256.__new__(Sha256)
        clone.ctx = self.ctx
        return clone

    def digest(self):
        cdef fs_sha256_ctx ctx = self.ctx
        cdef uint8_t out[32]
        fs_sha256_final(&ctx, out)
        return PyBytes_FromStringAndSize(<char *>out, 32)

    def hexdigest(self):
        cdef fs_sha256_ctx ctx = self.ctx
        cdef uint8_t out[32]
        cdef char hexed[64]
        fs_sha256_final(&ctx, out)
        fs_hex(out, 32, hexed)
        return ascii_str(hexed, 64)


def sha256_hex(data):
    """Lowercase hex SHA-256 of bytes-like ``data``."""
    cdef fs_sha256_ctx ctx
    cdef uint8_t out[32]
    cdef char hexed[64]
    fs_sha256_init(&ctx)
    hash_buffer(&ctx, data)
    fs_sha256_final(&ctx, out)
    fs_hex(out, 32, hexed)
    return ascii_str(hexed, 64)


cdef bint crc_tables_built = False


cdef uint64_t crc_of(data, uint64_t crc, bint wide) except? 0:
    global crc_tables_built
    cdef Py_buffer view
    if not crc_tables_built:  # on first use, not at import; the GIL keeps other threads out
        fs_crc_init()
        crc_tables_built = True
    PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
    try:
        with nogil:
            if wide:
                crc = fs_crc64nvme(crc, <const uint8_t *>view.buf, view.len)
            else:
                crc = fs_crc32c(<uint32_t>crc, <const uint8_t *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return crc


def crc32c(data, crc=0):
    """CRC-32C of bytes-like ``data``, continuing from ``crc`` (a previous result)."""
    cdef uint32_t start = crc  # OverflowError beyond 32 bits, as before any work
    return <uint32_t>crc_of(data, start, False)


def crc64nvme(data, crc=0):
    """CRC-64/NVME of bytes-like ``data``, continuing from ``crc`` (a previous result)."""
    return crc_of(data, crc, True)


def hmac_sha256(key, message):
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return SigningKey(key).digest(message)


cdef class SigningKey:
    """HMAC-SHA256 with the inner and outer states computed once, so that each signature
    costs only the compressions of its own message."""

    cdef fs_hmac_key key

    def __init__(self, key):
        cdef bytes raw = bytes(key)
        fs_hmac_init(&self.key, <const uint8_t *>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))

    def digest(self, message):
        cdef Py_buffer view
        cdef uint8_t out[32]
        PyObject_GetBuffer(message, &view, PyBUF_SIMPLE)
        try:
            fs_hmac(&self.key, view.buf, view.len, out)
        finally:
            PyBuffer_Release(&view)
        return PyBytes_FromStringAndSize(<char *>out, 32)

    def sign(self, str message):
        """Hex HMAC of a string to sign (ASCII by construction)."""
        cdef bytes raw = message.encode("ascii")
        cdef uint8_t out[32]
        cdef char hexed[64]
        fs_hmac(&self.key, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw), out)
        fs_hex(out, 32, hexed)
        return ascii_str(hexed, 64)


# -- the request time -----------------------------------------------------------------------

import_datetime()
from ._timestamp import to_epoch_seconds as _to_epoch_seconds

cdef object _UTC = _datetime.timezone.utc


def epoch_seconds(timestamp):
    """Whole seconds since the epoch of a request time. What callers pass most (a naive or
    UTC ``datetime`` after 1970, an ``int`` or ``float`` epoch) is read here; anything else
    goes to fastsig._timestamp.to_epoch_seconds, the one rule, which also raises the errors."""
    cdef long long secs
    cdef double value
    if PyDateTime_CheckExact(timestamp):
        zone = datetime_tzinfo(timestamp)
        if zone is None or zone is _UTC:
            secs = (days_from_civil(PyDateTime_GET_YEAR(timestamp), PyDateTime_GET_MONTH(timestamp),
                                    PyDateTime_GET_DAY(timestamp)) * 86400
                    + PyDateTime_DATE_GET_HOUR(timestamp) * 3600
                    + PyDateTime_DATE_GET_MINUTE(timestamp) * 60
                    + PyDateTime_DATE_GET_SECOND(timestamp))
            # Below 2**32 the microseconds cannot round datetime.timestamp()'s float up to the
            # next second, so the Python rule's floor is exactly these whole seconds.
            if 0 <= secs < 4294967296:
                return secs
    elif type(timestamp) is int:
        if 0 <= timestamp < 253402300800:
            return timestamp
    elif type(timestamp) is float:
        value = timestamp
        if 0.0 <= value < 253402300800.0:  # false for NaN
            return <long long>value  # truncation is the floor of a non-negative value
    return _to_epoch_seconds(timestamp)


def derive_signing_key(str secret_access_key, str date, str region, str service):
    """The SigV4 signing key:
    kDate = HMAC("AWS4" + secret, date); kRegion = HMAC(kDate, region);
    kService = HMAC(kRegion, service); kSigning = HMAC(kService, "aws4_request")."""
    cdef fs_hmac_key hk
    cdef uint8_t key[32]
    cdef bytes first = ("AWS4" + secret_access_key).encode("utf-8")
    cdef bytes part
    fs_hmac_init(&hk, <const uint8_t *>PyBytes_AS_STRING(first), PyBytes_GET_SIZE(first))
    part = date.encode("utf-8")
    fs_hmac(&hk, PyBytes_AS_STRING(part), PyBytes_GET_SIZE(part), key)
    for text in (region, service, "aws4_request"):
        part = text.encode("utf-8")
        fs_hmac_init(&hk, key, 32)
        fs_hmac(&hk, PyBytes_AS_STRING(part), PyBytes_GET_SIZE(part), key)
    return PyBytes_FromStringAndSize(<char *>key, 32)


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


def uri_encode(str text, bint keep_slash=False):
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


def normalize_path(str path):
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

    def paths(self, str path):
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

cdef int compare_pairs(const void *a, const void *b) noexcept nogil:
    # Python's tuple order on (key, value) ASCII strings: bytewise, shorter first on a tie.
    cdef const Pair *x = <const Pair *>a
    cdef const Pair *y = <const Pair *>b
    cdef Py_ssize_t n = x.key_len if x.key_len < y.key_len else y.key_len
    cdef int c = memcmp(x.key, y.key, n)
    if c:
        return c
    if x.key_len != y.key_len:
        return -1 if x.key_len < y.key_len else 1
    n = x.value_len if x.value_len < y.value_len else y.value_len
    c = memcmp(x.value, y.value, n)
    if c:
        return c
    if x.value_len != y.value_len:
        return -1 if x.value_len < y.value_len else 1
    return 0

# The presigning parameters, by index: the order of _AUTH_KEYS.
_AUTH_KEYS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
             "X-Amz-SignedHeaders", "X-Amz-Security-Token", "X-Amz-Signature")
DEF A_ALGORITHM = 0
DEF A_CREDENTIAL = 1
DEF A_DATE = 2
DEF A_EXPIRES = 3
DEF A_SIGNED_HEADERS = 4
DEF A_TOKEN = 5
DEF A_SIGNATURE = 6

ctypedef int (*compare_fn)(const void *, const void *) noexcept nogil

cdef void sort_small(void *base, Py_ssize_t n, size_t size, compare_fn compare) noexcept:
    """qsort, but an insertion sort for the handful of parameters or headers a request
    usually has (items of at most 64 bytes)."""
    cdef char *a = <char *>base
    cdef char item[64]
    cdef Py_ssize_t i, j
    if n > 16 or size > 64:
        qsort(base, n, size, compare)
        return
    for i in range(1, n):
        memcpy(item, a + i * size, size)
        j = i
        while j > 0 and compare(a + (j - 1) * size, item) > 0:
            memcpy(a + j * size, a + (j - 1) * size, size)
            j -= 1
        memcpy(a + j * size, item, size)

cdef int auth_key_index(const char *k, Py_ssize_t n) noexcept:
    """The index of a presigning parameter's name, or -1."""
    if n < 10 or memcmp(k, b"X-Amz-", 6) != 0:
        return -1
    k += 6
    n -= 6
    if n == 9 and memcmp(k, b"Algorithm", 9) == 0:
        return A_ALGORITHM
    if n == 10 and memcmp(k, b"Credential", 10) == 0:
        return A_CREDENTIAL
    if n == 4 and memcmp(k, b"Date", 4) == 0:
        return A_DATE
    if n == 7 and memcmp(k, b"Expires", 7) == 0:
        return A_EXPIRES
    if n == 13 and memcmp(k, b"SignedHeaders", 13) == 0:
        return A_SIGNED_HEADERS
    if n == 14 and memcmp(k, b"Security-Token", 14) == 0:
        return A_TOKEN
    if n == 9 and memcmp(k, b"Signature", 9) == 0:
        return A_SIGNATURE
    return -1

cdef struct AuthSlots:
    # Each presigning parameter's value as received, canonically encoded (pointing into the
    # query, or into ``values`` when query_into rebuilt it), and how often the parameter
    # appeared. Values are decoded only where needed (slots_decode): the checks of a presigned
    # URL compare most of them with unreserved text, which a canonical value matches as it is.
    const char *at[7]
    Py_ssize_t len[7]
    int count[7]
    Buf values  # query_into's copy of the query, when it rebuilt one
    Buf decoded

cdef inline int slots_init(AuthSlots *a) except -1:
    cdef int i
    for i in range(7):
        a.count[i] = 0
        a.at[i] = NULL
        a.len[i] = 0
    buf_init(&a.values, 0)
    return buf_init(&a.decoded, 0)

cdef inline void slots_free(AuthSlots *a) noexcept:
    buf_free(&a.values)
    buf_free(&a.decoded)

cdef inline void record_auth(AuthSlots *a, int index, const char *v, Py_ssize_t vn) noexcept:
    a.count[index] += 1
    if a.count[index] == 1:
        a.at[index] = v
        a.len[index] = vn

cdef int slots_decode(AuthSlots *a, unsigned which) except -1:
    """Decodes the values of the parameters whose bits are set in ``which`` (1 << index);
    once for a set of slots, since the values decoded take their room in one go."""
    cdef int i
    cdef Py_ssize_t total = 0
    for i in range(7):
        if which >> i & 1:
            total += a.len[i]
    buf_reserve(&a.decoded, total)  # once: the decoded values must not move
    for i in range(7):
        if which >> i & 1 and a.count[i] and memchr(a.at[i], b'%', a.len[i]) != NULL:
            # Canonical input (unreserved bytes and %XX): decoding cannot fail.
            a.len[i] = fs_uri_decode(<const uint8_t *>a.at[i], a.len[i],
                                     <uint8_t *>a.decoded.p + a.decoded.n)
            a.at[i] = a.decoded.p + a.decoded.n
            a.decoded.n += a.len[i]
    return 0

cdef int query_into(Buf *out, const char *q, Py_ssize_t n, const char *extra,
                    Py_ssize_t extra_n, bint drop_auth, AuthSlots *slots=NULL) except -1:
    """The canonical query of q[0..n) plus the canonical pairs ``extra`` (already encoded and
    sorted), appended to ``out``; returns 1 (nothing written) on a bad escape. With ``slots``,
    the presigning parameters are recorded there and the signature is left out."""
    cdef int index
    cdef Py_ssize_t count = 2, i, start, eq, end, k_off, v_off
    cdef Pair *pairs
    cdef Buf own
    cdef Buf *scratch = &own if slots == NULL else &slots.values  # the slots point into it
    cdef Py_ssize_t npairs = 0
    for i in range(n):
        if q[i] == b'&':
            count += 1
    for i in range(extra_n):
        if extra[i] == b'&':
            count += 1
    pairs = <Pair *>malloc(count * sizeof(Pair))
    if pairs == NULL:
        raise MemoryError()
    buf_init(&own, 0)
    try:
        buf_reserve(scratch, 3 * n + 2)  # up front, so that pointers into it stay valid
        start = 0
        while start <= n:
            end = start
            eq = -1
            while end < n and q[end] != b'&':
                if eq < 0 and q[end] == b'=':
                    eq = end
                end += 1
            if end > start:
                if eq < 0:
                    eq = end
                k_off = scratch.n
                if reencode_into(scratch, <const uint8_t *>q + start, eq - start, fs_uri_keep_query):
                    return 1
                v_off = scratch.n
                if eq < end and reencode_into(scratch, <const uint8_t *>q + eq + 1, end - eq - 1,
                                              fs_uri_keep_query):
                    return 1
                index = auth_key_index(scratch.p + k_off, v_off - k_off) \
                    if (slots != NULL or drop_auth) else -1
                if slots != NULL and index >= 0:
                    record_auth(slots, index, scratch.p + v_off, scratch.n - v_off)
                    if index == A_SIGNATURE:
                        start = end + 1
                        continue
                if not (drop_auth and index >= 0):
                    pairs[npairs].key = <const char *>k_off
                    pairs[npairs].key_len = v_off - k_off
                    pairs[npairs].value = <const char *>v_off
                    pairs[npairs].value_len = scratch.n - v_off
                    npairs += 1
            start = end + 1
        for i in range(npairs):
            pairs[i].key = scratch.p + <Py_ssize_t>pairs[i].key
            pairs[i].value = scratch.p + <Py_ssize_t>pairs[i].value
        start = 0
        while start < extra_n:
            end = start
            eq = -1
            while end < extra_n and extra[end] != b'&':
                if eq < 0 and extra[end] == b'=':
                    eq = end
                end += 1
            pairs[npairs].key = extra + start
            pairs[npairs].key_len = eq - start
            pairs[npairs].value = extra + eq + 1
            pairs[npairs].value_len = end - eq - 1
            npairs += 1
            start = end + 1
        sort_small(pairs, npairs, sizeof(Pair), compare_pairs)
        buf_reserve(out, scratch.n + extra_n + 2 * npairs)
        for i in range(npairs):
            if i:
                buf_addc(out, b'&')
            buf_add(out, pairs[i].key, pairs[i].key_len)
            buf_addc(out, b'=')
            buf_add(out, pairs[i].value, pairs[i].value_len)
    finally:
        buf_free(&own)
        free(pairs)
    return 0


def canonical_query(str query):
    """The canonical query string: parameters in the canonical encoding, sorted by key and
    then value, repeated keys kept."""
    cdef Py_ssize_t n
    cdef const char *s
    cdef Buf b
    s = utf8_or_null(query, &n)
    if s == NULL:
        return _py.canonical_query(query)
    buf_init(&b, 3 * n + 2)
    try:
        if query_into(&b, s, n, NULL, 0, False):
            return _py.canonical_query(query)
        return ascii_str(b.p, b.n)
    finally:
        buf_free(&b)


def split_auth_query(str query):
    """(canonical query without ``X-Amz-Signature``, the presigning parameters) of a received
    query string. The parameters are the ``X-Amz-*`` names of a presigned URL (Algorithm,
    Credential, Date, Expires, SignedHeaders, Security-Token, Signature) with their values
    decoded; a name that appears more than once maps to None."""
    cdef Py_ssize_t n
    cdef const char *s
    cdef Buf b
    cdef AuthSlots slots
    s = utf8_or_null(query, &n)
    if s == NULL:
        return _py.split_auth_query(query)
    if n == 0:
        return "", {}
    buf_init(&b, 3 * n + 2)
    slots_init(&slots)
    try:
        if query_into(&b, s, n, NULL, 0, False, &slots):
            return _py.split_auth_query(query)
        auth = auth_dict(&slots)
        if auth is None:
            return _py.split_auth_query(query)
        return ascii_str(b.p, b.n), auth
    finally:
        buf_free(&b)
        slots_free(&slots)


cdef dict auth_dict(AuthSlots *slots):
    """split_auth_query's parameters, or None if one is not UTF-8."""
    cdef dict auth = {}
    cdef int i
    slots_decode(slots, 0x7f)
    for i in range(7):
        if slots.count[i] > 1:
            auth[_AUTH_KEYS[i]] = None
        elif slots.count[i]:
            try:
                auth[_AUTH_KEYS[i]] = utf8_str(slots.at[i], slots.len[i])
            except UnicodeDecodeError:
                return None
    return auth


# ---------------------------------------------------------------------------------------------
# Requests

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
    u.authority_end = u.path_end = u.query_end = n
    u.query_start = -1
    # One pass: the first "/", "?" or "#" ends the authority, the first "?" or "#" the path,
    # the first "#" the query; any control character anywhere sends the URL to the pure twin.
    for i in range(i + 3, n):
        c = URL_CLASS[<uint8_t>s[i]]
        if c == 0:
            continue
        if c == CONTROL:
            return 1
        if c == HASH:
            if u.authority_end == n:
                u.authority_end = i
            if u.path_end == n:
                u.path_end = i
            u.query_end = i
            break
        if u.authority_end == n:
            u.authority_end = i
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


DEF OURS = 1        # added by the signer, value already canonical
DEF EXCLUDED = 2    # sent, not signed
DEF IS_HOST = 4
DEF IS_CONTENT = 8
DEF JOINED = 16     # first of a repeated group (in sorted order): carries the joined value
DEF NOT_FIRST = 32  # a later member of a repeated group
DEF IS_AUTH = 64    # Authorization
DEF IS_DATE = 128   # X-Amz-Date
DEF IS_TOKEN = 256  # X-Amz-Security-Token
DEF STACK_HEADERS = 16

cdef struct Hdr:
    const char *name      # lowercase
    Py_ssize_t name_off   # into HeaderSet.names, until the names stop moving
    Py_ssize_t name_len
    const char *value
    Py_ssize_t value_len
    Py_ssize_t order
    PyObject *name_obj    # borrowed: HeaderSet.held keeps them alive
    PyObject *value_obj
    PyObject *joined      # owned reference, released by hs_free
    int flags

cdef struct HeaderSet:
    Hdr *e
    Py_ssize_t count
    Py_ssize_t cap
    Hdr **order
    Buf names
    bint has_host
    PyObject *content     # owned: the canonical X-Amz-Content-SHA256 the caller sent, or NULL
    Hdr stack[STACK_HEADERS]
    Hdr *stack_order[STACK_HEADERS]

cdef int compare_headers(const void *a, const void *b) noexcept nogil:
    cdef const Hdr *x = (<const Hdr **>a)[0]
    cdef const Hdr *y = (<const Hdr **>b)[0]
    cdef Py_ssize_t n = x.name_len if x.name_len < y.name_len else y.name_len
    cdef int c = memcmp(x.name, y.name, n)
    if c:
        return c
    if x.name_len != y.name_len:
        return -1 if x.name_len < y.name_len else 1
    return -1 if x.order < y.order else (1 if x.order > y.order else 0)

cdef int hs_init(HeaderSet *hs) except -1:
    hs.e = hs.stack
    hs.count = 0
    hs.cap = STACK_HEADERS
    hs.order = NULL
    hs.has_host = False
    hs.content = NULL
    buf_init(&hs.names, 256)
    return 0

cdef void hs_free(HeaderSet *hs) noexcept:
    cdef Py_ssize_t i
    for i in range(hs.count):
        if hs.e[i].flags & JOINED:
            Py_XDECREF(hs.e[i].joined)
    Py_XDECREF(hs.content)
    free(hs.order)
    if hs.e != hs.stack:
        free(hs.e)
    buf_free(&hs.names)

cdef Hdr *hs_add(HeaderSet *hs) except NULL:
    """Room for one more header at hs.e[hs.count] (not counted until the caller says so)."""
    cdef Hdr *grown
    if hs.count == hs.cap:
        grown = <Hdr *>malloc(2 * hs.cap * sizeof(Hdr))
        if grown == NULL:
            raise MemoryError()
        memcpy(grown, hs.e, hs.count * sizeof(Hdr))
        if hs.e != hs.stack:
            free(hs.e)
        hs.e = grown
        hs.cap *= 2
    hs.e[hs.count].joined = NULL
    hs.e[hs.count].name_obj = hs.e[hs.count].value_obj = NULL
    hs.e[hs.count].order = hs.count
    hs.e[hs.count].flags = 0
    return &hs.e[hs.count]

cdef int hs_add_ours(HeaderSet *hs, const char *name, const char *value,
                     Py_ssize_t value_len) except -1:
    cdef Hdr *h = hs_add(hs)
    h.flags = OURS
    h.name = name
    h.name_len = <Py_ssize_t>strlen(name)
    h.name_off = -1
    h.value = value
    h.value_len = value_len
    hs.count += 1
    return 0

cdef bint is_owned(Hdr *h, const char *lname, bint content_owned) noexcept:
    """Flags a header by what it is; True when the signer replaces it (Authorization,
    X-Amz-Date, X-Amz-Security-Token, and X-Amz-Content-SHA256 when the signer sends its own)."""
    cdef Py_ssize_t n = h.name_len
    if n == 4 and memcmp(lname, b"host", 4) == 0:
        h.flags |= IS_HOST
        return False
    if n == 13 and memcmp(lname, b"authorization", 13) == 0:
        h.flags |= IS_AUTH
    elif n == 10 and memcmp(lname, b"x-amz-date", 10) == 0:
        h.flags |= IS_DATE
    elif n == 20 and memcmp(lname, b"x-amz-security-token", 20) == 0:
        h.flags |= IS_TOKEN
    elif n == 20 and memcmp(lname, b"x-amz-content-sha256", 20) == 0:
        h.flags |= IS_CONTENT
        return content_owned
    else:
        return False
    return True

DEF BLOB_FILTER = 32  # bytes of the blob's quick-reject bitmap

cdef inline unsigned blob_bit(const char *name, Py_ssize_t n) noexcept:
    return <unsigned>(n * 7 + <uint8_t>name[0] * 3 + <uint8_t>name[n - 1]) & 255

cdef bytes excluded_blob(names):
    """Header names as one blob, scanned in C per header: a 256-bit filter over (length,
    first and last byte) that rules most names out at once, then (length byte, name)
    records."""
    cdef bytearray blob = bytearray(BLOB_FILTER)
    cdef unsigned bit
    for name in names:
        raw = name.encode("utf-8", "surrogatepass")
        if 0 < len(raw) < 256:  # longer names cannot be header names we accept anyway
            bit = blob_bit(raw, len(raw))
            blob[bit >> 3] |= 1 << (bit & 7)
            blob += bytes((len(raw),)) + raw
    return bytes(blob)


cdef bint in_blob(const char *blob, Py_ssize_t blob_len, const char *name, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i = BLOB_FILTER, length
    cdef unsigned bit
    if blob_len <= BLOB_FILTER:
        return False  # no names (the verifier excludes none)
    bit = blob_bit(name, n)
    if not (<uint8_t>blob[bit >> 3] >> (bit & 7)) & 1:
        return False
    while i < blob_len:
        length = <uint8_t>blob[i]
        if length == n and memcmp(blob + i + 1, name, n) == 0:
            return True
        i += 1 + length
    return False


cdef int hs_collect(HeaderSet *hs, headers, list held, bint apply_owned, bint content_owned,
                    bytes excluded, bint raw_ok=False) except -1:
    """The caller's headers, checked and lowercased, owned ones dropped, excluded ones flagged.
    Returns 1 for anything the pure twin must judge (a non-str, a bad name or value, a fold).
    ``raw_ok``: (bytes, bytes) pairs too, as an ASGI server gives them (the verifier's fast
    path only: its pure twin defers everything, so no other caller may differ from it).
    ``held`` keeps the items of other iterables alive. A dict's or a list's own entries are
    read in place when ``held`` is None: the caller holds the container, and runs no Python
    code until it is done with them, or holds the values it still needs itself (the verifier,
    which asks the lookup)."""
    cdef Py_ssize_t pos = 0
    cdef PyObject *name
    cdef PyObject *value
    if headers is None:
        return 0
    try:
        if type(headers) is dict:
            while PyDict_Next(headers, &pos, &name, &value):
                if hs_take(hs, <object>name, <object>value, apply_owned, content_owned,
                           excluded, False):
                    return 1
                if held is not None:
                    held.append(<object>value)
            return 0
        if type(headers) is list:
            items = None
        else:
            items = getattr(headers, "items", None)
        for item in (items() if items is not None else headers):
            if type(item) is not tuple or len(<tuple>item) != 2:
                return 1
            if hs_take(hs, (<tuple>item)[0], (<tuple>item)[1], apply_owned, content_owned,
                       excluded, raw_ok):
                return 1
            if held is not None:
                held.append(item)
    except (TypeError, ValueError, UnicodeEncodeError):
        return 1
    return 0

cdef int hs_take(HeaderSet *hs, name, value, bint apply_owned, bint content_owned,
                 bytes excluded, bint raw_ok) except -1:
    """One header of hs_collect; 1 for the pure twin to judge."""
    cdef Hdr *h
    cdef Py_ssize_t i, n
    cdef const char *s
    cdef char *lowered
    cdef char c
    cdef bint owned
    cdef bint raw = type(name) is bytes and type(value) is bytes and raw_ok
    if not raw and (type(name) is not str or type(value) is not str):
        return 1
    h = hs_add(hs)
    if raw:
        s = PyBytes_AS_STRING(name)
        n = PyBytes_GET_SIZE(name)
    else:
        s = PyUnicode_AsUTF8AndSize(name, &n)
    if n == 0:
        return 1
    h.name_off = hs.names.n
    h.name_len = n
    buf_reserve(&hs.names, n)
    lowered = hs.names.p + hs.names.n
    for i in range(n):
        c = TOKEN_LOWER[<uint8_t>s[i]]
        if c == 0:
            return 1
        lowered[i] = c
    hs.names.n += n
    if raw:
        s = PyBytes_AS_STRING(value)
        n = PyBytes_GET_SIZE(value)
    else:
        s = PyUnicode_AsUTF8AndSize(value, &n)
    if not fs_header_value_ok(s, n):
        return 1
    h.value = s
    h.value_len = n
    h.name_obj = <PyObject *>name
    h.value_obj = <PyObject *>value
    s = hs.names.p + h.name_off
    owned = is_owned(h, s, content_owned) and apply_owned
    if h.flags & IS_CONTENT:
        found = canonical_value_of(h.value, h.value_len)
        Py_INCREF(found)
        Py_XDECREF(hs.content)
        hs.content = <PyObject *>found
    if owned:
        return 0
    if in_blob(PyBytes_AS_STRING(excluded), PyBytes_GET_SIZE(excluded), s, h.name_len):
        h.flags |= EXCLUDED
    if h.flags & IS_HOST:
        hs.has_host = True
    hs.count += 1
    return 0

cdef int hs_emit(HeaderSet *hs, Buf *block, Buf *signed) except -1:
    """Sorts the headers and writes CanonicalHeaders and SignedHeaders; marks repeated groups
    (JOINED on the first in sorted order, holding the value to send; NOT_FIRST on the rest)."""
    cdef Py_ssize_t i, j, k
    cdef Hdr **order
    cdef Buf joined
    cdef bint first = True
    for i in range(hs.count):
        if hs.e[i].name_off >= 0:
            hs.e[i].name = hs.names.p + hs.e[i].name_off
    if hs.count <= STACK_HEADERS:
        order = hs.stack_order
    else:
        order = <Hdr **>malloc(hs.count * sizeof(Hdr *))
        if order == NULL:
            raise MemoryError()
        hs.order = order
    for i in range(hs.count):
        order[i] = &hs.e[i]
    sort_small(order, hs.count, sizeof(Hdr *), compare_headers)
    buf_init(&joined, 256)
    try:
        i = 0
        while i < hs.count:
            j = i + 1
            while j < hs.count and order[j].name_len == order[i].name_len and memcmp(
                    order[j].name, order[i].name, order[i].name_len) == 0:
                j += 1
            if not (order[i].flags & EXCLUDED):
                buf_add(block, order[i].name, order[i].name_len)
                buf_addc(block, b':')
                for k in range(i, j):
                    if k > i:
                        buf_addc(block, b',')
                    if order[k].flags & OURS:
                        buf_add(block, order[k].value, order[k].value_len)
                    else:
                        trimall_into(block, order[k].value, order[k].value_len)
                buf_addc(block, b'\n')
                if not first:
                    buf_addc(signed, b';')
                first = False
                buf_add(signed, order[i].name, order[i].name_len)
            if j - i > 1:  # repeated: sent as one header, canonical values joined with ","
                joined.n = 0
                for k in range(i, j):
                    if k > i:
                        buf_addc(&joined, b',')
                    trimall_into(&joined, order[k].value, order[k].value_len)
                value = ascii_str(joined.p, joined.n)
                Py_INCREF(value)
                order[i].joined = <PyObject *>value
                order[i].flags |= JOINED
                for k in range(i + 1, j):
                    order[k].flags |= NOT_FIRST
            i = j
    finally:
        buf_free(&joined)
    return 0

cdef object canonical_value_of(const char *s, Py_ssize_t n):
    cdef Buf b
    buf_init(&b, n + 1)
    try:
        trimall_into(&b, s, n)
        return ascii_str(b.p, b.n)
    finally:
        buf_free(&b)


def wsgi_headers(environ):
    """A WSGI environ's request headers as (name, value) pairs (see the pure twin): the loop
    every WSGI request runs, in C."""
    cdef Py_ssize_t pos = 0
    cdef PyObject *key
    cdef PyObject *value
    cdef list headers = []
    if type(environ) is not dict:
        return _py.wsgi_headers(environ)
    while PyDict_Next(environ, &pos, &key, &value):
        if type(<object>key) is not str:
            return _py.wsgi_headers(environ)  # which says what is wrong with it
        if (<str><object>key).startswith("HTTP_"):
            headers.append(((<str><object>key)[5:].replace("_", "-"), <object>value))
        elif ((<str><object>key) == "CONTENT_TYPE" or (<str><object>key) == "CONTENT_LENGTH") \
                and <object>value:
            headers.append(((<str><object>key).replace("_", "-"), <object>value))
    return headers


def canonical_headers(headers, excluded=()):
    """(canonical headers block, signed headers list) of ``headers``, a mapping or (name, value)
    pairs; names in ``excluded`` (lowercase) are left out."""
    cdef HeaderSet hs
    cdef Buf block, signed
    # As the pure twin: any hashable goes in the set, only str names can match a header.
    skip = excluded_blob([n for n in frozenset(excluded) if type(n) is str])
    hs_init(&hs)
    buf_init(&block, 512)
    buf_init(&signed, 128)
    try:
        if hs_collect(&hs, headers, [], False, False, skip):
            return _py.canonical_headers(headers, excluded)
        hs_emit(&hs, &block, &signed)
        return ascii_str(block.p, block.n), ascii_str(signed.p, signed.n)
    finally:
        hs_free(&hs)
        buf_free(&block)
        buf_free(&signed)


SignedRequest = _py.SignedRequest
cdef type SIGNED_REQUEST = SignedRequest
cdef tuple NO_ARGS = ()
# Where SignedRequest's __slots__ live in the object: written directly, they cost a store each;
# through setattr, five of them were a tenth of a header signature.
cdef Py_ssize_t SIGNED_REQUEST_SLOTS[5]
for _i, _name in enumerate(("url", "headers", "signature", "canonical_request", "_string_to_sign")):
    _slot = SignedRequest.__dict__[_name]
    assert type(_slot).__name__ == "member_descriptor"
    SIGNED_REQUEST_SLOTS[_i] = (<PyMemberDescrObject *>_slot).d_member.offset

cdef inline void set_slot(PyObject *obj, int index, object value) noexcept:
    Py_INCREF(value)
    (<PyObject **>(<char *>obj + SIGNED_REQUEST_SLOTS[index]))[0] = <PyObject *>value

cdef object signed_request(url, headers, signature, canonical_request, string_to_sign):
    """A SignedRequest, made without running its Python __init__."""
    cdef object r = (<PyTypeObject *>SIGNED_REQUEST).tp_new(SIGNED_REQUEST, <PyObject *>NO_ARGS, NULL)
    cdef PyObject *raw = <PyObject *>r
    set_slot(raw, 0, url)
    set_slot(raw, 1, headers)
    set_slot(raw, 2, signature)
    set_slot(raw, 3, canonical_request)
    set_slot(raw, 4, string_to_sign)
    # Out of the cyclic GC: a SignedRequest holds strings and a dict of strings, so it is in
    # no cycle unless a caller builds one through it (which would then never be collected).
    # Tracked, 100,000 kept results cost a fifth of the signing time in full collections that
    # walk them all (CPython untracks tuples and dicts of atomic values for the same reason).
    PyObject_GC_UnTrack(raw)
    return r


cdef class _LastOrigin:
    """The last (scheme, Host header) parsed: bulk signing and verifying repeat one origin,
    which then costs one memcmp instead of a slice and a dict lookup."""

    cdef bytes key  # "scheme://authority"
    cdef tuple origin

    cdef tuple get(self, Url *u):
        if (self.key is not None and PyBytes_GET_SIZE(self.key) == u.authority_end
                and memcmp(PyBytes_AS_STRING(self.key), u.s, u.authority_end) == 0):
            return self.origin
        origin = origin_of(u)
        if origin is not None:
            self.key = PyBytes_FromStringAndSize(u.s, u.authority_end)
            self.origin = origin
        return origin

    cdef tuple find_origin_of(self, const char *scheme, Py_ssize_t scheme_n, bytes host):
        """The origin of ``scheme://host`` when that is the last one: checking that needs no
        parse, since an authority that parsed once parses alike again."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(host)
        cdef const char *key
        if self.key is None or PyBytes_GET_SIZE(self.key) != scheme_n + 3 + n:
            return None
        key = PyBytes_AS_STRING(self.key)
        if (memcmp(key, scheme, scheme_n) or memcmp(key + scheme_n, b"://", 3)
                or memcmp(key + scheme_n + 3, PyBytes_AS_STRING(host), n)):
            return None
        return self.origin

    cdef tuple find(self, Url *u):
        """``get`` for the verifiers: None for a host or port the signers refuse too (the
        general path then says which)."""
        try:
            return self.get(u)
        except _py.SigningError:
            return None


cdef void signature_of(const fs_hmac_key *key, const fs_sha256_ctx *sts_inner, Buf *creq,
                       char *creq_hex, char *signature_hex) noexcept:
    """The hex SHA-256 of the canonical request, the last line of the string to sign, and the
    hex signature, with the HMAC state after the string to sign's first three lines."""
    cdef uint8_t digest[32]
    fs_sha256(creq.p, creq.n, digest)
    fs_hex(digest, 32, creq_hex)
    fs_hmac_from(key, sts_inner, creq_hex, 64, digest)
    fs_hex(digest, 32, signature_hex)


cdef class SigningContext:
    """Signs requests for one set of credentials, scope and X-Amz-Date (see the pure twin)."""

    cdef fs_hmac_key key
    cdef fs_sha256_ctx sts_inner  # the HMAC inner state after the fixed string-to-sign prefix
    cdef readonly str amz_date
    cdef readonly str scope
    cdef readonly str credential
    cdef bytes amz_date_b
    cdef bytes authorization_prefix
    cdef object token
    cdef bytes token_suffix
    cdef bint double_encode, normalize, omit_token, content_header
    cdef dict auth_queries
    cdef tuple init_args
    cdef object pure
    # Bulk presigning repeats one origin and one expiry: remember the last of each.
    cdef _LastOrigin origins
    cdef long last_expires
    cdef bytes last_auth
    cdef str last_payload
    cdef bytes last_payload_b
    cdef str sts_prefix
    cdef bytes excluded_b
    cdef bytes token_b
    # set_tails' parts, and what they were made from
    cdef bytes creq_tail, url_head, url_middle, tail_auth, tail_payload
    cdef tuple tail_origin
    # presign_lines' output, kept from call to call: fresh megabytes cost a page fault every
    # 4 KiB. ``lines_busy`` guards it, should another thread ever get in.
    cdef Buf lines_out
    cdef bint lines_busy

    def __init__(self, signing_key, str access_key_id, str amz_date, str region, str service,
                 session_token, PathPolicy path_policy, bint omit_session_token,
                 bint content_sha256_header, excluded_headers):
        cdef bytes raw = bytes(signing_key)
        cdef bytes prefix
        self.init_args = (raw, access_key_id, amz_date, region, service, session_token,
                          path_policy.double_encode, path_policy.normalize,
                          omit_session_token, content_sha256_header, excluded_headers)
        self.pure = None
        fs_hmac_init(&self.key, <const uint8_t *>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
        self.amz_date = amz_date
        self.amz_date_b = amz_date.encode("ascii")
        self.scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
        self.credential = f"{access_key_id}/{self.scope}"
        prefix = f"{ALGORITHM}\n{amz_date}\n{self.scope}\n".encode("ascii")
        self.sts_inner = self.key.inner
        fs_sha256_update(&self.sts_inner, PyBytes_AS_STRING(prefix), PyBytes_GET_SIZE(prefix))
        self.authorization_prefix = f"{ALGORITHM} Credential={self.credential}, SignedHeaders=".encode("ascii")
        self.token = session_token
        self.double_encode = path_policy.double_encode
        self.normalize = path_policy.normalize
        self.omit_token = omit_session_token
        self.content_header = content_sha256_header
        self.token_suffix = (
            ("&X-Amz-Security-Token=" + uri_encode(session_token)).encode("ascii")
            if session_token is not None and omit_session_token else b"")
        self.excluded_b = excluded_blob(sorted(excluded_headers))
        self.token_b = session_token.encode("ascii") if session_token is not None else None
        self.sts_prefix = prefix.decode("ascii")
        self.auth_queries = {}
        self.origins = _LastOrigin()
        self.last_expires = -1
        self.last_auth = None
        self.last_payload = None
        self.last_payload_b = None
        buf_init(&self.lines_out, 0)

    def __dealloc__(self):
        buf_free(&self.lines_out)

    cdef bytes payload_bytes(self, str payload_hash):
        if payload_hash is not self.last_payload:
            self.last_payload_b = payload_hash.encode("ascii")
            self.last_payload = payload_hash
        return self.last_payload_b

    cdef object fallback(self):
        """The pure twin of this context, for the calls it must judge."""
        if self.pure is None:
            a = self.init_args
            self.pure = _py.SigningContext(a[0], a[1], a[2], a[3], a[4], a[5],
                                           _py.PathPolicy(a[6], a[7]), a[8], a[9], a[10])
        return self.pure

    cdef int sign_into(self, Buf *creq, uint8_t *signature_hex, Buf *sts) except -1:
        """Hashes the canonical request, builds the string to sign (into ``sts`` when given)
        and writes the hex signature."""
        cdef char hexed[64]
        signature_of(&self.key, &self.sts_inner, creq, hexed, <char *>signature_hex)
        if sts is not NULL:
            buf_add(sts, hexed, 64)
        return 0

    cdef bytes auth_query(self, long expires_in, str signed_headers):
        key = (expires_in, signed_headers)
        cached = self.auth_queries.get(key)
        if cached is None:
            parts = [
                "X-Amz-Algorithm=" + ALGORITHM,
                "X-Amz-Credential=" + uri_encode(self.credential),
                "X-Amz-Date=" + self.amz_date,
                f"X-Amz-Expires={expires_in}",
            ]
            if self.token is not None and not self.omit_token:
                parts.append("X-Amz-Security-Token=" + uri_encode(self.token))
            parts.append("X-Amz-SignedHeaders=" + uri_encode(signed_headers))
            cached = "&".join(parts).encode("ascii")
            if len(self.auth_queries) >= 64:
                self.auth_queries.clear()
            self.auth_queries[key] = cached
        return <bytes>cached

    cdef object presign_one(self, bytes method, object url, long expires_in, headers,
                            bytes payload_hash, Buf *sent, Buf *canonical, Buf *creq, Buf *out):
        """One presigned URL, or None for the pure twin to judge."""
        cdef Url u
        if type(url) is not str or parse_url(&u, url):
            return None
        origin = self.origins.get(&u)
        if origin is None:
            return None
        out.n = 0
        if self.presign_into(method, origin, u.s + u.authority_end, u.path_end - u.authority_end,
                             u.s + u.query_start if u.query_start >= 0 else NULL,
                             u.query_end - u.query_start if u.query_start >= 0 else 0,
                             expires_in, headers, payload_hash, sent, canonical, creq, out):
            return None
        # Only a double-encoded path is sent as given, so only a non-ASCII URL can give one.
        return ascii_str(out.p, out.n) if PyUnicode_IS_ASCII(url) else utf8_str(out.p, out.n)

    cdef int set_tails(self, bytes auth, tuple origin, bytes payload_hash) except -1:
        """The fixed parts of a presigned URL without query or extra headers: the canonical
        request after the canonical URI's line, the URL before the path and between path and
        signature."""
        scheme, host = origin
        host_b = host.encode("utf-8")
        self.creq_tail = auth + b"\nhost:" + host_b + b"\n\nhost\n" + payload_hash
        self.url_head = scheme.encode("ascii") + b"://" + host_b
        self.url_middle = b"?" + auth + b"&X-Amz-Signature="
        self.tail_auth = auth
        self.tail_origin = origin
        self.tail_payload = payload_hash
        return 0

    cdef int presign_into(self, bytes method, tuple origin, const char *path, Py_ssize_t path_n,
                          const char *query, Py_ssize_t query_n, long expires_in, headers,
                          bytes payload_hash, Buf *sent, Buf *canonical, Buf *creq,
                          Buf *out) except -1:
        """Appends the presigned URL of (scheme, host) + path + query to ``out``; returns 1
        for the pure twin to judge the call."""
        cdef Py_ssize_t cq_start, cq_end, host_n
        cdef const char *host_s
        cdef uint8_t signature[64]
        cdef bytes auth
        cdef HeaderSet hs
        cdef Buf block, signed
        cdef list held = None if headers is None or type(headers) is dict else []  # a dict is read in place
        scheme, host = origin
        sent.n = canonical.n = creq.n = 0
        if path_into(sent, canonical, path, path_n, self.double_encode, self.normalize):
            return 1
        host_s = PyUnicode_AsUTF8AndSize(host, &host_n)
        buf_addb(creq, method)
        buf_addc(creq, b'\n')
        buf_add(creq, canonical.p, canonical.n)
        buf_addc(creq, b'\n')
        if headers:
            hs_init(&hs)
            buf_init(&block, 512)
            buf_init(&signed, 128)
            try:
                if hs_collect(&hs, headers, held, True, self.content_header, self.excluded_b):
                    return 1
                if not hs.has_host:
                    hs_add_ours(&hs, "host", host_s, host_n)
                hs_emit(&hs, &block, &signed)
                auth = self.auth_query(expires_in, ascii_str(signed.p, signed.n))
                cq_start = creq.n
                if query_into(creq, query, query_n, PyBytes_AS_STRING(auth),
                              PyBytes_GET_SIZE(auth), True):
                    return 1
                cq_end = creq.n
                buf_addc(creq, b'\n')
                buf_add(creq, block.p, block.n)
                buf_addc(creq, b'\n')
                buf_add(creq, signed.p, signed.n)
            finally:
                hs_free(&hs)
                buf_free(&block)
                buf_free(&signed)
        else:
            if expires_in == self.last_expires:
                auth = self.last_auth
            else:
                auth = self.auth_query(expires_in, "host")
                self.last_auth = auth
                self.last_expires = expires_in
            if query_n == 0:
                # Bulk presigning: all but the path is the same from URL to URL.
                if (auth is not self.tail_auth or origin is not self.tail_origin
                        or payload_hash is not self.tail_payload):
                    self.set_tails(auth, origin, payload_hash)
                buf_addb(creq, self.creq_tail)
                self.sign_into(creq, signature, NULL)
                buf_addb(out, self.url_head)
                buf_add(out, sent.p, sent.n)
                buf_addb(out, self.url_middle)
                buf_add(out, <char *>signature, 64)
                buf_addb(out, self.token_suffix)
                return 0
            cq_start = creq.n
            if query_into(creq, query, query_n, PyBytes_AS_STRING(auth), PyBytes_GET_SIZE(auth),
                          True):
                return 1
            cq_end = creq.n
            buf_add(creq, b"\nhost:", 6)
            buf_add(creq, host_s, host_n)
            buf_add(creq, b"\n\nhost", 6)
        buf_addc(creq, b'\n')
        buf_addb(creq, payload_hash)
        self.sign_into(creq, signature, NULL)

        buf_addb(out, <bytes>(scheme.encode("ascii")) if scheme != "https" else b"https")
        buf_add(out, b"://", 3)
        buf_add(out, host_s, host_n)
        buf_add(out, sent.p, sent.n)
        buf_addc(out, b'?')
        buf_add(out, creq.p + cq_start, cq_end - cq_start)
        buf_add(out, b"&X-Amz-Signature=", 17)
        buf_add(out, <char *>signature, 64)
        buf_addb(out, self.token_suffix)
        return 0

    def presign(self, method, url, long expires_in, headers, str payload_hash):
        """The presigned URL (see the pure twin)."""
        cdef Buf sent, canonical, creq, out
        cdef bytes m = method_bytes(method)
        if m is None:
            return self.fallback().presign(method, url, expires_in, headers, payload_hash)
        buf_init(&sent, 256)
        buf_init(&canonical, 256)
        buf_init(&creq, INLINE_BYTES)
        buf_init(&out, INLINE_BYTES)
        try:
            result = self.presign_one(m, url, expires_in, headers, self.payload_bytes(payload_hash),
                                      &sent, &canonical, &creq, &out)
        finally:
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&out)
        if result is None:
            return self.fallback().presign(method, url, expires_in, headers, payload_hash)
        return result

    def presign_many(self, method, urls, long expires_in, str payload_hash):
        """``presign`` for every URL of ``urls``, in order, without extra headers."""
        cdef Buf sent, canonical, creq, out
        cdef bytes m = method_bytes(method)
        cdef bytes payload = payload_hash.encode("ascii")
        cdef list results = []
        if m is None:
            return self.fallback().presign_many(method, urls, expires_in, payload_hash)
        buf_init(&sent, 256)
        buf_init(&canonical, 256)
        buf_init(&creq, INLINE_BYTES)
        buf_init(&out, INLINE_BYTES)
        try:
            for url in urls:
                result = self.presign_one(m, url, expires_in, None, payload, &sent, &canonical,
                                          &creq, &out)
                if result is None:
                    result = self.fallback().presign(method, url, expires_in, None, payload_hash)
                results.append(result)
        finally:
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&out)
        return results

    def presign_lines(self, method, str prefix, str keys, long expires_in, str payload_hash):
        """``presign_many`` of ``prefix + line`` for each line of ``keys``, as one bytes
        object: every URL followed by a newline (see the pure twin). Bulk presigning makes no
        Python object per URL this way."""
        cdef Url u
        cdef Buf path, sent, canonical, creq, local
        cdef Buf *out
        cdef Py_ssize_t keys_n, start, end, prefix_n
        cdef const char *k
        cdef bytes m = method_bytes(method)
        cdef bytes payload = payload_hash.encode("ascii")
        if m is None:  # the pure twin judges the method, even with no line to sign
            return self.fallback().presign_lines(method, prefix, keys, expires_in, payload_hash)
        if not keys:  # no line: nothing else is parsed or checked, as in the pure twin
            return b""
        # The prefix must end inside a path, so that each line only lengthens it.
        if (parse_url(&u, prefix) or u.authority_end == u.n
                or u.query_start >= 0 or u.path_end != u.n):
            return self.fallback().presign_lines(method, prefix, keys, expires_in, payload_hash)
        try:
            origin = self.origins.get(&u)
        except ValueError:  # the pure twin says which line shows it first
            origin = None
        k = utf8_or_null(keys, &keys_n)
        if origin is None or k == NULL:
            return self.fallback().presign_lines(method, prefix, keys, expires_in, payload_hash)
        prefix_n = u.path_end - u.authority_end
        buf_init(&path, 1024)
        buf_init(&sent, 1024)
        buf_init(&canonical, 1024)
        buf_init(&creq, 2048)
        buf_init(&local, 0)
        out = &local if self.lines_busy else &self.lines_out
        out.n = 0
        self.lines_busy = True
        try:
            buf_add(&path, u.s + u.authority_end, prefix_n)
            start = 0
            while start <= keys_n:
                end = start
                while end < keys_n and LINE_STOP[<uint8_t>k[end]] == 0:
                    end += 1
                if end < keys_n and LINE_STOP[<uint8_t>k[end]] == 2:
                    # What would end the path or make the URL unusable: the pure twin's call.
                    return self.fallback().presign_lines(method, prefix, keys, expires_in,
                                                         payload_hash)
                path.n = prefix_n
                buf_add(&path, k + start, end - start)
                if self.presign_into(m, origin, path.p, path.n, NULL, 0, expires_in, None,
                                     payload, &sent, &canonical, &creq, out):
                    return self.fallback().presign_lines(method, prefix, keys, expires_in,
                                                         payload_hash)
                buf_addc(out, b'\n')
                start = end + 1
            return PyBytes_FromStringAndSize(out.p, out.n)
        finally:
            if out is &self.lines_out:
                self.lines_busy = False
            buf_free(&path)
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&local)

    def sign(self, method, url, headers, payload_hash, body=None):
        """The signed request (see the pure twin)."""
        cdef Url u
        cdef bytes m = method_bytes(method)
        cdef fs_sha256_ctx ctx
        cdef uint8_t digest[32]
        cdef char hexed[64]
        cdef const char *body_hash = NULL  # the hex hash of a bytes body, made no str of
        if payload_hash is None and body is not None:
            if type(body) is bytes:
                fs_sha256(PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body), digest)
                fs_hex(digest, 32, hexed)
                body_hash = hexed
            else:
                payload_hash = sha256_hex(body)
        if m is not None and type(url) is str and not parse_url(&u, url):
            origin = self.origins.get(&u)
            if origin is not None:
                result = self.sign_c(m, url, &u, origin, headers, payload_hash, body_hash)
                if result is not None:
                    return result
        if body_hash != NULL:
            payload_hash = ascii_str(body_hash, 64)
        return self.fallback().sign(method, url, headers, payload_hash)

    cdef object sign_c(self, bytes m, str url, Url *u, tuple origin, headers, payload_hash,
                       const char *body_hash):
        """Header signing in C; None hands the call to the pure twin. ``body_hash``, when
        not NULL, is the payload hash (64 hex digits) and ``payload_hash`` is None."""
        cdef HeaderSet hs
        cdef Buf sent, canonical, creq, out
        cdef Hdr *h
        cdef Py_ssize_t i, cq_start, cq_end, signed_start, signed_end, host_n, kept, payload_n
        cdef const char *host_s
        cdef const char *payload_s
        cdef uint8_t signature[64]
        cdef list held = None if type(headers) is dict else []  # a dict is read in place
        cdef dict send
        scheme, host = origin
        hs_init(&hs)
        buf_init(&sent, 256)
        buf_init(&canonical, 256)
        buf_init(&creq, INLINE_BYTES)
        buf_init(&out, 512)
        try:
            if hs_collect(&hs, headers, held, True, self.content_header, self.excluded_b):
                return None
            if body_hash != NULL:
                payload_s, payload_n = body_hash, 64
            else:
                if payload_hash is None:
                    payload_hash = (<object>hs.content if hs.content != NULL else None) or EMPTY_SHA256
                payload_b = self.payload_bytes(payload_hash)
                payload_s, payload_n = PyBytes_AS_STRING(payload_b), PyBytes_GET_SIZE(payload_b)

            # Method, canonical URI, canonical query.
            if path_into(&sent, &canonical, u.s + u.authority_end, u.path_end - u.authority_end,
                         self.double_encode, self.normalize):
                return None
            buf_addb(&creq, m)
            buf_addc(&creq, b'\n')
            buf_add(&creq, canonical.p, canonical.n)
            buf_addc(&creq, b'\n')
            cq_start = creq.n
            if u.query_start >= 0 and query_into(&creq, u.s + u.query_start,
                                                 u.query_end - u.query_start, NULL, 0, False):
                return None
            cq_end = creq.n
            buf_addc(&creq, b'\n')

            # Canonical headers: the caller's and ours, sorted; then the signed header list.
            host_s = PyUnicode_AsUTF8AndSize(host, &host_n)
            if not hs.has_host:
                hs_add_ours(&hs, "host", host_s, host_n)
            hs_add_ours(&hs, "x-amz-date", PyBytes_AS_STRING(self.amz_date_b),
                        PyBytes_GET_SIZE(self.amz_date_b))
            if self.token is not None and not self.omit_token:
                hs_add_ours(&hs, "x-amz-security-token", PyBytes_AS_STRING(self.token_b),
                            PyBytes_GET_SIZE(self.token_b))
            if self.content_header:
                hs_add_ours(&hs, "x-amz-content-sha256", payload_s, payload_n)
            hs_emit(&hs, &creq, &out)
            buf_addc(&creq, b'\n')
            signed_start = creq.n
            buf_add(&creq, out.p, out.n)
            signed_end = creq.n
            buf_addc(&creq, b'\n')
            buf_add(&creq, payload_s, payload_n)

            # String to sign and signature.
            self.sign_into(&creq, signature, NULL)

            # What to send: the caller's headers in their order (a repeated name once, joined),
            # then ours.
            kept = 0
            for i in range(hs.count):
                if hs.e[i].flags & (JOINED | NOT_FIRST):
                    kept = -1
                    break
                if not hs.e[i].flags & OURS:
                    kept += 1
            if type(headers) is dict and kept == len(<dict>headers):
                send = PyDict_Copy(headers)  # every header sent as given: copied whole
            else:
                send = {}
                for i in range(hs.count):
                    h = &hs.e[i]
                    if h.flags & (OURS | NOT_FIRST):
                        continue
                    send[<object>h.name_obj] = <object>(
                        h.joined if h.flags & JOINED else h.value_obj)
            if not hs.has_host:
                send["Host"] = host
            send["X-Amz-Date"] = self.amz_date
            if self.token is not None:
                send["X-Amz-Security-Token"] = self.token
            if self.content_header:
                send["X-Amz-Content-SHA256"] = (
                    payload_hash if body_hash == NULL else ascii_str(body_hash, 64))
            out.n = 0
            buf_addb(&out, self.authorization_prefix)
            buf_add(&out, creq.p + signed_start, signed_end - signed_start)
            buf_add(&out, b", Signature=", 12)
            buf_add(&out, <char *>signature, 64)
            send["Authorization"] = ascii_str(out.p, out.n)

            out.n = 0
            buf_addb(&out, scheme.encode("ascii") if scheme != "https" else b"https")
            buf_add(&out, b"://", 3)
            buf_add(&out, host_s, host_n)
            buf_add(&out, sent.p, sent.n)
            if cq_end > cq_start:
                buf_addc(&out, b'?')
                buf_add(&out, creq.p + cq_start, cq_end - cq_start)
            out_url = ascii_str(out.p, out.n) if PyUnicode_IS_ASCII(url) else utf8_str(out.p, out.n)
            # Every part of a canonical request is %-encoded or checked ASCII.
            return signed_request(out_url, send, ascii_str(<char *>signature, 64),
                                  ascii_str(creq.p, creq.n), self.sts_prefix)
        finally:
            hs_free(&hs)
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&out)


# ---------------------------------------------------------------------------------------------
# Verification

cdef long long days_from_civil(long long y, int m, int d) noexcept:
    """Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm)."""
    cdef long long era, yoe, doy, doe
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468

cdef inline int digits(const char *s, int n) noexcept:
    """The value of n ASCII digits, or -1."""
    cdef int i, v = 0
    for i in range(n):
        if not (b'0' <= s[i] <= b'9'):
            return -1
        v = v * 10 + (s[i] - 48)
    return v

cdef long long amz_epoch(const char *s, Py_ssize_t n) noexcept:
    """Epoch seconds of a valid YYYYMMDDTHHMMSSZ, or -1."""
    cdef int year, month, day, hour, minute, second, last
    if n != 16 or s[8] != b'T' or s[15] != b'Z':
        return -1
    year = digits(s, 4)
    month = digits(s + 4, 2)
    day = digits(s + 6, 2)
    hour = digits(s + 9, 2)
    minute = digits(s + 11, 2)
    second = digits(s + 13, 2)
    if year < 1 or not 1 <= month <= 12 or day < 1 or not 0 <= hour <= 23 \
            or not 0 <= minute <= 59 or not 0 <= second <= 59:
        return -1
    last = 31
    if month in (4, 6, 9, 11):
        last = 30
    elif month == 2:
        last = 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28
    if day > last:
        return -1
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


cdef uint8_t SCOPE_CHARS[256]  # what a region or service name is made of
for _c in bytearray(b"-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"):
    SCOPE_CHARS[_c] = 1

cdef inline bint scope_part_ok(const char *s, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    if n == 0:
        return False
    for i in range(n):
        if not SCOPE_CHARS[<uint8_t>s[i]]:
            return False
    return True

cdef inline bint same_bytes(const char *a, const char *b, Py_ssize_t n) noexcept:
    """Constant-time equality of two n-byte strings."""
    cdef Py_ssize_t i
    cdef uint8_t diff = 0
    for i in range(n):
        diff |= <uint8_t>a[i] ^ <uint8_t>b[i]
    return diff == 0


cdef int sorted_canonical_query(Buf *out, const char *q, Py_ssize_t n, AuthSlots *slots) except -1:
    """The canonical query of a query that already is one (every parameter canonically
    encoded, in order), as presigners write them, plus its presigning parameters; in one pass
    over the bytes that are not unreserved, and without copying but for the signature's
    removal. Returns 1, having written nothing useful, for any other query: query_into then
    does the full work."""
    cdef Py_ssize_t start = 0, end, eq
    cdef Pair prev, cur
    cdef Stops stops
    cdef int index
    cdef bint first = True
    stops_init(&stops, q, n)
    while start < n:
        # key=value, each unreserved bytes and %XX of reserved ones: the first stop that is not
        # an escape must be "=", the next "&" or the end.
        eq = -1
        while True:
            end = next_stop(&stops)
            if end == n:
                break
            if q[end] == b'%':
                if not canonical_escape(<const uint8_t *>q, end, n, fs_uri_keep_query):
                    return 1
            elif q[end] == b'=' and eq < 0:
                eq = end
            elif q[end] == b'&':
                break
            else:
                return 1
        if eq < 0:
            return 1
        cur.key = q + start
        cur.key_len = eq - start
        cur.value = q + eq + 1
        cur.value_len = end - eq - 1
        index = auth_key_index(cur.key, cur.key_len)
        if index >= 0:
            record_auth(slots, index, cur.value, cur.value_len)
        if index != A_SIGNATURE:  # not signed, so it may stand anywhere (presigners append it)
            if not first and compare_pairs(&prev, &cur) > 0:
                return 1
            first = False
            prev = cur
            if out.n:
                buf_addc(out, b'&')
            buf_add(out, q + start, end - start)
        start = end + 1
    return 1 if n and q[n - 1] == b'&' else 0


def _split_sorted_query(str query):
    """split_auth_query of a query as the verifiers' one-pass scan takes it (already
    canonical, in order), or None where that scan hands the query on to the full rebuild: for
    tests of the scan, whose every refusal the rebuild would otherwise hide."""
    cdef Py_ssize_t n
    cdef const char *s = utf8_or_null(query, &n)
    cdef Buf b
    cdef AuthSlots slots
    if s == NULL:
        return None
    buf_init(&b, n + 2)
    slots_init(&slots)
    try:
        if sorted_canonical_query(&b, s, n, &slots):
            return None
        auth = auth_dict(&slots)
        return None if auth is None else (ascii_str(b.p, b.n), auth)
    finally:
        buf_free(&b)
        slots_free(&slots)


cdef int received_query_into(Buf *cq, const char *q, Py_ssize_t n, bint scanned,
                             AuthSlots *a) except -1:
    """The canonical query of a received query q[0..n) (no "#" in it), with its presigning
    parameters in ``a`` (which must be fresh): as it is when it already is canonical, else
    rebuilt by query_into. ``scanned`` says whether q is known to hold no control character;
    if not (parse_url's trust_query), it is checked before a rebuild, which would encode them.
    Returns 1 for the general path."""
    if not sorted_canonical_query(cq, q, n, a):
        return 0
    cq.n = 0
    slots_free(a)
    slots_init(a)
    if not scanned and not url_part_ok(q, n, HASH):
        return 1
    return query_into(cq, q, n, NULL, 0, False, a)


cdef class _FastVerifier:
    """What the two fast verifiers share: settings, the credential memo, signing."""

    cdef object s3_services, region, service, key_for, lookup, clock
    cdef type result_type
    cdef object unsigned_payload
    cdef PathPolicy s3_paths, service_paths
    cdef double max_skew
    cdef bint wall_clock  # clock is time.time, read here without a call through Python
    # credential ("<key>/<scope>") -> (what lookup returned, SigningKey, token bytes or None,
    # access key id, scope date, region, service, whether the service is S3's): while the
    # lookup keeps returning the same object for the key, the signing key need not be asked
    # for again.
    cdef dict keys
    cdef bytes last_credential  # the credential of the last accepted request, and its memo
    cdef tuple last_memo
    # The HMAC state after the string to sign's prefix (algorithm, X-Amz-Date, scope) of the
    # last signature checked, for the memo and X-Amz-Date it was made for.
    cdef tuple sts_memo
    cdef char sts_date[16]
    cdef fs_sha256_ctx sts_inner
    cdef char last_date[16]  # the last X-Amz-Date read, and its epoch seconds
    cdef long long last_epoch
    # The last result, and what it was made of that it does not hold as the same objects.
    cdef tuple last_result
    cdef tuple last_result_memo
    cdef long long last_result_epoch, last_result_expires
    cdef bytes last_result_token
    cdef _LastOrigin origins

    def __init__(self, s3_services, PathPolicy s3_paths, PathPolicy service_paths, region,
                 service, double max_skew, clock, lookup, key_for, result_type,
                 unsigned_payload=None):
        self.s3_services = s3_services
        self.s3_paths = s3_paths
        self.service_paths = service_paths
        self.region = region
        self.service = service
        self.max_skew = max_skew
        self.clock = clock
        self.wall_clock = clock is _time.time
        self.lookup = lookup
        self.key_for = key_for
        if not (isinstance(result_type, type) and issubclass(result_type, tuple)):
            raise TypeError("result_type must be a tuple type")
        self.result_type = result_type
        self.unsigned_payload = unsigned_payload
        self.keys = {}
        self.origins = _LastOrigin()

    cdef inline double now(self) except? -1:
        return fs_wall_time() if self.wall_clock else self.clock()

    cdef inline long long epoch(self, const char *date, Py_ssize_t n) noexcept:
        """amz_epoch, kept for the last date: requests come in runs signed the same second."""
        cdef long long epoch
        if n == 16 and self.last_epoch > 0 and memcmp(self.last_date, date, 16) == 0:
            return self.last_epoch
        epoch = amz_epoch(date, n)
        if epoch > 0:
            memcpy(self.last_date, date, 16)
            self.last_epoch = epoch
        return epoch

    cdef object verified(self, tuple memo, tuple signed_headers, long long epoch,
                         long long expires, const char *token, Py_ssize_t token_n,
                         bint presigned, str payload):
        """The result_type (a tuple subclass) of a good request; ``expires`` -1 and ``token``
        NULL for none; None if the token is not UTF-8. Results are immutable, so a run of
        requests that prove the same (one credential, one second) shares one; a new one is
        made in place: tuple.__new__ would make the tuple twice, and call through Python."""
        last = self.last_result
        if (last is not None and self.last_result_memo is memo
                and (<tuple>last)[3] is signed_headers and (<tuple>last)[8] is payload
                and self.last_result_epoch == epoch and self.last_result_expires == expires
                and (<tuple>last)[7] is (True if presigned else False)):
            if token == NULL:
                if self.last_result_token is None:
                    return last
            elif (self.last_result_token is not None
                    and PyBytes_GET_SIZE(self.last_result_token) == token_n
                    and memcmp(PyBytes_AS_STRING(self.last_result_token), token, token_n) == 0):
                return last
        try:
            token_s = None if token == NULL else utf8_str(token, token_n)
        except UnicodeDecodeError:
            return None
        result = PyType_GenericAlloc(self.result_type, 9)
        put(result, 0, memo[3])
        put(result, 1, memo[5])
        put(result, 2, memo[6])
        put(result, 3, signed_headers)
        put(result, 4, epoch)
        put(result, 5, None if expires < 0 else expires)
        put(result, 6, token_s)
        put(result, 7, presigned)
        put(result, 8, payload)
        self.last_result = <tuple>result
        self.last_result_memo = memo
        self.last_result_epoch = epoch
        self.last_result_expires = expires
        self.last_result_token = None if token == NULL else PyBytes_FromStringAndSize(token, token_n)
        return result

    cdef tuple credential_memo(self, const char *cred, Py_ssize_t cred_n, const char *amz_date):
        """The memo of a well-formed credential <key>/<date>/<region>/<service>/aws4_request
        whose date is X-Amz-Date's, scoped as the settings say, of a key the lookup knows;
        else None. A run of requests signed with one credential reuses the last memo: no
        strings to make, no dict to search."""
        cdef Py_ssize_t i, nslash = 0
        cdef Py_ssize_t slash[4]
        if (self.last_credential is not None
                and PyBytes_GET_SIZE(self.last_credential) == cred_n
                and memcmp(PyBytes_AS_STRING(self.last_credential), cred, cred_n) == 0):
            memo = self.last_memo
            if memcmp(cred + PyUnicode_GET_LENGTH(memo[3]) + 1, amz_date, 8):
                return None
            known = self.lookup(memo[3])
            if known is None or known is not memo[0]:
                return self.renew(memo[3], memo[4], memo[5], memo[6], known, cred, cred_n)
            return memo
        for i in range(cred_n):
            if cred[i] == b'/':
                if nslash == 4:
                    return None
                slash[nslash] = i
                nslash += 1
        if (nslash != 4 or slash[0] == 0 or slash[1] != slash[0] + 9
                or cred_n - slash[3] - 1 != 12
                or memcmp(cred + slash[3] + 1, b"aws4_request", 12)
                or memcmp(cred + slash[0] + 1, amz_date, 8)
                or not scope_part_ok(cred + slash[1] + 1, slash[2] - slash[1] - 1)
                or not scope_part_ok(cred + slash[2] + 1, slash[3] - slash[2] - 1)):
            return None
        try:
            access_key_id = utf8_str(cred, slash[0])
        except UnicodeDecodeError:
            return None
        scope_date = ascii_str(cred + slash[0] + 1, 8)
        region = ascii_str(cred + slash[1] + 1, slash[2] - slash[1] - 1)
        service = ascii_str(cred + slash[2] + 1, slash[3] - slash[2] - 1)
        if ((self.region is not None and region != self.region)
                or (self.service is not None and service != self.service)):
            return None
        known = self.lookup(access_key_id)
        memo = self.keys.get(utf8_str(cred, cred_n))
        if known is None or memo is None or (<tuple>memo)[0] is not known:
            return self.renew(access_key_id, scope_date, region, service, known, cred, cred_n)
        self.remember(<tuple>memo, cred, cred_n)
        return <tuple>memo

    cdef void remember(self, tuple memo, const char *cred, Py_ssize_t cred_n) except *:
        # Only ASCII keys: the fast comparison above measures the key in characters.
        if PyUnicode_IS_ASCII(memo[3]):
            self.last_credential = PyBytes_FromStringAndSize(cred, cred_n)
            self.last_memo = memo

    cdef tuple renew(self, access_key_id, scope_date, region, service, known, const char *cred,
                     Py_ssize_t cred_n):
        if known is None:
            return None
        found = self.key_for(access_key_id, scope_date, region, service)
        if found is None:
            return None
        token_b = None if found[1] is None else (<str?>found[1]).encode("utf-8")
        memo = (known, <SigningKey?>found[0], token_b, access_key_id, scope_date, region, service,
                service in self.s3_services)
        if len(self.keys) >= 1024:
            self.keys.clear()
        self.keys[utf8_str(cred, cred_n)] = memo
        self.remember(memo, cred, cred_n)
        return memo

    cdef bint signature_ok(self, tuple memo, Buf *creq, const char *amz_date, const char *cred,
                           Py_ssize_t cred_n, const char *signature) except -1:
        """Whether HMAC(key, string to sign of creq) is ``signature`` (64 hex bytes). The
        string to sign's prefix is the same for a run of requests under one credential within
        a second, so its hash state is kept for the next."""
        cdef char creq_hex[64]
        cdef char hexed[64]
        cdef Py_ssize_t key_n = PyUnicode_GET_LENGTH(memo[3])  # ASCII: bytes == chars
        cdef SigningKey key = <SigningKey>memo[1]
        if not PyUnicode_IS_ASCII(memo[3]):
            return False
        if memo is not self.sts_memo or memcmp(self.sts_date, amz_date, 16):
            # "AWS4-HMAC-SHA256\n<X-Amz-Date>\n<scope>\n", the scope being the credential's
            # part after the key.
            self.sts_inner = key.key.inner
            fs_sha256_update(&self.sts_inner, b"AWS4-HMAC-SHA256\n", 17)
            fs_sha256_update(&self.sts_inner, amz_date, 16)
            fs_sha256_update(&self.sts_inner, b"\n", 1)
            fs_sha256_update(&self.sts_inner, cred + key_n + 1, cred_n - key_n - 1)
            fs_sha256_update(&self.sts_inner, b"\n", 1)
            self.sts_memo = memo
            memcpy(self.sts_date, amz_date, 16)
        signature_of(&key.key, &self.sts_inner, creq, creq_hex, hexed)
        return same_bytes(hexed, signature, 64)


cdef inline void put(object t, Py_ssize_t i, object item) noexcept:
    """Fills slot i of a new tuple (which steals a reference)."""
    Py_INCREF(item)
    PyTuple_SET_ITEM(t, i, item)


cdef inline bint token_ok(tuple memo, const char *token, Py_ssize_t n, bint present) noexcept:
    """A session token the lookup asks for must be sent, byte for byte (constant time)."""
    expected = memo[2]
    if expected is None:
        return True
    return (present and n == PyBytes_GET_SIZE(expected)
            and same_bytes(token, PyBytes_AS_STRING(expected), n))


cdef class PresignedVerifier(_FastVerifier):
    """Accepts a bare presigned URL (see the pure twin) in one call, or returns None."""

    def check(self, method, url):
        cdef Url u
        m = method_bytes(method)
        if m is None or type(url) is not str or parse_url(&u, url, True):
            return None
        origin = self.origins.find(&u)
        if origin is None:
            return None
        return self.accept(m, target_of(&u), origin)

    def check_headers(self, method, url, headers):
        """``check`` of a presigned URL sent with the headers a server hands over (a dict, or
        a list of (name, value) pairs of str or of bytes): the headers a presigned URL never
        signs (User-Agent, Accept, X-Forwarded-For...) are ignored, as the general path ignores
        them. Anything that could count (an x-amz-* header, Authorization, more than one Host,
        a Host other than the URL's own) goes to the general path, as does an origin-form
        target without a Host header."""
        cdef Url u
        cdef Buf b
        cdef Py_ssize_t pos = 0, n
        cdef PyObject *key
        cdef PyObject *value
        cdef int role
        cdef const char *s
        host = None
        m = method_bytes(method)
        if m is None or type(url) is not str or not url:
            return None
        if type(headers) is dict:
            while PyDict_Next(headers, &pos, &key, &value):
                role = header_role(<object>key)
                if role == ROLE_OTHER:
                    return None
                if role == ROLE_HOST:
                    if host is not None:
                        return None
                    host = <object>value
        elif type(headers) is list:
            for item in <list>headers:
                if type(item) is not tuple or PyTuple_GET_SIZE(item) != 2:
                    return None
                role = header_role((<tuple>item)[0])
                if role == ROLE_OTHER or type((<tuple>item)[1]) is not type((<tuple>item)[0]):
                    return None
                if role == ROLE_HOST:
                    if host is not None:
                        return None
                    host = (<tuple>item)[1]
        else:
            return None
        if type(host) is bytes:
            host = (<bytes>host).decode("latin-1")  # as the general path reads bytes pairs
        elif host is not None and type(host) is not str:
            return None
        if (<str>url)[0] == "/":
            if host is None or not PyUnicode_IS_ASCII(host):
                return None
            url = "http://" + host + url  # the scheme is the signers' no business
        if parse_url(&u, url, True):
            return None
        origin = self.origins.find(&u)
        if origin is None or (host is not None and host != origin[1]):
            return None
        return self.accept(m, target_of(&u), origin)

    cdef object accept(self, bytes m, Target t, tuple origin):
        """``check`` of a target as parse_url with ``trust_query`` splits it (the path free of
        control characters, the query unchecked but for "#"), from ``origin``."""
        cdef double now
        cdef AuthSlots a
        cdef Buf cq, sent, canonical, creq
        cdef const char *date
        cdef const char *cred
        cdef const char *host_s
        cdef Py_ssize_t host_n, cred_n, i
        cdef int expires
        cdef long long epoch
        cdef bint is_s3
        cdef PathPolicy policy
        # The query is checked by sorted_canonical_query, or received_query_into scans it.
        if t.query == NULL:
            return None
        slots_init(&a)
        buf_init(&cq, t.query_n + 2)  # query_into reserves more if need be
        buf_init(&sent, 0)
        buf_init(&canonical, 0)
        buf_init(&creq, 0)
        try:
            if received_query_into(&cq, t.query, t.query_n, False, &a):
                return None
            for i in range(7):
                if a.count[i] != 1 and not (i == A_TOKEN and a.count[i] == 0):
                    return None
            # The values are as received, canonically encoded. Encoding leaves unreserved
            # bytes as they are, and each value checked here but the credential and the token
            # must be unreserved text to pass: an escape fails its check as its byte would.
            if (a.len[A_ALGORITHM] != 16
                    or memcmp(a.at[A_ALGORITHM], b"AWS4-HMAC-SHA256", 16)
                    or a.len[A_SIGNED_HEADERS] != 4
                    or memcmp(a.at[A_SIGNED_HEADERS], b"host", 4)
                    or a.len[A_SIGNATURE] != 64
                    or not 1 <= a.len[A_EXPIRES] <= 6):
                return None
            expires = digits(a.at[A_EXPIRES], a.len[A_EXPIRES])
            date = a.at[A_DATE]
            epoch = self.epoch(date, a.len[A_DATE])
            if not 1 <= expires <= 604800 or epoch < 0:
                return None
            now = self.now()
            if now > epoch + expires or epoch - now > self.max_skew:
                return None
            slots_decode(&a, 1 << A_CREDENTIAL | 1 << A_TOKEN)
            cred, cred_n = a.at[A_CREDENTIAL], a.len[A_CREDENTIAL]
            memo = self.credential_memo(cred, cred_n, date)
            if memo is None or not token_ok(memo, a.at[A_TOKEN], a.len[A_TOKEN],
                                            a.count[A_TOKEN] == 1):
                return None
            is_s3 = memo[7] is True
            if self.unsigned_payload is False and is_s3:
                return None
            policy = self.s3_paths if is_s3 else self.service_paths
            if path_into(&sent, &canonical, t.path, t.path_n, policy.double_encode,
                         policy.normalize, policy.plus_is_space):
                return None
            host_s = PyUnicode_AsUTF8AndSize(origin[1], &host_n)
            buf_addb(&creq, m)
            buf_addc(&creq, b'\n')
            buf_add(&creq, canonical.p, canonical.n)
            buf_addc(&creq, b'\n')
            buf_add(&creq, cq.p, cq.n)
            buf_add(&creq, b"\nhost:", 6)
            buf_add(&creq, host_s, host_n)
            buf_add(&creq, b"\n\nhost\n", 7)
            payload = UNSIGNED_PAYLOAD if is_s3 else EMPTY_SHA256
            buf_adds(&creq, payload)
            if not self.signature_ok(memo, &creq, date, cred, cred_n, a.at[A_SIGNATURE]):
                return None
            return self.verified(memo, ("host",), epoch, epoch + expires, a.at[A_TOKEN],
                                 a.len[A_TOKEN], True, payload)
        finally:
            slots_free(&a)
            buf_free(&cq)
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)


cdef bint signed_list_ok(const char *s, Py_ssize_t n) noexcept:
    """SignedHeaders as signers write it: lowercase tokens, strictly ascending, ';'-separated,
    with host among them."""
    cdef Py_ssize_t i = 0, start, prev = -1, prev_n = 0, k
    cdef bint host = False
    cdef int c
    if n == 0:
        return False
    while i <= n:
        start = i
        while i < n and s[i] != b';':
            if not TOKEN_CHARS[<uint8_t>s[i]] or b'A' <= s[i] <= b'Z':
                return False
            i += 1
        if i == start:
            return False
        if i - start == 4 and memcmp(s + start, b"host", 4) == 0:
            host = True
        if prev >= 0:
            k = prev_n if prev_n < i - start else i - start
            c = memcmp(s + prev, s + start, k)
            if c > 0 or (c == 0 and prev_n >= i - start):
                return False
        prev, prev_n = start, i - start
        i += 1
    return host


cdef bint in_signed_list(const char *s, Py_ssize_t n, const char *name, Py_ssize_t name_n) noexcept:
    cdef Py_ssize_t i = 0, start
    while i <= n:
        start = i
        while i < n and s[i] != b';':
            i += 1
        if i - start == name_n and memcmp(s + start, name, name_n) == 0:
            return True
        i += 1
    return False


cdef inline bint is_lower_hex64(const char *s, Py_ssize_t n) noexcept:
    return n == 64 and fs_is_hex(s, 64)


cdef dict _backend_ns = None  # fastsig._backend's namespace, and these kernels in it
cdef object _these_kernels = None

cdef bint in_use() except -1:
    """Whether these kernels are the backend in use: tests switch backends in one process."""
    global _backend_ns, _these_kernels
    if _backend_ns is None:
        from . import _backend  # which imports this module: not at import time
        _backend_ns = vars(_backend)
        _these_kernels = _backend.available.get("cython")
    return PyDict_GetItemWithError(_backend_ns, "kernels") == <PyObject *>_these_kernels


cdef class HeaderVerifier(_FastVerifier):
    """Accepts a header-signed request (see the pure twin) in one call, or returns None."""

    cdef bytes last_list  # the SignedHeaders of the last accepted request, and its names
    cdef tuple last_names

    cdef inline bint is_last_list(self, const char *s, Py_ssize_t n) noexcept:
        """Whether SignedHeaders is the last accepted request's (so already found well-formed):
        clients send one list again and again."""
        return (self.last_list is not None and PyBytes_GET_SIZE(self.last_list) == n
                and memcmp(PyBytes_AS_STRING(self.last_list), s, n) == 0)

    cdef tuple signed_names(self, const char *s, Py_ssize_t n):
        """SignedHeaders' names, made once per list."""
        if not self.is_last_list(s, n):
            self.last_names = tuple(ascii_str(s, n).split(";"))
            self.last_list = PyBytes_FromStringAndSize(s, n)
        return self.last_names

    def check(self, method, url, headers, payload_hash, bint defer=False):
        cdef Url u
        cdef const char *s
        cdef Py_ssize_t n
        m = method_bytes(method)
        if m is None or type(url) is not str or not url:
            return None
        if (<str>url)[0] == "/":
            s = utf8_or_null(url, &n)
            if s == NULL:
                return None
            return self.accept_origin_form(m, s, n, headers, payload_hash, defer)
        if parse_url(&u, url):
            return None
        origin = self.origins.find(&u)
        if origin is None:
            return None
        return self.accept(m, target_of(&u), origin, headers, payload_hash, defer)

    def check_scope(self, scope, PresignedVerifier presigned):
        """An ASGI HTTP request without a body (see the pure twin), accepted in one call:
        header-signed by ``self``, a presigned URL by ``presigned``; or None."""
        cdef Buf b
        cdef Url u
        cdef Target t
        cdef const char *s
        cdef Py_ssize_t n
        cdef bint header_signed = False
        if (type(scope) is not dict or (<dict>scope).get("type") != "http"
                or not in_use()):
            return None
        raw_path = (<dict>scope).get("raw_path")
        query = (<dict>scope).get("query_string", b"")
        headers = (<dict>scope).get("headers")
        m = method_bytes((<dict>scope).get("method"))
        if (m is None or type(raw_path) is not bytes or type(query) is not bytes
                or type(headers) is not list or not PyBytes_GET_SIZE(raw_path)
                or PyBytes_AS_STRING(raw_path)[0] != b'/'):
            return None  # an odd target ("*", absolute form): the general path judges it
        host = None
        for item in <list>headers:
            if type(item) is not tuple or PyTuple_GET_SIZE(item) != 2:
                return None
            name = (<tuple>item)[0]
            if type(name) is not bytes:
                return None
            s = PyBytes_AS_STRING(name)
            n = PyBytes_GET_SIZE(name)
            if (n >= 6 and lower_is(s, b"x-amz-", 6)) or (n == 13 and lower_is(s, b"authorization", 13)):
                header_signed = True
            elif n == 4 and lower_is(s, b"host", 4):
                if host is not None:
                    return None  # two: the general path refuses them
                host = (<tuple>item)[1]
            elif n == 14 and lower_is(s, b"content-length", 14):
                if (<tuple>item)[1] != b"0":
                    return None  # a body to read, or a length the general path must judge
            elif n == 17 and lower_is(s, b"transfer-encoding", 17):
                return None
        if not header_signed and (type(host) is not bytes or not plain_host(host)):
            return None
        if not (utf8_ok(PyBytes_AS_STRING(raw_path), PyBytes_GET_SIZE(raw_path))
                and utf8_ok(PyBytes_AS_STRING(query), PyBytes_GET_SIZE(query))):
            return None  # the general path says the target is not text
        # The path and query are taken as they are unless parse_url would split the target
        # elsewhere (at a "#", or a "?" in the path) or refuse it (a control character; the
        # presigned verifier checks the query itself): the general path then.
        t.path, t.path_n = PyBytes_AS_STRING(raw_path), PyBytes_GET_SIZE(raw_path)
        t.query_n = PyBytes_GET_SIZE(query)
        t.query = PyBytes_AS_STRING(query) if t.query_n else NULL
        if not url_part_ok(t.path, t.path_n, SLASH):
            return None
        if header_signed:
            if not url_part_ok(t.query, t.query_n, QUESTION):
                return None
            return self.accept(m, t, None, headers, None)
        scheme = (<dict>scope).get("scheme", "http")
        if (type(scheme) is not str or not PyUnicode_IS_ASCII(scheme)
                or (t.query_n and memchr(t.query, b'#', t.query_n) != NULL)):
            return None
        s = PyUnicode_AsUTF8AndSize(scheme, &n)
        origin = presigned.origins.find_origin_of(s, n, host)
        if origin is None:
            buf_init(&b, 0)
            try:
                buf_add(&b, s, n)
                buf_add(&b, b"://", 3)
                buf_add(&b, PyBytes_AS_STRING(host), PyBytes_GET_SIZE(host))
                if parse_url_at(&u, b.p, b.n, True) or u.authority_end != b.n:
                    return None
                origin = presigned.origins.find(&u)
                if origin is None:
                    return None
            finally:
                buf_free(&b)
        # The URL's host is the Host header as sent only when the signers' rules leave it so
        # (no default, empty or zero-padded port): the general path signs it as sent.
        s = PyUnicode_AsUTF8AndSize(origin[1], &n)
        if n != PyBytes_GET_SIZE(host) or memcmp(s, PyBytes_AS_STRING(host), n):
            return None
        return presigned.accept(m, t, origin)

    cdef object accept_origin_form(self, bytes m, const char *target, Py_ssize_t n, headers,
                                   payload_hash, bint defer=False):
        """``check`` of an origin-form target, UTF-8. The Host header, which must be there,
        is the host."""
        cdef Url u
        cdef Buf b
        buf_init(&b, 8 + n)
        try:
            buf_add(&b, b"http://h", 8)  # a placeholder scheme and host, for parse_url
            buf_add(&b, target, n)
            if parse_url_at(&u, b.p, b.n, False):
                return None
            return self.accept(m, target_of(&u), None, headers, payload_hash, defer)
        finally:
            buf_free(&b)

    cdef object accept(self, bytes m, Target t, tuple origin, headers, payload_hash,
                       bint defer=False):
        """``check`` of a target as parse_url splits it, with no control character;
        ``origin`` None for the origin form. ``defer``: a request whose payload is its
        body's hash (no x-amz-content-sha256, not S3) passes every check but the signature
        and comes back as a _Deferred, for the body to be read only then."""
        cdef double now
        cdef AuthSlots a
        cdef HeaderSet hs
        cdef Hdr *h
        cdef Buf cq, sent, canonical, creq, block, signed
        cdef const char *name
        cdef const char *auth = NULL
        cdef const char *date = NULL
        cdef const char *token = NULL
        cdef const char *content = NULL
        cdef const char *cred
        cdef const char *list_s
        cdef const char *sig
        cdef const char *host_s
        cdef const char *at
        cdef Py_ssize_t auth_n = 0, date_n = 0, token_n = 0, content_n = 0, cred_n, list_n
        cdef Py_ssize_t i, n, host_n
        cdef int auths = 0, dates = 0, tokens = 0, contents = 0
        cdef long long epoch
        cdef bint is_s3
        cdef PathPolicy policy
        # A list or dict is read in place (the caller holds it); the values used once the
        # lookup has run, which could change the container, are held here.
        cdef list held = None if type(headers) is list or type(headers) is dict else []
        cdef object auth_v = None, date_v = None, token_v = None, content_v = None
        slots_init(&a)
        hs_init(&hs)
        buf_init(&cq, 0)
        buf_init(&sent, 0)
        buf_init(&canonical, 0)
        buf_init(&creq, 0)
        buf_init(&block, 512)
        buf_init(&signed, 128)
        try:
            if hs_collect(&hs, headers, held, False, False, b"", True):
                return None
            for i in range(hs.count):
                h = &hs.e[i]
                if h.flags & IS_AUTH:
                    auths += 1
                    auth, auth_n, auth_v = h.value, h.value_len, <object>h.value_obj
                elif h.flags & IS_DATE:
                    dates += 1
                    date, date_n, date_v = h.value, h.value_len, <object>h.value_obj
                elif h.flags & IS_TOKEN:
                    tokens += 1
                    token, token_n, token_v = h.value, h.value_len, <object>h.value_obj
                elif h.flags & IS_CONTENT:
                    contents += 1
                    content, content_n, content_v = h.value, h.value_len, <object>h.value_obj
            if auths != 1 or dates != 1 or tokens > 1 or contents > 1:
                return None
            # Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...
            if auth_n < 28 or memcmp(auth, b"AWS4-HMAC-SHA256 Credential=", 28):
                return None
            cred = auth + 28
            n = auth_n - 28
            at = <const char *>memchr(cred, b',', n)
            cred_n = n if at == NULL else at - cred
            if n - cred_n < 16 or memcmp(cred + cred_n, b", SignedHeaders=", 16):
                return None
            list_s = cred + cred_n + 16
            at = <const char *>memchr(list_s, b',', auth + auth_n - list_s)
            list_n = auth + auth_n - list_s if at == NULL else at - list_s
            sig = list_s + list_n + 12
            if (sig + 64 != auth + auth_n or memcmp(list_s + list_n, b", Signature=", 12)
                    or not is_lower_hex64(sig, 64)
                    or not (self.is_last_list(list_s, list_n) or signed_list_ok(list_s, list_n))):
                return None
            # Every header is signed or excluded; x-amz-* ones and Authorization must be,
            # but for x-amz-content-sha256, which S3 takes unsigned (verifier.py says why).
            for i in range(hs.count):
                h = &hs.e[i]
                name = hs.names.p + h.name_off
                if not in_signed_list(list_s, list_n, name, h.name_len):
                    if ((h.name_len >= 6 and memcmp(name, b"x-amz-", 6) == 0
                            and not h.flags & IS_CONTENT) or h.flags & IS_HOST):
                        return None
                    h.flags |= EXCLUDED
                elif h.flags & IS_AUTH:
                    return None
            if not hs.has_host:
                if origin is None:
                    return None
                host_s = PyUnicode_AsUTF8AndSize(origin[1], &host_n)
                hs_add_ours(&hs, "host", host_s, host_n)
            hs_emit(&hs, &block, &signed)
            if signed.n != list_n or memcmp(signed.p, list_s, list_n):
                return None  # a signed header is missing
            # Time, credential, token.
            while date_n and (date[date_n - 1] == b' ' or date[date_n - 1] == b'\t'):
                date_n -= 1
            while date_n and (date[0] == b' ' or date[0] == b'\t'):
                date += 1
                date_n -= 1
            epoch = self.epoch(date, date_n)
            if epoch < 0:
                return None
            now = self.now()
            if now - epoch > self.max_skew or epoch - now > self.max_skew:
                return None
            memo = self.credential_memo(cred, cred_n, date)
            if memo is None or not token_ok(memo, token, token_n, tokens == 1):
                return None
            is_s3 = memo[7] is True
            # The payload: the declared hash must be the body's; UNSIGNED-PAYLOAD as allowed.
            body_hash = EMPTY_SHA256 if payload_hash is None else payload_hash
            if defer:
                if content != NULL or is_s3:
                    return None
                payload = None
            elif content != NULL:
                if content_n == 16 and memcmp(content, b"UNSIGNED-PAYLOAD", 16) == 0:
                    if not (is_s3 if self.unsigned_payload is None else self.unsigned_payload):
                        return None
                    payload = UNSIGNED_PAYLOAD
                elif is_lower_hex64(content, content_n):
                    if not (type(body_hash) is str and PyUnicode_IS_ASCII(body_hash)
                            and PyUnicode_GET_LENGTH(body_hash) == 64
                            and memcmp(PyUnicode_DATA(body_hash), content, 64) == 0):
                        return None
                    payload = body_hash
                else:
                    return None
            elif is_s3:
                return None
            else:
                payload = body_hash
            if payload is not EMPTY_SHA256 and not defer and (
                    type(payload) is not str or not is_lower_hex64_or_unsigned(payload)):
                return None
            # The query: no presigning parameters.
            if t.query != NULL:
                if received_query_into(&cq, t.query, t.query_n, True, &a):
                    return None
                for i in range(7):
                    if a.count[i]:
                        return None
            policy = self.s3_paths if is_s3 else self.service_paths
            if path_into(&sent, &canonical, t.path, t.path_n, policy.double_encode,
                         policy.normalize, policy.plus_is_space):
                return None
            buf_addb(&creq, m)
            buf_addc(&creq, b'\n')
            buf_add(&creq, canonical.p, canonical.n)
            buf_addc(&creq, b'\n')
            buf_add(&creq, cq.p, cq.n)
            buf_addc(&creq, b'\n')
            buf_add(&creq, block.p, block.n)
            buf_addc(&creq, b'\n')
            buf_add(&creq, list_s, list_n)
            buf_addc(&creq, b'\n')
            if defer:
                return _Deferred(self, memo, PyBytes_FromStringAndSize(creq.p, creq.n),
                                 PyBytes_FromStringAndSize(date, date_n),
                                 PyBytes_FromStringAndSize(cred, cred_n),
                                 PyBytes_FromStringAndSize(sig, 64),
                                 self.signed_names(list_s, list_n), epoch,
                                 None if token == NULL else PyBytes_FromStringAndSize(token, token_n))
            buf_adds(&creq, payload)  # ASCII: checked above
            if not self.signature_ok(memo, &creq, date, cred, cred_n, sig):
                return None
            return self.verified(memo, self.signed_names(list_s, list_n), epoch, -1, token,
                                 token_n, False, payload)
        finally:
            hs_free(&hs)
            slots_free(&a)
            buf_free(&cq)
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&block)
            buf_free(&signed)


@cython.auto_pickle(False)
cdef class _Deferred:
    """A header-signed request that passed every check but its signature, which covers the
    body's hash: ``finish(payload_hash)`` is the VerifiedRequest, or None for the general
    path to judge (see HeaderVerifier.check's ``defer``)."""

    cdef HeaderVerifier owner
    cdef tuple memo, names
    cdef bytes creq, date, cred, sig, token
    cdef long long epoch

    def __init__(self, HeaderVerifier owner, tuple memo, bytes creq, bytes date, bytes cred,
                 bytes sig, tuple names, long long epoch, token):
        self.owner, self.memo, self.creq, self.date = owner, memo, creq, date
        self.cred, self.sig, self.names, self.epoch, self.token = cred, sig, names, epoch, token

    def finish(self, payload_hash):
        cdef Buf creq
        if (type(payload_hash) is not str or not PyUnicode_IS_ASCII(payload_hash)
                or not is_lower_hex64_or_unsigned(payload_hash)
                or PyUnicode_GET_LENGTH(payload_hash) != 64 or not in_use()):
            return None
        buf_init(&creq, PyBytes_GET_SIZE(self.creq) + 64)
        try:
            buf_addb(&creq, self.creq)
            buf_adds(&creq, payload_hash)
            if not self.owner.signature_ok(self.memo, &creq, PyBytes_AS_STRING(self.date),
                                           PyBytes_AS_STRING(self.cred),
                                           PyBytes_GET_SIZE(self.cred),
                                           PyBytes_AS_STRING(self.sig)):
                return None
        finally:
            buf_free(&creq)
        if self.token is None:
            return self.owner.verified(self.memo, self.names, self.epoch, -1, NULL, 0, False,
                                       payload_hash)
        return self.owner.verified(self.memo, self.names, self.epoch, -1,
                                   PyBytes_AS_STRING(self.token), PyBytes_GET_SIZE(self.token),
                                   False, payload_hash)


cdef bint is_lower_hex64_or_unsigned(str value) except -1:
    cdef Py_ssize_t n
    cdef const char *s
    if not PyUnicode_IS_ASCII(value):
        return False
    s = PyUnicode_AsUTF8AndSize(value, &n)
    return is_lower_hex64(s, n) or (n == 16 and memcmp(s, b"UNSIGNED-PAYLOAD", 16) == 0)


@cython.auto_pickle(False)  # a middleware is not pickled
cdef class _ASGIEntry:
    """Where each request enters fastsig.middleware.ASGIMiddleware, a base class of it: the
    call itself in C, with no coroutine of the middleware's own. A request the one-call check
    accepts is stored into the scope and handed on as the application's own awaitable; any
    other goes to the middleware's ``_general`` coroutine. The coroutine layer this replaces
    cost 2.3k instructions a request under uvicorn and wrk, a quarter of what the middleware
    added (callgrind)."""

    cdef public object app
    cdef public object _check_scope
    cdef public object _presigned

    def __call__(self, scope, receive, send):
        verified = self._check_scope(scope, self._presigned)
        if verified is None:
            return self._general(scope, receive, send)
        scope["fastsig.verified"] = verified  # middleware.ENVIRON_KEY
        return self.app(scope, receive, send)


include "_arrow.pxi"

# SHA-256, HMAC-SHA256, the CRCs and the SigV4 signing key (task 4 of the spec).
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/hashing.py.

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
    void fs_sha256_final_x2(const fs_sha256_ctx *start_a, const void *msg_a, size_t len_a,
                            uint8_t *digest_a, const fs_sha256_ctx *start_b, const void *msg_b,
                            size_t len_b, uint8_t *digest_b)
    void fs_hmac_from_x2(const fs_hmac_key *key, const fs_sha256_ctx *start, const void *msg_a,
                         size_t len_a, uint8_t *mac_a, const void *msg_b, size_t len_b,
                         uint8_t *mac_b)
    void fs_hex(const uint8_t *inp, size_t n, char *out)

cdef extern from "crc.h" nogil:
    void fs_crc_init()
    uint32_t fs_crc32c(uint32_t crc, const uint8_t *data, size_t len)
    uint64_t fs_crc64nvme(uint64_t crc, const uint8_t *data, size_t len)

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

# Presigning whole Arrow arrays: fastsig.arrow's kernel, included by _speedups.pyx.
#
# The keys (or URLs) are read straight from the buffers of the Arrow C Data Interface (utf8,
# large_utf8, string_view; sliced, with nulls), each URL is made by the same steps as
# SigningContext.presign_one (parse_url_at, presign_into, the pure twin for anything else),
# and written into one large_utf8 data buffer: no Python object per URL. Keys of a bucket
# without params take a shorter way to the same bytes: the key encoded once, straight into
# presign_plain. The twin is _kernels/arrow.py, through pyarrow.

from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid, PyCapsule_New
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport calloc

from ._kernels import arrow as _py_arrow

cdef extern from "arrow_abi.h" nogil:
    struct ArrowSchema:
        const char *format
        const char *name
        int64_t flags
        int64_t n_children
        void (*release)(ArrowSchema *)
    struct ArrowArray:
        int64_t length
        int64_t null_count
        int64_t offset
        int64_t n_buffers
        int64_t n_children
        const void **buffers
        void (*release)(ArrowArray *)
    struct ArrowArrayStream:
        int (*get_schema)(ArrowArrayStream *, ArrowSchema *)
        int (*get_next)(ArrowArrayStream *, ArrowArray *)
        const char *(*get_last_error)(ArrowArrayStream *)
        void (*release)(ArrowArrayStream *)
    ctypedef struct fs_urls_chunk:
        int64_t length
        int64_t null_count
        uint8_t *validity
        int64_t *offsets
        char *data
        size_t capacity
    ctypedef struct fs_urls:
        int64_t n_chunks
        fs_urls_chunk *chunks
    fs_urls *fs_urls_new()
    char *fs_spare_take(size_t need, size_t *capacity)
    void fs_urls_decref(fs_urls *urls)
    int fs_urls_append(fs_urls *urls, const fs_urls_chunk *chunk)
    void fs_urls_schema(ArrowSchema *out)
    int fs_urls_export(fs_urls *urls, int64_t i, ArrowArray *out)
    int fs_urls_stream(fs_urls *urls, ArrowArrayStream *out)

# Keys are quoted by keys.pxi's add_quoted_key (quote_key's rule).

DEF ARROW_UTF8 = 1
DEF ARROW_LARGE_UTF8 = 2
DEF ARROW_STRING_VIEW = 3


cdef int arrow_kind(const char *fmt) except -1:
    if fmt[0] == b'u' and fmt[1] == 0:
        return ARROW_UTF8
    if fmt[0] == b'U' and fmt[1] == 0:
        return ARROW_LARGE_UTF8
    if fmt[0] == b'v' and fmt[1] == b'u' and fmt[2] == 0:
        return ARROW_STRING_VIEW
    raise TypeError(_py_arrow.type_error(PyUnicode_DecodeUTF8(fmt, strlen(fmt), "replace")))


cdef inline const char *arrow_value(int kind, ArrowArray *a, int64_t j, Py_ssize_t *n) noexcept:
    """Row ``j`` (offset included) of a string array: its bytes and their number."""
    cdef const int32_t *offsets32
    cdef const int64_t *offsets64
    cdef const char *view
    cdef int32_t length, index, offset
    if kind == ARROW_UTF8:
        offsets32 = <const int32_t *>a.buffers[1]
        n[0] = offsets32[j + 1] - offsets32[j]
        return <const char *>a.buffers[2] + offsets32[j]
    if kind == ARROW_LARGE_UTF8:
        offsets64 = <const int64_t *>a.buffers[1]
        n[0] = offsets64[j + 1] - offsets64[j]
        return <const char *>a.buffers[2] + offsets64[j]
    # string_view: 16 bytes a row; up to 12 bytes inline after the length, else a 4-byte
    # prefix, the variadic buffer's index and the offset in it.
    view = <const char *>a.buffers[1] + 16 * j
    memcpy(&length, view, 4)
    n[0] = length
    if length <= 12:
        return view + 4
    memcpy(&index, view + 8, 4)
    memcpy(&offset, view + 12, 4)
    return <const char *>a.buffers[2 + index] + offset


cdef inline bint arrow_valid(ArrowArray *a, int64_t j) noexcept:
    cdef const uint8_t *bits = <const uint8_t *>a.buffers[0]
    return a.null_count == 0 or bits == NULL or (bits[j >> 3] >> (j & 7)) & 1


cdef int presign_chunk(SigningContext context, bytes m, object method, bytes prefix,
                       bytes query, ArrowArray *a, int kind, long expires_in,
                       str payload_hash, int64_t first_row, fs_urls *urls) except -1:
    """Presigns one array of keys (``prefix`` non-empty) or URLs into a chunk of ``urls``."""
    cdef fs_urls_chunk chunk
    cdef Buf url, sent, canonical, creq, data
    cdef Deferred later
    cdef Url u
    cdef int64_t i, j, length = a.length
    cdef Py_ssize_t n, mark
    cdef const char *s
    cdef bint nulls = a.null_count != 0 and a.buffers[0] != NULL
    cdef bytes payload = context.payload_bytes(payload_hash)
    cdef bint keys = PyBytes_GET_SIZE(prefix) != 0
    cdef Url pu
    cdef const char *query_p = PyBytes_AS_STRING(query) if PyBytes_GET_SIZE(query) else NULL
    cdef Py_ssize_t path_at = -1  # where the prefix's path starts, when keys skip the parse
    cdef tuple key_origin = None
    cdef bytes auth = None  # set when keys skip presign_into too (see below)
    cdef size_t need, spare_capacity
    cdef char *spare
    # Rows are judged in order: invalid UTF-8 first (as the twin's decoding), then the rest.
    for i in range(length):
        j = a.offset + i
        if arrow_valid(a, j):
            s = arrow_value(kind, a, j, &n)
            if not utf8_ok(s, n):
                raise _py.InvalidRequestError(_py_arrow.utf8_error(first_row + i))
    chunk.length = length
    chunk.null_count = 0
    chunk.validity = NULL
    chunk.offsets = <int64_t *>malloc((length + 1) * sizeof(int64_t))
    if nulls:
        chunk.validity = <uint8_t *>calloc((length + 7) // 8 + 1, 1)
    if chunk.offsets == NULL or (nulls and chunk.validity == NULL):
        free(chunk.offsets)
        free(chunk.validity)
        raise MemoryError()
    buf_init(&url, 1024)
    buf_init(&sent, 1024)
    buf_init(&canonical, 1024)
    buf_init(&creq, 2048)
    deferred_init(&later)
    # On the heap (it becomes the chunk's), room for typical URLs: untouched pages cost nothing.
    need = INLINE_BYTES + 1 + length * (PyBytes_GET_SIZE(prefix) + 320)
    spare = fs_spare_take(need, &spare_capacity)
    if spare != NULL:
        data.p, data.n, data.cap = spare, 0, spare_capacity
    else:
        buf_init(&data, need)
    try:
        # Keys of one bucket: the prefix is parsed once. A quoted key holds no '?', '#' or
        # control character, so prefix + key parses to that path, as presign_one would see it.
        if keys and m is not None and not parse_url_at(&pu, PyBytes_AS_STRING(prefix),
                                                       PyBytes_GET_SIZE(prefix), False):
            if pu.query_start < 0 and pu.path_end == pu.n and pu.authority_end < pu.n:
                key_origin = context.origins.get(&pu)
                if key_origin is not None:
                    path_at = pu.authority_end
                    # S3's paths, no query: the path sent (and signed) is the prefix's, when
                    # plain, then the key's bytes encoded once (quote_key, then path_into's
                    # decoding and encoding again, come to that), straight into the signing.
                    if (query_p == NULL and not context.double_encode
                            and not context.normalize and plain_path(
                                pu.s + path_at, PyBytes_GET_SIZE(prefix) - path_at)):
                        auth = context.host_auth(expires_in)
        chunk.offsets[0] = 0
        for i in range(length):
            j = a.offset + i
            if not arrow_valid(a, j):
                chunk.null_count += 1
                chunk.offsets[i + 1] = data.n
                continue
            if nulls:
                chunk.validity[i >> 3] |= 1 << (i & 7)
            s = arrow_value(kind, a, j, &n)
            url.n = 0
            if keys:
                if n == 0:  # an empty key would presign the bucket itself
                    raise _py.InvalidRequestError(_py_arrow.empty_key_error())
                if auth is not None:
                    sent.n = 0
                    buf_add(&sent, PyBytes_AS_STRING(prefix) + path_at,
                            PyBytes_GET_SIZE(prefix) - path_at)
                    encode_into(&sent, <const uint8_t *>s, n, fs_uri_keep_path)
                    context.presign_plain(m, key_origin, sent.p, sent.n, sent.p, sent.n, auth,
                                          payload, &creq, &data, &later)
                    chunk.offsets[i + 1] = data.n
                    continue
                buf_addb(&url, prefix)
                add_quoted_key(&url, s, n)
                if PyBytes_GET_SIZE(query):
                    buf_addc(&url, b'?')
                    buf_addb(&url, query)
            else:
                buf_add(&url, s, n)
            mark = data.n
            if path_at >= 0:
                if not context.presign_into(
                        m, key_origin, url.p + path_at,
                        url.n - path_at - (PyBytes_GET_SIZE(query) + 1 if query_p else 0),
                        query_p, PyBytes_GET_SIZE(query), expires_in, None, payload, &sent,
                        &canonical, &creq, &data, &later):
                    chunk.offsets[i + 1] = data.n
                    continue
                data.n = mark
            # presign_one's steps, on bytes; anything else is the pure twin's to judge.
            origin = None
            if m is not None and not parse_url_at(&u, url.p, url.n, False):
                origin = context.origins.get(&u)
            if origin is None or context.presign_into(
                    m, origin, u.s + u.authority_end, u.path_end - u.authority_end,
                    u.s + u.query_start if u.query_start >= 0 else NULL,
                    u.query_end - u.query_start if u.query_start >= 0 else 0,
                    expires_in, None, payload, &sent, &canonical, &creq, &data, &later):
                data.n = mark
                result = context.fallback().presign(
                    method, PyUnicode_DecodeUTF8(url.p, url.n, NULL), expires_in, None,
                    payload_hash)
                buf_adds(&data, result)
            chunk.offsets[i + 1] = data.n
        sign_deferred(&context.key, &context.sts_inner, &later, &data)
        chunk.data = data.p
        chunk.capacity = data.cap
        if fs_urls_append(urls, &chunk):
            raise MemoryError()
        data.p = data.inline  # the chunk's now
    except BaseException:
        free(chunk.offsets)
        free(chunk.validity)
        raise
    finally:
        buf_free(&url)
        buf_free(&sent)
        buf_free(&canonical)
        buf_free(&creq)
        buf_free(&data)
        deferred_free(&later)
    return 0


cdef object stream_error(ArrowArrayStream *stream):
    cdef const char *message = stream.get_last_error(stream)
    return _py_arrow.stream_error(
        None if message == NULL else PyUnicode_DecodeUTF8(message, strlen(message), "replace"))


cdef void schema_capsule_free(object capsule) noexcept:
    cdef ArrowSchema *schema = <ArrowSchema *>PyCapsule_GetPointer(capsule, "arrow_schema")
    if schema.release != NULL:
        schema.release(schema)
    free(schema)


cdef void array_capsule_free(object capsule) noexcept:
    cdef ArrowArray *array = <ArrowArray *>PyCapsule_GetPointer(capsule, "arrow_array")
    if array.release != NULL:
        array.release(array)
    free(array)


cdef void stream_capsule_free(object capsule) noexcept:
    cdef ArrowArrayStream *stream = <ArrowArrayStream *>PyCapsule_GetPointer(
        capsule, "arrow_array_stream")
    if stream.release != NULL:
        stream.release(stream)
    free(stream)


@cython.auto_pickle(False)
cdef class ArrowUrls:
    """Presigned URLs as Arrow ``large_utf8`` chunks (see ``fastsig.arrow.presign``), exported
    through ``__arrow_c_stream__`` without a copy; the buffers live until the last consumer
    releases them."""

    cdef fs_urls *urls

    def __cinit__(self):
        self.urls = fs_urls_new()
        if self.urls == NULL:
            raise MemoryError()

    def __dealloc__(self):
        fs_urls_decref(self.urls)

    def __len__(self):
        cdef int64_t i, total = 0
        for i in range(self.urls.n_chunks):
            total += self.urls.chunks[i].length
        return total

    @property
    def null_count(self):
        cdef int64_t i, total = 0
        for i in range(self.urls.n_chunks):
            total += self.urls.chunks[i].null_count
        return total

    @property
    def num_chunks(self):
        return self.urls.n_chunks

    def __repr__(self):
        return f"{type(self).__name__}({len(self)} URLs, {self.null_count} null)"

    def __arrow_c_stream__(self, requested_schema=None):
        cdef ArrowArrayStream *stream = <ArrowArrayStream *>malloc(sizeof(ArrowArrayStream))
        if stream == NULL:
            raise MemoryError()
        if fs_urls_stream(self.urls, stream):
            free(stream)
            raise MemoryError()
        return PyCapsule_New(stream, "arrow_array_stream", stream_capsule_free)


@cython.auto_pickle(False)
cdef class ArrowUrlArray(ArrowUrls):
    """``ArrowUrls`` of one chunk, exported as an array too (``__arrow_c_array__``)."""

    def __arrow_c_array__(self, requested_schema=None):
        cdef ArrowSchema *schema = <ArrowSchema *>malloc(sizeof(ArrowSchema))
        cdef ArrowArray *array
        if schema == NULL:
            raise MemoryError()
        fs_urls_schema(schema)
        schema_capsule = PyCapsule_New(schema, "arrow_schema", schema_capsule_free)
        array = <ArrowArray *>malloc(sizeof(ArrowArray))
        if array == NULL:
            raise MemoryError()
        if fs_urls_export(self.urls, 0, array):
            free(array)
            raise MemoryError()
        return schema_capsule, PyCapsule_New(array, "arrow_array", array_capsule_free)


def presign_arrow(context, method, str prefix, str query, source, long expires_in,
                  str payload_hash):
    """Presigned URLs of an Arrow array or stream of keys (``prefix``, a bucket's URL ending
    in '/', non-empty) or of URLs (``prefix`` empty); see the pure twin."""
    cdef ArrowSchema *schema
    cdef ArrowArray *array
    cdef ArrowArrayStream *stream
    cdef ArrowSchema stream_schema
    cdef ArrowArray next_array
    cdef int kind
    cdef int64_t rows = 0
    cdef ArrowUrls result
    if type(context) is not SigningContext:  # SigV4a's context is the pure one
        return _py.presign_arrow(context, method, prefix, query, source, expires_in,
                                 payload_hash)
    m = method_bytes(method)
    if m is None:
        _py_arrow._check_method(method)  # before any key, and when there is none (its error)
    prefix_b = prefix.encode("utf-8")
    query_b = query.encode("utf-8")
    if hasattr(source, "__arrow_c_array__"):
        capsules = source.__arrow_c_array__()
        if (type(capsules) is not tuple or len(capsules) != 2
                or not PyCapsule_IsValid(capsules[0], "arrow_schema")
                or not PyCapsule_IsValid(capsules[1], "arrow_array")):
            raise TypeError(_py_arrow.source_error(source))
        schema = <ArrowSchema *>PyCapsule_GetPointer(capsules[0], "arrow_schema")
        array = <ArrowArray *>PyCapsule_GetPointer(capsules[1], "arrow_array")
        kind = arrow_kind(schema.format)
        if array.n_buffers < 3:
            raise TypeError(_py_arrow.source_error(source))
        result = ArrowUrlArray()
        presign_chunk(<SigningContext>context, m, method, prefix_b, query_b, array, kind,
                      expires_in, payload_hash, 0, result.urls)
        return result
    if not hasattr(source, "__arrow_c_stream__"):
        raise TypeError(_py_arrow.source_error(source))
    capsule = source.__arrow_c_stream__()
    if not PyCapsule_IsValid(capsule, "arrow_array_stream"):
        raise TypeError(_py_arrow.source_error(source))
    stream = <ArrowArrayStream *>PyCapsule_GetPointer(capsule, "arrow_array_stream")
    if stream.get_schema(stream, &stream_schema):
        raise stream_error(stream)
    try:
        kind = arrow_kind(stream_schema.format)
    finally:
        stream_schema.release(&stream_schema)
    result = ArrowUrls()
    while True:
        if stream.get_next(stream, &next_array):
            raise stream_error(stream)
        if next_array.release == NULL:
            break
        try:
            if next_array.n_buffers < 3:
                raise TypeError(_py_arrow.source_error(source))
            presign_chunk(<SigningContext>context, m, method, prefix_b, query_b, &next_array,
                          kind, expires_in, payload_hash, rows, result.urls)
            rows += next_array.length
        finally:
            next_array.release(&next_array)
    return result

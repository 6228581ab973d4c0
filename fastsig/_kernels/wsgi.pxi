# The WSGI middleware's compiled entry: one call into the kernels per request, which reads the
# environ, verifies, and for a header-signed body within memory_limit reads and hashes it.
# Included from _speedups.pyx (it uses the verifiers' cdef methods); the pure twin is
# fastsig/_kernels/wsgi.py. Whatever this does not settle goes, untouched (or with the body it
# read put back as a BytesIO), to WSGIMiddleware's general path, which also builds every error.

from io import BytesIO as _BytesIO

cdef object _read_exactly(object stream, Py_ssize_t length):
    """Up to ``length`` bytes of the body (fewer only at its end), as one bytes."""
    data = stream.read(length)
    if type(data) is not bytes:
        data = bytes(data)
    if PyBytes_GET_SIZE(data) >= length:
        return data
    parts = [data]
    got = PyBytes_GET_SIZE(data)
    while got < length:
        more = stream.read(length - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


cdef str _hex_sha256(bytes data):
    cdef uint8_t digest[32]
    cdef char hexed[64]
    fs_sha256(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), digest)
    fs_hex(digest, 32, hexed)
    return ascii_str(hexed, 64)


cdef Py_ssize_t _body_length(object value) except -2:
    """CONTENT_LENGTH as a count: 0 for none or empty, -1 for what the general path judges."""
    cdef const char *s
    cdef Py_ssize_t n, i, length = 0
    if value is None:
        return 0
    if type(value) is not str or not PyUnicode_IS_ASCII(value):
        return -1
    s = PyUnicode_AsUTF8AndSize(value, &n)
    if n == 0:
        return 0
    if n > 15:
        return -1
    for i in range(n):
        if not (b'0' <= s[i] <= b'9'):
            return -1
        length = length * 10 + (s[i] - 48)
    return length


def check_environ(HeaderVerifier verifier, PresignedVerifier presigned, environ,
                  memory_limit, max_body_size):
    """A WSGI request accepted in one call (see the pure twin), or None."""
    return check_environ_c(verifier, presigned, environ, memory_limit, max_body_size)


cdef object check_environ_c(HeaderVerifier verifier, PresignedVerifier presigned, environ,
                            memory_limit, max_body_size):
    cdef PyObject *key
    cdef PyObject *value
    cdef Py_ssize_t pos = 0, n, length, query_at
    cdef const char *s
    cdef const char *k
    cdef Target t
    cdef Url u
    cdef Buf b
    cdef bint header_signed = False, chunked = False
    if type(environ) is not dict or not in_use():
        return None
    host = declared = method = raw_uri = request_uri = content_length = None
    # One pass over the environ for what the request needs (a presigned one needs no list of
    # its headers), instead of a lookup for each.
    while PyDict_Next(environ, &pos, &key, &value):
        if type(<object>key) is not str or not PyUnicode_IS_ASCII(<object>key):
            return None
        k = <const char *>PyUnicode_DATA(<object>key)
        n = PyUnicode_GET_LENGTH(<object>key)
        if n > 5 and memcmp(k, b"HTTP_", 5) == 0:
            if n == 18 and memcmp(k + 5, b"AUTHORIZATION", 13) == 0:
                header_signed = True
            elif n >= 11 and memcmp(k + 5, b"X_AMZ_", 6) == 0:
                header_signed = True
                if n == 25 and memcmp(k + 11, b"CONTENT_SHA256", 14) == 0:
                    declared = <object>value
            elif n == 9 and memcmp(k + 5, b"HOST", 4) == 0:
                host = <object>value
            elif n == 22 and memcmp(k + 5, b"TRANSFER_ENCODING", 17) == 0:
                chunked = True
        elif n == 14 and memcmp(k, b"REQUEST_METHOD", 14) == 0:
            method = <object>value
        elif n == 7 and memcmp(k, b"RAW_URI", 7) == 0:
            raw_uri = <object>value
        elif n == 11 and memcmp(k, b"REQUEST_URI", 11) == 0:
            request_uri = <object>value
        elif n == 14 and memcmp(k, b"CONTENT_LENGTH", 14) == 0:
            content_length = <object>value
    length = _body_length(content_length)
    # A bodiless request under wsgi.input_terminated (waitress, gunicorn: every GET) has no
    # Transfer-Encoding: it is not a chunked body. One that has it goes the general way.
    if length < 0 or chunked:
        return None
    m = method_bytes("GET" if method is None else method)
    target = raw_uri if raw_uri else request_uri  # as the general path's _wsgi_target
    if m is None or type(target) is not str or not PyUnicode_IS_ASCII(target):
        return None  # no raw target, or one that is not ASCII: the general path rebuilds it
    s = PyUnicode_AsUTF8AndSize(target, &n)
    if n == 0 or s[0] != b'/':
        return None
    if header_signed:
        # The headers are read from the environ in place (as wsgi_headers would give them).
        if length == 0:
            return verifier.accept_origin_form(m, s, n, environ, None, False, True)
        # memory_limit and max_body_size are the middleware's attributes, any number.
        if length > memory_limit or (max_body_size is not None and length > max_body_size):
            return None  # spooled to disk, or refused as too large, by the general path
        if declared is None:
            pending = verifier.accept_origin_form(m, s, n, environ, None, True, True)
            if pending is None:
                return None
        elif declared == "UNSIGNED-PAYLOAD":
            return verifier.accept_origin_form(m, s, n, environ, None, False, True)
        elif type(declared) is str and PyUnicode_GET_LENGTH(declared) == 64:
            pending = verifier.accept_origin_form(m, s, n, environ, declared, False, True)
            if pending is None:
                return None
        else:
            return None  # aws-chunked, or a value the general path judges
        data = _read_exactly(environ["wsgi.input"], length)
        body = _BytesIO(data)
        environ["wsgi.input"] = body
        if PyBytes_GET_SIZE(data) != length:
            return None  # the general path reads it again and says it is short
        actual = _hex_sha256(data)
        if declared is None:
            verified = (<_Deferred?>pending).finish(actual)
        else:
            verified = pending if actual == declared else None
        if verified is not None and PyUnicode_GET_LENGTH(content_length) > 1 and \
                (<str>content_length)[0] == "0":
            environ["CONTENT_LENGTH"] = str(length)  # as the general path gives it: no zeros
        return verified
    if length:
        return None  # an unsigned body: the general path refuses it
    # Presigned: the URL is the scheme, the Host header and the target.
    scheme = environ.get("wsgi.url_scheme", "http")
    if (type(host) is not str or not PyUnicode_IS_ASCII(host) or type(scheme) is not str
            or not PyUnicode_IS_ASCII(scheme)):
        return None
    host_b = (<str>host).encode("ascii")
    if not plain_host(host_b):
        return None
    k = <const char *>memchr(s, b'?', n)
    query_at = -1 if k == NULL else k - s
    t.path = s
    t.path_n = n if query_at < 0 else query_at
    t.query = NULL if query_at < 0 or query_at == n - 1 else s + query_at + 1
    t.query_n = 0 if t.query == NULL else n - query_at - 1
    if (not url_part_ok(t.path, t.path_n, SLASH)
            or (t.query_n and memchr(t.query, b'#', t.query_n) != NULL)):
        return None
    s = PyUnicode_AsUTF8AndSize(scheme, &n)
    origin = presigned.origins.find_origin_of(s, n, host_b)
    if origin is None:
        buf_init(&b, 0)
        try:
            buf_add(&b, s, n)
            buf_add(&b, b"://", 3)
            buf_add(&b, PyBytes_AS_STRING(host_b), PyBytes_GET_SIZE(host_b))
            if parse_url_at(&u, b.p, b.n, True) or u.authority_end != b.n:
                return None
            origin = presigned.origins.find(&u)
            if origin is None:
                return None
        finally:
            buf_free(&b)
    # The URL's host is the Host header as sent only when the signers' rules leave it so.
    if origin[1] != host:
        return None
    return presigned.accept(m, t, origin)


cdef object CHECK_ENVIRON = check_environ


@cython.auto_pickle(False)  # a middleware is not pickled
cdef class _WSGIEntry:
    """Where each request enters fastsig.middleware.WSGIMiddleware, a base class of it: a
    request the one-call check accepts is stored into the environ and handed to the app; any
    other goes to the middleware's ``_general``."""

    cdef public object app
    cdef public object _check_environ
    cdef public object _header_verifier
    cdef public object _presigned
    cdef public object memory_limit
    cdef public object max_body_size

    def __call__(self, environ, start_response):
        if self._check_environ is CHECK_ENVIRON:  # this module's: called in C, no arguments boxed
            verified = check_environ_c(<HeaderVerifier?>self._header_verifier,
                                       <PresignedVerifier?>self._presigned, environ,
                                       self.memory_limit, self.max_body_size)
        else:
            verified = self._check_environ(self._header_verifier, self._presigned, environ,
                                           self.memory_limit, self.max_body_size)
        if verified is None:
            return self._general(environ, start_response)
        environ["fastsig.verified"] = verified  # middleware.ENVIRON_KEY
        return self.app(environ, start_response)

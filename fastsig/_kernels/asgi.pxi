# The ASGI middleware's compiled entry: one call a request for what needs no body.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/asgi.py.

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

    cpdef object finish(self, payload_hash):
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

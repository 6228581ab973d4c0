# Verification of header-signed requests (Authorization), and the ASGI scope check.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/verify_headers.py.

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
                                   payload_hash, bint defer=False, bint environ=False):
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
            return self.accept(m, target_of(&u), None, headers, payload_hash, defer, environ)
        finally:
            buf_free(&b)

    cdef object accept(self, bytes m, Target t, tuple origin, headers, payload_hash,
                       bint defer=False, bint environ=False):
        """``check`` of a target as parse_url splits it, with no control character;
        ``origin`` None for the origin form. The request is header-signed (Authorization), or
        a presigned URL sent with headers and perhaps a body: then its query carries what the
        Authorization header would, and the headers it signs are checked as a header-signed
        request's are. ``defer``: a header-signed request whose payload is its body's hash (no
        x-amz-content-sha256, not S3) passes every check but the signature and comes back as
        a _Deferred, for the body to be read only then. ``environ``: ``headers`` is a WSGI
        environ, its headers read as wsgi_headers finds them."""
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
        cdef int auths = 0, dates = 0, tokens = 0, contents = 0, expires = -1
        cdef long long epoch
        cdef bint is_s3, presigned
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
        hs.lax = True  # odd values of unsigned headers are no matter (checked below)
        try:
            if environ:
                if hs_collect_environ(&hs, headers):
                    return None
            elif hs_collect(&hs, headers, held, False, False, b"", True):
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
            # The query, and in it the presigning parameters, if any.
            if t.query != NULL and received_query_into(&cq, t.query, t.query_n, True, &a):
                return None
            presigned = a.count[A_SIGNATURE] != 0
            if presigned:
                # X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...&X-Amz-Date=...&
                # X-Amz-Expires=...&X-Amz-SignedHeaders=...[&X-Amz-Security-Token=...]: the
                # values as received, canonically encoded (see PresignedVerifier.accept).
                if auths or defer or contents > 1 or self.presigned_window(&a, &epoch, &expires):
                    return None
                slots_decode(&a, 1 << A_CREDENTIAL | 1 << A_TOKEN | 1 << A_SIGNED_HEADERS)
                cred, cred_n = a.at[A_CREDENTIAL], a.len[A_CREDENTIAL]
                list_s, list_n = a.at[A_SIGNED_HEADERS], a.len[A_SIGNED_HEADERS]
                sig = a.at[A_SIGNATURE]
                date, date_n = a.at[A_DATE], a.len[A_DATE]
                tokens = a.count[A_TOKEN]
                token = a.at[A_TOKEN] if tokens else NULL
                token_n = a.len[A_TOKEN] if tokens else 0
                if not (self.is_last_list(list_s, list_n) or signed_list_ok(list_s, list_n)):
                    return None
            else:
                for i in range(7):
                    if a.count[i]:
                        return None
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
                while date_n and (date[date_n - 1] == b' ' or date[date_n - 1] == b'\t'):
                    date_n -= 1
                while date_n and (date[0] == b' ' or date[0] == b'\t'):
                    date += 1
                    date_n -= 1
            # Every header is signed or excluded; x-amz-* ones and Authorization must be,
            # but for a header-signed request's x-amz-content-sha256, which S3 takes unsigned
            # (verifier.py says why).
            for i in range(hs.count):
                h = &hs.e[i]
                name = hs.names.p + h.name_off
                if not in_signed_list(list_s, list_n, name, h.name_len):
                    if ((h.name_len >= 6 and memcmp(name, b"x-amz-", 6) == 0
                            and (presigned or not h.flags & IS_CONTENT)) or h.flags & IS_HOST):
                        return None
                    h.flags |= EXCLUDED
                elif h.flags & (IS_AUTH | ODD_VALUE):
                    return None  # a signed odd value: the general path canonicalizes it
            if not hs.has_host:
                if origin is None:
                    return None
                host_s = PyUnicode_AsUTF8AndSize(origin[1], &host_n)
                hs_add_ours(&hs, "host", host_s, host_n)
            hs_emit(&hs, &block, &signed)
            if signed.n != list_n or memcmp(signed.p, list_s, list_n):
                return None  # a signed header is missing
            # Time (a presigned URL's validity window is checked above), credential, token.
            if not presigned:
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
                # S3 presigns UNSIGNED-PAYLOAD; a header-signed S3 request must say what it signs.
                if not presigned or self.unsigned_payload is False:
                    return None
                payload = UNSIGNED_PAYLOAD
            else:
                payload = body_hash
            if payload is not EMPTY_SHA256 and not defer and (
                    type(payload) is not str or not is_lower_hex64_or_unsigned(payload)):
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
            return self.verified(memo, self.signed_names(list_s, list_n), epoch,
                                 epoch + expires if presigned else -1, token, token_n, presigned,
                                 payload)
        finally:
            hs_free(&hs)
            slots_free(&a)
            buf_free(&cq)
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&block)
            buf_free(&signed)

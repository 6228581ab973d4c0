# Signing: canonical request, string to sign, signature; presigning one URL or many.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/signing.py.

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


cdef int emit_urls(list results, const Py_ssize_t *ends, const bint *ascii, int count,
                   Buf *out) except -1:
    """Appends to ``results`` the strs of the first ``count`` presigned URLs in ``out``, each
    ending at ``ends[i]``, then empties ``out``. Only a double-encoded path is sent as given,
    so only a non-ASCII URL can give a non-ASCII one."""
    cdef Py_ssize_t start = 0
    cdef int i
    for i in range(count):
        if ascii[i]:
            results.append(ascii_str(out.p + start, ends[i] - start))
        else:
            results.append(utf8_str(out.p + start, ends[i] - start))
        start = ends[i]
    out.n = 0
    return 0


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


cdef struct Deferred:
    # Presigned URLs written with their signatures left blank: bulk presigning signs them two
    # at a time, which hashes two canonical requests in the time of one (fs_sha256_final_x2).
    Buf creq[2]
    Py_ssize_t at[2]  # where each signature goes in the output
    int n

cdef int deferred_init(Deferred *d) except -1:
    d.n = 0
    buf_init(&d.creq[0], INLINE_BYTES)
    buf_init(&d.creq[1], INLINE_BYTES)
    return 0

cdef void deferred_free(Deferred *d) noexcept:
    buf_free(&d.creq[0])
    buf_free(&d.creq[1])


cdef void sign_deferred(const fs_hmac_key *key, const fs_sha256_ctx *sts_inner, Deferred *d,
                        Buf *out) noexcept:
    """Writes the signatures still owed into ``out``."""
    cdef uint8_t digest_a[32], digest_b[32]
    cdef char hex_a[64], hex_b[64]
    cdef fs_sha256_ctx fresh
    if d.n == 1:
        signature_of(key, sts_inner, &d.creq[0], hex_a, out.p + d.at[0])
    elif d.n == 2:
        fs_sha256_init(&fresh)
        fs_sha256_final_x2(&fresh, d.creq[0].p, d.creq[0].n, digest_a,
                           &fresh, d.creq[1].p, d.creq[1].n, digest_b)
        fs_hex(digest_a, 32, hex_a)
        fs_hex(digest_b, 32, hex_b)
        fs_hmac_from_x2(key, sts_inner, hex_a, 64, digest_a, hex_b, 64, digest_b)
        fs_hex(digest_a, 32, out.p + d.at[0])
        fs_hex(digest_b, 32, out.p + d.at[1])
    d.n = 0


cdef class SigningContext:
    """Signs requests for one set of credentials, scope and X-Amz-Date (see the pure twin)."""

    cdef fs_hmac_key key
    cdef fs_sha256_ctx sts_inner  # the HMAC inner state after the fixed string-to-sign prefix
    cdef readonly str amz_date
    cdef long long epoch  # X-Amz-Date's second
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
        # -2 for an X-Amz-Date that is not one: no timestamp is then its second
        self.epoch = amz_epoch(PyBytes_AS_STRING(self.amz_date_b),
                               PyBytes_GET_SIZE(self.amz_date_b))
        if self.epoch < 0:
            self.epoch = -2
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

    cdef int presign_url(self, bytes method, object url, long expires_in, headers,
                         bytes payload_hash, Buf *sent, Buf *canonical, Buf *creq, Buf *out,
                         Deferred *later) except -1:
        """Appends one presigned URL to ``out``, or returns 1 for the pure twin to judge it
        (``out`` then as it was). ``later`` as in presign_into."""
        cdef Url u
        cdef Py_ssize_t mark = out.n
        if type(url) is not str or parse_url(&u, url):
            return 1
        origin = self.origins.get(&u)
        if origin is None:
            return 1
        if self.presign_into(method, origin, u.s + u.authority_end, u.path_end - u.authority_end,
                             u.s + u.query_start if u.query_start >= 0 else NULL,
                             u.query_end - u.query_start if u.query_start >= 0 else 0,
                             expires_in, headers, payload_hash, sent, canonical, creq, out,
                             later):
            out.n = mark
            return 1
        return 0

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

    cdef int presign_plain(self, bytes method, tuple origin, const char *canonical,
                           Py_ssize_t canonical_n, const char *sent, Py_ssize_t sent_n,
                           bytes auth, bytes payload_hash, Buf *creq, Buf *out,
                           Deferred *later) except -1:
        """presign_into without query or extra headers, the path already made (``sent`` and
        its ``canonical`` URI), ``auth`` the presigning parameters: bulk presigning, where all
        but the path is the same from URL to URL. With ``later``, the signature is left blank
        and written, two URLs at a time, by sign_deferred (here, once ``later`` holds two)."""
        cdef uint8_t signature[64]
        if (auth is not self.tail_auth or origin is not self.tail_origin
                or payload_hash is not self.tail_payload):
            self.set_tails(auth, origin, payload_hash)
        if later != NULL:
            creq = &later.creq[later.n]
        creq.n = 0
        buf_addb(creq, method)
        buf_addc(creq, b'\n')
        buf_add(creq, canonical, canonical_n)
        buf_addc(creq, b'\n')
        buf_addb(creq, self.creq_tail)
        if later == NULL:
            self.sign_into(creq, signature, NULL)
        buf_reserve(out, PyBytes_GET_SIZE(self.url_head) + sent_n
                    + PyBytes_GET_SIZE(self.url_middle) + 64 + PyBytes_GET_SIZE(self.token_suffix))
        buf_addb(out, self.url_head)
        buf_add(out, sent, sent_n)
        buf_addb(out, self.url_middle)
        if later == NULL:
            buf_add(out, <char *>signature, 64)
        else:
            later.at[later.n] = out.n
            later.n += 1
            out.n += 64
        buf_addb(out, self.token_suffix)
        if later != NULL and later.n == 2:
            sign_deferred(&self.key, &self.sts_inner, later, out)
        return 0

    cdef bytes host_auth(self, long expires_in):
        """The presigning parameters signing the host header alone (cached for the last
        ``expires_in``)."""
        if expires_in != self.last_expires:
            self.last_auth = self.auth_query(expires_in, "host")
            self.last_expires = expires_in
        return self.last_auth

    cdef int presign_into(self, bytes method, tuple origin, const char *path, Py_ssize_t path_n,
                          const char *query, Py_ssize_t query_n, long expires_in, headers,
                          bytes payload_hash, Buf *sent, Buf *canonical, Buf *creq,
                          Buf *out, Deferred *later) except -1:
        """Appends the presigned URL of (scheme, host) + path + query to ``out``; returns 1
        for the pure twin to judge the call. With ``later`` (see presign_plain), a URL with
        neither query nor extra headers may be left for sign_deferred to finish."""
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
            auth = self.host_auth(expires_in)
            if query_n == 0:
                return self.presign_plain(method, origin, canonical.p, canonical.n, sent.p,
                                          sent.n, auth, payload_hash, creq, out, later)
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
        return self.presign_any(method, url, expires_in, headers, payload_hash)

    def presign_at(self, timestamp, method, url, long expires_in, headers, str payload_hash):
        """``presign`` when ``timestamp`` (see the pure twin) is this context's second, else None."""
        if quick_epoch(timestamp) != self.epoch:
            return None
        return self.presign_any(method, url, expires_in, headers, payload_hash)

    cdef object presign_any(self, method, url, long expires_in, headers, str payload_hash):
        cdef Buf sent, canonical, creq, out
        cdef bytes m = method_bytes(method)
        if m is None:
            return self.fallback().presign(method, url, expires_in, headers, payload_hash)
        buf_init(&sent, 256)
        buf_init(&canonical, 256)
        buf_init(&creq, INLINE_BYTES)
        buf_init(&out, INLINE_BYTES)
        try:
            if not self.presign_url(m, url, expires_in, headers, self.payload_bytes(payload_hash),
                                    &sent, &canonical, &creq, &out, NULL):
                # Only a double-encoded path is sent as given, so only a non-ASCII URL can
                # give a non-ASCII one.
                return (ascii_str(out.p, out.n) if PyUnicode_IS_ASCII(url)
                        else utf8_str(out.p, out.n))
        finally:
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&out)
        return self.fallback().presign(method, url, expires_in, headers, payload_hash)

    def presign_many(self, method, urls, long expires_in, str payload_hash):
        """``presign`` for every URL of ``urls``, in order, without extra headers. The
        presigned URLs are written one after the other into ``out`` and signed two at a time
        (see presign_plain); ``ends`` and ``ascii`` hold where each ends and whether its URL
        was ASCII, until emit_urls makes their strs."""
        cdef Buf sent, canonical, creq, out
        cdef Deferred later
        cdef Py_ssize_t ends[2]
        cdef bint ascii[2]
        cdef int waiting = 0
        cdef bytes m = method_bytes(method)
        cdef bytes payload = payload_hash.encode("ascii")
        cdef list results = []
        if m is None:
            return self.fallback().presign_many(method, urls, expires_in, payload_hash)
        buf_init(&sent, 256)
        buf_init(&canonical, 256)
        buf_init(&creq, INLINE_BYTES)
        buf_init(&out, 1024)
        deferred_init(&later)
        try:
            for url in urls:
                if self.presign_url(m, url, expires_in, None, payload, &sent, &canonical, &creq,
                                    &out, &later):
                    # The pure twin's URL (or error) comes after those before it are signed.
                    sign_deferred(&self.key, &self.sts_inner, &later, &out)
                    emit_urls(results, ends, ascii, waiting, &out)
                    waiting = 0
                    results.append(
                        self.fallback().presign(method, url, expires_in, None, payload_hash))
                    continue
                ends[waiting] = out.n
                ascii[waiting] = PyUnicode_IS_ASCII(url)
                waiting += 1
                if later.n == 0 or waiting == 2:  # all signed, or one waits on a second
                    sign_deferred(&self.key, &self.sts_inner, &later, &out)
                    emit_urls(results, ends, ascii, waiting, &out)
                    waiting = 0
            sign_deferred(&self.key, &self.sts_inner, &later, &out)
            emit_urls(results, ends, ascii, waiting, &out)
        finally:
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&out)
            deferred_free(&later)
        return results

    def presign_lines(self, method, str prefix, str keys, long expires_in, str payload_hash):
        """``presign_many`` of ``prefix + line`` for each line of ``keys``, as one bytes
        object: every URL followed by a newline (see the pure twin). Bulk presigning makes no
        Python object per URL this way."""
        cdef Url u
        cdef Buf path, sent, canonical, creq, local
        cdef Deferred later
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
        deferred_init(&later)
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
                                     payload, &sent, &canonical, &creq, out, &later):
                    return self.fallback().presign_lines(method, prefix, keys, expires_in,
                                                         payload_hash)
                buf_addc(out, b'\n')
                start = end + 1
            sign_deferred(&self.key, &self.sts_inner, &later, out)
            return PyBytes_FromStringAndSize(out.p, out.n)
        finally:
            if out is &self.lines_out:
                self.lines_busy = False
            buf_free(&path)
            buf_free(&sent)
            buf_free(&canonical)
            buf_free(&creq)
            buf_free(&local)
            deferred_free(&later)

    def presign_key_lines(self, method, str prefix, keys, long expires_in, str payload_hash):
        """``presign_lines`` of ``keys`` (str, or bytes in UTF-8) with each line quoted as an
        object key (see the pure twin and keys.pxi): odd keys are quoted here, in C."""
        return presign_key_lines(self, method, prefix, keys, expires_in, payload_hash)

    def sign(self, method, url, headers, payload_hash, body=None):
        """The signed request (see the pure twin)."""
        return self.sign_any(method, url, headers, payload_hash, body)

    def sign_at(self, timestamp, method, url, headers, payload_hash, body=None):
        """``sign`` when ``timestamp`` (see the pure twin) is this context's second, else None."""
        if quick_epoch(timestamp) != self.epoch:
            return None
        return self.sign_any(method, url, headers, payload_hash, body)

    cdef object sign_any(self, method, url, headers, payload_hash, body):
        cdef Url u
        cdef bytes m = method_bytes(method)
        cdef fs_sha256_ctx ctx
        cdef uint8_t digest[32]
        cdef char hexed[64]
        cdef const char *body_hash = NULL  # the hex hash of a bytes body, made no str of
        if m is None:  # the method's error comes first, before the body's (the pure twin's)
            return self.fallback().sign(method, url, headers, payload_hash, body)
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

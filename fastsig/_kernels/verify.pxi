# Verification shared by both kinds of signed request, and presigned URLs' check.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/verify.py.

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


cdef inline bint is_lower_hex64(const char *s, Py_ssize_t n) noexcept:
    return n == 64 and fs_is_hex(s, 64)


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
        # Out of the cyclic GC, as a SignedRequest is (signing.pxi says why): it holds only
        # strs, ints, None, a bool and a tuple of strs, so it is in no cycle.
        PyObject_GC_UnTrack(<PyObject *>result)
        self.last_result = <tuple>result
        self.last_result_memo = memo
        self.last_result_epoch = epoch
        self.last_result_expires = expires
        self.last_result_token = None if token == NULL else PyBytes_FromStringAndSize(token, token_n)
        return result

    cdef int presigned_window(self, AuthSlots *a, long long *epoch, int *expires) except -1:
        """The presigning parameters of a query, checked as the general path checks them:
        each there once (the token at most once), AWS4-HMAC-SHA256, a lowercase hex
        signature, X-Amz-Expires in 1..604800, and the clock inside the validity window.
        Sets X-Amz-Date's ``epoch`` and ``expires``; returns 1 for the general path.
        The values are as received, canonically encoded. Encoding leaves unreserved bytes as
        they are, and each value checked here must be unreserved text to pass: an escape
        fails its check as its byte would."""
        cdef int i
        cdef double now
        for i in range(7):
            if a.count[i] != 1 and not (i == A_TOKEN and a.count[i] == 0):
                return 1
        if (a.len[A_ALGORITHM] != 16 or memcmp(a.at[A_ALGORITHM], b"AWS4-HMAC-SHA256", 16)
                or not is_lower_hex64(a.at[A_SIGNATURE], a.len[A_SIGNATURE])
                or not 1 <= a.len[A_EXPIRES] <= 6):
            return 1
        expires[0] = digits(a.at[A_EXPIRES], a.len[A_EXPIRES])
        epoch[0] = self.epoch(a.at[A_DATE], a.len[A_DATE])
        if not 1 <= expires[0] <= 604800 or epoch[0] < 0:
            return 1
        now = self.now()
        return now > epoch[0] + expires[0] or epoch[0] - now > self.max_skew

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
        cdef AuthSlots a
        cdef Buf cq, sent, canonical, creq
        cdef const char *date
        cdef const char *cred
        cdef const char *host_s
        cdef Py_ssize_t host_n, cred_n
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
            if (a.len[A_SIGNED_HEADERS] != 4 or memcmp(a.at[A_SIGNED_HEADERS], b"host", 4)
                    or self.presigned_window(&a, &epoch, &expires)):
                return None
            date = a.at[A_DATE]
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

# Canonical query strings and the presigning parameters (task 1, CanonicalQueryString).
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/query.py.

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


def canonical_query(str query not None):
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


def split_auth_query(str query not None):
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

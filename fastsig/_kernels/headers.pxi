# Canonical headers and the signed-headers list (task 1, CanonicalHeaders, SignedHeaders).
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/headers.py.

DEF OURS = 1        # added by the signer, value already canonical
DEF EXCLUDED = 2    # sent, not signed
DEF IS_HOST = 4
DEF IS_CONTENT = 8
DEF JOINED = 16     # first of a repeated group (in sorted order): carries the joined value
DEF NOT_FIRST = 32  # a later member of a repeated group
DEF IS_AUTH = 64    # Authorization
DEF IS_DATE = 128   # X-Amz-Date
DEF IS_TOKEN = 256  # X-Amz-Security-Token
DEF ODD_VALUE = 512  # a value no signer signs as sent (non-ASCII, a control, a fold); hs.lax only
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
    bint lax              # the verifier's: odd values flagged (ODD_VALUE), not refused; nothing
                          # is sent, so repeated headers get no joined value
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
    hs.lax = False
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
    return hs_take_value(hs, h, s, n, name, value, apply_owned, content_owned, excluded)

cdef int hs_take_value(HeaderSet *hs, Hdr *h, const char *s, Py_ssize_t n, name, value,
                       bint apply_owned, bint content_owned, bytes excluded) except -1:
    """The rest of hs_take once the name is in hs.names: the value ``s``, ``n`` checked.
    With hs.lax, an odd value of a header other than Host, Authorization, X-Amz-Date, the
    token and x-amz-content-sha256 is flagged instead: the verifier takes it only when the
    header is not signed, as the general path takes it whatever its value."""
    cdef bint owned
    cdef bint odd = not fs_header_value_ok(s, n)
    if odd and not hs.lax:
        return 1
    h.value = s
    h.value_len = n
    h.name_obj = <PyObject *>name
    h.value_obj = <PyObject *>value
    s = hs.names.p + h.name_off
    owned = is_owned(h, s, content_owned) and apply_owned
    if odd:
        if h.flags & (IS_HOST | IS_AUTH | IS_DATE | IS_TOKEN | IS_CONTENT):
            return 1
        h.flags |= ODD_VALUE
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
    (JOINED on the first in sorted order, holding the value to send; NOT_FIRST on the rest),
    unless hs.lax: a verifier sends nothing."""
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
            if j - i > 1 and not hs.lax:
                # repeated: sent as one header, canonical values joined with ","
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


cdef int hs_collect_environ(HeaderSet *hs, dict environ) except -1:
    """hs_collect of the headers wsgi_headers finds in a WSGI environ, read in place: no str
    is made for a name (``HTTP_X_AMZ_DATE`` is lowercased into x-amz-date as it is copied).
    The caller holds the environ and runs no Python code until it is done with the values.
    Returns 1 for the general path to judge (a non-str key or value, a bad name or value)."""
    cdef Py_ssize_t pos = 0, i, n
    cdef PyObject *key
    cdef PyObject *value
    cdef const char *k
    cdef const char *s
    cdef char *lowered
    cdef char c
    cdef Hdr *h
    while PyDict_Next(environ, &pos, &key, &value):
        if type(<object>key) is not str or not PyUnicode_IS_ASCII(<object>key):
            return 1
        k = <const char *>PyUnicode_DATA(<object>key)
        n = PyUnicode_GET_LENGTH(<object>key)
        if n >= 5 and memcmp(k, b"HTTP_", 5) == 0:
            k += 5
            n -= 5
            if n == 0:
                return 1
        elif (n == 12 and memcmp(k, b"CONTENT_TYPE", 12) == 0) or \
                (n == 14 and memcmp(k, b"CONTENT_LENGTH", 14) == 0):
            if type(<object>value) is not str:
                return 1
            if PyUnicode_GET_LENGTH(<object>value) == 0:
                continue  # wsgi_headers leaves an empty one out
        else:
            continue
        if type(<object>value) is not str:
            return 1
        h = hs_add(hs)
        h.name_off = hs.names.n
        h.name_len = n
        buf_reserve(&hs.names, n)
        lowered = hs.names.p + hs.names.n
        for i in range(n):
            c = b'-' if k[i] == b'_' else TOKEN_LOWER[<uint8_t>k[i]]
            if c == 0:
                return 1
            lowered[i] = c
        hs.names.n += n
        s = PyUnicode_AsUTF8AndSize(<object>value, &n)
        if hs_take_value(hs, h, s, n, <object>key, <object>value, False, False, b""):
            return 1
    return 0


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

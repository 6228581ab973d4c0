# The request time: epoch seconds of a caller's timestamp, and of an X-Amz-Date.
# Included by fastsig/_speedups.pyx; its pure twin is fastsig/_kernels/timestamp.py.

cdef extern from "clock.h" nogil:
    double fs_wall_time()

# -- the request time -----------------------------------------------------------------------

import_datetime()
from ._timestamp import to_epoch_seconds as _to_epoch_seconds

cdef object _UTC = _datetime.timezone.utc


def epoch_seconds(timestamp):
    """Whole seconds since the epoch of a request time. What callers pass most (a naive or
    UTC ``datetime`` after 1970, an ``int`` or ``float`` epoch) is read here; anything else
    goes to fastsig._timestamp.to_epoch_seconds, the one rule, which also raises the errors."""
    cdef long long secs = quick_epoch(timestamp)
    return secs if secs >= 0 else _to_epoch_seconds(timestamp)


cdef long long quick_epoch(timestamp) except -2:
    """epoch_seconds of what callers pass most (see there), read without a call; -1 for
    anything else."""
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
    return -1


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

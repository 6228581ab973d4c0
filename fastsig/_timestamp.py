"""The request time: whatever the caller passes, turned into epoch seconds and X-Amz-Date."""

from __future__ import annotations

import datetime
import re
import time
from typing import Union

from ._errors import InvalidRequestError

Timestamp = Union[datetime.datetime, int, float, str]

_ISO8601 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?"
)
_AMZ_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")


def to_epoch_seconds(timestamp: Timestamp | None) -> int:
    """Whole seconds since the epoch; SigV4 dates have one-second resolution."""
    if timestamp is None:
        return int(time.time())
    if isinstance(timestamp, datetime.datetime):
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=datetime.timezone.utc)
        return int(timestamp.timestamp() // 1)
    if isinstance(timestamp, bool):
        raise InvalidRequestError("timestamp must be a datetime, epoch seconds or YYYYMMDDTHHMMSSZ")
    if isinstance(timestamp, (int, float)):
        if timestamp != timestamp or not 0 <= timestamp < 253402300800:  # NaN, or past 9999
            raise InvalidRequestError("timestamp is out of range")
        return int(timestamp // 1)
    if isinstance(timestamp, str):
        epoch = parse_amz_date(timestamp)
        if epoch is not None:
            return epoch
        raise InvalidRequestError(f"timestamp {timestamp!r} is not of the form YYYYMMDDTHHMMSSZ")
    raise InvalidRequestError("timestamp must be a datetime, epoch seconds or YYYYMMDDTHHMMSSZ")


def parse_amz_date(text: str) -> "int | None":
    """Epoch seconds of a valid YYYYMMDDTHHMMSSZ (a real date and time), else None."""
    match = _AMZ_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        date = datetime.date(year, month, day)
    except ValueError:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return (date.toordinal() - 719163) * 86400 + hour * 3600 + minute * 60 + second


def amz_date(epoch_seconds: int) -> str:
    """The X-Amz-Date form of a time: 20150830T123600Z."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch_seconds))


def parse_iso8601(text: str) -> "datetime.datetime | None":
    """An aware datetime for the ISO 8601 times that credential sources write
    (``2026-11-23T12:00:00Z``, with or without fractions or an offset; no offset means UTC),
    or None. Python 3.9's ``fromisoformat`` takes neither ``Z`` nor every fraction length."""
    match = _ISO8601.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = map(int, match.groups()[:6])
    fraction, _, sign, offset_hours, offset_minutes = match.groups()[6:]
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    zone = datetime.timezone.utc
    if sign:
        offset = datetime.timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        if offset >= datetime.timedelta(hours=24):
            return None
        zone = datetime.timezone(offset if sign == "+" else -offset)
    try:
        return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except ValueError:
        return None

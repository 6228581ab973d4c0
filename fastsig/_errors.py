"""The public exception and warning hierarchy.

Messages name the input that was wrong (a header name, a URL part, a setting) but never a
secret key, a session token or a header value, so they are safe to log.
"""

from __future__ import annotations


class FastsigError(Exception):
    """Base class of every exception fastsig raises on purpose."""


class SigningError(FastsigError, ValueError):
    """A request could not be signed because an input is missing or malformed."""


class CredentialsError(SigningError):
    """Credentials are missing or malformed."""


class ConfigurationError(SigningError):
    """A signer setting (region, service, an option) is invalid."""


class InvalidURLError(SigningError):
    """The URL has no scheme or host, an invalid port, control characters, or bad escapes."""


class InvalidHeaderError(SigningError):
    """A header name is not an HTTP token, or a header value has forbidden characters."""


class InvalidRequestError(SigningError):
    """The method, timestamp, expiry or another request-level input is invalid."""


class PayloadError(SigningError):
    """The body cannot be read or hashed, or ``payload_hash`` is not a valid value."""


class FastsigWarning(UserWarning):
    """Base class of fastsig's warnings."""


class ExpiringCredentialsWarning(FastsigWarning):
    """A presigned URL would outlive the temporary credentials that signed it."""

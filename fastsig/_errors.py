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


class NoCredentialsError(CredentialsError):
    """A credentials provider found nothing to offer (its variables unset, its file absent,
    its endpoint unreachable); the default chain then asks the next one."""


class ConfigurationError(SigningError):
    """A signer setting (region, service, an option) is invalid."""


class InvalidURLError(SigningError):
    """The URL has no scheme or host, an invalid port, control characters, or bad escapes."""


class InvalidHeaderError(SigningError):
    """A header name is not an HTTP token, or a header value has forbidden characters."""


class InvalidRequestError(SigningError):
    """The method, timestamp, expiry or another request-level input is invalid."""


class InvalidBucketNameError(InvalidRequestError):
    """A bucket name that S3 would refuse, or that would change the structure of the URL
    built from it (``/``, ``?``, ``#``, ``%``, spaces...). No URL is built from it."""

    code = "InvalidBucketName"


class PayloadError(SigningError):
    """The body cannot be read or hashed, or ``payload_hash`` is not a valid value."""


class RedirectRefusedError(FastsigError):
    """An HTTP client integration would not follow a redirect: the new location is outside
    the redirect policy, a streamed body cannot be sent again, there were too many redirects,
    or the client itself followed a redirect that fastsig had signed for the old target."""


class FastsigWarning(UserWarning):
    """Base class of fastsig's warnings."""


class ExpiringCredentialsWarning(FastsigWarning):
    """A presigned URL would outlive the temporary credentials that signed it."""


class VerificationError(FastsigError):
    """An inbound request failed verification.

    ``code`` is the AWS error code a client of the real service would get and ``status`` the
    HTTP status that goes with it; the message says what was wrong, never a secret, a session
    token or a header value."""

    code = "AccessDenied"
    status = 403

    def __init__(self, message: str, code: "str | None" = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.code))


class MissingAuthenticationError(VerificationError):
    """The request carries neither an Authorization header nor a presigned query."""

    code = "MissingAuthenticationToken"


class MalformedAuthorizationError(VerificationError):
    """The Authorization header or the presigning parameters are malformed or incomplete
    (missing X-Amz-Date, a repeated parameter, an unknown algorithm, ``host`` not signed...)."""

    code = "IncompleteSignature"
    status = 400


class MalformedRequestError(VerificationError):
    """The request cannot be canonicalized: a bad escape, a control character, non-UTF-8 text,
    or a payload kind this verifier does not accept."""

    code = "InvalidRequest"
    status = 400


class UnknownAccessKeyError(VerificationError):
    """The lookup knows no such access key (``InvalidAccessKeyId`` for S3,
    ``InvalidClientTokenId`` elsewhere)."""

    code = "InvalidClientTokenId"


class InvalidSecurityTokenError(VerificationError):
    """The session token is missing or not the one that belongs to the access key."""

    code = "InvalidClientTokenId"


class SignatureMismatchError(VerificationError):
    """The signature is not the one the request's content and the secret key give."""

    code = "SignatureDoesNotMatch"


class UnsignedHeaderError(VerificationError):
    """An ``x-amz-*`` header was sent but not signed."""

    code = "AccessDenied"


class RequestTimeTooSkewedError(VerificationError):
    """X-Amz-Date is further from the verifier's clock than ``max_skew`` allows."""

    code = "RequestTimeTooSkewed"


class RequestExpiredError(VerificationError):
    """A presigned URL used after X-Amz-Date + X-Amz-Expires."""

    code = "AccessDenied"


class PayloadHashMismatchError(VerificationError):
    """The body does not hash to the signed ``x-amz-content-sha256``."""

    code = "XAmzContentSHA256Mismatch"
    status = 400


class IncompleteBodyError(VerificationError):
    """The body cannot be taken as declared: its size, or its aws-chunked framing."""

    code = "IncompleteBody"
    status = 400


class UnsupportedSigningError(VerificationError):
    """A valid kind of signature that this verifier does not check (yet), such as SigV4a or
    aws-chunked streaming payloads. Refused rather than waved through."""

    code = "NotImplemented"
    status = 501

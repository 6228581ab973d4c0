"""fastsig: fast, exact AWS Signature Version 4 signing.

>>> import fastsig
>>> signer = fastsig.Signer(fastsig.Credentials("AKIDEXAMPLE", "secret"), "us-east-1", "s3")
>>> url = signer.presign("GET", "https://bucket.s3.amazonaws.com/photos/cat.jpg")

``fastsig.backend`` names the signing kernels in use: ``"cython"`` (compiled) or ``"python"``.
"""

from . import sigv4
from ._backend import backend
from ._errors import (
    ConfigurationError,
    CredentialsError,
    ExpiringCredentialsWarning,
    FastsigError,
    FastsigWarning,
    InvalidBucketNameError,
    InvalidHeaderError,
    InvalidRequestError,
    InvalidSecurityTokenError,
    InvalidURLError,
    MalformedAuthorizationError,
    MalformedRequestError,
    MissingAuthenticationError,
    NoCredentialsError,
    PayloadError,
    PayloadHashMismatchError,
    RedirectRefusedError,
    RequestExpiredError,
    RequestTimeTooSkewedError,
    SignatureMismatchError,
    SigningError,
    UnknownAccessKeyError,
    UnsignedHeaderError,
    UnsupportedSigningError,
    VerificationError,
)
from ._http import RetryPolicy
from ._integration import infer_scope
from ._sigv4a import derive_sigv4a_key
from .credentials import Credentials, default_provider
from .signer import DEFAULT_EXCLUDED_HEADERS, S3_SERVICES, SignedRequest, Signer
from .verifier import VerifiedRequest, Verifier

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "Credentials",
    "CredentialsError",
    "DEFAULT_EXCLUDED_HEADERS",
    "ExpiringCredentialsWarning",
    "FastsigError",
    "FastsigWarning",
    "InvalidBucketNameError",
    "InvalidHeaderError",
    "InvalidRequestError",
    "InvalidSecurityTokenError",
    "InvalidURLError",
    "MalformedAuthorizationError",
    "MalformedRequestError",
    "MissingAuthenticationError",
    "NoCredentialsError",
    "PayloadError",
    "PayloadHashMismatchError",
    "RedirectRefusedError",
    "RequestExpiredError",
    "RequestTimeTooSkewedError",
    "RetryPolicy",
    "S3_SERVICES",
    "SignatureMismatchError",
    "SignedRequest",
    "Signer",
    "SigningError",
    "UnknownAccessKeyError",
    "UnsignedHeaderError",
    "UnsupportedSigningError",
    "VerificationError",
    "VerifiedRequest",
    "Verifier",
    "backend",
    "default_provider",
    "derive_sigv4a_key",
    "infer_scope",
    "sigv4",
]

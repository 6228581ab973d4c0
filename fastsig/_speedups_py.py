"""The signing kernels in pure Python: the reference implementation, and the twin of the
compiled ``_speedups`` (``_speedups.pyx``). Both define the same names with the same behaviour,
byte for byte, including which exception each bad input raises.

Each spec step lives in ``fastsig/_kernels/<step>.py`` beside its compiled ``<step>.pxi``; this
module gathers them into the one namespace ``fastsig._backend`` hands out. Nothing outside
``fastsig._backend`` (and the compiled core, for its fallbacks) imports it directly.
"""

from __future__ import annotations

from ._errors import InvalidRequestError as InvalidRequestError
from ._errors import SigningError as SigningError
from ._kernels.arrow import (
    ArrowUrlArray as ArrowUrlArray,
)
from ._kernels.arrow import (
    ArrowUrls as ArrowUrls,
)
from ._kernels.arrow import (
    presign_arrow as presign_arrow,
)
from ._kernels.hashing import (
    ALGORITHM as ALGORITHM,
)
from ._kernels.hashing import (
    EMPTY_SHA256 as EMPTY_SHA256,
)
from ._kernels.hashing import (
    UNSIGNED_PAYLOAD as UNSIGNED_PAYLOAD,
)
from ._kernels.hashing import (
    Sha256 as Sha256,
)
from ._kernels.hashing import (
    SigningKey as SigningKey,
)
from ._kernels.hashing import (
    crc32c as crc32c,
)
from ._kernels.hashing import (
    crc64nvme as crc64nvme,
)
from ._kernels.hashing import (
    derive_signing_key as derive_signing_key,
)
from ._kernels.hashing import (
    hmac_sha256 as hmac_sha256,
)
from ._kernels.hashing import (
    select_sha256 as select_sha256,
)
from ._kernels.hashing import (
    sha256_hex as sha256_hex,
)
from ._kernels.hashing import (
    sha256_implementations as sha256_implementations,
)
from ._kernels.headers import (
    canonical_headers as canonical_headers,
)
from ._kernels.headers import (
    wsgi_headers as wsgi_headers,
)
from ._kernels.query import (
    canonical_query as canonical_query,
)
from ._kernels.query import (
    split_auth_query as split_auth_query,
)
from ._kernels.request import (
    _origin as _origin,
)
from ._kernels.request import (
    split_url as split_url,
)
from ._kernels.signing import (
    SignedRequest as SignedRequest,
)
from ._kernels.signing import (
    SigningContext as SigningContext,
)
from ._kernels.timestamp import (
    epoch_seconds as epoch_seconds,
)
from ._kernels.uri import (
    DOUBLE_ENCODED_PATHS as DOUBLE_ENCODED_PATHS,
)
from ._kernels.uri import (
    NORMALIZED_S3_STYLE_PATHS as NORMALIZED_S3_STYLE_PATHS,
)
from ._kernels.uri import (
    S3_PATHS as S3_PATHS,
)
from ._kernels.uri import (
    S3_RECEIVED_PATHS as S3_RECEIVED_PATHS,
)
from ._kernels.uri import (
    SERVICE_PATHS as SERVICE_PATHS,
)
from ._kernels.uri import (
    PathPolicy as PathPolicy,
)
from ._kernels.uri import (
    normalize_path as normalize_path,
)
from ._kernels.uri import (
    uri_encode as uri_encode,
)
from ._kernels.verify import (
    PresignedVerifier as PresignedVerifier,
)
from ._kernels.verify_headers import (
    HeaderVerifier as HeaderVerifier,
)
from ._kernels.wsgi import (
    check_environ as check_environ,
)

# Stub for the compiled kernels. The pure-Python twin, _speedups_py.py, defines the same names
# with the same signatures; fastsig._backend picks one of the two.
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple, Union

from typing_extensions import disjoint_base

from ._speedups_py import SignedRequest as SignedRequest

ALGORITHM: str
EMPTY_SHA256: str
UNSIGNED_PAYLOAD: str

_Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]

def sha256_implementations() -> List[str]: ...
def select_sha256(name: str) -> str: ...

@disjoint_base
class Sha256:
    def __init__(self, data: Any = b"") -> None: ...
    def update(self, data: Any) -> None: ...
    def update_file(self, fileobj: Any, chunk_size: int = 65536) -> int: ...
    def copy(self) -> "Sha256": ...
    def digest(self) -> bytes: ...
    def hexdigest(self) -> str: ...

def sha256_hex(data: Any) -> str: ...
def crc32c(data: Any, crc: int = ...) -> int: ...
def crc64nvme(data: Any, crc: int = ...) -> int: ...
def hmac_sha256(key: bytes, message: bytes) -> bytes: ...

@disjoint_base
class SigningKey:
    def __init__(self, key: bytes) -> None: ...
    def digest(self, message: Any) -> bytes: ...
    def sign(self, message: str) -> str: ...

def epoch_seconds(timestamp: Any) -> int: ...
def derive_signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes: ...
def uri_encode(text: str, keep_slash: bool = False) -> str: ...
def normalize_path(path: str) -> str: ...

@disjoint_base
class PathPolicy:
    double_encode: bool
    normalize: bool
    plus_is_space: bool
    def __init__(self, double_encode: bool, normalize: bool, plus_is_space: bool = False) -> None: ...
    def paths(self, path: str) -> Tuple[str, str]: ...

S3_PATHS: PathPolicy
SERVICE_PATHS: PathPolicy
DOUBLE_ENCODED_PATHS: PathPolicy
NORMALIZED_S3_STYLE_PATHS: PathPolicy
S3_RECEIVED_PATHS: PathPolicy

def canonical_query(query: str) -> str: ...
def wsgi_headers(environ: Dict[str, Any]) -> List[Tuple[str, str]]: ...
def canonical_headers(headers: _Headers, excluded: Iterable[str] = ()) -> Tuple[str, str]: ...
def split_auth_query(query: str) -> Tuple[str, Dict[str, str]]: ...
def _split_sorted_query(query: str) -> Optional[Tuple[str, Dict[str, str]]]: ...
def split_url(url: str) -> Tuple[str, str, str, str]: ...

@disjoint_base
class SigningContext:
    amz_date: str
    scope: str
    credential: str
    def __init__(
        self,
        signing_key: bytes,
        access_key_id: str,
        amz_date: str,
        region: str,
        service: str,
        session_token: Optional[str],
        path_policy: PathPolicy,
        omit_session_token: bool,
        content_sha256_header: bool,
        excluded_headers: FrozenSet[str],
    ) -> None: ...
    def sign(
        self,
        method: str,
        url: str,
        headers: _Headers,
        payload_hash: Optional[str],
        body: Optional[bytes] = None,
    ) -> SignedRequest: ...
    def sign_at(
        self,
        timestamp: Any,
        method: str,
        url: str,
        headers: _Headers,
        payload_hash: Optional[str],
        body: Optional[bytes] = None,
    ) -> Optional[SignedRequest]: ...
    def presign(
        self, method: str, url: str, expires_in: int, headers: _Headers, payload_hash: str
    ) -> str: ...
    def presign_at(
        self, timestamp: Any, method: str, url: str, expires_in: int, headers: _Headers,
        payload_hash: str,
    ) -> Optional[str]: ...
    def presign_many(
        self, method: str, urls: Iterable[str], expires_in: int, payload_hash: str
    ) -> List[str]: ...
    def presign_lines(
        self, method: str, prefix: str, keys: str, expires_in: int, payload_hash: str
    ) -> bytes: ...
    def presign_key_lines(
        self, method: str, prefix: str, keys: Union[str, bytes], expires_in: int,
        payload_hash: str
    ) -> bytes: ...

class PresignedVerifier:
    def __init__(
        self,
        s3_services: FrozenSet[str],
        s3_paths: PathPolicy,
        service_paths: PathPolicy,
        region: Optional[str],
        service: Optional[str],
        max_skew: float,
        clock: Any,
        lookup: Any,
        key_for: Any,
        result_type: type,
        unsigned_payload: Optional[bool] = None,
    ) -> None: ...
    def check(self, method: str, url: str) -> Optional[Tuple[Any, ...]]: ...
    def check_headers(self, method: str, url: str, headers: Any) -> Optional[Tuple[Any, ...]]: ...

@disjoint_base
class HeaderVerifier(PresignedVerifier):
    def check(  # type: ignore[override]
        self, method: str, url: str, headers: _Headers, payload_hash: Optional[str],
        defer: bool = False,
    ) -> Optional[Any]: ...
    def check_scope(self, scope: Any, presigned: PresignedVerifier) -> Optional[Tuple[Any, ...]]: ...

@disjoint_base
class _ASGIEntry:
    app: Any
    _check_scope: Any
    _presigned: Any
    def __call__(self, scope: Any, receive: Any, send: Any) -> Any: ...

def check_environ(
    verifier: HeaderVerifier, presigned: PresignedVerifier, environ: Any, memory_limit: float,
    max_body_size: Optional[float],
) -> Optional[Any]: ...

@disjoint_base
class _WSGIEntry:
    app: Any
    _check_environ: Any
    _header_verifier: Any
    _presigned: Any
    memory_limit: Any
    max_body_size: Any
    def __call__(self, environ: Any, start_response: Any) -> Any: ...

@disjoint_base
class ArrowUrls:
    def __len__(self) -> int: ...
    @property
    def null_count(self) -> int: ...
    @property
    def num_chunks(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...

class ArrowUrlArray(ArrowUrls):
    def __arrow_c_array__(self, requested_schema: Any = None) -> Tuple[Any, Any]: ...

def presign_arrow(
    context: Any,
    method: str,
    prefix: str,
    query: str,
    source: Any,
    expires_in: int,
    payload_hash: str,
) -> ArrowUrls: ...

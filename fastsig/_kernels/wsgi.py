"""The WSGI middleware's entry check: the pure twin of ``_kernels/wsgi.pxi``."""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = ["check_environ"]


def check_environ(verifier: Any, presigned: Any, environ: Dict[str, Any], memory_limit: float,
                  max_body_size: Optional[float]) -> Optional[tuple]:
    """A WSGI request accepted in one call, or None for WSGIMiddleware's general path (which
    also builds every error). The compiled twin accepts, with no body, a request header-signed
    by ``verifier`` or a presigned URL by ``presigned``, and a header-signed body within
    ``memory_limit`` (not over ``max_body_size``), which it reads, hashes and leaves in
    ``wsgi.input`` as a BytesIO. This one, like the pure verifiers' own one-call checks,
    accepts nothing: the pure backend's rules are the general path's, which is as fast in
    Python as a second copy of them would be, and gives the same results by construction."""
    return None

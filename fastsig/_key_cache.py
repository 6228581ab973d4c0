"""The signing-key cache: one HMAC chain per (secret, date, region, service), shared by all
signers in the process.

Entries are keyed by a SHA-256 fingerprint of the secret, so the cache never holds the secret
itself; the derived keys it holds are valid for one day, region and service only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Tuple

from .credentials import Credentials


class SigningKeyCache:
    """A bounded, thread-safe LRU of derived signing keys."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._keys: "OrderedDict[Tuple[bytes, str, str, str], bytes]" = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        credentials: Credentials,
        date: str,
        region: str,
        service: str,
        derive: Callable[[str, str, str, str], bytes],
    ) -> bytes:
        cache_key = (credentials._fingerprint, date, region, service)
        with self._lock:
            key = self._keys.get(cache_key)
            if key is not None:
                self._keys.move_to_end(cache_key)
                return key
        # Derived outside the lock: four HMACs are cheaper than making other threads wait.
        key = derive(credentials.secret_access_key, date, region, service)
        with self._lock:
            self._keys[cache_key] = key
            self._keys.move_to_end(cache_key)
            while len(self._keys) > self.maxsize:
                self._keys.popitem(last=False)
        return key

    def __len__(self) -> int:
        return len(self._keys)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


signing_keys = SigningKeyCache()

"""A short-lived cache of accepted bearer tokens, as kube-apiserver keeps in front of its token
authenticators.

Verifying a service-account JWT (an RSA signature, JSON claims, then the service account, pod
or secret it is bound to) costs far more than serving a small GET. Upstream caches accepted
tokens for 10 s (``TokenSuccessCacheTTL``) and never caches refusals (``TokenFailureCacheTTL``
0); so do we. A token revoked meanwhile (its service account or pod deleted) is therefore
still accepted for at most ``ttl`` seconds, as upstream.

Entries are keyed by a SHA-256 of the token and the audiences asked for, so the token itself
is not kept; the cache holds at most ``max_entries`` (least recently used evicted first).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["SUCCESS_TTL", "TokenCache"]

#: Seconds an accepted token is remembered (upstream ``TokenSuccessCacheTTL``).
SUCCESS_TTL = 10.0

T = TypeVar("T")


class TokenCache(Generic[T]):
    """Accepted-token results by (token, audiences), each valid for ``ttl`` seconds of ``clock``."""

    def __init__(self, clock: Callable[[], float], *, ttl: float = SUCCESS_TTL,
                 max_entries: int = 4096) -> None:
        self._clock = clock
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[float, T]] = OrderedDict()

    @staticmethod
    def _key(token: str, audiences: Sequence[str] | None) -> bytes:
        digest = hashlib.sha256(token.encode())
        if audiences is not None:
            digest.update(b"\0" + "\0".join(audiences).encode())
        return digest.digest()

    def get(self, token: str, audiences: Sequence[str] | None) -> T | None:
        """The remembered result, or None when absent or expired."""
        key = self._key(token, audiences)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, token: str, audiences: Sequence[str] | None, value: T) -> None:
        """Remember an accepted token's result for ``ttl`` seconds."""
        if self.ttl <= 0:
            return
        key = self._key(token, audiences)
        self._entries[key] = (self._clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

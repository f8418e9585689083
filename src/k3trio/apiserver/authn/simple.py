"""The two simplest authenticators: verified client certificates and static tokens.

- :class:`CertificateAuthenticator`: the TLS layer has already verified the client
  certificate against the client CA and put its identity (user = CN, groups = O) in the
  request's peer; this turns it into a ``UserInfo``.
- :class:`StaticTokenAuthenticator`: a fixed token -> user table for the server's own
  credentials (as kube-apiserver's ``--token-auth-file``). Tokens are compared in constant
  time; an unknown token is "not mine" so other token authenticators may still accept it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from ..interfaces import UserInfo
from .base import TokenResult, authenticate_bearer, with_authenticated_group

__all__ = ["CertificateAuthenticator", "StaticTokenAuthenticator"]


class CertificateAuthenticator:
    """``peer`` (a ``k3trio.pki.ClientIdentity`` or None) -> user CN in groups O."""

    async def authenticate(self, headers: Mapping[str, str], peer: Any | None) -> UserInfo | None:
        if peer is None:
            return None
        name = getattr(peer, "user", "")
        if not name:
            return None
        groups = tuple(getattr(peer, "groups", ()) or ())
        return with_authenticated_group(UserInfo(name=name, groups=groups))


class StaticTokenAuthenticator:
    """Bearer tokens from a fixed table.

    Args:
        tokens: token -> user. Groups given here are kept; ``system:authenticated`` is added.
    """

    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self._tokens = [(token.encode(), user) for token, user in tokens.items() if token]

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResult | None:
        given = token.encode()
        found: UserInfo | None = None
        for candidate, user in self._tokens:
            # Compare against every entry so timing does not reveal which one matched.
            if hmac.compare_digest(candidate, given):
                found = user
        if found is None:
            return None
        return TokenResult(with_authenticated_group(found), tuple(audiences or ()))

    async def authenticate(self, headers: Mapping[str, str], peer: Any | None) -> UserInfo | None:
        return await authenticate_bearer(self, headers)

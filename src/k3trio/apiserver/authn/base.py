"""Shared pieces of the authenticators: token results, token errors, header parsing.

A *token authenticator* answers ``authenticate_token(token, audiences)`` with

- a :class:`TokenResult` when it recognises and accepts the token,
- ``None`` when the token is not one of its kind (the next authenticator may try), or
- raises :class:`InvalidToken` when the token is its kind but not acceptable (expired,
  bad signature, deleted service account...). The message is what TokenReview reports in
  ``status.error``; requests only ever see a plain 401 ``Unauthorized``.

Every authenticator also implements the request-level ``Authenticator`` protocol of
``interfaces.py`` (``authenticate(headers, peer)``); token authenticators do it through
:func:`bearer_token`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ...api.errors import Unauthorized
from ..interfaces import UserInfo

__all__ = [
    "ALL_AUTHENTICATED",
    "authenticate_bearer",
    "InvalidToken",
    "TokenAuthenticator",
    "TokenResult",
    "bearer_token",
    "header",
    "with_authenticated_group",
]

ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"


class InvalidToken(Exception):
    """A credential of an authenticator's kind that it refuses; ``str()`` says why."""


@dataclass(frozen=True)
class TokenResult:
    """An accepted token: who it is, and which of the requested audiences it is valid for."""

    user: UserInfo
    audiences: tuple[str, ...] = ()


class TokenAuthenticator(Protocol):
    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResult | None: ...


def with_authenticated_group(user: UserInfo) -> UserInfo:
    """Add ``system:authenticated`` unless present or the user is anonymous (upstream's
    ``AuthenticatedGroupAdder``)."""
    if user.name == ANONYMOUS_USER or ALL_AUTHENTICATED in user.groups:
        return user
    if ALL_UNAUTHENTICATED in user.groups:
        return user
    return replace(user, groups=(*user.groups, ALL_AUTHENTICATED))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value looked up case-insensitively (ASGI gives lower-case names)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None when there is no bearer header.

    Raises:
        Unauthorized: a ``Bearer`` header with an empty token (upstream's
            "invalid bearer token").
    """
    auth = header(headers, "authorization")
    if not auth:
        return None
    parts = auth.strip().split(" ")
    if len(parts) < 2 or parts[0].lower() != "bearer":
        return None
    token = parts[1]
    if not token:
        raise Unauthorized()
    return token


async def authenticate_bearer(auth: TokenAuthenticator, headers: Mapping[str, str]) -> UserInfo | None:
    """``Authenticator.authenticate`` for a token authenticator used on its own.

    Raises:
        Unauthorized: the authenticator refused the bearer token.
    """
    token = bearer_token(headers)
    if token is None:
        return None
    try:
        result = await auth.authenticate_token(token)
    except InvalidToken:
        raise Unauthorized() from None
    return result.user if result else None

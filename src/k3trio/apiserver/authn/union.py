"""The request authenticator: client certificate first, then bearer tokens, then anonymous.

Rules (kube-apiserver's authentication chain):

- A verified client certificate wins (it is checked before any header).
- A bearer token is offered to every token authenticator in order; the first to accept it
  wins. If none accepts it the request fails with 401 ``Unauthorized``, even when anonymous
  requests are allowed: a bad credential is never downgraded to anonymous. The reasons are
  kept for TokenReview (aggregated like ``utilerrors.Aggregate``).
- A request with no credentials is ``system:anonymous`` in ``system:unauthenticated`` when
  ``anonymous`` is enabled, otherwise 401 (K3s runs with ``--anonymous-auth=false``).
- Every authenticated user gets ``system:authenticated``.
- Accepted tokens are remembered for 10 s (``tokencache``), refusals never, as upstream.
- With an ``authorizer``, ``authenticate_request`` then applies ``Impersonate-*`` headers
  (see ``impersonation``): the result is the user the request acts as.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from ...api.errors import Unauthorized, aggregate
from ..interfaces import ANONYMOUS, Authenticator, Authorizer, UserInfo
from .base import InvalidToken, TokenAuthenticator, TokenResult, bearer_token, with_authenticated_group
from .impersonation import apply_impersonation
from .tokencache import SUCCESS_TTL, TokenCache

__all__ = ["UnionAuthenticator", "authenticate_request"]

INVALID_BEARER_TOKEN = "invalid bearer token"


class UnionAuthenticator:
    """Tries ``authenticators`` in order.

    Args:
        authenticators: request authenticators (``CertificateAuthenticator``) and token
            authenticators (anything with ``authenticate_token``), in the order to try.
        anonymous: allow requests without credentials as ``system:anonymous``.
        authorizer: when given, ``authenticate_request`` honours impersonation headers,
            authorizing each impersonated part with it.
        token_ttl: seconds an accepted token is remembered (0: never).
        clock: the clock of ``token_ttl`` (Trio's by default).
    """

    def __init__(
        self,
        authenticators: Sequence[Any],
        *,
        anonymous: bool = False,
        authorizer: Authorizer | None = None,
        token_ttl: float = SUCCESS_TTL,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._request: list[Authenticator] = []
        self._token: list[TokenAuthenticator] = []
        for auth in authenticators:
            if hasattr(auth, "authenticate_token"):
                self._token.append(auth)
            else:
                self._request.append(auth)
        self.anonymous = anonymous
        self.authorizer = authorizer
        self._accepted: TokenCache[TokenResult] = TokenCache(clock, ttl=token_ttl)

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResult | None:
        """Offer ``token`` to every token authenticator.

        Returns None when no authenticator knows the token.

        Raises:
            InvalidToken: no authenticator accepted it and at least one refused it; the
                message aggregates the refusals.
        """
        cached = self._accepted.get(token, audiences)
        if cached is not None:
            return cached
        errors: list[str] = []
        for auth in self._token:
            try:
                result = await auth.authenticate_token(token, audiences)
            except InvalidToken as exc:
                errors.append(str(exc))
                continue
            if result is not None:
                accepted = TokenResult(with_authenticated_group(result.user), result.audiences)
                self._accepted.put(token, audiences, accepted)
                return accepted
        if errors:
            raise InvalidToken(aggregate(errors))
        return None

    async def authenticate(self, headers: Mapping[str, str], peer: Any | None) -> UserInfo | None:
        """The user, or None when the request carries no credentials at all.

        Raises:
            Unauthorized: credentials are present but none is accepted.
        """
        for auth in self._request:
            user = await auth.authenticate(headers, peer)
            if user is not None:
                return with_authenticated_group(user)
        token = bearer_token(headers)
        if token is None:
            return None
        try:
            result = await self.authenticate_token(token)
        except InvalidToken:
            raise Unauthorized() from None
        if result is None:
            raise Unauthorized()
        return result.user

    async def authenticate_request(
        self,
        headers: Mapping[str, str],
        peer: Any | None,
        *,
        raw_headers: Sequence[tuple[str, str]] | None = None,
    ) -> UserInfo:
        """The user a request acts as: authenticated (or anonymous when allowed), then
        impersonated when it asks to be and an authorizer is configured.

        Args:
            headers: header name -> value (names in any case).
            peer: the verified client-certificate identity, or None.
            raw_headers: the (name, value) pairs, so repeated ``Impersonate-Group`` headers
                all count; defaults to ``headers``.

        Raises:
            Unauthorized: bad credentials, or no credentials with anonymous disabled.
            Forbidden: impersonation the requester is not allowed.
            BadRequest: impersonation headers without ``Impersonate-User``.
        """
        user = await self.authenticate(headers, peer)
        if user is None:
            if not self.anonymous:
                raise Unauthorized()
            user = ANONYMOUS
        if self.authorizer is not None:
            user = apply_impersonation(user, raw_headers if raw_headers is not None else headers, self.authorizer)
        return user


async def authenticate_request(
    authenticator: UnionAuthenticator, headers: Mapping[str, str], peer: Any | None
) -> UserInfo:
    """Convenience for the HTTP layer: ``authenticator.authenticate_request(headers, peer)``."""
    return await authenticator.authenticate_request(headers, peer)

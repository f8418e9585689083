"""Bootstrap tokens (``abcdef.0123456789abcdef``) checked against kube-system secrets.

A token ``<id>.<secret>`` is accepted when the secret ``kube-system/bootstrap-token-<id>``
exists, is not being deleted, has type ``bootstrap.kubernetes.io/token``, its ``token-id``
and ``token-secret`` match (constant-time), it has not expired (``expiration``, RFC 3339)
and ``usage-bootstrap-authentication`` is ``"true"``. The user is
``system:bootstrap:<id>`` in ``system:bootstrappers`` plus the ``auth-extra-groups``
(each must start with ``system:bootstrappers:``).

As upstream, every refusal is "not recognised" rather than an error: a bootstrap-shaped
token might still be some other authenticator's token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...api.meta import parse_time
from ..interfaces import ObjectSource, UserInfo
from .base import TokenResult, authenticate_bearer, with_authenticated_group

__all__ = ["BootstrapTokenAuthenticator", "BOOTSTRAP_TOKEN_SECRET_TYPE"]

log = logging.getLogger(__name__)

BOOTSTRAP_TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token"
BOOTSTRAP_SECRET_PREFIX = "bootstrap-token-"
BOOTSTRAP_USER_PREFIX = "system:bootstrap:"
BOOTSTRAPPERS_GROUP = "system:bootstrappers"
_TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_GROUP = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


def _secret_data(secret: Mapping[str, Any], key: str) -> str | None:
    data = secret.get("data") or {}
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class BootstrapTokenAuthenticator:
    """Bootstrap tokens from ``kube-system`` secrets read through ``objects``."""

    def __init__(self, objects: ObjectSource, *, clock: Callable[[], float] = time.time) -> None:
        self._objects = objects
        self._clock = clock

    async def authenticate_token(
        self, token: str, audiences: Sequence[str] | None = None
    ) -> TokenResult | None:
        user = self._check(token)
        if user is None:
            return None
        return TokenResult(with_authenticated_group(user), tuple(audiences or ()))

    def _check(self, token: str) -> UserInfo | None:
        m = _TOKEN.match(token)
        if not m:
            return None
        token_id, token_secret = m.group(1), m.group(2)
        name = BOOTSTRAP_SECRET_PREFIX + token_id
        secret = self._objects.get("secrets", "kube-system", name)
        if secret is None:
            log.debug("no bootstrap token secret kube-system/%s", name)
            return None
        if (secret.get("metadata") or {}).get("deletionTimestamp"):
            return None
        if secret.get("type") != BOOTSTRAP_TOKEN_SECRET_TYPE or not secret.get("data"):
            return None
        stored_secret = _secret_data(secret, "token-secret") or ""
        if not hmac.compare_digest(stored_secret.encode(), token_secret.encode()):
            return None
        if _secret_data(secret, "token-id") != token_id:
            return None
        expiration = _secret_data(secret, "expiration")
        if expiration:
            try:
                expires = parse_time(expiration)
            except ValueError:
                return None
            if datetime.fromtimestamp(self._clock(), UTC) > expires:
                return None
        if _secret_data(secret, "usage-bootstrap-authentication") != "true":
            return None
        groups = [BOOTSTRAPPERS_GROUP]
        extra = _secret_data(secret, "auth-extra-groups") or ""
        for group in (g.strip() for g in extra.split(",")):
            if not group:
                continue
            if not _GROUP.match(group):
                return None
            if group not in groups:
                groups.append(group)
        return UserInfo(name=BOOTSTRAP_USER_PREFIX + token_id, groups=tuple(groups))

    async def authenticate(self, headers: Mapping[str, str], peer: Any | None) -> UserInfo | None:
        return await authenticate_bearer(self, headers)

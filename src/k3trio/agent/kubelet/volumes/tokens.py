"""Bound service-account tokens for projected volumes, through the TokenRequest API.

``TokenManager.token`` POSTs ``serviceaccounts/<sa>/token`` with the audience, the
expiration and a ``boundObjectRef`` naming the pod, and keeps the answer. A kept token is
used until 80 % of its lifetime has passed (or 24 hours, whichever comes first), then a
fresh one is requested; the volume is rewritten on the pod's next sync, so a container that
re-reads its token file always has a valid one. Tokens are forgotten with their pod.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ....api.meta import parse_time
from ....client import Client
from .sources import SERVICEACCOUNTS

__all__ = ["REFRESH_FRACTION", "TokenManager"]

REFRESH_FRACTION = 0.8
MAX_AGE = timedelta(hours=24)


@attrs.frozen
class _Token:
    token: str
    issued: datetime
    expires: datetime

    def fresh(self, now: datetime) -> bool:
        lifetime = self.expires - self.issued
        refresh_at = self.issued + min(lifetime * REFRESH_FRACTION, MAX_AGE)
        return now < refresh_at


class TokenManager:
    """Requests and keeps pod-bound tokens (see module doc)."""

    def __init__(self, client: Client,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client = client
        self._wall = wall_clock
        self._tokens: dict[tuple[str, ...], _Token] = {}

    async def token(self, *, namespace: str, service_account: str, pod_name: str,
                    pod_uid: str, audience: str = "", expiration_seconds: int = 3600) -> str:
        """A valid token for the pod's service account.

        Raises:
            ApiError, ClientError: the TokenRequest failed.
        """
        key = (pod_uid, namespace, service_account, audience, str(expiration_seconds))
        now = self._wall()
        kept = self._tokens.get(key)
        if kept is not None and kept.fresh(now):
            return kept.token
        body: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {
                "audiences": [audience] if audience else [],
                "expirationSeconds": int(expiration_seconds),
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod_name,
                                   "uid": pod_uid},
            },
        }
        answer = await self.client.create(SERVICEACCOUNTS, body, namespace=namespace,
                                          name=service_account, subresource="token")
        status = answer.get("status") or {}
        expires = status.get("expirationTimestamp")
        exp = parse_time(str(expires)) if expires else now + timedelta(
            seconds=expiration_seconds)
        token = _Token(str(status.get("token") or ""), now, exp)
        self._tokens[key] = token
        return token.token

    def forget(self, pod_uid: str) -> None:
        for key in [k for k in self._tokens if k[0] == pod_uid]:
            del self._tokens[key]

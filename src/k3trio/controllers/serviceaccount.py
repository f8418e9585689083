"""The service-account controller: a ``default`` ServiceAccount in every active namespace.

A namespace being created or updated, or its ``default`` account being deleted, queues the
namespace; ``sync`` creates the account when the namespace exists, is not terminating and the
account is missing (an ``AlreadyExists`` race is fine). Accounts are never updated: users may
change them freely.
"""

from __future__ import annotations

from typing import Any

from ..client import AlreadyExists, Forbidden, NotFound
from .base import Controller, ControllerContext, meta_of
from .handles import NAMESPACES, SERVICEACCOUNTS

__all__ = ["DEFAULT_ACCOUNTS", "ServiceAccountsController"]

DEFAULT_ACCOUNTS = ("default",)


class ServiceAccountsController(Controller):
    name = "serviceaccount"
    workers = 5

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.namespaces = self.informer(NAMESPACES, on_add=self.enqueue,
                                        on_update=lambda o, n: self.enqueue(n))
        self.accounts = self.informer(SERVICEACCOUNTS, on_delete=self._account_deleted)

    def _account_deleted(self, obj: Any) -> None:
        sa = getattr(obj, "obj", obj)
        if meta_of(sa).get("name") in DEFAULT_ACCOUNTS:
            self.enqueue(str(meta_of(sa).get("namespace")))

    async def sync(self, key: str) -> None:
        ns = self.namespaces.lister.get(key)
        if ns is None or meta_of(ns).get("deletionTimestamp") or \
                (ns.get("status") or {}).get("phase") == "Terminating":
            return
        for name in DEFAULT_ACCOUNTS:
            if self.accounts.lister.get(name, key) is not None:
                continue
            try:
                await self.client.create(SERVICEACCOUNTS, {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": key}}, namespace=key)
            except AlreadyExists:
                pass
            except (NotFound, Forbidden) as exc:
                # the namespace went away or started terminating meanwhile
                if "being terminated" in str(exc) or isinstance(exc, NotFound):
                    return
                raise

"""Per-controller identities: a bound token for each controller's kube-system service account.

As kube-controller-manager with ``--use-service-account-credentials``: the manager (acting
as ``system:kube-controller-manager``) makes sure ``kube-system/<account>`` exists, asks for
a one-hour token through ``serviceaccounts/<account>/token`` and gives the controller a
client sending that token, so each controller's writes are authorized by its own
``system:controller:<account>`` role. Tokens live in files in a private temporary
directory; ``refresh_forever`` rewrites them at 80 % of their lifetime and the clients re-read
them (``ClientConfig.token_file``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import trio

from ..client import AlreadyExists, Client
from ..client.errors import ClientError
from ..client.resource import Resource

__all__ = ["ServiceAccountTokens"]

log = logging.getLogger("k3trio.controllers.credentials")

SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount", True,
                           subresources=("token",))
NAMESPACE = "kube-system"
TOKEN_SECONDS = 3600


class ServiceAccountTokens:
    """Mints and refreshes controller tokens with the manager's ``client``."""

    def __init__(self, client: Client, *, expiration: int = TOKEN_SECONDS) -> None:
        self.client = client
        self.expiration = expiration
        self._dir = Path(tempfile.mkdtemp(prefix="k3trio-controllers-"))
        os.chmod(self._dir, 0o700)
        self._accounts: list[str] = []

    async def _mint(self, account: str) -> None:
        try:
            await self.client.create(SERVICEACCOUNTS, {
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": NAMESPACE}}, namespace=NAMESPACE)
        except AlreadyExists:
            pass
        review = await self.client.create(
            SERVICEACCOUNTS,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": self.expiration}},
            namespace=NAMESPACE, name=account, subresource="token")
        path = self._dir / account
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(review["status"]["token"]))
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    async def client_for(self, account: str) -> Client:
        """A client acting as ``system:serviceaccount:kube-system:<account>``.

        Raises:
            ClientError: the account or its token could not be created.
        """
        await self._mint(account)
        self._accounts.append(account)
        config = self.client.config.evolve(
            token=None, token_file=self._dir / account, client_cert_pem=None,
            client_key_pem=None, component=f"kube-controller-manager/{account}")
        return Client(config)

    async def refresh_forever(self) -> None:
        """Re-mint every token at 80 % of its lifetime until cancelled; then clean up."""
        try:
            while True:
                await trio.sleep(self.expiration * 0.8)
                for account in list(self._accounts):
                    try:
                        await self._mint(account)
                    except ClientError as exc:
                        log.warning("refreshing the token of %s failed: %s", account, exc)
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)

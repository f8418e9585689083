"""ServiceAccount: every pod runs as a service account and gets its API token mounted.

On pod create (mutating, unless the pod is a mirror pod):
- ``spec.serviceAccountName`` defaults to ``default`` (``spec.serviceAccount``, the
  deprecated mirror, is kept equal to it).
- The account must exist: ``error looking up service account <ns>/<name>: serviceaccount
  "<name>" not found`` (403). The ``default`` account is created by a controller right after
  its namespace, so it is looked up a few more times before giving up, as upstream does.
- Unless ``automountServiceAccountToken`` is false (the pod's setting wins over the
  account's), every init container and container without a mount at
  ``/var/run/secrets/kubernetes.io/serviceaccount`` gets a read-only mount of a projected
  ``kube-api-access-<5 random>`` volume (token expiring in 3607s, ``kube-root-ca.crt``'s
  ``ca.crt``, the namespace via the downward API; mode 420). Ephemeral containers are not
  touched, as upstream.
- Without ``imagePullSecrets`` the pod takes the account's.

Validation (create, and the ``ephemeralcontainers`` subresource): mirror pods may not reference
service accounts, secrets, config maps or projected tokens.
"""

from __future__ import annotations

import secrets
from typing import Any

import trio

from k3trio.api.errors import NotFound
from k3trio.apiserver.admission._common import (
    MIRROR_POD_ANNOTATION,
    annotations_of,
    containers,
    forbidden,
    is_core,
)
from k3trio.apiserver.interfaces import AdmissionAttributes, ObjectSource, Operation

DEFAULT_SERVICE_ACCOUNT = "default"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_SECONDS = 3607
# utilrand.String's alphabet: no vowels or look-alike characters.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def token_volume(name: str) -> dict[str, Any]:
    """The projected API-access volume upstream adds."""
    return {
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def should_automount(account: dict[str, Any], pod_spec: dict[str, Any]) -> bool:
    if pod_spec.get("automountServiceAccountToken") is not None:
        return bool(pod_spec["automountServiceAccountToken"])
    if account.get("automountServiceAccountToken") is not None:
        return bool(account["automountServiceAccountToken"])
    return True


class ServiceAccountAdmission:
    """Mutating and validating plugin.

    Args:
        objects: reads ``serviceaccounts``.
        mount_token: upstream's ``MountServiceAccountToken`` (on by default).
        default_attempts: look-ups of the ``default`` account before a 403.
        retry_interval: seconds between those look-ups.
    """

    name = "ServiceAccount"

    def __init__(
        self,
        objects: ObjectSource,
        *,
        mount_token: bool = True,
        default_attempts: int = 10,
        retry_interval: float = 0.15,
    ) -> None:
        self._objects = objects
        self._mount = mount_token
        self._attempts = default_attempts
        self._interval = retry_interval

    def handles(self, attrs: AdmissionAttributes) -> bool:
        if attrs.group != "" or attrs.resource != "pods" or attrs.obj is None:
            return False
        if attrs.operation is Operation.CREATE and attrs.subresource == "":
            return True
        return attrs.operation is Operation.UPDATE and attrs.subresource == "ephemeralcontainers"

    async def _account(self, namespace: str, name: str) -> dict[str, Any] | None:
        attempts = self._attempts if name == DEFAULT_SERVICE_ACCOUNT else 1
        for i in range(attempts):
            found = self._objects.get("serviceaccounts", namespace, name)
            if found is not None:
                return found
            if i + 1 < attempts:
                await trio.sleep(self._interval)
        return None

    async def admit(self, attrs: AdmissionAttributes) -> None:
        if attrs.operation is not Operation.CREATE:
            return
        pod = attrs.obj
        assert pod is not None
        if MIRROR_POD_ANNOTATION in annotations_of(pod):
            return
        spec = pod.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = spec.get("serviceAccount") or DEFAULT_SERVICE_ACCOUNT
        spec["serviceAccount"] = spec["serviceAccountName"]
        sa_name = spec["serviceAccountName"]
        account = await self._account(attrs.namespace, sa_name)
        if account is None:
            raise forbidden(
                attrs,
                f"error looking up service account {attrs.namespace}/{sa_name}: "
                f"{NotFound('serviceaccount', sa_name).message}",
            )
        if self._mount and should_automount(account, spec):
            self._mount_token(spec)
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [
                {"name": ref.get("name", "")} for ref in account["imagePullSecrets"] if isinstance(ref, dict)
            ]

    @staticmethod
    def _mount_token(spec: dict[str, Any]) -> None:
        volumes = spec.get("volumes")
        if not isinstance(volumes, list):
            volumes = []
        existing = next(
            (v.get("name") for v in volumes if isinstance(v, dict) and str(v.get("name", "")).startswith(VOLUME_PREFIX)),
            None,
        )
        names = {v.get("name") for v in volumes if isinstance(v, dict)}
        vol_name = existing
        while vol_name is None or (existing is None and vol_name in names):
            vol_name = VOLUME_PREFIX + random_suffix()
        needs_volume = False
        for _, c in containers(spec):
            mounts = c.get("volumeMounts")
            if not isinstance(mounts, list):
                mounts = []
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": vol_name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH})
            c["volumeMounts"] = mounts
            needs_volume = True
        if needs_volume and existing is None:
            volumes.append(token_volume(vol_name))
            spec["volumes"] = volumes

    async def validate(self, attrs: AdmissionAttributes) -> None:
        pod = attrs.obj
        assert pod is not None
        spec = pod.get("spec") or {}
        if attrs.operation is Operation.UPDATE:
            if MIRROR_POD_ANNOTATION in annotations_of(pod):
                self._check_mirror_containers(attrs, spec, ephemeral_only=True)
            return
        if MIRROR_POD_ANNOTATION not in annotations_of(pod):
            sa_name = spec.get("serviceAccountName")
            if sa_name and self._objects.get("serviceaccounts", attrs.namespace, sa_name) is None:
                raise forbidden(
                    attrs,
                    f"error looking up service account {attrs.namespace}/{sa_name}: "
                    f"{NotFound('serviceaccount', sa_name).message}",
                )
            return
        if spec.get("serviceAccountName"):
            raise forbidden(attrs, "a mirror pod may not reference service accounts")
        for vol in spec.get("volumes") or []:
            if not isinstance(vol, dict):
                continue
            if vol.get("secret") is not None:
                raise forbidden(attrs, f'volume with secret.secretName="{vol["secret"].get("secretName", "")}" is not allowed because mirror pods may not reference secrets')
            if vol.get("configMap") is not None:
                raise forbidden(attrs, f'volume with configMap.name="{vol["configMap"].get("name", "")}" is not allowed because mirror pods may not reference configmaps')
            for src in (vol.get("projected") or {}).get("sources") or []:
                if not isinstance(src, dict):
                    continue
                if src.get("secret") is not None:
                    raise forbidden(attrs, f'volume with secret.name="{src["secret"].get("name", "")}" is not allowed because mirror pods may not reference secrets')
                if src.get("configMap") is not None:
                    raise forbidden(attrs, f'volume with configMap.name="{src["configMap"].get("name", "")}" is not allowed because mirror pods may not reference configmaps')
                if src.get("serviceAccountToken") is not None:
                    raise forbidden(attrs, "a mirror pod may not use ServiceAccountToken volume projections")
        self._check_mirror_containers(attrs, spec, ephemeral_only=False)

    @staticmethod
    def _check_mirror_containers(attrs: AdmissionAttributes, spec: dict[str, Any], *, ephemeral_only: bool) -> None:
        for kind, c in containers(spec, ephemeral=True):
            if ephemeral_only and kind != "ephemeralContainers":
                continue
            for env in c.get("env") or []:
                src = (env or {}).get("valueFrom") or {}
                if src.get("secretKeyRef") is not None:
                    raise forbidden(attrs, f'container "{c.get("name", "")}" with envVar "{env.get("name", "")}" referencing secret.secretName="{src["secretKeyRef"].get("name", "")}" is not allowed because mirror pods may not reference secrets')
                if src.get("configMapKeyRef") is not None:
                    raise forbidden(attrs, f'container "{c.get("name", "")}" with envVar "{env.get("name", "")}" referencing configmap.name="{src["configMapKeyRef"].get("name", "")}" is not allowed because mirror pods may not reference configmaps')
            for ef in c.get("envFrom") or []:
                if (ef or {}).get("secretRef") is not None:
                    raise forbidden(attrs, f'container "{c.get("name", "")}" with envFrom referencing secret.secretName="{ef["secretRef"].get("name", "")}" is not allowed because mirror pods may not reference secrets')
                if (ef or {}).get("configMapRef") is not None:
                    raise forbidden(attrs, f'container "{c.get("name", "")}" with envFrom referencing configmap.name="{ef["configMapRef"].get("name", "")}" is not allowed because mirror pods may not reference configmaps')

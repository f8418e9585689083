"""``projected`` volumes: secrets, configMaps, downward API fields and service-account tokens
in one directory (the API-access volume every pod gets: token, ``ca.crt`` from
``kube-root-ca.crt``, ``namespace``). Memory-backed like secret volumes; written atomically;
tokens come from the ``TokenManager`` and are refreshed at 80 % of their lifetime."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ....client import ApiError, ClientError
from . import configmap, downward, secret
from .atomic import FileProjection
from .base import VolumeContext, VolumeError, file_mode
from .sources import CONFIGMAPS, SECRETS

PLUGIN = "kubernetes.io~projected"


async def payload(ctx: VolumeContext, src: Mapping[str, Any]) -> dict[str, FileProjection]:
    """Every source's files, later sources winning on the same path.

    Raises:
        VolumeError: a required source is missing or a token cannot be had.
    """
    default = src.get("defaultMode")
    out: dict[str, FileProjection] = {}
    meta = ctx.pod.get("metadata") or {}
    for source in src.get("sources") or []:
        if source.get("configMap"):
            s = source["configMap"]
            obj = await ctx.cache.get(CONFIGMAPS, ctx.namespace, str(s.get("name")))
            out.update(configmap.payload(s, obj, default_mode=default, fs_group=ctx.fs_group))
        elif source.get("secret"):
            s = source["secret"]
            obj = await ctx.cache.get(SECRETS, ctx.namespace, str(s.get("name")))
            out.update(configmap.payload(s, obj, default_mode=default, fs_group=ctx.fs_group,
                                         kind="secret",
                                         values=secret.values(obj) if obj is not None else None))
        elif source.get("downwardAPI"):
            out.update(downward.payload(ctx, {"defaultMode": default, **source["downwardAPI"]}))
        elif source.get("serviceAccountToken"):
            s = source["serviceAccountToken"]
            sa = str((ctx.pod.get("spec") or {}).get("serviceAccountName") or "default")
            try:
                token = await ctx.tokens.token(
                    namespace=ctx.namespace, service_account=sa, pod_name=str(meta.get("name")),
                    pod_uid=str(meta.get("uid")), audience=str(s.get("audience") or ""),
                    expiration_seconds=int(s.get("expirationSeconds") or 3600))
            except (ApiError, ClientError) as exc:
                raise VolumeError(f"failed to fetch token: {exc}") from exc
            mode = file_mode(None, default)
            out[str(s.get("path") or "token")] = FileProjection(token.encode(), mode,
                                                                ctx.fs_group)
        elif source.get("clusterTrustBundle"):
            if not source["clusterTrustBundle"].get("optional"):
                raise VolumeError("clusterTrustBundle projections are not supported")
    return out


async def setup(ctx: VolumeContext, volume: Mapping[str, Any], path: Path) -> Path:
    files = await payload(ctx, volume.get("projected") or {})
    secret.prepare(ctx, path)
    configmap.write(path, files, ctx)
    return path

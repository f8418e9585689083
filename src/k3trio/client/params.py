"""Query parameters, headers and bodies of API requests: pure helpers for ``Client``.

Names and encodings follow the API server: ``labelSelector``, ``fieldSelector``, ``limit``,
``continue``, ``resourceVersion``, ``resourceVersionMatch``, ``timeoutSeconds``; write
options ``dryRun=All``, ``fieldManager``, ``fieldValidation``; ``DeleteOptions`` bodies with
``propagationPolicy``, ``gracePeriodSeconds`` and ``preconditions``. Empty values are left
out rather than sent empty.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "PATCH_CONTENT_TYPES",
    "TABLE_ACCEPT",
    "PatchType",
    "Params",
    "delete_options",
    "list_params",
    "set_param",
    "write_params",
]

Params = dict[str, str]
JSON = dict[str, Any]

PatchType = Literal["json", "merge", "strategic", "apply"]
PATCH_CONTENT_TYPES: dict[str, str] = {
    "json": "application/json-patch+json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}
#: Accept header asking for server-side ``Table`` rendering (kubectl get), JSON as fallback.
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
#: Metadata-only lists and watch events (``PartialObjectMetadata``), as metadata informers ask.
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"
METADATA_ACCEPT = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json"


def set_param(params: Params, key: str, value: object) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        params[key] = "true" if value else "false"
    else:
        params[key] = str(value)


def write_params(
    dry_run: bool, field_manager: str | None, field_validation: str | None
) -> Params:
    params: Params = {}
    if dry_run:
        params["dryRun"] = "All"
    set_param(params, "fieldManager", field_manager)
    set_param(params, "fieldValidation", field_validation)
    return params


def list_params(
    label_selector: str | None,
    field_selector: str | None,
    limit: int | None,
    continue_: str | None,
    resource_version: str | None,
    resource_version_match: str | None,
    timeout_seconds: int | None,
) -> Params:
    params: Params = {}
    set_param(params, "labelSelector", label_selector)
    set_param(params, "fieldSelector", field_selector)
    set_param(params, "limit", limit)
    set_param(params, "continue", continue_)
    set_param(params, "resourceVersion", resource_version)
    set_param(params, "resourceVersionMatch", resource_version_match)
    set_param(params, "timeoutSeconds", timeout_seconds)
    return params


def delete_options(
    propagation_policy: str | None,
    grace_period_seconds: int | None,
    uid: str | None,
    resource_version: str | None,
    dry_run: bool,
) -> JSON | None:
    body: JSON = {}
    if propagation_policy:
        body["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    pre: dict[str, str] = {}
    if uid:
        pre["uid"] = uid
    if resource_version:
        pre["resourceVersion"] = resource_version
    if pre:
        body["preconditions"] = pre
    if dry_run:
        body["dryRun"] = ["All"]
    if not body:
        return None
    return {"kind": "DeleteOptions", "apiVersion": "v1", **body}



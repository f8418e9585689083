"""Subresources with their own shapes: ``scale``, ``pods/binding``, ``pods/eviction``."""

from __future__ import annotations

import copy
import json
from typing import Any

from ...api import patch as _patch
from ...api.errors import BadRequest, Conflict, FieldError, Invalid
from ..negotiation import decode_body, patch_type
from ..storage.objects import StoredObject, dumps
from ..storage.resource import ResourceStorage
from .common import Request, read_body, send_bytes, send_json
from .write import delete_context, success_status

__all__ = ["handle_scale", "handle_binding", "handle_eviction"]

Obj = dict[str, Any]

_SCALE_SELECTOR_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")


def _selector_text(obj: Obj) -> str:
    from ...api import labels as _labels

    spec = obj.get("spec") or {}
    sel = spec.get("selector")
    if isinstance(sel, dict) and ("matchLabels" in sel or "matchExpressions" in sel):
        return str(_labels.from_label_selector(sel))
    if isinstance(sel, dict):  # ReplicationController: a plain map
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    return ""


def scale_paths(info: Any) -> tuple[list[str], list[str], list[str] | None]:
    """(spec replicas, status replicas, label selector) paths; a CRD's ``subresources.scale``
    gives them for custom resources."""
    spec_path, status_path, selector_path = ".spec.replicas", ".status.replicas", None
    crd = getattr(info, "crd", None)
    if crd:
        for v in (crd.get("spec") or {}).get("versions") or []:
            if v.get("name") == info.version:
                scale = (v.get("subresources") or {}).get("scale") or {}
                spec_path = scale.get("specReplicasPath") or spec_path
                status_path = scale.get("statusReplicasPath") or status_path
                selector_path = scale.get("labelSelectorPath")

    def split(path: str) -> list[str]:
        return [x for x in path.lstrip(".").split(".") if x]

    return split(spec_path), split(status_path), split(selector_path) if selector_path else None


def _dig(obj: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _put(obj: Obj, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[path[-1]] = value


def to_scale(obj: StoredObject, info: Any = None) -> Obj:
    meta = obj.metadata
    if info is not None and getattr(info, "custom", False):
        spec_p, status_p, sel_p = scale_paths(info)
        scale_status: Obj = {"replicas": _dig(obj.obj, status_p) or 0}
        selector = _dig(obj.obj, sel_p) if sel_p else None
        if isinstance(selector, str) and selector:
            scale_status["selector"] = selector
        replicas = _dig(obj.obj, spec_p) or 0
    else:
        spec = obj.obj.get("spec") or {}
        status = obj.obj.get("status") or {}
        scale_status = {"replicas": status.get("replicas", 0)}
        text = _selector_text(obj.obj)
        if text:
            scale_status["selector"] = text
        replicas = spec.get("replicas", 0)
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": str(obj.rv),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": replicas},
        "status": scale_status,
    }


async def handle_scale(req: Request, storage: ResourceStorage) -> None:
    verb = req.info.verb
    ns, name = req.info.namespace, req.info.name
    if verb == "get":
        await send_json(req.send, 200, to_scale(await storage.get(ns, name), req.resource))
        return
    body = await read_body(req.receive)
    if verb == "update":
        scale_in = decode_body(body, req.content_type)
    else:
        ptype = patch_type(req.content_type)
        patch_doc = json.loads(body)
        current = to_scale(await storage.get(ns, name), req.resource)
        try:
            if ptype == "application/json-patch+json":
                scale_in = _patch.apply_json_patch(current, patch_doc)
            else:
                scale_in = _patch.apply_merge_patch(current, patch_doc)
        except _patch.PatchError as exc:
            raise BadRequest(str(exc)) from None
        (scale_in.get("metadata") or {}).pop("resourceVersion", None)
    if not isinstance(scale_in, dict):
        raise BadRequest("the body of the request was not a JSON object")
    replicas = (scale_in.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or replicas < 0:
        raise Invalid("Scale", name, [FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0")], "autoscaling")
    want_rv = (scale_in.get("metadata") or {}).get("resourceVersion") or ""

    def updater(old: Obj | None) -> Obj:
        if old is None:
            raise storage.not_found(name)
        if want_rv and want_rv != (old.get("metadata") or {}).get("resourceVersion"):
            raise Conflict(storage.info.resource, name, group=storage.info.group)
        new = copy.deepcopy(old)
        if req.resource.custom:
            _put(new, scale_paths(req.resource)[0], replicas)
        else:
            new.setdefault("spec", {})["replicas"] = replicas
        return new

    stored, _ = await storage.update(ns, name, updater, req.context(), subresource="scale")
    await send_json(req.send, 200, to_scale(stored, req.resource))


async def handle_binding(req: Request, storage: ResourceStorage) -> None:
    """POST pods/<name>/binding (or the ``bindings`` resource): set spec.nodeName once."""
    body = decode_body(await read_body(req.receive), req.content_type)
    if not isinstance(body, dict):
        raise BadRequest("the body of the request was not a JSON object")
    name = req.info.name or (body.get("metadata") or {}).get("name", "")
    target = (body.get("target") or {}).get("name", "")
    if not target:
        raise Invalid("Binding", name, [FieldError.required("target.name", "")])
    from ...api import meta as _meta

    def updater(old: Obj | None) -> Obj:
        if old is None:
            raise storage.not_found(name)
        meta = old.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            raise Conflict("pods", name, "pod is being deleted, cannot be assigned to a host")
        spec = old.setdefault("spec", {})
        if spec.get("nodeName"):
            raise Conflict("pods", name, f"pod {name} is already assigned to node \"{spec['nodeName']}\"")
        spec["nodeName"] = target
        annotations = (body.get("metadata") or {}).get("annotations") or {}
        if annotations:
            meta.setdefault("annotations", {}).update(annotations)
        status = old.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": _meta.format_time(storage.plugins.now())})
        status["conditions"] = conditions
        return old

    # The binding writes spec and status together, bypassing the main-resource strategy.
    await storage.update(req.info.namespace, name, updater, req.context(), subresource="binding")
    await send_json(req.send, 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})


async def handle_eviction(req: Request, storage: ResourceStorage) -> None:
    """POST pods/<name>/eviction: a delete with the eviction's DeleteOptions.

    Disruption budgets are checked by the hook ``storage.plugins`` may carry later.
    """
    body = decode_body(await read_body(req.receive), req.content_type)
    options: Obj = (body or {}).get("deleteOptions") or {} if isinstance(body, dict) else {}
    check = getattr(storage.plugins, "eviction_check", None)
    if check is not None:
        await check(req.info.namespace, req.info.name, body)
    obj, _ = await storage.delete(req.info.namespace, req.info.name, options, delete_context(req, options))
    status = success_status(storage.info, obj.name, "")
    status["details"] = {"name": obj.name, "kind": "pods"}
    status["code"] = 201
    await send_bytes(req.send, 201, dumps(status), "application/json")

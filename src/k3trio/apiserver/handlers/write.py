"""CREATE, UPDATE, PATCH, DELETE and DELETECOLLECTION, plus the status/finalize subresources."""

from __future__ import annotations

import json
from typing import Any

import yaml

from ...api import patch as _patch
from ...api.errors import APIError, BadRequest, Conflict, Invalid, FieldError, UnsupportedMediaType
from ..negotiation import decode_body, patch_type
from ..storage.objects import StoredObject, dumps
from ..storage.resource import ResourceStorage
from .common import Request, read_body, send_bytes, send_json
from .read import list_page, render_object

__all__ = ["handle_create", "handle_update", "handle_patch", "handle_delete", "handle_deletecollection"]

Obj = dict[str, Any]
QUOTE = '"'


def _check_kind(req: Request, obj: Any, *, kind: str | None = None, api_version: str | None = None) -> Obj:
    """The body must be an object of the resource's kind (empty kind/apiVersion are filled)."""
    if not isinstance(obj, dict):
        raise BadRequest("the body of the request was not a JSON object")
    want_kind = kind or req.resource.kind
    want_av = api_version or req.resource.api_version
    got_kind = obj.get("kind") or ""
    got_av = obj.get("apiVersion") or ""
    if (got_kind and got_kind != want_kind) or (got_av and got_av != want_av):
        raise BadRequest(
            f"the API version in the data ({got_av}) does not match the expected API version ({want_av})"
            if got_av and got_av != want_av
            else f"Object '{got_kind}' does not match kind '{want_kind}'"
        )
    obj["kind"] = want_kind
    obj["apiVersion"] = want_av
    return obj


async def _respond(req: Request, status: int, obj: StoredObject) -> None:
    body, ctype = render_object(req, obj)
    await send_bytes(req.send, status, body, ctype, req.warnings)


def to_storage_version(req: Request, storage: ResourceStorage, obj: Obj) -> Obj:
    """A request-version object in the version the storage keeps (multi-version kinds)."""
    target = storage.info.api_version
    if obj.get("apiVersion") == target:
        return obj
    from ..conversion import convert

    return convert(obj, target)


def to_request_version(req: Request, obj: Obj | None) -> Obj | None:
    """A stored object in the version the request talks."""
    if obj is None or obj.get("apiVersion") in (None, req.resource.api_version):
        return obj
    from ..conversion import convert

    return convert(obj, req.resource.api_version)


def _decode_checked(req: Request, body: bytes) -> Obj:
    """Decode a create/update body and apply ``fieldValidation`` to it."""
    mode = req.param("fieldValidation") or "Warn"
    if mode not in ("Ignore", "Warn", "Strict"):
        raise BadRequest(f"fieldValidation parameter unsupported: {mode}")
    media = req.content_type.split(";", 1)[0].strip().lower()
    if mode != "Ignore" and media in ("", "application/json", "*/*"):
        from .unknown_fields import decode_json

        decoded, dups = decode_json(body)
    else:
        decoded, dups = decode_body(body, req.content_type), {}
    obj = _check_kind(req, decoded)
    kind, version = req.resource.kind, req.resource.version
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    if not req.resource.custom:  # decoding into the Go struct rejects mistyped values first
        from .typecheck import json_decode_error

        type_error = json_decode_error(req.resource.group, version, kind, obj)
        if type_error:
            raise BadRequest(prefix + type_error)
    _field_validation(req, obj, dups, mode, prefix=prefix)
    return obj


async def handle_create(req: Request, storage: ResourceStorage) -> None:
    body = await read_body(req.receive)
    obj = to_storage_version(req, storage, _decode_checked(req, body))
    stored = await storage.create(req.info.namespace, obj, req.context())
    await _respond(req, 201, stored)


async def handle_update(req: Request, storage: ResourceStorage) -> None:
    body = await read_body(req.receive)
    obj = to_storage_version(req, storage, _decode_checked(req, body))
    ctx = req.context()
    sub = req.info.subresource

    def updater(old: Obj | None) -> Obj:
        import copy

        return copy.deepcopy(obj)

    stored, created = await storage.update(req.info.namespace, req.info.name, updater, ctx, subresource=sub)
    await _respond(req, 201 if created else 200, stored)


def _field_validation(req: Request, obj: Obj, dups: Any = None, mode: str = "", prefix: str = "") -> None:
    """Unknown/duplicate-field checks (Strict: 400, Warn: warnings, Ignore: none).

    ``prefix``: create/update name the kind the body could not be decoded as (upstream's
    decoder error); patches report the strict decoding error alone.
    """
    from .unknown_fields import unknown_fields

    mode = mode or req.param("fieldValidation") or "Warn"
    problems = unknown_fields(req.resource, obj, dups)
    if not problems or mode == "Ignore":
        return
    if mode == "Warn":
        req.warnings.extend(problems)
        return
    raise BadRequest(prefix + "strict decoding error: " + ", ".join(problems))


async def handle_patch(req: Request, storage: ResourceStorage) -> None:
    ptype = patch_type(req.content_type)
    body = await read_body(req.receive)
    ctx = req.context()
    info = req.resource
    sub = req.info.subresource
    if ptype == "application/apply-patch+cbor":
        raise UnsupportedMediaType("apply-patch+cbor is not supported")
    if ptype == "application/apply-patch+yaml":
        try:
            applied = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise BadRequest(f"error decoding YAML: {exc}") from None
        if not isinstance(applied, dict):
            raise BadRequest("the body of the request was not a YAML object")
        fm = storage.plugins.field_manager
        if fm is None or not hasattr(fm, "apply"):
            raise UnsupportedMediaType("server-side apply is not available yet")
        manager = req.param("fieldManager")
        if not manager:
            raise BadRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        force = req.flag("force")
        ctx.apply = True
        _apply_schema_check(req, applied)
        from ...api import meta as _meta

        def apply_updater(old: Obj | None) -> Obj:
            applied_meta = applied.get("metadata")
            applied_name = applied_meta.get("name") if isinstance(applied_meta, dict) else None
            if applied_name and applied_name != req.info.name:
                raise BadRequest(
                    f"the name of the object ({applied_name}) does not match the name on the URL ({req.info.name})"
                )
            merged = fm.apply(
                to_request_version(req, old), applied, manager=manager, force=force, subresource=sub,
                now=_meta.format_time(storage.plugins.now()),
                api_version=req.resource.api_version, kind=req.resource.kind,
            )
            return to_storage_version(req, storage, merged)

        stored, created = await storage.update(req.info.namespace, req.info.name, apply_updater, ctx, subresource=sub, force_allow_create=not sub, unconditional=True)
        await _respond(req, 201 if created else 200, stored)
        return
    try:
        patch_doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"error decoding patch: {exc}") from None
    if req.param("force"):
        raise BadRequest("force is only allowed for apply patches")
    schema = None
    if ptype == "application/strategic-merge-patch+json":
        if info.custom:
            raise UnsupportedMediaType(
                "strategic merge patch is not supported for custom resources; the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            )
        schema = _patch.schema_for_kind(info.group, info.version, info.kind)

    def updater(stored_old: Obj | None) -> Obj:
        if stored_old is None:
            raise storage.not_found(req.info.name)
        old = to_request_version(req, stored_old)
        assert old is not None
        try:
            if ptype == "application/json-patch+json":
                result = _patch.apply_json_patch(old, patch_doc)
            elif ptype == "application/merge-patch+json":
                result = _patch.apply_merge_patch(old, patch_doc)
            else:
                if schema is None:
                    result = _patch.apply_merge_patch(old, patch_doc)
                else:
                    result = _patch.apply_strategic_merge_patch(old, patch_doc, schema)
        except _patch.PatchError as exc:
            raise _patch_error(exc) from None
        if not isinstance(result, dict):
            raise BadRequest("the patch produced something other than an object")
        if not info.custom:
            _patched_type_check(info, result, patch_doc, ptype, schema is not None)
        if not sub:
            _field_validation(req, result)
        # A patch without a resourceVersion never conflicts; one with it must match.
        meta = result.get("metadata")
        patched_rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        old_rv = (old.get("metadata") or {}).get("resourceVersion")
        if patched_rv == old_rv and isinstance(meta, dict):
            meta.pop("resourceVersion", None)
        return to_storage_version(req, storage, result)

    stored, _ = await storage.update(req.info.namespace, req.info.name, updater, ctx, subresource=sub, unconditional=True)
    await _respond(req, 200, stored)


def _patched_type_check(info: Any, result: Obj, patch_doc: Any, ptype: str, strategic: bool) -> None:
    """The patched object must decode into the kind's Go struct: upstream answers 422 with the
    patched JSON (JSON/merge patch) or the patch map (strategic merge) as the invalid value."""
    from . import typecheck

    if strategic:
        error = typecheck.unstructured_error(info.group, info.version, info.kind, result)
        shown = typecheck.go_sprint(patch_doc) if error else ""
    else:
        error = typecheck.json_decode_error(info.group, info.version, info.kind, result)
        shown = typecheck.patched_json_text(result, patch_doc, ptype) if error else ""
    if error:
        raise Invalid("", "", [FieldError.invalid("patch", shown, error)])


def _apply_schema_check(req: Request, applied: Obj) -> None:
    """An apply configuration may only name fields the schema declares (whatever the
    ``fieldValidation``): upstream's typed conversion answers 500 ``field not declared in
    schema`` otherwise."""
    import copy

    from .unknown_fields import unknown_fields

    problems = [p for p in unknown_fields(req.resource, copy.deepcopy(applied)) if p.startswith("unknown field ")]
    if not problems:
        return
    errors = [f".{p.removeprefix('unknown field ').strip(QUOTE)}: field not declared in schema" for p in problems]
    raw_meta = applied.get("metadata")
    meta: Obj = raw_meta if isinstance(raw_meta, dict) else {}
    info = req.resource
    gvk = f"{info.group}/{info.version}, Kind={info.kind}"
    detail = errors[0] if len(errors) == 1 else "errors:\n  " + "\n  ".join(errors)
    raise APIError(
        f"failed to create typed patch object ({meta.get('namespace') or req.info.namespace}/"
        f"{meta.get('name') or req.info.name}; {gvk}): {detail}",
        code=500, reason="",
    )


def _patch_error(exc: Exception) -> APIError:
    if isinstance(exc, APIError):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code == 422:
        return APIError(str(exc), code=422, reason="Invalid")
    if type(exc).__name__ == "PatchInternal":
        return APIError(str(exc), code=500, reason="InternalError")
    return BadRequest(str(exc))


def _delete_options(req: Request, body: bytes) -> Obj:
    options: Obj = {}
    if body.strip():
        decoded = decode_body(body, req.content_type or "application/json")
        if isinstance(decoded, dict):
            options = decoded
    grace = req.int_param("gracePeriodSeconds")
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    policy_param = req.param("propagationPolicy")
    if policy_param:
        options["propagationPolicy"] = policy_param
    if req.param("orphanDependents"):
        options["orphanDependents"] = req.flag("orphanDependents")
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in ("Orphan", "Background", "Foreground"):
        raise Invalid("DeleteOptions", "", [FieldError.not_supported("propagationPolicy", policy, ["Foreground", "Background", "Orphan", "nil"])], "meta.k8s.io")
    if policy is not None and options.get("orphanDependents") is not None:
        raise Invalid("DeleteOptions", "", [FieldError.invalid("propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set")], "meta.k8s.io")
    return options


def delete_context(req: Request, options: Obj) -> Any:
    """The request context of a delete: ``dryRun`` may come in the DeleteOptions body too."""
    ctx = req.context()
    dry_run = options.get("dryRun") or []
    if isinstance(dry_run, str):
        dry_run = [dry_run]
    for value in dry_run:
        if value != "All":
            raise BadRequest(f"Invalid dry run option: {value}")
    if dry_run:
        ctx.dry_run = True
    return ctx


def success_status(info: Any, name: str, uid: str) -> Obj:
    details: Obj = {"name": name}
    if info.group:
        details["group"] = info.group
    details["kind"] = info.resource
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


async def handle_delete(req: Request, storage: ResourceStorage) -> None:
    body = await read_body(req.receive)
    options = _delete_options(req, body)
    obj, deleted = await storage.delete(req.info.namespace, req.info.name, options, delete_context(req, options))
    if deleted and not storage.return_deleted_object:
        await send_json(req.send, 200, success_status(storage.info, obj.name, str(obj.metadata.get("uid", ""))), req.warnings)
        return
    status = 200
    if not deleted and options.get("orphanDependents") is False:
        status = 202
    await _respond(req, status, obj)


async def handle_deletecollection(req: Request, storage: ResourceStorage) -> None:
    body = await read_body(req.receive)
    options = _delete_options(req, body)
    ctx = delete_context(req, options)
    page = await list_page(req, storage)
    deleted = []
    from ...api.errors import NotFound

    for obj in page.items:
        try:
            result, _ = await storage.delete(obj.namespace, obj.name, options, ctx)
        except (NotFound, Conflict):
            continue
        deleted.append(result)
    page.items = deleted
    page.continue_token = ""
    page.remaining = None
    from .read import render_list

    body_out, ctype = render_list(req, page)
    await send_bytes(req.send, 200, body_out, ctype, req.warnings)


_ = dumps

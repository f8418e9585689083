"""GET and LIST: single objects and pages, as JSON, YAML, Table or PartialObjectMetadata."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import yaml

from ...api import fields as _fields
from ...api import labels as _labels
from ...api.errors import BadRequest, Gone
from ...api.tables import build_table
from ..storage.objects import StoredObject, dumps
from ..storage.resource import ListPage, ResourceStorage
from .common import Request, send_bytes

__all__ = ["handle_get", "handle_list", "build_filter", "render_object", "render_list"]

Filter = Callable[[StoredObject], bool]


def build_filter(req: Request, storage: ResourceStorage) -> Filter | None:
    """The label/field selector of a list or watch as a predicate (None: everything).

    Raises:
        BadRequest: malformed selector or unsupported field, with upstream's text.
    """
    info = storage.info
    label_text = req.param("labelSelector")
    field_text = req.param("fieldSelector")
    label_sel = None
    field_sel = None
    if label_text:
        try:
            label_sel = _labels.parse(label_text)
        except ValueError as exc:
            raise BadRequest(f"unable to parse requirement: {exc}" if "unable to parse" not in str(exc) else str(exc)) from None
        if label_sel.empty:
            label_sel = None
    if field_text:
        try:
            parsed = _fields.parse(field_text)
            field_sel = _fields.convert_selector(info.group, info.kind, parsed)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if field_sel.empty:
            field_sel = None
    if label_sel is None and field_sel is None:
        return None
    field_set = storage.strategy.field_set

    def match(obj: StoredObject) -> bool:
        if label_sel is not None and not label_sel.matches(obj.labels):
            return False
        if field_sel is not None and not field_sel.matches(obj.fields(field_set)):
            return False
        return True

    return match


def _now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def make_table(
    req: Request, objs: list[dict[str, Any]], *, include_object: str, list_meta: dict[str, Any] | None = None,
    no_headers: bool = False,
) -> dict[str, Any]:
    """A Table of ``objs``: printer columns for custom resources, built-in columns otherwise."""
    info = req.resource
    if info.custom and info.crd is not None:
        from ...api.crd import printer_table

        table = printer_table(info.crd, info.version, objs, now=_now(), include_object=include_object, list_meta=list_meta)
        if no_headers:
            table["columnDefinitions"] = []
        return table
    if (info.group, info.resource) == ("events.k8s.io", "events"):
        return _events_table(objs, include_object=include_object, list_meta=list_meta, no_headers=no_headers)
    return build_table(
        info.group, info.resource, objs, now=_now(), include_object=include_object, list_meta=list_meta,
        no_headers=no_headers,
    )


def _events_table(
    objs: list[dict[str, Any]], *, include_object: str, list_meta: dict[str, Any] | None, no_headers: bool
) -> dict[str, Any]:
    """events.k8s.io Events print as core Events do (upstream shares one internal type and
    printer); rows still embed the events.k8s.io objects."""
    from ..conversion import convert

    core = [convert(o, "v1") for o in objs]
    table = build_table(
        "", "events", core, now=_now(), include_object=include_object, list_meta=list_meta, no_headers=no_headers,
    )
    if include_object == "Object":
        for row, obj in zip(table.get("rows") or [], objs):
            row["object"] = obj
    return table


def render_object(req: Request, obj: StoredObject) -> tuple[bytes, str]:
    """One object in the negotiated form."""
    api_version = req.resource.api_version
    out = req.output
    if out.as_ == "Table":
        include = req.param("includeObject") or "Metadata"
        if include not in ("None", "Object", "Metadata"):
            raise BadRequest(f"unrecognized includeObject value: {include!r}")
        table = make_table(req, [obj.view(api_version)], include_object=include)
        table["metadata"] = {"resourceVersion": str(obj.rv)} if obj.rv else {}
        table["apiVersion"] = f"meta.k8s.io/{out.version}"
        return dumps(table), out.content_type
    if out.as_ == "PartialObjectMetadata":
        return dumps({"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{out.version}", "metadata": obj.metadata}), out.content_type
    if out.as_ == "PartialObjectMetadataList":
        raise BadRequest("PartialObjectMetadataList is only served for lists")
    if out.format == "yaml":
        return yaml.safe_dump(obj.view(api_version), sort_keys=False).encode(), out.content_type
    return obj.encoded(api_version), out.content_type


def _list_meta(page: ListPage) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(page.revision)}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining:
        meta["remainingItemCount"] = page.remaining
    return meta


def render_list(req: Request, page: ListPage) -> tuple[bytes, str]:
    """A page in the negotiated form; plain JSON is concatenated from cached item bytes."""
    info = req.resource
    api_version = info.api_version
    out = req.output
    meta = _list_meta(page)
    if out.as_ == "Table":
        include = req.param("includeObject") or "Metadata"
        if include not in ("None", "Object", "Metadata"):
            raise BadRequest(f"unrecognized includeObject value: {include!r}")
        table = make_table(req, [o.view(api_version) for o in page.items], include_object=include, list_meta=meta)
        table["apiVersion"] = f"meta.k8s.io/{out.version}"
        return dumps(table), out.content_type
    if out.as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        body = {
            "kind": "PartialObjectMetadataList",
            "apiVersion": f"meta.k8s.io/{out.version}",
            "metadata": meta,
            "items": [
                {"kind": "PartialObjectMetadata", "apiVersion": f"meta.k8s.io/{out.version}", "metadata": o.metadata}
                for o in page.items
            ],
        }
        return dumps(body), out.content_type
    list_kind = info.list_kind or info.kind + "List"
    if out.format == "yaml":
        doc = {"apiVersion": api_version, "items": [o.view(api_version) for o in page.items], "kind": list_kind, "metadata": meta}
        return yaml.safe_dump(doc, sort_keys=False).encode(), out.content_type
    head = b'{"kind":"' + list_kind.encode() + b'","apiVersion":"' + api_version.encode() + b'","metadata":' + dumps(meta) + b',"items":['
    return head + b",".join(o.encoded(api_version) for o in page.items) + b"]}", out.content_type


async def handle_get(req: Request, storage: ResourceStorage) -> None:
    obj = await storage.get(req.info.namespace, req.info.name)
    body, ctype = render_object(req, obj)
    await send_bytes(req.send, 200, body, ctype, req.warnings)


def _parse_rv(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f'invalid resource version "{text}"') from None  # pragma: no cover
    if value < 0:
        raise BadRequest(f'invalid resource version "{text}"')
    return value


async def list_page(req: Request, storage: ResourceStorage) -> ListPage:
    """The page a list request asks for (shared by LIST and deletecollection)."""
    match = build_filter(req, storage)
    limit = req.int_param("limit") or 0
    token = req.param("continue")
    rv_text = req.param("resourceVersion")
    rv_match = req.param("resourceVersionMatch")
    if rv_match and rv_match not in ("Exact", "NotOlderThan"):
        raise BadRequest(f'resourceVersionMatch: Unsupported value: "{rv_match}": supported values: "Exact", "NotOlderThan"')
    if rv_match and not rv_text:
        raise _invalid_list_options("resourceVersionMatch", rv_match, "resourceVersionMatch is forbidden unless resourceVersion is provided")
    if token and rv_text and rv_text != "0":
        raise _invalid_list_options("resourceVersion", rv_text, "specifying resource version is not allowed when using continue")
    if token and rv_match:
        raise _invalid_list_options("resourceVersionMatch", rv_match, "resourceVersionMatch is forbidden when continue is provided")
    namespace = req.info.namespace
    cache = storage.cache
    if not token and rv_text and rv_match != "Exact" and cache is not None and cache.ready.is_set():
        rv = _parse_rv(rv_text)
        if rv == 0 or rv <= cache.revision:
            return _page_from_cache(storage, namespace, match, limit)
    revision = 0
    if rv_text and rv_match == "Exact":
        revision = _parse_rv(rv_text)
        if revision == 0:
            raise _invalid_list_options("resourceVersionMatch", "Exact", 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"')
    return await storage.list(namespace, limit=limit, continue_token=token, revision=revision, match=match)


def _invalid_list_options(field: str, value: str, detail: str) -> Any:
    from ...api.errors import FieldError, Invalid

    return Invalid("ListOptions", "", [FieldError.invalid(field, value, detail)], "meta.k8s.io")


def _page_from_cache(storage: ResourceStorage, namespace: str, match: Filter | None, limit: int) -> ListPage:
    """``resourceVersion=0``: any recent state, served from memory (limit is ignored, as upstream)."""
    cache = storage.cache
    assert cache is not None
    prefix = storage.info.storage_list_prefix(namespace)
    items: Iterable[StoredObject] = cache.items(prefix)
    if match is not None:
        items = (o for o in items if match(o))
    return ListPage(list(items), cache.revision)


async def handle_list(req: Request, storage: ResourceStorage) -> None:
    try:
        page = await list_page(req, storage)
    except Gone:
        raise
    body, ctype = render_list(req, page)
    await send_bytes(req.send, 200, body, ctype, req.warnings)

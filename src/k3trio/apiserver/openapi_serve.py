"""Serving ``/openapi/v2``, ``/openapi/v3`` and ``/openapi/v3/<group-version>``.

Negotiation follows kube-openapi's handlers: the ``Accept`` clauses are tried in preference
order against the formats the endpoint offers and the first match wins; no match is a bare
``406``. We serve JSON only (the protobuf encodings are not implemented), so a client that
accepts only protobuf gets ``406``.

- ``/openapi/v2``: the whole document (built-in paths of served group-versions plus custom
  resource schemas as definitions), ``ETag`` = quoted upper-case hex SHA-512 of the body.
- ``/openapi/v3``: the index ``{"paths": {"api/v1": {"serverRelativeURL":
  "/openapi/v3/api/v1?hash=<HASH>"}, ...}}`` where ``HASH`` is the document's ETag.
- ``/openapi/v3/<gv>``: the document. With ``?hash=`` equal to the current hash the answer
  is immutable (``Cache-Control: public, immutable`` and ``Expires`` a year ahead); a stale
  hash answers ``301`` to the current URL; without a hash no cache headers are set.

Bodies and hashes are cached per registry snapshot (see :mod:`.discovery`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from ..api.crd.openapi import crd_v3_document
from ..api.openapi_data import openapi_v2_document, openapi_v3_document
from ..api.registry import Registry
from .discovery import CACHE, Response, not_found
from .discovery_accept import parse_accept

__all__ = ["handle_openapi", "v3_index", "v3_document"]

JSON = "application/json"
_V2_OFFERS = (
    ("application", "json", JSON),
    ("application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", None),
    ("application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", None),
)
_V3_OFFERS = (
    ("application", "json", JSON),
    ("application", "com.github.proto-openapi.spec.v3@v1.0+protobuf", None),
)


def _hash(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def _negotiate(accept: str, offers: tuple[tuple[str, str, str | None], ...]) -> str | None:
    """The content type to send, or None when no clause accepts a format we implement
    (a clause naming only protobuf is skipped)."""
    for clause in parse_accept(accept):
        for type_, subtype, content_type in offers:
            if clause.matches(type_, subtype):
                if content_type is not None:
                    return content_type
                break  # a protobuf clause: try the next clause
    return None


def _v3_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _custom_gvs(registry: Registry) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    for info in registry.resources:
        if info.custom and info.crd is not None:
            out.setdefault((info.group, info.version), []).append(info.crd)
    return out


def v3_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """The v3 document of a served group-version (built-in or custom), or None."""
    if not registry.resources_in(group, version):
        return None
    custom = _custom_gvs(registry).get((group, version))
    if custom:
        return crd_v3_document(group, version, custom)
    return openapi_v3_document(group, version)


def _v3_body(registry: Registry, key: str) -> tuple[bytes, str] | None:
    def build() -> tuple[bytes, str] | None:
        parts = key.split("/")
        if parts[0] == "api" and len(parts) == 2:
            doc = v3_document(registry, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            doc = v3_document(registry, parts[1], parts[2])
        else:
            doc = None
        if doc is None:
            return None
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return body, _hash(body)

    result: tuple[bytes, str] | None = CACHE.get(registry, ("openapi-v3", key), build)
    return result


def v3_index(registry: Registry) -> dict[str, Any]:
    """The ``/openapi/v3`` index of served group-versions with their current hashes."""
    paths: dict[str, Any] = {}
    for gv in registry.group_versions():
        key = _v3_key(gv.group, gv.version)
        found = _v3_body(registry, key)
        if found is not None:
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={found[1]}"}
    return {"paths": dict(sorted(paths.items()))}


def _v2_body(registry: Registry) -> tuple[bytes, str]:
    def build() -> tuple[bytes, str]:
        served = [(gv.group, gv.version) for gv in registry.group_versions()]
        doc = openapi_v2_document(served)
        custom = _custom_gvs(registry)
        if custom:
            definitions = dict(doc["definitions"])
            for (group, version), crds in custom.items():
                v3 = crd_v3_document(group, version, crds)["components"]["schemas"]
                for name, schema in v3.items():
                    if name not in definitions:
                        definitions[name] = _v3_to_v2(schema)
            doc = dict(doc)
            doc["definitions"] = dict(sorted(definitions.items()))
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return body, _hash(body)

    result: tuple[bytes, str] = CACHE.get(registry, ("openapi-v2",), build)
    return result


def _v3_to_v2(node: Any) -> Any:
    if isinstance(node, list):
        return [_v3_to_v2(x) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        return {"$ref": ref.replace("#/components/schemas/", "#/definitions/")}
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        out = {k: _v3_to_v2(v) for k, v in node.items() if k != "allOf"}
        out["$ref"] = all_of[0]["$ref"].replace("#/components/schemas/", "#/definitions/")
        return out
    return {k: (v if k == "nullable" else _v3_to_v2(v)) for k, v in node.items() if k != "nullable"}


def _not_modified(if_none_match: str, etag: str) -> bool:
    return bool(if_none_match) and etag in [t.strip() for t in if_none_match.split(",")]


def handle_openapi(
    parts: list[str],
    registry: Registry,
    *,
    accept: str,
    params: dict[str, str],
    if_none_match: str = "",
    now: datetime | None = None,
) -> Response | None:
    """Serve ``/openapi/<parts...>``; None for paths that are not OpenAPI endpoints."""
    if not parts or parts[0] not in ("v2", "v3"):
        return None
    vary: tuple[tuple[str, str], ...] = (("Vary", "Accept"),)
    if parts == ["v2"]:
        chosen = _negotiate(accept, _V2_OFFERS)
        if not chosen:
            return Response(406, b"", "", vary)
        body, digest = _v2_body(registry)
        etag = f'"{digest}"'
        v2_headers = vary + (("ETag", etag),)
        if _not_modified(if_none_match, etag):
            return Response(304, b"", JSON, v2_headers)
        return Response(200, body, JSON, v2_headers)
    if parts[0] != "v3":
        return None
    if len(parts) == 1:
        body = json.dumps(v3_index(registry), separators=(",", ":")).encode()
        return Response(200, body, JSON)
    key = "/".join(parts[1:])
    found = _v3_body(registry, key)
    if found is None:
        return not_found()
    chosen = _negotiate(accept, _V3_OFFERS)
    if not chosen:
        return Response(406, b"", "", vary)
    body, digest = found
    etag = f'"{digest}"'
    headers: tuple[tuple[str, str], ...] = vary + (("ETag", etag),)
    wanted = params.get("hash", "")
    if wanted:
        if wanted != digest:
            location = f"/openapi/v3/{key}?hash={digest}"
            return Response(301, b"", "text/html; charset=utf-8", headers + (("Location", location),))
        expires = (now or datetime.now(timezone.utc)) + timedelta(days=365)
        headers += (
            ("Cache-Control", "public, immutable"),
            ("Expires", expires.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S UTC")),
        )
    if _not_modified(if_none_match, etag):
        return Response(304, b"", JSON, headers)
    return Response(200, body, JSON, headers)


"""Content negotiation for resource requests: what to answer in, what bodies we accept.

Output formats (``Accept``): plain JSON, YAML, ``as=Table`` (meta.k8s.io v1/v1beta1) and
``as=PartialObjectMetadata``/``PartialObjectMetadataList``; anything else (protobuf only,
unknown ``as=``) is 406. Input (``Content-Type``): JSON, YAML or Kubernetes protobuf for
create/update, the four patch types for PATCH; anything else is 415.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from ..api.errors import BadRequest, NotAcceptable, UnsupportedMediaType
from ..api.protobuf import PROTOBUF_CONTENT_TYPE, ProtobufError, decode_protobuf
from .discovery_accept import parse_accept

__all__ = ["Output", "negotiate_output", "decode_body", "PATCH_TYPES", "patch_type"]

JSON = "application/json"
YAML = "application/yaml"

PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/apply-patch+cbor",
)


@dataclass(frozen=True)
class Output:
    """The chosen response form: ``format`` is json|yaml; ``as_`` is ""|Table|PartialObjectMetadata|
    PartialObjectMetadataList; ``version`` is the meta.k8s.io version for the latter."""

    format: str = "json"
    as_: str = ""
    version: str = "v1"

    @property
    def content_type(self) -> str:
        if self.format == "yaml":
            return YAML
        if self.as_:
            return f"{JSON};as={self.as_};g=meta.k8s.io;v={self.version}"
        return JSON


PLAIN_JSON = Output()
_CACHE: dict[str, Output] = {}


def negotiate_output(accept: str) -> Output:
    """The response form for an ``Accept`` header. Raises NotAcceptable."""
    cached = _CACHE.get(accept)
    if cached is not None:
        return cached
    result = _negotiate(accept)
    if len(_CACHE) < 256:
        _CACHE[accept] = result
    return result


def _negotiate(accept: str) -> Output:
    for clause in parse_accept(accept):
        if clause.matches("application", "json"):
            as_ = clause.params.get("as", "")
            if not as_:
                if clause.type == "application" and clause.subtype == "json" or clause.type == "*" or clause.subtype == "*":
                    return PLAIN_JSON
                continue
            group = clause.params.get("g", "")
            version = clause.params.get("v", "")
            if group == "meta.k8s.io" and as_ in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList") and version in ("v1", "v1beta1"):
                return Output("json", as_, version)
            continue
        if clause.matches("application", "yaml") and clause.type != "*" and not clause.params.get("as"):
            return Output("yaml")
    raise NotAcceptable(
        "only the following media types are accepted: application/json, application/yaml"
    )


def decode_body(body: bytes, content_type: str) -> Any:
    """Decode a create/update body. Raises UnsupportedMediaType, BadRequest."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("", JSON, "*/*"):
        return _json(body)
    if media in (YAML, "application/x-yaml", "text/yaml"):
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise BadRequest(f"error converting YAML to JSON: {exc}") from None
    if media == PROTOBUF_CONTENT_TYPE:
        try:
            return decode_protobuf(body)
        except ProtobufError as exc:
            raise BadRequest(str(exc)) from None
    raise UnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        f"application/json, application/yaml, {PROTOBUF_CONTENT_TYPE}"
    )


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc}") from None


def patch_type(content_type: str) -> str:
    """The patch media type. Raises UnsupportedMediaType."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in PATCH_TYPES:
        return media
    raise UnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(PATCH_TYPES)
    )

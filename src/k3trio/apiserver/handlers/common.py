"""What every resource handler shares: the parsed request, body reading, response writing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...api.errors import APIError, BadRequest, RequestEntityTooLarge
from ...api.registry import ResourceInfo
from ..interfaces import RequestInfo, UserInfo
from ..negotiation import Output
from ..storage.context import RequestContext
from ..storage.objects import dumps

__all__ = ["Request", "send_bytes", "send_json", "send_error", "read_body", "MAX_BODY"]

#: Largest request body accepted (upstream's 3 MiB limit).
MAX_BODY = 3 * 1024 * 1024


@dataclass
class Request:
    scope: dict[str, Any]
    receive: Any
    send: Any
    info: RequestInfo
    user: UserInfo
    query: dict[str, list[str]]
    headers: dict[str, str]
    resource: ResourceInfo
    output: Output
    warnings: list[str] = field(default_factory=list)

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str) -> bool:
        return self.param(name) in ("1", "t", "T", "true", "TRUE", "True")

    def int_param(self, name: str) -> int | None:
        text = self.param(name)
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            raise BadRequest(f'invalid value for {name}: strconv.ParseInt: parsing "{text}": invalid syntax') from None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def context(self) -> RequestContext:
        dry_run = self.query.get("dryRun") or []
        for value in dry_run:
            if value != "All":
                raise BadRequest(f"Invalid dry run option: {value}")
        manager = self.param("fieldManager")
        if not manager:
            agent = self.headers.get("user-agent", "")
            manager = agent.split("/", 1)[0] if agent else ""
        validation = self.param("fieldValidation") or "Warn"
        if validation not in ("Ignore", "Warn", "Strict"):
            raise BadRequest(f"fieldValidation parameter unsupported: {validation}")
        return RequestContext(
            user=self.user,
            dry_run=bool(dry_run),
            field_manager=manager,
            field_validation=validation,
            warnings=self.warnings,
        )


async def read_body(receive: Any, limit: int = MAX_BODY) -> bytes:
    """The whole request body. Raises RequestEntityTooLarge."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(f"limit is {limit}")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _headers(content_type: str, length: int, warnings: Sequence[str] = (), extra: Sequence[tuple[str, str]] = ()) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", content_type.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-cache, private"),
        (b"content-length", str(length).encode()),
    ]
    for text in warnings:
        headers.append((b"warning", ('299 - "' + text.replace('"', '\\"') + '"').encode()))
    for name, value in extra:
        headers.append((name.lower().encode(), value.encode()))
    return headers


async def send_bytes(
    send: Any, status: int, body: bytes, content_type: str = "application/json",
    warnings: Sequence[str] = (), extra: Sequence[tuple[str, str]] = (),
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _headers(content_type, len(body), warnings, extra)})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Any, status: int, obj: Any, warnings: Sequence[str] = ()) -> None:
    await send_bytes(send, status, dumps(obj), "application/json", warnings)


async def send_error(send: Any, exc: APIError, warnings: Sequence[str] = ()) -> None:
    await send_bytes(send, exc.code, json.dumps(exc.to_status()).encode(), "application/json", warnings)
